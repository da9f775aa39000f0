/* vehicle — a longitudinal model of a battery-electric car for eco2-sim.
 *
 * Road load at the wheels:
 *   F = m k a + 1/2 rho CdA v^2 + Crr m g        (Crr only while moving)
 *   P_wheel = F v
 * Pack power (positive = out of the pack):
 *   P_wheel >= 0: P = P_wheel / eta_drive + P_aux
 *   P_wheel <  0: P = -min(-P_wheel eta_regen, P_regen_max) + P_aux
 *   charging:     P = -P_charger (at the pack terminals) + P_aux_parked
 * Pack: terminal voltage V = OCV(SOC) - I R and P = V I, so
 *   I = (OCV - sqrt(OCV^2 - 4 R P)) / (2 R)
 * and SOC falls by I dt / capacity. Each step holds the acceleration
 * constant and evaluates the load at its mid-point. */
#ifndef ECO2_VEHICLE_H
#define ECO2_VEHICLE_H

#include <stdbool.h>
#include <stdio.h>
#include "lib/compiler.h"

#define VEHICLE_OCV_POINTS 11   /* OCV at SOC 0, 0.1, ..., 1 */

struct vehicle_params {
	double mass_kg;             /* test mass incl. driver */
	double inertia_factor;      /* k: rotating masses, >= 1 */
	double cda_m2;              /* drag coefficient x frontal area */
	double crr;                 /* rolling resistance coefficient */
	double air_density;         /* kg/m^3 */
	double drive_eff;           /* pack -> wheel, 0..1 */
	double regen_eff;           /* wheel -> pack, 0..1 */
	double regen_max_w;         /* at the pack */
	double aux_w;               /* HVAC, 12 V, while the ignition is on */
	double aux_parked_w;        /* while charging */
	double capacity_ah;
	double r_ohm;               /* pack internal resistance */
	double ocv_v[VEHICLE_OCV_POINTS];
	double soc_start;           /* 0..1 */
};

/* The reference vehicle (can/profiles/reference.profile): a 1,850 kg
 * C-segment EV with a 96s NMC pack of 60 kWh. */
void vehicle_params_default(struct vehicle_params *p);

/* Set one parameter by name ("mass_kg", "cda_m2", ..., "ocv_v" as 11
 * comma-separated volts). 0, -ENOENT (unknown key) or -EINVAL (bad or out
 * of range value). */
int vehicle_param_set(struct vehicle_params *p, const char *key, const char *value) __must_check;

/* Every parameter, "key = value" lines, for --help and logs. */
void vehicle_params_print(const struct vehicle_params *p, FILE *out);

struct vehicle {
	struct vehicle_params p;
	double soc;
	double speed_ms;
	double odo_m;               /* true distance, never quantised */
	double ocv_v;
	double v_term_v;            /* last step's terminal voltage */
	double i_a;                 /* last step's current, + = discharge */
	double p_pack_w;            /* last step's pack power */
	/* Integrals at the pack terminals, Wh. */
	double discharge_wh;        /* P > 0 while driving */
	double regen_wh;            /* -P while driving with P < 0 */
	double charged_wh;          /* -P while charging */
	double chem_wh;             /* OCV x I: what the cells gave (- = took) */
	double loss_wh;             /* I^2 R */
	double wheel_pos_wh;        /* traction energy at the wheels */
	double wheel_neg_wh;        /* braking energy at the wheels */
};

void vehicle_init(struct vehicle *v, const struct vehicle_params *p);

/* Open-circuit voltage at soc (clamped to 0..1), linear in the table. */
double vehicle_ocv(const struct vehicle_params *p, double soc);

/* Drive dt_s with the speed going linearly from the current speed to
 * speed_ms (>= 0). */
void vehicle_drive(struct vehicle *v, double speed_ms, double dt_s);

/* Charge for dt_s with charger_w delivered at the pack terminals. */
void vehicle_charge(struct vehicle *v, double charger_w, double dt_s);

/* Parked and asleep: no current. */
void vehicle_park(struct vehicle *v, double dt_s);

#endif
