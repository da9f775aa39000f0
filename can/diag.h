/* diag — requests to ECUs and their answers: OBD-II (SAE J1979) modes 01
 * and 09, UDS ReadDataByIdentifier (ISO 14229, service 0x22), the older
 * KWP2000 local identifiers (service 0x21) and J1939 requests (PGN 59904).
 *
 * A vehicle profile's [poll.NAME] sections (can/profile.h) become one
 * struct diag_req each: what to send, to which id, how often in each
 * vehicle state, and where in the answer each role's value sits. This
 * module knows the services' framing:
 *
 *   request            positive answer            negative answer
 *   01 PID             41 PID data...             7F 01 NRC
 *   09 INFOTYPE        49 INFOTYPE data...        7F 09 NRC
 *   21 LID             61 LID data...             7F 21 NRC
 *   22 DIDhi DIDlo     62 DIDhi DIDlo data...     7F 22 NRC
 *
 * i.e. the answer's service byte is the request's + 0x40 followed by the
 * request's parameter bytes echoed; field positions count from the first
 * byte after that echo. Only these read services can be declared at all:
 * the grammar has no way to express a write, a session change, a reset or
 * a routine (docs/security.md, section 6).
 *
 * J1939: the request carries the requested PGN (3 bytes, little-endian)
 * in PGN 59904 to a destination address; the answer is the requested
 * parameter group itself, broadcast, and is decoded by the profile's
 * [signals] like any other frame.
 *
 * Also here: the vehicle-state model that picks each request's interval,
 * the negative response codes and what the poller does about each, the
 * bus load of a request, and a listener that finds the answers in a
 * candump log (a recorded polling session) and decodes them as the live
 * poller would. */
#ifndef ECO2_DIAG_H
#define ECO2_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/compiler.h"
#include "can/canlog.h"
#include "can/sample.h"

#define DIAG_MAX_FIELDS 8      /* roles one answer may carry */
#define DIAG_MAX_REQ    7      /* request bytes (one single frame) */
#define DIAG_NAME_MAX   32

/* The vehicle's state as the poller sees it; each request has an
 * interval per state (0: never asked in that state). */
enum diag_state {
	DIAG_DRIVING,          /* ignition on (or, without an ignition role: ECUs awake) */
	DIAG_CHARGING,         /* charging, ignition off */
	DIAG_PARKED,           /* ignition off, not charging, or ECUs asleep */
	DIAG_N_STATES
};

enum diag_kind {
	DIAG_ISOTP,            /* OBD-II or UDS over ISO 15765-2 */
	DIAG_J1939,            /* a J1939 request (PGN 59904) */
};

/* Where one role's value sits in a positive answer. */
struct diag_field {
	enum eco2_role role;
	uint16_t pos;          /* first byte, counted after the echoed header */
	uint8_t len;           /* bytes 1..8, or 0: one bit */
	uint8_t bit;           /* with len 0: 0 (least significant) .. 7 */
	bool is_signed;        /* two's complement */
	bool le;               /* little-endian (default big-endian, as OBD and UDS) */
	double scale, offset;  /* physical value = raw * scale + offset */
	double factor;         /* physical value -> the role's canonical unit */
	unsigned line;         /* in the profile */
};

/* One declared request (a [poll.NAME] section). */
struct diag_req {
	char name[DIAG_NAME_MAX];
	enum diag_kind kind;
	uint32_t tx_id;        /* ISO-TP: the request's CAN id (the ECU's "physical" id) */
	uint32_t rx_id;        /* ISO-TP: the answer's CAN id */
	bool ext;              /* 29-bit ids */
	uint8_t req[DIAG_MAX_REQ];   /* ISO-TP: the request PDU; J1939: the requested PGN, LE */
	uint8_t req_len;
	uint32_t pgn;          /* J1939: the requested PGN */
	uint8_t sa, da;        /* J1939: our source address, the destination */
	uint32_t interval_ms[DIAG_N_STATES];
	uint32_t timeout_ms;   /* P2: time to the first answer */
	uint32_t pending_ms;   /* P2*: after each "response pending" (NRC 0x78) */
	uint16_t answer_len;   /* expected answer PDU length, for the bus load */
	struct diag_field fields[DIAG_MAX_FIELDS];
	uint8_t n_fields;
	unsigned line;         /* in the profile: the section's first key */
};

