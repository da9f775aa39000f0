/* libFuzzer target: the frame decoder over fuzzed DBC layouts and frames.
 * Input: DBC text, a NUL byte, then frames as [ext:1][id:4 LE][len:1][data].
 * Every decoded value must equal the bit-by-bit reference
 * (dbc_extract_raw) and no signal may be reported past the payload.
 * Its text (physfmt) must be a JSON number of at most PHYSFMT_MAX bytes
 * that writes nothing past PHYSFMT_ROOM and reads back as the double
 * within 1e-12 of |raw x factor| + |offset| (exactly the double when the
 * value has no exact form). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "can/dbc.h"
#include "can/decode.h"
#include "can/physfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

static void check_text(const struct dbc_signal *s, uint64_t raw, double v)
{
	char buf[PHYSFMT_ROOM + 16];
	struct physfmt f;

	memset(buf, 0x55, sizeof(buf));
	physfmt_init(&f, s);
	char *e = physfmt_put(&f, raw, v, buf);
	for (size_t i = PHYSFMT_ROOM; i < sizeof(buf); i++)
		if (buf[i] != 0x55)
			abort();
	if (e < buf || e - buf > PHYSFMT_MAX)
		abort();
	*e = '\0';
	if (!isfinite(v) && !f.exact) {
		if (strcmp(buf, "null"))
			abort();
		return;
	}
	if (!json_number(buf))
		abort();
	double d = strtod(buf, NULL);
	if (!f.exact) {
		if (d != v)
			abort();
		return;
	}
	/* the terms' size: raw (sign-extended) x factor, and offset */
	double r = (double)raw;
	if (s->is_signed) {
		unsigned sh = 64u - s->length;
		r = (double)((int64_t)(raw << sh) >> sh);
	}
	double scale = fabs(r * s->factor) + fabs(s->offset);
	if (isfinite(scale) && fabs(d - v) > 1e-12 * scale)
		abort();
}

static void check(const decoder_t *d, uint32_t id, bool ext, const uint8_t *p, size_t len)
{
	static struct decode_value out[DECODE_MAX_VALUES];
	const struct dbc_message *m;
	int n = decode_frame(d, id, ext, p, len, out, DECODE_MAX_VALUES, &m);

	if (n < 0 || (n > 0 && !m))
		abort();
	for (int i = 0; i < n; i++) {
		uint64_t raw;
		if (out[i].sig->message != m)
			abort();
		if (dbc_extract_raw(out[i].sig, p, len, &raw) || raw != out[i].raw)
			abort();
		double v = dbc_raw_to_phys(out[i].sig, raw);
		if (!(v == out[i].value || (isnan(v) && isnan(out[i].value))))
			abort();
		check_text(out[i].sig, raw, v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	const uint8_t *sep = memchr(data, '\0', size);
	dbc_t *dbc = NULL;
	decoder_t *all = NULL, *sub = NULL;
	const struct dbc_signal *sel[16];
	size_t nsel = 0;

	if (!quiet) {
		log_open("fuzz", LOG_TO_STDERR, -1);
		quiet = 1;
	}
	if (!sep)
		return 0;
	if (dbc_load_buffer(&dbc, "fuzz.dbc", (const char *)data, (size_t)(sep - data)))
		return 0;
	if (decoder_new(&all, dbc))
		goto out;
	/* a subset: every third signal, up to 16 */
	for (unsigned i = 0, k = 0; i < dbc_message_count(dbc); i++) {
		const struct dbc_message *m = dbc_message_at(dbc, i);
		for (unsigned j = 0; j < m->n_signals && nsel < ARRAY_SIZE(sel); j++, k++)
			if (k % 3 == 0)
				sel[nsel++] = &m->signals[j];
	}
	if (decoder_new_subset(&sub, dbc, sel, NULL, nsel))
		goto out;

	const uint8_t *p = sep + 1, *end = data + size;
	while (end - p >= 6) {
		bool ext = p[0] & 1;
		uint32_t id = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24;
		size_t len = p[5] % 65;
		p += 6;
		if ((size_t)(end - p) < len)
			len = (size_t)(end - p);
		id &= ext ? 0x1fffffffu : 0x7ffu;
		check(all, id, ext, p, len);
		check(sub, id, ext, p, len);
		/* and every message of the DBC with this payload */
		for (unsigned i = 0; i < dbc_message_count(dbc) && i < 64; i++) {
			const struct dbc_message *m = dbc_message_at(dbc, i);
			check(all, m->id, m->is_ext, p, len);
			check(sub, m->id, m->is_ext, p, len);
		}
		p += len;
	}
out:
	decoder_free(sub);
	decoder_free(all);
	dbc_free(dbc);
	return 0;
}
