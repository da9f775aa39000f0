/* config — the eco2d configuration file (INI, parsed with libinih). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <ini.h>

#include "agent/config.h"
#include "crypto/co2.h"
#include "crypto/pkcs11_uri.h"
#include "lib/bytes.h"
#include "lib/file.h"
#include "lib/ini_lines.h"
#include "lib/log.h"
#include "upload/ledger_tls.h"

enum conf_type {
	CONF_STR,     /* free text, at most max bytes (0: TEXT_MAX) */
	CONF_METHOD,  /* a methodology id this build knows (crypto/co2.h) */
	CONF_PATH,    /* a file path; relative to the config file */
	CONF_KEYREF,  /* file:PATH, a bare PATH, or a pkcs11: URI -> file:/abs or pkcs11: */
	CONF_KEYPATH, /* a PATH (file: allowed) or a pkcs11: URI -> /abs or pkcs11: */
	CONF_URL,     /* https:// only */
	CONF_BOOL,
	CONF_INT,     /* decimal integer within [min, max] */
	CONF_SIZE,    /* integer bytes with an optional K, M or G suffix */
	CONF_DOUBLE,  /* finite decimal within [min, max] */
	CONF_LEVEL,   /* a log level name */
};

struct conf_opt {
	const char *section;
	const char *key;
	enum conf_type type;
	bool required;
	double min, max;         /* CONF_INT, CONF_SIZE, CONF_DOUBLE; max: CONF_STR's length */
	const char *def;         /* default, parsed like a value; NULL: unset */
	size_t offset;           /* of the field in struct eco2_config */
};

#define F(field) offsetof(struct eco2_config, field)
#define DAY_S 86400.0
#define CONFIG_MAX_BYTES ((size_t)1 << 20)   /* eco2d.conf is a few KiB */
#define TEXT_MAX 4096                        /* bytes of any value: paths, URIs, text */

/* The one table of options. Keep eco2d.conf(5) in step with it. */
static const struct conf_opt options[] = {
	{ "can", "profile", CONF_PATH, true, 0, 0, NULL, F(can_profile) },
	{ "can", "interfaces", CONF_STR, false, 0, 0, NULL, F(can_interfaces) },

	{ "key", "uri", CONF_KEYREF, true, 0, 0, NULL, F(key_uri) },

	{ "store", "path", CONF_PATH, true, 0, 0, NULL, F(store_path) },

	{ "ledger", "enabled", CONF_BOOL, false, 0, 0, "true", F(ledger_enabled) },
	{ "ledger", "url", CONF_URL, false, 0, 0, NULL, F(ledger_url) },
	{ "ledger", "ca", CONF_PATH, false, 0, 0, NULL, F(ledger_ca) },
	{ "ledger", "cert", CONF_PATH, false, 0, 0, NULL, F(ledger_cert) },
	{ "ledger", "key", CONF_KEYPATH, false, 0, 0, NULL, F(ledger_key) },
	{ "ledger", "pin", CONF_STR, false, 0, 0, NULL, F(ledger_pin) },
	{ "ledger", "pinned_pubkey", CONF_STR, false, 0, 0, NULL, F(ledger_pinned_pubkey) },
	{ "ledger", "proxy", CONF_STR, false, 0, 0, NULL, F(ledger_proxy) },
	{ "ledger", "receipt_key", CONF_STR, false, 0, 0, NULL, F(ledger_receipt_key) },
	{ "ledger", "connect_timeout_s", CONF_INT, false, 1, 600, "10", F(ledger_connect_timeout_s) },
	{ "ledger", "timeout_s", CONF_INT, false, 1, 3600, "60", F(ledger_timeout_s) },

	{ "upload", "batch_records", CONF_INT, false, 1, 100000, "500", F(upload_batch_records) },
	{ "upload", "batch_bytes", CONF_SIZE, false, 1024, 64.0 * 1024 * 1024, "1M", F(upload_batch_bytes) },
	{ "upload", "interval_s", CONF_INT, false, 1, DAY_S, "60", F(upload_interval_s) },
	{ "upload", "backoff_max_s", CONF_INT, false, 1, DAY_S, "3600", F(upload_backoff_max_s) },

	{ "queue", "max_bytes", CONF_SIZE, false, 64.0 * 1024, 1024.0 * 1024 * 1024 * 1024, "256M", F(queue_max_bytes) },

	{ "trip", "idle_end_s", CONF_INT, false, 1, DAY_S, "300", F(trip_idle_end_s) },
	{ "trip", "gap_end_s", CONF_INT, false, 1, DAY_S, "120", F(trip_gap_end_s) },
	{ "trip", "checkpoint_s", CONF_INT, false, 1, 3600, "10", F(trip_checkpoint_s) },
	{ "trip", "max_speed_kmh", CONF_DOUBLE, false, 1, 20000, "250", F(trip_max_speed_kmh) },

	{ "method", "id", CONF_METHOD, false, 0, 0, CO2_METHOD_ID, F(method_id) },
	{ "method", "baseline_g_per_km", CONF_DOUBLE, false, 0, 10000, "169.056", F(method_baseline_g_per_km) },
	{ "method", "grid_g_per_kwh", CONF_DOUBLE, false, 0, 10000, "530.6", F(method_grid_g_per_kwh) },
	{ "method", "charge_efficiency", CONF_DOUBLE, false, 0.01, 1, "0.90", F(method_charge_efficiency) },
	{ "method", "td_loss", CONF_DOUBLE, false, 0, 1, "0", F(method_td_loss) },

	{ "vehicle", "vin", CONF_STR, false, 0, 17, NULL, F(vehicle_vin) },

	{ "log", "level", CONF_LEVEL, false, 0, 0, "info", F(log_level) },
};

