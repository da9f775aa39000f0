/* sample — what the CAN side hands the agent: one decoded value of one role.
 *
 * This is the only thing agent/ learns from can/. Values are converted to
 * the role's canonical unit by the vehicle profile (DBC unit string or a
 * <role>_unit override), and pack current is signed so that positive means
 * discharge whatever the vehicle's convention. */
#ifndef ECO2_SAMPLE_H
#define ECO2_SAMPLE_H

#include <stdint.h>

enum eco2_role {
	ROLE_ODOMETER,          /* m */
	ROLE_SPEED,             /* km/h */
	ROLE_PACK_VOLTAGE,      /* V */
	ROLE_PACK_CURRENT,      /* A, positive = discharge */
	ROLE_DISCHARGE_TOTAL,   /* Wh, lifetime counter */
	ROLE_REGEN_TOTAL,       /* Wh, lifetime counter */
	ROLE_IGNITION,          /* 0 off, 1 on */
	ROLE_CHARGING,          /* 0 no, 1 charging */
	ROLE_COUNT
};

struct eco2_sample {
	uint64_t t_ns;          /* frame time: kernel timestamp or log time, ns since the epoch */
	enum eco2_role role;
	double value;           /* canonical unit above */
};

/* Events the CAN side reports besides samples. */
enum eco2_can_event {
	CAN_EV_FRAMES_DROPPED,  /* kernel overflow counter rose (count in value) */
	CAN_EV_BUS_OFF,
	CAN_EV_ERROR_PASSIVE,
	CAN_EV_IFACE_DOWN,
	CAN_EV_IFACE_UP,
};

#endif
