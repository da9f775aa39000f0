#!/bin/bash
# run-tests.sh LIST LOGDIR — run every test named in LIST and print one
# summary line "N passed, N failed, N skipped".
#
# LIST has one test a line: tier <TAB> name <TAB> command. A test speaks TAP
# ("ok N - what", "not ok N - what", "... # SKIP why"; cmocka does with
# CMOCKA_MESSAGE_OUTPUT=TAP) and each TAP line counts; a test that prints no
# TAP counts once by its exit status: 0 passed, 77 skipped (its last output
# line says why), anything else failed. A test that printed TAP but exited
# non-zero (a crash after its last line) adds one failure.
#
# Tests run one at a time, in order, except the fuzz tier: its runs are
# bounded by time, not by work, and share nothing, so FUZZ_JOBS of them
# (default: the number of CPUs) run side by side. Results print in order.
set -u
list=$1
logdir=$2
mkdir -p "$logdir"
export CMOCKA_MESSAGE_OUTPUT=TAP
: "${TEST_TIMEOUT:=600}"
: "${FUZZ_JOBS:=$(nproc 2>/dev/null || echo 1)}"

pass=0 fail=0 skip=0
failed_names=()

# run TIER NAME CMD: run one test into its log; its exit status and seconds
# go to LOG.rc.
run() {
	local log="$logdir/$1-$2.log" start rc
	start=$(date +%s.%N)
	timeout -k 10 "$TEST_TIMEOUT" bash -c "$3" >"$log" 2>&1 </dev/null
	rc=$?
	echo "$rc $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')" >"$log.rc"
}

# report TIER NAME: count a finished test's TAP and print its line.
report() {
	local tier=$1 name=$2 log="$logdir/$1-$2.log" rc secs p f s verdict extra
	read -r rc secs <"$log.rc"
	rm -f "$log.rc"
	p=$(grep -E '^ok( |$)' "$log" | grep -vc '# SKIP')
	f=$(grep -E '^not ok( |$)' "$log" | grep -vc '# SKIP')
	s=$(grep -E '^(not )?ok( |$).*# SKIP' "$log" | grep -c .)
	if [ $((p + f + s)) -eq 0 ]; then
		case $rc in
		0) p=1 ;;
		77) s=1 ;;
		*) f=1 ;;
		esac
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		verdict=FAIL
		failed_names+=("$tier/$name")
	elif [ "$p" -eq 0 ] && [ "$s" -gt 0 ]; then
		verdict=SKIP
	else
		verdict=PASS
	fi
	extra="$p passed"
	[ "$f" -gt 0 ] && extra="$extra, $f failed"
	[ "$s" -gt 0 ] && extra="$extra, $s skipped"
	[ "$rc" -eq 124 ] && extra="$extra, timed out"
	printf '%-4s %-11s %-28s %6ss  (%s)\n' "$verdict" "$tier" "$name" "$secs" "$extra"
	if [ "$verdict" = FAIL ]; then
		grep -E '^not ok|ERROR|error|FAIL|Assert|Sanitizer|runtime error' "$log" | head -20 | sed 's/^/     | /'
		echo "     | full log: $log"
	elif [ "$s" -gt 0 ]; then
		{ grep -E '# SKIP' "$log"; [ "$rc" -eq 77 ] && tail -n 1 "$log"; } | head -5 | sed 's/^/     | /'
	fi
}

# The fuzz runs waiting to be reported, in order.
pending=()
flush() {
	local t
	wait
	for t in "${pending[@]}"; do
		report fuzz "$t"
	done
	pending=()
}

while IFS=$'\t' read -r tier name cmd; do
	[ -n "$tier" ] || continue
	if [ "$tier" = fuzz ] && [ "$FUZZ_JOBS" -gt 1 ]; then
		run "$tier" "$name" "$cmd" &
		pending+=("$name")
		[ ${#pending[@]} -ge "$FUZZ_JOBS" ] && flush
		continue
	fi
	flush
	run "$tier" "$name" "$cmd"
	report "$tier" "$name"
done <"$list"
flush

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
