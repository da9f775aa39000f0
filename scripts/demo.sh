#!/bin/bash
# demo.sh — the mission end to end, on this machine (make demo):
#
#   a test CA and a device certificate for a key held in a SoftHSM2 token
#   -> eco2-ledger on loopback TLS (mTLS)
#   -> eco2-sim drives WLTC class 3b, parks, drives NEDC through a candump
#      log (DEMO_LIVE=1 on a host with vcan: live on vcan0, in real time)
#   -> eco2d measures, signs in the token, queues, uploads, and keeps the
#      ledger's receipt for every batch after checking it
#   -> a certifier witnesses the ledger's checkpoint (eco2-verify --cosign)
#   -> the records fetched back from the ledger with the certifier's
#      certificate, the receipts exported from the device
#   -> eco2-verify --cert --ca checks them, every receipt's proof, that none
#      is withheld and that the ledger showed one history (--receipts,
#      --ledger, --witness-key), and the totals are compared with the
#      simulator's ground truth
#
# Last line: "demo: N trips, X km, Y kWh, Z kg CO2 avoided, all verified".
# Exit 0 only if everything verified and matched. KEEP=1 keeps the folder.
set -euo pipefail

S=${ECO2_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
B=${ECO2_BUILD:-$S/build}
PY=${PYTHON:-/usr/bin/python3}
MODULE=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so 2>/dev/null | head -n 1)
W=$(mktemp -d /tmp/eco2-demo.XXXXXX)
PIDS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "demo: kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
die() { echo "demo: FAILED: $*" >&2; exit 1; }

for p in eco2d eco2ctl eco2-verify eco2-sim eco2-ledger; do
	[ -x "$B/$p" ] || die "$B/$p not built"
done
[ -n "$MODULE" ] || die "SoftHSM2 not installed (make deps)"
cd "$W"

step "A test CA and a SoftHSM2 token holding the device's ES256 key"
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -subj "/CN=eco2 demo automaker CA" -days 30 -out ca.pem \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
openssl req -new -key server.key -subj "/CN=localhost" -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile server.ext -out server.pem 2>/dev/null

mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$W" > softhsm2.conf
export SOFTHSM2_CONF=$W/softhsm2.conf
softhsm2-util --init-token --free --label eco2-demo --pin 246810 --so-pin 13579 >/dev/null
echo 246810 > pin
chmod 600 pin
KEY="pkcs11:token=eco2-demo;object=device;type=private?module-path=$MODULE&pin-source=file:$W/pin"
"$B/eco2ctl" keygen --uri "$KEY" --alg es256
"$B/eco2ctl" pubkey --uri "$KEY" > device-pub.pem 2> kid
echo "device key kid $(cat kid), inside the token (not extractable)"

step "The automaker's CA certifies the device key"
# The private key never leaves the token, so the CSR is made with a
# throw-away key and the certificate carries the token's public key.
openssl ecparam -name prime256v1 -genkey -noout -out csr.key 2>/dev/null
openssl req -new -key csr.key -subj "/CN=eco2 demo device $(cat kid)" -out device.csr 2>/dev/null
printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > device.ext
openssl x509 -req -in device.csr -force_pubkey device-pub.pem -CA ca.pem -CAkey ca.key \
	-CAcreateserial -days 30 -extfile device.ext -out device.pem 2>/dev/null
openssl verify -CAfile ca.pem device.pem

step "A certifier's certificate and witness key"
openssl ecparam -name prime256v1 -genkey -noout -out certifiers-ca.key 2>/dev/null
openssl req -x509 -new -key certifiers-ca.key -subj "/CN=eco2 demo certifiers CA" -days 30 \
	-out certifiers-ca.pem -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out certifier.key 2>/dev/null
openssl req -new -key certifier.key -subj "/CN=eco2 demo certifier" -out certifier.csr 2>/dev/null
printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' > certifier.ext
openssl x509 -req -in certifier.csr -CA certifiers-ca.pem -CAkey certifiers-ca.key -CAcreateserial \
	-days 30 -extfile certifier.ext -out certifier.pem 2>/dev/null
"$B/eco2-verify" --witness-keygen certifier.demo/witness --witness-skey witness.skey > witness.vkey
echo "certifier: CN=eco2 demo certifier; witness key $(cat witness.vkey)"

step "eco2-ledger on loopback TLS, with its log key"
"$B/eco2-ledger" --keygen ledger.demo/eco2 --log-key ledger.key > ledger.vkey
echo "the ledger signs its checkpoints with $(cat ledger.vkey)"
"$B/eco2-ledger" --listen 127.0.0.1:0 --cert server.pem --key server.key \
	--client-ca ca.pem --device-ca ca.pem --db ledger.db --log-key ledger.key \
	--reader-ca certifiers-ca.pem --reader "eco2 demo certifier=*" \
	--witness "$(cat witness.vkey)" --checkpoint-interval 1 2> ledger.log &
PIDS+=($!)
PORT=
for _ in $(seq 100); do
	PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' ledger.log | head -n 1)
	[ -n "$PORT" ] && break
	sleep 0.05
done
[ -n "$PORT" ] || { cat ledger.log; die "eco2-ledger did not start"; }
URL=https://localhost:$PORT
curl -sS --cacert ca.pem -H 'Content-Type: application/x-pem-file' \
	--data-binary @device.pem "$URL/v1/devices" > registered
grep -q "\"kid\":\"$(cat kid)\"" registered || die "device registration: $(cat registered)"
echo "listening on $URL; device $(cat kid) registered"

