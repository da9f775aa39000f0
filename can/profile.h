/* profile — a vehicle profile: which CAN signals carry which role.
 *
 * An INI file (libinih) binds the roles of can/sample.h to DBC signals:
 *
 *   [vehicle]
 *   name = Reference EV
 *   dbc = reference.dbc            ; relative to the profile, or absolute
 *   ; j1939 = builtin              ; instead of dbc: the built-in J1939 set
 *   [signals]                      ; value: MessageName.SignalName
 *   odometer = VCU_Odometer.Odometer             ; required
 *   speed = VCU_Speed.VehicleSpeed
 *   pack_voltage = BMS_Pack.PackVoltage          ; with pack_current:
 *   pack_current = BMS_Pack.PackCurrent          ;   energy = integral V*I
 *   discharge_energy_total = ...                 ; or lifetime counters
 *   regen_energy_total = ...
 *   ignition = VCU_Status.Ignition               ; non-zero = on
 *   charging = VCU_Status.Charging               ; non-zero = charging
 *   odometer_unit = km             ; optional, any role: overrides the DBC
 *   [options]
 *   current_positive = discharge   ; or: charge (the vehicle's convention)
 *
 * A car that must be asked declares its requests, one section each
 * (can/diag.h; can/profiles/README.md documents every key):
 *
 *   [poll]                         ; optional, for every request
 *   bitrate = 500000               ; the bus, for the load budget
 *   budget_pct = 1                 ; worst-case share of the bus polling may take
 *   padding = AA                   ; pad requests to 8 bytes (or: none)
 *   j1939_source_address = FB      ; our address in J1939 requests
 *   [poll.bms]
 *   ecu = 7E4 7EC                  ; request id, answer id (hex; 29-bit: 8 digits)
 *   request = 22 01 01             ; a read: 01 PID, 09 INFOTYPE, 21 LID, 22 DID
 *   driving_s = 1                  ; interval per state; 0: never
 *   charging_s = 10
 *   parked_s = 0
 *   timeout_ms = 200               ; P2;  pending_ms = 5000: P2* after NRC 0x78
 *   pack_current = 10:2 signed * 0.1 A   ; POS[:LEN|.BIT] [signed] [le]
 *   pack_voltage = 12:2 * 0.1 V          ;   [* SCALE] [+|- OFFSET] [UNIT]
 *   ignition = 50.2                      ; bit 2 of byte 50
 *   [poll.distance]
 *   j1939 = 65217                  ; J1939: request this PGN; [signals] decodes it
 *
 * A role is mapped once, in [signals] or in one [poll.NAME]. A profile
 * whose roles are all polled needs no DBC. The worst-case bus load of the
 * declared requests in each state must stay within budget_pct.
 *
 * Units come from each signal's DBC unit string (km, m, mi, km/h, m/s, mph,
 * V, mV, A, mA, Wh, kWh; case-insensitive) or the <role>_unit override,
 * and are converted to the canonical units of can/sample.h. A role whose
 * unit is missing or of the wrong kind is an error, as is an unknown
 * section, key, message or signal: each reported as "file:line: why".
 *
 * profile_decode turns one received frame into samples with the decoder's
 * subset mode: only the mapped signals are decoded. */
#ifndef ECO2_PROFILE_H
#define ECO2_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/compiler.h"
#include "can/canlog.h"
#include "can/dbc.h"
#include "can/diag.h"
#include "can/sample.h"
#include "can/socketcan.h"

typedef struct profile profile_t;

/* Load the profile at `path` and the DBC it names. Returns 0 and *out
 * (free with profile_free), -errno for I/O, -EINVAL for a bad profile or
 * DBC (every problem logged), -ENOMEM. */
int profile_load(profile_t **out, const char *path) __must_check;

/* The same from memory; `name` is used in messages, relative DBC paths
 * start at `base_dir` (NULL: the current directory). */
int profile_load_buffer(profile_t **out, const char *name, const char *text,
			size_t len, const char *base_dir) __must_check;

void profile_free(profile_t *p);   /* NULL is fine */

const char *profile_name(const profile_t *p);      /* [vehicle] name, or "" */
const dbc_t *profile_dbc(const profile_t *p);      /* owned by the profile */
/* The DBC file it was loaded from (a path relative to the profile's
 * folder resolved), or NULL for the built-in J1939 DBC. */
const char *profile_dbc_path(const profile_t *p);
bool profile_is_j1939(const profile_t *p);

/* The signal mapped to `role`, or NULL. */
const struct dbc_signal *profile_signal(const profile_t *p, enum eco2_role role);

/* canonical value = signal physical value * factor (pack current includes
 * the sign from current_positive). 0 when the role is not mapped. */
double profile_unit_factor(const profile_t *p, enum eco2_role role);

/* Kernel filter entries for every message the profile needs (at most
 * `max`). Returns how many, or -E2BIG when `max` is too small. */
ssize_t profile_filters(const profile_t *p, struct socketcan_id *out, size_t max) __must_check;

/* Decode frame `f` into at most `max` samples (ROLE_COUNT always
 * suffices unless one message maps a role twice, which loading forbids).
 * Returns how many; 0 for frames the profile does not use, remote and
 * error frames, and signals absent from a short frame or, for J1939, the
 * "error" / "not available" codes. */
int profile_decode(const profile_t *p, const struct can_frame_rec *f,
		   struct eco2_sample *out, size_t max);

/* Encoder for the simulator: write the canonical `value` of `role` into
 * `data` (`len` bytes, other bits untouched), setting the multiplexer
 * switch of a multiplexed signal as well. *id / *is_ext (may be NULL) get
 * the frame's id (J1939: canonical, source address 0). Returns 0, -ENOENT
 * when the role is not mapped, or dbc_encode_signal's error. */
int profile_encode(const profile_t *p, enum eco2_role role, double value,
		   uint8_t *data, size_t len, uint32_t *id, bool *is_ext) __must_check;

/* "odometer", "pack_current", ...: the profile key of a role. */
const char *profile_role_name(enum eco2_role role);

/* Settings of the [poll] section (defaults: 500000 bit/s, 1 %, padding
 * 0xAA, J1939 source address 0xFB, the on-board data logger's). */
struct profile_poll_opts {
	uint32_t bitrate;
	double budget_pct;
	int padding;            /* 0..255, or -1: frames not padded */
	uint8_t j1939_sa;
};

/* The declared requests ([poll.NAME] sections, in file order; *n their
 * number, 0 for a profile that only listens), owned by the profile. */
const struct diag_req *profile_polls(const profile_t *p, size_t *n);
const struct profile_poll_opts *profile_poll_opts(const profile_t *p);

/* The request whose answer carries `role`, and where (*field); NULL when
 * the role is broadcast or not mapped. */
const struct diag_req *profile_poll_of(const profile_t *p, enum eco2_role role,
				       const struct diag_field **field);

/* Every role the profile maps, broadcast or polled: bit (1u << role). */
uint32_t profile_roles(const profile_t *p);

/* Where the odometer's counter wraps, in metres (its raw range times its
 * scale), broadcast or polled; 0 if unknown. */
double profile_odo_wrap_m(const profile_t *p);

#endif
