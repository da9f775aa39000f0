#!/bin/bash
# bench_headunit.sh — the head-unit build (make HEADUNIT=y, cross/README.md)
# measured where it runs: a qemu guest with 256 MiB and 2 vCPUs booting
# Debian's kernel, x86_64 and arm64 (HU_ARCHES), three builds of eco2d each:
#
#   debian   today's build: Debian's libcurl4 (OpenSSL, 36 libraries)
#   mbedtls  HEADUNIT=y: static libcurl with mbedTLS, a file key for
#            records and TLS
#   openssl  HEADUNIT=y HEADUNIT_TLS=openssl: static libcurl with OpenSSL,
#            the device key in a SoftHSM2 token for records and TLS (the
#            pkcs11 engine; mbedTLS's libcurl cannot load a token key)
#
# eco2d's RSS, PSS and private memory (smaps_rollup) idle, replaying the
# simulator's drive at 4 x 8,000 frames/s on vcan0..3 (canplayer) and
# draining a backlog of DRAIN_N signed records to eco2-ledger (ledger/) on
# the guest's loopback, each run under a cgroup v2 memory.max of eco2d.service's
# MemoryMax= (tests/bench/headunit/measure.sh says how). On the build
# machine: stripped sizes, and instructions per frame with callgrind.
#
# Builds: everything `make HEADUNIT=y` needs (libcurl from Debian's source
# package, a Debian sysroot for arm64: the network, once), plus an arm64
# eco2-ledger. Takes 15-25 minutes the first time on 2 cores; `make
# headunit` runs it alone. Figures, not verdicts, except that a failed
# measurement (eco2d killed, a state that did not finish) exits 1.
# Everything is kept in $ECO2_BUILD/headunit/ (results.md: the table).
set -u
S=${ECO2_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${ECO2_BUILD:-$S/build}
PY=${PYTHON:-/usr/bin/python3}
ARCHES=${HU_ARCHES:-x86_64 arm64}
HC=${HEADUNIT_CACHE:-$S/build-headunit-cache}
IDLE_S=${IDLE_S:-5}
REPLAY_S=${REPLAY_S:-10}
RATE=8000                      # frames/s on each of 4 interfaces
DRAIN_N=${DRAIN_N:-10000}
BATCH=${HU_BATCH:-100}         # [upload] batch_records: a head unit's setting
W=$B/headunit
q=$S/cross/qemu
unset MAKEFLAGS MAKELEVEL MFLAGS MAKEOVERRIDES SANITIZE
cd "$S" || exit 1
mkdir -p "$W"
fail=0
say() { echo "== $*"; }
die() { echo "bench_headunit: $*" >&2; exit 1; }
memory_max=$(sed -n 's/^MemoryMax=//p' agent/eco2d.service)
[ -n "$memory_max" ] || die "agent/eco2d.service has no MemoryMax="

for t in cpio readelf mke2fs softhsm2-util openssl curl canplayer; do
	command -v $t >/dev/null || die "$t not installed (debian-packages.txt)"
done

# ---- builds -------------------------------------------------------------
mk() { # LOG make-args... (the log keeps the whole output)
	local log=$W/$1.log
	shift
	make --no-print-directory -j2 "$@" >"$log" 2>&1 ||
		{ tail -n 20 "$log" >&2; die "make $* failed (see $log)"; }
}
say "builds (logs in $W/)"
mk build-host all "$B/eco2-ledger" "$B/upload-fill" O="$B"
[ -x "$B/eco2-ledger" ] || die "$B/eco2-ledger not configured (x86_64_defconfig builds it)"
declare -A bin
for a in $ARCHES; do
	for tls in mbedtls openssl; do
		mk build-$a-$tls HEADUNIT=y ARCH=$a HEADUNIT_TLS=$tls
		bin[$a-$tls]=$S/build-headunit-$a-$tls/eco2d
	done
	bin[$a-eco2ctl]=$S/build-headunit-$a-mbedtls/eco2ctl
	if [ $a = x86_64 ]; then
		bin[$a-debian]=$B/eco2d
		bin[$a-ledger]=$B/eco2-ledger
	else
		# today's build for the same target, and the ledger, against the
		# same Debian sysroot with what they and the guest need
		sr=$HC/sysroot-$a
		cross/mksysroot.sh $a "$sr" libssl-dev libmicrohttpd-dev libgnutls28-dev \
			libengine-pkcs11-openssl libsofthsm2 can-utils >"$W/sysroot-$a.log" 2>&1 ||
			die "cross/mksysroot.sh $a failed (see $W/sysroot-$a.log)"
		mk build-$a-debian ARCH=$a SYSROOT="$sr" O="$S/build-headunit-$a-debian" \
			"$S/build-headunit-$a-debian/eco2d"
		peer=$S/build-headunit-$a-peer
		mkdir -p "$peer"
		printf 'CONFIG_LEDGER_SERVER=y\n# CONFIG_LEDGER_POSTGRES is not set\nCONFIG_VERIFY_LIBCRYPTO=y\n' >"$W/peer.cfg"
		srctree=$S ARCH=$a $PY cross/kconfig-merge.py "$peer/.config" cross/configs/aarch64_defconfig \
			"$W/peer.cfg" >"$W/peer-config.log" 2>&1 || die "peer configuration (see $W/peer-config.log)"
		mk build-$a-peer ARCH=$a SYSROOT="$sr" O="$peer" "$peer/eco2-ledger"
		bin[$a-debian]=$S/build-headunit-$a-debian/eco2d
		bin[$a-ledger]=$peer/eco2-ledger
	fi
done

# ---- data, the same for every target --------------------------------------
say "keys, token, ledger database, backlogs, replay log"
D=$W/data
rm -rf "$D" "$W/host"
mkdir -p "$D/tokens" "$W/host"
H=$W/host
"$S/tests/integration/upload/pki.sh" "$D/pki" es256 || die "test PKI"
rm -f "$D/pki/"*.csr "$D/pki/ca.d" 2>/dev/null
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$D/tokens" >"$H/softhsm2.conf"
export SOFTHSM2_CONF=$H/softhsm2.conf
MODULE=/usr/lib/softhsm/libsofthsm2.so
[ -f $MODULE ] || die "$MODULE missing (softhsm2)"
softhsm2-util --init-token --free --label eco2hu --pin 1234 --so-pin 5678 >/dev/null || die "token"
echo 1234 >"$H/pin"
chmod 0600 "$H/pin"
TOKURI="pkcs11:token=eco2hu;object=dev;type=private?module-path=$MODULE&pin-source=file:$H/pin"
"$B/eco2ctl" keygen --uri "$TOKURI" --alg es256 >/dev/null 2>&1 || die "eco2ctl keygen in the token"
"$B/eco2ctl" pubkey --uri "$TOKURI" >"$H/token-pub.pem" 2>/dev/null || die "eco2ctl pubkey"
(
	cd "$D/pki" &&
		openssl ecparam -name prime256v1 -genkey -noout -out "$H/csr.key" &&
		openssl req -new -key "$H/csr.key" -subj "/CN=eco2 head unit (token)" -out "$H/token.csr" &&
		printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$H/client.ext" &&
		openssl x509 -req -in "$H/token.csr" -force_pubkey "$H/token-pub.pem" -CA ca.pem -CAkey ca.key \
			-CAcreateserial -days 30 -extfile "$H/client.ext" -out token-device.pem
) >"$H/token-cert.log" 2>&1 || die "token certificate (see $H/token-cert.log)"
"$B/eco2-ledger" --keygen eco2.test/headunit --log-key "$D/pki/log.key" >"$D/pki/log.vkey" 2>"$H/keygen.log" ||
	die "eco2-ledger --keygen: $(cat "$H/keygen.log")"
"$B/eco2-ledger" --listen 127.0.0.1:0 --cert "$D/pki/server.pem" --key "$D/pki/server.key" \
	--client-ca "$D/pki/ca.pem" --device-ca "$D/pki/ca.pem" --log-key "$D/pki/log.key" \
	--db "$D/ledger.db" 2>"$H/ledger.log" &
lp=$!
port=
for _ in $(seq 100); do
	port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$H/ledger.log" | head -n 1)
	[ -n "$port" ] && break
	sleep 0.05
done
for c in device token-device; do
	curl -sS --cacert "$D/pki/ca.pem" -H 'Content-Type: application/x-pem-file' \
		--data-binary @"$D/pki/$c.pem" "https://localhost:$port/v1/devices" >>"$H/register.log" 2>&1
done
kill $lp
wait $lp 2>/dev/null
[ "$(grep -o '"kid"' "$H/register.log" | wc -l)" = 2 ] || die "device registration: $(cat "$H/register.log")"
"$B/upload-fill" --db "$D/backlog-file.db" --count "$DRAIN_N" --batch 500 \
	--key "file:$D/pki/device.key" >"$H/fill-file.log" 2>&1 || die "backlog (file key)"
"$B/upload-fill" --db "$D/backlog-token.db" --count "$DRAIN_N" --batch 500 \
	--key "$TOKURI" >"$H/fill-token.log" 2>&1 || die "backlog (token key)"
# The drive, re-timed to 4 x RATE frames/s: frame k on vcan(k mod 4), in
# the drive's order, 1 / (4 RATE) s after frame k - 1; one log per
# interface, for one canplayer each.
args=()
for _ in 1 2 3 4; do args+=(--cycle "$S/can/sim/cycles/wltc_class3b.csv" --park 60); done
"$B/eco2-sim" "${args[@]}" --out "$H/drive.log" >"$H/truth.json" || die "eco2-sim"
$PY - "$H/drive.log" "$D/replay" $((4 * RATE * REPLAY_S)) $((4 * RATE)) <<'PY' || die "replay logs"
import sys
src, dst, n, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
frames = [line.split(None, 2)[2] for line in open(src) if line.startswith("(")]
outs = [open("%s-vcan%d.log" % (dst, i), "w") for i in range(4)]
for k in range(n):
    outs[k % 4].write("(%.6f) vcan%d %s" % (1700000000 + k / rate, k % 4, frames[k % len(frames)]))
PY

# ---- sizes ----------------------------------------------------------------
# The libraries a program loads (DT_NEEDED, recursively) other than glibc's.
libs_of() { # ELF ROOT TRIPLET
	local todo=("$1") seen=" " f l p
	while [ ${#todo[@]} -gt 0 ]; do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		for l in $(readelf -dW "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			case $l in libc.so.* | libm.so.* | ld-linux* | libpthread.so.* | libdl.so.* | librt.so.*) continue ;; esac
			case $seen in *" $l "*) continue ;; esac
			seen="$seen$l "
			for p in "$2/lib/$3/$l" "$2/usr/lib/$3/$l"; do
				[ -e "$p" ] && { echo "$p"; todo+=("$(readlink -f "$p")"); break; }
			done
		done
	done
}
declare -A size
for a in $ARCHES; do
	case $a in x86_64) tri=x86_64-linux-gnu root=/ ;; arm64) tri=aarch64-linux-gnu root=$HC/sysroot-arm64 ;; esac
	for c in debian mbedtls openssl; do
		${tri}-strip -o "$W/$a-$c.stripped" "${bin[$a-$c]}" 2>/dev/null || strip -o "$W/$a-$c.stripped" "${bin[$a-$c]}"
		s=$(stat -c %s "$W/$a-$c.stripped")
		libs=$(libs_of "${bin[$a-$c]}" "$root" $tri)
		n=$(echo "$libs" | grep -c .)
		ls=0
		for l in $libs; do ls=$((ls + $(stat -L -c %s "$l"))); done
		if [ "$n" -gt 0 ]; then
			size[$a-$c]="$((s / 1024)) KiB + $n libraries, $(awk -v b=$ls 'BEGIN { printf "%.1f", b / 1048576 }') MiB"
		else
			size[$a-$c]="$((s / 1024)) KiB, no other library"
		fi
		echo "  $a $c: eco2d stripped $s bytes; $n libraries besides glibc, $ls bytes"
	done
