/* tlog — signed notes, checkpoints and witness cosignatures: the C2SP
 * formats (c2sp.org/signed-note, tlog-checkpoint, tlog-cosignature) over
 * libsodium's Ed25519, as the ledger signs its tree heads and eco2d,
 * eco2-verify and witnesses check them.
 *
 * A signed note is text (lines ending in \n), a blank line, then one or
 * more signature lines "— <key name> <base64(key id[4] || signature)>\n".
 * A checkpoint is a note whose text is "<origin>\n<tree size>\n<base64
 * root hash>\n". The key ID is the first 4 bytes (big-endian) of
 * SHA-256(name || "\n" || type || public key); type 0x01 is a plain
 * Ed25519 note signature (the log's), type 0x04 a timestamped cosignature
 * (a witness's: it signs "cosignature/v1\ntime <t>\n" + the text).
 *
 * Key texts:
 *   verifier key  <name>+<8 hex id>+<base64(type || 32-byte public key)>
 *   signer key    PRIVATE+KEY+<name>+<8 hex id>+<base64(type || 32-byte seed)>
 * e.g. "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW".
 *
 * Everything parsed here is parsed strictly and bounded (TLOG_NOTE_MAX
 * bytes, TLOG_SIGS_MAX signature lines), and fuzzed
 * (tests/fuzz/fuzz_tlog.c). Pure: no allocation, no logging. */
#ifndef ECO2_TLOG_H
#define ECO2_TLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

#define TLOG_NAME_MAX   128              /* bytes of a key name or origin */
#define TLOG_NOTE_MAX   65536            /* bytes of a whole signed note */
#define TLOG_SIGS_MAX   100              /* signature lines in a note */
#define TLOG_KEYS_MAX   32               /* keys one tlog_note_open checks */
#define TLOG_COSIG_TEXT_MAX 1024         /* bytes of text a cosignature covers */
#define TLOG_VKEY_MAX   (TLOG_NAME_MAX + 60)
#define TLOG_SKEY_MAX   (TLOG_NAME_MAX + 72)
/* "— " name " " base64(76 bytes) "\n" */
#define TLOG_SIGLINE_MAX (4 + TLOG_NAME_MAX + 1 + 104 + 2)
/* origin, a 19-digit size, 44 characters of root, three newlines */
#define TLOG_CHECKPOINT_MAX (TLOG_NAME_MAX + 19 + 44 + 4)

enum tlog_sig_type {
	TLOG_ED25519 = 0x01,      /* a note signature (the log's key) */
	TLOG_COSIG_V1 = 0x04,     /* a timestamped cosignature (a witness's key) */
};

struct tlog_vkey {
	char name[TLOG_NAME_MAX + 1];
	uint32_t id;
	uint8_t type;             /* enum tlog_sig_type */
	uint8_t pub[32];
};

struct tlog_skey {
	char name[TLOG_NAME_MAX + 1];
	uint32_t id;
	uint8_t type;
	uint8_t sk[64];           /* libsodium's secret key: seed || public key */
	uint8_t pub[32];
};

/* A key name (and a checkpoint's origin): 1..TLOG_NAME_MAX bytes of UTF-8
 * with no Unicode white space and no '+'. */
bool tlog_name_valid(const char *s, size_t len);
uint32_t tlog_key_id(const char *name, size_t name_len, uint8_t type, const uint8_t pub[32]);

/* Parse a key text (surrounding white space, such as a file's final
 * newline, is ignored). 0 or -EINVAL (*why says what). */
int tlog_vkey_parse(const char *s, size_t len, struct tlog_vkey *out, const char **why) __must_check;
int tlog_skey_parse(const char *s, size_t len, struct tlog_skey *out, const char **why) __must_check;
/* Write a key text and a NUL into buf[cap]: its length, or -ENOSPC. */
int tlog_vkey_format(const struct tlog_vkey *k, char *buf, size_t cap) __must_check;
int tlog_skey_format(const struct tlog_skey *k, char *buf, size_t cap) __must_check;
/* A new key of type for name, from the kernel's CSPRNG. -EINVAL for a bad
 * name or type. */
