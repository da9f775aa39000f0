/* signer_file — a private key in a PEM file: `file:PATH`.
 *
 * Formats (both read by `openssl pkey -in PATH`; docs/keys.md):
 *   Ed25519  "PRIVATE KEY": PKCS#8 v1 (RFC 8410 §7) holding the 32-byte seed.
 *   P-256    "EC PRIVATE KEY": SEC1 ECPrivateKey (RFC 5915) as mbedTLS writes
 *            it; a PKCS#8 "PRIVATE KEY" P-256 key (openssl genpkey) is read
 *            too.
 * The file must be a regular file with no group or other permission bits
 * (mode 0600 or stricter); it is written tmp -> fsync -> rename (never over
 * an existing file) -> fsync(dir). Secrets are wiped after use. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <sodium.h>

#include "lib/file.h"
#include "lib/log.h"
#include "crypto/es256.h"
#include "crypto/signer.h"
#include "crypto/signer_int.h"

#define KEYFILE_MAX 8192   /* bytes; a PEM key is a few hundred */

/* RFC 8410 §7: PrivateKeyInfo { version 0, AlgorithmIdentifier { OID
 * 1.3.101.112 }, OCTET STRING { OCTET STRING { 32-byte seed } } } encodes
 * to these 16 bytes followed by the seed: 48 bytes in all. */
static const uint8_t ed25519_pkcs8_prefix[16] = {
	0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
	0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
};

/* mbedtls_pem_write_buffer wants the newlines; mbedtls_pem_read_buffer
 * finds the bare markers. */
#define PEM_PKCS8_BEGIN "-----BEGIN PRIVATE KEY-----"
#define PEM_PKCS8_END   "-----END PRIVATE KEY-----"

struct file_key {
	uint8_t ed_sk[crypto_sign_SECRETKEYBYTES];   /* Ed25519: seed || pub */
	mbedtls_pk_context pk;                        /* P-256 */
};

/* mbedTLS's f_rng from libsodium's CSPRNG (getrandom). */
static int sodium_rng(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
	return 0;
}

static const char *uri_path(const char *uri)
{
	return uri + strlen("file:");
}

static int load_ed25519(struct signer *s, struct file_key *k, const uint8_t *der)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];

	if (crypto_sign_seed_keypair(pk, k->ed_sk, der + sizeof(ed25519_pkcs8_prefix)))
		return -EINVAL;
	s->alg = COSE_ALG_EDDSA;
	memcpy(s->pub, pk, sizeof(pk));
	s->pub_len = sizeof(pk);
	return 0;
}

static int load_p256(struct signer *s, struct file_key *k, const char *path,
		     const char *pem, size_t pem_len)
{
	mbedtls_ecp_keypair *ec;
	size_t olen = 0;
	int r;

	/* mbedTLS 2.28 wants PEM input's length to count the NUL. */
	r = mbedtls_pk_parse_key(&k->pk, (const unsigned char *)pem, pem_len + 1,
				 NULL, 0);
	if (r) {
		log_err("key: %s: not a PEM Ed25519 or P-256 private key "
			"(mbedTLS error -0x%04x)", path, (unsigned)-r);
		return -EINVAL;
	}
	if (mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECKEY &&
	    mbedtls_pk_get_type(&k->pk) != MBEDTLS_PK_ECKEY_DH) {
		log_err("key: %s: a %s key; expected Ed25519 or P-256", path,
			mbedtls_pk_get_name(&k->pk));
		return -EINVAL;
	}
	ec = mbedtls_pk_ec(k->pk);
	if (ec->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
		log_err("key: %s: an EC key on another curve; expected P-256", path);
		return -EINVAL;
	}
	r = mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q,
					   MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
					   s->pub, sizeof(s->pub));
	if (r || olen != 65 || mbedtls_ecp_check_pub_priv(ec, ec)) {
		log_err("key: %s: inconsistent P-256 key", path);
		return -EINVAL;
	}
	s->alg = COSE_ALG_ES256;
	s->pub_len = 65;
	return 0;
}

