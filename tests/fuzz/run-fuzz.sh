#!/bin/sh
# run-fuzz.sh FUZZER CORPUS SECONDS — a bounded libFuzzer run from the seed
# corpus (a folder of inputs kept in the tree). New inputs go to a scratch
# folder so the tree stays clean; a crash leaves its input beside the build.
set -u
bin=$1 corpus=$2 secs=$3
[ -x "$bin" ] || { echo "skip: $bin not built (clang with libFuzzer missing)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/new"
seeds=
[ -d "$corpus" ] && seeds=$corpus
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="${ECO2_BUILD:-.}/fuzz-crash-" "$work/new" $seeds >"$work/log" 2>&1
rc=$?
tail -n 25 "$work/log"
exit $rc