struct parse_state {
	struct eco2_config *cfg;
	const char *name;        /* file name for messages */
	char *dir;               /* folder relative paths start from; NULL: cwd */
	struct ini_lines in;     /* the reader: counts lines */
	unsigned set_line[ARRAY_SIZE(options)];
	unsigned errors;
	unsigned not_text;
};

static void conf_error(struct parse_state *st, unsigned line, const char *section,
		       const char *key, const char *why)
{
	char sec[48], k[48];

	/* Names may come from the file: never echo its bytes raw. */
	text_printable(section, strlen(section), sec, sizeof(sec));
	text_printable(key, strlen(key), k, sizeof(k));
	st->errors++;
	if (line)
		log_err("%s:%u: [%s] %s: %s", st->name, line, sec, k, why);
	else
		log_err("%s: [%s] %s: %s", st->name, sec, k, why);
}

static unsigned option_line(const struct parse_state *st, const char *section, const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (!strcmp(options[i].section, section) && !strcmp(options[i].key, key))
			return st->set_line[i];
	return 0;
}

static char *resolve_path(const struct parse_state *st, const char *value)
{
	char *out = NULL;

	if (value[0] == '/' || !st->dir)
		return strdup(value);
	if (asprintf(&out, "%s/%s", st->dir, value) < 0)
		return NULL;
	return out;
}

