/* ledger_check — receipts against an export; witnessing checkpoints. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <sodium.h>

#include "lib/file.h"
#include "lib/log.h"
#include "crypto/cose.h"
#include "crypto/ledger_check.h"
#include "crypto/merkle.h"
#include "crypto/receipt.h"
#include "crypto/tlog.h"
#include "crypto/verify.h"

#define RECEIPTS_MAX (SIZE_MAX / 2)
#define ANSWER_MAX   ((size_t)256 << 10)
#define KEY_MAX      4096

bool lcheck_wanted(const struct lcheck_opts *o)
{
	return o->ledger_key || o->receipts || o->ledger_url || o->n_witness || o->cosign ||
	       o->witness_keygen;
}

/* A key given as text, or the file holding it. */
static int load_text(const char *arg, char **out, size_t *len, bool secret)
{
	struct stat stt;

	if (!stat(arg, &stt))
		return file_read(arg, KEY_MAX, secret ? FILE_PRIVATE : 0, "key", out, len) ? -EIO : 0;
	if (secret)
		return -ENOENT;
	*out = strdup(arg);
	if (!*out)
		return -ENOMEM;
	*len = strlen(arg);
	return 0;
}

static int load_vkey(const char *arg, uint8_t type, struct tlog_vkey *k)
{
	char *text = NULL;
	size_t len;
	const char *why = NULL;
	int ret = load_text(arg, &text, &len, false);

	if (ret) {
		log_err("%s: cannot read the key", arg);
		return ret;
	}
	ret = tlog_vkey_parse(text, len, k, &why);
	free(text);
	if (!ret && k->type != type) {
		why = type == TLOG_ED25519 ? "a ledger's key is an Ed25519 note key (type 0x01)" :
		      "a witness's key is a cosignature/v1 key (type 0x04)";
		ret = -EINVAL;
	}
	if (ret)
		log_err("key %s: %s", arg, why);
	return ret;
}

/* ---- the ledger over HTTPS ------------------------------------------------------- */

struct answer {
	char *p;
	size_t len;
	bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userp)
{
	struct answer *a = userp;
	size_t n = size * nmemb;
	char *np;

	if (a->len + n > ANSWER_MAX) {
		a->too_big = true;
		return 0;
	}
	np = realloc(a->p, a->len + n + 1);
	if (!np)
		return 0;
	a->p = np;
	memcpy(a->p + a->len, ptr, n);
	a->len += n;
	a->p[a->len] = '\0';
	return n;
}

/* GET (body NULL) or POST path at the ledger; 0 with a 200 answer in *a. */
static int http(const struct lcheck_opts *o, const char *path, const char *body, size_t blen,
		struct answer *a)
{
	char url[2048];
	CURL *e;
	CURLcode rc;
	long status = 0;
	struct curl_slist *hdr = NULL;
	int ret = -EIO;

	memset(a, 0, sizeof(*a));
	if (strncmp(o->ledger_url, "https://", 8)) {
		log_err("--ledger %s: an https:// URL", o->ledger_url);
		return -EINVAL;
	}
	snprintf(url, sizeof(url), "%s%s", o->ledger_url, path);
	e = curl_easy_init();
	if (!e)
		return -ENOMEM;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o->ca)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->ca);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
	if (body) {
		hdr = curl_slist_append(NULL, "Content-Type: text/plain; charset=utf-8");
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)blen);
	}
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK)
		log_err("%s: %s", url, a->too_big ? "answer too large" : curl_easy_strerror(rc));
	else if (status != 200)
		log_err("%s: HTTP %ld: %.200s", url, status, a->p ? a->p : "");
	else
		ret = 0;
	if (ret) {
		free(a->p);
		memset(a, 0, sizeof(*a));
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(e);
	return ret;
}

/* GET /v1/proof/consistency?first=&second= and check it. 0 consistent,
 * -EBADMSG not, -EIO no proof to be had. */
