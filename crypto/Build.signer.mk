# crypto/ signers: the key back ends behind crypto/signer.h, and eco2ctl's
# keygen/pubkey commands.
lib-y += crypto/signer.o
lib-$(CONFIG_SIGNER_FILE) += crypto/signer_file.o
lib-$(CONFIG_SIGNER_PKCS11) += crypto/signer_pkcs11.o crypto/pkcs11_uri.o
eco2ctl-objs += agent/ctl_key.o

# Test-only driver (not installed): sign, bench and inspect a key by URI.
progs-y += eco2-sign-test
eco2-sign-test-objs := tests/integration/sign_tool.o

tests-$(CONFIG_SIGNER_FILE) += test_signer
test_signer-objs := tests/unit/test_signer.o
tests-$(CONFIG_SIGNER_PKCS11) += test_pkcs11_uri
test_pkcs11_uri-objs := tests/unit/test_pkcs11_uri.o

fuzz-y += fuzz_pkcs11_uri
fuzz_pkcs11_uri-srcs := tests/fuzz/fuzz_pkcs11_uri.c crypto/pkcs11_uri.c agent/log.c

itests-$(CONFIG_SIGNER_FILE) += tests/integration/crypto_keyfile.sh
itests-$(CONFIG_SIGNER_PKCS11) += tests/integration/crypto_pkcs11_softhsm.sh
itests-$(CONFIG_SIGNER_PKCS11) += tests/integration/crypto_tpm.sh
