/* eco2ctl decode --dbc FILE [--json] [--strict] [LOG|-]: decode a candump log.
 *
 * The DBC loads as dbc_load() does: a statement outside the grammar is a
 * warning and the rest loads. --strict makes any such statement an error
 * and decodes nothing (for people who lint their DBCs).
 *
 * --json writes one object a line for each frame that yields a signal:
 *   {"t":1700000000.001000,"id":496,"name":"ExampleMessage","signals":{"Enable":1,...}}
 * t is the log time in seconds, id the CAN id without flag bits, values are
 * physical (raw * factor + offset; enum labels are not substituted), the
 * exact decimal value where the DBC writes factor and offset in decimal
 * (can/physfmt.h), else the shortest decimal that reads back as the
 * double. Output is built in one buffer and written 64 KiB at a time
 * (out_*: the output path). Frames the DBC does not
 * describe, remote and error frames print nothing; signals that do not fit
 * in a short frame are left out. Without --json the same, readable. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ctl.h"
#include "lib/log.h"
#include "can/canlog.h"
#include "can/dbc.h"
#include "can/decode.h"
#include "can/physfmt.h"

/* ---- output: lines built in one buffer, written 64 KiB at a time ---------- */

/* Fixed pieces of the lines (not strings: copied by their size). */
static const char lit_t[5] = { '{', '"', 't', '"', ':' };
static const char lit_end[4] = { '}', '}', '\n', '\0' };
static const char lit_u00[4] = { '\\', 'u', '0', '0' };

#define OUT_BUF   (1u << 17)
#define OUT_FLUSH (1u << 16)   /* write once this much is buffered */

/* What a signal prints before and after its value, prepared once. */
struct out_sig {
	char *key;            /* JSON: "name":   text: " name=" */
	size_t key_n;
	char *unit;           /* text: " unit", or "" */
	size_t unit_n;
	struct physfmt fmt;
};

struct out_msg {
	char *head;           /* JSON: ,"id":N,"name":"...","signals":{   text: " name:" */
	size_t head_n;
	size_t line_max;      /* JSON: the longest line, when every piece is short */
	struct out_sig *sigs;
};

struct out {
	FILE *f;
	bool json;
	uint64_t sec;         /* the last time's seconds, and their text */
	char sec_text[24];
	size_t sec_n;
	const struct dbc_message *msg0;   /* message i is msg0 + i */
	unsigned n_msgs;
	struct out_msg *msgs;
	char *buf;            /* OUT_BUF bytes, n used */
	size_t n;
};

/* s as a JSON string (quotes, backslash and controls escaped) into p,
 * which has room for 6 * strlen(s) + 2 bytes; returns the end. */
static char *json_str(char *p, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	*p++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20) {
			memcpy(p, lit_u00, sizeof(lit_u00));
			p[4] = hex[c >> 4];
			p[5] = hex[c & 15];
			p += 6;
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	return p;
}

/* Pieces of a line are kept with room for OUT_SMALL bytes at least, zero
 * padded, so that out_put() copies a short one in one fixed-size move. */
#define OUT_SMALL 64

/* a, then b (as a JSON string when json_b), then c, in `room` bytes at
 * most, kept as *out (*n bytes). */
static int keep_text(char **out, size_t *n, size_t room, const char *a, const char *b, const char *c,
		     bool json_b)
{
	char *t = calloc(1, room < OUT_SMALL ? OUT_SMALL : room), *p = t;
	if (!t)
		return -ENOMEM;
	size_t k = strlen(a);
	memcpy(p, a, k);
	p += k;
	if (json_b) {
		p = json_str(p, b);
	} else {
		k = strlen(b);
		memcpy(p, b, k);
		p += k;
	}
	k = strlen(c);
	memcpy(p, c, k);
	p += k;
	*n = (size_t)(p - t);
	*out = t;
	return 0;
}

