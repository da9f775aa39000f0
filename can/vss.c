/* vss — roles as COVESA VSS 4.0 signals (see vss.h). */
#include <stddef.h>

#include "lib/compiler.h"
#include "can/vss.h"

static const struct vss_signal signals[ROLE_COUNT] = {
	[ROLE_ODOMETER] = { "Vehicle.TraveledDistance", "km", VSS_FLOAT, 0.001 },
	[ROLE_SPEED] = { "Vehicle.Speed", "km/h", VSS_FLOAT, 1 },
	[ROLE_PACK_VOLTAGE] = { "Vehicle.Powertrain.TractionBattery.CurrentVoltage", "V", VSS_FLOAT, 1 },
	/* VSS counts current into the pack as positive, we count discharge */
	[ROLE_PACK_CURRENT] = { "Vehicle.Powertrain.TractionBattery.CurrentCurrent", "A", VSS_FLOAT, -1 },
	[ROLE_DISCHARGE_TOTAL] = { "Vehicle.Powertrain.TractionBattery.AccumulatedConsumedEnergy", "kWh",
				   VSS_FLOAT, 0.001 },
	[ROLE_REGEN_TOTAL] = { "Vehicle.Powertrain.AccumulatedBrakingEnergy", "kWh", VSS_FLOAT, 0.001 },
	[ROLE_IGNITION] = { "Vehicle.LowVoltageSystemState", "", VSS_STRING, 1 },
	[ROLE_CHARGING] = { "Vehicle.Powertrain.TractionBattery.Charging.IsCharging", "", VSS_BOOLEAN, 1 },
};

const struct vss_signal *vss_of(enum eco2_role role)
{
	return (unsigned)role < ROLE_COUNT ? &signals[role] : NULL;
}

void vss_value(enum eco2_role role, double value, double *num, const char **str, bool *flag)
{
	const struct vss_signal *s = vss_of(role);

	*num = s ? value * s->factor : value;
	*str = value != 0 ? "ON" : "OFF";
	*flag = value != 0;
	/* -0.0 reads oddly: a current of zero is zero either way */
	if (*num == 0)
		*num = 0;
}
