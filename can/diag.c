/* diag — OBD-II, UDS and J1939 requests and answers (see diag.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "can/diag.h"
#include "can/isotp.h"

#define NEGATIVE_SID 0x7f
#define NRC_PENDING  0x78

enum diag_verdict diag_classify(const struct diag_req *r, const uint8_t *pdu, size_t len,
				uint8_t *nrc)
{
	if (r->kind != DIAG_ISOTP || len == 0)
		return DIAG_FOREIGN;
	if (pdu[0] == NEGATIVE_SID) {
		if (len < 3 || pdu[1] != r->req[0])
			return DIAG_FOREIGN;
		*nrc = pdu[2];
		return pdu[2] == NRC_PENDING ? DIAG_PENDING : DIAG_NEGATIVE;
	}
	/* 0x40 + service, then the request's parameter bytes echoed. */
	if (len < r->req_len || pdu[0] != (uint8_t)(r->req[0] + 0x40) ||
	    memcmp(pdu + 1, r->req + 1, r->req_len - 1u))
		return DIAG_FOREIGN;
	return DIAG_POSITIVE;
}

int diag_field_raw(const struct diag_field *f, const uint8_t *data, size_t len, int64_t *raw)
{
	uint64_t v = 0;

	if (f->len == 0) {
		if (f->pos >= len)
			return -ERANGE;
		*raw = data[f->pos] >> f->bit & 1;
		return 0;
	}
	if ((size_t)f->pos + f->len > len)
		return -ERANGE;
	for (unsigned i = 0; i < f->len; i++) {
		unsigned k = f->le ? f->len - 1u - i : i;

		v = v << 8 | data[f->pos + k];
	}
	if (f->is_signed && f->len < 8 && (v >> (8 * f->len - 1) & 1))
		v |= ~UINT64_C(0) << (8 * f->len);
	*raw = f->is_signed ? (int64_t)v : (int64_t)(v & INT64_MAX);
	/* An unsigned 8-byte field beyond 2^63 keeps its low 63 bits: no
	 * vehicle value reaches that, and the conversion stays defined. */
	return 0;
}

int diag_decode(const struct diag_req *r, const uint8_t *pdu, size_t len, uint64_t t_ns,
		struct eco2_sample *out, size_t max)
{
	const uint8_t *data = pdu + r->req_len;
	size_t dlen = len - r->req_len;
	int k = 0;

	if (r->kind != DIAG_ISOTP || len < r->req_len)
		return 0;
	for (unsigned i = 0; i < r->n_fields && (size_t)k < max; i++) {
		const struct diag_field *f = &r->fields[i];
		int64_t raw;
		double v;

		if (diag_field_raw(f, data, dlen, &raw))
			continue;
		v = ((double)raw * f->scale + f->offset) * f->factor;
		if (f->role == ROLE_IGNITION || f->role == ROLE_CHARGING)
			v = v != 0 ? 1 : 0;
		out[k].t_ns = t_ns;
		out[k].role = f->role;
		out[k].value = v;
		k++;
	}
	return k;
}

enum diag_nrc_policy diag_nrc_policy(uint8_t nrc)
{
	switch (nrc) {
	case NRC_PENDING:
		return DIAG_NRC_PENDING;
	case 0x11:   /* serviceNotSupported */
	case 0x12:   /* subFunctionNotSupported */
	case 0x13:   /* incorrectMessageLengthOrInvalidFormat: our request is wrong */
	case 0x14:   /* responseTooLong */
	case 0x31:   /* requestOutOfRange: no such PID / DID */
	case 0x33:   /* securityAccessDenied: we never unlock */
	case 0x7e:   /* subFunctionNotSupportedInActiveSession */
	case 0x7f:   /* serviceNotSupportedInActiveSession: we never change sessions */
		return DIAG_NRC_UNSUPPORTED;
	default:
		return DIAG_NRC_RETRY;
	}
}

const char *diag_nrc_name(uint8_t nrc)
{
	static const struct {
		uint8_t nrc;
		const char *name;
	} names[] = {
		{ 0x10, "generalReject" },
		{ 0x11, "serviceNotSupported" },
		{ 0x12, "subFunctionNotSupported" },
		{ 0x13, "incorrectMessageLengthOrInvalidFormat" },
		{ 0x14, "responseTooLong" },
		{ 0x21, "busyRepeatRequest" },
		{ 0x22, "conditionsNotCorrect" },
		{ 0x31, "requestOutOfRange" },
		{ 0x33, "securityAccessDenied" },
		{ 0x78, "requestCorrectlyReceived-ResponsePending" },
		{ 0x7e, "subFunctionNotSupportedInActiveSession" },
		{ 0x7f, "serviceNotSupportedInActiveSession" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].nrc == nrc)
			return names[i].name;
	return "?";
}