static int parse_int(const char *value, bool size, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (errno || end == value)
		return -EINVAL;
	if (size && *end) {
		long long mult;
		switch (*end) {
		case 'k': case 'K': mult = 1024; break;
		case 'm': case 'M': mult = 1024LL * 1024; break;
		case 'g': case 'G': mult = 1024LL * 1024 * 1024; break;
		default: return -EINVAL;
		}
		if (v > LLONG_MAX / mult || v < LLONG_MIN / mult)
			return -ERANGE;
		v *= mult;
		end++;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parse `value` into the option's field; returns NULL or why it is bad. */
static const char *set_value(struct parse_state *st, const struct conf_opt *o,
			     const char *value)
{
	void *field = (char *)st->cfg + o->offset;
	static char why[160];
	char *s = NULL;
	size_t max_len = o->type == CONF_STR && o->max > 0 ? (size_t)o->max : TEXT_MAX;

	if (o->type == CONF_METHOD)
		max_len = CO2_METHOD_ID_MAX;
	if (strlen(value) > max_len) {
		snprintf(why, sizeof(why), "at most %zu characters", max_len);
		return why;
	}
	switch (o->type) {
	case CONF_BOOL:
		if (!strcasecmp(value, "true") || !strcasecmp(value, "yes") ||
		    !strcasecmp(value, "on") || !strcmp(value, "1"))
			*(bool *)field = true;
		else if (!strcasecmp(value, "false") || !strcasecmp(value, "no") ||
			 !strcasecmp(value, "off") || !strcmp(value, "0"))
			*(bool *)field = false;
		else
			return "expected true or false";
		return NULL;
	case CONF_INT:
	case CONF_SIZE: {
		int64_t v;
		if (parse_int(value, o->type == CONF_SIZE, &v))
			return o->type == CONF_SIZE ? "expected a size in bytes (suffix K, M or G allowed)"
						    : "expected a decimal integer";
		if ((double)v < o->min || (double)v > o->max) {
			snprintf(why, sizeof(why), "%s is out of range [%.0f, %.0f]",
				 value, o->min, o->max);
			return why;
		}
		*(int64_t *)field = v;
		return NULL;
	}
	case CONF_DOUBLE: {
		char *end;
		double v;
		errno = 0;
		v = strtod(value, &end);
		if (errno || end == value || *end || !isfinite(v))
			return "expected a decimal number";
		if (v < o->min || v > o->max) {
			snprintf(why, sizeof(why), "%s is out of range [%g, %g]",
				 value, o->min, o->max);
			return why;
		}
		*(double *)field = v;
		return NULL;
	}
	case CONF_LEVEL:
		if (log_level_from_name(value) < 0)
			return "expected error, warning, notice, info or debug";
		s = strdup(value);
		break;
	case CONF_URL:
		if (strncasecmp(value, "https://", 8) || !value[8])
			return "expected an https:// URL (records are never sent in clear)";
		s = strdup(value);
		break;
	case CONF_PATH:
		if (!*value)
			return "expected a path";
		s = resolve_path(st, value);
		break;
	case CONF_KEYREF:
	case CONF_KEYPATH:
		if (!strncmp(value, "pkcs11:", 7)) {
			s = strdup(value);
		} else {
			const char *p = strncmp(value, "file:", 5) ? value : value + 5;
			char *abs;
			if (!*p)
				return "expected file:PATH or a pkcs11: URI";
			abs = resolve_path(st, p);
			if (o->type == CONF_KEYPATH) {
				s = abs;
				break;
			}
			if (abs && asprintf(&s, "file:%s", abs) < 0)
				s = NULL;
			free(abs);
		}
		break;
	case CONF_METHOD:
		if (!co2_method_known(value)) {
			char v[48];

			text_printable(value, strlen(value), v, sizeof(v));
			snprintf(why, sizeof(why), "unknown methodology '%s': records would be refused "
				 "by eco2-verify and the ledger (known: %s)", v, co2_methods_known());
			return why;
		}
		s = strdup(value);
		break;
	case CONF_STR:
		s = strdup(value);
		break;
	}
	if (!s)
		return "out of memory";
	free(*(char **)field);
	*(char **)field = s;
	return NULL;
}

static const struct conf_opt *find_option(const char *section, const char *key,
					  bool *section_known)
{
	*section_known = false;
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		if (strcmp(options[i].section, section))
			continue;
		*section_known = true;
		if (!strcmp(options[i].key, key))
			return &options[i];
	}
	return NULL;
}

static int on_value(void *user, const char *section, const char *key, const char *value)
{
	struct parse_state *st = user;
	const struct conf_opt *o;
	const char *why;
	bool section_known;
	char msg[64];

	o = find_option(section, key, &section_known);
	if (!o) {
		conf_error(st, st->in.line, section, key,
			   section_known ? "unknown key" : "unknown section");
		return 1;
	}
	size_t idx = (size_t)(o - options);
	if (st->set_line[idx]) {
		snprintf(msg, sizeof(msg), "set twice (first on line %u)", st->set_line[idx]);
		conf_error(st, st->in.line, section, key, msg);
		return 1;
	}
	st->set_line[idx] = st->in.line;
	why = set_value(st, o, value);
	if (why)
		conf_error(st, st->in.line, section, key, why);
	return 1;
}

#define NOT_TEXT_MAX 5   /* lines reported before the file is called binary */

static void conf_too_long(void *ctx, unsigned line, int max_chars)
{
	struct parse_state *st = ctx;

	st->errors++;
	if (st->not_text < NOT_TEXT_MAX)
		log_err("%s:%u: line longer than %d characters", st->name, line, max_chars);
}

static void conf_not_text(void *ctx, unsigned line)
{
	struct parse_state *st = ctx;

	st->errors++;
	if (++st->not_text <= NOT_TEXT_MAX)
		log_err("%s:%u: not UTF-8 text (control characters or invalid UTF-8)", st->name, line);
	if (st->not_text == NOT_TEXT_MAX)
		log_err("%s: not a text file; further such lines not reported", st->name);
}

static int conf_parse(struct parse_state *st)
{
	struct eco2_config *cfg = st->cfg;
	int r;

	/* Defaults go through the same parser as the file's values. */
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		if (!options[i].def)
			continue;
		const char *why = set_value(st, &options[i], options[i].def);
		if (why) {
			log_err("built-in default [%s] %s: %s", options[i].section,
				options[i].key, why);
			return -EINVAL;
		}
	}

	st->in.too_long = conf_too_long;
	st->in.not_text = conf_not_text;
	st->in.ctx = st;
	r = ini_parse_stream(ini_lines_read, &st->in, on_value, st);
	if (r > 0) {
		st->errors++;
		log_err("%s:%d: expected '[section]' or 'key = value'", st->name, r);
	} else if (r < 0) {
		log_err("%s: cannot parse (out of memory)", st->name);
		return -ENOMEM;
	}

	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (options[i].required && !st->set_line[i])
			conf_error(st, 0, options[i].section, options[i].key, "required");

	if (cfg->ledger_enabled && !cfg->ledger_url && IS_ENABLED(CONFIG_UPLOAD))
		conf_error(st, 0, "ledger", "url", "required when [ledger] enabled = true");
	/* A key this libcurl cannot load would fail every upload. */
	if (cfg->ledger_enabled && IS_ENABLED(CONFIG_UPLOAD)) {
		char why[200];

		if (ledger_tls_check_key(cfg->ledger_key, why, sizeof(why)))
			conf_error(st, option_line(st, "ledger", "key"), "ledger", "key", why);
	}

	free(cfg->lines);
	cfg->lines = malloc(sizeof(st->set_line));
	if (!cfg->lines)
		return -ENOMEM;
	memcpy(cfg->lines, st->set_line, sizeof(st->set_line));
	return st->errors ? -EINVAL : 0;
}

