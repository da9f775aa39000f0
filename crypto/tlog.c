/* tlog — C2SP signed notes, checkpoints, cosignatures (Ed25519). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "lib/bytes.h"
#include "lib/log.h"
#include "crypto/tlog.h"

static const char em_dash[] = "\xe2\x80\x94 ";   /* U+2014 and a space */
#define EM_DASH_LEN 4
/* the longest base64 text decoded here (a signature line's is 104) */
#define TLOG_B64_MAX 1024

/* ---- base64 ----------------------------------------------------------------- */

int tlog_b64_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t need = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);

	if (need > cap)
		return -ENOSPC;
	/* exactly need: libsodium zero-fills whatever room it is given */
	sodium_bin2base64(out, need, p, n, sodium_base64_VARIANT_ORIGINAL);
	return (int)(need - 1);
}

int tlog_b64_decode(const char *b64, size_t len, uint8_t *out, size_t cap)
{
	char again[TLOG_B64_MAX + 1];
	const char *end = NULL;
	size_t n = 0;

	if (!len || len % 4 || len > TLOG_B64_MAX)
		return -EINVAL;
	if (sodium_base642bin(out, cap, b64, len, NULL, &n, &end, sodium_base64_VARIANT_ORIGINAL) ||
	    end != b64 + len)
		return -EINVAL;
	/* One byte string, one text: re-encode and compare. */
	if (tlog_b64_encode(out, n, again, sizeof(again)) != (int)len || memcmp(again, b64, len))
		return -EINVAL;
	return (int)n;
}

/* ---- names and keys ------------------------------------------------------------ */

/* The code point at s[*i] (valid UTF-8 assumed), advancing *i. */
static uint32_t utf8_next(const unsigned char *s, size_t *i)
{
	uint32_t c = s[*i];

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if (c < 0xe0) {
		c = (c & 0x1f) << 6 | (s[*i + 1] & 0x3f);
		*i += 2;
	} else if (c < 0xf0) {
		c = (c & 0x0f) << 12 | (uint32_t)(s[*i + 1] & 0x3f) << 6 | (s[*i + 2] & 0x3f);
		*i += 3;
	} else {
		c = (c & 0x07) << 18 | (uint32_t)(s[*i + 1] & 0x3f) << 12 |
		    (uint32_t)(s[*i + 2] & 0x3f) << 6 | (s[*i + 3] & 0x3f);
		*i += 4;
	}
	return c;
}

/* Unicode's White_Space property (what Go's unicode.IsSpace tests). */
static bool unicode_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202f || c == 0x205f || c == 0x3000;
}

bool tlog_name_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (!len || len > TLOG_NAME_MAX || !utf8_valid(s, len))
		return false;
	while (i < len) {
		uint32_t c = utf8_next((const unsigned char *)s, &i);

		if (c == '+' || c < 0x20 || unicode_space(c))
			return false;
	}
	return true;
}

uint32_t tlog_key_id(const char *name, size_t name_len, uint8_t type, const uint8_t pub[32])
{
	crypto_hash_sha256_state st;
	uint8_t h[32], sep[2] = { '\n', type };

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, name_len);
	crypto_hash_sha256_update(&st, sep, 2);
	crypto_hash_sha256_update(&st, pub, 32);
	crypto_hash_sha256_final(&st, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t' || **s == '\n' || **s == '\r')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' ||
			(*s)[*len - 1] == '\n' || (*s)[*len - 1] == '\r'))
		(*len)--;
}

/* The id field: exactly 8 hex digits. */
static int parse_id(const char *s, size_t len, uint32_t *id)
{
	uint8_t b[4];

	if (len != 8 || hex_decode(s, 8, b, 4))
		return -EINVAL;
	*id = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return 0;
}

