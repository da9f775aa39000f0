# tests/ — tiers that belong to no one module.
itests-y += tests/integration/lint_banned.sh
