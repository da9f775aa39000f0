/* eco2-verify — a certifier's check of an exported record file.
 *
 *   eco2-verify (--pubkey PEM | --cert DEVICE.pem --ca ROOT.pem) [--json]
 *               [--jobs N] [--backend NAME] RECORDS.cbor
 *
 * Checks every record's signature, canonical encoding, kid, seq continuity,
 * the prev-hash chain and co2_g (docs/record-format.md §5), then prints a
 * summary (or, with --json, one JSON object with a "problems" array).
 * Exit 0 when everything verifies, 1 when anything does not (each problem
 * named by seq on stderr, or in the JSON), 2 for usage or I/O errors.
 *
 * Signatures are independent, so they are checked on every core, a batch
 * at a time; the chain is then followed in file order on one. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/bytes.h"
#include "lib/file.h"
#include "lib/log.h"
#include "crypto/cbor.h"
#include "crypto/cose.h"
#include "crypto/verify.h"
#include "crypto/x509.h"

#define BATCH        8192            /* records verified in parallel at once */
#define PEM_MAX      ((size_t)64 * 1024)
#define EXPORT_MAX   (SIZE_MAX / 2)   /* an export is mapped, or read from a pipe */
#define JOBS_MAX     256
#define PROGRESS_MIN (4u << 20)      /* bytes: smaller files need no progress line */

enum { EXIT_OK = 0, EXIT_BAD = 1, EXIT_USAGE = 2 };

struct problem {
	uint64_t seq;        /* 0: the file or key as a whole */
	size_t order;
	char *reason;
};

struct summary {
	size_t records, verified, trips, charges;
	double distance_m, net_wh, charged_wh, co2_g;
	bool have_time;
	int64_t first_s, last_s;
	uint64_t flags;
};

/* Problems kept for the report. A crafted file can hold millions of
 * damaged records; beyond PROBLEMS_MAX they are counted, not kept. */
#define PROBLEMS_MAX 100000

struct problems {
	struct problem *v;
	size_t n, cap;
	size_t total;        /* n plus those not kept */
	bool oom;
};

static void add_problem(void *ctx, uint64_t seq, const char *reason)
{
	struct problems *ps = ctx;
	struct problem *v;

	ps->total++;
	if (ps->n == PROBLEMS_MAX)
		return;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 64;

		v = realloc(ps->v, cap * sizeof(*v));
		if (!v) {
			ps->oom = true;
			return;
		}
		ps->v = v;
		ps->cap = cap;
	}
	ps->v[ps->n].seq = seq;
	ps->v[ps->n].order = ps->n;
	ps->v[ps->n].reason = strdup(reason);
	if (!ps->v[ps->n].reason) {
		ps->oom = true;
		return;
	}
	ps->n++;
}

static void on_event(void *ctx, const struct verify_event *ev)
{
	if (!ev->warning)
		add_problem(ctx, ev->seq, ev->reason);
}

static int problem_cmp(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;

	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* ---- parallel signature checks ------------------------------------------------ */

struct job {
	verify_key_t *key;
	const uint8_t *base;
	const size_t *off, *len;
	struct verify_item *items;
	size_t first, count;
};

static void *job_run(void *arg)
{
	struct job *j = arg;

	for (size_t i = j->first; i < j->first + j->count; i++)
		verify_item_check(j->key, j->base + j->off[i], j->len[i], &j->items[i]);
	return NULL;
}

/* Check items [0, n) on up to njobs threads. */
static void check_batch(verify_key_t **keys, unsigned njobs, const uint8_t *base,
			const size_t *off, const size_t *len, struct verify_item *items,
			size_t n)
{
	struct job jobs[JOBS_MAX];
	pthread_t tids[JOBS_MAX];
	bool started[JOBS_MAX] = { false };
	size_t per;

	if (n < 64 || njobs < 2)
		njobs = 1;
	per = (n + njobs - 1) / njobs;
	for (unsigned t = 0; t < njobs; t++) {
		size_t first = t * per;

		jobs[t] = (struct job){ keys[t], base, off, len, items, first,
					first >= n ? 0 : (n - first < per ? n - first : per) };
		/* Run the last share here; a thread that cannot start runs here too. */
		if (t + 1 < njobs && !pthread_create(&tids[t], NULL, job_run, &jobs[t]))
			started[t] = true;
		else
			job_run(&jobs[t]);
	}
	for (unsigned t = 0; t < njobs; t++)
		if (started[t])
			pthread_join(tids[t], NULL);
}

/* ---- output ---------------------------------------------------------------------- */

static void flag_name(unsigned bit, char *buf, size_t len)
{
	if (record_flag_name(bit))
		snprintf(buf, len, "%s", record_flag_name(bit));
	else
		snprintf(buf, len, "bit%u", bit);
}

static void iso_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if ((int64_t)tt != t || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "@%" PRId64, t);
}

