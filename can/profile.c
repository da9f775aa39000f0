/* profile — vehicle profile INI -> DBC signals, units, filters (see profile.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "lib/bytes.h"
#include "lib/file.h"
#include "lib/ini_lines.h"
#include "lib/log.h"
#include "can/decode.h"
#include "can/isotp.h"
#include "can/j1939.h"
#include "can/profile.h"

#define PROFILE_MAX_BYTES ((size_t)1 << 20)   /* a profile is a few KiB */
#define MAX_POLLS 32                          /* [poll.NAME] sections */

enum dim {
	DIM_NONE,       /* state signals: ignition, charging */
	DIM_LENGTH,     /* canonical m */
	DIM_SPEED,      /* canonical km/h */
	DIM_VOLTAGE,    /* canonical V */
	DIM_CURRENT,    /* canonical A */
	DIM_ENERGY,     /* canonical Wh */
	DIM_POWER,      /* known so a wrong mapping gets a clear message */
};

static const char *const dim_names[] = {
	[DIM_NONE] = "a state", [DIM_LENGTH] = "a distance", [DIM_SPEED] = "a speed",
	[DIM_VOLTAGE] = "a voltage", [DIM_CURRENT] = "a current",
	[DIM_ENERGY] = "an energy", [DIM_POWER] = "a power",
};

static const struct unit {
	const char *name;
	enum dim dim;
	double factor;          /* to the canonical unit of dim */
} units[] = {
	{ "m", DIM_LENGTH, 1 }, { "km", DIM_LENGTH, 1000 }, { "mi", DIM_LENGTH, 1609.344 },
	{ "km/h", DIM_SPEED, 1 }, { "kph", DIM_SPEED, 1 }, { "m/s", DIM_SPEED, 3.6 },
	{ "mph", DIM_SPEED, 1.609344 },
	{ "V", DIM_VOLTAGE, 1 }, { "mV", DIM_VOLTAGE, 0.001 },
	{ "A", DIM_CURRENT, 1 }, { "mA", DIM_CURRENT, 0.001 },
	{ "Wh", DIM_ENERGY, 1 }, { "kWh", DIM_ENERGY, 1000 },
	{ "W", DIM_POWER, 1 }, { "kW", DIM_POWER, 1000 },
};

static const struct role_info {
	const char *key;
	enum dim dim;
} roles[ROLE_COUNT] = {
	[ROLE_ODOMETER] = { "odometer", DIM_LENGTH },
	[ROLE_SPEED] = { "speed", DIM_SPEED },
	[ROLE_PACK_VOLTAGE] = { "pack_voltage", DIM_VOLTAGE },
	[ROLE_PACK_CURRENT] = { "pack_current", DIM_CURRENT },
	[ROLE_DISCHARGE_TOTAL] = { "discharge_energy_total", DIM_ENERGY },
	[ROLE_REGEN_TOTAL] = { "regen_energy_total", DIM_ENERGY },
	[ROLE_IGNITION] = { "ignition", DIM_NONE },
	[ROLE_CHARGING] = { "charging", DIM_NONE },
};

struct role_map {
	char *ref;                      /* "Message.Signal" as written */
	unsigned line;                  /* where it was set; 0 = unmapped */
	int poll;                       /* 1 + index of the [poll.NAME] answering it; 0 none */
	char *unit;                     /* <role>_unit override or NULL */
	unsigned unit_line;
	const struct dbc_signal *sig;
	double factor;
};

struct profile {
	char *name;
	dbc_t *dbc;
	char *dbc_file;          /* the DBC's path as loaded; NULL: built in */
	decoder_t *dec;
	bool j1939;
	struct role_map map[ROLE_COUNT];
	struct diag_req *polls;         /* [poll.NAME] sections, in file order */
	size_t n_polls;
	struct profile_poll_opts poll_opts;
};

/* Line numbers of the keys of one [poll.NAME] section (set-once checks). */
struct poll_lines {
	unsigned ecu, request, j1939, to, interval[DIAG_N_STATES], timeout, pending, answer;
};

/* Parser state: the INI is read first, then resolved against the DBC. */
struct pstate {
	struct profile *p;
	const char *file;
	const char *base_dir;
	struct ini_lines in;     /* the reader: counts lines */
	unsigned errors;
	char *dbc_path;
	unsigned dbc_line, j1939_line, name_line, current_line;
	bool current_charge;
	struct poll_lines *poll_lines;   /* parallel to p->polls */
	unsigned bitrate_line, budget_line, padding_line, sa_line, signals_lines;
};

static void perr(struct pstate *st, unsigned line, const char *fmt, ...) __printf(3, 4);
static void perr(struct pstate *st, unsigned line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	st->errors++;
	if (line)
		log_err("%s:%u: %s", st->file, line, msg);
	else
		log_err("%s: %s", st->file, msg);
}

const char *profile_role_name(enum eco2_role role)
{
	return (unsigned)role < ROLE_COUNT ? roles[role].key : "?";
}

static int role_by_key(const char *key, size_t n)
{
	for (unsigned r = 0; r < ROLE_COUNT; r++)
		if (strlen(roles[r].key) == n && !strncmp(roles[r].key, key, n))
			return (int)r;
	return -1;
}

static const struct unit *unit_find(const char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (strlen(units[i].name) == n && !strncasecmp(units[i].name, s, n))
			return &units[i];
	return NULL;
}

static bool set_once(struct pstate *st, unsigned *line, const char *section,
		     const char *key)
{
	if (*line) {
		perr(st, st->in.line, "[%s] %s: set twice (first on line %u)", section, key, *line);
		return false;
	}
	*line = st->in.line;
	return true;
}

