/* co2 — the CO2-avoided methodology eco2-ev-v1. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "crypto/co2.h"

/* Every methodology this build computes. A new one is added here, with
 * its computation and docs/methodology.md. */
static const char *const methods[] = {
	CO2_METHOD_ID,
};

bool co2_method_known(const char *id)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (id && !strcmp(id, methods[i]))
			return true;
	return false;
}

const char *co2_methods_known(void)
{
	static char list[sizeof(methods) / sizeof(methods[0]) * (CO2_METHOD_ID_MAX + 2)];

	if (!list[0])
		for (size_t i = 0, o = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
					      methods[i]);
	return list;
}

static int64_t round_half_away(double v)
{
	return (int64_t)(v < 0 ? -floor(-v + 0.5) : floor(v + 0.5));
}

void co2_params_from_config(struct co2_params *p, double baseline_g_per_km,
			    double grid_g_per_kwh, double charge_efficiency,
			    double td_loss)
{
	p->baseline_mg_per_km = round_half_away(baseline_g_per_km * 1000.0);
	p->grid_mg_per_kwh = round_half_away(grid_g_per_kwh * 1000.0);
	p->charge_eff_permille = round_half_away(charge_efficiency * 1000.0);
	p->td_loss_permille = round_half_away(td_loss * 1000.0);
}

/* num / den rounded half away from zero; den > 0. */
static int64_t div_round(int64_t num, int64_t den)
{
	int64_t q = num / den, r = num % den;

	if (r < 0)
		r = -r;
	if (r >= den - r)
		q += num < 0 ? -1 : 1;
	return q;
}

int co2_avoided_g(const struct co2_params *p, int64_t distance_m,
		  int64_t discharge_wh, int64_t regen_wh, int64_t *co2_g)
{
	int64_t den, be, pe, net, diff;

	/* Over the common denominator eff_pm x 10^6, in 64-bit integers
	 * (32-bit targets have no wider type); any overflow is refused:
	 *   BE = distance_m x baseline_mg / 10^6
	 *   PE = net_Wh x grid_mg x (1000 + td_pm) / (eff_pm x 10^6) */
	if (p->charge_eff_permille < 1 || p->charge_eff_permille > 1000 ||
	    p->td_loss_permille < 0 || p->td_loss_permille > 1000 ||
	    p->baseline_mg_per_km < 0 || p->grid_mg_per_kwh < 0 ||
	    distance_m < 0 || discharge_wh < 0 || regen_wh < 0)
		return -EINVAL;

	den = p->charge_eff_permille * 1000000;
	if (__builtin_mul_overflow(distance_m, p->baseline_mg_per_km, &be) ||
	    __builtin_mul_overflow(be, p->charge_eff_permille, &be) ||
	    __builtin_sub_overflow(discharge_wh, regen_wh, &net) ||
	    __builtin_mul_overflow(net, p->grid_mg_per_kwh, &pe) ||
	    __builtin_mul_overflow(pe, 1000 + p->td_loss_permille, &pe) ||
	    __builtin_sub_overflow(be, pe, &diff))
		return -ERANGE;
	*co2_g = div_round(diff, den);
	return 0;
}
