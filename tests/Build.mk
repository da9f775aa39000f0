# tests/ — tiers that belong to no one module: the lints, the first build.
itests-y += tests/integration/lint_banned.sh
itests-y += tests/integration/lint_layers.sh
itests-y += tests/integration/build_preflight.sh