static int file_open(struct signer *s, const char *uri, const char *pin)
{
	const char *path = uri_path(uri);
	struct file_key *k;
	char *buf = NULL;
	size_t len = 0, der_len = 0;
	mbedtls_pem_context pem;
	int ret = -ENOMEM;

	(void)pin;   /* key files are not encrypted: protection is the mode */
	mbedtls_pem_init(&pem);
	k = calloc(1, sizeof(*k));
	if (!k)
		goto out;
	mbedtls_pk_init(&k->pk);
	s->priv = k;   /* from here signer_close() frees it */
	/* Refuse anything a careless deployment could leak: not a regular
	 * file, group/other bits. */
	ret = file_read(path, KEYFILE_MAX - 1, FILE_PRIVATE, "key", &buf, &len);
	if (ret == -EISDIR)
		ret = -EINVAL;   /* as any file that is not a regular one */
	if (ret < 0)
		goto out;

	/* An Ed25519 PKCS#8 key is recognised by its fixed prefix; anything
	 * else goes to mbedTLS, which knows SEC1 and PKCS#8 EC keys. */
	if (!mbedtls_pem_read_buffer(&pem, PEM_PKCS8_BEGIN, PEM_PKCS8_END,
				     (const unsigned char *)buf, NULL, 0, &der_len)) {
		/* mbedTLS 2.28 keeps the decoded DER in pem.buf. */
		const uint8_t *der = pem.buf;
		size_t n = pem.buflen;
		if (n == 48 && !memcmp(der, ed25519_pkcs8_prefix,
				       sizeof(ed25519_pkcs8_prefix))) {
			ret = load_ed25519(s, k, der);
			goto out;
		}
	}
	ret = load_p256(s, k, path, buf, len);
out:
	mbedtls_pem_free(&pem);   /* zeroizes the decoded DER */
	if (buf) {
		mbedtls_platform_zeroize(buf, len);
		free(buf);
	}
	return ret;
}

static int file_sign(struct signer *s, const uint8_t *msg, size_t len,
		     uint8_t sig[SIGNER_SIG_LEN])
{
	struct file_key *k = s->priv;
	mbedtls_ecp_keypair *ec;
	mbedtls_mpi r, sv;
	uint8_t h[32];
	int ret = -EIO;

	if (s->alg == COSE_ALG_EDDSA)
		return crypto_sign_detached(sig, NULL, msg, len, k->ed_sk) ? -EIO : 0;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&sv);
	ec = mbedtls_pk_ec(k->pk);
	crypto_hash_sha256(h, msg, len);
	/* RFC 6979 deterministic k; the RNG only blinds the computation. */
	if (mbedtls_ecdsa_sign_det_ext(&ec->grp, &r, &sv, &ec->d, h, sizeof(h),
				       MBEDTLS_MD_SHA256, sodium_rng, NULL))
		goto out;
	/* write_binary left-pads each to 32 bytes: raw r||s as COSE wants. */
	if (mbedtls_mpi_write_binary(&r, sig, 32) ||
	    mbedtls_mpi_write_binary(&sv, sig + 32, 32))
		goto out;
	/* One byte form: s <= n/2 (crypto/es256.h). */
	if (es256_normalize_s(sig))
		goto out;
	ret = 0;
out:
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&sv);
	return ret;
}

/* The state-tag MAC (signer.h): HMAC-SHA256 under a key derived from the
 * private key (the Ed25519 seed, or the P-256 scalar) with libsodium's KDF,
 * context "eco2stat", subkey 1. Derived on each call: nothing more to keep
 * secret in memory than the key itself. */
static int file_mac(struct signer *s, const uint8_t *msg, size_t len, uint8_t out[32])
{
	struct file_key *k = s->priv;
	uint8_t master[crypto_kdf_KEYBYTES], key[crypto_auth_hmacsha256_KEYBYTES];
	int ret = -EIO;

	if (s->alg == COSE_ALG_EDDSA) {
		memcpy(master, k->ed_sk, sizeof(master));   /* the seed */
	} else if (mbedtls_mpi_write_binary(&mbedtls_pk_ec(k->pk)->d, master, sizeof(master))) {
		goto out;
	}
	if (crypto_kdf_derive_from_key(key, sizeof(key), 1, "eco2stat", master))
		goto out;
	crypto_auth_hmacsha256(out, msg, len, key);
	ret = 0;
out:
	sodium_memzero(master, sizeof(master));
	sodium_memzero(key, sizeof(key));
	return ret;
}

