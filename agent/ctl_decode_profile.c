/* eco2ctl decode --profile FILE [--vss] [--json] [--list] [LOG|-]: what a
 * vehicle profile reads from a candump log, role by role.
 *
 * Every value the profile's broadcast signals carry and every answer to
 * one of its [poll.NAME] requests the log holds (a recorded polling
 * session, e.g. eco2-sim --out) is printed one line a value, in the role's
 * canonical unit, or with --vss under its COVESA VSS 4.0 path in VSS's
 * unit and sign (can/vss.h):
 *
 *   (1700000000.100000) can0 odometer=12345678 m
 *   (1700000000.100000) can0 Vehicle.TraveledDistance=12345.678 km
 *   {"t":1700000000.100000,"path":"Vehicle.TraveledDistance","value":12345.678,"unit":"km"}
 *
 * --list prints the profile's roles instead: where each comes from and its
 * VSS name, so fleet tooling can map our profiles without reading them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/ctl.h"
#include "lib/log.h"
#include "can/canlog.h"
#include "can/diag.h"
#include "can/physfmt.h"
#include "can/profile.h"
#include "can/vss.h"

/* A value as JSON: the shortest decimal that reads back as it. */
static void put_num(FILE *out, double x)
{
	char buf[PHYSFMT_ROOM];
	const char *end = physfmt_double(x, buf);

	fwrite(buf, 1, (size_t)(end - buf), out);
}

static const char *canonical_unit(enum eco2_role r)
{
	static const char *const units[ROLE_COUNT] = {
		[ROLE_ODOMETER] = "m", [ROLE_SPEED] = "km/h", [ROLE_PACK_VOLTAGE] = "V",
		[ROLE_PACK_CURRENT] = "A", [ROLE_DISCHARGE_TOTAL] = "Wh", [ROLE_REGEN_TOTAL] = "Wh",
		[ROLE_IGNITION] = "", [ROLE_CHARGING] = "",
	};

	return (unsigned)r < ROLE_COUNT ? units[r] : "";
}

static void put_sample(FILE *out, const struct can_frame_rec *f, const struct eco2_sample *s,
		       bool json, bool vss)
{
	const struct vss_signal *v = vss_of(s->role);
	const char *name = vss ? v->path : profile_role_name(s->role);
	const char *unit = vss ? v->unit : canonical_unit(s->role);
	unsigned long long sec = s->t_ns / 1000000000u, us = s->t_ns % 1000000000u / 1000;
	double num = s->value == 0 ? 0 : s->value;   /* no "-0" */
	const char *str = NULL;
	bool flag = false;

	if (vss) {
		vss_value(s->role, s->value, &num, &str, &flag);
		if (v->type == VSS_FLOAT)
			str = NULL;
	}
	if (json) {
		fprintf(out, "{\"t\":%llu.%06llu,\"%s\":\"%s\",\"value\":", sec, us,
			vss ? "path" : "role", name);
		if (vss && v->type == VSS_STRING)
			fprintf(out, "\"%s\"", str);
		else if (vss && v->type == VSS_BOOLEAN)
			fputs(flag ? "true" : "false", out);
		else
			put_num(out, num);
		fprintf(out, ",\"unit\":\"%s\"}\n", unit);
		return;
	}
	fprintf(out, "(%llu.%06llu) %s %s=", sec, us, f->iface, name);
	if (vss && v->type == VSS_STRING)
		fputs(str, out);
	else if (vss && v->type == VSS_BOOLEAN)
		fputs(flag ? "true" : "false", out);
	else
		put_num(out, num);
	if (*unit)
		fprintf(out, " %s", unit);
	putc('\n', out);
}

