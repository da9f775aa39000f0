/* decode — compiled DBC tables and the per-frame decoder.
 *
 * Extraction is two loads and three shifts per signal: the payload is
 * copied into a zero-padded local buffer so that an 8-byte load at any
 * byte a signal starts in is in bounds, and a signal spread over 9 bytes
 * (64-bit at an odd bit) takes one more byte. Everything that depends only
 * on the DBC (byte, shift, mask, bytes needed, switch ranges) is computed
 * once in decoder_new*(). */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "can/canlog.h"   /* CAN_SFF_MAX, CAN_EFF_MAX */
#include "can/decode.h"

enum {
	DS_MOTOROLA = 0x01,
	DS_SPILL    = 0x02,   /* the signal's bits span 9 bytes */
	DS_SIGNED   = 0x04,
	DS_FLOAT    = 0x08,
	DS_DOUBLE   = 0x10,
	DS_EMIT     = 0x20,   /* reported (else only a switch others need) */
	DS_SWITCH   = 0x40,   /* another entry of the message depends on it */
};

struct dsig {
	uint64_t mask;             /* low `len` bits */
	double factor, offset;
	const struct dbc_signal *sig;
	uint32_t tag;
	uint32_t range_first;      /* into decoder.ranges */
	uint16_t n_ranges;
	int16_t parent;            /* index in this message's block, -1: none */
	uint8_t byte;              /* first byte of the 8-byte load */
	uint8_t shift;             /* Intel: right shift; Motorola: left shift */
	uint8_t need;              /* payload bytes the signal needs */
	uint8_t len;               /* bits */
	uint8_t flags;             /* DS_* */
};

struct dmsg {
	const struct dbc_message *msg;
	uint32_t first, count;     /* block in decoder.sigs */
};

struct decoder {
	struct dmsg *msgs;
	unsigned n_msgs;
	struct dsig *sigs;
	size_t n_sigs, n_emit;
	struct dbc_mux_range *ranges;
	size_t n_ranges;
	uint16_t std_index[CAN_SFF_MAX + 1];   /* 11-bit id -> message index + 1 */
	uint32_t *ext_keys;        /* id | 0x80000000, 0 = empty */
	uint16_t *ext_vals;        /* message index */
	uint32_t ext_mask;
};

/* ---- compiling ------------------------------------------------------------- */

static void fill_geometry(struct dsig *d, const struct dbc_signal *s)
{
	unsigned len = s->length;

	d->len = (uint8_t)len;
	d->mask = len == 64 ? UINT64_MAX : (UINT64_C(1) << len) - 1;
	d->factor = s->factor;
	d->offset = s->offset;
	d->sig = s;
	d->flags = 0;
	if (s->is_signed)
		d->flags |= DS_SIGNED;
	if (s->value_type == DBC_VT_FLOAT)
		d->flags |= DS_FLOAT;
	else if (s->value_type == DBC_VT_DOUBLE)
		d->flags |= DS_DOUBLE;
	if (s->byte_order == DBC_INTEL) {
		unsigned lsb = s->start_bit, last = lsb + len - 1;
		d->byte = (uint8_t)(lsb / 8);
		d->shift = (uint8_t)(lsb % 8);
		d->need = (uint8_t)(last / 8 + 1);
		if (d->shift + len > 64)
			d->flags |= DS_SPILL;
	} else {
		/* big-endian linear position of the MSB: byte*8 + (7 - bit) */
		unsigned msb = s->start_bit / 8u * 8u + 7u - s->start_bit % 8u;
		unsigned last = msb + len - 1;
		d->flags |= DS_MOTOROLA;
		d->byte = (uint8_t)(msb / 8);
		d->shift = (uint8_t)(msb % 8);
		d->need = (uint8_t)(last / 8 + 1);
		if (d->shift + len > 64)
			d->flags |= DS_SPILL;
	}
}

static unsigned depth_of(const struct dbc_signal *s)
{
	unsigned d = 0;
	while (s->mux_switch) {
		s = s->mux_switch;
		d++;
	}
	return d;
}

/* One selected signal of a message; `emit` false for a needed switch. */
struct pick {
	const struct dbc_signal *sig;
	uint32_t tag;
	bool emit;
};

/* Order picks[0..n) into sorted[]: file order, except that a switch moves
 * up just before the first signal it selects (a stable topological sort).
 * `placed` has one flag per signal of the message. */