bool diag_j1939_nack(const uint8_t *data, size_t len, uint32_t pgn)
{
	uint32_t acked;

	/* byte 0 control (0 ACK, 1 NACK, 2 access denied, 3 cannot respond),
	 * bytes 5..7 the acknowledged PGN, little-endian */
	if (len < 8 || (data[0] != 1 && data[0] != 3))
		return false;
	acked = (uint32_t)data[5] | (uint32_t)data[6] << 8 | (uint32_t)(data[7] & 0x03) << 16;
	return acked == pgn;
}

unsigned diag_req_bits(const struct diag_req *r, bool padded)
{
	unsigned bits, frames, last;

	/* J1939: the kernel's stack sends the request's 3 bytes as they are;
	 * the answer is one 8-byte frame */
	if (r->kind == DIAG_J1939)
		return can_frame_bits(true, 3) + can_frame_bits(true, 8);
	bits = can_frame_bits(r->ext, padded ? 8 : r->req_len + 1u);
	frames = isotp_frames(r->answer_len);
	if (frames == 1)
		return bits + can_frame_bits(r->ext, padded ? 8 : r->answer_len + 1u);
	/* first frame, full consecutive frames, the last one, our flow control */
	last = (unsigned)((r->answer_len - 6) % 7);
	bits += can_frame_bits(r->ext, 8);
	bits += (frames - 1 - (last ? 1 : 0)) * can_frame_bits(r->ext, 8);
	if (last)
		bits += can_frame_bits(r->ext, padded ? 8 : last + 1);
	bits += can_frame_bits(r->ext, padded ? 8 : 3);
	return bits;
}

unsigned diag_req_frames(const struct diag_req *r)
{
	unsigned frames;

	if (r->kind == DIAG_J1939)
		return 2;
	frames = isotp_frames(r->answer_len);
	return 1 + frames + (frames > 1 ? 1 : 0);
}

enum diag_state diag_state_of(int ignition, int charging, bool awake)
{
	if (ignition == 1)
		return DIAG_DRIVING;
	if (charging == 1)
		return DIAG_CHARGING;
	if (ignition == 0)
		return DIAG_PARKED;
	return awake ? DIAG_DRIVING : DIAG_PARKED;
}

const char *diag_state_name(enum diag_state s)
{
	static const char *const names[DIAG_N_STATES] = { "driving", "charging", "parked" };

	return (unsigned)s < DIAG_N_STATES ? names[s] : "?";
}

/* ---- answers in a log ---------------------------------------------------- */

struct diag_listener {
	const struct diag_req *reqs;
	size_t n;
	size_t n_rx;
	struct rx_slot {
		uint32_t id;
		bool ext;
		struct isotp_rx rx;
	} *rx;
};

int diag_listener_new(diag_listener_t **out, const struct diag_req *reqs, size_t n)
{
	diag_listener_t *l = calloc(1, sizeof(*l));

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->reqs = reqs;
	l->n = n;
	l->rx = calloc(n ? n : 1, sizeof(*l->rx));
	if (!l->rx) {
		free(l);
		return -ENOMEM;
	}
	/* One reassembly buffer per answering id. */
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		if (reqs[i].kind != DIAG_ISOTP)
			continue;
		for (size_t j = 0; j < l->n_rx; j++)
			if (l->rx[j].id == reqs[i].rx_id && l->rx[j].ext == reqs[i].ext)
				seen = true;
		if (!seen) {
			l->rx[l->n_rx].id = reqs[i].rx_id;
			l->rx[l->n_rx].ext = reqs[i].ext;
			l->n_rx++;
		}
	}
	*out = l;
	return 0;
}

void diag_listener_free(diag_listener_t *l)
{
	if (!l)
		return;
	free(l->rx);
	free(l);
}

int diag_listener_frame(diag_listener_t *l, const struct can_frame_rec *f,
			struct eco2_sample *out, size_t max)
{
	bool ext = f->flags & CANREC_EXT;
	const uint8_t *pdu;
	size_t len;
	int k = 0;

	if (f->flags & (CANREC_RTR | CANREC_ERR | CANREC_FD))
		return 0;
	for (size_t j = 0; j < l->n_rx; j++) {
		if (l->rx[j].id != f->id || l->rx[j].ext != ext)
			continue;
		if (isotp_rx_frame(&l->rx[j].rx, f->data, f->len, &pdu, &len) != 1)
			return 0;
		for (size_t i = 0; i < l->n; i++) {
			const struct diag_req *r = &l->reqs[i];
			uint8_t nrc;

			if (r->kind != DIAG_ISOTP || r->rx_id != f->id || r->ext != ext)
				continue;
			if (diag_classify(r, pdu, len, &nrc) == DIAG_POSITIVE)
				k += diag_decode(r, pdu, len, f->t_ns, out + k, max - (size_t)k);
		}
		return k;
	}
	return 0;
}
