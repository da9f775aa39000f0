# crypto/ — record format (CBOR, COSE_Sign1), verification, eco2-verify.
# (The signer back ends register in crypto/Build.signer.mk.)
lib-y += crypto/cbor.o crypto/cose.o crypto/verify.o
ifeq ($(CONFIG_VERIFY_LIBCRYPTO),y)
lib-y += crypto/verify_libcrypto.o
endif
