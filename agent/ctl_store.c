/* eco2ctl status, trips, export — read the daemon's store, read-only, while
 * it runs (SQLite WAL lets a reader in beside the writer). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/checkpoint.h"
#include "agent/config.h"
#include "agent/ctl.h"
#include "lib/log.h"
#include "agent/trip.h"
#include "agent/params.h"
#include "crypto/cose.h"
#include "upload/queue.h"

/* Load the configuration (-c) and open its store read-only. */
static int open_store(struct eco2_config *cfg, queue_t **q)
{
	const char *path = ctl_globals.config_path ? ctl_globals.config_path
						   : CONFIG_DEFAULT_CONFIG_PATH;
	struct queue_opts qo = { .read_only = true };
	int ret;

	ret = config_load(cfg, path);
	if (ret)
		return ret;
	ret = queue_open(q, cfg->store_path, &qo);
	if (ret)
		fprintf(stderr, "eco2ctl: %s: %s\n", cfg->store_path, strerror(-ret));
	return ret;
}

static void utc(int64_t t_s, char *buf, size_t len)
{
	struct tm tm;
	time_t t = (time_t)t_s;

	if (!t_s || !gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
}

/* UTC seconds, or an ISO 8601 date / date-time in UTC. */
static int parse_time(const char *s, int64_t *out)
{
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S",
					     "%Y-%m-%d %H:%M:%S", "%Y-%m-%d" };
	struct tm tm;
	char *end;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!errno && end != s && !*end) {
		*out = v;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (end && !*end) {
			*out = (int64_t)timegm(&tm);
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- status ---------------------------------------------------------------- */

static int64_t counter(queue_t *q, const char *name)
{
	int64_t v = 0;

	if (queue_counter_get(q, name, &v))
		v = 0;
	return v;
}

static void ignore_record(const struct eco2_record *rec, void *ctx)
{
	(void)rec; (void)ctx;
}

static void print_open_trip(const struct eco2_config *cfg, queue_t *q)
{
	struct trip_params tp;
	struct eco2_record r;
	profile_t *prof = NULL;
	trip_t *trip = NULL;
	void *blob = NULL;
	size_t len = 0;
	int64_t t_s;
	char when[32], start[32];
	struct agent_ckpt ck;

	if (queue_checkpoint_get(q, &blob, &len, &t_s)) {
		printf("current trip:      none\n");
		return;
	}
	utc(t_s, when, sizeof(when));
	/* eco2ctl does not hold the device key: what the checkpoint says,
	 * which eco2d checks against its tag before it signs any of it. */
	if (agent_ckpt_parse(blob, len, &ck, NULL) || profile_load(&prof, cfg->can_profile))
		goto unknown;
	if (ck.n_pending)
		printf("waiting:           %zu finished records the store has not taken yet "
		       "(in the checkpoint)\n", ck.n_pending);
	trip_params_for(&tp, cfg, prof);
	if (trip_new(&tp, ignore_record, NULL, &trip) ||
	    trip_checkpoint_restore(trip, ck.trip, ck.trip_len))
		goto unknown;
	if (!trip_is_open(trip)) {
		printf("current trip:      none (state saved %s)\n", when);
		goto out;
	}
	if (trip_peek(trip, &r))
		goto unknown;
	utc(r.start_s, start, sizeof(start));
	printf("current trip:      %s since %s: %.3f km, %.3f kWh out, %.3f kWh regen (saved %s)\n",
	       r.type == ECO2_REC_CHARGE ? "charging" : "driving", start, (double)r.distance_m / 1000,
	       (double)r.discharge_wh / 1000, (double)r.regen_wh / 1000, when);
	goto out;
unknown:
	printf("current trip:      open (checkpoint of %s)\n", when);
out:
	trip_free(trip);
	profile_free(prof);
	free(blob);
}

/* Both heads: the store's and the ledger's as eco2d last read it. */
static void print_ledger_head(queue_t *q, uint64_t store_head)
{
	uint64_t seq;
	int64_t t_s;
	char when[32];

	if (queue_ledger_head_get(q, &seq, &t_s)) {
		printf("ledger head:       not read yet\n");
		return;
	}
	utc(t_s, when, sizeof(when));
	printf("ledger head:       %" PRIu64 " (read %s)%s\n", seq, when,
	       seq > store_head ? "; AHEAD OF THE STORE: see docs/store.md, Recovery" :
	       seq < store_head ? "; the rest is queued" : "");
}

static void print_rejected(queue_t *q)
{
	uint64_t n;
	int64_t t_s;
	char why[200], when[32];

	if (queue_checkpoint_rejected(q, &n, &t_s, why, sizeof(why)) || !n)
		return;
	utc(t_s, when, sizeof(when));
	printf("refused state:     %" PRIu64 " checkpoint%s kept aside, newest refused %s: %s\n",
	       n, n == 1 ? "" : "s", when, why);
}

int ctl_status(int argc, char **argv)
{
	struct eco2_config cfg;
	struct queue_stats st;
	queue_t *q = NULL;
	char last[32];
	int ret = 1;

	if (argc != 1) {
		fprintf(stderr, "usage: eco2ctl [-c FILE] status\n");
		return 2;
	}
	(void)argv;
	if (open_store(&cfg, &q))
		goto out;
	if (queue_stats(q, &st))
		goto out;
	print_open_trip(&cfg, q);
	utc(st.last_upload_s, last, sizeof(last));
	printf("can:               %" PRId64 " frames, %" PRId64 " dropped, %" PRId64 " bus errors\n",
	       counter(q, "can.frames"), counter(q, "can.dropped"), counter(q, "can.bus_errors"));
	printf("records:           %" PRIu64 " signed (chain head)\n", st.last_seq);
	print_ledger_head(q, st.last_seq);
	print_rejected(q);
	printf("queue:             %" PRIu64 " waiting (%" PRIu64 " bytes), oldest seq %" PRIu64 "\n",
	       st.pending, st.pending_bytes, st.oldest_pending_seq);
	printf("uploaded:          %" PRIu64 " records, last upload %s\n", st.uploaded, last);
	printf("ledger:            %s\n", cfg.ledger_enabled ? cfg.ledger_url : "disabled (queue only)");
	printf("store:             %s, %" PRIu64 " bytes, %" PRId64 " write failures\n",
	       cfg.store_path, st.db_bytes, counter(q, "store.failures"));
	char err[256], next[32];
	uint64_t err_seq;
	int64_t next_s;
	if (!queue_last_error(q, err, sizeof(err), &err_seq, &next_s)) {
		utc(next_s, next, sizeof(next));
		printf("last error:        upload of seq %" PRIu64 ": %s (next try %s)\n", err_seq, err, next);
	} else {
		printf("last error:        none\n");
	}
	ret = 0;
out:
	queue_close(q);
	config_free(&cfg);
	return ret;
}

/* ---- trips ------------------------------------------------------------------ */

struct trips_ctx {
	int64_t since_s;
	unsigned long shown, bad;
};

static int print_trip(uint64_t seq, const uint8_t *bytes, size_t len, void *vctx)
{
	struct trips_ctx *c = vctx;
	struct eco2_record r;
	const char *why = NULL;
	char start[32];

	if (cose_record_decode(bytes, len, &r, NULL, &why)) {
		printf("%6" PRIu64 "  (undecodable: %s)\n", seq, why);
		c->bad++;
		return 0;
	}
	if (r.end_s < c->since_s)
		return 0;
	utc(r.start_s, start, sizeof(start));
	printf("%6" PRIu64 "  %-8s  %-20s  %6lld  %9.3f  %8.3f  %8.3f  %9.3f  0x%04" PRIx64 "\n",
	       seq, r.type == ECO2_REC_TRIP ? "trip" : "charging", start,
	       (long long)((r.end_s - r.start_s) / 60), (double)r.distance_m / 1000,
	       (double)r.discharge_wh / 1000, (double)r.regen_wh / 1000,
	       (double)r.co2_g / 1000, r.flags);
	c->shown++;
	return 0;
}

int ctl_trips(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct trips_ctx c = { .since_s = INT64_MIN };
	struct eco2_config cfg;
	queue_t *q = NULL;
	int opt, ret = 1;

	memset(&cfg, 0, sizeof(cfg));
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != 's' || parse_time(optarg, &c.since_s)) {
			fprintf(stderr, "usage: eco2ctl [-c FILE] trips [--since UTC-SECONDS|YYYY-MM-DD[THH:MM:SS]]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "eco2ctl: trips: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (open_store(&cfg, &q))
		goto out;
	printf("%6s  %-8s  %-20s  %6s  %9s  %8s  %8s  %9s  %s\n", "seq", "type", "start (UTC)",
	       "min", "km", "kWh out", "kWh reg", "kg CO2", "flags");
	if (queue_walk(q, 1, print_trip, &c))
		goto out;
	ret = c.bad ? 1 : 0;
out:
	queue_close(q);
	config_free(&cfg);
	return ret;
}

/* ---- export ----------------------------------------------------------------- */

static int write_record(uint64_t seq, const uint8_t *bytes, size_t len, void *ctx)
{
	unsigned long *n = ctx;
	(void)seq;

	if (fwrite(bytes, 1, len, stdout) != len)
		return -EIO;
	(*n)++;
	return 0;
}

/* The receipts file is written the durable way: a temporary file, fsync,
 * rename. */
static int write_receipt(const struct queue_receipt *r, void *ctx)
{
	FILE *f = ctx;

	return fwrite(r->text, 1, r->len, f) == r->len ? 0 : -EIO;
}

static int export_receipts(queue_t *q, uint64_t from, const char *path)
{
	char tmp[4096];
	FILE *f;
	int ret = -EIO;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f) {
		fprintf(stderr, "eco2ctl: export: %s: %s\n", tmp, strerror(errno));
		return -errno;
	}
	if (!queue_receipts_walk(q, from, write_receipt, f) && !fflush(f) && !fsync(fileno(f)))
		ret = 0;
	if (fclose(f) && !ret)
		ret = -EIO;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		fprintf(stderr, "eco2ctl: export: writing the receipts to %s failed\n", path);
		unlink(tmp);
	}
	return ret;
}

int ctl_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "receipts", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *receipts = NULL;
	struct eco2_config cfg;
	unsigned long long from = 1;
	unsigned long n = 0;
	queue_t *q = NULL;
	int opt, ret = 1;
	char *end;

	memset(&cfg, 0, sizeof(cfg));
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'r') {
			receipts = optarg;
			continue;
		}
		errno = 0;
		end = NULL;
		/* strtoull takes "-1" as 2^64 - 1, and the store's seqs are
		 * SQLite integers (int64): both would walk from the start. */
		if (opt == 'f' && optarg[strspn(optarg, " \t")] != '-')
			from = strtoull(optarg, &end, 10);
		if (opt != 'f' || !end || errno || *end || end == optarg || from < 1 ||
		    from > INT64_MAX) {
			fprintf(stderr, "usage: eco2ctl [-c FILE] export [--from SEQ] [--receipts FILE] > records.cbor\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "eco2ctl: export: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (isatty(STDOUT_FILENO)) {
		fprintf(stderr, "eco2ctl: export writes binary CBOR; redirect it to a file\n");
		return 2;
	}
	if (open_store(&cfg, &q))
		goto out;
	/* A CBOR sequence (RFC 8742) is the records back to back, in seq order. */
	if (queue_walk(q, from, write_record, &n) || fflush(stdout)) {
		fprintf(stderr, "eco2ctl: export: write error\n");
		goto out;
	}
	if (receipts && export_receipts(q, from, receipts))
		goto out;
	fprintf(stderr, "eco2ctl: exported %lu records from seq %llu%s%s\n", n, from,
		receipts ? ", their receipts to " : "", receipts ? receipts : "");
	ret = 0;
out:
	queue_close(q);
	config_free(&cfg);
	return ret;
}
