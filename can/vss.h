/* vss — the COVESA Vehicle Signal Specification name of every role.
 *
 * Fleet tooling that speaks VSS (KUKSA, ...) reads our values under these
 * paths, in VSS's units and sign conventions, which are not always ours:
 *
 *   role                    VSS 4.0 path                                          unit   from ours
 *   odometer                Vehicle.TraveledDistance                              km     m / 1000
 *   speed                   Vehicle.Speed                                         km/h   as is
 *   pack_voltage            Vehicle.Powertrain.TractionBattery.CurrentVoltage     V      as is
 *   pack_current            Vehicle.Powertrain.TractionBattery.CurrentCurrent     A      negated (VSS: + = into the pack)
 *   discharge_energy_total  Vehicle.Powertrain.TractionBattery.AccumulatedConsumedEnergy  kWh  Wh / 1000
 *   regen_energy_total      Vehicle.Powertrain.AccumulatedBrakingEnergy           kWh    Wh / 1000
 *   ignition                Vehicle.LowVoltageSystemState                         -      "ON" / "OFF"
 *   charging                Vehicle.Powertrain.TractionBattery.Charging.IsCharging  -    true / false
 *
 * The catalogue is pinned to VSS 4.0: later releases change some of these
 * (Vehicle.TraveledDistance becomes an unsigned integer in metres in the
 * development tree). docs/polling.md explains each choice. */
#ifndef ECO2_VSS_H
#define ECO2_VSS_H

#include <stdbool.h>

#include "can/sample.h"

#define VSS_VERSION "4.0"

enum vss_type { VSS_FLOAT, VSS_STRING, VSS_BOOLEAN };

struct vss_signal {
	const char *path;
	const char *unit;       /* VSS's unit token; "" for none */
	enum vss_type type;
	double factor;          /* VSS value = our canonical value x factor (floats) */
};

/* The VSS signal of `role`, or NULL for a role beyond the table. */
const struct vss_signal *vss_of(enum eco2_role role);

/* A canonical value as VSS has it: *num for a float, *str for a string
 * ("ON", "OFF"), *flag for a boolean. */
void vss_value(enum eco2_role role, double value, double *num, const char **str, bool *flag);

#endif