/* name+id+base64(type||32 bytes): the common tail of both key texts. */
static int parse_key_tail(const char *s, size_t len, char name[TLOG_NAME_MAX + 1], uint32_t *id,
			  uint8_t *type, uint8_t key[32], const char **why)
{
	const char *p1 = memchr(s, '+', len), *p2;
	uint8_t raw[33];

	if (!p1) {
		*why = "expected name+id+key";
		return -EINVAL;
	}
	p2 = memchr(p1 + 1, '+', len - (size_t)(p1 + 1 - s));
	if (!p2) {
		*why = "expected name+id+key";
		return -EINVAL;
	}
	if (!tlog_name_valid(s, (size_t)(p1 - s))) {
		*why = "the key name is empty, too long, or holds white space or '+'";
		return -EINVAL;
	}
	if (parse_id(p1 + 1, (size_t)(p2 - p1 - 1), id)) {
		*why = "the key id is not 8 hex digits";
		return -EINVAL;
	}
	if (tlog_b64_decode(p2 + 1, len - (size_t)(p2 + 1 - s), raw, sizeof(raw)) != 33) {
		*why = "the key is not base64 of 33 bytes";
		return -EINVAL;
	}
	if (raw[0] != TLOG_ED25519 && raw[0] != TLOG_COSIG_V1) {
		*why = "unknown key type (expected 0x01 Ed25519 or 0x04 cosignature/v1)";
		return -EINVAL;
	}
	memcpy(name, s, (size_t)(p1 - s));
	name[p1 - s] = '\0';
	*type = raw[0];
	memcpy(key, raw + 1, 32);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

int tlog_vkey_parse(const char *s, size_t len, struct tlog_vkey *out, const char **why)
{
	const char *dummy;
	struct tlog_vkey k;

	if (!why)
		why = &dummy;
	trim(&s, &len);
	memset(&k, 0, sizeof(k));
	if (parse_key_tail(s, len, k.name, &k.id, &k.type, k.pub, why))
		return -EINVAL;
	if (tlog_key_id(k.name, strlen(k.name), k.type, k.pub) != k.id) {
		*why = "the key id does not match the name and key";
		return -EINVAL;
	}
	if (crypto_core_ed25519_is_valid_point(k.pub) != 1) {
		*why = "the public key is not a valid Ed25519 point";
		return -EINVAL;
	}
	*out = k;
	return 0;
}

int tlog_skey_parse(const char *s, size_t len, struct tlog_skey *out, const char **why)
{
	static const char prefix[] = "PRIVATE+KEY+";
	const char *dummy;
	struct tlog_skey k;
	uint8_t seed[32];
	int ret = -EINVAL;

	if (!why)
		why = &dummy;
	trim(&s, &len);
	memset(&k, 0, sizeof(k));
	if (len < sizeof(prefix) - 1 || memcmp(s, prefix, sizeof(prefix) - 1)) {
		*why = "a signer key starts with PRIVATE+KEY+";
		goto out;
	}
	s += sizeof(prefix) - 1;
	len -= sizeof(prefix) - 1;
	if (parse_key_tail(s, len, k.name, &k.id, &k.type, seed, why))
		goto out;
	crypto_sign_seed_keypair(k.pub, k.sk, seed);
	if (tlog_key_id(k.name, strlen(k.name), k.type, k.pub) != k.id) {
		*why = "the key id does not match the name and key";
		goto out;
	}
	*out = k;
	ret = 0;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(&k, sizeof(k));
	return ret;
}

int tlog_vkey_format(const struct tlog_vkey *k, char *buf, size_t cap)
{
	uint8_t raw[33];
	char b64[64];
	int n;

	raw[0] = k->type;
	memcpy(raw + 1, k->pub, 32);
	if (tlog_b64_encode(raw, sizeof(raw), b64, sizeof(b64)) < 0)
		return -ENOSPC;
	n = snprintf(buf, cap, "%s+%08x+%s", k->name, (unsigned)k->id, b64);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int tlog_skey_format(const struct tlog_skey *k, char *buf, size_t cap)
{
	uint8_t raw[33];
	char b64[64];
	int n;

	raw[0] = k->type;
	memcpy(raw + 1, k->sk, 32);        /* the seed */
	n = tlog_b64_encode(raw, sizeof(raw), b64, sizeof(b64));
	sodium_memzero(raw, sizeof(raw));
	if (n < 0)
		return -ENOSPC;
	n = snprintf(buf, cap, "PRIVATE+KEY+%s+%08x+%s", k->name, (unsigned)k->id, b64);
	sodium_memzero(b64, sizeof(b64));
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int tlog_skey_generate(const char *name, uint8_t type, struct tlog_skey *out)
{
	size_t len = strlen(name);

	if (!tlog_name_valid(name, len) || (type != TLOG_ED25519 && type != TLOG_COSIG_V1))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(out->name, name, len);
	out->type = type;
	crypto_sign_keypair(out->pub, out->sk);
	out->id = tlog_key_id(name, len, type, out->pub);
	return 0;
}

int tlog_skey_save_new(const struct tlog_skey *k, const char *path, char *vk, size_t cap)
{
	struct tlog_vkey v;
	char text[TLOG_SKEY_MAX + 2];
	int n, fd, ret = 0;

	tlog_skey_public(k, &v);
	n = tlog_skey_format(k, text, sizeof(text) - 1);
	if (n < 0 || tlog_vkey_format(&v, vk, cap) < 0) {
		ret = -ENOSPC;
		goto out;
	}
	text[n++] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		log_err("%s: %s", path, strerror(errno));
		goto out;
	}
	if (write(fd, text, (size_t)n) != n || fsync(fd)) {
		ret = errno ? -errno : -EIO;
		log_err("%s: %s", path, strerror(-ret));
		close(fd);
		unlink(path);
		goto out;
	}
	close(fd);
out:
	sodium_memzero(text, sizeof(text));
	return ret;
}

void tlog_skey_public(const struct tlog_skey *k, struct tlog_vkey *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->name, k->name, sizeof(out->name));
	out->id = k->id;
	out->type = k->type;
	memcpy(out->pub, k->pub, 32);
}

void tlog_skey_wipe(struct tlog_skey *k)
{
	if (k)
		sodium_memzero(k, sizeof(*k));
}

/* ---- signing ------------------------------------------------------------------- */

/* The note text: at least one line, every line ending in \n, UTF-8, no
 * control character but \n, no blank line at its end. */
static bool text_valid(const char *text, size_t len)
{
	if (!len || len > TLOG_NOTE_MAX || text[len - 1] != '\n' || !utf8_valid(text, len))
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\n')
			return false;
	return !(len >= 2 && text[len - 2] == '\n');
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static int write_line(const struct tlog_skey *k, const uint8_t *payload, size_t n, char *line,
		      size_t cap)
{
	char b64[128];
	int len;

	if (tlog_b64_encode(payload, n, b64, sizeof(b64)) < 0)
		return -ENOSPC;
	len = snprintf(line, cap, "%s%s %s\n", em_dash, k->name, b64);
	return len < 0 || (size_t)len >= cap ? -ENOSPC : len;
}

int tlog_sign_line(const char *text, size_t len, const struct tlog_skey *k, char *line, size_t cap)
{
	uint8_t payload[4 + crypto_sign_BYTES];

	if (k->type != TLOG_ED25519 || !text_valid(text, len))
		return -EINVAL;
	put_be32(payload, k->id);
	crypto_sign_detached(payload + 4, NULL, (const uint8_t *)text, len, k->sk);
	return write_line(k, payload, sizeof(payload), line, cap);
}

/* "cosignature/v1\ntime <t>\n": the header a cosignature signs before the
 * text. Its length. */
static size_t cosig_header(uint64_t t, char buf[64])
{
	return (size_t)snprintf(buf, 64, "cosignature/v1\ntime %llu\n", (unsigned long long)t);
}

int tlog_cosign_line(const char *text, size_t len, const struct tlog_skey *k, uint64_t timestamp,
		     char *line, size_t cap)
{
	uint8_t payload[4 + 8 + crypto_sign_BYTES];
	char hdr[64];
	size_t hl;

	if (k->type != TLOG_COSIG_V1 || !text_valid(text, len) || len > TLOG_COSIG_TEXT_MAX ||
	    timestamp >= (UINT64_C(1) << 63))
		return -EINVAL;
	hl = cosig_header(timestamp, hdr);
	put_be32(payload, k->id);
	for (int i = 0; i < 8; i++)
		payload[4 + i] = (uint8_t)(timestamp >> (56 - 8 * i));
	{
		uint8_t msg[64 + TLOG_COSIG_TEXT_MAX];

		memcpy(msg, hdr, hl);
		memcpy(msg + hl, text, len);
		crypto_sign_detached(payload + 12, NULL, msg, hl + len, k->sk);
	}
	return write_line(k, payload, sizeof(payload), line, cap);
}

/* ---- opening --------------------------------------------------------------- */

int tlog_note_open(const char *msg, size_t len, const struct tlog_vkey *keys, size_t n_keys,
		   struct tlog_note *out, const char **why)
{
	const char *dummy;
	struct tlog_note nt;
	size_t split = 0, p;
	bool found = false;

	if (!why)
		why = &dummy;
	memset(&nt, 0, sizeof(nt));
	if (n_keys > TLOG_KEYS_MAX) {
		*why = "too many keys";
		return -EINVAL;
	}
	if (len > TLOG_NOTE_MAX) {
		*why = "note longer than 64 KiB";
		return -EBADMSG;
	}
	if (!utf8_valid(msg, len)) {
		*why = "note is not UTF-8";
		return -EBADMSG;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)msg[i] < 0x20 && msg[i] != '\n') {
			*why = "note holds a control character";
			return -EBADMSG;
		}
	/* the last blank line separates the text from the signatures */
	for (size_t i = len; i >= 2; i--)
		if (msg[i - 1] == '\n' && msg[i - 2] == '\n') {
			split = i - 1;
			found = true;
			break;
		}
	if (!found || split < 1 || split + 1 >= len || msg[len - 1] != '\n') {
		*why = "no signature lines after a blank line";
		return -EBADMSG;
	}
	nt.text_len = split;
	nt.sigs_off = split + 1;
	for (p = nt.sigs_off; p < len;) {
		const char *line = msg + p, *nl = memchr(line, '\n', len - p), *sp;
		size_t ll = (size_t)(nl - line), name_len;
		uint8_t payload[256];
		int pl;
		uint32_t id;

		if (++nt.n_sigs > TLOG_SIGS_MAX) {
			*why = "more than 100 signature lines";
			return -EBADMSG;
		}
		if (ll < EM_DASH_LEN || memcmp(line, em_dash, EM_DASH_LEN)) {
			*why = "a signature line does not start with an em dash and a space";
			return -EBADMSG;
		}
		sp = memchr(line + EM_DASH_LEN, ' ', ll - EM_DASH_LEN);
		if (!sp) {
			*why = "a signature line has no signature";
			return -EBADMSG;
		}
		name_len = (size_t)(sp - line - EM_DASH_LEN);
		if (!tlog_name_valid(line + EM_DASH_LEN, name_len)) {
			*why = "a signature line's key name is not valid";
			return -EBADMSG;
		}
		pl = tlog_b64_decode(sp + 1, (size_t)(nl - sp - 1), payload, sizeof(payload));
		if (pl < 5) {
			*why = "a signature line's signature is not base64 of 5 or more bytes";
			return -EBADMSG;
		}
		id = (uint32_t)payload[0] << 24 | (uint32_t)payload[1] << 16 |
		     (uint32_t)payload[2] << 8 | payload[3];
		for (size_t k = 0; k < n_keys; k++) {
			const struct tlog_vkey *key = &keys[k];
			int bad = 1;

			if (key->id != id || strlen(key->name) != name_len ||
			    memcmp(key->name, line + EM_DASH_LEN, name_len))
				continue;
			if (nt.verified & (UINT32_C(1) << k))
				break;                   /* a second line of this key */
			if (key->type == TLOG_ED25519 && pl == 4 + crypto_sign_BYTES) {
				bad = crypto_sign_verify_detached(payload + 4, (const uint8_t *)msg,
								  nt.text_len, key->pub);
			} else if (key->type == TLOG_COSIG_V1 && pl == 12 + crypto_sign_BYTES &&
				   nt.text_len <= TLOG_COSIG_TEXT_MAX) {
				uint8_t buf[64 + TLOG_COSIG_TEXT_MAX];
				uint64_t t = 0;
				char hdr[64];
				size_t hl;

				for (int i = 0; i < 8; i++)
					t = t << 8 | payload[4 + i];
				if (t < (UINT64_C(1) << 63)) {
					hl = cosig_header(t, hdr);
					memcpy(buf, hdr, hl);
					memcpy(buf + hl, msg, nt.text_len);
					bad = crypto_sign_verify_detached(payload + 12, buf,
									  hl + nt.text_len, key->pub);
					nt.cosig_time[k] = t;
				}
			}
			if (bad) {
				*why = "a known key's signature does not verify";
				return -EKEYREJECTED;
			}
			nt.verified |= UINT32_C(1) << k;
			break;
		}
		p = (size_t)(nl - msg) + 1;
	}
	if (!nt.verified) {
		*why = "signed by none of the expected keys";
		return -ENOKEY;
	}
	*out = nt;
	return 0;
}

/* ---- checkpoints ------------------------------------------------------------ */

int tlog_checkpoint_parse(const char *text, size_t len, struct tlog_checkpoint *out,
			  const char **why)
{
	const char *dummy, *l[3], *e[3], *p = text, *end = text + len;
	struct tlog_checkpoint c;
	uint64_t size = 0;

	if (!why)
		why = &dummy;
	memset(&c, 0, sizeof(c));
	if (!len || text[len - 1] != '\n' || !text_valid(text, len)) {
		*why = "a checkpoint is lines of UTF-8 text, each ending in a newline";
		return -EBADMSG;
	}
	for (int i = 0; i < 3; i++) {
		const char *nl;

		if (p >= end) {
			*why = "a checkpoint has three lines: origin, size, root hash";
			return -EBADMSG;
		}
		nl = memchr(p, '\n', (size_t)(end - p));
		l[i] = p;
		e[i] = nl;
		p = nl + 1;
	}
	/* extension lines: non-empty (text_valid refused blank lines at the
	 * end; none may be blank anywhere) */
	for (const char *q = text; q + 1 < end; q++)
		if (q[0] == '\n' && q[1] == '\n') {
			*why = "a checkpoint has no blank lines";
			return -EBADMSG;
		}
	if (!tlog_name_valid(l[0], (size_t)(e[0] - l[0]))) {
		*why = "the checkpoint's origin is empty, too long, or holds white space or '+'";
		return -EBADMSG;
	}
	memcpy(c.origin, l[0], (size_t)(e[0] - l[0]));
	if (e[1] == l[1] || e[1] - l[1] > 19 || (l[1][0] == '0' && e[1] - l[1] > 1)) {
		*why = "the checkpoint's size is not a decimal number without leading zeros";
		return -EBADMSG;
	}
	for (const char *q = l[1]; q < e[1]; q++) {
		if (*q < '0' || *q > '9') {
			*why = "the checkpoint's size is not a decimal number without leading zeros";
			return -EBADMSG;
		}
		if (size > (UINT64_C(1) << 63) / 10) {
			*why = "the checkpoint's size is 2^63 or more";
			return -EBADMSG;
		}
		size = size * 10 + (uint64_t)(*q - '0');
	}
	if (size >= UINT64_C(1) << 63) {
		*why = "the checkpoint's size is 2^63 or more";
		return -EBADMSG;
	}
	c.size = size;
	if (e[2] - l[2] != 44 || tlog_b64_decode(l[2], 44, c.root, sizeof(c.root)) != 32) {
		*why = "the checkpoint's root hash is not base64 of 32 bytes";
		return -EBADMSG;
	}
	*out = c;
	return 0;
}

int tlog_checkpoint_format(const struct tlog_checkpoint *c, char *buf, size_t cap)
{
	char b64[48];
	int n;

	if (!tlog_name_valid(c->origin, strlen(c->origin)) || c->size >= (UINT64_C(1) << 63))
		return -EINVAL;
	if (tlog_b64_encode(c->root, 32, b64, sizeof(b64)) != 44)
		return -ENOSPC;
	n = snprintf(buf, cap, "%s\n%llu\n%s\n", c->origin, (unsigned long long)c->size, b64);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}
