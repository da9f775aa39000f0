/* eco2-verify — a certifier's check of an exported record file.
 *
 *   eco2-verify (--pubkey PEM | --cert DEVICE.pem --ca ROOT.pem [--at TIME])
 *               [--require-params FILE] [--json] [--html FILE] [--tz ZONE]
 *               [--jobs N] [--backend NAME] [--progress] RECORDS.cbor
 *
 * Checks every record's signature, canonical encoding, kid, the content
 * rules (crypto/rules.h), seq continuity and the prev-hash chain
 * (docs/record-format.md §5), the certificate at each record's time, and
 * the approved parameters; then reports (crypto/report.h): text on
 * stdout and each problem on stderr, or one JSON object, and an HTML page.
 * Exit 0 when everything verifies, 1 when anything does not, 2 for usage
 * or I/O errors.
 *
 * The run is a list of steps over one report (main): read the key, verify
 * the file, then each check that can fail records after the chain has
 * spoken (certificate times, approved parameters). Another check (a
 * ledger's receipts, say) is one more step that calls report_problem and
 * report_fail_row. Signatures are independent, so they are checked on
 * every core, a batch at a time; the chain is then followed in file
 * order on one. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "generated/version.h"
#include "lib/bytes.h"
#include "lib/file.h"
#include "lib/isotime.h"
#include "lib/log.h"
#include "crypto/approved.h"
#include "crypto/cose.h"
#include "crypto/ledger_check.h"
#include "crypto/report.h"
#include "crypto/verify.h"
#include "crypto/x509.h"

#define BATCH        8192            /* records verified in parallel at once */
#define PEM_MAX      ((size_t)64 * 1024)
#define EXPORT_MAX   (SIZE_MAX / 2)   /* an export is mapped, or read from a pipe */
#define JOBS_MAX     256
#define PROGRESS_AFTER_S 2.0         /* quiet for work shorter than this */

enum { EXIT_OK = 0, EXIT_BAD = 1, EXIT_USAGE = 2 };

struct opts {
	const char *pubkey, *cert, *ca, *backend, *cert_library;
	const char *input, *html, *require_params;
	struct report_tz tz;
	int64_t at_s;                /* X509_AT_RECORDS: each record's time */
	bool json, progress;
	long jobs;
	struct lcheck_opts lc;        /* receipts and witnesses (ledger_check.h) */
	bool witness_only;            /* --cosign, --witness-keygen */
};

struct run {
	const struct opts *o;
	report_t *rep;
	verify_key_t *keys[JOBS_MAX];
	unsigned njobs;
	bool have_cert, cert_ok;
	struct x509_info cert;
	struct approved approved;
	bool have_approved;
	/* progress on stderr */
	bool progress, tty;
	double t0, last;
};

/* ---- progress ------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A progress line for work past PROGRESS_AFTER_S (at once with
 * --progress), at most twice a second: rewritten in place on a terminal,
 * one line each otherwise. */
static void progress(struct run *r, const char *what, size_t done, size_t total)
{
	double t = now_s();

	if (!r->progress || (!r->o->progress && t - r->t0 < PROGRESS_AFTER_S) ||
	    (t - r->last < 0.5 && done < total))
		return;
	r->last = t;
	fprintf(stderr, "%seco2-verify: %s: %zu of %zu (%d%%)%s", r->tty ? "\r" : "", what, done,
		total, total ? (int)(100.0 * (double)done / (double)total) : 100, r->tty ? "" : "\n");
}

static void progress_end(struct run *r)
{
	if (r->progress && r->tty && r->last > 0)
		fprintf(stderr, "\r\033[K");
	r->last = 0;
}

