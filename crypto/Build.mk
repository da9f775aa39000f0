# crypto/ — the record (CBOR, COSE_Sign1), the methodology, signers,
# verification and eco2-verify.

# co2: the CO2-avoided methodology, shared by eco2d and eco2-verify
lib-y += crypto/co2.o
tests-y += test_co2
test_co2-objs := tests/unit/test_co2.o

# rules: every content rule a record keeps, for eco2d, eco2-verify and the ledger
lib-y += crypto/rules.o
tests-y += test_rules
test_rules-objs := tests/unit/test_rules.o

# cbor: deterministic CBOR
lib-y += crypto/cbor.o
tests-y += test_cbor
test_cbor-objs := tests/unit/test_cbor.o

# cose: the record as a tagged COSE_Sign1
lib-y += crypto/cose.o
tests-y += test_cose
test_cose-objs := tests/unit/test_cose.o
fuzz-y += fuzz_cose
fuzz_cose-srcs := tests/fuzz/fuzz_cose.c crypto/cbor.c crypto/cose.c crypto/verify.c \
	crypto/co2.c crypto/rules.c crypto/es256.c $(if $(filter y,$(CONFIG_VERIFY_LIBCRYPTO)),crypto/verify_libcrypto.c)

# verify: the certifier's checks, with a libsodium/mbedTLS or OpenSSL back end
lib-y += crypto/verify.o
lib-$(CONFIG_VERIFY_LIBCRYPTO) += crypto/verify_libcrypto.o
tests-y += test_verify
test_verify-objs := tests/unit/test_verify.o

# x509: device certificates (mbedTLS; OpenSSL for what mbedTLS cannot read)
lib-y += crypto/x509.o
lib-$(CONFIG_VERIFY_LIBCRYPTO) += crypto/x509_libcrypto.o
tests-y += test_x509
test_x509-objs := tests/unit/test_x509.o

# approved: approved methodology parameters per period (--require-params)
lib-y += crypto/approved.o
tests-y += test_approved
test_approved-objs := tests/unit/test_approved.o
fuzz-y += fuzz_approved
fuzz_approved-srcs := tests/fuzz/fuzz_approved.c crypto/approved.c

# report: eco2-verify's findings as text, JSON and one HTML page
lib-y += crypto/report.o
tests-y += test_report
test_report-objs := tests/unit/test_report.o

# eco2-verify: the certifier's tool
progs-y += eco2-verify
bin-progs-y += eco2-verify
eco2-verify-objs := crypto/verify_main.o
itests-y += tests/integration/crypto_oracle.sh
itests-y += tests/integration/crypto_tamper.sh
itests-y += tests/integration/crypto_vectors.sh
itests-y += tests/integration/verify_html.sh

# eco2-rec-gen: chains signed by a signer URI, with deliberate faults for
# the tampering tests and benchmarks; eco2-bench-sig: bare signature rates
test-progs-y += eco2-rec-gen eco2-bench-sig
eco2-rec-gen-objs := tests/bench/verify/rec_gen.o
eco2-bench-sig-objs := tests/bench/verify/bench_sig.o

# es256: the one (low-S) byte form of ES256 signatures
lib-y += crypto/es256.o
tests-y += test_es256
test_es256-objs := tests/unit/test_es256.o

# signer: the key back ends behind crypto/signer.h
lib-y += crypto/signer.o
lib-$(CONFIG_SIGNER_FILE) += crypto/signer_file.o
lib-$(CONFIG_SIGNER_PKCS11) += crypto/signer_pkcs11.o
tests-$(CONFIG_SIGNER_FILE) += test_signer
test_signer-objs := tests/unit/test_signer.o
itests-$(CONFIG_SIGNER_FILE) += tests/integration/crypto_keyfile.sh
itests-$(CONFIG_SIGNER_PKCS11) += tests/integration/crypto_pkcs11_softhsm.sh
itests-$(CONFIG_SIGNER_PKCS11) += tests/integration/crypto_tpm.sh
# eco2-sign-test: sign, bench and inspect a key by URI
test-progs-y += eco2-sign-test
eco2-sign-test-objs := tests/integration/sign_tool.o

# pkcs11_uri: RFC 7512 URIs
lib-$(CONFIG_SIGNER_PKCS11) += crypto/pkcs11_uri.o
tests-$(CONFIG_SIGNER_PKCS11) += test_pkcs11_uri
test_pkcs11_uri-objs := tests/unit/test_pkcs11_uri.o
fuzz-y += fuzz_pkcs11_uri
fuzz_pkcs11_uri-srcs := tests/fuzz/fuzz_pkcs11_uri.c crypto/pkcs11_uri.c

# merkle: RFC 9162 Merkle trees, proofs generated and verified (the
# ledger, eco2d's receipts, eco2-verify)
lib-y += crypto/merkle.o
tests-y += test_merkle
test_merkle-objs := tests/unit/test_merkle.o

# tlog: signed notes, checkpoints and witness cosignatures (C2SP formats)
lib-y += crypto/tlog.o
tests-y += test_tlog
test_tlog-objs := tests/unit/test_tlog.o
fuzz-y += fuzz_tlog
fuzz_tlog-srcs := tests/fuzz/fuzz_tlog.c crypto/tlog.c crypto/merkle.c

# receipt: the ledger's signed checkpoint and inclusion proofs for a batch
lib-y += crypto/receipt.o
tests-y += test_receipt
test_receipt-objs := tests/unit/test_receipt.o
fuzz-y += fuzz_receipt
fuzz_receipt-srcs := tests/fuzz/fuzz_receipt.c crypto/receipt.c crypto/tlog.c crypto/merkle.c

# ledger_check: receipts against an export, witnessing (eco2-verify)
lib-y += crypto/ledger_check.o
tests-y += test_ledger_check
test_ledger_check-objs := tests/unit/test_ledger_check.o
