/* approved — the methodology parameters a certifier approved, per period
 * (eco2-verify --require-params FILE; the format is documented in
 * eco2-verify(1) and docs/record-format.md §7):
 *
 *   # approved for the 2026 crediting period
 *   [period 2026-01-01 2027-01-01]
 *   method = eco2-ev-v1
 *   baseline_mg_per_km = 169056
 *   grid_mg_per_kwh = 530600
 *   charge_eff_permille = 900
 *   td_loss_permille = 0
 *   software = eco2d/0.1+g1a2b3c4d5e6f, eco2d/0.2     ; optional
 *   profile_sha256 = 3f5a...64 hex digits..., ...      ; optional
 *
 * A period runs from its first date (inclusive) to its second (exclusive),
 * UTC; a bound is YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ. Periods do not
 * overlap. The five methodology keys are required in every period;
 * software and profile_sha256, when given, list the approved ones (a
 * version 1 record, which names neither, then fails). A record belongs to
 * the period its start_s falls in. */
#ifndef ECO2_APPROVED_H
#define ECO2_APPROVED_H

#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"
#include "crypto/record.h"

#define APPROVED_LIST_MAX 16      /* software ids or profile hashes per period */
#define APPROVED_PERIODS_MAX 256

struct approved_period {
	int64_t from_s, to_s;         /* [from, to) */
	unsigned line;                /* of its [period ...] header */
	char method[ECO2_METHOD_MAX];
	int64_t baseline_mg_per_km, grid_mg_per_kwh, charge_eff_permille, td_loss_permille;
	unsigned n_software, n_profile;
	char software[APPROVED_LIST_MAX][ECO2_SOFTWARE_MAX];
	uint8_t profile[APPROVED_LIST_MAX][32];
};

struct approved {
	char name[256];               /* the file, for messages */
	size_t n;
	struct approved_period *p;    /* sorted by from_s */
};

/* Parse text[len] (name is used in messages). Errors are logged as
 * "name:line: why", every one of them; any error fails the whole file.
 * 0, -EINVAL, -ENOMEM. */
int approved_parse(struct approved *a, const char *name, const char *text,
		   size_t len) __must_check;

/* approved_parse of a file read with a bound. 0, -EINVAL, -ENOMEM or the
 * read's -errno. */
int approved_load(struct approved *a, const char *path) __must_check;

void approved_free(struct approved *a);

/* Does r use approved parameters (and, where listed, approved software
 * and profile)? 0; -EDOM with why[why_len] saying which figure differs
 * (and the period's line); -ENOENT when no period holds r's start. */
int approved_check(const struct approved *a, const struct eco2_record *r, char *why,
		   size_t why_len) __must_check;

/* The period holding t, or NULL. */
const struct approved_period *approved_find(const struct approved *a, int64_t t);

#endif
