/* libFuzzer target: the DBC parser must report, never crash; whatever
 * loads must be consistent (every signal fits 64 bytes, every switch chain
 * ends, lookups find what iteration finds); what loads with DBC_STRICT
 * loads the same without it.
 *
 * And the loader keeps going: the input's lines, made unable to define a
 * message or open a string (each '"' becomes '\'', each "BO_" becomes
 * "B0_"), are broken lines interleaved with good messages (and the dialect
 * statements docs/dbc.md accepts) that a generator seeded by the input
 * writes: before each message, between its signals and after it. Every
 * good message must load with its id, name, size and every good signal's
 * geometry and scaling, whatever precedes or follows it. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/log.h"
#include "can/dbc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_consistent(const dbc_t *dbc)
{
	uint8_t payload[64] = { 0 };

	for (unsigned i = 0; i < dbc_message_count(dbc); i++) {
		const struct dbc_message *m = dbc_message_at(dbc, i);
		if (!dbc_find_message(dbc, m->id, m->is_ext))
			abort();
		for (unsigned j = 0; j < m->n_signals; j++) {
			const struct dbc_signal *s = &m->signals[j];
			uint64_t raw;
			unsigned depth = 0;
			if (s->message != m || s->index != j || !s->short_name)
				abort();
			const struct dbc_signal *f = dbc_find_signal(m, s->name);
			if (!f || strcmp(f->name, s->name))
				abort();
			if (dbc_extract_raw(s, payload, sizeof(payload), &raw))
				abort();   /* the parser must refuse what does not fit 64 bytes */
			if (dbc_encode_signal(s, 1.5, payload, sizeof(payload)) == -ERANGE)
				abort();
			for (const struct dbc_signal *p = s->mux_switch; p; p = p->mux_switch)
				if (++depth > m->n_signals)
					abort();
		}
	}
}

/* ---- good messages among broken lines ------------------------------------- */

struct gen {
	uint64_t s;
};

static uint32_t rnd(struct gen *g, uint32_t n)
{
	g->s = g->s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)((g->s >> 33) % n);
}

struct buf {
	char *p;
	size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p)
			abort();
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void putf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		abort();
	put(b, tmp, (size_t)n);
}

/* The next broken line from the input (made harmless as above), if any. */
static void put_broken(struct buf *b, const uint8_t **in, const uint8_t *end)
{
	if (*in >= end)
		return;
	const uint8_t *nl = memchr(*in, '\n', (size_t)(end - *in));
	const uint8_t *e = nl ? nl : end;
	size_t n = (size_t)(e - *in);
	if (n > 200)
		n = 200;
	for (size_t i = 0; i < n; i++) {
		char c = (char)(*in)[i];
		if (c == '"')
			c = '\'';
		else if (c == '_' && i >= 2 && (*in)[i - 2] == 'B' && (*in)[i - 1] == 'O')
			b->p[b->n - 1] = '0';   /* "BO_" -> "B0_" */
		put(b, &c, 1);
	}
	put(b, "\n", 1);
	*in = nl ? nl + 1 : end;
}

#define MAX_GOOD 8
#define MAX_SIGS 4

struct good_sig {
	char name[24];
	unsigned start, len;
	bool intel, is_signed;
	double factor;
};

struct good_msg {
	uint32_t id;
	bool ext;
	char name[24];
	unsigned size, n_sigs;
	struct good_sig sigs[MAX_SIGS];
};

static const char *const factors[] = { "1", "0.5", "0.01", "-0.1", "1e-3", "2", "0.00390625" };
static const char *const offsets[] = { "0", "-40", "1.5", "-3276.8" };