static void config_init(struct eco2_config *cfg, const char *name)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = strdup(name);
}

int config_load_buffer(struct eco2_config *cfg, const char *name,
		       const char *text, size_t len)
{
	struct parse_state st = { .cfg = cfg, .name = name, .in = { .buf = text, .len = len } };

	config_init(cfg, name);
	return conf_parse(&st);
}

int config_load(struct eco2_config *cfg, const char *path)
{
	struct parse_state st = { .cfg = cfg, .name = path };
	char *text = NULL;
	size_t len = 0;
	int ret;
	const char *slash;

	config_init(cfg, path);
	ret = file_read(path, CONFIG_MAX_BYTES, 0, NULL, &text, &len);
	if (ret)
		goto out;
	st.in.buf = text;
	st.in.len = len;
	/* Relative paths in the file start at its folder, made absolute so
	 * they stay right whatever the program's working directory. */
	slash = strrchr(path, '/');
	if (slash) {
		char *dir = strndup(path, (size_t)(slash > path ? slash - path : 1));
		st.dir = dir ? realpath(dir, NULL) : NULL;
		if (dir && !st.dir)
			st.dir = dir;
		else
			free(dir);
	} else {
		st.dir = realpath(".", NULL);
	}
	if (!st.dir) {
		ret = -ENOMEM;
		goto out;
	}
	ret = conf_parse(&st);
out:
	free(text);
	free(st.dir);
	return ret;
}

void config_free(struct eco2_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		switch (options[i].type) {
		case CONF_BOOL: case CONF_INT: case CONF_SIZE: case CONF_DOUBLE:
			break;
		default:
			free(*(char **)((char *)cfg + options[i].offset));
		}
	}
	free(cfg->path);
	free(cfg->lines);
	memset(cfg, 0, sizeof(*cfg));
}

/* ---- --check-config: the files ------------------------------------------------ */

/* "file:line: [section] key" (or "file: [section] key" for a default) */
static void file_what(const struct eco2_config *cfg, size_t i, char *buf, size_t len)
{
	unsigned line = cfg->lines ? cfg->lines[i] : 0;

	if (line)
		snprintf(buf, len, "%s:%u: [%s] %s", cfg->path, line, options[i].section, options[i].key);
	else
		snprintf(buf, len, "%s: [%s] %s", cfg->path, options[i].section, options[i].key);
}

/* The store: a regular file eco2d can write, or none yet in a folder it
 * can write (SQLite then creates it, with its -wal and -shm beside). */