/* What an answer PDU says about request r. */
enum diag_verdict {
	DIAG_POSITIVE,         /* the answer to r: decode it */
	DIAG_NEGATIVE,         /* 7F <r's service> NRC; *nrc set */
	DIAG_PENDING,          /* 7F <r's service> 78: wait up to P2* more */
	DIAG_FOREIGN,          /* not an answer to r (stale, another DID): drop */
};

enum diag_verdict diag_classify(const struct diag_req *r, const uint8_t *pdu, size_t len,
				uint8_t *nrc);

/* Decode a positive answer (the whole PDU, header included) into at most
 * `max` samples stamped t_ns. Fields that reach past the answer are left
 * out. Returns how many. */
int diag_decode(const struct diag_req *r, const uint8_t *pdu, size_t len, uint64_t t_ns,
		struct eco2_sample *out, size_t max);

/* The raw value of one field in an answer's data (after the header);
 * -ERANGE when the data are too short. */
int diag_field_raw(const struct diag_field *f, const uint8_t *data, size_t len,
		   int64_t *raw) __must_check;

/* What the poller does about a negative response code:
 *   DIAG_NRC_PENDING      0x78: keep waiting (P2*)
 *   DIAG_NRC_UNSUPPORTED  0x11, 0x12, 0x31 (and 0x13, 0x14, 0x33, 0x7E,
 *                         0x7F): this request cannot succeed: stop asking
 *                         and say so once
 *   DIAG_NRC_RETRY        anything else (0x10, 0x21 busy, 0x22 conditions
 *                         not correct, ...): try again at the next interval */
enum diag_nrc_policy { DIAG_NRC_RETRY, DIAG_NRC_UNSUPPORTED, DIAG_NRC_PENDING };
enum diag_nrc_policy diag_nrc_policy(uint8_t nrc);
const char *diag_nrc_name(uint8_t nrc);   /* "requestOutOfRange", ...; "?" */

/* J1939 Acknowledgment (PGN 59392): a NACK (control byte 1) or "cannot
 * respond" (3) for requested PGN `pgn`. data is the 8-byte payload. */
bool diag_j1939_nack(const uint8_t *data, size_t len, uint32_t pgn);
#define DIAG_J1939_PGN_REQUEST 59904u   /* 0xEA00 */
#define DIAG_J1939_PGN_ACK     59392u   /* 0xE800 */
#define DIAG_J1939_PRIO        6u

/* Worst-case bits on the bus for one request and its answer: the request
 * frame, the answer's frames (answer_len bytes) and, for a segmented
 * answer, our flow control frame. `padded`: ISO-TP frames padded to 8
 * bytes (a J1939 request is never padded). */
unsigned diag_req_bits(const struct diag_req *r, bool padded);
/* Frames of the same, for frames-per-second figures. */
unsigned diag_req_frames(const struct diag_req *r);

/* The state from what is known: ignition (-1 unknown, 0, 1), charging
 * (-1, 0, 1) and whether the ECUs answer. See docs/polling.md. */
enum diag_state diag_state_of(int ignition, int charging, bool awake);
const char *diag_state_name(enum diag_state s);

/* ---- answers in a log -------------------------------------------------- */

typedef struct diag_listener diag_listener_t;

/* A listener for the answers to reqs[0..n-1] (borrowed: they must outlive
 * it). 0, -ENOMEM. */
int diag_listener_new(diag_listener_t **out, const struct diag_req *reqs, size_t n) __must_check;
void diag_listener_free(diag_listener_t *l);   /* NULL is fine */

/* One frame of a log: returns the samples decoded from an answer this
 * frame completes (at most `max`), stamped with the frame's time; 0 for
 * any other frame. */
int diag_listener_frame(diag_listener_t *l, const struct can_frame_rec *f,
			struct eco2_sample *out, size_t max);

#endif