static void html_progress(void *ctx, size_t done, size_t total)
{
	progress(ctx, "writing the HTML report, records", done, total);
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

/* ---- options --------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: eco2-verify (--pubkey PEM | --cert DEVICE.pem --ca ROOT.pem [--at TIME])\n"
		"                   [--require-params FILE] [--json] [--html FILE] [--tz ZONE]\n"
		"                   [--jobs N] [--backend NAME] [--progress] RECORDS.cbor\n"
		"  --pubkey PEM          the device's public key (SubjectPublicKeyInfo, P-256 or Ed25519)\n"
		"  --cert, --ca          the device certificate and the CA root it must chain to\n"
		"  --at TIME             check the certificate at TIME (YYYY-MM-DD[THH:MM:SSZ], @SECONDS\n"
		"                        or now) instead of at each record's time\n"
		"  --cert-library NAME   read certificates with mbedtls or libcrypto (default: both)\n"
		"  --require-params FILE approved methodology parameters per period; others fail\n"
		"  --json                print one JSON object (docs/verify-report.schema.json)\n"
		"  --html FILE           also write a self-contained HTML report to FILE\n"
		"  --tz ZONE             days for the totals in ZONE (UTC, +HH:MM, Europe/Berlin; default UTC)\n"
		"  --jobs N              threads for signature checks (default: every usable core)\n"
		"  --backend NAME        signature back end: sodium, mbedtls, libcrypto (default: fastest)\n"
		"  --progress            progress lines on stderr (default: on a terminal, past 2 s)\n"
		"  --ledger-key VKEY --receipts FILE  the ledger's receipts prove every record and\n"
		"                        that none up to the latest receipted seq is withheld\n"
		"  --ledger URL          fetch consistency proofs and the published checkpoint\n"
		"  --ledger-ca PEM       CA bundle for the ledger's TLS\n"
		"  --witness-key VKEY    the published checkpoint must carry its cosignature\n"
		"  --cosign --witness-skey FILE --witness-state FILE  witness: cosign the\n"
		"                        ledger's checkpoint if consistent with the last (no RECORDS)\n"
		"  --witness-keygen NAME --witness-skey FILE  make a witness key\n"
		"exit: 0 verified, 1 a record (or the certificate) fails, 2 usage or I/O error\n");
}

/* --at: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, @SECONDS or now. */
static int parse_at(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *end;
	char *e;
	long long v;

	if (!strcmp(s, "now")) {
		*out = (int64_t)time(NULL);
		return 0;
	}
	if (s[0] == '@') {
		errno = 0;
		v = strtoll(s + 1, &e, 10);
		if (errno || e == s + 1 || *e)
			return -EINVAL;
		*out = v;
		return 0;
	}
	end = strptime(s, strlen(s) == 10 ? "%Y-%m-%d" : "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* 0 to run; otherwise the exit status (help: EXIT_OK). */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "cert", required_argument, NULL, 'c' },
		{ "ca", required_argument, NULL, 'a' },
		{ "at", required_argument, NULL, 't' },
		{ "cert-library", required_argument, NULL, 'L' },
		{ "require-params", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "html", required_argument, NULL, 'H' },
		{ "tz", required_argument, NULL, 'z' },
		{ "jobs", required_argument, NULL, 'J' },
		{ "backend", required_argument, NULL, 'b' },
		{ "progress", no_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "ledger-key", required_argument, NULL, 'k' },
		{ "receipts", required_argument, NULL, 'R' },
		{ "ledger", required_argument, NULL, 'U' },
		{ "ledger-ca", required_argument, NULL, 'C' },
		{ "witness-key", required_argument, NULL, 'W' },
		{ "cosign", no_argument, NULL, 'S' },
		{ "witness-skey", required_argument, NULL, 'K' },
		{ "witness-state", required_argument, NULL, 'T' },
		{ "witness-keygen", required_argument, NULL, 'G' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_at = false;
	int opt;

	memset(o, 0, sizeof(*o));
	o->at_s = X509_AT_RECORDS;
	if (report_tz_parse(&o->tz, "UTC"))
		return EXIT_USAGE;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'p': o->pubkey = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'a': o->ca = optarg; break;
		case 'L': o->cert_library = optarg; break;
		case 'r': o->require_params = optarg; break;
		case 'j': o->json = true; break;
		case 'H': o->html = optarg; break;
		case 'b': o->backend = optarg; break;
		case 'P': o->progress = true; break;
		case 't':
			if (parse_at(optarg, &o->at_s)) {
				fprintf(stderr, "eco2-verify: --at %s: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ, "
					"@SECONDS or now expected\n", optarg);
				return EXIT_USAGE;
			}
			have_at = true;
			break;
		case 'z':
			if (report_tz_parse(&o->tz, optarg)) {
				fprintf(stderr, "eco2-verify: --tz %s: UTC, +HH:MM, -HH:MM or a zone of "
					"the system's database (Europe/Berlin) expected\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'J':
			errno = 0;
			o->jobs = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o->jobs < 1 || o->jobs > JOBS_MAX) {
				fprintf(stderr, "eco2-verify: --jobs %s: a number from 1 to %d expected\n",
					optarg, JOBS_MAX);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return -1;
		case 'k': o->lc.ledger_key = optarg; break;
		case 'R': o->lc.receipts = optarg; break;
		case 'U': o->lc.ledger_url = optarg; break;
		case 'C': o->lc.ca = optarg; break;
		case 'W':
			if (o->lc.n_witness == LCHECK_WITNESSES_MAX) {
				fprintf(stderr, "eco2-verify: at most %d --witness-key\n", LCHECK_WITNESSES_MAX);
				return EXIT_USAGE;
			}
			o->lc.witness_keys[o->lc.n_witness++] = optarg;
			break;
		case 'S': o->lc.cosign = true; break;
		case 'K': o->lc.witness_skey = optarg; break;
		case 'T': o->lc.witness_state = optarg; break;
		case 'G': o->lc.witness_keygen = optarg; break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (o->lc.cosign || o->lc.witness_keygen) {
		/* A witness's own modes: no records. */
		if (optind != argc) {
			usage(stderr);
			return EXIT_USAGE;
		}
		o->witness_only = true;
		return 0;
	}
	if (optind != argc - 1 || (!o->pubkey == !o->cert) || (!o->cert != !o->ca) ||
	    (have_at && !o->cert)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	o->input = argv[optind];
	return 0;
}

/* ---- steps --------------------------------------------------------------------------- */

static void on_event(void *ctx, const struct verify_event *ev)
{
	report_event(ctx, ev);
}

/* The key, from --pubkey or the certificate, and its clones for the
 * threads. 0 or the exit status. */
static int load_key(struct run *r)
{
	const struct opts *o = r->o;
	verify_key_t *k = NULL;
	int ret;

	if (o->pubkey) {
		const char *why = NULL;
		char *pem = NULL;
		size_t pem_len = 0;

		if (file_read(o->pubkey, PEM_MAX, FILE_STREAM, NULL, &pem, &pem_len))
			return EXIT_USAGE;
		ret = verify_key_from_pem(&r->keys[0], pem, pem_len, o->backend, &why);
		free(pem);
		if (ret) {
			fprintf(stderr, "eco2-verify: %s: %s\n", o->pubkey, why ? why : strerror(-ret));
			return EXIT_USAGE;
		}
		report_key(r->rep, r->keys[0], "--pubkey");
	} else {
		char why[768];

		r->have_cert = true;
		ret = x509_device_key(o->cert, o->ca, o->at_s, o->cert_library, &k, &r->cert,
				      why, sizeof(why));
		if (ret == -EIO || ret == -ENOTSUP) {
			fprintf(stderr, "eco2-verify: %s\n", why);
			return EXIT_USAGE;
		}
		r->cert_ok = !ret;
		if (ret) {
			/* The records are still checked against the key the
			 * certificate names, so the report is complete; the
			 * file as a whole fails. */
			report_problem(r->rep, 0, "certificate", "%s", why);
			report_certificate(r->rep, &r->cert, false, why, o->at_s);
			ret = x509_subject_key(o->cert, &k, why, sizeof(why));
			if (ret) {
				fprintf(stderr, "eco2-verify: %s\n", why);
				return EXIT_BAD;
			}
		} else {
			report_certificate(r->rep, &r->cert, true, NULL, o->at_s);
		}
		r->keys[0] = k;
		if (o->backend) {
			uint8_t raw[SIGNER_PUBKEY_MAX];
			size_t raw_len = verify_key_raw(k, raw);

			ret = verify_key_new(&r->keys[0], verify_key_alg(k), raw, raw_len, o->backend);
			verify_key_free(k);
			if (ret) {
				fprintf(stderr, "eco2-verify: back end %s: %s\n", o->backend, strerror(-ret));
				return EXIT_USAGE;
			}
		}
		report_key(r->rep, r->keys[0], "certificate");
	}
	r->njobs = o->jobs ? (unsigned)o->jobs : usable_cpus();
	for (unsigned t = 1; t < r->njobs; t++)
		if (verify_key_clone(r->keys[0], &r->keys[t])) {
			r->njobs = t;
			break;
		}
	return 0;
}


/* --ledger-key --receipts: the ledger's receipts prove every record and
 * withhold none (crypto/ledger_check.h); each problem is the report's,
 * about its seq (0: the receipts or the ledger as a whole). */
static void receipt_problem(void *ctx, uint64_t seq, const char *reason)
{
	report_t *rep = ctx;

	report_problem(rep, seq, "receipts", "%s", reason);
	for (size_t i = 0; seq && i < report_rows(rep); i++)
		if (report_row(rep, i)->seq == seq && report_row(rep, i)->counted)
			report_fail_row(rep, i);
}

static int check_receipts(struct run *r, const uint8_t *records, size_t len)
{
	struct lcheck_summary ls;

	if (!lcheck_wanted(&r->o->lc))
		return 0;
	if (lcheck_run(&r->o->lc, records, len, receipt_problem, r->rep, &ls))
		return EXIT_USAGE;
	if (!r->o->json)
		fprintf(stderr, "eco2-verify: receipts: %zu records proved by %zu receipts; %zu checkpoints, %s; "
			"the receipts reach seq %" PRIu64 "%s\n", ls.proved, ls.receipts, ls.checkpoints,
			ls.consistency_checked ? "checked against each other with the ledger's proofs" :
			"one root per size (no --ledger: consistency not checked)", ls.last_seq,
			ls.witnessed ? ", witnessed" : "");
	return 0;
}

/* Every record of the file: signatures on every core, then the chain in
 * file order; each item becomes a row of the report. 0 or the exit status. */
static int verify_file(struct run *r)
{
	struct file_map in = { 0 };
	struct verify_item *items = NULL;
	size_t *offs = NULL, *lens = NULL;
	bool *tails = NULL;
	verify_chain_t *chain = NULL;
	struct verify_splitter sp;
	int status = EXIT_USAGE;

	if (file_map(r->o->input, EXPORT_MAX, FILE_STREAM, NULL, &in))
		return EXIT_USAGE;
	items = malloc(BATCH * sizeof(*items));
	offs = malloc(BATCH * sizeof(*offs));
	lens = malloc(BATCH * sizeof(*lens));
	tails = malloc(BATCH * sizeof(*tails));
	if (!items || !offs || !lens || !tails || verify_chain_new(&chain, on_event, r->rep)) {
		fprintf(stderr, "eco2-verify: out of memory\n");
		goto out;
	}
	verify_split_init(&sp, in.p, in.len);
	for (;;) {
		size_t n = 0;

		while (n < BATCH && verify_split_next(&sp, &offs[n], &lens[n], &tails[n]))
			n++;
		if (!n)
			break;
		check_batch(r->keys, r->njobs, in.p, offs, lens, items, n);
		for (size_t i = 0; i < n; i++) {
			bool counted;

			items[i].tail = tails[i];
			counted = verify_chain_push(chain, &items[i]);
			if (report_item(r->rep, &items[i], counted) == -ENOMEM) {
				fprintf(stderr, "eco2-verify: out of memory\n");
				goto out;
			}
		}
		progress(r, "verifying, bytes", sp.off, in.len);
	}
	verify_chain_finish(chain);
	progress_end(r);
	status = check_receipts(r, in.p, in.len);
out:
	verify_chain_free(chain);
	free(items);
	free(offs);
	free(lens);
	free(tails);
	file_unmap(&in);
	return status;
}

/* Without --at, the certificate must have been valid when each record was
 * made: its end_s, when the daemon signs it (to within the store's
 * delay), lies in the chain's validity. */
static void check_cert_times(struct run *r)
{
	char a[ISO_UTC_LEN], b[ISO_UTC_LEN], c[ISO_UTC_LEN];

	if (!r->have_cert || !r->cert_ok || r->o->at_s != X509_AT_RECORDS)
		return;
	for (size_t i = 0; i < report_rows(r->rep); i++) {
		const struct report_row *w = report_row(r->rep, i);

		if (!w->counted || (w->end_s >= r->cert.chain_from_s && w->end_s <= r->cert.chain_to_s))
			continue;
		iso_utc(w->end_s, a);
		iso_utc(r->cert.chain_from_s, b);
		iso_utc(r->cert.chain_to_s, c);
		report_problem(r->rep, w->seq, "certificate.time",
			       "made at %s, when the certificate was %s (its chain is valid from %s to %s)",
			       a, w->end_s < r->cert.chain_from_s ? "not yet valid" : "expired", b, c);
		report_fail_row(r->rep, i);
	}
}

/* --require-params: every verified record's methodology parameters (and
 * software and profile, where listed) are the approved ones of its period. */
static int check_params(struct run *r)
{
	char why[384];

	if (!r->o->require_params)
		return 0;
	if (approved_load(&r->approved, r->o->require_params)) {
		fprintf(stderr, "eco2-verify: %s: not a usable parameters file (see above)\n",
			r->o->require_params);
		return EXIT_USAGE;
	}
	r->have_approved = true;
	report_approved(r->rep, &r->approved);
	for (size_t i = 0; i < report_rows(r->rep); i++) {
		const struct report_row *w = report_row(r->rep, i);
		struct eco2_record e;

		if (!w->counted)
			continue;
		report_row_record(r->rep, i, &e);
		if (approved_check(&r->approved, &e, why, sizeof(why))) {
			report_problem(r->rep, w->seq, "params.approved", "%s", why);
			report_fail_row(r->rep, i);
			report_row_approved(r->rep, i, false);
		} else {
			report_row_approved(r->rep, i, true);
		}
	}
	return 0;
}

/* The HTML page, written whole beside FILE and renamed over it. */
static int write_html(struct run *r)
{
	char tmp[4096];
	FILE *f;
	int ret;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", r->o->html, (long)getpid()) >= sizeof(tmp)) {
		fprintf(stderr, "eco2-verify: --html %s: path too long\n", r->o->html);
		return EXIT_USAGE;
	}
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "eco2-verify: %s: %s\n", tmp, strerror(errno));
		return EXIT_USAGE;
	}
	ret = report_write_html(r->rep, f, html_progress, r);
	progress_end(r);
	if (fclose(f) || ret || rename(tmp, r->o->html)) {
		fprintf(stderr, "eco2-verify: writing %s: %s\n", r->o->html, strerror(errno ? errno : EIO));
		unlink(tmp);
		return EXIT_USAGE;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct run r = { .o = &o };
	struct report_opts ro = { 0 };
	int status;

	log_open("eco2-verify", LOG_TO_STDERR, LOG_INFO);
	status = parse_args(argc, argv, &o);
	if (status)
		return status < 0 ? EXIT_OK : status;
	if (o.witness_only)
		return lcheck_witness_main(&o.lc);
	r.tty = isatty(STDERR_FILENO);
	r.progress = o.progress || r.tty;
	r.t0 = now_s();
	ro.input = o.input;
	ro.tz = o.tz;
	ro.generator = "eco2-verify " ECO2_BUILD_ID;
	if (report_new(&r.rep, &ro)) {
		fprintf(stderr, "eco2-verify: out of memory\n");
		return EXIT_USAGE;
	}

	status = load_key(&r);
	if (!status)
		status = verify_file(&r);
	if (!status) {
		/* Checks of records the chain counted; each may fail some. */
		check_cert_times(&r);
		status = check_params(&r);
	}
	if (status)
		goto out;
	report_finish(r.rep);

	if (o.html) {
		status = write_html(&r);
		if (status)
			goto out;
	}
	if (o.json ? report_write_json(r.rep, stdout) : report_write_text(r.rep, stdout, true)) {
		fprintf(stderr, "eco2-verify: writing the report: %s\n", strerror(errno ? errno : EIO));
		status = EXIT_USAGE;
		goto out;
	}
	status = report_ok(r.rep) ? EXIT_OK : EXIT_BAD;
out:
	for (unsigned t = 0; t < JOBS_MAX; t++)
		verify_key_free(r.keys[t]);
	if (r.have_approved)
		approved_free(&r.approved);
	report_free(r.rep);
	return status;
}
