#!/bin/bash
# upload_diskfull.sh — a full store. (1) The quota [queue] max_bytes
# (SQLite max_page_count): appends stop with a clear "store full" error,
# the store stays intact with a continuous chain, and appends resume from
# the same head once the quota grows. (2) A really full disk: the store on
# a 1 MiB tmpfs (needs mount; skipped where it is not permitted): the same,
# and recovery once the tmpfs is enlarged.
set -u
. "$(dirname "$0")/upload/lib.sh"
need_bins "$FILL"

head_of() {
	"$PYTHON" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select last_seq from agent_state").fetchone()[0])' "$1"
}

# (1) quota
DB=$WORK/quota.db
"$FILL" --db "$DB" --count 100000 --batch 50 --size 400 --max-bytes 262144 >"$WORK/q1.out" 2>"$WORK/q1.err"
rc=$?
sed 's/^/# /' "$WORK/q1.err" | grep -v 'schema at' | head -3
check "quota: appends stop with an error (exit $rc)" [ $rc -eq 1 ]
check "quota: the error says the store is full and nothing was lost" grep -q 'store full.*nothing was lost' "$WORK/q1.err"
out=$("$PYTHON" "$UP/check_store.py" "$DB")
echo "# $out"
check "quota: store intact, chain continuous" grep -q '^check_store: ok' <<<"$out"
h1=$(head_of "$DB")
check "quota: records were stored before it filled ($h1)" [ "$h1" -gt 100 ]
"$FILL" --db "$DB" --count 50 --batch 50 --size 400 --max-bytes 262144 >/dev/null 2>&1
check "quota: still full on a second try, head unchanged" [ "$(head_of "$DB")" = "$h1" ]
"$FILL" --db "$DB" --count 300 --batch 50 --size 400 --max-bytes 1048576 >/dev/null 2>&1
rc=$?
check "quota raised: appends resume (exit $rc)" [ $rc -eq 0 ]
check "quota raised: head advanced by 300 from the same chain" [ "$(head_of "$DB")" = $((h1 + 300)) ]
out=$("$PYTHON" "$UP/check_store.py" "$DB")
check "quota raised: chain continuous" grep -q '^check_store: ok' <<<"$out"

# (2) a full disk
MNT=$WORK/mnt
mkdir -p "$MNT"
if mount -t tmpfs -o size=1m tmpfs "$MNT" 2>/dev/null; then
	trap 'umount "$MNT" 2>/dev/null; cleanup' EXIT
	DB=$MNT/full.db
	"$FILL" --db "$DB" --count 100000 --batch 20 --size 400 >"$WORK/d1.out" 2>"$WORK/d1.err"
	rc=$?
	sed 's/^/# /' "$WORK/d1.err" | grep -v 'schema at' | head -3
	check "disk full: appends stop with an error (exit $rc)" [ $rc -eq 1 ]
	check "disk full: the error says the store is full" grep -q 'store full' "$WORK/d1.err"
	h1=$(head_of "$DB")
	out=$("$PYTHON" "$UP/check_store.py" "$DB")
	echo "# $out"
	check "disk full: store intact, chain continuous ($h1 records)" grep -q '^check_store: ok' <<<"$out"
	mount -o remount,size=8m "$MNT"
	"$FILL" --db "$DB" --count 500 --batch 20 --size 400 >/dev/null 2>"$WORK/d2.err"
	rc=$?
	check "space returned: appends resume (exit $rc)" [ $rc -eq 0 ]
	check "space returned: head advanced by 500 on the same chain" [ "$(head_of "$DB")" = $((h1 + 500)) ]
	out=$("$PYTHON" "$UP/check_store.py" "$DB")
	echo "# $out"
	check "space returned: chain continuous" grep -q '^check_store: ok' <<<"$out"
	umount "$MNT"
else
	ok "a really full disk # SKIP cannot mount a tmpfs here (not root, or no permission)"
fi
finish