# TLS with the same key: libcurl's OpenSSL loads the pkcs11 engine, pointed
# at this one token's module (not every module p11-kit knows of). The
# engine takes the module from its configuration and the PIN from [ledger]
# pin, so its URI names only the key.
TLSKEY="pkcs11:token=eco2-demo;object=device;type=private"
ENGINE=$(ls /usr/lib/*/engines-3/pkcs11.so 2>/dev/null | head -n 1)
[ -n "$ENGINE" ] || die "the OpenSSL pkcs11 engine is not installed (make deps)"
cat > openssl.cnf <<EOC
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE
MODULE_PATH = $MODULE
init = 0
EOC
export OPENSSL_CONF=$W/openssl.cnf

cat > eco2d.conf <<EOF
[can]
profile = $S/can/profiles/reference.profile
interfaces = vcan0
[key]
uri = $KEY
[store]
path = $W/eco2.db
[ledger]
url = $URL
ca = $W/ca.pem
cert = $W/device.pem
key = $TLSKEY
pin = 246810
receipt_key = $(cat ledger.vkey)
[upload]
interval_s = 1
[log]
level = notice
EOF
"$B/eco2d" --check-config -c eco2d.conf > /dev/null

step "Driving WLTC class 3b, parking 10 minutes, driving NEDC"
# The drive starts now, after the certificate was issued: eco2-verify
# checks the certificate at each record's time.
SIM=("$B/eco2-sim" --start "$(date +%s)" --cycle "$S/can/sim/cycles/wltc_class3b.csv" --park 600
     --cycle "$S/can/sim/cycles/nedc.csv")
# Live on vcan0 runs in real time (a receiver timestamps frames as they
# arrive, so a sped-up bus would shrink every integral by the speed-up):
# 50 minutes, so only on request. Otherwise the same frames go through a
# candump log, with their simulated timestamps.
if [ -n "${DEMO_LIVE:-}" ] && ip link add dev vcan0 type vcan 2>/dev/null && ip link set vcan0 up; then
	echo "live on vcan0, real time (DEMO_LIVE=1)"
	"$B/eco2d" -c eco2d.conf &
	D=$!
	PIDS+=("$D")
	sleep 1
	"${SIM[@]}" --iface vcan0 > truth.json
	sleep 2
	# The last trip ended with ignition off; SIGTERM stores and exits.
	kill -TERM "$D"
	wait "$D" || die "eco2d exited with an error"
	ip link del vcan0
	# Whatever was not uploaded before the stop goes now.
	: > empty.log
	"$B/eco2d" -c eco2d.conf --replay empty.log --exit-at-end --upload-drain
else
	echo "through a candump log (DEMO_LIVE=1 on a host with vcan drives vcan0 in real time)"
	"${SIM[@]}" --out drive.log > truth.json
	echo "$(wc -l < drive.log) frames"
	"$B/eco2d" -c eco2d.conf --replay drive.log --exit-at-end --upload-drain
fi
"$B/eco2ctl" -c eco2d.conf trips

step "The certifier witnesses the ledger's checkpoint"
sleep 1.2    # the ledger publishes a checkpoint of the uploads
"$B/eco2-verify" --cosign --ledger "$URL" --ledger-ca ca.pem --ledger-key ledger.vkey \
	--witness-skey witness.skey --witness-state witness.state > cosigned.txt
sed -n '1,2p' cosigned.txt | tr '\n' ' ' | sed 's/^/cosigned: /; s/ $/ records\n/'

step "Records fetched back from the ledger, verified with their receipts as a certifier would"
curl -sS --fail --cacert ca.pem --cert certifier.pem --key certifier.key \
	"$URL/v1/devices/$(cat kid)/records?from=1" -o fetched.cbor
"$B/eco2ctl" -c eco2d.conf export --receipts receipts.txt > exported.cbor
cmp -s fetched.cbor exported.cbor || die "the ledger's records differ from the device's"
echo "$(grep -c '^eco2-receipt/v1$' receipts.txt) receipts from the device's store"
CERTIFY=(--cert device.pem --ca ca.pem --ledger-key ledger.vkey --receipts receipts.txt
	 --ledger "$URL" --ledger-ca ca.pem --witness-key witness.vkey)
"$B/eco2-verify" "${CERTIFY[@]}" fetched.cbor
"$B/eco2-verify" "${CERTIFY[@]}" --json fetched.cbor > verify.json

step "Compared with the simulator's ground truth"
"$PY" - truth.json verify.json <<'EOF'
import json, sys
truth = json.load(open(sys.argv[1]))
v = json.load(open(sys.argv[2]))
trips = int(v["trips"])
km = float(v["distance_km"])
kwh = float(v["energy_kwh"])
kg = float(v["co2_kg"])
ok = v["ok"] and v["problems"] == [] and trips == truth["trips"]
true_km = truth["distance_m"] / 1000
true_kwh = (truth["discharge_wh"] - truth["regen_wh"]) / 1000
print("measured %.3f km, %.3f kWh net; simulator %.3f km, %.3f kWh net" % (km, kwh, true_km, true_kwh))
if abs(km - true_km) > 0.002 * true_km or abs(kwh - true_kwh) > 0.005 * true_kwh + 0.002:
    ok = False
    print("demo: measured figures differ from the ground truth", file=sys.stderr)
if not ok:
    sys.exit(1)
print("demo: %d trips, %.3f km, %.3f kWh, %.3f kg CO2 avoided, all verified" % (trips, km, kwh, kg))
EOF
