/* decode — the hot path: CAN frame -> physical signal values.
 *
 * A decoder_t compiles a dbc_t into compact per-message tables: id lookup
 * is O(1) (a direct index for 11-bit ids, an open-addressed hash for
 * 29-bit ids), every signal's byte offset, shift and mask are precomputed,
 * and decode_frame() neither allocates nor locks. Two modes:
 *
 *  - all signals (decoder_new): every signal of every message, for tools;
 *  - subset (decoder_new_subset): only the signals a profile selects, each
 *    with a caller tag (e.g. the profile role). Their multiplexer switches
 *    are evaluated as needed but not reported; messages with no selected
 *    signal are not in the table at all.
 *
 * A signal is reported only if it is present: it fits entirely in the
 * received payload (a short frame never yields garbage) and, if
 * multiplexed, its switch (and that switch's switch...) is present with a
 * matching raw value. The dbc_t must outlive the decoder. */
#ifndef ECO2_DECODE_H
#define ECO2_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"
#include "can/dbc.h"

typedef struct decoder decoder_t;

/* One decoded signal. */
struct decode_value {
	const struct dbc_signal *sig;
	uint32_t tag;     /* subset mode: the caller's tag; all-signals mode: sig->index */
	uint64_t raw;     /* raw bits, zero-extended (exact, for 64-bit integers) */
	double value;     /* physical value: raw (sign-extended / IEEE) * factor + offset */
};

/* Most signals one message can yield (a 64-byte payload holds at most 512
 * one-bit signals; a message the DBC overfills with overlapping signals
 * has only its first 512, in decode order, evaluated). Callers that want
 * every signal size `out` with this. */
#define DECODE_MAX_VALUES 512

int decoder_new(decoder_t **out, const dbc_t *dbc) __must_check;

/* Only sigs[0..n-1] (signals of `dbc`), reported with tags[i] (tags may be
 * NULL: tag = i). A signal listed twice is reported twice. */
int decoder_new_subset(decoder_t **out, const dbc_t *dbc,
		       const struct dbc_signal *const *sigs, const uint32_t *tags,
		       size_t n) __must_check;

void decoder_free(decoder_t *d);   /* NULL is fine */

/* The message a frame belongs to, or NULL when the decoder has none for it. */
const struct dbc_message *decoder_message(const decoder_t *d, uint32_t id, bool is_ext);

/* Decode one data frame (callers skip remote and error frames). Writes at
 * most `max` present signals to out[] and returns how many. Order: the
 * DBC's, except that a multiplexer switch comes before the first signal
 * it selects. Returns how many
 * (0 when the id is unknown or nothing is present); *msg (if not NULL) gets
 * the message or NULL. `data` holds `len` bytes (len > 64 is treated as 64). */
int decode_frame(const decoder_t *d, uint32_t id, bool is_ext,
		 const uint8_t *data, size_t len,
		 struct decode_value *out, size_t max,
		 const struct dbc_message **msg);

/* Number of signals the decoder reports over all messages (for sizing). */
size_t decoder_signal_count(const decoder_t *d);

#endif