static int out_prepare_msg(struct out *o, const struct dbc_message *m, struct out_msg *om)
{
	char id[48];
	int ret;

	if (o->json) {
		snprintf(id, sizeof(id), ",\"id\":%u,\"name\":", m->id);
		ret = keep_text(&om->head, &om->head_n, strlen(id) + 6 * strlen(m->name) + 16, id, m->name,
				",\"signals\":{", true);
	} else {
		ret = keep_text(&om->head, &om->head_n, strlen(m->name) + 4, " ", m->name, ":", false);
	}
	if (ret)
		return ret;
	om->sigs = calloc(m->n_signals ? m->n_signals : 1, sizeof(*om->sigs));
	if (!om->sigs)
		return -ENOMEM;
	for (unsigned i = 0; i < m->n_signals; i++) {
		const struct dbc_signal *s = &m->signals[i];
		struct out_sig *os = &om->sigs[i];
		if (o->json)
			ret = keep_text(&os->key, &os->key_n, 6 * strlen(s->name) + 4, "", s->name, ":", true);
		else
			ret = keep_text(&os->key, &os->key_n, strlen(s->name) + 4, " ", s->name, "=", false);
		if (!ret)
			ret = keep_text(&os->unit, &os->unit_n, strlen(s->unit) + 4,
					o->json || !s->unit[0] ? "" : " ", o->json ? "" : s->unit, "", false);
		if (ret)
			return ret;
		physfmt_init(&os->fmt, s);
	}
	/* the JSON fast path: one check of room a line, every piece copied whole */
	bool small = om->head_n <= OUT_SMALL;
	size_t max = 5 + 32 + OUT_SMALL + 4;
	for (unsigned i = 0; i < m->n_signals; i++) {
		small = small && om->sigs[i].key_n <= OUT_SMALL;
		max += 1 + OUT_SMALL + PHYSFMT_MAX;
	}
	max += PHYSFMT_ROOM - PHYSFMT_MAX;   /* the last value's scratch */
	om->line_max = o->json && small && max <= OUT_BUF / 2 ? max : 0;
	return 0;
}

static void out_free(struct out *o)
{
	for (unsigned i = 0; o->msgs && i < o->n_msgs; i++) {
		struct out_msg *om = &o->msgs[i];
		for (unsigned j = 0; om->sigs && j < o->msg0[i].n_signals; j++) {
			free(om->sigs[j].key);
			free(om->sigs[j].unit);
		}
		free(om->sigs);
		free(om->head);
	}
	free(o->msgs);
	free(o->buf);
}

static int out_init(struct out *o, FILE *f, bool json, const dbc_t *dbc)
{
	memset(o, 0, sizeof(*o));
	o->f = f;
	o->json = json;
	o->n_msgs = dbc_message_count(dbc);
	o->msg0 = dbc_message_at(dbc, 0);
	o->buf = malloc(OUT_BUF);
	o->msgs = calloc(o->n_msgs ? o->n_msgs : 1, sizeof(*o->msgs));
	if (!o->buf || !o->msgs)
		return -ENOMEM;
	for (unsigned i = 0; i < o->n_msgs; i++)
		if (out_prepare_msg(o, dbc_message_at(dbc, i), &o->msgs[i]))
			return -ENOMEM;
	return 0;
}

/* Write what is buffered. Returns 0 or -EIO (errno tells why). */
static int out_flush(struct out *o)
{
	size_t n = o->n;
	o->n = 0;
	return n && fwrite(o->buf, 1, n, o->f) != n ? -EIO : 0;
}

/* Room for `need` more bytes in the buffer (need <= OUT_BUF / 2). */
static inline int out_room(struct out *o, size_t need)
{
	return likely(o->n + need <= OUT_BUF) ? 0 : out_flush(o);
}

/* n bytes into the buffer; a piece too big for it goes straight out. A
 * piece kept by keep_text() of at most OUT_SMALL bytes is copied whole
 * (the bytes after it are overwritten by what follows). */
static inline int out_put(struct out *o, const char *s, size_t n)
{
	if (likely(n <= OUT_SMALL)) {
		if (out_room(o, OUT_SMALL))
			return -EIO;
		memcpy(o->buf + o->n, s, OUT_SMALL);
		o->n += n;
		return 0;
	}
	if (unlikely(n > OUT_BUF / 2)) {
		if (out_flush(o))
			return -EIO;
		return fwrite(s, 1, n, o->f) == n ? 0 : -EIO;
	}
	if (out_room(o, n))
		return -EIO;
	memcpy(o->buf + o->n, s, n);
	o->n += n;
	return 0;
}

/* Any n bytes (a VAL_ label: not padded). */
static int out_put_long(struct out *o, const char *s, size_t n)
{
	if (n > OUT_BUF / 2)
		return out_put(o, s, n);
	if (out_room(o, n))
		return -EIO;
	memcpy(o->buf + o->n, s, n);
	o->n += n;
	return 0;
}

