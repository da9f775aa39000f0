#!/bin/sh
# lint_banned.sh — the banned-function check of `make lint` (strcpy, sprintf,
# strtok, atoi, gets, ...) over every C file in the tree, as a test tier, so
# no change brings one back unnoticed. The slower cppcheck and clang-tidy
# passes stay in `make lint`.
cd "${ECO2_SRC:-$(dirname "$0")/../..}" || exit 1
files=$(git ls-files '*.c' '*.h' 2>/dev/null) || files=$(find . -name '*.[ch]' -not -path './build*')
[ -n "$files" ] || { echo "skip: no C files found"; exit 77; }
if out=$(scripts/banned.sh $files 2>&1); then
	echo "ok 1 - no banned function in $(echo "$files" | wc -w) files"
else
	echo "$out" | sed 's/^/# /'
	echo "not ok 1 - banned functions found"
fi
echo "1..1"
