# crypto/ — record format (CBOR, COSE_Sign1), verification, eco2-verify.
# (The signer back ends register in crypto/Build.signer.mk.)
lib-y += crypto/cbor.o crypto/cose.o crypto/verify.o
ifeq ($(CONFIG_VERIFY_LIBCRYPTO),y)
lib-y += crypto/verify_libcrypto.o
endif

tests-y += test_cbor test_cose
test_cbor-objs := tests/unit/test_cbor.o
test_cose-objs := tests/unit/test_cose.o
