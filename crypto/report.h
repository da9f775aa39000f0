/* report — what eco2-verify found, for people and programs: a per-record
 * table, totals per day and per vehicle, the parameters used against the
 * approved ones, flags and what they mean for the credit, problems and
 * warnings, the key and the certificate; written as text, as one JSON
 * object (docs/verify-report.schema.json) or as one self-contained HTML
 * page (no script, no network, no external asset; charts as inline SVG).
 *
 * The verifier feeds it: every item of the file in file order
 * (report_item), every event of the chain (report_event), and any later
 * check's problems (report_problem, report_fail_row: a certificate not
 * valid at a record's time, unapproved parameters, or a completeness
 * check against a ledger). report_finish then counts, and the writers
 * only read. Memory: one row of about 130 bytes per record; problems and
 * warnings kept up to REPORT_LIST_MAX each (all counted). */
#ifndef ECO2_REPORT_H
#define ECO2_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "lib/compiler.h"
#include "crypto/verify.h"
#include "crypto/x509.h"

#define REPORT_LIST_MAX 100000

typedef struct report report_t;

/* How days are told (a trip belongs to the day it starts). */
struct report_tz {
	char name[64];           /* "UTC", "+02:00", or an IANA name */
	bool fixed;              /* offset_s applies; else the IANA zone */
	int32_t offset_s;
};

/* --tz: "UTC", "Z", "+HH:MM" / "-HH:MM", or an IANA name known to the
 * system's zone database. 0 or -EINVAL. */
int report_tz_parse(struct report_tz *tz, const char *s) __must_check;

struct report_opts {
	const char *input;       /* the file's name, as given */
	struct report_tz tz;
	const char *generator;   /* "eco2-verify 0.1+g..." */
};

int report_new(report_t **out, const struct report_opts *o) __must_check;
void report_free(report_t *r);

/* The key the records were checked against. */
void report_key(report_t *r, verify_key_t *key, const char *source);
/* The device certificate (source "certificate"): its details, whether it
 * verified, and at what time (X509_AT_RECORDS: each record's). */
void report_certificate(report_t *r, const struct x509_info *info, bool ok,
			const char *problem, int64_t at_s);
/* The --require-params file, for the parameters section. */
struct approved;
void report_approved(report_t *r, const struct approved *a);

/* One item of the file, in file order, with whether the chain counted it.
 * Tail items (bytes after a record) are not rows. Returns the row's index,
 * or -ENOMEM. */
long report_item(report_t *r, const struct verify_item *it, bool counted);

/* A problem or warning of the chain. */
void report_event(report_t *r, const struct verify_event *ev);

/* A problem found after the chain, about seq (0: the file as a whole). */
void report_problem(report_t *r, uint64_t seq, const char *code, const char *fmt, ...)
	__printf(4, 5);

/* A row that a later check failed: no longer counted. */
void report_fail_row(report_t *r, size_t row);
/* The outcome of the --require-params check of a row (the parameters
 * section says which sets were approved). */
void report_row_approved(report_t *r, size_t row, bool ok);

/* The rows, for later checks. */
struct report_row {
	uint64_t seq;             /* as the record says (0: not decoded) */
	int64_t start_s, end_s;
	int64_t odo_start_m, odo_end_m;
	int64_t distance_m, discharge_wh, regen_wh, charged_wh, co2_g;
	uint64_t flags;
	int32_t odo_step_m;       /* 0 in version 1 */
	uint32_t params;          /* index of its parameter set */
	uint32_t origin;          /* index of its software and profile */
	uint32_t vin;             /* index of its VIN (0: none) */
	uint32_t warnings;        /* warnings about it */
	uint8_t version, type;
	bool decoded, signed_ok, counted;
};
size_t report_rows(const report_t *r);
const struct report_row *report_row(const report_t *r, size_t i);
/* The record of row i, for a later check: only its fields the row keeps
 * (no kid, prev or signature). */
void report_row_record(const report_t *r, size_t i, struct eco2_record *out);

/* Totals and groups; call once, after the last problem. */
void report_finish(report_t *r);

/* true when nothing failed. */
bool report_ok(const report_t *r);
size_t report_problems_total(const report_t *r);

/* progress(ctx, done, total) is called now and then while writing (may
 * be NULL). 0, or -EIO when the stream fails. */
typedef void report_progress_fn(void *ctx, size_t done, size_t total);
int report_write_text(report_t *r, FILE *f, bool problems_to_stderr) __must_check;
int report_write_json(report_t *r, FILE *f) __must_check;
int report_write_html(report_t *r, FILE *f, report_progress_fn *progress,
		      void *ctx) __must_check;

#endif