static int consistency(const struct lcheck_opts *o, const struct tlog_checkpoint *a,
		       const struct tlog_checkpoint *b)
{
	merkle_hash_t p[MERKLE_PROOF_MAX];
	struct answer ans;
	char path[128];
	size_t n = 0;
	int ret;

	snprintf(path, sizeof(path), "/v1/proof/consistency?first=%" PRIu64 "&second=%" PRIu64,
		 a->size, b->size);
	ret = http(o, path, NULL, 0, &ans);
	if (ret)
		return -EIO;
	for (char *l = ans.p, *nl; l && *l; l = nl + 1) {
		nl = strchr(l, '\n');
		if (!nl || n == MERKLE_PROOF_MAX ||
		    tlog_b64_decode(l, (size_t)(nl - l), p[n], MERKLE_HASH_LEN) != MERKLE_HASH_LEN) {
			ret = -EBADMSG;
			break;
		}
		n++;
	}
	free(ans.p);
	if (ret)
		return ret;
	return merkle_verify_consistency(a->size, b->size, a->root, b->root, p, n) ? -EBADMSG : 0;
}

/* GET /v1/checkpoint, opened with the ledger's key and the witnesses'. */
static int published(const struct lcheck_opts *o, const struct tlog_vkey *keys, size_t n_keys,
		     struct tlog_checkpoint *c, struct tlog_note *nt, char **note, size_t *note_len)
{
	struct answer a;
	const char *why = NULL;
	int ret = http(o, "/v1/checkpoint", NULL, 0, &a);

	if (ret)
		return ret;
	ret = tlog_note_open(a.p, a.len, keys, n_keys, nt, &why);
	if (!ret && !(nt->verified & 1)) {
		ret = -ENOKEY;
		why = "not signed by the ledger's key";
	}
	if (!ret)
		ret = tlog_checkpoint_parse(a.p, nt->text_len, c, &why);
	if (!ret && strcmp(c->origin, keys[0].name)) {
		ret = -EBADMSG;
		why = "its origin is not the ledger key's name";
	}
	if (ret) {
		log_err("%s/v1/checkpoint: %s", o->ledger_url, why ? why : "refused");
		free(a.p);
		return ret == -EIO ? -EIO : -EBADMSG;
	}
	if (note) {
		*note = a.p;
		*note_len = a.len;
	} else {
		free(a.p);
	}
	return 0;
}

/* ---- the export's records by seq --------------------------------------------------- */