/* A literal piece (shorter than OUT_SMALL), copied through a padded copy. */
static inline int out_lit(struct out *o, const char *s, size_t n)
{
	char pad[OUT_SMALL] = { 0 };
	memcpy(pad, s, n);
	return out_put(o, pad, n);
}

/* SSSS.uuuuuu, or SSSS.nnnnnnnnn when t_ns is not a whole microsecond.
 * The seconds' text is kept: a log's lines share their second by the
 * thousand. */
static char *put_time(struct out *o, char *p, uint64_t t_ns)
{
	static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
				    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
				    "8081828384858687888990919293949596979899";
	uint64_t sec = t_ns / 1000000000u;
	uint32_t ns = (uint32_t)(t_ns % 1000000000u);

	if (sec != o->sec || !o->sec_n) {
		char *e = physfmt_u64(sec, o->sec_text);
		*e++ = '.';
		o->sec_n = (size_t)(e - o->sec_text);
		o->sec = sec;
	}
	memcpy(p, o->sec_text, sizeof(o->sec_text));
	p += o->sec_n;
	if (ns % 1000 == 0) {
		uint32_t us = ns / 1000;   /* six digits, two at a time */
		memcpy(p, pairs + 2 * (size_t)(us / 10000), 2);
		memcpy(p + 2, pairs + 2 * (size_t)(us / 100 % 100), 2);
		memcpy(p + 4, pairs + 2 * (size_t)(us % 100), 2);
		return p + 6;
	}
	for (unsigned i = 9; i-- > 0; ns /= 10)
		p[i] = (char)('0' + ns % 10);
	return p + 9;
}

static const char *label_of(const struct dbc_signal *s, uint64_t raw)
{
	int64_t v = (int64_t)raw;
	if (s->is_signed && s->length < 64) {
		unsigned sh = 64u - s->length;
		v = (int64_t)(raw << sh) >> sh;
	}
	for (unsigned i = 0; i < s->n_values; i++)
		if (s->values[i].value == v)
			return s->values[i].label;
	return NULL;
}

/* A JSON line of a message whose pieces are all short (line_max set). */
static int out_frame_json(struct out *o, const struct out_msg *om, const struct can_frame_rec *f,
			  const struct decode_value *vals, int n)
{
	if (out_room(o, om->line_max))
		return -EIO;
	char *p = o->buf + o->n;
	memcpy(p, lit_t, sizeof(lit_t));
	p = put_time(o, p + 5, f->t_ns);
	memcpy(p, om->head, OUT_SMALL);
	p += om->head_n;
	for (int i = 0; i < n; i++) {
		const struct out_sig *os = &om->sigs[vals[i].sig->index];
		*p = ',';
		p += i != 0;
		memcpy(p, os->key, OUT_SMALL);
		p = physfmt_put(&os->fmt, vals[i].raw, vals[i].value, p + os->key_n);
	}
	memcpy(p, lit_end, sizeof(lit_end));
	o->n = (size_t)(p + 3 - o->buf);
	return o->n >= OUT_FLUSH ? out_flush(o) : 0;
}

/* One frame's line:
 *   JSON: {"t":T,"id":N,"name":"M","signals":{"S":V,...}}
 *   text: (T) IFACE ID M: S=V UNIT "LABEL", ...
 * Returns 0 or -EIO. */
