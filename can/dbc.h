/* dbc — Vector DBC files: messages, signals, multiplexing, attributes.
 *
 * dbc_load() parses a whole file into an immutable dbc_t. The metadata
 * records below are plain read-only data owned by the dbc_t: every pointer
 * in them stays valid until dbc_free().
 *
 * A loader that keeps going: a statement outside the grammar is a warning,
 * "file:line:col: what was expected; what was skipped", and the rest of the
 * file loads (the next statement starts at the next section keyword that
 * begins a line). The dialect other tools accept is taken with the meaning
 * they give it, each case with a warning: docs/dbc.md lists them. With
 * DBC_STRICT every such warning is an error and loading fails, as a linter
 * wants. Sections this parser does not know are skipped with a warning in
 * both modes.
 *
 * Supported: BO_, SG_ (Intel @1 and Motorola @0 with sawtooth bit
 * numbering, signed, any factor/offset), simple (M / mN) and extended
 * multiplexing (mNM, SG_MUL_VAL_), extended ids (bit 31 of the DBC id),
 * VAL_ / VAL_TABLE_, CM_ (multi-line), BA_DEF_ / BA_DEF_DEF_ / BA_ (kept:
 * GenMsgCycleTime, VFrameFormat), SIG_VALTYPE_ (IEEE float / double), CAN FD
 * payloads up to 64 bytes. Text is treated as bytes: Windows-1252 or UTF-8
 * in comments and strings loads as is.
 *
 * Bit numbering: for Intel signals start_bit is the least significant bit,
 * counted byte 0 bit 0 = 0 .. byte 7 bit 7 = 63. For Motorola signals
 * start_bit is the most significant bit in the same (sawtooth) numbering;
 * the signal then runs towards bit 0 of that byte and on into bit 7 of the
 * next byte. */
#ifndef ECO2_DBC_H
#define ECO2_DBC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

typedef struct dbc dbc_t;

enum dbc_byte_order {
	DBC_INTEL,      /* @1: little endian */
	DBC_MOTOROLA,   /* @0: big endian */
};

enum dbc_value_type {
	DBC_VT_INT,     /* integer raw value (signed per is_signed) */
	DBC_VT_FLOAT,   /* SIG_VALTYPE_ 1: IEEE 754 binary32, length 32 */
	DBC_VT_DOUBLE,  /* SIG_VALTYPE_ 2: IEEE 754 binary64, length 64 */
};

/* Multiplexing role of a signal as written after its name in SG_. */
enum dbc_mux_kind {
	DBC_MUX_NONE,          /* always present */
	DBC_MUX_SWITCH,        /* "M": selects which muxed signals are present */
	DBC_MUX_MUXED,         /* "mN": present when its switch has value N */
	DBC_MUX_MUXED_SWITCH,  /* "mNM": muxed, and a switch itself (extended mux) */
};

/* Raw switch values lo..hi (inclusive) under which a muxed signal is present. */
struct dbc_mux_range {
	uint64_t lo, hi;
};

/* VAL_ entry: raw value -> label. */
struct dbc_value_desc {
	int64_t value;
	const char *label;
};

struct dbc_message;

/* A number exactly as the DBC writes it in decimal: mant x 10^exp. Kept
 * for exact output of raw * factor + offset (see can/physfmt.h). `exact`
 * is false when the text has more significant digits than mant holds or an
 * exponent beyond +-99: only the double is then meaningful. */
struct dbc_decimal {
	int64_t mant;
	int16_t exp;
	bool exact;
};

struct dbc_signal {
	const char *name;         /* SystemSignalLongSymbol when the DBC gives one, else the SG_ name */
	const char *short_name;   /* the SG_ name (at most 32 characters in Vector's tools) */
	const struct dbc_message *message;   /* the message holding it */
	uint16_t start_bit;       /* as written in the DBC, see above */
	uint8_t length;           /* bits, 1..64 */
	uint8_t byte_order;       /* enum dbc_byte_order */
	uint8_t value_type;       /* enum dbc_value_type */
	bool is_signed;           /* two's complement raw value */
	double factor, offset;    /* physical = raw * factor + offset */
	struct dbc_decimal factor_dec, offset_dec;   /* the same as written */
	double min, max;          /* physical range from [min|max]; 0,0 = none */
	const char *unit;         /* unit string, "" when none */
	const char *comment;      /* CM_ SG_ text or NULL */
	uint8_t mux_kind;         /* enum dbc_mux_kind */
	/* The switch this signal depends on (NULL when always present) and the
	 * switch raw values under which it is present: from SG_MUL_VAL_ when
	 * given, else the message's "M" switch with the single value N. A signal
	 * is present only if its switch is present too (cascaded muxes). */
	const struct dbc_signal *mux_switch;
	const struct dbc_mux_range *mux_ranges;
	unsigned n_mux_ranges;
	const struct dbc_value_desc *values;   /* VAL_, in file order */
	unsigned n_values;
	unsigned index;           /* position in message->signals */
};

