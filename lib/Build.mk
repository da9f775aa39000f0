# lib/ — the ground floor: logging, INI line reading, bounded file reads,
# byte helpers, compiler and Kconfig macros. Every folder may use it; it
# uses none of them. Its sources go into every fuzz target (floor-srcs).
floor-y := lib/log.o lib/ini_lines.o lib/file.o lib/bytes.o lib/isotime.o
lib-y += $(floor-y)

tests-y += test_log test_ini_lines test_file test_bytes test_isotime
test_log-objs := tests/unit/test_log.o
test_ini_lines-objs := tests/unit/test_ini_lines.o
test_file-objs := tests/unit/test_file.o
test_bytes-objs := tests/unit/test_bytes.o
test_isotime-objs := tests/unit/test_isotime.o