static int out_frame(struct out *o, const struct can_frame_rec *f, const struct dbc_message *m,
		     const struct decode_value *vals, int n)
{
	static const char hex[] = "0123456789ABCDEF";
	const struct out_msg *om = &o->msgs[m - o->msg0];
	char *p;

	if (om->line_max)
		return out_frame_json(o, om, f, vals, n);
	/* time, and in text the interface and id: at most 60 bytes */
	if (out_room(o, 96))
		return -EIO;
	p = o->buf + o->n;
	if (o->json) {
		memcpy(p, lit_t, sizeof(lit_t));
		p = put_time(o, p + 5, f->t_ns);
	} else {
		size_t k = strnlen(f->iface, sizeof(f->iface));
		unsigned digits = (f->flags & CANREC_EXT) ? 8 : 3;
		*p++ = '(';
		p = put_time(o, p, f->t_ns);
		*p++ = ')';
		*p++ = ' ';
		memcpy(p, f->iface, k);
		p += k;
		*p++ = ' ';
		for (unsigned i = digits; i-- > 0;)
			*p++ = hex[(f->id >> (4 * i)) & 15];
	}
	o->n = (size_t)(p - o->buf);
	if (out_put(o, om->head, om->head_n))
		return -EIO;
	for (int i = 0; i < n; i++) {
		const struct dbc_signal *s = vals[i].sig;
		const struct out_sig *os = &om->sigs[s->index];
		if (i && o->json) {
			if (out_room(o, 1))
				return -EIO;
			o->buf[o->n++] = ',';
		}
		if (out_put(o, os->key, os->key_n) || out_room(o, PHYSFMT_ROOM))
			return -EIO;
		p = physfmt_put(&os->fmt, vals[i].raw, vals[i].value, o->buf + o->n);
		o->n = (size_t)(p - o->buf);
		if (o->json)
			continue;
		const char *label = label_of(s, vals[i].raw);
		if (out_put(o, os->unit, os->unit_n) ||
		    (label && (out_lit(o, " \"", 2) || out_put_long(o, label, strlen(label)) ||
			       out_lit(o, "\"", 1))) ||
		    (i + 1 < n && out_lit(o, ",", 1)))
			return -EIO;
	}
	if (out_room(o, 4))
		return -EIO;
	if (o->json) {
		memcpy(o->buf + o->n, lit_end, 3);
		o->n += 3;
	} else {
		o->buf[o->n++] = '\n';
	}
	return o->n >= OUT_FLUSH ? out_flush(o) : 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: eco2ctl decode --dbc FILE [--json] [--strict] [LOG|-]\n"
		"       eco2ctl decode --profile FILE [--vss] [--json] [--list] [LOG|-]\n"
		"  decode a candump log (default: standard input) with a DBC file, or the\n"
		"  roles a vehicle profile reads (--vss: as COVESA VSS signals)\n"
		"  --strict  refuse a DBC with any construct outside the grammar\n"
		"            (default: warn, skip the statement, load the rest)\n");
}

int ctl_decode(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dbc", required_argument, NULL, 'd' },
		{ "profile", required_argument, NULL, 'p' },
		{ "vss", no_argument, NULL, 'v' },
		{ "list", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "strict", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct decode_value vals[DECODE_MAX_VALUES];
	struct out o = { 0 };
	const char *dbc_path = NULL, *log_path = "-", *profile_path = NULL;
	bool json = false, vss = false, list = false;
	unsigned dbc_flags = 0;
	dbc_t *dbc = NULL;
	decoder_t *dec = NULL;
	canlog_reader_t *rd = NULL;
	struct can_frame_rec f;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "d:p:vljsh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dbc_path = optarg;
			break;
		case 'p':
			profile_path = optarg;
			break;
		case 'v':
			vss = true;
			break;
		case 'l':
			list = true;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			dbc_flags |= DBC_STRICT;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dbc_path == !profile_path || argc - optind > 1 || ((vss || list) && !profile_path)) {
		usage(stderr);
		return 2;
	}
	if (optind < argc)
		log_path = argv[optind];
	if (profile_path)
		return ctl_decode_profile(profile_path, log_path, json, vss, list);

	/* out_frame() buffers 64 KiB: each of its writes is one write(2) */
	setvbuf(stdout, NULL, _IONBF, 0);
	if (dbc_load_with(&dbc, dbc_path, dbc_flags))
		goto out;
	if (decoder_new(&dec, dbc) || out_init(&o, stdout, json, dbc)) {
		log_err("%s: cannot build the decoder", dbc_path);
		goto out;
	}
	if (canlog_open(&rd, log_path))
		goto out;
	for (;;) {
		int r = canlog_next(rd, &f);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		if (f.flags & (CANREC_RTR | CANREC_ERR))
			continue;
		const struct dbc_message *m;
		int n = decode_frame(dec, f.id, f.flags & CANREC_EXT, f.data, f.len, vals,
				     ARRAY_SIZE(vals), &m);
		if (n > 0 && out_frame(&o, &f, m, vals, n))
			goto out;   /* a write error: reported below */
	}
	if (canlog_bad_lines(rd))
		log_warn("%s: %lu of %lu lines malformed (skipped)", log_path,
			 canlog_bad_lines(rd), canlog_lines(rd));
	ret = 0;
out:
	if ((o.buf && out_flush(&o)) || fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "eco2ctl decode: write error: %s\n", strerror(errno));
		ret = 1;
	}
	out_free(&o);
	canlog_close(rd);
	decoder_free(dec);
	dbc_free(dbc);
	return ret;
}