struct dbc_message {
	uint32_t id;              /* CAN id without flag bits */
	bool is_ext;              /* 29-bit id: bit 31 set in the DBC, or an id above
				     0x7FF written without it (taken as 29-bit, warned) */
	bool is_fd;               /* VFrameFormat StandardCAN_FD/ExtendedCAN_FD, or size > 8 */
	uint8_t size;             /* payload bytes from BO_, 0..64 */
	uint32_t cycle_time_ms;   /* GenMsgCycleTime (BA_ or BA_DEF_DEF_); 0 = not periodic / unknown */
	const char *name;
	const char *transmitter;  /* "" for Vector__XXX */
	const char *comment;      /* CM_ BO_ text or NULL */
	const struct dbc_signal *signals;   /* in file order */
	unsigned n_signals;
};

/* Flags of dbc_load_with(). */
enum {
	DBC_STRICT = 1u << 0,   /* any construct outside the grammar fails the load */
};

/* Parse the file at `path`. On success *out is set; free it with dbc_free().
 * Returns 0, -errno for I/O, -EFBIG when it is not a regular file of at
 * most 64 MiB, -ENOMEM; with DBC_STRICT, -EINVAL for any construct outside
 * the grammar (logged as "path:line:col: ..."). Without DBC_STRICT a bad
 * statement is a warning and never fails the load (an unterminated string
 * runs to the end of the file: what precedes it loads).
 * dbc_load() is dbc_load_with(..., 0). */
int dbc_load(dbc_t **out, const char *path) __must_check;
int dbc_load_with(dbc_t **out, const char *path, unsigned flags) __must_check;

/* The same from memory; `name` is used in messages and need not exist. */
int dbc_load_buffer(dbc_t **out, const char *name, const char *text, size_t len) __must_check;
int dbc_load_buffer_with(dbc_t **out, const char *name, const char *text, size_t len,
			 unsigned flags) __must_check;

/* Warnings the load logged (statements skipped or taken in the dialect's
 * meaning, ids taken as 29-bit, signals past their message's size, ...). */
unsigned dbc_warning_count(const dbc_t *dbc);

void dbc_free(dbc_t *dbc);   /* NULL is fine */

unsigned dbc_message_count(const dbc_t *dbc);
const struct dbc_message *dbc_message_at(const dbc_t *dbc, unsigned i);   /* file order */

/* NULL when absent. By id: the id without flag bits and whether it is
 * extended. By name: a signal's long name or its SG_ name. */
const struct dbc_message *dbc_find_message(const dbc_t *dbc, uint32_t id, bool is_ext);
const struct dbc_message *dbc_find_message_by_name(const dbc_t *dbc, const char *name);
const struct dbc_signal *dbc_find_signal(const struct dbc_message *msg, const char *name);

/* "MessageName.SignalName" (the profile syntax) -> signal, NULL when absent. */
const struct dbc_signal *dbc_lookup(const dbc_t *dbc, const char *msg_dot_sig);

/* VAL_TABLE_ by name: its entries in file order and their count in *n;
 * NULL (and *n = 0) when there is no such table. */
const struct dbc_value_desc *dbc_value_table(const dbc_t *dbc, const char *name, unsigned *n);

/* Extract the raw bits of `s` from a payload of `len` bytes into *raw (zero
 * extended; see dbc_raw_to_phys for sign). Returns 0, or -ERANGE when the
 * signal does not fit in `len` bytes (the signal is then absent). Slow,
 * general path for tools and tests; the hot path is decode.h. */
int dbc_extract_raw(const struct dbc_signal *s, const uint8_t *data, size_t len,
		    uint64_t *raw) __must_check;

/* Physical value of raw bits: sign extension, float reinterpretation,
 * raw * factor + offset (computed without fused multiply-add, so results
 * match other decoders bit for bit). */
double dbc_raw_to_phys(const struct dbc_signal *s, uint64_t raw);

/* Encoder (simulator, tests). Write physical value `phys` into `data`
 * (`len` bytes; other bits untouched): raw = round((phys - offset) / factor)
 * clamped to what the signal's length and signedness can hold and, when the
 * DBC gives a range (min < max), to [min, max]; float/double signals store
 * (phys - offset) / factor as IEEE bits. Returns 0, -ERANGE when the signal
 * does not fit in `len` bytes, -EINVAL for NaN or a zero factor. */
int dbc_encode_signal(const struct dbc_signal *s, double phys, uint8_t *data, size_t len) __must_check;

/* Write raw bits (the low `length` bits of raw) into `data`. Returns 0 or -ERANGE. */
int dbc_encode_raw(const struct dbc_signal *s, uint64_t raw, uint8_t *data, size_t len) __must_check;

#endif
