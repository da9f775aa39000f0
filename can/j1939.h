/* j1939 — SAE J1939 identifiers and the built-in truck / e-bus profile.
 *
 * A J1939 frame has a 29-bit id: priority (3 bits), extended data page
 * (EDP), data page (DP), PDU format (PF, 8 bits), PDU specific (PS, 8 bits)
 * and source address (SA, 8 bits). For PF < 240 (PDU1) PS is the
 * destination address and not part of the parameter group number (PGN);
 * for PF >= 240 (PDU2) PS is the group extension and is part of it:
 *
 *     PGN = EDP << 17 | DP << 16 | PF << 8 | (PF >= 240 ? PS : 0)
 *
 * The built-in profile is a DBC text (j1939_builtin_dbc) whose messages
 * carry the canonical id of their PGN (priority 6, destination 0 for PDU1,
 * source 0); j1939_canonical_id maps a received id onto it so one table
 * serves every source address. docs/j1939.md lists each message's layout
 * and where it comes from. */
#ifndef ECO2_J1939_H
#define ECO2_J1939_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"

#define J1939_PRIO_CANONICAL 6u
#define J1939_ADDR_GLOBAL 0xffu

/* Standard PGNs the built-in profile decodes. */
#define J1939_PGN_HRVD   65217u   /* 0xFEC1 High Resolution Vehicle Distance */
#define J1939_PGN_VD     65248u   /* 0xFEE0 Vehicle Distance */
#define J1939_PGN_CCVS1  65265u   /* 0xFEF1 Cruise Control/Vehicle Speed 1 */
#define J1939_PGN_HVESSD1 61584u  /* 0xF090 HVESS Data 1 (pack voltage, current) */

struct j1939_id {
	uint8_t priority;   /* 0 (highest) .. 7 */
	uint32_t pgn;       /* 18 bits */
	uint8_t sa;         /* source address */
	uint8_t da;         /* destination (PDU1), J1939_ADDR_GLOBAL for PDU2 */
	bool pdu1;
};

/* Split a 29-bit id. Returns 0, or -EINVAL when id has bits above 28 set,
 * or -EPROTO for EDP = DP = 1 (ISO 15765-3 frames, not J1939). */
int j1939_parse_id(uint32_t id, struct j1939_id *out) __must_check;

/* Compose a 29-bit id; `da` is used for PDU1 PGNs only. */
uint32_t j1939_make_id(uint8_t priority, uint32_t pgn, uint8_t da, uint8_t sa);

/* The id bits that identify `pgn` (EDP, DP, PF and, for PDU2, PS): a frame
 * carries the PGN if (id & mask) == (j1939_make_id(any, pgn, any, any) & mask). */
uint32_t j1939_pgn_mask(uint32_t pgn);

/* The id the built-in DBC uses for the PGN of `id` (priority 6, DA 0,
 * SA 0). Ids that are not J1939 (-EPROTO above) map to themselves. */
uint32_t j1939_canonical_id(uint32_t id);

/* J1939 reserves the top of each parameter's range: raw values above
 * 0xFA.. (8 bits: 250; 16 bits: 64255; 32 bits: 4211081215) mean "error"
 * or "not available" and carry no measurement. True when `raw` of a
 * `bits`-wide parameter is a measurement. Widths other than 8/16/24/32
 * use the same rule on their top byte. */
bool j1939_raw_valid(uint64_t raw, unsigned bits);

/* The built-in profile's DBC text (NUL-terminated, static); *len gets its
 * length without the NUL. */
const char *j1939_builtin_dbc(size_t *len);

#endif
