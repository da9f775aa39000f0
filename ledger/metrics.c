/* metrics — Prometheus text exposition of the ledger's figures. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "ledger/metrics.h"

struct lmetrics ledger_metrics;

/* seconds: 0.5 ms .. 10 s, then +Inf */
static const double bounds[LM_BUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

static const char *const reason_names[LM_REASONS] = {
	[LM_DECODE] = "decode", [LM_CLIENT] = "client", [LM_DEVICE] = "device", [LM_GAP] = "gap",
	[LM_PREV] = "prev", [LM_REPEAT] = "repeat", [LM_FORK] = "fork",
	[LM_SIGNATURE] = "signature", [LM_RULES] = "rules",
};

static const char *const refusal_names[LMR_REFUSALS] = {
	[LMR_RATE] = "rate", [LMR_BUSY] = "busy", [LMR_TOO_LARGE] = "too_large",
	[LMR_LENGTH] = "length", [LMR_CERT] = "certificate", [LMR_DEADLINE] = "deadline",
};

const char *lm_reason_name(enum lm_reason r)
{
	return r < LM_REASONS ? reason_names[r] : "?";
}

void lm_observe(struct lm_hist *h, uint64_t ns)
{
	double s = (double)ns / 1e9;
	size_t b = 0;

	while (b < LM_BUCKETS - 1 && s > bounds[b])
		b++;
	lm_add(&h->bucket[b], 1);
	lm_add(&h->count, 1);
	lm_add(&h->sum_ns, ns);
}

struct out {
	char *p;
	size_t len, cap;
	bool oom;
};

static void put(struct out *o, const char *fmt, ...) __printf(2, 3);
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if (o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		{
			size_t ncap = o->cap * 2;
			char *np = realloc(o->p, ncap);

			if (!np) {
				o->oom = true;
				return;
			}
			o->p = np;
			o->cap = ncap;
		}
	}
}

static uint64_t get(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static void hist(struct out *o, const char *name, const char *help, struct lm_hist *h)
{
	uint64_t cum = 0;

	put(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t b = 0; b < LM_BUCKETS; b++) {
		cum += get(&h->bucket[b]);
		if (b < LM_BUCKETS - 1)
			put(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[b], (unsigned long long)cum);
		else
			put(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	}
	put(o, "%s_sum %.6f\n%s_count %llu\n", name, (double)get(&h->sum_ns) / 1e9, name,
	    (unsigned long long)get(&h->count));
}

int lm_render(char **out, size_t *len)
{
	struct lmetrics *m = &ledger_metrics;
	struct out o = { malloc(8192), 0, 8192, false };

	*out = NULL;
	if (!o.p)
		return -ENOMEM;
	put(&o, "# HELP eco2_ledger_records_accepted_total Records stored and added to the tree.\n"
		"# TYPE eco2_ledger_records_accepted_total counter\n"
		"eco2_ledger_records_accepted_total %llu\n",
	    (unsigned long long)get(&m->accepted));
	put(&o, "# HELP eco2_ledger_records_duplicate_total Records already stored with the same bytes.\n"
		"# TYPE eco2_ledger_records_duplicate_total counter\n"
		"eco2_ledger_records_duplicate_total %llu\n",
	    (unsigned long long)get(&m->duplicate));
	put(&o, "# HELP eco2_ledger_records_refused_total Records refused, by reason.\n"
		"# TYPE eco2_ledger_records_refused_total counter\n");
	for (int r = 0; r < LM_REASONS; r++)
		put(&o, "eco2_ledger_records_refused_total{reason=\"%s\"} %llu\n", reason_names[r],
		    (unsigned long long)get(&m->refused[r]));
	put(&o, "# HELP eco2_ledger_requests_refused_total Requests refused before their body was read, by reason.\n"
		"# TYPE eco2_ledger_requests_refused_total counter\n");
	for (int r = 0; r < LMR_REFUSALS; r++)
		put(&o, "eco2_ledger_requests_refused_total{reason=\"%s\"} %llu\n", refusal_names[r],
		    (unsigned long long)get(&m->refusals[r]));
	put(&o, "# HELP eco2_ledger_responses_total Answers, by HTTP status.\n"
		"# TYPE eco2_ledger_responses_total counter\n");
	for (int s = 100; s < 600; s++)
		if (get(&m->status[s]))
			put(&o, "eco2_ledger_responses_total{code=\"%d\"} %llu\n", s,
			    (unsigned long long)get(&m->status[s]));
	put(&o, "# HELP eco2_ledger_tree_size Leaves in the Merkle tree, as this process last saw it.\n"
		"# TYPE eco2_ledger_tree_size gauge\neco2_ledger_tree_size %llu\n",
	    (unsigned long long)get(&m->tree_size));
	put(&o, "# HELP eco2_ledger_checkpoints_signed_total Checkpoints signed (receipts and published).\n"
		"# TYPE eco2_ledger_checkpoints_signed_total counter\neco2_ledger_checkpoints_signed_total %llu\n",
	    (unsigned long long)get(&m->checkpoints));
	put(&o, "# HELP eco2_ledger_receipt_bytes_total Bytes of receipts returned.\n"
		"# TYPE eco2_ledger_receipt_bytes_total counter\neco2_ledger_receipt_bytes_total %llu\n",
	    (unsigned long long)get(&m->receipt_bytes));
	put(&o, "# HELP eco2_ledger_forks_total Records signed by a device for a seq stored with other bytes.\n"
		"# TYPE eco2_ledger_forks_total counter\neco2_ledger_forks_total %llu\n",
	    (unsigned long long)get(&m->forks_seen));
	put(&o, "# HELP eco2_ledger_connections Open client connections.\n"
		"# TYPE eco2_ledger_connections gauge\neco2_ledger_connections %lld\n",
	    (long long)atomic_load_explicit(&m->connections, memory_order_relaxed));
	hist(&o, "eco2_ledger_ingest_seconds", "Time to decide and store one POST /v1/records.", &m->ingest);
	hist(&o, "eco2_ledger_proof_seconds", "Time to build one request's proofs and sign its checkpoint.",
	     &m->proof);
	if (o.oom) {
		free(o.p);
		return -ENOMEM;
	}
	*out = o.p;
	*len = o.len;
	return 0;
}
