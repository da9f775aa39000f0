#!/bin/bash
# pki.sh DIR [es256|ed25519] — a throw-away PKI for the upload tests, made
# with the openssl CLI:
#   ca.pem/ca.key          test CA (P-256): signs the server and device certs
#   other-ca.pem           an unrelated CA (the "wrong CA" case)
#   server.pem/.key        CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   server-wronghost.pem   same key, SAN DNS:wrong.example only
#   server-expired.pem     same key, valid 2020-01-01 .. 2020-01-02
#   server.pin             sha256//<base64> of the server's public key
#   other.pin              a pin of some other key
#   device.key/device.pem  the device key (signs records; mode 0600) and its
#                          certificate: TLS client certificate and the
#                          certificate registered with POST /v1/devices
#   device2.key/.pem       another device, signed by the same CA
#   reader-ca.pem/.key     a certifiers' CA (eco2-ledger --reader-ca)
#   reader.pem/.key        a certifier's client certificate, CN=eco2 test certifier
#   reader2.pem/.key       another certifier (CN=eco2 other certifier), same CA
#   device-serverauth.pem  the device key certified for serverAuth only
#   device-keyenc.pem      the device key certified for keyEncipherment only
set -eu
dir=$1
alg=${2:-es256}
mkdir -p "$dir"
cd "$dir"
q() { "$@" >/dev/null 2>&1 || { echo "pki: failed: $*" >&2; "$@"; exit 1; }; }

q openssl ecparam -name prime256v1 -genkey -noout -out ca.key
q openssl req -x509 -new -key ca.key -subj "/CN=eco2 test CA" -days 30 -out ca.pem \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
q openssl ecparam -name prime256v1 -genkey -noout -out other-ca.key
q openssl req -x509 -new -key other-ca.key -subj "/CN=unrelated CA" -days 30 -out other-ca.pem \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

q openssl ecparam -name prime256v1 -genkey -noout -out server.key
q openssl req -new -key server.key -subj "/CN=localhost" -out server.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile server.ext -out server.pem
printf 'subjectAltName=DNS:wrong.example\nextendedKeyUsage=serverAuth\n' > wrong.ext
q openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile wrong.ext -out server-wronghost.pem

# An expired certificate needs explicit dates: `openssl ca` takes them.
mkdir -p ca.d
: > ca.d/index.txt
echo 1000 > ca.d/serial
cat > ca.cnf <<EOC
[ca]
default_ca = d
[d]
dir = ca.d
database = ca.d/index.txt
serial = ca.d/serial
new_certs_dir = ca.d
default_md = sha256
policy = p
copy_extensions = none
unique_subject = no
[p]
commonName = supplied
[x]
subjectAltName = DNS:localhost,IP:127.0.0.1
extendedKeyUsage = serverAuth
EOC
q openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in server.csr \
	-startdate 20200101000000Z -enddate 20200102000000Z -extensions x -out server-expired.pem

pin() { openssl pkey -in "$1" -pubout -outform der 2>/dev/null | openssl dgst -sha256 -binary | base64; }
echo "sha256//$(pin server.key)" > server.pin
echo "sha256//$(pin other-ca.key)" > other.pin

case $alg in
ed25519) q openssl genpkey -algorithm ed25519 -out device.key ;;
*) q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out device.key ;;
esac
chmod 600 device.key
q openssl req -new -key device.key -subj "/CN=eco2 test device" -out device.csr
printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' > device.ext
q openssl x509 -req -in device.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile device.ext -out device.pem
q openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out device2.key
chmod 600 device2.key
q openssl req -new -key device2.key -subj "/CN=another device" -out device2.csr
q openssl x509 -req -in device2.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile device.ext -out device2.pem

# A certifier's CA and certificate, for reading records (eco2-ledger --reader-ca)
q openssl ecparam -name prime256v1 -genkey -noout -out reader-ca.key
q openssl req -x509 -new -key reader-ca.key -subj "/CN=eco2 test certifiers CA" -days 30 -out reader-ca.pem \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
q openssl ecparam -name prime256v1 -genkey -noout -out reader.key
chmod 600 reader.key
q openssl req -new -key reader.key -subj "/CN=eco2 test certifier" -out reader.csr
q openssl x509 -req -in reader.csr -CA reader-ca.pem -CAkey reader-ca.key -CAcreateserial -days 30 \
	-extfile device.ext -out reader.pem
q openssl ecparam -name prime256v1 -genkey -noout -out reader2.key
chmod 600 reader2.key
q openssl req -new -key reader2.key -subj "/CN=eco2 other certifier" -out reader2.csr
q openssl x509 -req -in reader2.csr -CA reader-ca.pem -CAkey reader-ca.key -CAcreateserial -days 30 \
	-extfile device.ext -out reader2.pem
# The device's key in certificates a ledger must refuse: for TLS servers
# only, and for key encipherment only
printf 'extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' > serverauth.ext
q openssl x509 -req -in device.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile serverauth.ext -out device-serverauth.pem
printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,keyEncipherment\n' > keyenc.ext
q openssl x509 -req -in device.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
	-extfile keyenc.ext -out device-keyenc.pem
