/* params — the daemon's configuration turned into the options of the
 * modules it wires together, so that no module below agent/ sees the
 * configuration: the trip calculator's parameters (from the configuration
 * and the vehicle profile, the same for eco2d, eco2ctl and trip-replay)
 * and the uploader's options. */
#ifndef ECO2_PARAMS_H
#define ECO2_PARAMS_H

#include "agent/config.h"
#include "agent/trip.h"
#include "can/profile.h"
#include "upload/ledger.h"

/* Fill *tp: [trip] limits, [method] parameters (as the record's integers),
 * [vehicle] vin (borrowed from cfg), the roles the profile maps and where
 * its odometer counter wraps. */
void trip_params_for(struct trip_params *tp, const struct eco2_config *cfg,
		     const profile_t *p);

/* Only what the profile decides: the roles it maps and where its odometer
 * counter wraps (the rest of *tp is left as it is). */
void trip_params_for_profile(struct trip_params *tp, const profile_t *p);

/* What every record names as its origin (record format version 2): the
 * software, "eco2d/" and the build's version, and the vehicle profile,
 * SHA-256 over the profile file at profile_path and the DBC it loaded
 * (crypto/cose.h cose_profile_sha256). 0, or -errno with the file named
 * in the log. */
int trip_params_origin(struct trip_params *tp, const char *profile_path,
		       const profile_t *p) __must_check;

/* Fill *o from [ledger] and [upload]. The strings point into cfg. */
void ledger_opts_for(struct ledger_opts *o, const struct eco2_config *cfg);

#endif
