/* record — one signed trip or charging-session record (docs/record-format.md).
 *
 * The payload is a deterministic CBOR map with integer keys; the record is
 * a tagged COSE_Sign1 around it. This struct is the decoded payload; the
 * comments give each field's CBOR key. */
#ifndef ECO2_RECORD_H
#define ECO2_RECORD_H

#include <stdbool.h>
#include <stdint.h>

/* The version eco2d writes; verifiers read ECO2_RECORD_VERSION_MIN up to
 * it. Version 2 adds keys 21 to 23 (odometer step, software, profile). */
#define ECO2_RECORD_VERSION      2
#define ECO2_RECORD_VERSION_MIN  1

enum eco2_record_type {
	ECO2_REC_TRIP = 1,
	ECO2_REC_CHARGE = 2,
};

/* Anomaly flags (payload key 18). Stable: certifiers read them. */
#define ECO2_FLAG_ODO_ROLLBACK    (1u << 0)  /* odometer went backwards */
#define ECO2_FLAG_ODO_JUMP        (1u << 1)  /* step faster than trip.max_speed_kmh */
#define ECO2_FLAG_ODO_STUCK       (1u << 2)  /* speed says moving, odometer did not */
#define ECO2_FLAG_DATA_GAP        (1u << 3)  /* a signal went silent; not interpolated */
#define ECO2_FLAG_CLOCK_JUMP      (1u << 4)  /* wall clock stepped during the trip */
#define ECO2_FLAG_FRAMES_DROPPED  (1u << 5)  /* kernel or bus dropped frames */
#define ECO2_FLAG_BUS_ERROR       (1u << 6)  /* bus-off or error-passive seen */
#define ECO2_FLAG_RESUMED         (1u << 7)  /* resumed from a checkpoint after a restart */
#define ECO2_FLAG_ODO_WRAP        (1u << 8)  /* odometer counter wrapped (handled) */
#define ECO2_FLAG_NO_ENERGY       (1u << 9)  /* no energy signal: energy fields are 0 */
#define ECO2_FLAG_NO_ODOMETER     (1u << 10) /* distance from speed alone */
#define ECO2_FLAG_ENDED_EARLY     (1u << 11) /* ended by end of log or shutdown */
#define ECO2_FLAG_STATE_BREAK     (1u << 12) /* saved state failed its check: a fresh start */
#define ECO2_FLAG_CLOCK_STUCK     (1u << 13) /* frame times did not advance */
#define ECO2_FLAG_BITS            14         /* bits 14 and up are reserved */

/* Text fields' capacities with their NUL (docs/record-format.md). */
#define ECO2_METHOD_MAX    32
#define ECO2_VIN_MAX       18
#define ECO2_SOFTWARE_MAX  48

struct eco2_record {
	uint32_t version;              /* 0: ECO2_RECORD_VERSION */
	uint8_t kid[8];                /* 1 */
	uint64_t seq;                  /* 2: 1, 2, 3, ... */
	uint8_t prev[32];              /* 3: SHA-256 of the previous COSE_Sign1 */
	uint32_t type;                 /* 4: enum eco2_record_type */
	int64_t start_s;               /* 5: UTC seconds */
	int64_t end_s;                 /* 6 */
	int64_t odo_start_m;           /* 7 */
	int64_t odo_end_m;             /* 8 */
	int64_t distance_m;            /* 9 */
	int64_t discharge_wh;          /* 10 */
	int64_t regen_wh;              /* 11 */
	int64_t co2_g;                 /* 12: may be negative */
	char method[ECO2_METHOD_MAX];  /* 13: e.g. "eco2-ev-v1" */
	int64_t baseline_mg_per_km;    /* 14 */
	int64_t grid_mg_per_kwh;       /* 15 */
	int64_t charge_eff_permille;   /* 16 */
	int64_t td_loss_permille;      /* 17 */
	uint64_t flags;                /* 18: ECO2_FLAG_* */
	bool has_vin;
	char vin[ECO2_VIN_MAX];        /* 19: optional, 17 characters */
	int64_t charged_wh;            /* 20: charging sessions only */
	/* Version 2 (absent, and zero here, in version 1): */
	int64_t odo_step_m;            /* 21: the odometer step distance is bounded by */
	char software[ECO2_SOFTWARE_MAX]; /* 22: the software that made it, "eco2d/1.0" */
	uint8_t profile_sha256[32];    /* 23: its vehicle profile and DBC */
};

#endif