/* Where each role comes from, and its VSS name. */
static void list_roles(FILE *out, const profile_t *p, bool json)
{
	for (unsigned r = 0; r < ROLE_COUNT; r++) {
		const struct dbc_signal *sig = profile_signal(p, (enum eco2_role)r);
		const struct diag_field *f = NULL;
		const struct diag_req *q = profile_poll_of(p, (enum eco2_role)r, &f);
		const struct vss_signal *v = vss_of((enum eco2_role)r);
		char src[160];

		if (sig)
			snprintf(src, sizeof(src), "%s.%s", sig->message->name, sig->name);
		else if (q)
			snprintf(src, sizeof(src), "poll.%s", q->name);
		else
			continue;
		if (json)
			fprintf(out, "{\"role\":\"%s\",\"path\":\"%s\",\"unit\":\"%s\",\"vss\":\"%s\",\"%s\":\"%s\"}\n",
				profile_role_name((enum eco2_role)r), v->path, v->unit, VSS_VERSION,
				sig ? "signal" : "request", sig ? src : q->name);
		else
			fprintf(out, "%-23s %-62s %-4s %s\n", profile_role_name((enum eco2_role)r), v->path,
				*v->unit ? v->unit : "-", src);
	}
}

/* The worst-case share of the bus the declared requests take per state. */
static void bus_load(FILE *out, const profile_t *p)
{
	const struct profile_poll_opts *o = profile_poll_opts(p);
	size_t n;
	const struct diag_req *r = profile_polls(p, &n);

	if (!n)
		return;
	fprintf(out, "# polling, worst case on the %u bit/s bus:", o->bitrate);
	for (int s = 0; s < DIAG_N_STATES; s++) {
		double bits = 0, frames = 0;

		for (size_t i = 0; i < n; i++) {
			if (!r[i].interval_ms[s])
				continue;
			bits += diag_req_bits(&r[i], o->padding >= 0) * 1000.0 / r[i].interval_ms[s];
			frames += diag_req_frames(&r[i]) * 1000.0 / r[i].interval_ms[s];
		}
		fprintf(out, "%s %s %.3f %% (%.1f frames/s)", s ? "," : "",
			diag_state_name((enum diag_state)s), bits * 100 / o->bitrate, frames);
	}
	fputc('\n', out);
}

int ctl_decode_profile(const char *profile_path, const char *log_path, bool json, bool vss,
		       bool list)
{
	profile_t *p = NULL;
	canlog_reader_t *rd = NULL;
	diag_listener_t *answers = NULL;
	const struct diag_req *reqs;
	struct can_frame_rec f;
	size_t n_reqs;
	int ret = 1;

	if (profile_load(&p, profile_path))
		goto out;
	if (list) {
		if (!json) {
			printf("# %s: roles and their COVESA VSS %s names\n", profile_path, VSS_VERSION);
			bus_load(stdout, p);
		}
		list_roles(stdout, p, json);
		ret = 0;
		goto out;
	}
	reqs = profile_polls(p, &n_reqs);
	if (n_reqs && diag_listener_new(&answers, reqs, n_reqs)) {
		log_err("out of memory");
		goto out;
	}
	if (canlog_open(&rd, log_path))
		goto out;
	for (;;) {
		struct eco2_sample s[ROLE_COUNT];
		int r = canlog_next(rd, &f), n;

		if (r < 0)
			goto out;
		if (r == 0)
			break;
		n = profile_decode(p, &f, s, ROLE_COUNT);
		for (int i = 0; i < n; i++)
			put_sample(stdout, &f, &s[i], json, vss);
		n = answers ? diag_listener_frame(answers, &f, s, ROLE_COUNT) : 0;
		for (int i = 0; i < n; i++)
			put_sample(stdout, &f, &s[i], json, vss);
	}
	if (canlog_bad_lines(rd))
		log_warn("%s: %lu of %lu lines malformed (skipped)", log_path, canlog_bad_lines(rd),
			 canlog_lines(rd));
	ret = 0;
out:
	canlog_close(rd);
	diag_listener_free(answers);
	profile_free(p);
	return ret;
}
