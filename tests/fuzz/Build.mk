# libFuzzer targets: one per parser. <name>-srcs lists every source.
fuzz-y += fuzz_config
fuzz_config-srcs := tests/fuzz/fuzz_config.c agent/config.c agent/ini_lines.c agent/log.c