static int set_str(char **dst, const char *value)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static void on_poll_global(struct pstate *st, const char *key, const char *value);
static void on_poll_key(struct pstate *st, const char *name, const char *key, const char *value);

static int on_value(void *user, const char *section, const char *key, const char *value)
{
	struct pstate *st = user;
	struct profile *p = st->p;
	size_t klen = strlen(key);
	int r;

	if (!strcmp(section, "vehicle")) {
		if (!strcmp(key, "name")) {
			if (set_once(st, &st->name_line, section, key) && set_str(&p->name, value))
				return 0;
		} else if (!strcmp(key, "dbc")) {
			if (!*value)
				perr(st, st->in.line, "[vehicle] dbc: expected a DBC file path");
			else if (set_once(st, &st->dbc_line, section, key) && set_str(&st->dbc_path, value))
				return 0;
		} else if (!strcmp(key, "j1939")) {
			if (strcmp(value, "builtin"))
				perr(st, st->in.line, "[vehicle] j1939: expected 'builtin', not '%s'", value);
			else
				(void)set_once(st, &st->j1939_line, section, key);
		} else {
			perr(st, st->in.line, "[vehicle] %s: unknown key (expected name, dbc or j1939)", key);
		}
		return 1;
	}

	if (!strcmp(section, "signals") || !strcmp(section, "options")) {
		/* <role>_unit is accepted in either section. */
		if (klen > 5 && !strcmp(key + klen - 5, "_unit")) {
			r = role_by_key(key, klen - 5);
			if (r < 0) {
				perr(st, st->in.line, "[%s] %s: unknown role '%.*s'", section, key,
				     (int)(klen - 5), key);
			} else if (!unit_find(value)) {
				perr(st, st->in.line, "[%s] %s: unknown unit '%s' (expected km, m, mi, km/h, m/s, mph, V, mV, A, mA, Wh or kWh)",
				     section, key, value);
			} else if (set_once(st, &p->map[r].unit_line, section, key) &&
				   set_str(&p->map[r].unit, value)) {
				return 0;
			}
			return 1;
		}
	}

	if (!strcmp(section, "signals")) {
		r = role_by_key(key, klen);
		if (r < 0) {
			perr(st, st->in.line, "[signals] %s: unknown role (expected odometer, speed, pack_voltage, pack_current, discharge_energy_total, regen_energy_total, ignition or charging)",
			     key);
			return 1;
		}
		if (!strchr(value, '.') || value[0] == '.' || value[strlen(value) - 1] == '.') {
			perr(st, st->in.line, "[signals] %s: expected MessageName.SignalName, not '%s'",
			     key, value);
			return 1;
		}
		if (set_once(st, &p->map[r].line, section, key) && set_str(&p->map[r].ref, value))
			return 0;
		return 1;
	}

	if (!strcmp(section, "options")) {
		if (!strcmp(key, "current_positive")) {
			if (!set_once(st, &st->current_line, section, key))
				return 1;
			if (!strcasecmp(value, "discharge"))
				st->current_charge = false;
			else if (!strcasecmp(value, "charge"))
				st->current_charge = true;
			else
				perr(st, st->in.line, "[options] current_positive: expected discharge or charge, not '%s'",
				     value);
		} else {
			perr(st, st->in.line, "[options] %s: unknown key (expected current_positive or <role>_unit)",
			     key);
		}
		return 1;
	}

	if (!strcmp(section, "poll")) {
		on_poll_global(st, key, value);
		return 1;
	}
	if (!strncmp(section, "poll.", 5)) {
		on_poll_key(st, section + 5, key, value);
		return 1;
	}
	perr(st, st->in.line, "[%s]: unknown section (expected vehicle, signals, options, poll or poll.NAME)", section);
	return 1;
}

/* ---- [poll] and [poll.NAME] ------------------------------------------------ */

/* A whole-string number in [min, max]. */
static bool num_in(const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return !errno && end != s && !*end && isfinite(*out) && *out >= min && *out <= max;
}

