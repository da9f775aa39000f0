/* config — eco2-ledger.conf and the command line. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ini.h>

#include "lib/bytes.h"
#include "lib/file.h"
#include "lib/ini_lines.h"
#include "lib/log.h"
#include "ledger/config.h"

#define CONF_MAX ((size_t)1 << 20)

enum kind { K_STR, K_PATH, K_UINT, K_SIZE, K_DOUBLE, K_LEVEL, K_WITNESS };

struct opt {
	const char *section, *key;
	enum kind kind;
	double min, max;
	size_t off;
};

#define F(f) offsetof(struct lconf, f)
static const struct opt opts[] = {
	{ "server", "listen", K_STR, 0, 0, F(listen) },
	{ "server", "metrics", K_STR, 0, 0, F(metrics_listen) },
	{ "tls", "cert", K_PATH, 0, 0, F(cert) },
	{ "tls", "key", K_PATH, 0, 0, F(key) },
	{ "tls", "client_ca", K_PATH, 0, 0, F(client_ca) },
	{ "tls", "device_ca", K_PATH, 0, 0, F(device_ca) },
	{ "tls", "reader_ca", K_PATH, 0, 0, F(reader_ca) },
	{ "store", "url", K_STR, 0, 0, F(store) },
	{ "store", "connections", K_UINT, 1, 256, F(store_connections) },
	{ "store", "partitions", K_UINT, 0, 1024, F(partitions) },
	{ "log", "key", K_PATH, 0, 0, F(log_key) },
	{ "log", "checkpoint_interval_s", K_UINT, 1, 86400, F(checkpoint_interval_s) },
	{ "log", "witness", K_WITNESS, 0, 0, 0 },
	{ "limits", "connections", K_UINT, 4, 100000, F(connections) },
	{ "limits", "connections_per_ip", K_UINT, 1, 100000, F(connections_per_ip) },
	{ "limits", "body_max", K_SIZE, 4096, 1 << 30, F(body_max) },
	{ "limits", "body_memory", K_SIZE, 65536, (double)(1ull << 34), F(body_memory) },
	{ "limits", "rate", K_DOUBLE, 0, 1e6, F(rate) },
	{ "limits", "burst", K_DOUBLE, 0, 1e6, F(burst) },
	{ "limits", "request_timeout_s", K_UINT, 1, 3600, F(request_timeout_s) },
	{ "limits", "idle_timeout_s", K_UINT, 1, 3600, F(idle_timeout_s) },
	{ "limits", "response_timeout_s", K_UINT, 1, 86400, F(response_timeout_s) },
	{ "limits", "workers", K_UINT, 1, 8, F(workers) },
	{ "logging", "level", K_LEVEL, 0, 0, F(log_level) },
};

struct state {
	struct lconf *c;
	const char *name;
	char *dir;
	struct ini_lines in;
	unsigned errors;
};

static void conf_error(struct state *st, const char *section, const char *key, const char *why)
{
	st->errors++;
	if (st->name && st->in.line)
		log_err("%s:%u: [%s] %s: %s", st->name, st->in.line, section, key, why);
	else
		log_err("[%s] %s: %s", section, key, why);
}

static const char *parse_reader(struct lconf *c, const char *cn, const char *value)
{
	struct lconf_reader *r;
	const char *p = value;

	if (c->n_readers == LCONF_READERS_MAX)
		return "too many readers";
	if (!*cn)
		return "expected a certificate's common name as the key";
	for (size_t i = 0; i < c->n_readers; i++)
		if (!strcmp(c->readers[i].cn, cn))
			return "this reader is named twice";
	r = &c->readers[c->n_readers];
	memset(r, 0, sizeof(*r));
	while (*p) {
		size_t len;

		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!*p)
			break;
		len = strcspn(p, " ,\t");
		if (len == 1 && *p == '*') {
			r->all = true;
		} else {
			uint8_t (*nk)[8];

			if (len != 16)
				goto bad;
			for (size_t i = 0; i < 16; i++)
				if (p[i] >= 'A' && p[i] <= 'F')
					goto bad;
			nk = realloc(r->kids, (r->n_kids + 1) * sizeof(*nk));
			if (!nk)
				return "out of memory";
			r->kids = nk;
			if (hex_decode(p, 16, r->kids[r->n_kids], 8))
				goto bad;
			r->n_kids++;
		}
		p += len;
	}
	if (!r->all && !r->n_kids)
		return "expected * or the kids (16 lower-case hex digits) this reader may read";
	r->cn = strdup(cn);
	if (!r->cn)
		return "out of memory";
	c->n_readers++;
	return NULL;
bad:
	free(r->kids);
	r->kids = NULL;
	r->n_kids = 0;
	return "expected * or kids of 16 lower-case hex digits, separated by spaces or commas";
}

static const char *set(struct state *st, const struct opt *o, const char *value)
{
	void *field = (char *)st->c + o->off;
	char *s = NULL, *end;

	switch (o->kind) {
	case K_STR:
		if (!*value)
			return "expected a value";
		s = strdup(value);
		break;
	case K_PATH:
		if (!*value)
			return "expected a path";
		if (value[0] == '/' || !st->dir)
			s = strdup(value);
		else if (asprintf(&s, "%s/%s", st->dir, value) < 0)
			s = NULL;
		break;
	case K_UINT:
	case K_SIZE: {
		unsigned long long v, mult = 1;

		errno = 0;
		if (*value < '0' || *value > '9')
			return "expected a decimal number";
		v = strtoull(value, &end, 10);
		if (o->kind == K_SIZE && *end) {
			mult = *end == 'K' || *end == 'k' ? 1024 : *end == 'M' || *end == 'm' ? 1 << 20 :
			       *end == 'G' || *end == 'g' ? 1 << 30 : 0;
			if (!mult || end[1])
				return "expected a size in bytes (suffix K, M or G allowed)";
			end++;
		}
		if (errno || *end || v > ULLONG_MAX / mult)
			return "expected a decimal number";
		v *= mult;
		if ((double)v < o->min || (double)v > o->max)
			return "out of range";
		if (o->kind == K_UINT)
			*(unsigned *)field = (unsigned)v;
		else
			*(size_t *)field = (size_t)v;
		return NULL;
	}
	case K_DOUBLE: {
		double v;

		errno = 0;
		v = strtod(value, &end);
		if (errno || end == value || *end || !isfinite(v))
			return "expected a decimal number";
		if (v < o->min || v > o->max)
			return "out of range";
		*(double *)field = v;
		return NULL;
	}
	case K_LEVEL: {
		int l = log_level_from_name(value);

		if (l < 0)
			return "expected error, warning, notice, info or debug";
		*(int *)field = l;
		return NULL;
	}
	case K_WITNESS:
		if (st->c->n_witness == LCONF_WITNESSES_MAX)
			return "at most 8 witnesses";
		s = strdup(value);
		if (!s)
			return "out of memory";
		st->c->witness[st->c->n_witness++] = s;
		return NULL;
	}
	if (!s)
		return "out of memory";
	free(*(char **)field);
	*(char **)field = s;
	return NULL;
}

static int on_value(void *user, const char *section, const char *key, const char *value)
{
	struct state *st = user;
	bool known_section = false;
	const char *why;

	if (!strcmp(section, "readers")) {
		why = parse_reader(st->c, key, value);
		if (why)
			conf_error(st, section, key, why);
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++) {
		if (strcmp(opts[i].section, section))
			continue;
		known_section = true;
		if (strcmp(opts[i].key, key))
			continue;
		why = set(st, &opts[i], value);
		if (why)
			conf_error(st, section, key, why);
		return 1;
	}
	conf_error(st, section, key, known_section ? "unknown key" : "unknown section");
	return 1;
}

static void too_long(void *ctx, unsigned line, int max_chars)
{
	struct state *st = ctx;

	st->errors++;
	log_err("%s:%u: line longer than %d characters", st->name, line, max_chars);
}

static void defaults(struct lconf *c)
{
	memset(c, 0, sizeof(*c));
	c->store_connections = 4;
	c->checkpoint_interval_s = 10;
	c->connections = 256;
	c->connections_per_ip = 64;
	c->body_max = (size_t)1 << 20;
	c->body_memory = (size_t)64 << 20;
	c->rate = 20;
	c->burst = 40;
	c->request_timeout_s = 30;
	c->idle_timeout_s = 15;
	c->response_timeout_s = 300;
	c->log_level = LOG_INFO;
}

int lconf_parse(struct lconf *c, const char *name, const char *text, size_t len)
{
	struct state st = { .c = c, .name = name };
	const char *slash = strrchr(name, '/');
	int r;

	defaults(c);
	c->path = strdup(name);
	st.dir = slash ? strndup(name, (size_t)(slash - name + (slash == name))) : NULL;
	if (!c->path || (slash && !st.dir)) {
		free(st.dir);
		return -ENOMEM;
	}
	st.in.buf = text;
	st.in.len = len;
	st.in.too_long = too_long;
	st.in.ctx = &st;
	r = ini_parse_stream(ini_lines_read, &st.in, on_value, &st);
	if (r > 0) {
		st.errors++;
		log_err("%s:%d: expected '[section]' or 'key = value'", name, r);
	}
	free(st.dir);
	return r < 0 ? -ENOMEM : st.errors ? -EINVAL : 0;
}

int lconf_load(struct lconf *c, const char *path)
{
	char *text = NULL;
	size_t len;
	int ret;

	defaults(c);
	if (!path)
		return 0;
	ret = file_read(path, CONF_MAX, 0, "configuration", &text, &len);
	if (ret)
		return -EIO;
	ret = lconf_parse(c, path, text, len);
	free(text);
	return ret;
}

int lconf_set(struct lconf *c, const char *section, const char *key, const char *value)
{
	struct state st = { .c = c };

	on_value(&st, section, key, value);
	return st.errors ? -EINVAL : 0;
}

int lconf_check(const struct lconf *c)
{
	static const struct { const char *section, *key; size_t off; } need[] = {
		{ "server", "listen", F(listen) }, { "tls", "cert", F(cert) }, { "tls", "key", F(key) },
		{ "tls", "client_ca", F(client_ca) }, { "tls", "device_ca", F(device_ca) },
		{ "store", "url", F(store) }, { "log", "key", F(log_key) },
	};
	int ret = 0;

	for (size_t i = 0; i < ARRAY_SIZE(need); i++)
		if (!*(char *const *)((const char *)c + need[i].off)) {
			log_err("%s%s[%s] %s: required", c->path ? c->path : "", c->path ? ": " : "",
				need[i].section, need[i].key);
			ret = -EINVAL;
		}
	if (c->n_readers && !c->reader_ca) {
		log_err("[readers] need [tls] reader_ca (the CA of the certifiers' certificates)");
		ret = -EINVAL;
	}
	return ret;
}

void lconf_free(struct lconf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(opts); i++)
		if (opts[i].kind == K_STR || opts[i].kind == K_PATH)
			free(*(char **)((char *)c + opts[i].off));
	for (size_t i = 0; i < c->n_witness; i++)
		free(c->witness[i]);
	for (size_t i = 0; i < c->n_readers; i++) {
		free(c->readers[i].cn);
		free(c->readers[i].kids);
	}
	free(c->path);
	memset(c, 0, sizeof(*c));
}

bool lconf_reader_may(const struct lconf *c, const char *cn, const uint8_t kid[8])
{
	for (size_t i = 0; i < c->n_readers; i++) {
		const struct lconf_reader *r = &c->readers[i];

		if (strcmp(r->cn, cn))
			continue;
		if (r->all)
			return true;
		for (size_t k = 0; k < r->n_kids; k++)
			if (!memcmp(r->kids[k], kid, 8))
				return true;
		return false;
	}
	return false;
}
