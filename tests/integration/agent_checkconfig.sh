#!/bin/bash
# agent_checkconfig.sh — `eco2d --check-config` refuses, with file:line and
# exit 2, every setting eco2d would refuse later (or that would jam it):
# a methodology the verifier and the ledger do not know, text that is not
# UTF-8 or too long for a record, paths of the wrong type (directories,
# FIFOs, devices), a key or PIN file others may read, a store that cannot
# be written, a CA or certificate that is not PEM text, a configuration
# that is not a text file. It reads a bounded amount of any input and never
# blocks: /dev/zero, a FIFO, a directory, a 1 GiB file each come back at
# once (each run is under `timeout 5`; the time is printed, not asserted),
# and never echoes raw bytes. The same files at start-up: eco2d refuses
# them and exits instead of hanging or retrying.
. "$(dirname "$0")/agent/lib.sh"
make_key
printf 'x' > "$W/open.key"; chmod 644 "$W/open.key"
printf '1234\n' > "$W/pin.644"; chmod 644 "$W/pin.644"
mkfifo "$W/fifo"
mkdir "$W/dir"
head -c 4096 /dev/urandom > "$W/binary"
printf -- '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' > "$W/ca.pem"
P=$S/can/profiles/reference.profile
SOFTHSM=/usr/lib/softhsm/libsofthsm2.so
[ -f "$SOFTHSM" ] || SOFTHSM=/bin/true   # any regular file: only its type is checked

# printable FILE: no byte outside printable ASCII, tab and newline
printable() { LC_ALL=C grep -q '[^[:print:][:space:]]' "$1" && return 1; return 0; }

# one_run WHAT CONF LINE FRAGMENT: --check-config exits 2 naming CONF:LINE
# and FRAGMENT (LINE empty: the file itself), at once, in plain text.
one_run() {
	local what=$1 conf=$2 line=$3 frag=$4 t0 t1 rc where
	t0=$(date +%s%N)
	timeout 5 "$B/eco2d" -c "$conf" --check-config > "$W/out" 2> "$W/err"
	rc=$?
	t1=$(date +%s%N)
	where="$conf${line:+:$line}:"
	if [ $rc -eq 2 ] && grep -qF -- "$where" "$W/err" && grep -F -- "$where" "$W/err" | grep -qF -- "$frag" &&
		printable "$W/err"; then
		ok "$what: exit 2, $where ... $frag ($(( (t1 - t0) / 1000000 )) ms)"
	else
		nok "$what: exit $rc, wanted 2 and '$where ... $frag'"
		sed 's/^/# /' "$W/err" | head -5 | cat -v
	fi
}

# bad WHAT SECTION LINE FRAGMENT: a valid configuration with LINE added
# (at line 9) under [SECTION]; the base has the ledger off.
base() {
	printf '[can]\nprofile = %s\n[key]\nuri = file:%s/dev.key\n[store]\npath = %s/s.db\n[ledger]\nenabled = false\n' \
		"$P" "$W" "$W"
}
bad() {
	local what=$1 section=$2 line=$3 frag=$4
	# the base's own setting of that key (if any) goes, so that it is
	# not "set twice"; the bad line is the file's last
	{ base | grep -v "^${line%% *} = "; printf '[%s]\n%s\n' "$section" "$line"; } > "$W/bad.conf"
	one_run "$what" "$W/bad.conf" "$(wc -l < "$W/bad.conf")" "$frag"
}

base > "$W/good.conf"
timeout 5 "$B/eco2d" -c "$W/good.conf" --check-config > /dev/null 2> "$W/err"
check "the base configuration passes (exit 0)" [ $? -eq 0 ]

