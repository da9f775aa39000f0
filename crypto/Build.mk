# crypto/ — record format (CBOR, COSE_Sign1), verification, eco2-verify.
# (The signer back ends register in crypto/Build.signer.mk.)
lib-y += crypto/cbor.o crypto/cose.o crypto/verify.o
ifeq ($(CONFIG_VERIFY_LIBCRYPTO),y)
lib-y += crypto/verify_libcrypto.o
endif

tests-y += test_cbor test_cose test_verify
test_cbor-objs := tests/unit/test_cbor.o
test_cose-objs := tests/unit/test_cose.o
test_verify-objs := tests/unit/test_verify.o
lib-y += crypto/x509.o

# eco2-verify: the certifier's tool (installed).
progs-y += eco2-verify
bin-progs-y += eco2-verify
eco2-verify-objs := crypto/verify_main.o

# Test-only record generator (not installed): chains signed by a signer URI,
# with deliberate faults for the tampering tests and benchmarks.
progs-y += eco2-rec-gen
eco2-rec-gen-objs := tests/bench/verify/rec_gen.o

itests-y += tests/integration/crypto_oracle.sh
itests-y += tests/integration/crypto_tamper.sh

fuzz-y += fuzz_cose
fuzz_cose-srcs := tests/fuzz/fuzz_cose.c crypto/cbor.c crypto/cose.c crypto/verify.c \
	agent/co2.c agent/log.c $(if $(filter y,$(CONFIG_VERIFY_LIBCRYPTO)),crypto/verify_libcrypto.c)

# Bare signature rates per back end for bench_verify.sh (not installed).
progs-y += eco2-bench-sig
eco2-bench-sig-objs := tests/bench/verify/bench_sig.o