static void good_among_broken(const uint8_t *data, size_t size)
{
	struct gen g = { fnv1a64(data, size) | 1 };
	struct good_msg good[MAX_GOOD];
	struct buf b = { 0 };
	const uint8_t *in = data, *end = data + size;
	unsigned n_good = 2 + rnd(&g, MAX_GOOD - 1);
	dbc_t *dbc = NULL;

	static const char head[] = "VERSION \"\"\n\nNS_ :\n\tCM_\n\nBS_:\n\nBU_: ECU\n";
	put(&b, head, strlen(head));
	for (unsigned k = 0; k < n_good; k++) {
		struct good_msg *m = &good[k];
		m->ext = rnd(&g, 3) == 0;
		m->id = m->ext ? 0x10000u + k * 977u : 1u + k * 37u;
		snprintf(m->name, sizeof(m->name), rnd(&g, 4) ? "Good%u" : "%u_Good", k);
		m->size = 8;
		m->n_sigs = 1 + rnd(&g, MAX_SIGS);
		for (unsigned r = rnd(&g, 3); r; r--)
			put_broken(&b, &in, end);
		putf(&b, "BO_ %u %s: %u ECU\n", m->ext ? m->id | 0x80000000u : m->id, m->name, m->size);
		for (unsigned i = 0; i < m->n_sigs; i++) {
			struct good_sig *s = &m->sigs[i];
			const char *fac = factors[rnd(&g, ARRAY_SIZE(factors))];
			const char *mux = "";
			snprintf(s->name, sizeof(s->name), rnd(&g, 5) ? "S%u_%u" : "%u_S%u", k, i);
			s->len = 1 + rnd(&g, 16);
			s->intel = rnd(&g, 2);
			/* 16 bits a signal: Intel from its LSB, Motorola from its MSB */
			s->start = s->intel ? i * 16 : i * 16 + 7;
			s->is_signed = rnd(&g, 2);
			s->factor = strtod(fac, NULL);
			if (i == 0 && rnd(&g, 4) == 0)
				mux = " M";
			else if (i > 0 && rnd(&g, 4) == 0)
				mux = rnd(&g, 2) ? " m1" : " m";   /* "m" alone: the dialect */
			if (rnd(&g, 3) == 0)
				put_broken(&b, &in, end);
			putf(&b, " SG_ %s%s : %u|%u@%u%c (%s,%s) [0|0] \"u\" ECU\n", s->name, mux, s->start,
			     s->len, s->intel ? 1u : 0u, s->is_signed ? '-' : '+', fac,
			     offsets[rnd(&g, ARRAY_SIZE(offsets))]);
		}
		/* dialect statements about the message, and a broken line after */
		uint32_t dbc_id = m->ext ? m->id | 0x80000000u : m->id;
		switch (rnd(&g, 5)) {
		case 0:
			putf(&b, "CM_ SG_ %u \"no signal named\";\n", dbc_id);
			break;
		case 1:
			putf(&b, "CM_ %u \"no object kind\";\n", dbc_id);
			break;
		case 2:
			putf(&b, "VAL_ %u %s 1 \"On\" 0 \"Off\"\n", dbc_id, m->sigs[0].name);
			break;
		case 3:
			putf(&b, "CM_ \"no semicolon\"\n");
			break;
		default:
			break;
		}
		for (unsigned r = rnd(&g, 3); r; r--)
			put_broken(&b, &in, end);
	}
	while (in < end && rnd(&g, 2))
		put_broken(&b, &in, end);

	if (dbc_load_buffer(&dbc, "mixed.dbc", b.p, b.n))
		abort();   /* without DBC_STRICT a load fails only for memory */
	check_consistent(dbc);
	for (unsigned k = 0; k < n_good; k++) {
		const struct good_msg *gm = &good[k];
		const struct dbc_message *m = dbc_find_message(dbc, gm->id, gm->ext);
		if (!m || strcmp(m->name, gm->name) || m->size != gm->size) {
			fprintf(stderr, "lost message %s:\n%s\n", gm->name, b.p);
			abort();
		}
		for (unsigned i = 0; i < gm->n_sigs; i++) {
			const struct good_sig *gs = &gm->sigs[i];
			const struct dbc_signal *s = dbc_find_signal(m, gs->name);
			if (!s || s->start_bit != gs->start || s->length != gs->len ||
			    (s->byte_order == DBC_INTEL) != gs->intel || s->is_signed != gs->is_signed ||
			    s->factor != gs->factor || !s->factor_dec.exact) {
				fprintf(stderr, "lost signal %s.%s:\n%s\n", gm->name, gs->name, b.p);
				abort();
			}
		}
	}
	dbc_free(dbc);
	free(b.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	dbc_t *dbc = NULL, *strict = NULL;

	if (!quiet) {
		log_open("fuzz", LOG_TO_STDERR, -1);
		quiet = 1;
	}
	if (dbc_load_buffer(&dbc, "fuzz.dbc", (const char *)data, size) == 0)
		check_consistent(dbc);
	if (dbc_load_buffer_with(&strict, "fuzz.dbc", (const char *)data, size, DBC_STRICT) == 0) {
		/* what the grammar accepts, both modes read alike */
		if (!dbc || dbc_message_count(dbc) != dbc_message_count(strict))
			abort();
		for (unsigned i = 0; i < dbc_message_count(dbc); i++)
			if (dbc_message_at(dbc, i)->n_signals != dbc_message_at(strict, i)->n_signals)
				abort();
	}
	dbc_free(strict);
	dbc_free(dbc);
	good_among_broken(data, size);
	return 0;
}
