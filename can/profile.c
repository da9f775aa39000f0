/* profile — vehicle profile INI -> DBC signals, units, filters (see profile.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "lib/file.h"
#include "lib/ini_lines.h"
#include "lib/log.h"
#include "can/decode.h"
#include "can/j1939.h"
#include "can/profile.h"

#define PROFILE_MAX_BYTES ((size_t)1 << 20)   /* a profile is a few KiB */

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

	perr(st, st->in.line, "[%s]: unknown section (expected vehicle, signals or options)", section);
	return 1;
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
	else if (!st->dbc_line && !st->j1939_line)
		perr(st, 0, "[vehicle]: dbc = FILE or j1939 = builtin is required");
	if (!p->map[ROLE_ODOMETER].line)
		perr(st, 0, "[signals] odometer: required");
	if (!p->map[ROLE_PACK_VOLTAGE].line != !p->map[ROLE_PACK_CURRENT].line)
		perr(st, p->map[ROLE_PACK_VOLTAGE].line + p->map[ROLE_PACK_CURRENT].line,
		     "[signals]: pack_voltage and pack_current go together (energy = integral of V*I)");
	if (p->map[ROLE_REGEN_TOTAL].line && !p->map[ROLE_DISCHARGE_TOTAL].line)
		perr(st, p->map[ROLE_REGEN_TOTAL].line,
		     "[signals]: regen_energy_total needs discharge_energy_total");
	for (unsigned i = 0; i < ROLE_COUNT; i++)
		if (p->map[i].unit_line && !p->map[i].line)
			perr(st, p->map[i].unit_line, "%s_unit: %s is not mapped in [signals]",
			     roles[i].key, roles[i].key);
	if (st->errors)
		return -EINVAL;
	if (!p->map[ROLE_PACK_VOLTAGE].line && !p->map[ROLE_DISCHARGE_TOTAL].line)
		log_warn("%s: no energy signals (pack_voltage + pack_current or discharge_energy_total): trips will carry distance only",
			 st->file);

	r = load_dbc(st);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < ROLE_COUNT; i++)
		if (p->map[i].line)
			resolve_role(st, (enum eco2_role)i);
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

	if (f->flags & (CANREC_RTR | CANREC_ERR))
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
