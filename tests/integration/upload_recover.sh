#!/bin/bash
# upload_recover.sh — the damaged-store path of docs/store.md, step by
# step: a store whose pending-records index page is overwritten is refused
# at open (quick_check) with the damage logged and the file untouched; the
# documented salvage (sqlite3 .recover, else .dump, then user_version)
# yields a store that opens, holds every record with a continuous chain
# (independent Python check) and takes new records on the same chain.
set -u
. "$(dirname "$0")/upload/lib.sh"
need_bins "$FILL"
command -v sqlite3 >/dev/null || skip_all "sqlite3 CLI missing (Debian package sqlite3)"
cd "$WORK" || exit 1
"$FILL" --db eco2.db --count 300 --batch 50 --size 1000 >/dev/null 2>&1
sqlite3 eco2.db "UPDATE records SET state = 1 WHERE seq <= 100; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
root=$(sqlite3 eco2.db "SELECT rootpage FROM sqlite_master WHERE name = 'records_pending'")
psize=$(sqlite3 eco2.db "PRAGMA page_size")
check "found the pending index (page $root)" [ -n "$root" ]
"$PYTHON" -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek((int(sys.argv[2]) - 1) * int(sys.argv[3])); f.write(b"\xa5" * int(sys.argv[3]))' eco2.db "$root" "$psize"
before=$(sha256sum <eco2.db)
"$FILL" --db eco2.db --count 1 >open.out 2>open.err
rc=$?
sed 's/^/# /' open.err | head -4
check "a damaged store is refused at open (exit $rc)" [ $rc -ne 0 ]
check "the damage is logged with the way out" grep -q 'damaged; it is left untouched (see docs/store.md' open.err
check "the damaged file is left untouched" [ "$(sha256sum <eco2.db)" = "$before" ]

# docs/store.md, Recovery, step 2, verbatim
v=$(sqlite3 eco2.db 'PRAGMA user_version')
sqlite3 eco2.db .recover > salvage.sql 2>salvage.err || sqlite3 eco2.db .dump > salvage.sql
sqlite3 eco2-recovered.db < salvage.sql
ic=$(sqlite3 eco2-recovered.db "PRAGMA user_version = $v; PRAGMA integrity_check")
check "salvaged store passes integrity_check" [ "$ic" = ok ]
# step 4: the head names the last record that survived
sqlite3 eco2-recovered.db "UPDATE agent_state SET last_seq = (SELECT max(seq) FROM records),
	last_hash = (SELECT hash FROM records ORDER BY seq DESC LIMIT 1);"
out=$("$PYTHON" "$UP/check_store.py" eco2-recovered.db)
echo "# $out"
check "every record salvaged, chain continuous" grep -q '^check_store: ok: 300 records' <<<"$out"
check "acknowledged marks kept (200 pending)" [ "$(sqlite3 eco2-recovered.db 'SELECT count(*) FROM records WHERE state = 0')" = 200 ]
# step 5: in place, and the daemon's queue carries on
mv eco2.db eco2.db.damaged
mv eco2-recovered.db eco2.db
"$FILL" --db eco2.db --count 20 >/dev/null 2>fill.err
check "the recovered store opens and takes new records" [ $? -eq 0 ]
out=$("$PYTHON" "$UP/check_store.py" eco2.db)
echo "# $out"
check "new records continue the same chain (320)" grep -q '^check_store: ok: 320 records, head seq 320' <<<"$out"
finish