done

# ---- instructions per frame (callgrind, x86_64) -------------------------------
declare -A ipf
if command -v valgrind >/dev/null && [[ " $ARCHES " == *" x86_64 "* ]]; then
	say "instructions per frame (callgrind on x86_64: candump replay, decode, trips)"
	"$B/eco2-sim" --cycle "$S/can/sim/cycles/wltc_class3b.csv" --out "$H/cg.log" >/dev/null
	frames=$(wc -l <"$H/cg.log")
	for c in debian mbedtls openssl; do
		printf '[can]\nprofile = %s/can/profiles/reference.profile\n[key]\nuri = file:%s\n[store]\npath = %s\n[ledger]\nenabled = false\n' \
			"$S" "$D/pki/device.key" "$H/cg-$c.db" >"$H/cg.conf"
		rm -f "$H/cg-$c.db"*
		valgrind --tool=callgrind --callgrind-out-file="$H/cg-$c.out" "${bin[x86_64-$c]}" -c "$H/cg.conf" \
			--replay "$H/cg.log" --exit-at-end --no-seccomp 2>"$H/cg-$c.log" || continue
		total=$(sed -n 's/^summary: //p' "$H/cg-$c.out")
		parse=$(callgrind_annotate --inclusive=yes "$H/cg-$c.out" 2>/dev/null |
			awk '/canlog_next/ { gsub(",", "", $1); print $1; exit }')
		ipf[$c]="$((total / frames)) ($(((total - ${parse:-0}) / frames)) without the candump text)"
		echo "  $c: $frames frames, ${ipf[$c]} instructions per frame"
	done