int tlog_skey_generate(const char *name, uint8_t type, struct tlog_skey *out) __must_check;
void tlog_skey_public(const struct tlog_skey *k, struct tlog_vkey *out);
void tlog_skey_wipe(struct tlog_skey *k);
/* Write k's text to a new file at path (0600; refused if path exists; a
 * partly written file removed) and its verifier key's text into vk[cap]:
 * 0, or -errno after logging why. */
int tlog_skey_save_new(const struct tlog_skey *k, const char *path, char *vk, size_t cap) __must_check;

/* ---- signing ------------------------------------------------------------- */

/* One signature line over text[len] (the note text, ending in \n) into
 * line[cap], NUL-terminated: its length, or -EINVAL (text, or k's type for
 * the call) / -ENOSPC. tlog_sign_line signs with a TLOG_ED25519 key,
 * tlog_cosign_line with a TLOG_COSIG_V1 key at timestamp (POSIX seconds),
 * over at most TLOG_COSIG_TEXT_MAX bytes (a checkpoint is far shorter). */
int tlog_sign_line(const char *text, size_t len, const struct tlog_skey *k,
		   char *line, size_t cap) __must_check;
int tlog_cosign_line(const char *text, size_t len, const struct tlog_skey *k,
		     uint64_t timestamp, char *line, size_t cap) __must_check;

/* ---- opening ------------------------------------------------------------- */

struct tlog_note {
	size_t text_len;          /* the note text is msg[0, text_len) */
	size_t sigs_off;          /* its signature lines start here */
	unsigned n_sigs;          /* signature lines, known or not */
	uint32_t verified;        /* bit i: keys[i] signed (and verified) */
	uint64_t cosig_time[TLOG_KEYS_MAX];   /* for verified cosignature keys */
};

/* Check a signed note against keys[n_keys] (at most TLOG_KEYS_MAX):
 *   0              well formed, and at least one of keys signed it
 *   -EBADMSG       malformed: not UTF-8, a control character, no blank
 *                  line before the signatures, a bad signature line, more
 *                  than TLOG_SIGS_MAX of them or TLOG_NOTE_MAX bytes
 *   -EKEYREJECTED  a line of one of keys whose signature does not verify
 *                  (a cosignature over more than TLOG_COSIG_TEXT_MAX bytes
 *                  of text never does)
 *   -ENOKEY        none of keys signed it
 * Lines of other keys are skipped (they may be other witnesses'); a key's
 * second line is ignored. *out is filled on 0; *why (may be NULL) says what
 * failed. */
int tlog_note_open(const char *msg, size_t len, const struct tlog_vkey *keys, size_t n_keys,
		   struct tlog_note *out, const char **why) __must_check;

/* ---- checkpoints ----------------------------------------------------------- */

struct tlog_checkpoint {
	char origin[TLOG_NAME_MAX + 1];
	uint64_t size;            /* < 2^63 */
	uint8_t root[32];
};

/* Parse a note's text as a checkpoint: the three lines exactly (origin a
 * valid key name, a decimal size without leading zeros, 44 characters of
 * padded base64 for 32 bytes), then any extension lines (non-empty, not
 * interpreted). 0 or -EBADMSG (*why). */
int tlog_checkpoint_parse(const char *text, size_t len, struct tlog_checkpoint *out,
			  const char **why) __must_check;
/* The checkpoint's text into buf[cap] with a NUL: its length, or -EINVAL
 * (bad origin or size) / -ENOSPC. */
int tlog_checkpoint_format(const struct tlog_checkpoint *c, char *buf, size_t cap) __must_check;

/* ---- base64 (RFC 4648 §4, padded), shared by the formats above --------------- */

/* Decode exactly b64[len] into out[cap], canonically (the only encoding
 * of its bytes): the decoded length, or -EINVAL. */
int tlog_b64_decode(const char *b64, size_t len, uint8_t *out, size_t cap) __must_check;
/* Encode: the length written (NUL-terminated), or -ENOSPC. */
int tlog_b64_encode(const uint8_t *p, size_t n, char *out, size_t cap) __must_check;

#endif