static void order_picks(const struct pick *picks, size_t n, struct pick *sorted, bool *used,
			bool *placed, unsigned n_signals)
{
	memset(used, 0, n * sizeof(*used));
	memset(placed, 0, n_signals * sizeof(*placed));
	for (size_t k = 0; k < n; k++) {
		size_t best = SIZE_MAX;
		for (size_t j = 0; j < n; j++) {
			const struct dbc_signal *sw = picks[j].sig->mux_switch;
			if (used[j] || (sw && !placed[sw->index]))
				continue;
			if (best == SIZE_MAX || picks[j].sig->index < picks[best].sig->index)
				best = j;
		}
		/* every switch chain ends (dbc refuses cycles), so best exists */
		used[best] = true;
		placed[picks[best].sig->index] = true;
		sorted[k] = picks[best];
	}
}

static int build(decoder_t **out, const dbc_t *dbc, const struct dbc_signal *const *sel,
		 const uint32_t *tags, size_t n_sel)
{
	decoder_t *d = calloc(1, sizeof(*d));
	unsigned nm = dbc_message_count(dbc);
	struct pick *picks = NULL, *sorted = NULL;
	bool *used = NULL, *placed = NULL;
	size_t cap_picks = 0, cap_placed = 0;
	int ret = -ENOMEM;

	if (!d)
		goto out;
	d->msgs = calloc(nm ? nm : 1, sizeof(*d->msgs));
	if (!d->msgs)
		goto out;

	/* Upper bounds for the flat arrays. */
	size_t max_sigs = 0, max_ranges = 0;
	for (unsigned mi = 0; mi < nm; mi++) {
		const struct dbc_message *m = dbc_message_at(dbc, mi);
		for (unsigned i = 0; i < m->n_signals; i++)
			max_ranges += m->signals[i].n_mux_ranges;
		max_sigs += m->n_signals;
	}
	if (sel)
		max_sigs += n_sel;
	/* each selected signal may add its whole switch chain */
	if (sel) {
		max_ranges = 0;
		for (size_t i = 0; i < n_sel; i++) {
			max_sigs += depth_of(sel[i]);
			max_ranges += sel[i]->n_mux_ranges;
			for (const struct dbc_signal *s = sel[i]->mux_switch; s; s = s->mux_switch)
				max_ranges += s->n_mux_ranges;
		}
	}
	d->sigs = calloc(max_sigs ? max_sigs : 1, sizeof(*d->sigs));
	d->ranges = calloc(max_ranges ? max_ranges : 1, sizeof(*d->ranges));
	if (!d->sigs || !d->ranges)
		goto out;

	for (unsigned mi = 0; mi < nm; mi++) {
		const struct dbc_message *m = dbc_message_at(dbc, mi);
		size_t np = 0;

		if (m->is_ext ? m->id > CAN_EFF_MAX : m->id > CAN_SFF_MAX)
			continue;   /* can never be received */
		if (!m->is_ext && d->std_index[m->id])
			continue;   /* duplicate id: the first definition wins, as in dbc */
		if (dbc_find_message(dbc, m->id, m->is_ext) != m)
			continue;

		/* what to decode in this message */
		size_t want = sel ? 0 : m->n_signals;
		if (sel)
			for (size_t i = 0; i < n_sel; i++)
				if (sel[i]->message == m)
					want += 1 + depth_of(sel[i]);
		if (want == 0)
			continue;
		if (want > cap_picks) {
			free(picks);
			free(sorted);
			free(used);
			picks = malloc(want * sizeof(*picks));
			sorted = malloc(want * sizeof(*sorted));
			used = malloc(want * sizeof(*used));
			if (!picks || !sorted || !used)
				goto out;
			cap_picks = want;
		}
		if (m->n_signals > cap_placed) {
			free(placed);
			placed = malloc(m->n_signals * sizeof(*placed));
			if (!placed)
				goto out;
			cap_placed = m->n_signals;
		}
		if (!sel) {
			for (unsigned i = 0; i < m->n_signals; i++)
				picks[np++] = (struct pick){ &m->signals[i], i, true };
		} else {
			for (size_t i = 0; i < n_sel; i++) {
				if (sel[i]->message != m)
					continue;
				picks[np++] = (struct pick){ sel[i], tags ? tags[i] : (uint32_t)i, true };
			}
			/* switches the selected ones need, once each, unless selected */
			size_t nsel = np;
			for (size_t i = 0; i < nsel; i++) {
				for (const struct dbc_signal *s = picks[i].sig->mux_switch; s; s = s->mux_switch) {
					bool have = false;
					for (size_t j = 0; j < np; j++)
						if (picks[j].sig == s)
							have = true;
					if (!have)
						picks[np++] = (struct pick){ s, 0, false };
				}
			}
		}
		order_picks(picks, np, sorted, used, placed, m->n_signals);

		struct dmsg *dm = &d->msgs[d->n_msgs];
		dm->msg = m;
		dm->first = (uint32_t)d->n_sigs;
		dm->count = (uint32_t)np;
		for (size_t i = 0; i < np; i++) {
			struct dsig *ds = &d->sigs[d->n_sigs + i];
			const struct dbc_signal *s = sorted[i].sig;

			fill_geometry(ds, s);
			ds->tag = sorted[i].tag;
			if (sorted[i].emit) {
				ds->flags |= DS_EMIT;
				d->n_emit++;
			}
			ds->parent = -1;
			if (s->mux_switch) {
				/* the first entry of the switch (parents sort first) */
				for (size_t j = 0; j < i; j++)
					if (sorted[j].sig == s->mux_switch) {
						ds->parent = (int16_t)j;
						d->sigs[d->n_sigs + j].flags |= DS_SWITCH;
						break;
					}
				ds->range_first = (uint32_t)d->n_ranges;
				ds->n_ranges = (uint16_t)(s->n_mux_ranges > UINT16_MAX ? UINT16_MAX : s->n_mux_ranges);
				memcpy(&d->ranges[d->n_ranges], s->mux_ranges, ds->n_ranges * sizeof(*d->ranges));
				d->n_ranges += ds->n_ranges;
			}
		}
		d->n_sigs += np;
		if (!m->is_ext)
			d->std_index[m->id] = (uint16_t)(d->n_msgs + 1);
		d->n_msgs++;
	}

	/* extended ids: open addressing at load factor <= 1/2 */
	uint32_t size = 16;
	while (size < d->n_msgs * 2u)
		size *= 2;
	d->ext_keys = calloc(size, sizeof(*d->ext_keys));
	d->ext_vals = calloc(size, sizeof(*d->ext_vals));
	if (!d->ext_keys || !d->ext_vals)
		goto out;
	d->ext_mask = size - 1;
	for (unsigned i = 0; i < d->n_msgs; i++) {
		const struct dbc_message *m = d->msgs[i].msg;
		if (!m->is_ext)
			continue;
		uint32_t h = (m->id * 2654435761u) & d->ext_mask;
		while (d->ext_keys[h])
			h = (h + 1) & d->ext_mask;
		d->ext_keys[h] = m->id | 0x80000000u;
		d->ext_vals[h] = (uint16_t)i;
	}
	*out = d;
	d = NULL;
	ret = 0;
out:
	free(picks);
	free(sorted);
	free(used);
	free(placed);
	decoder_free(d);
	return ret;
}