fi

# ---- the guests ---------------------------------------------------------------
declare -A guest_ok
for a in $ARCHES; do
	say "$a guest: 256 MiB, 2 vCPUs, Debian's kernel (TCG)"
	G=$W/vm-$a
	rm -rf "$G"
	mkdir -p "$G"
	case $a in
	x86_64) tri=x86_64-linux-gnu root=/ rflag=() cc=gcc canplayer=/usr/bin/canplayer ;;
	arm64) tri=aarch64-linux-gnu root=$HC/sysroot-arm64 rflag=(-R "$root") cc=aarch64-linux-gnu-gcc
		canplayer=$root/usr/bin/canplayer ;;
	esac
	kinfo=$("$q/fetch-kernel.sh" $a "$B/qemu-cache" 2>"$G/fetch.log") || die "no $a kernel (see $G/fetch.log)"
	KERNEL= MODULES=
	eval "$kinfo"
	$cc ${rflag[1]:+--sysroot="${rflag[1]}"} -O2 -o "$G/vcan-add" "$q/vcan-add.c" || die "vcan-add"
	engine=$root/usr/lib/$tri/engines-3/pkcs11.so
	[ -f "$engine" ] || die "$engine missing (libengine-pkcs11-openssl)"
	# The programs' tree: built as an initramfs would be, then an ext4 image.
	"$q/mkinitramfs.sh" -a $a -o "$G/tree.cpio.gz" -s "$S/tests/bench/headunit/measure.sh" \
		-b "${bin[$a-debian]}=/usr/sbin/eco2d-debian" -b "${bin[$a-mbedtls]}=/usr/sbin/eco2d-mbedtls" \
		-b "${bin[$a-openssl]}=/usr/sbin/eco2d-openssl" -b "${bin[$a-ledger]}=/usr/bin/eco2-ledger" \
		-b "${bin[$a-eco2ctl]}=/usr/bin/eco2ctl" -b "$canplayer=/usr/bin/canplayer" -b "$G/vcan-add" \
		-b "$engine=/usr/lib/$tri/engines-3/pkcs11.so" -b "$root$MODULE=$MODULE" \
		-f "$S/can/profiles=/bench/profiles" \
		-e CONFIGS="${HU_CONFIGS:-debian mbedtls openssl}" -e IDLE_S="$IDLE_S" -e DRAIN_N="$DRAIN_N" -e UPLOAD_BATCH="$BATCH" \
		-e DRAIN_MAX_S=300 -e SAMPLE_US=250000 -e MEMORY_MAX="$memory_max" \
		-e TRIPLET=$tri -e SOFTHSM_MODULE=$MODULE -c "$B/qemu-cache" "${rflag[@]}" \
		>"$G/tree.log" 2>&1 || die "the $a programs' tree (see $G/tree.log)"
	mkdir "$G/root"
	(cd "$G/root" && gzip -dc ../tree.cpio.gz | cpio -id --quiet) || die "unpacking the tree"
	rm -f "$G/root/init"
	mkdir -p "$G/root/etc"
	cp -a "$D" "$G/root/data"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$G/root/etc/hosts"
	printf 'hosts: files dns\n' >"$G/root/etc/nsswitch.conf"
	for app in $(/bin/busybox --list); do
		[ -e "$G/root/bin/$app" ] || ln -s busybox "$G/root/bin/$app"
	done
	mb=$(( $(du -sm "$G/root" | cut -f1) * 5 / 4 + 8 ))
	mke2fs -q -F -t ext4 -O ^has_journal,^metadata_csum -L eco2hu -d "$G/root" "$G/hu.ext4" ${mb}M \
		>"$G/mke2fs.log" 2>&1 || die "mke2fs (see $G/mke2fs.log)"
	"$q/mkinitramfs.sh" -a $a -o "$G/vm.cpio.gz" -s "$S/tests/bench/headunit/vm_outer.sh" \
		-K "$MODULES" -m can-raw -m vcan -m virtio_pci -m virtio_blk -m crc32c_generic -m ext4 \
		-c "$B/qemu-cache" \
		>"$G/vm.log" 2>&1 || die "the $a initramfs (see $G/vm.log)"
	echo "  image ${mb} MiB ext4 (a read-only virtio disk), initramfs $(($(stat -c %s "$G/vm.cpio.gz") / 1024)) KiB"
	"$q/run-vm.sh" -a $a -k "$KERNEL" -i "$G/vm.cpio.gz" -d "$G/hu.ext4" -m 256 -c 2 -t 1500 ${HU_VM_VERBOSE:+-v} \
		-O "$G/out" -l "$G/console.log" | sed 's/^/  /'
	rc=${PIPESTATUS[0]}
	[ $rc -eq 0 ] || { echo "  the $a guest exited $rc (console: $G/console.log)"; fail=1; }
	guest_ok[$a]=$rc
