/* receipt — a signed checkpoint and inclusion proofs for a batch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "crypto/receipt.h"

static const char magic[] = "eco2-receipt/v1";
static const char em_dash[] = "\xe2\x80\x94 ";

/* The line at *p (without its \n) and the position after it: false at
 * the end of the text or when the line has no \n. */
static bool next_line(const char *buf, size_t len, size_t *p, const char **line, size_t *ll)
{
	const char *nl;

	if (*p >= len)
		return false;
	nl = memchr(buf + *p, '\n', len - *p);
	if (!nl)
		return false;
	*line = buf + *p;
	*ll = (size_t)(nl - *line);
	*p += *ll + 1;
	return true;
}

/* A decimal number without sign or leading zeros, below 2^63. */
static int parse_u63(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (!len || len > 19 || (s[0] == '0' && len > 1))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= MERKLE_SIZE_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

void receipt_free(struct receipt *r)
{
	if (!r)
		return;
	free(r->e);
	free(r->hashes);
	memset(r, 0, sizeof(*r));
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elem);
	if (!np)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/* One entry line: "seq index [hash ...]". */
static int parse_entry(struct receipt *r, size_t *hcap, const char *s, size_t len,
		       struct receipt_entry *e, const char **why)
{
	const char *sp = memchr(s, ' ', len), *p, *end = s + len;

	*why = "an entry is \"seq index hash...\" in decimal and base64";
	if (!sp || parse_u63(s, (size_t)(sp - s), &e->seq) || !e->seq)
		return -EBADMSG;
	p = sp + 1;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (parse_u63(p, (size_t)((sp ? sp : end) - p), &e->index))
		return -EBADMSG;
	e->first = r->n_entries ? r->e[r->n_entries - 1].first + r->e[r->n_entries - 1].n : 0;
	e->n = 0;
	while (sp) {
		p = sp + 1;
		sp = memchr(p, ' ', (size_t)(end - p));
		if (e->n == MERKLE_PROOF_MAX) {
			*why = "an entry holds more than 64 hashes";
			return -EBADMSG;
		}
		if (grow((void **)&r->hashes, hcap, e->first + e->n + 1, sizeof(*r->hashes)))
			return -ENOMEM;
		if ((size_t)((sp ? sp : end) - p) != 44 ||
		    tlog_b64_decode(p, 44, r->hashes[e->first + e->n], MERKLE_HASH_LEN) != MERKLE_HASH_LEN) {
			*why = "a proof hash is not base64 of 32 bytes";
			return -EBADMSG;
		}
		e->n++;
	}
	return 0;
}

int receipt_parse(const char *buf, size_t len, struct receipt *out, const char **why)
{
	const char *dummy, *line;
	struct receipt r;
	size_t p = 0, ll, ecap = 0, hcap = 0, note_start;
	int ret = -EBADMSG;
	bool sigs = false;

	if (!why)
		why = &dummy;
	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	if (len > RECEIPT_MAX)
		len = RECEIPT_MAX;      /* a longer receipt fails to end below */
	if (!next_line(buf, len, &p, &line, &ll) || ll != sizeof(magic) - 1 ||
	    memcmp(line, magic, ll)) {
		*why = "a receipt starts with the line eco2-receipt/v1";
		goto out;
	}
	if (!next_line(buf, len, &p, &line, &ll) || ll != 4 + 16 || memcmp(line, "kid ", 4) ||
	    hex_decode(line + 4, 16, r.kid, 8)) {
		*why = "a receipt's second line is \"kid\" and 16 hex digits";
		goto out;
	}
	for (size_t i = 4; i < ll; i++)
		if (line[i] >= 'A' && line[i] <= 'F') {
			*why = "a kid is written in lower-case hex";
			goto out;
		}
	for (;;) {
		struct receipt_entry e;

		if (!next_line(buf, len, &p, &line, &ll)) {
			*why = "a receipt's entries end with a blank line";
			goto out;
		}
		if (!ll)
			break;
		if (r.n_entries == RECEIPT_ENTRIES_MAX) {
			*why = "a receipt covers more than 10000 records";
			goto out;
		}
		ret = parse_entry(&r, &hcap, line, ll, &e, why);
		if (ret)
			goto out;
		ret = -EBADMSG;
		if (r.n_entries && e.seq <= r.e[r.n_entries - 1].seq) {
			*why = "a receipt's seqs are not ascending";
			goto out;
		}
		if (grow((void **)&r.e, &ecap, r.n_entries + 1, sizeof(*r.e))) {
			ret = -ENOMEM;
			goto out;
		}
		r.e[r.n_entries++] = e;
	}
	if (!r.n_entries) {
		*why = "a receipt covers no record";
		goto out;
	}
	/* the note: text lines, a blank line, signature lines */
	note_start = p;
	for (;;) {
		if (!next_line(buf, len, &p, &line, &ll)) {
			*why = "the receipt's checkpoint ends before its signatures";
			goto out;
		}
		if (!ll)
			break;
	}
	if (p - note_start == 1) {
		*why = "the receipt's checkpoint has no text";
		goto out;
	}
	for (;;) {
		size_t at = p;

		if (!next_line(buf, len, &p, &line, &ll) || ll < 4 || memcmp(line, em_dash, 4)) {
			p = at;
			break;
		}
		sigs = true;
	}
	if (!sigs) {
		*why = "the receipt's checkpoint has no signature line";
		goto out;
	}
	if (p - note_start > TLOG_NOTE_MAX) {
		*why = "the receipt's checkpoint is longer than 64 KiB";
		goto out;
	}
	r.note = buf + note_start;
	r.note_len = p - note_start;
	r.len = p;
	*out = r;
	memset(&r, 0, sizeof(r));
	ret = 0;
out:
	receipt_free(&r);
	return ret;
}

int receipt_check(const struct receipt *r, const struct tlog_vkey *log_key,
		  struct tlog_checkpoint *c, const char **why)
{
	const char *dummy;
	struct tlog_note nt;
	int ret;

	if (!why)
		why = &dummy;
	ret = tlog_note_open(r->note, r->note_len, log_key, 1, &nt, why);
	if (ret)
		return ret;
	ret = tlog_checkpoint_parse(r->note, nt.text_len, c, why);
	if (ret)
		return ret;
	if (strcmp(c->origin, log_key->name)) {
		*why = "the checkpoint's origin is not the ledger key's name";
		return -EBADMSG;
	}
	for (size_t i = 0; i < r->n_entries; i++)
		if (r->e[i].index >= c->size ||
		    r->e[i].n != merkle_inclusion_len(r->e[i].index, c->size)) {
			*why = "an entry's leaf index or proof length does not fit the checkpoint";
			return -EBADMSG;
		}
	return 0;
}

int receipt_check_record(const struct receipt *r, size_t i, const struct tlog_checkpoint *c,
			 const uint8_t *rec, size_t len)
{
	uint8_t leaf[MERKLE_HASH_LEN];

	if (i >= r->n_entries)
		return -EBADMSG;
	merkle_leaf_hash(rec, len, leaf);
	return merkle_verify_inclusion(r->e[i].index, c->size, leaf, r->hashes + r->e[i].first,
				       r->e[i].n, c->root);
}

const struct receipt_entry *receipt_find(const struct receipt *r, uint64_t seq)
{
	size_t lo = 0, hi = r->n_entries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->e[mid].seq == seq)
			return &r->e[mid];
		if (r->e[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int receipt_format(const uint8_t kid[8], const struct receipt_entry *e, size_t n,
		   const merkle_hash_t *hashes, const char *note, size_t note_len,
		   char **out, size_t *out_len)
{
	size_t cap = sizeof(magic) + 22 + 1 + note_len + 1, o = 0;
	char *buf;
	char kh[17];

	*out = NULL;
	*out_len = 0;
	if (!n || n > RECEIPT_ENTRIES_MAX || !note_len || note[note_len - 1] != '\n')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if ((i && e[i].seq <= e[i - 1].seq) || !e[i].seq || e[i].n > MERKLE_PROOF_MAX)
			return -EINVAL;
		cap += 42 + 45 * e[i].n;
	}
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	hex_encode(kid, 8, kh);
	o += (size_t)snprintf(buf + o, cap - o, "%s\nkid %s\n", magic, kh);
	for (size_t i = 0; i < n; i++) {
		o += (size_t)snprintf(buf + o, cap - o, "%llu %llu", (unsigned long long)e[i].seq,
				      (unsigned long long)e[i].index);
		for (size_t h = 0; h < e[i].n; h++) {
			buf[o++] = ' ';
			o += (size_t)tlog_b64_encode(hashes[e[i].first + h], MERKLE_HASH_LEN, buf + o, cap - o);
		}
		buf[o++] = '\n';
	}
	buf[o++] = '\n';
	memcpy(buf + o, note, note_len);
	o += note_len;
	buf[o] = '\0';
	*out = buf;
	*out_len = o;
	return 0;
}