/* A hex number of 1..max_digits digits (an optional 0x), whole string. */
static bool hex_in(const char *s, unsigned max_digits, uint32_t *out, unsigned *digits)
{
	size_t n;
	uint32_t v = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	n = strlen(s);
	if (n == 0 || n > max_digits)
		return false;
	for (size_t i = 0; i < n; i++) {
		int d = hex_digit((unsigned char)s[i]);

		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	if (digits)
		*digits = (unsigned)n;
	return true;
}

/* "7E4" (11-bit) or "18DA42F1" (29-bit: more than 3 digits or above 0x7FF). */
static bool can_id_in(const char *s, uint32_t *id, bool *ext)
{
	unsigned digits;

	if (!hex_in(s, 8, id, &digits))
		return false;
	*ext = digits > 3 || *id > 0x7ff;
	return *id <= 0x1fffffff;
}

/* Split value at blanks into at most max tokens in buf; -1 if too many. */
static int tokens(const char *value, char *buf, size_t buflen, char **tok, int max)
{
	int n = 0;

	snprintf(buf, buflen, "%s", value);
	for (char *p = buf; *p;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (n == max)
			return -1;
		tok[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return n;
}

static struct diag_req *poll_find(struct pstate *st, const char *name, struct poll_lines **pl)
{
	struct profile *p = st->p;
	struct diag_req *r;
	void *grown;

	for (size_t i = 0; i < p->n_polls; i++)
		if (!strcmp(p->polls[i].name, name)) {
			*pl = &st->poll_lines[i];
			return &p->polls[i];
		}
	if (p->n_polls == MAX_POLLS) {
		perr(st, st->in.line, "[poll.%s]: at most %d [poll.NAME] sections", name, MAX_POLLS);
		return NULL;
	}
	if (!*name || strlen(name) >= DIAG_NAME_MAX) {
		perr(st, st->in.line, "[poll.%s]: expected a name of 1 to %d characters", name,
		     DIAG_NAME_MAX - 1);
		return NULL;
	}
	grown = realloc(p->polls, (p->n_polls + 1) * sizeof(*p->polls));
	if (!grown)
		return NULL;
	p->polls = grown;
	grown = realloc(st->poll_lines, (p->n_polls + 1) * sizeof(*st->poll_lines));
	if (!grown)
		return NULL;
	st->poll_lines = grown;
	r = &p->polls[p->n_polls];
	memset(r, 0, sizeof(*r));
	memset(&st->poll_lines[p->n_polls], 0, sizeof(*st->poll_lines));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->line = st->in.line;
	r->timeout_ms = 200;
	r->pending_ms = 5000;
	*pl = &st->poll_lines[p->n_polls];
	p->n_polls++;
	return r;
}

/* ROLE = POS[:LEN | .BIT] [signed] [le] [* SCALE] [+|- OFFSET] [UNIT] */
static void poll_field(struct pstate *st, struct diag_req *r, enum eco2_role role,
		       const char *value)
{
	struct diag_field *f;
	const struct unit *u = NULL;
	char buf[256], *tok[12], *colon, *dot;
	double v;
	int n = tokens(value, buf, sizeof(buf), tok, (int)ARRAY_SIZE(tok));

	if (r->n_fields == DIAG_MAX_FIELDS) {
		perr(st, st->in.line, "[poll.%s]: at most %d roles in one answer", r->name, DIAG_MAX_FIELDS);
		return;
	}
	f = &r->fields[r->n_fields];
	memset(f, 0, sizeof(*f));
	f->role = role;
	f->scale = 1;
	f->line = st->in.line;
	if (n < 1)
		goto bad;
	colon = strchr(tok[0], ':');
	dot = strchr(tok[0], '.');
	if (colon)
		*colon = '\0';
	if (dot)
		*dot = '\0';
	if (!num_in(tok[0], 0, ISOTP_MAX_PDU - 2, &v) || v != floor(v))
		goto bad;
	f->pos = (uint16_t)v;
	f->len = 1;
	if (colon) {
		if (!num_in(colon + 1, 1, 8, &v) || v != floor(v))
			goto bad;
		f->len = (uint8_t)v;
	} else if (dot) {
		if (!num_in(dot + 1, 0, 7, &v) || v != floor(v))
			goto bad;
		f->len = 0;
		f->bit = (uint8_t)v;
	}
	for (int i = 1; i < n; i++) {
		const char *t = tok[i];

		if (!strcmp(t, "signed") && f->len) {
			f->is_signed = true;
		} else if (!strcmp(t, "le") && f->len > 1) {
			f->le = true;
		} else if (t[0] == '*' || t[0] == '+' || (t[0] == '-' && !u)) {
			const char *num = t[1] ? t + 1 : (i + 1 < n ? tok[++i] : "");

			if (!num_in(num, -1e12, 1e12, &v))
				goto bad;
			if (t[0] == '*') {
				if (v == 0)
					goto bad;
				f->scale = v;
			} else {
				f->offset = t[0] == '-' ? -v : v;
			}
		} else if (!u && i == n - 1) {
			u = unit_find(t);
			if (!u) {
				perr(st, st->in.line, "[poll.%s] %s: unknown unit '%s'", r->name,
				     roles[role].key, t);
				return;
			}
		} else {
			goto bad;
		}
	}
	if (roles[role].dim == DIM_NONE) {
		if (u) {
			perr(st, st->in.line, "[poll.%s] %s: a state takes no unit", r->name, roles[role].key);
			return;
		}
		f->factor = 1;
	} else if (!u) {
		perr(st, st->in.line, "[poll.%s] %s: give the unit (%s needs %s)", r->name,
		     roles[role].key, roles[role].key, dim_names[roles[role].dim]);
		return;
	} else if (u->dim != roles[role].dim) {
		perr(st, st->in.line, "[poll.%s] %s: unit '%s' is %s; %s needs %s", r->name,
		     roles[role].key, u->name, dim_names[u->dim], roles[role].key,
		     dim_names[roles[role].dim]);
		return;
	} else {
		f->factor = u->factor;
	}
	if (st->p->map[role].line) {
		perr(st, st->in.line, "%s: mapped twice (first on line %u)", roles[role].key,
		     st->p->map[role].line);
		return;
	}
	st->p->map[role].line = st->in.line;
	st->p->map[role].poll = (int)(r - st->p->polls) + 1;
	r->n_fields++;
	return;
bad:
	perr(st, st->in.line, "[poll.%s] %s: expected POS[:LEN|.BIT] [signed] [le] [* SCALE] [+|- OFFSET] [UNIT], not '%s'",
	     r->name, roles[role].key, value);
}

/* request = 22 01 01: a read service and its parameter, nothing else. */
static void poll_request(struct pstate *st, struct diag_req *r, const char *value)
{
	char buf[64], *tok[DIAG_MAX_REQ + 1];
	int n = tokens(value, buf, sizeof(buf), tok, DIAG_MAX_REQ + 1);
	uint32_t b;
	int want;

	if (n < 2 || n > DIAG_MAX_REQ)
		goto bad;
	for (int i = 0; i < n; i++) {
		if (!hex_in(tok[i], 2, &b, NULL))
			goto bad;
		r->req[i] = (uint8_t)b;
	}
	switch (r->req[0]) {
	case 0x01:   /* OBD-II current data: PID */
	case 0x09:   /* OBD-II vehicle information: info type */
	case 0x21:   /* KWP2000 ReadDataByLocalIdentifier */
		want = 2;
		break;
	case 0x22:   /* UDS ReadDataByIdentifier: one DID */
		want = 3;
		break;
	default:
		perr(st, st->in.line, "[poll.%s] request: service %02X is not a read this agent may send (01, 09, 21 or 22)",
		     r->name, r->req[0]);
		return;
	}
	if (n != want) {
		perr(st, st->in.line, "[poll.%s] request: service %02X takes %d parameter byte%s, not %d",
		     r->name, r->req[0], want - 1, want == 2 ? "" : "s", n - 1);
		return;
	}
	r->req_len = (uint8_t)n;
	return;
bad:
	perr(st, st->in.line, "[poll.%s] request: expected hex bytes such as '22 01 01' or '01 A6', not '%s'",
	     r->name, value);
}

/* The numeric keys of a [poll.NAME] section. False: key is none of them. */
static bool poll_number(struct pstate *st, struct diag_req *r, struct poll_lines *pl,
			const char *sect, const char *key, const char *value)
{
	static const struct {
		const char *key;
		size_t line;            /* offset of its line in struct poll_lines */
		double min, max;
		const char *what;
	} keys[] = {
		{ "j1939", offsetof(struct poll_lines, j1939), 0, 0x3ffff, "the PGN to request," },
		{ "timeout_ms", offsetof(struct poll_lines, timeout), 10, 10000, "milliseconds," },
		{ "pending_ms", offsetof(struct poll_lines, pending), 100, 60000, "milliseconds," },
		{ "answer_bytes", offsetof(struct poll_lines, answer), 1, ISOTP_MAX_PDU, "bytes," },
	};
	double v;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(key, keys[i].key))
			continue;
		if (!set_once(st, (unsigned *)((char *)pl + keys[i].line), sect, key))
			return true;
		if (!num_in(value, keys[i].min, keys[i].max, &v) || v != floor(v)) {
			perr(st, st->in.line, "[poll.%s] %s: expected %s %g to %g, not '%s'", r->name, key,
			     keys[i].what, keys[i].min, keys[i].max, value);
			return true;
		}
		switch (i) {
		case 0: r->pgn = (uint32_t)v; break;
		case 1: r->timeout_ms = (uint32_t)v; break;
		case 2: r->pending_ms = (uint32_t)v; break;
		default: r->answer_len = (uint16_t)v; break;
		}
		return true;
	}
	return false;
}

static void on_poll_key(struct pstate *st, const char *name, const char *key, const char *value)
{
	static const char *const ikeys[DIAG_N_STATES] = { "driving_s", "charging_s", "parked_s" };
	struct poll_lines *pl = NULL;
	struct diag_req *r = poll_find(st, name, &pl);
	char buf[64], *tok[3], sect[DIAG_NAME_MAX + 8];
	uint32_t v32;
	double v;
	int r_idx;

	if (!r)
		return;
	snprintf(sect, sizeof(sect), "poll.%s", name);
	for (int s = 0; s < DIAG_N_STATES; s++) {
		if (strcmp(key, ikeys[s]))
			continue;
		if (!set_once(st, &pl->interval[s], sect, key))
			return;
		if (!num_in(value, 0, 86400, &v) || (v > 0 && v < 0.01))
			perr(st, st->in.line, "[poll.%s] %s: expected 0 (never) or 0.01 to 86400 seconds, not '%s'",
			     name, key, value);
		else
			r->interval_ms[s] = (uint32_t)llround(v * 1000);
		return;
	}
	if (!strcmp(key, "ecu")) {
		bool ext_tx = false, ext_rx = false;

		if (!set_once(st, &pl->ecu, sect, key))
			return;
		if (tokens(value, buf, sizeof(buf), tok, 3) != 2 || !can_id_in(tok[0], &r->tx_id, &ext_tx) ||
		    !can_id_in(tok[1], &r->rx_id, &ext_rx))
			perr(st, st->in.line, "[poll.%s] ecu: expected the request id and the answer id in hex ('7E4 7EC', '18DA42F1 18DAF142'), not '%s'",
			     name, value);
		else if (ext_tx != ext_rx)
			perr(st, st->in.line, "[poll.%s] ecu: both ids 11-bit or both 29-bit", name);
		else if (r->tx_id == r->rx_id)
			perr(st, st->in.line, "[poll.%s] ecu: the answer id must differ from the request id", name);
		r->ext = ext_tx;
	} else if (!strcmp(key, "request")) {
		if (set_once(st, &pl->request, sect, key))
			poll_request(st, r, value);
	} else if (!strcmp(key, "to")) {
		if (!set_once(st, &pl->to, sect, key))
			return;
		if (!hex_in(value, 2, &v32, NULL) || v32 == 0xfe)
			perr(st, st->in.line, "[poll.%s] to: expected a J1939 address in hex (FF: everybody), not '%s'",
			     name, value);
		else
			r->da = (uint8_t)v32;
	} else if (poll_number(st, r, pl, sect, key, value)) {
		return;
	} else {
		r_idx = role_by_key(key, strlen(key));
		if (r_idx < 0)
			perr(st, st->in.line, "[poll.%s] %s: unknown key (expected ecu, request, j1939, to, driving_s, charging_s, parked_s, timeout_ms, pending_ms, answer_bytes or a role)",
			     name, key);
		else
			poll_field(st, r, (enum eco2_role)r_idx, value);
	}
}

static void on_poll_global(struct pstate *st, const char *key, const char *value)
{
	struct profile_poll_opts *o = &st->p->poll_opts;
	uint32_t v32;
	double v;

	if (!strcmp(key, "bitrate")) {
		if (!set_once(st, &st->bitrate_line, "poll", key))
			return;
		if (!num_in(value, 10000, 1000000, &v) || v != floor(v))
			perr(st, st->in.line, "[poll] bitrate: expected 10000 to 1000000 bit/s, not '%s'", value);
		else
			o->bitrate = (uint32_t)v;
	} else if (!strcmp(key, "budget_pct")) {
		if (!set_once(st, &st->budget_line, "poll", key))
			return;
		if (!num_in(value, 0.01, 50, &v))
			perr(st, st->in.line, "[poll] budget_pct: expected 0.01 to 50 (per cent of the bus), not '%s'", value);
		else
			o->budget_pct = v;
	} else if (!strcmp(key, "padding")) {
		if (!set_once(st, &st->padding_line, "poll", key))
			return;
		if (!strcmp(value, "none"))
			o->padding = -1;
		else if (hex_in(value, 2, &v32, NULL))
			o->padding = (int)v32;
		else
			perr(st, st->in.line, "[poll] padding: expected a byte in hex (AA, 55, CC, 00) or none, not '%s'", value);
	} else if (!strcmp(key, "j1939_source_address")) {
		if (!set_once(st, &st->sa_line, "poll", key))
			return;
		if (!hex_in(value, 2, &v32, NULL) || v32 > 0xfd)
			perr(st, st->in.line, "[poll] j1939_source_address: expected 00 to FD in hex, not '%s'", value);
		else
			o->j1939_sa = (uint8_t)v32;
	} else {
		perr(st, st->in.line, "[poll] %s: unknown key (expected bitrate, budget_pct, padding or j1939_source_address)",
		     key);
	}
}

static void profile_too_long(void *ctx, unsigned line, int max_chars)
{
	perr(ctx, line, "line longer than %d characters", max_chars);
}

static char *join_path(const char *dir, const char *path)
{
	char *out = NULL;

	if (path[0] == '/' || !dir)
		return strdup(path);
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		return NULL;
	return out;
}

/* Resolve one mapped role against the DBC: signal, unit, factor. */
static void resolve_role(struct pstate *st, enum eco2_role r)
{
	struct role_map *m = &st->p->map[r];
	const struct dbc_message *msg;
	const struct unit *u;
	const char *dot = strrchr(m->ref, '.');
	char *mname;

	mname = strndup(m->ref, (size_t)(dot - m->ref));
	if (!mname) {
		perr(st, m->line, "out of memory");
		return;
	}
	msg = dbc_find_message_by_name(st->p->dbc, mname);
	if (!msg) {
		perr(st, m->line, "%s: no message '%s' in the DBC", roles[r].key, mname);
		goto out;
	}
	m->sig = dbc_find_signal(msg, dot + 1);
	if (!m->sig) {
		perr(st, m->line, "%s: message '%s' has no signal '%s'", roles[r].key, mname, dot + 1);
		goto out;
	}
	if (roles[r].dim == DIM_NONE) {
		m->factor = 1;
		goto out;
	}
	u = unit_find(m->unit ? m->unit : m->sig->unit);
	if (!u) {
		if (m->sig->unit[0])
			perr(st, m->line, "%s: %s has unit '%s', which is not known; set %s_unit",
			     roles[r].key, m->ref, m->sig->unit, roles[r].key);
		else
			perr(st, m->line, "%s: %s has no unit in the DBC; set %s_unit",
			     roles[r].key, m->ref, roles[r].key);
		goto out;
	}
	if (u->dim != roles[r].dim) {
		perr(st, m->unit ? m->unit_line : m->line, "%s: unit '%s' is %s; %s needs %s",
		     roles[r].key, u->name, dim_names[u->dim], roles[r].key, dim_names[roles[r].dim]);
		goto out;
	}
	m->factor = u->factor;
	if (r == ROLE_PACK_CURRENT && st->current_charge)
		m->factor = -m->factor;
out:
	free(mname);
}


/* ---- checks across sections ---------------------------------------------- */

static bool broadcast_roles(const struct profile *p)
{
	for (unsigned r = 0; r < ROLE_COUNT; r++)
		if (p->map[r].line && !p->map[r].poll)
			return true;
	return false;
}

static bool has_j1939_polls(const struct profile *p)
{
	for (size_t i = 0; i < p->n_polls; i++)
		if (p->polls[i].kind == DIAG_J1939)
			return true;
	return false;
}

/* Each request complete and consistent; ids one-to-one; the worst-case
 * bus load of every state within the budget. */
static void check_polls(struct pstate *st)
{
	struct profile *p = st->p;
	struct profile_poll_opts *o = &p->poll_opts;
	double bits_s[DIAG_N_STATES] = { 0 };

	for (size_t i = 0; i < p->n_polls; i++) {
		struct diag_req *r = &p->polls[i];
		struct poll_lines *pl = &st->poll_lines[i];
		bool any = false;
		unsigned need = 0;

		if (pl->j1939) {
			r->kind = DIAG_J1939;
			if (pl->ecu || pl->request || r->n_fields || pl->timeout || pl->pending || pl->answer)
				perr(st, r->line, "[poll.%s]: a J1939 request takes j1939, to and the intervals only; its answer is decoded by [signals]",
				     r->name);
			if (!pl->to)
				r->da = J1939_ADDR_GLOBAL;
			r->sa = o->j1939_sa;
			r->ext = true;
			r->tx_id = j1939_make_id(DIAG_J1939_PRIO, DIAG_J1939_PGN_REQUEST, r->da, r->sa);
			r->req[0] = (uint8_t)r->pgn;
			r->req[1] = (uint8_t)(r->pgn >> 8);
			r->req[2] = (uint8_t)(r->pgn >> 16);
			r->req_len = 3;
			r->answer_len = 8;
		} else {
			r->kind = DIAG_ISOTP;
			if (!pl->ecu)
				perr(st, r->line, "[poll.%s] ecu: required (the request id and the answer id)", r->name);
			if (!pl->request)
				perr(st, r->line, "[poll.%s] request: required (e.g. 22 01 01, 01 A6)", r->name);
			if (pl->to)
				perr(st, pl->to, "[poll.%s] to: only for a J1939 request", r->name);
			if (!r->n_fields)
				perr(st, r->line, "[poll.%s]: no role is read from the answer", r->name);
			for (unsigned k = 0; k < r->n_fields; k++) {
				const struct diag_field *f = &r->fields[k];
				unsigned end = f->pos + (f->len ? f->len : 1u);

				if (end > need)
					need = end;
				if (f->role == ROLE_PACK_CURRENT && st->current_charge)
					r->fields[k].factor = -f->factor;
			}
			need += r->req_len;
			if (!pl->answer)
				r->answer_len = (uint16_t)(need > ISOTP_MAX_PDU ? ISOTP_MAX_PDU : need);
			else if (r->answer_len < need)
				perr(st, pl->answer, "[poll.%s] answer_bytes: %u is shorter than the %u bytes the roles read",
				     r->name, r->answer_len, need);
			for (size_t j = 0; j < i; j++) {
				const struct diag_req *q = &p->polls[j];

				if (q->kind != DIAG_ISOTP || q->ext != r->ext)
					continue;
				if ((q->tx_id == r->tx_id) != (q->rx_id == r->rx_id) ||
				    q->tx_id == r->rx_id || q->rx_id == r->tx_id)
					perr(st, pl->ecu, "[poll.%s] ecu: ids %X/%X clash with [poll.%s] (%X/%X): one answer id per request id",
					     r->name, r->tx_id, r->rx_id, q->name, q->tx_id, q->rx_id);
			}
		}
		if (!pl->interval[DIAG_DRIVING])
			perr(st, r->line, "[poll.%s] driving_s: required (0: never)", r->name);
		for (int s = 0; s < DIAG_N_STATES; s++) {
			if (!r->interval_ms[s])
				continue;
			any = true;
			bits_s[s] += diag_req_bits(r, o->padding >= 0) * 1000.0 / r->interval_ms[s];
		}
		if (!any && pl->interval[DIAG_DRIVING])
			log_warn("%s:%u: [poll.%s] is never asked in any state", st->file, r->line, r->name);
	}
	for (int s = 0; s < DIAG_N_STATES; s++) {
		double pct = bits_s[s] * 100 / o->bitrate;

		if (pct > o->budget_pct)
			perr(st, st->budget_line, "[poll]: polling takes up to %.2f %% of the %u bit/s bus while %s, over budget_pct = %g",
			     pct, o->bitrate, diag_state_name((enum diag_state)s), o->budget_pct);
	}
}

/* A J1939 request is useful only if [signals] decodes its answer. */
static void check_j1939_polls(struct pstate *st)
{
	struct profile *p = st->p;

	for (size_t i = 0; i < p->n_polls; i++) {
		const struct diag_req *r = &p->polls[i];
		bool decoded = false;

		if (r->kind != DIAG_J1939)
			continue;
		for (unsigned k = 0; k < ROLE_COUNT; k++) {
			const struct dbc_signal *sig = p->map[k].sig;

			uint32_t mp;

			if (!sig || !sig->message->is_ext)
				continue;
			mp = sig->message->id >> 8 & 0x3ffff;
			if ((mp >> 8 & 0xff) < 240)
				mp &= 0x3ff00;   /* PDU1: PS is the destination */
			if (mp == r->pgn)
				decoded = true;
		}
		if (!decoded)
			perr(st, r->line, "[poll.%s] j1939: no role in [signals] is read from PGN %u",
			     r->name, r->pgn);
	}
}

static int load_dbc(struct pstate *st)
{
	struct profile *p = st->p;
	char *path = NULL;
	int ret;

	if (st->j1939_line) {
		size_t len;
		if (!IS_ENABLED(CONFIG_CAN_J1939)) {
			perr(st, st->j1939_line, "j1939 = builtin: this build has no J1939 support");
			return -ENOTSUP;
		}
		const char *text = j1939_builtin_dbc(&len);
		p->j1939 = true;
		ret = dbc_load_buffer(&p->dbc, "j1939-builtin.dbc", text, len);
		if (ret < 0)
			perr(st, st->j1939_line, "the built-in J1939 DBC does not load");
		return ret;
	}
	path = join_path(st->base_dir, st->dbc_path);
	if (!path)
		return -ENOMEM;
	ret = dbc_load(&p->dbc, path);
	if (ret < 0)
		perr(st, st->dbc_line, "cannot load DBC %s", path);
	free(p->dbc_file);
	p->dbc_file = path;
	return ret;
}

static int build_decoder(struct profile *p)
{
	const struct dbc_signal *sigs[ROLE_COUNT];
	uint32_t tags[ROLE_COUNT];
	size_t n = 0;

	if (!p->dbc)
		return 0;   /* every role is polled */
	for (unsigned r = 0; r < ROLE_COUNT; r++) {
		if (!p->map[r].sig)
			continue;
		sigs[n] = p->map[r].sig;
		tags[n] = r;
		n++;
	}
	return decoder_new_subset(&p->dec, p->dbc, sigs, tags, n);
}

static int parse(struct pstate *st)
{
	struct profile *p = st->p;
	int r;

	errno = 0;
	st->in.too_long = profile_too_long;
	st->in.ctx = st;
	r = ini_parse_stream(ini_lines_read, &st->in, on_value, st);
	if (r > 0)
		perr(st, (unsigned)r, "expected '[section]' or 'key = value'");
	else if (r < 0)
		return -ENOMEM;

	if (st->dbc_line && st->j1939_line)
		perr(st, st->j1939_line, "[vehicle]: give either dbc or j1939 = builtin, not both (dbc on line %u)",
		     st->dbc_line);
	else if (!st->dbc_line && !st->j1939_line && (broadcast_roles(p) || has_j1939_polls(p)))
		perr(st, 0, "[vehicle]: dbc = FILE or j1939 = builtin is required for [signals]");
	else if (!st->dbc_line && !st->j1939_line && !p->n_polls)
		perr(st, 0, "[vehicle]: dbc = FILE or j1939 = builtin is required");
	if (!p->map[ROLE_ODOMETER].line)
		perr(st, 0, "[signals] odometer: required (or read from a [poll.NAME] answer)");
	if (!p->map[ROLE_PACK_VOLTAGE].line != !p->map[ROLE_PACK_CURRENT].line)
		perr(st, p->map[ROLE_PACK_VOLTAGE].line + p->map[ROLE_PACK_CURRENT].line,
		     "[signals]: pack_voltage and pack_current go together (energy = integral of V*I)");
	if (p->map[ROLE_REGEN_TOTAL].line && !p->map[ROLE_DISCHARGE_TOTAL].line)
		perr(st, p->map[ROLE_REGEN_TOTAL].line,
		     "[signals]: regen_energy_total needs discharge_energy_total");
	for (unsigned i = 0; i < ROLE_COUNT; i++)
		if (p->map[i].unit_line && (!p->map[i].line || p->map[i].poll))
			perr(st, p->map[i].unit_line, "%s_unit: %s is not mapped in [signals]",
			     roles[i].key, roles[i].key);
	check_polls(st);
	if (st->errors)
		return -EINVAL;
	if (!p->map[ROLE_PACK_VOLTAGE].line && !p->map[ROLE_DISCHARGE_TOTAL].line)
		log_warn("%s: no energy signals (pack_voltage + pack_current or discharge_energy_total): trips will carry distance only",
			 st->file);

	if (st->dbc_line || st->j1939_line) {
		r = load_dbc(st);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < ROLE_COUNT; i++)
		if (p->map[i].line && !p->map[i].poll)
			resolve_role(st, (enum eco2_role)i);
	if (!st->errors)
		check_j1939_polls(st);
	if (st->errors)
		return -EINVAL;
	r = build_decoder(p);
	if (r < 0) {
		perr(st, 0, "cannot build the decoder: %s", strerror(-r));
		return r;
	}
	return 0;
}

static int load_common(profile_t **out, struct pstate *st)
{
	int ret = -ENOMEM;

	*out = NULL;
	st->p = calloc(1, sizeof(*st->p));
	if (!st->p)
		goto out;
	st->p->poll_opts.bitrate = 500000;
	st->p->poll_opts.budget_pct = 1;
	st->p->poll_opts.padding = 0xaa;
	st->p->poll_opts.j1939_sa = 0xfb;
	ret = parse(st);
	if (ret < 0)
		goto out;
	if (!st->p->name) {
		st->p->name = strdup("");
		if (!st->p->name) {
			ret = -ENOMEM;
			goto out;
		}
	}
	*out = st->p;
	st->p = NULL;
out:
	profile_free(st->p);
	free(st->dbc_path);
	free(st->poll_lines);
	return ret;
}

int profile_load_buffer(profile_t **out, const char *name, const char *text,
			size_t len, const char *base_dir)
{
	struct pstate st = { .file = name, .base_dir = base_dir, .in = { .buf = text, .len = len } };

	return load_common(out, &st);
}

int profile_load(profile_t **out, const char *path)
{
	struct pstate st = { .file = path };
	const char *slash = strrchr(path, '/');
	char *dir = NULL, *text = NULL;
	size_t len = 0;
	int ret;

	*out = NULL;
	ret = file_read(path, PROFILE_MAX_BYTES, 0, NULL, &text, &len);
	if (ret)
		return ret;
	st.in.buf = text;
	st.in.len = len;
	dir = slash ? strndup(path, (size_t)(slash > path ? slash - path : 1)) : strdup(".");
	if (!dir) {
		free(text);
		return -ENOMEM;
	}
	st.base_dir = dir;
	ret = load_common(out, &st);
	free(text);
	free(dir);
	return ret;
}

void profile_free(profile_t *p)
{
	if (!p)
		return;
	decoder_free(p->dec);
	dbc_free(p->dbc);
	free(p->dbc_file);
	for (unsigned r = 0; r < ROLE_COUNT; r++) {
		free(p->map[r].ref);
		free(p->map[r].unit);
	}
	free(p->polls);
	free(p->name);
	free(p);
}

const char *profile_name(const profile_t *p)
{
	return p->name;
}

const dbc_t *profile_dbc(const profile_t *p)
{
	return p->dbc;
}

const char *profile_dbc_path(const profile_t *p)
{
	return p->dbc_file;
}

bool profile_is_j1939(const profile_t *p)
{
	return p->j1939;
}

const struct dbc_signal *profile_signal(const profile_t *p, enum eco2_role role)
{
	return (unsigned)role < ROLE_COUNT ? p->map[role].sig : NULL;
}

double profile_unit_factor(const profile_t *p, enum eco2_role role)
{
	return (unsigned)role < ROLE_COUNT && p->map[role].sig ? p->map[role].factor : 0;
}

ssize_t profile_filters(const profile_t *p, struct socketcan_id *out, size_t max)
{
	size_t n = 0;

	for (unsigned r = 0; r < ROLE_COUNT; r++) {
		const struct dbc_message *msg;
		struct socketcan_id id;
		bool dup = false;

		if (!p->map[r].sig)
			continue;
		msg = p->map[r].sig->message;
		if (IS_ENABLED(CONFIG_CAN_J1939) && p->j1939) {
			id.id = msg->id | SOCKETCAN_EFF;
			id.mask = j1939_pgn_mask(msg->id >> 8 & 0x3ffff);
			id.id &= id.mask | SOCKETCAN_EFF;
		} else {
			id.id = msg->id | (msg->is_ext ? SOCKETCAN_EFF : 0);
			id.mask = 0;
		}
		for (size_t i = 0; i < n; i++)
			if (out[i].id == id.id && out[i].mask == id.mask)
				dup = true;
		if (dup)
			continue;
		if (n >= max)
			return -E2BIG;
		out[n++] = id;
	}
	return (ssize_t)n;
}

int profile_decode(const profile_t *p, const struct can_frame_rec *f,
		   struct eco2_sample *out, size_t max)
{
	struct decode_value vals[ROLE_COUNT];
	bool ext = f->flags & CANREC_EXT;
	uint32_t id = f->id;
	int n, k = 0;

	if ((f->flags & (CANREC_RTR | CANREC_ERR)) || !p->dec)
		return 0;
	if (IS_ENABLED(CONFIG_CAN_J1939) && p->j1939) {
		if (!ext)
			return 0;
		id = j1939_canonical_id(id);
	}
	n = decode_frame(p->dec, id, ext, f->data, f->len, vals, ARRAY_SIZE(vals), NULL);
	for (int i = 0; i < n && (size_t)k < max; i++) {
		enum eco2_role r = (enum eco2_role)vals[i].tag;
		double v;

		if (IS_ENABLED(CONFIG_CAN_J1939) && p->j1939 && vals[i].sig->value_type == DBC_VT_INT &&
		    !j1939_raw_valid(vals[i].raw, vals[i].sig->length))
			continue;
		v = vals[i].value * p->map[r].factor;
		if (roles[r].dim == DIM_NONE)
			v = vals[i].value != 0 ? 1 : 0;
		out[k].t_ns = f->t_ns;
		out[k].role = r;
		out[k].value = v;
		k++;
	}
	return k;
}

int profile_encode(const profile_t *p, enum eco2_role role, double value,
		   uint8_t *data, size_t len, uint32_t *id, bool *is_ext)
{
	const struct dbc_signal *s = profile_signal(p, role);
	double phys;
	int ret;

	if (!s)
		return -ENOENT;
	/* Multiplexed: select this signal's page, switch of switch first. */
	for (const struct dbc_signal *c = s; c->mux_switch; c = c->mux_switch) {
		if (!c->n_mux_ranges)
			return -EINVAL;
		ret = dbc_encode_raw(c->mux_switch, c->mux_ranges[0].lo, data, len);
		if (ret < 0)
			return ret;
	}
	if (roles[role].dim == DIM_NONE)
		phys = value != 0 ? 1 : 0;
	else
		phys = value / p->map[role].factor;
	ret = dbc_encode_signal(s, phys, data, len);
	if (ret < 0)
		return ret;
	if (id)
		*id = s->message->id;
	if (is_ext)
		*is_ext = s->message->is_ext;
	return 0;
}

const struct diag_req *profile_polls(const profile_t *p, size_t *n)
{
	*n = p->n_polls;
	return p->polls;
}

const struct profile_poll_opts *profile_poll_opts(const profile_t *p)
{
	return &p->poll_opts;
}

const struct diag_req *profile_poll_of(const profile_t *p, enum eco2_role role,
				       const struct diag_field **field)
{
	const struct diag_req *r;

	if ((unsigned)role >= ROLE_COUNT || !p->map[role].poll)
		return NULL;
	r = &p->polls[p->map[role].poll - 1];
	for (unsigned i = 0; i < r->n_fields; i++)
		if (r->fields[i].role == role) {
			if (field)
				*field = &r->fields[i];
			return r;
		}
	return NULL;
}

uint32_t profile_roles(const profile_t *p)
{
	uint32_t roles_mask = 0;

	for (unsigned r = 0; r < ROLE_COUNT; r++)
		if (p->map[r].sig || p->map[r].poll)
			roles_mask |= 1u << r;
	return roles_mask;
}

double profile_odo_wrap_m(const profile_t *p)
{
	const struct dbc_signal *o = profile_signal(p, ROLE_ODOMETER);
	const struct diag_field *f = NULL;
	double fac = profile_unit_factor(p, ROLE_ODOMETER);

	if (o) {
		if (o->value_type != DBC_VT_INT || o->is_signed || o->length >= 53 ||
		    o->offset != 0 || !(o->factor > 0) || !(fac > 0))
			return 0;
		return ldexp(1.0, o->length) * o->factor * fac;
	}
	if (!profile_poll_of(p, ROLE_ODOMETER, &f) || f->is_signed || f->len == 0 ||
	    f->len > 6 || f->offset != 0 || !(f->scale > 0) || !(f->factor > 0))
		return 0;
	return ldexp(1.0, 8 * f->len) * f->scale * f->factor;
}