int decoder_new(decoder_t **out, const dbc_t *dbc)
{
	if (dbc_message_count(dbc) >= UINT16_MAX)
		return -E2BIG;
	return build(out, dbc, NULL, NULL, 0);
}

int decoder_new_subset(decoder_t **out, const dbc_t *dbc, const struct dbc_signal *const *sigs,
		       const uint32_t *tags, size_t n)
{
	if (dbc_message_count(dbc) >= UINT16_MAX)
		return -E2BIG;
	for (size_t i = 0; i < n; i++)
		if (!sigs[i] || !sigs[i]->message)
			return -EINVAL;
	return build(out, dbc, sigs, tags, n);
}

void decoder_free(decoder_t *d)
{
	if (!d)
		return;
	free(d->msgs);
	free(d->sigs);
	free(d->ranges);
	free(d->ext_keys);
	free(d->ext_vals);
	free(d);
}

size_t decoder_signal_count(const decoder_t *d)
{
	return d->n_emit;
}

/* ---- hot path -------------------------------------------------------------- */

static inline const struct dmsg *lookup(const decoder_t *d, uint32_t id, bool is_ext)
{
	if (!is_ext) {
		if (id > CAN_SFF_MAX || !d->std_index[id])
			return NULL;
		return &d->msgs[d->std_index[id] - 1];
	}
	uint32_t key = id | 0x80000000u;
	uint32_t h = (id * 2654435761u) & d->ext_mask;
	for (;;) {
		uint32_t k = d->ext_keys[h];
		if (k == key)
			return &d->msgs[d->ext_vals[h]];
		if (!k)
			return NULL;
		h = (h + 1) & d->ext_mask;
	}
}

