# docs/ — the manual pages (docs/man, installed by scripts/install.sh) and
# the check that they render, are complete and match the programs.
itests-y += tests/integration/man_pages.sh
