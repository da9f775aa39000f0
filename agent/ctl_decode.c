/* eco2ctl decode --dbc FILE [--json] [LOG|-]: decode a candump log.
 *
 * --json writes one object a line for each frame that yields a signal:
 *   {"t":1700000000.001000,"id":496,"name":"ExampleMessage","signals":{"Enable":1,...}}
 * t is the log time in seconds, id the CAN id without flag bits, values are
 * physical (raw * factor + offset; enum labels are not substituted) and
 * print so that they read back as the same double; integer signals with
 * integer scaling print exactly, even beyond 2^53. Frames the DBC does not
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

static void put_json_str(FILE *out, const char *s)
{
	putc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			putc(c, out);
	}
	putc('"', out);
}

static bool is_small_int(double x)
{
	return x == trunc(x) && fabs(x) <= 9007199254740992.0;   /* 2^53 */
}

/* A JSON number that reads back as exactly the decoded value. */
static void put_value(FILE *out, const struct decode_value *v)
{
	const struct dbc_signal *s = v->sig;
	char buf[40];

	if (s->value_type == DBC_VT_INT && is_small_int(s->factor) && is_small_int(s->offset)) {
		/* raw * factor + offset in integers: exact for 64-bit raws, where a
		 * double would round (no 128-bit type on every target: checked
		 * 64-bit arithmetic, else the double below) */
		int64_t f = (int64_t)s->factor, o = (int64_t)s->offset, r;
		if (!s->is_signed && f == 1 && o == 0) {
			fprintf(out, "%llu", (unsigned long long)v->raw);
			return;
		}
		if (s->is_signed) {
			unsigned sh = 64u - s->length;
			r = (int64_t)(v->raw << sh) >> sh;
		} else if (v->raw > INT64_MAX) {
			goto as_double;
		} else {
			r = (int64_t)v->raw;
		}
		if (!__builtin_mul_overflow(r, f, &r) && !__builtin_add_overflow(r, o, &r)) {
			fprintf(out, "%lld", (long long)r);
			return;
		}
	}
as_double:;
	double x = v->value;
	if (!isfinite(x)) {
		fputs("null", out);   /* JSON has no NaN or infinity */
		return;
	}
	if (x == trunc(x) && fabs(x) < 1e17) {
		fprintf(out, "%.0f", x);
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, x);
		if (prec == 17 || strtod(buf, NULL) == x)
			break;
	}
	fputs(buf, out);
}

static void put_time(FILE *out, uint64_t t_ns)
{
	unsigned long long sec = t_ns / 1000000000u, ns = t_ns % 1000000000u;
	if (ns % 1000 == 0)
		fprintf(out, "%llu.%06llu", sec, ns / 1000);
	else
		fprintf(out, "%llu.%09llu", sec, ns);
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

static void print_frame(FILE *out, bool json, const struct can_frame_rec *f,
			const struct dbc_message *m, const struct decode_value *vals, int n)
{
	if (json) {
		fputs("{\"t\":", out);
		put_time(out, f->t_ns);
		fprintf(out, ",\"id\":%u,\"name\":", f->id);
		put_json_str(out, m->name);
		fputs(",\"signals\":{", out);
		for (int i = 0; i < n; i++) {
			if (i)
				putc(',', out);
			put_json_str(out, vals[i].sig->name);
			putc(':', out);
			put_value(out, &vals[i]);
		}
		fputs("}}\n", out);
		return;
	}
	putc('(', out);
	put_time(out, f->t_ns);
	fprintf(out, ") %s %0*X %s:", f->iface, (f->flags & CANREC_EXT) ? 8 : 3, f->id, m->name);
	for (int i = 0; i < n; i++) {
		const char *label = label_of(vals[i].sig, vals[i].raw);
		fprintf(out, " %s=", vals[i].sig->name);
		put_value(out, &vals[i]);
		if (vals[i].sig->unit[0])
			fprintf(out, " %s", vals[i].sig->unit);
		if (label)
			fprintf(out, " \"%s\"", label);
		if (i + 1 < n)
			putc(',', out);
	}
	putc('\n', out);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: eco2ctl decode --dbc FILE [--json] [LOG|-]\n"
		"       eco2ctl decode --profile FILE [--vss] [--json] [--list] [LOG|-]\n"
		"  decode a candump log (default: standard input) with a DBC file, or the\n"
		"  roles a vehicle profile reads (--vss: as COVESA VSS signals)\n");
}

int ctl_decode(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dbc", required_argument, NULL, 'd' },
		{ "profile", required_argument, NULL, 'p' },
		{ "vss", no_argument, NULL, 'v' },
		{ "list", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct decode_value vals[DECODE_MAX_VALUES];
	static char outbuf[1 << 16];
	const char *dbc_path = NULL, *log_path = "-", *profile_path = NULL;
	bool json = false, vss = false, list = false;
	dbc_t *dbc = NULL;
	decoder_t *dec = NULL;
	canlog_reader_t *rd = NULL;
	struct can_frame_rec f;
	int c, ret = 1;

	while ((c = getopt_long(argc, argv, "d:p:vljh", opts, NULL)) != -1) {
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

	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	if (dbc_load(&dbc, dbc_path))
		goto out;
	if (decoder_new(&dec, dbc)) {
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
		if (n > 0)
			print_frame(stdout, json, &f, m, vals, n);
	}
	if (canlog_bad_lines(rd))
		log_warn("%s: %lu of %lu lines malformed (skipped)", log_path,
			 canlog_bad_lines(rd), canlog_lines(rd));
	ret = 0;
out:
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "eco2ctl decode: write error: %s\n", strerror(errno));
		ret = 1;
	}
	canlog_close(rd);
	decoder_free(dec);
	dbc_free(dbc);
	return ret;
}