bad "unknown methodology" method 'id = eco2-ev-v2' "unknown methodology 'eco2-ev-v2'"
bad "methodology id of 32 bytes" method "id = $(printf 'm%.0s' $(seq 32))" 'at most 31'
bad "VIN of 18 characters" vehicle 'vin = WVWZZZ1JZXW0000001' 'at most 17'
bad "VIN not UTF-8" vehicle "vin = $(printf 'WVW\xff\xfeZZZ')" 'not UTF-8 text'
bad "VIN with an escape sequence" vehicle "vin = $(printf 'WVW\033[31mZ')" 'not UTF-8 text'
bad "interfaces with a NUL-less control byte" can "interfaces = $(printf 'vcan0\001')" 'not UTF-8 text'
bad "profile: a directory" can "profile = $W/dir" 'Is a directory'
bad "profile: a FIFO" can "profile = $W/fifo" 'not a regular file'
bad "profile: /dev/zero" can 'profile = /dev/zero' 'not a regular file'
bad "profile: missing" can "profile = $W/none.profile" 'No such file'
bad "key file: group/other may read it" key "uri = file:$W/open.key" 'mode 0644'
bad "key file: a FIFO" key "uri = file:$W/fifo" 'not a regular file'
bad "key file: a directory" key "uri = file:$W/dir" 'Is a directory'
bad "PIN file: group/other may read it" key \
	"uri = pkcs11:token=t;object=k?module-path=$SOFTHSM&pin-source=file:$W/pin.644" 'mode 0644'
bad "PIN file: a FIFO" key \
	"uri = pkcs11:token=t;object=k?module-path=$SOFTHSM&pin-source=file:$W/fifo" 'not a regular file'
bad "store: a directory" store "path = $W/dir" 'Is a directory'
bad "store: a FIFO" store "path = $W/fifo" 'not a regular file'
bad "store: in a missing folder" store "path = $W/nowhere/s.db" 'its folder cannot take one'
{ base | sed '/^\[ledger\]/,$d'; printf '[ledger]\nurl = https://127.0.0.1:1\nca = %s\n' "$W/binary"; } > "$W/l.conf"
one_run "ledger CA: not PEM text" "$W/l.conf" 9 'not a PEM text file'
{ base | sed '/^\[ledger\]/,$d'; printf '[ledger]\nurl = https://127.0.0.1:1\nca = %s\ncert = %s\n' "$W/ca.pem" "$W/dir"; } > "$W/l.conf"
one_run "ledger certificate: a directory" "$W/l.conf" 10 'Is a directory'

# A store that cannot be written: immutable (chattr +i), where this file
# system and these privileges allow it.
touch "$W/imm.db"
if chattr +i "$W/imm.db" 2>/dev/null; then
	bad "store: immutable" store "path = $W/imm.db" 'cannot be written'
	write_conf "$W/imm.conf" "$W/imm.db"
	: > "$W/none.log"
	timeout 10 "$B/eco2d" -c "$W/imm.conf" --replay "$W/none.log" --exit-at-end 2> "$W/imm.log"
	rc=$?
	check "start-up with an immutable store: exits $rc at once, saying so (no retry loop)" \
		eval '[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "cannot be written" "$W/imm.log"'
	chattr -i "$W/imm.db"
else
	ok "store: immutable # SKIP chattr +i refused here"
	ok "start-up with an immutable store # SKIP chattr +i refused here"
fi

# The configuration itself.
one_run "config: /dev/zero" /dev/zero "" 'not a regular file'
one_run "config: a FIFO" "$W/fifo" "" 'not a regular file'
one_run "config: a directory" "$W/dir" "" 'Is a directory'
truncate -s 1G "$W/huge.conf"
one_run "config: a 1 GiB file" "$W/huge.conf" "" 'larger than'
rm -f "$W/huge.conf"
one_run "config: random bytes" "$W/binary" "" 'not UTF-8 text'
{ base; printf '# a comment in Latin-1: caf\xe9\n'; } > "$W/latin1.conf"
one_run "config: a comment not in UTF-8" "$W/latin1.conf" 9 'not UTF-8 text'

# Start-up holds the same files to the same rules, without blocking on a FIFO.
: > "$W/none.log"
for f in "key|key|uri = file:$W/fifo" "store|store|path = $W/fifo" "config||"; do
	IFS='|' read -r name sec line <<<"$f"
	conf=$W/fifo
	if [ -n "$sec" ]; then
		{ base | grep -v "^${line%% *} = "; printf '[%s]\n%s\n' "$sec" "$line"; } > "$W/s.conf"
		conf=$W/s.conf
	fi
	timeout 10 "$B/eco2d" -c "$conf" --replay "$W/none.log" --exit-at-end 2> "$W/st.log"
	rc=$?
	check "start-up with a FIFO as the $name: exit $rc at once, 'not a regular file'" \
		eval '[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "not a regular file" "$W/st.log"'
done
finish
