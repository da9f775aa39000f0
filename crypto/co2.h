/* co2 — the CO2-avoided methodology eco2-ev-v1 (docs/methodology.md).
 *
 *   BE (g) = distance_km x baseline_g_per_km
 *   PE (g) = (discharge_Wh - regen_Wh) / 1000 / charge_efficiency
 *            x grid_g_per_kwh x (1 + td_loss)
 *   ER (g) = BE - PE
 *
 * The record carries integer parameters (mg/km, mg/kWh, per mille) and
 * co2_g is computed from them alone, exactly, in integers, rounded half
 * away from zero — so a certifier recomputes the same gram from the
 * record. The agent and the verifier call the same function. */
#ifndef ECO2_CO2_H
#define ECO2_CO2_H

#include <stdint.h>
#include "lib/compiler.h"

#include <stdbool.h>

#define CO2_METHOD_ID "eco2-ev-v1"
#define CO2_METHOD_ID_MAX 31     /* bytes: the record's field holds 31 and a NUL */

/* Whether this build computes methodology id: the one table that eco2d
 * (its configuration and start-up), eco2-verify and the ledger consult,
 * so that a device never signs records the others refuse as unknown. */
bool co2_method_known(const char *id);

/* The known ids, comma-separated, for messages. */
const char *co2_methods_known(void);

struct co2_params {
	int64_t baseline_mg_per_km;
	int64_t grid_mg_per_kwh;
	int64_t charge_eff_permille;   /* 1..1000 */
	int64_t td_loss_permille;      /* 0..1000 */
};

/* Config values (g/km, g/kWh, fractions) to the record's integers, each
 * rounded half away from zero. */
void co2_params_from_config(struct co2_params *p, double baseline_g_per_km,
			    double grid_g_per_kwh, double charge_efficiency,
			    double td_loss);

/* CO2 avoided in grams. 0 on success; -EINVAL for parameters or inputs
 * out of range; -ERANGE when an intermediate product would overflow 64
 * bits (not with physical figures: 10,000 km and 1 MWh fit easily). */
int co2_avoided_g(const struct co2_params *p, int64_t distance_m,
		  int64_t discharge_wh, int64_t regen_wh, int64_t *co2_g) __must_check;

#endif