/* A JSON string; bytes of invalid UTF-8 (a reason cut mid-character)
 * become '?'. */
static void json_str(FILE *f, const char *s)
{
	size_t n = strlen(s);
	bool utf8 = cbor_utf8_valid((const uint8_t *)s, n);

	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			fprintf(f, "\\u%04x", *c);
		else if (*c >= 0x80 && !utf8)
			fputc('?', f);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

static const char *alg_name(int alg)
{
	return alg == COSE_ALG_ES256 ? "ES256" : alg == COSE_ALG_EDDSA ? "EdDSA" : "?";
}

/* The key's 8-byte kid as 16 lower-case hex digits. */
static void kid_to_hex(verify_key_t *key, char hex[17])
{
	uint8_t kid[8];

	verify_key_kid(key, kid);
	hex_encode(kid, sizeof(kid), hex);
}

/* The names of the flags set, in bit order: " a, b" as text, or
 * "\"a\",\"b\"" as JSON strings. false when none is set. */
static bool print_flags(uint64_t flags, bool json)
{
	char fl[64];
	bool any = false;

	for (unsigned bit = 0; bit < 64; bit++)
		if (flags & (UINT64_C(1) << bit)) {
			flag_name(bit, fl, sizeof(fl));
			if (json)
				printf("%s\"%s\"", any ? "," : "", fl);
			else
				printf("%s %s", any ? "," : "", fl);
			any = true;
		}
	return any;
}

static void print_text(const struct summary *s, verify_key_t *key, const struct problems *ps)
{
	char a[40], b[40], kid_hex[17];
	bool any;

	kid_to_hex(key, kid_hex);
	printf("key:                %s kid %s\n", alg_name(verify_key_alg(key)), kid_hex);
	printf("records:            %zu (%zu verified)\n", s->records, s->verified);
	printf("trips:              %zu\n", s->trips);
	printf("charging sessions:  %zu\n", s->charges);
	printf("distance:           %.3f km\n", s->distance_m / 1000.0);
	printf("energy:             %.3f kWh net from the pack, %.3f kWh charged\n",
	       s->net_wh / 1000.0, s->charged_wh / 1000.0);
	printf("CO2 avoided:        %.3f kg\n", s->co2_g / 1000.0);
	if (s->have_time) {
		iso_time(s->first_s, a, sizeof(a));
		iso_time(s->last_s, b, sizeof(b));
		printf("first:              %s\n", a);
		printf("last:               %s\n", b);
	} else {
		printf("first:              -\nlast:               -\n");
	}
	printf("flags:             ");
	any = print_flags(s->flags, false);
	printf("%s\n", any ? "" : " none");
	if (ps->total > ps->n)
		printf("result:             FAILED, %zu problems (the first %zu listed)\n",
		       ps->total, ps->n);
	else if (ps->n)
		printf("result:             FAILED, %zu problem%s\n", ps->n, ps->n == 1 ? "" : "s");
	else
		printf("result:             verified\n");
}

static void print_json(const struct summary *s, verify_key_t *key, const struct problems *ps)
{
	char a[40], b[40], kid_hex[17];

	kid_to_hex(key, kid_hex);
	printf("{\"ok\":%s,\"alg\":\"%s\",\"kid\":\"%s\",", ps->total ? "false" : "true",
	       alg_name(verify_key_alg(key)), kid_hex);
	printf("\"records\":%zu,\"verified\":%zu,\"trips\":%zu,\"charging_sessions\":%zu,",
	       s->records, s->verified, s->trips, s->charges);
	printf("\"distance_km\":%.3f,\"energy_kwh\":%.3f,\"charged_kwh\":%.3f,\"co2_kg\":%.3f,",
	       s->distance_m / 1000.0, s->net_wh / 1000.0, s->charged_wh / 1000.0,
	       s->co2_g / 1000.0);
	if (s->have_time) {
		iso_time(s->first_s, a, sizeof(a));
		iso_time(s->last_s, b, sizeof(b));
		printf("\"first_time\":\"%s\",\"last_time\":\"%s\",", a, b);
	} else {
		printf("\"first_time\":null,\"last_time\":null,");
	}
	printf("\"flags\":[");
	print_flags(s->flags, true);
	printf("],\"problems_total\":%zu,\"problems\":[", ps->total);
	for (size_t i = 0; i < ps->n; i++) {
		printf("%s{\"seq\":%" PRIu64 ",\"reason\":", i ? "," : "", ps->v[i].seq);
		json_str(stdout, ps->v[i].reason);
		printf("}");
	}
	printf("]}\n");
}

static void count(struct summary *s, const struct eco2_record *r)
{
	s->verified++;
	if (r->type == ECO2_REC_TRIP)
		s->trips++;
	else
		s->charges++;
	s->distance_m += (double)r->distance_m;
	s->net_wh += (double)r->discharge_wh - (double)r->regen_wh;
	s->charged_wh += (double)r->charged_wh;
	s->co2_g += (double)r->co2_g;
	s->flags |= r->flags;
	if (!s->have_time || r->start_s < s->first_s)
		s->first_s = r->start_s;
	if (!s->have_time || r->end_s > s->last_s)
		s->last_s = r->end_s;
	s->have_time = true;
}

/* The cores this process may run on (its affinity mask, which a
 * container or taskset narrows), 1..JOBS_MAX. */
static unsigned usable_cpus(void)
{
	cpu_set_t set;
	long n = 0;

	if (!sched_getaffinity(0, sizeof(set), &set))
		n = CPU_COUNT(&set);
	if (n < 1)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > JOBS_MAX ? JOBS_MAX : (unsigned)n;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: eco2-verify (--pubkey PEM | --cert DEVICE.pem --ca ROOT.pem) [--json]\n"
		"                   [--jobs N] [--backend NAME] RECORDS.cbor\n"
		"  --pubkey PEM   the device's public key (SubjectPublicKeyInfo, P-256 or Ed25519)\n"
		"  --cert, --ca   the device certificate and the CA root it must chain to\n"
		"  --json         print one JSON object with a \"problems\" array\n"
		"  --jobs N       threads for signature checks (default: every usable core)\n"
		"  --backend NAME signature back end: sodium, mbedtls, libcrypto (default: fastest)\n"
		"exit: 0 verified, 1 a record (or the certificate) fails, 2 usage or I/O error\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "cert", required_argument, NULL, 'c' },
		{ "ca", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "jobs", required_argument, NULL, 'J' },
		{ "backend", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pubkey = NULL, *cert = NULL, *ca = NULL, *backend = NULL;
	bool json = false, progress;
	long jobs = 0;
	struct problems ps = { 0 };
	struct summary sum = { 0 };
	struct file_map in = { 0 };
	verify_key_t *keys[JOBS_MAX] = { NULL };
	verify_chain_t *chain = NULL;
	struct verify_item *items = NULL;
	size_t *offs = NULL, *lens = NULL;
	bool *tails = NULL;
	struct verify_splitter sp;
	int opt, ret, status = EXIT_USAGE;
	unsigned njobs;
	bool have_input = false;

	log_open("eco2-verify", LOG_TO_STDERR, LOG_INFO);
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'p': pubkey = optarg; break;
		case 'c': cert = optarg; break;
		case 'a': ca = optarg; break;
		case 'j': json = true; break;
		case 'b': backend = optarg; break;
		case 'J':
			errno = 0;
			jobs = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || jobs < 1 || jobs > JOBS_MAX) {
				fprintf(stderr, "eco2-verify: --jobs %s: a number from 1 to %d expected\n",
					optarg, JOBS_MAX);
				goto out;
			}
			break;
		case 'h':
			usage(stdout);
			status = EXIT_OK;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind != argc - 1 || (!pubkey == !cert) || (!cert != !ca)) {
		usage(stderr);
		goto out;
	}

	/* The key. */
	if (pubkey) {
		const char *why = NULL;
		char *pem = NULL;
		size_t pem_len = 0;

		if (file_read(pubkey, PEM_MAX, FILE_STREAM, NULL, &pem, &pem_len))
			goto out;
		ret = verify_key_from_pem(&keys[0], pem, pem_len, backend, &why);
		free(pem);
		if (ret) {
			fprintf(stderr, "eco2-verify: %s: %s\n", pubkey, why ? why : strerror(-ret));
			goto out;
		}
	} else {
		char why[768];
		verify_key_t *k = NULL;

		ret = x509_device_key(cert, ca, &k, why, sizeof(why));
		if (ret == -EIO) {
			fprintf(stderr, "eco2-verify: %s\n", why);
			goto out;
		}
		if (ret) {
			/* The records are still checked against the key the
			 * certificate names, so the report is complete; the
			 * file as a whole fails. */
			add_problem(&ps, 0, why);
			if (!json)
				fprintf(stderr, "eco2-verify: %s\n", why);
			ret = x509_subject_key(cert, &k, why, sizeof(why));
			if (ret) {
				fprintf(stderr, "eco2-verify: %s\n", why);
				status = EXIT_BAD;
				goto out;
			}
		}
		keys[0] = k;
		if (backend) {
			uint8_t raw[SIGNER_PUBKEY_MAX];
			size_t raw_len = verify_key_raw(k, raw);

			ret = verify_key_new(&keys[0], verify_key_alg(k), raw, raw_len, backend);
			verify_key_free(k);
			if (ret) {
				fprintf(stderr, "eco2-verify: back end %s: %s\n", backend, strerror(-ret));
				goto out;
			}
		}
	}

	njobs = jobs ? (unsigned)jobs : usable_cpus();
	for (unsigned t = 1; t < njobs; t++)
		if (verify_key_clone(keys[0], &keys[t])) {
			njobs = t;
			break;
		}

	if (file_map(argv[optind], EXPORT_MAX, FILE_STREAM, NULL, &in))
		goto out;
	have_input = true;
	items = malloc(BATCH * sizeof(*items));
	offs = malloc(BATCH * sizeof(*offs));
	lens = malloc(BATCH * sizeof(*lens));
	tails = malloc(BATCH * sizeof(*tails));
	if (!items || !offs || !lens || !tails || verify_chain_new(&chain, on_event, &ps)) {
		fprintf(stderr, "eco2-verify: out of memory\n");
		goto out;
	}
	progress = in.len >= PROGRESS_MIN && isatty(STDERR_FILENO);

	verify_split_init(&sp, in.p, in.len);
	for (;;) {
		size_t n = 0;

		while (n < BATCH && verify_split_next(&sp, &offs[n], &lens[n], &tails[n]))
			n++;
		if (!n)
			break;
		check_batch(keys, njobs, in.p, offs, lens, items, n);
		for (size_t i = 0; i < n; i++) {
			items[i].tail = tails[i];
			if (!tails[i])
				sum.records++;
			if (verify_chain_push(chain, &items[i]))
				count(&sum, &items[i].rec);
		}
		if (progress)
			fprintf(stderr, "\reco2-verify: %zu records, %3d%%", sum.records,
				(int)(100.0 * (double)sp.off / (double)in.len));
	}
	if (progress)
		fprintf(stderr, "\r\033[K");
	verify_chain_finish(chain);
	if (ps.oom) {
		fprintf(stderr, "eco2-verify: out of memory\n");
		goto out;
	}

	if (ps.n)
		qsort(ps.v, ps.n, sizeof(*ps.v), problem_cmp);
	if (json) {
		print_json(&sum, keys[0], &ps);
	} else {
		for (size_t i = 0; i < ps.n; i++) {
			if (ps.v[i].seq)
				fprintf(stderr, "eco2-verify: seq %" PRIu64 ": %s\n",
					ps.v[i].seq, ps.v[i].reason);
			else if (!cert)   /* certificate problems were printed above */
				fprintf(stderr, "eco2-verify: %s\n", ps.v[i].reason);
		}
		print_text(&sum, keys[0], &ps);
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "eco2-verify: writing the report: %s\n", strerror(errno));
		goto out;
	}
	status = ps.total ? EXIT_BAD : EXIT_OK;
out:
	verify_chain_free(chain);
	free(items);
	free(offs);
	free(lens);
	free(tails);
	if (have_input)
		file_unmap(&in);
	for (unsigned t = 0; t < JOBS_MAX; t++)
		verify_key_free(keys[t]);
	for (size_t i = 0; i < ps.n; i++)
		free(ps.v[i].reason);
	free(ps.v);
	return status;
}
