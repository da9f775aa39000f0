/* j1939 — identifiers and the built-in DBC (see j1939.h, docs/j1939.md). */
#include <errno.h>
#include <string.h>

#include "can/j1939.h"

#define ID29_MASK   0x1fffffffu
#define EDP_BIT     (1u << 25)
#define DP_BIT      (1u << 24)

int j1939_parse_id(uint32_t id, struct j1939_id *out)
{
	uint8_t pf, ps;

	if (id & ~ID29_MASK)
		return -EINVAL;
	if ((id & EDP_BIT) && (id & DP_BIT))
		return -EPROTO;
	pf = (uint8_t)(id >> 16);
	ps = (uint8_t)(id >> 8);
	out->priority = (uint8_t)((id >> 26) & 7);
	out->sa = (uint8_t)id;
	out->pdu1 = pf < 240;
	out->pgn = ((id >> 8) & 0x3ff00u) | (out->pdu1 ? 0 : ps);
	out->da = out->pdu1 ? ps : J1939_ADDR_GLOBAL;
	return 0;
}

uint32_t j1939_make_id(uint8_t priority, uint32_t pgn, uint8_t da, uint8_t sa)
{
	uint32_t pf = (pgn >> 8) & 0xff;
	uint32_t id = (uint32_t)(priority & 7) << 26 | (pgn & 0x3ff00u) << 8 | sa;

	id |= (pf < 240 ? da : (pgn & 0xff)) << 8;
	return id;
}

uint32_t j1939_pgn_mask(uint32_t pgn)
{
	uint32_t pf = (pgn >> 8) & 0xff;

	return pf < 240 ? 0x03ff0000u : 0x03ffff00u;
}

uint32_t j1939_canonical_id(uint32_t id)
{
	struct j1939_id j;

	if (j1939_parse_id(id & ID29_MASK, &j))
		return id;
	return j1939_make_id(J1939_PRIO_CANONICAL, j.pgn, 0, 0);
}

bool j1939_raw_valid(uint64_t raw, unsigned bits)
{
	if (!bits || bits > 64)
		return false;
	if (bits < 8)
		return raw < (1ull << bits) - 2;   /* top two codes: error, n/a */
	return (raw >> (bits - 8) & 0xff) <= 0xfa;
}

/* Written from the J1939-71 parameter definitions cited in docs/j1939.md.
 * Ids: canonical (priority 6, SA 0) with bit 31 set, as DBC marks 29-bit
 * ids. Ranges are the J1939 data ranges; raw codes above them are filtered
 * with j1939_raw_valid. */
static const char builtin_dbc[] =
	"VERSION \"eco2 J1939 built-in\"\n"
	"\n"
	"NS_ :\n"
	"\tCM_\n\tBA_DEF_\n\tBA_\n\tBA_DEF_DEF_\n"
	"\n"
	"BS_:\n"
	"\n"
	"BU_:\n"
	"\n"
	"BO_ 2566832384 HRVD: 8 Vector__XXX\n"
	" SG_ HighResTotalVehicleDistance : 0|32@1+ (5,0) [0|21055406075] \"m\" Vector__XXX\n"
	" SG_ HighResTripDistance : 32|32@1+ (5,0) [0|21055406075] \"m\" Vector__XXX\n"
	"\n"
	"BO_ 2566840320 VD: 8 Vector__XXX\n"
	" SG_ TripDistance : 0|32@1+ (0.125,0) [0|526385151.875] \"km\" Vector__XXX\n"
	" SG_ TotalVehicleDistance : 32|32@1+ (0.125,0) [0|526385151.875] \"km\" Vector__XXX\n"
	"\n"
	"BO_ 2566844672 CCVS1: 8 Vector__XXX\n"
	" SG_ TwoSpeedAxleSwitch : 0|2@1+ (1,0) [0|3] \"\" Vector__XXX\n"
	" SG_ ParkingBrakeSwitch : 2|2@1+ (1,0) [0|3] \"\" Vector__XXX\n"
	" SG_ WheelBasedVehicleSpeed : 8|16@1+ (0.00390625,0) [0|250.996] \"km/h\" Vector__XXX\n"
	"\n"
	"BO_ 2565902336 HVESSD1: 8 Vector__XXX\n"
	" SG_ HVESSAvailableDischargePower : 0|16@1+ (0.05,0) [0|3212.75] \"kW\" Vector__XXX\n"
	" SG_ HVESSAvailableChargePower : 16|16@1+ (0.05,0) [0|3212.75] \"kW\" Vector__XXX\n"
	" SG_ HVESSVoltageLevel : 32|16@1+ (0.05,0) [0|3212.75] \"V\" Vector__XXX\n"
	" SG_ HVESSCurrent : 48|16@1+ (0.05,-1600) [-1600|1612.75] \"A\" Vector__XXX\n"
	"\n"
	"CM_ BO_ 2566832384 \"PGN 65217 High Resolution Vehicle Distance (SPN 917, 918)\";\n"
	"CM_ BO_ 2566840320 \"PGN 65248 Vehicle Distance (SPN 244, 245)\";\n"
	"CM_ BO_ 2566844672 \"PGN 65265 Cruise Control/Vehicle Speed 1 (SPN 84)\";\n"
	"CM_ BO_ 2565902336 \"PGN 61584 High Voltage Energy Storage System Data 1\";\n"
	"BA_DEF_ BO_ \"GenMsgCycleTime\" INT 0 65535;\n"
	"BA_DEF_DEF_ \"GenMsgCycleTime\" 0;\n"
	"BA_ \"GenMsgCycleTime\" BO_ 2566832384 1000;\n"
	"BA_ \"GenMsgCycleTime\" BO_ 2566840320 1000;\n"
	"BA_ \"GenMsgCycleTime\" BO_ 2566844672 100;\n"
	"BA_ \"GenMsgCycleTime\" BO_ 2565902336 100;\n";

const char *j1939_builtin_dbc(size_t *len)
{
	if (len)
		*len = sizeof(builtin_dbc) - 1;
	return builtin_dbc;
}
