/* rules — every rule a record's content keeps, written once.
 *
 * docs/record-format.md §5 lists them by id; this is their one
 * implementation. eco2d checks a record with them before it signs it
 * (agent/agent.c), eco2-verify and the ledger when they read it (through
 * crypto/verify.h): the same functions, so the three cannot disagree.
 *
 * Each rule has a stable id ("time.order", "chain.odo_twice", ...) and a
 * severity per format version: breaking a FAIL rule makes the record fail
 * (it is not counted, the ledger refuses it); a WARN rule is shown in the
 * report and the record still counts. Some rules are excused by a flag
 * that explains the figures (an odometer that went back, flagged
 * odo_rollback): broken but excused, a FAIL rule is only a warning.
 *
 * Three groups:
 *   rules_check_record     the record on its own: ranges, what its type
 *                          carries, flags, times, odometer, distance, co2_g
 *   rules_check_signature  the signature's byte form (ES256 low-S)
 *   rules_check_follow     a record against the one before it in its chain
 *                          (times, odometer)
 * None allocates, logs or fails as a call: the findings are in *res. */
#ifndef ECO2_RULES_H
#define ECO2_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crypto/record.h"

enum rules_sev {
	RULES_OK = 0,
	RULES_WARN = 1,
	RULES_FAIL = 2,
};

/* Ranges (docs/record-format.md §5.1). */
#define RULES_TIME_MAX_S        INT64_C(253402300799)    /* 9999-12-31T23:59:59Z */
#define RULES_ODO_MAX_M         INT64_C(100000000000)    /* 100 million km */
#define RULES_DISTANCE_MAX_M    INT64_C(10000000)        /* 10,000 km per record */
#define RULES_ENERGY_MAX_WH     INT64_C(10000000)        /* 10 MWh per record */
#define RULES_FACTOR_MAX        INT64_C(10000000)        /* mg per km or per kWh */
#define RULES_ODO_STEP_MAX_M    2000                     /* a 1-mile odometer fits */
#define RULES_V1_ODO_STEP_M     1000                     /* assumed for version 1 */
#define RULES_SPEED_MAX_KMH     300

struct rules_finding {
	const char *rule;              /* the rule's id */
	enum rules_sev sev;            /* RULES_WARN or RULES_FAIL */
	char msg[200];                 /* what, with the figures */
};

#define RULES_FINDINGS_MAX 6

/* Findings of one or more checks, worst first within each call. */
struct rules_result {
	unsigned n;                    /* kept in f[] */
	unsigned n_fail, n_warn;       /* found, kept or not */
	struct rules_finding f[RULES_FINDINGS_MAX];
};

void rules_result_init(struct rules_result *res);

/* The first FAIL finding (NULL when none). */
const struct rules_finding *rules_first_fail(const struct rules_result *res);

/* The record alone. Returns the worst severity found. */
enum rules_sev rules_check_record(const struct eco2_record *r, struct rules_result *res);

/* The signature's byte form: alg COSE_ALG_ES256 needs s <= n/2 (FAIL in
 * version 2, WARN in version 1); EdDSA has one form already. */
enum rules_sev rules_check_signature(const struct eco2_record *r, int alg,
				     const uint8_t sig[64], struct rules_result *res);

/* cur after prev, the record just before it in its chain (the previous
 * record present: across missing seqs the rules still hold). Returns the
 * worst severity found. */
enum rules_sev rules_check_follow(const struct eco2_record *prev,
				  const struct eco2_record *cur,
				  struct rules_result *res);

/* Whether the record's odometer fields hold readings (not flagged
 * no_odometer). */
bool rules_has_odometer(const struct eco2_record *r);

/* The rule table, for reports and documentation. */
struct rules_info {
	const char *id;
	const char *what;              /* the rule, one sentence */
	enum rules_sev v1, v2;         /* severity when broken; RULES_OK: n/a */
	uint64_t excused_by;           /* ECO2_FLAG_* that turn FAIL into WARN */
};
const struct rules_info *rules_table(size_t *n);
const struct rules_info *rules_find(const char *id);

/* What flag `bit` means for the credit, one sentence (docs/methodology.md
 * §8); NULL for a bit not defined. */
const char *rules_flag_meaning(unsigned bit);

#endif