struct rec {
	uint64_t seq;
	size_t off, len;
	uint8_t kid[8];
};

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const struct rec *rec_find(const struct rec *v, size_t n, uint64_t seq)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].seq == seq)
			return &v[mid];
		if (v[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int ck_cmp(const void *a, const void *b)
{
	const struct tlog_checkpoint *x = a, *y = b;

	return x->size < y->size ? -1 : x->size > y->size;
}

static void problem(lcheck_problem_fn *fn, void *ctx, uint64_t seq, const char *fmt, ...) __printf(4, 5);
static void problem(lcheck_problem_fn *fn, void *ctx, uint64_t seq, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(ctx, seq, msg);
}

int lcheck_run(const struct lcheck_opts *o, const uint8_t *records, size_t len,
	       lcheck_problem_fn *fn, void *ctx, struct lcheck_summary *sum)
{
	struct tlog_vkey keys[1 + LCHECK_WITNESSES_MAX];
	struct tlog_checkpoint *cks = NULL;
	struct verify_splitter sp;
	struct file_map fm = { 0 };
	struct rec *recs = NULL;
	uint64_t *proved = NULL;      /* every receipted seq */
	size_t n_recs = 0, cap = 0, n_cks = 0, ck_cap = 0, off, ilen, n_proved = 0, proved_cap = 0;
	uint64_t max_export = 0;
	uint8_t kid[8];
	bool tail, have_kid = false, mapped = false;
	int ret;

	memset(sum, 0, sizeof(*sum));
	if (!o->ledger_key || !o->receipts) {
		log_err("--receipts and --ledger-key go together");
		return -EINVAL;
	}
	if (o->n_witness && !o->ledger_url) {
		log_err("--witness-key needs --ledger URL (the witnessed checkpoint is the ledger's)");
		return -EINVAL;
	}
	ret = load_vkey(o->ledger_key, TLOG_ED25519, &keys[0]);
	for (size_t w = 0; !ret && w < o->n_witness; w++)
		ret = load_vkey(o->witness_keys[w], TLOG_COSIG_V1, &keys[1 + w]);
	if (ret)
		return ret;
	ret = file_map(o->receipts, RECEIPTS_MAX, FILE_STREAM, "receipts", &fm);
	if (ret)
		return -EIO;
	mapped = true;

	/* the export: its records by seq */
	verify_split_init(&sp, records, len);
	while (verify_split_next(&sp, &off, &ilen, &tail)) {
		struct eco2_record r;
		struct cose_sign1 parts;

		if (cose_record_decode(records + off, ilen, &r, &parts, NULL))
			continue;
		if (n_recs == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			struct rec *nr = realloc(recs, ncap * sizeof(*nr));

			if (!nr) {
				ret = -ENOMEM;
				goto out;
			}
			recs = nr;
			cap = ncap;
		}
		recs[n_recs] = (struct rec){ r.seq, off, ilen, { 0 } };
		memcpy(recs[n_recs].kid, parts.kid, 8);
		n_recs++;
		max_export = r.seq > max_export ? r.seq : max_export;
	}
	if (n_recs)
		qsort(recs, n_recs, sizeof(*recs), rec_cmp);

	/* every receipt, every entry */
	for (size_t p = 0; p < fm.len;) {
		struct receipt r;
		struct tlog_checkpoint c;
		const char *why = NULL;

		while (p < fm.len && (fm.p[p] == '\n' || fm.p[p] == ' '))
			p++;
		if (p == fm.len)
			break;
		ret = receipt_parse((const char *)fm.p + p, fm.len - p, &r, &why);
		if (ret == -ENOMEM)
			goto out;
		if (ret) {
			problem(fn, ctx, 0, "receipts, byte %zu: %s", p, why);
			break;
		}
		sum->receipts++;
		ret = receipt_check(&r, &keys[0], &c, &why);
		if (ret) {
			problem(fn, ctx, r.e[0].seq, "a receipt's checkpoint (seqs %" PRIu64 "..%" PRIu64 "): %s",
				r.e[0].seq, r.e[r.n_entries - 1].seq, why);
		} else {
			if (have_kid && memcmp(kid, r.kid, 8))
				problem(fn, ctx, 0, "receipts of two devices in one file");
			memcpy(kid, r.kid, 8);
			have_kid = true;
			if (n_cks == ck_cap) {
				size_t ncap = ck_cap ? ck_cap * 2 : 64;
				struct tlog_checkpoint *nc = realloc(cks, ncap * sizeof(*nc));

				if (!nc) {
					receipt_free(&r);
					ret = -ENOMEM;
					goto out;
				}
				cks = nc;
				ck_cap = ncap;
			}
			cks[n_cks++] = c;
			if (n_proved + r.n_entries > proved_cap) {
				size_t ncap = (n_proved + r.n_entries) * 2;
				uint64_t *np = realloc(proved, ncap * sizeof(*np));

				if (!np) {
					receipt_free(&r);
					ret = -ENOMEM;
					goto out;
				}
				proved = np;
				proved_cap = ncap;
			}
			for (size_t i = 0; i < r.n_entries; i++) {
				const struct rec *x = rec_find(recs, n_recs, r.e[i].seq);

				proved[n_proved++] = r.e[i].seq;
				if (r.e[i].seq > sum->last_seq)
					sum->last_seq = r.e[i].seq;
				if (!x) {
					problem(fn, ctx, r.e[i].seq, "the ledger holds it (leaf %" PRIu64
						") but the export does not: withheld", r.e[i].index);
				} else if (memcmp(x->kid, r.kid, 8)) {
					problem(fn, ctx, r.e[i].seq, "the receipt is for another device");
				} else if (receipt_check_record(&r, i, &c, records + x->off, x->len)) {
					problem(fn, ctx, r.e[i].seq, "its inclusion proof does not lead from the exported "
						"record to the checkpoint of size %" PRIu64 ": not the record the ledger holds",
						c.size);
				} else {
					sum->proved++;
				}
			}
		}
		p += r.len;
		receipt_free(&r);
	}
	ret = 0;
	if (!sum->receipts)
		problem(fn, ctx, 0, "receipts %s: no receipt", o->receipts);
	/* the export's tail, up to the latest receipted seq (receipted seqs
	 * were named above) */
	if (n_proved)
		qsort(proved, n_proved, sizeof(*proved), u64_cmp);
	for (uint64_t s = max_export + 1; s <= sum->last_seq && s <= max_export + 1000000; s++)
		if (!rec_find(recs, n_recs, s) &&
		    !(n_proved && bsearch(&s, proved, n_proved, sizeof(*proved), u64_cmp)))
			problem(fn, ctx, s, "missing from the export, which must reach seq %" PRIu64
				" (the latest the ledger's receipts prove)", sum->last_seq);

	/* the ledger's checkpoint now, and the witnesses' cosignatures on it */
	if (o->ledger_url) {
		struct tlog_checkpoint c;
		struct tlog_note nt;

		if (published(o, keys, 1 + o->n_witness, &c, &nt, NULL, NULL)) {
			problem(fn, ctx, 0, "the ledger's published checkpoint cannot be fetched or verified");
		} else {
			for (size_t w = 0; w < o->n_witness; w++) {
				if (nt.verified & (1u << (w + 1)))
					sum->witnessed++;
				else
					problem(fn, ctx, 0, "the ledger's checkpoint of size %" PRIu64
						" is not cosigned by witness %s", c.size, keys[1 + w].name);
			}
			if (n_cks == ck_cap) {
				struct tlog_checkpoint *nc = realloc(cks, (ck_cap + 1) * sizeof(*nc));

				if (!nc) {
					ret = -ENOMEM;
					goto out;
				}
				cks = nc;
				ck_cap++;
			}
			cks[n_cks++] = c;
		}
	}
	/* one history: one root per size, each tree a prefix of the next */
	if (n_cks)
		qsort(cks, n_cks, sizeof(*cks), ck_cmp);
	for (size_t i = 0; i + 1 < n_cks; i++) {
		if (cks[i].size == cks[i + 1].size) {
			if (sodium_memcmp(cks[i].root, cks[i + 1].root, 32))
				problem(fn, ctx, 0, "two checkpoints of size %" PRIu64 " with different roots: "
					"the ledger forked its history", cks[i].size);
			continue;
		}
		sum->checkpoints++;
		if (!o->ledger_url)
			continue;
		ret = consistency(o, &cks[i], &cks[i + 1]);
		if (ret == -EIO) {
			problem(fn, ctx, 0, "no consistency proof from size %" PRIu64 " to %" PRIu64
				" could be fetched from the ledger", cks[i].size, cks[i + 1].size);
		} else if (ret) {
			problem(fn, ctx, 0, "the checkpoints of sizes %" PRIu64 " and %" PRIu64 " are not "
				"consistent: the ledger showed two histories", cks[i].size, cks[i + 1].size);
		}
		ret = 0;
	}
	if (n_cks) {
		sum->checkpoints++;
		sum->largest_size = cks[n_cks - 1].size;
	}
	sum->consistency_checked = o->ledger_url != NULL;
out:
	if (mapped)
		file_unmap(&fm);
	free(recs);
	free(proved);
	free(cks);
	return ret;
}

/* ---- witnessing ------------------------------------------------------------------ */

/* tmp file, fsync, rename, fsync of the folder. */
static int write_durably(const char *path, const char *text, size_t len)
{
	char tmp[4096], dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, ret = -EIO;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		goto err;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		close(fd);
		goto err;
	}
	close(fd);
	if (rename(tmp, path))
		goto err;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path + (slash == path)) : 1,
		 slash ? path : ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
err:
	ret = -errno;
	log_err("%s: %s", path, strerror(errno));
	unlink(tmp);
	return ret;
}