static int check_store(const char *what, const char *path)
{
	struct stat st;
	char *dir;
	int ret;

	if (stat(path, &st) == 0) {
		ret = file_check(path, 0, what);
		if (!ret && access(path, W_OK) < 0) {
			log_err("%s: %s: cannot be written (%s): eco2d must write the store", what, path,
				strerror(errno));
			ret = -EROFS;
		}
		return ret;
	}
	if (errno != ENOENT) {
		log_err("%s: %s: %s", what, path, strerror(errno));
		return -errno;
	}
	dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	ret = 0;
	if (stat(slash ? dir : ".", &st) < 0 || !S_ISDIR(st.st_mode) ||
	    access(slash ? dir : ".", W_OK | X_OK) < 0) {
		log_err("%s: %s: no such file, and its folder cannot take one (%s)", what, path,
			strerror(errno ? errno : ENOTDIR));
		ret = -ENOENT;
	}
	free(dir);
	return ret;
}

/* A PEM file: regular, bounded, text with a "-----BEGIN " line. */
static int check_pem(const char *what, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int ret = file_read(path, CONFIG_MAX_BYTES, 0, what, &text, &len);

	if (!ret && (!utf8_valid(text, len) || !strstr(text, "-----BEGIN "))) {
		log_err("%s: %s: not a PEM text file", what, path);
		ret = -EINVAL;
	}
	free(text);
	return ret;
}

/* A key: file:PATH (regular, 0600), or a pkcs11: URI whose module is a
 * regular file and whose PIN file (pin-source) is regular and 0600. */
static int check_key(const char *what, const char *uri, bool private_file)
{
	struct pkcs11_uri *u = NULL;
	char err[160];
	int ret;

	if (strncmp(uri, "pkcs11:", 7))
		return file_check(!strncmp(uri, "file:", 5) ? uri + 5 : uri,
				  private_file ? FILE_PRIVATE : 0, what);
	if (!IS_ENABLED(CONFIG_SIGNER_PKCS11))
		return 0;
	ret = pkcs11_uri_parse(&u, uri, err, sizeof(err));
	if (ret) {
		log_err("%s: %s", what, err);
		return ret;
	}
	if (u->module_path)
		ret = file_check(u->module_path, 0, what);
	if (!ret && pkcs11_uri_pin_path(u))
		ret = file_check(pkcs11_uri_pin_path(u), FILE_PRIVATE, what);
	pkcs11_uri_free(u);
	return ret;
}

int config_check_files(const struct eco2_config *cfg)
{
	unsigned bad = 0;
	char what[160];

	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct conf_opt *o = &options[i];
		const char *v = *(char *const *)((const char *)cfg + o->offset);
		bool ledger = !strcmp(o->section, "ledger");
		int ret = 0;

		if (o->type != CONF_PATH && o->type != CONF_KEYREF && o->type != CONF_KEYPATH)
			continue;
		if (!v || (ledger && (!cfg->ledger_enabled || !IS_ENABLED(CONFIG_UPLOAD))))
			continue;
		file_what(cfg, i, what, sizeof(what));
		if (o->offset == F(store_path))
			ret = check_store(what, v);
		else if (o->offset == F(ledger_ca) || o->offset == F(ledger_cert))
			ret = check_pem(what, v);
		else if (o->type == CONF_KEYREF || o->type == CONF_KEYPATH)
			ret = check_key(what, v, o->type == CONF_KEYREF);
		else
			ret = file_check(v, 0, what);
		bad += ret != 0;
	}
	return bad ? -EINVAL : 0;
}

void config_dump(const struct eco2_config *cfg, FILE *out)
{
	const char *section = "";

	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct conf_opt *o = &options[i];
		const void *field = (const char *)cfg + o->offset;

		if (strcmp(section, o->section)) {
			fprintf(out, "%s[%s]\n", i ? "\n" : "", o->section);
			section = o->section;
		}
		switch (o->type) {
		case CONF_BOOL:
			fprintf(out, "%s = %s\n", o->key, *(const bool *)field ? "true" : "false");
			break;
		case CONF_INT: case CONF_SIZE:
			fprintf(out, "%s = %lld\n", o->key, (long long)*(const int64_t *)field);
			break;
		case CONF_DOUBLE:
			fprintf(out, "%s = %.17g\n", o->key, *(const double *)field);
			break;
		default: {
			const char *s = *(char *const *)field;
			if (s && o->key[0] == 'p' && !strcmp(o->key, "pin"))
				s = "(set)";
			fprintf(out, "%s%s = %s\n", s ? "" : "; ", o->key, s ? s : "");
		}
		}
	}
}
