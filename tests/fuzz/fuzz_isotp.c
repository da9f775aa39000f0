/* libFuzzer target: the ISO-TP reassembler and the answer listener take
 * any sequence of frames without crashing or reading out of bounds, and
 * every PDU they complete is one that the frames really carried (checked
 * by length bounds). Input: records of one header byte (bits 0..3: data
 * length 0..8, bit 4: the frame comes from the second answer id) and up
 * to 8 data bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "can/diag.h"
#include "can/isotp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct isotp_rx rx;
	static struct diag_req reqs[2];
	struct eco2_sample s[DIAG_MAX_FIELDS * 2];
	diag_listener_t *l = NULL;
	size_t i = 0;

	memset(&rx, 0, sizeof(rx));
	memset(reqs, 0, sizeof(reqs));
	reqs[0] = (struct diag_req){ .kind = DIAG_ISOTP, .tx_id = 0x7e4, .rx_id = 0x7ec,
				     .req = { 0x22, 0x01, 0x01 }, .req_len = 3, .n_fields = 3 };
	reqs[0].fields[0] = (struct diag_field){ .role = ROLE_PACK_CURRENT, .pos = 10, .len = 2,
						 .is_signed = true, .scale = 0.1, .factor = 1 };
	reqs[0].fields[1] = (struct diag_field){ .role = ROLE_DISCHARGE_TOTAL, .pos = 42, .len = 8,
						 .le = true, .scale = 0.1, .factor = 1000 };
	reqs[0].fields[2] = (struct diag_field){ .role = ROLE_IGNITION, .pos = 50, .len = 0, .bit = 7,
						 .scale = 1, .factor = 1 };
	reqs[1] = (struct diag_req){ .kind = DIAG_ISOTP, .tx_id = 0x7e0, .rx_id = 0x7e8,
				     .req = { 0x01, 0xa6 }, .req_len = 2, .n_fields = 1 };
	reqs[1].fields[0] = (struct diag_field){ .role = ROLE_ODOMETER, .pos = 0, .len = 4,
						 .scale = 0.1, .factor = 1000 };
	if (diag_listener_new(&l, reqs, 2))
		return 0;
	while (i < size) {
		struct can_frame_rec f;
		uint8_t h = data[i++];
		size_t n = h & 0x0f;
		const uint8_t *pdu;
		size_t len;
		uint8_t nrc;

		if (n > 8)
			n = 8;
		if (n > size - i)
			n = size - i;
		memset(&f, 0, sizeof(f));
		f.id = h & 0x10 ? 0x7e8 : 0x7ec;
		f.len = (uint8_t)n;
		memcpy(f.data, data + i, n);
		if (isotp_rx_frame(&rx, data + i, n, &pdu, &len) == 1) {
			if (len == 0 || len > ISOTP_MAX_PDU)
				abort();
			(void)diag_classify(&reqs[0], pdu, len, &nrc);
			(void)diag_decode(&reqs[0], pdu, len, 0, s, DIAG_MAX_FIELDS);
		}
		if (diag_listener_frame(l, &f, s, ARRAY_SIZE(s)) > (int)ARRAY_SIZE(s))
			abort();
		i += n;
	}
	diag_listener_free(l);
	return 0;
}