static void file_close(struct signer *s)
{
	struct file_key *k = s->priv;

	if (!k)
		return;
	mbedtls_pk_free(&k->pk);
	sodium_memzero(k, sizeof(*k));
	free(k);
	s->priv = NULL;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* tmp -> fsync -> rename without replacing -> fsync(dir), so that a crash
 * leaves either no key or the whole key, and an existing key is never
 * replaced (a lost device key orphans every record it signed). */
static int write_key_durably(const char *path, const char *data, size_t len)
{
	char tmp[4096], dirbuf[4096];
	int fd = -1, dfd = -1, ret = -EINVAL;
	bool tmp_made = false;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= sizeof(tmp) ||
	    (size_t)snprintf(dirbuf, sizeof(dirbuf), "%s", path) >= sizeof(dirbuf)) {
		log_err("key: %s: path too long", path);
		goto out;
	}
	/* mkstemp creates the file with mode 0600 whatever the umask. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_err("key: %s: cannot create a file beside it: %s", path, strerror(errno));
		goto out;
	}
	tmp_made = true;
	if (fchmod(fd, 0600) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		ret = errno ? -errno : -EIO;
		log_err("key: %s: write failed: %s", tmp, strerror(-ret));
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		ret = -errno;
		log_err("key: %s: close failed: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		if (errno != EINVAL && errno != ENOSYS) {
			ret = -errno;
			goto rename_failed;
		}
		/* A file system without RENAME_NOREPLACE: link() also fails
		 * with EEXIST rather than replacing. */
		if (link(tmp, path) < 0) {
			ret = -errno;
			goto rename_failed;
		}
		unlink(tmp);
	}
	tmp_made = false;
	dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0) {
		ret = -errno;
		log_err("key: %s: fsync of its directory failed: %s", path, strerror(errno));
		goto out;
	}
	ret = 0;
	goto out;
rename_failed:
	if (ret == -EEXIST)
		log_err("key: %s: already exists; refusing to overwrite a key", path);
	else
		log_err("key: %s: %s", path, strerror(-ret));
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	if (tmp_made)
		unlink(tmp);
	return ret;
}

static int file_keygen(const char *uri, const char *pin, int alg)
{
	const char *path = uri_path(uri);
	unsigned char *pem = NULL;
	uint8_t der[48];
	size_t olen = 0;
	mbedtls_pk_context pk;
	struct stat st;
	int r, ret = -EINVAL;

	(void)pin;
	mbedtls_pk_init(&pk);
	if (!*path) {
		log_err("key: file: URI without a path");
		goto out;
	}
	if (lstat(path, &st) == 0) {
		log_err("key: %s: already exists; refusing to overwrite a key", path);
		ret = -EEXIST;
		goto out;
	}
	pem = calloc(1, KEYFILE_MAX);
	if (!pem) {
		ret = -ENOMEM;
		goto out;
	}
	if (alg == COSE_ALG_EDDSA) {
		memcpy(der, ed25519_pkcs8_prefix, sizeof(ed25519_pkcs8_prefix));
		randombytes_buf(der + sizeof(ed25519_pkcs8_prefix), 32);
		r = mbedtls_pem_write_buffer(PEM_PKCS8_BEGIN "\n", PEM_PKCS8_END "\n", der,
					     sizeof(der), pem, KEYFILE_MAX, &olen);
	} else {
		r = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
		if (!r)
			r = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
						mbedtls_pk_ec(pk), sodium_rng, NULL);
		if (!r)
			r = mbedtls_pk_write_key_pem(&pk, pem, KEYFILE_MAX);
	}
	if (r) {
		log_err("key: %s: key generation failed (mbedTLS error -0x%04x)",
			path, (unsigned)-r);
		ret = -EIO;
		goto out;
	}
	ret = write_key_durably(path, (const char *)pem, strlen((const char *)pem));
out:
	sodium_memzero(der, sizeof(der));
	mbedtls_pk_free(&pk);
	if (pem) {
		sodium_memzero(pem, KEYFILE_MAX);
		free(pem);
	}
	return ret;
}

const struct signer_ops signer_file_ops = {
	.scheme = "file:",
	.open = file_open,
	.sign = file_sign,
	.close = file_close,
	.keygen = file_keygen,
	.mac = file_mac,
	.mac_scheme = "hmac-sha256 (key derived from the key file)",
};