const struct dbc_message *decoder_message(const decoder_t *d, uint32_t id, bool is_ext)
{
	const struct dmsg *dm = lookup(d, id, is_ext);
	return dm ? dm->msg : NULL;
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static inline uint64_t extract(const struct dsig *s, const uint8_t *b)
{
	uint64_t raw;

	if (!(s->flags & DS_MOTOROLA)) {
		raw = load_le64(b + s->byte) >> s->shift;
		if (unlikely(s->flags & DS_SPILL))
			raw |= (uint64_t)b[s->byte + 8] << (64 - s->shift);
		return raw & s->mask;
	}
	raw = load_be64(b + s->byte) << s->shift;
	if (unlikely(s->flags & DS_SPILL))
		raw |= (uint64_t)(b[s->byte + 8] >> (8 - s->shift));
	return raw >> (64 - s->len);
}

static inline bool in_ranges(const decoder_t *d, const struct dsig *s, uint64_t sw_raw, bool sw_signed,
			     unsigned sw_len)
{
	if (sw_signed && sw_len < 64 && ((sw_raw >> (sw_len - 1)) & 1))
		return false;   /* negative switch value: no range holds it */
	if (sw_signed && sw_len == 64 && (int64_t)sw_raw < 0)
		return false;
	const struct dbc_mux_range *r = &d->ranges[s->range_first];
	for (unsigned i = 0; i < s->n_ranges; i++)
		if (sw_raw >= r[i].lo && sw_raw <= r[i].hi)
			return true;
	return false;
}

int decode_frame(const decoder_t *d, uint32_t id, bool is_ext, const uint8_t *data, size_t len,
		 struct decode_value *out, size_t max, const struct dbc_message **msg)
{
	const struct dmsg *dm = lookup(d, id, is_ext);
	union {
		uint8_t b[80];
		uint64_t w[10];
	} u;
	uint64_t raws[DECODE_MAX_VALUES];
	uint8_t present[DECODE_MAX_VALUES];
	size_t n = 0;

	if (msg)
		*msg = dm ? dm->msg : NULL;
	if (!dm)
		return 0;
	if (len > 64)
		len = 64;
	/* Zero every word an 8-byte load (+1 spill byte) can touch. Classic
	 * 8-byte frames, the common case, take three word stores. */
	if (likely(len == 8)) {
		memcpy(&u.w[0], data, 8);
		u.w[1] = 0;
		u.w[2] = 0;
	} else {
		memset(u.b, 0, sizeof(u.b));
		memcpy(u.b, data, len);
	}

	const struct dsig *s = &d->sigs[dm->first];
	unsigned count = dm->count > DECODE_MAX_VALUES ? DECODE_MAX_VALUES : dm->count;
	for (unsigned i = 0; i < count; i++, s++) {
		/* present[] and raws[] are read only for switches (DS_SWITCH),
		 * always before the entries that depend on them */
		if (s->need > len)
			goto absent;
		if (unlikely(s->parent >= 0)) {
			const struct dsig *p = &d->sigs[dm->first + (unsigned)s->parent];
			if (!present[s->parent] ||
			    !in_ranges(d, s, raws[s->parent], p->flags & DS_SIGNED, p->len))
				goto absent;
		}
		uint64_t raw = extract(s, u.b);
		if (unlikely(s->flags & DS_SWITCH)) {
			raws[i] = raw;
			present[i] = 1;
		}
		if (!(s->flags & DS_EMIT) || n >= max)
			continue;
		double v;
		if (likely(!(s->flags & (DS_FLOAT | DS_DOUBLE)))) {
			if (s->flags & DS_SIGNED) {
				unsigned sh = 64u - s->len;
				v = (double)((int64_t)(raw << sh) >> sh);
			} else {
				v = (double)raw;
			}
		} else if (s->flags & DS_FLOAT) {
			uint32_t w32 = (uint32_t)raw;
			float f;
			memcpy(&f, &w32, sizeof(f));
			v = f;
		} else {
			memcpy(&v, &raw, sizeof(v));
		}
		out[n].sig = s->sig;
		out[n].tag = s->tag;
		out[n].raw = raw;
		out[n].value = v * s->factor + s->offset;
		n++;
		continue;
absent:
		if (unlikely(s->flags & DS_SWITCH))
			present[i] = 0;
	}
	return (int)n;
}