done

# ---- the table -----------------------------------------------------------
kib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
{
	echo "| target | build | eco2d stripped | idle RSS / PSS / private (dirty) MiB | replay 4 × $RATE/s RSS / PSS / private (dirty) | drain $DRAIN_N RSS / PSS / private (dirty) | memory.peak replay / drain (MemoryMax=$memory_max) | instructions/frame |"
	echo "|---|---|---|---|---|---|---|---|"
	for a in $ARCHES; do
		for c in debian mbedtls openssl; do
			row="| $a | $c | ${size[$a-$c]} "
			for st in idle replay drain; do
				l=$(grep "^RESULT $c $st " "$W/vm-$a/out/results.txt" 2>/dev/null)
				if [ -n "$l" ]; then
					row="$row| $(kib "$(echo "$l" | field rss)") / $(kib "$(echo "$l" | field pss)") / $(kib "$(echo "$l" | field private)") ($(kib "$(echo "$l" | field private_dirty)")) "
				else
					row="$row| — "
				fi
			done
			p1=$(grep "^RESULT $c replay " "$W/vm-$a/out/results.txt" 2>/dev/null | field memory_peak)
			p2=$(grep "^RESULT $c drain " "$W/vm-$a/out/results.txt" 2>/dev/null | field memory_peak)
			row="$row| $(kib "${p1:-0}") / $(kib "${p2:-0}") MiB "
			if [ $a = x86_64 ]; then row="$row| ${ipf[$c]:-—} |"; else row="$row| — |"; fi
			echo "$row"
		done
	done
	echo
	for a in $ARCHES; do
		for c in debian mbedtls openssl; do
			l=$(grep "^RESULT $c replay " "$W/vm-$a/out/results.txt" 2>/dev/null) || continue
			d=$(grep "^RESULT $c drain " "$W/vm-$a/out/results.txt" 2>/dev/null)
			awk -v a=$a -v c=$c -v s="$(echo "$l" | field frames_sent)" -v r="$(echo "$l" | field frames_received)" \
				-v t="$(echo "$l" | field replay_s)" -v n="$(echo "$d" | field records)" -v dt="$(echo "$d" | field drain_s)" \
				'BEGIN { printf "- %s %s: replay sent %d frames in %d s (%.0f frames/s of %d asked), eco2d received %.1f %%; drain %d records in %d s\n",
					a, c, s, t, t ? s / t : 0, 4 * '"$RATE"', s ? 100 * r / s : 0, n, dt }'
		done
	done
	echo
	for a in $ARCHES; do
		grep '^CHECK' "$W/vm-$a/out/results.txt" 2>/dev/null | sed "s/^CHECK \([a-z]*\) pkcs11-tls-key /- $a \1: a pkcs11: [ledger] key is /"
	done
	echo
	for a in $ARCHES; do
		grep '^RESULT' "$W/vm-$a/out/results.txt" 2>/dev/null | sed "s/^RESULT /$a: /"
	done
} >"$W/results.md"
say "results ($W/results.md)"
cat "$W/results.md"
exit $fail