static int keygen(const struct lcheck_opts *o)
{
	struct tlog_skey k;
	char vk[TLOG_VKEY_MAX];
	int ret = 2;

	if (!o->witness_skey) {
		log_err("--witness-keygen NAME needs --witness-skey FILE to write the key to");
		return 2;
	}
	if (tlog_skey_generate(o->witness_keygen, TLOG_COSIG_V1, &k)) {
		log_err("--witness-keygen %s: a name without white space or '+'", o->witness_keygen);
		return 2;
	}
	if (!tlog_skey_save_new(&k, o->witness_skey, vk, sizeof(vk))) {
		printf("%s\n", vk);
		ret = 0;
	}
	tlog_skey_wipe(&k);
	return ret;
}

int lcheck_witness_main(const struct lcheck_opts *o)
{
	struct tlog_vkey log_key;
	struct tlog_skey wk;
	struct tlog_checkpoint now, old;
	struct tlog_note nt;
	char *text = NULL, *note = NULL, *state = NULL, line[TLOG_SIGLINE_MAX], *post = NULL;
	size_t len = 0, note_len = 0, state_len = 0;
	const char *why = NULL;
	struct answer a = { 0 };
	bool have_old = false;
	int ret = 2, r;

	if (o->witness_keygen)
		return keygen(o);
	memset(&wk, 0, sizeof(wk));
	if (!o->ledger_url || !o->ledger_key || !o->witness_skey || !o->witness_state) {
		log_err("--cosign needs --ledger URL, --ledger-key, --witness-skey and --witness-state");
		return 2;
	}
	if (load_vkey(o->ledger_key, TLOG_ED25519, &log_key))
		return 2;
	if (file_read(o->witness_skey, KEY_MAX, FILE_PRIVATE, "witness key", &text, &len))
		return 2;
	r = tlog_skey_parse(text, len, &wk, &why);
	sodium_memzero(text, len);
	free(text);
	if (r || wk.type != TLOG_COSIG_V1) {
		log_err("%s: %s", o->witness_skey, r ? why : "not a cosignature/v1 key (type 0x04)");
		goto out;
	}
	/* what this witness cosigned last */
	if (!access(o->witness_state, F_OK)) {
		if (file_read(o->witness_state, TLOG_CHECKPOINT_MAX + 1, 0, "witness state", &state, &state_len) ||
		    tlog_checkpoint_parse(state, state_len, &old, &why)) {
			log_err("%s: not a checkpoint this witness wrote", o->witness_state);
			goto out;
		}
		have_old = true;
	}
	ret = 1;
	if (published(o, &log_key, 1, &now, &nt, &note, &note_len))
		goto out;
	if (have_old && strcmp(old.origin, now.origin)) {
		log_err("the ledger's origin %s is not the one witnessed before (%s)", now.origin, old.origin);
		goto out;
	}
	if (have_old && now.size < old.size) {
		log_err("the ledger's checkpoint (size %" PRIu64 ") is older than the one witnessed before (%" PRIu64
			"): not cosigned", now.size, old.size);
		goto out;
	}
	if (have_old && (r = consistency(o, &old, &now))) {
		log_err("the ledger's checkpoint of size %" PRIu64 " is %s the one of size %" PRIu64
			" witnessed before: not cosigned", now.size,
			r == -EIO ? "not provably consistent with" : "INCONSISTENT with", old.size);
		goto out;
	}
	r = tlog_cosign_line(note, nt.text_len, &wk, (uint64_t)time(NULL), line, sizeof(line));
	if (r < 0)
		goto out;
	/* persist before anyone sees the cosignature */
	if (write_durably(o->witness_state, note, nt.text_len))
		goto out;
	post = malloc(note_len + (size_t)r + 1);
	if (!post)
		goto out;
	memcpy(post, note, note_len);
	memcpy(post + note_len, line, (size_t)r + 1);
	if (http(o, "/v1/checkpoint/cosignature", post, note_len + (size_t)r, &a)) {
		log_err("the cosignature was made (%s) but the ledger did not take it", o->witness_state);
		goto out;
	}
	fputs(post, stdout);
	ret = 0;
out:
	tlog_skey_wipe(&wk);
	free(a.p);
	free(post);
	free(note);
	free(state);
	return ret;
}
