/* pkcs11_uri — RFC 7512 parser; the grammar is in pkcs11_uri.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/bytes.h"
#include "lib/file.h"
#include "crypto/pkcs11_uri.h"

/* Character classes of RFC 7512 §2.3 (unreserved and pct-encoded aside). */
#define RES_AVAIL        ":[]@!$'()*+,="
#define PATH_RES_AVAIL   RES_AVAIL "&"
#define QUERY_RES_AVAIL  RES_AVAIL "/?|"

#define PIN_MAX 256              /* bytes; PKCS#11 tokens take far shorter PINs */
#define PIN_FILE_MAX 4096        /* a PIN file is a line */

struct parser {
	const char *uri;
	char *err;
	size_t err_size;
};

static __printf(3, 4) int uri_error(struct parser *p, size_t col, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (!p->err_size)
		return -EINVAL;
	if (col)
		n = snprintf(p->err, p->err_size, "col %zu: ", col);
	if (n < 0 || (size_t)n >= p->err_size)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->err_size - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_unreserved(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Decode value [v, v+len) at column col. allowed: the reserved characters
 * this part of the URI may hold as they are. text: refuse %00 and
 * NUL-terminate (the decoded length is in *out_len either way). */
static int decode(struct parser *p, const char *v, size_t len, size_t col,
		  const char *allowed, bool text, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = malloc(len + 1);
	size_t n = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		if (c == '%') {
			int hi = i + 2 < len ? hex_digit(v[i + 1]) : -1;
			int lo = i + 2 < len ? hex_digit(v[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(buf);
				return uri_error(p, col + i, "'%%' must start a %%XX escape (two hex digits)");
			}
			uint8_t b = (uint8_t)(hi << 4 | lo);
			if (text && b == 0) {
				free(buf);
				return uri_error(p, col + i, "%%00 is not allowed in a text attribute");
			}
			buf[n++] = b;
			i += 2;
			continue;
		}
		if (!is_unreserved(c) && (c == '\0' || !strchr(allowed, c))) {
			free(buf);
			if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
				return uri_error(p, col + i, "byte 0x%02x must be %%-escaped",
					    (unsigned char)c);
			return uri_error(p, col + i, "'%c' must be %%-escaped here (%%%02X)",
				    c, (unsigned char)c);
		}
		buf[n++] = (uint8_t)c;
	}
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}

enum attr_kind { A_TEXT, A_ID, A_TYPE, A_SLOT_ID, A_LIBVER };

struct attr {
	const char *name;
	enum attr_kind kind;
	size_t off;   /* offsetof the char * field (A_TEXT) */
};

#define TEXT(n, f) { n, A_TEXT, offsetof(struct pkcs11_uri, f) }
static const struct attr path_attrs[] = {
	TEXT("token", token),
	TEXT("manufacturer", manufacturer),
	TEXT("serial", serial),
	TEXT("model", model),
	TEXT("slot-description", slot_description),
	TEXT("slot-manufacturer", slot_manufacturer),
	TEXT("library-manufacturer", library_manufacturer),
	TEXT("library-description", library_description),
	TEXT("object", object),
	{ "library-version", A_LIBVER, 0 },
	{ "slot-id", A_SLOT_ID, 0 },
	{ "id", A_ID, 0 },
	{ "type", A_TYPE, 0 },
};
static const struct attr query_attrs[] = {
	TEXT("module-path", module_path),
	TEXT("module-name", module_name),
	TEXT("pin-value", pin_value),
	TEXT("pin-source", pin_source),
	{ "slot-id", A_SLOT_ID, 0 },
};
#undef TEXT

static int parse_ulong(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (~0UL - 9) / 10)
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

static int set_attr(struct parser *p, struct pkcs11_uri *u, const struct attr *a,
		    uint8_t *val, size_t len, size_t name_col, size_t col)
{
	static const char *const types[] = {
		[PKCS11_URI_TYPE_PUBLIC] = "public",
		[PKCS11_URI_TYPE_PRIVATE] = "private",
		[PKCS11_URI_TYPE_CERT] = "cert",
		[PKCS11_URI_TYPE_SECRET_KEY] = "secret-key",
		[PKCS11_URI_TYPE_DATA] = "data",
	};
	const char *s = (const char *)val;
	unsigned long maj, min = 0;
	int ret = -EINVAL;

	switch (a->kind) {
	case A_TEXT: {
		char **field = (char **)((char *)u + a->off);
		if (*field)
			goto twice;
		*field = (char *)val;
		return 0;
	}
	case A_ID:
		if (u->id)
			goto twice;
		u->id = val;
		u->id_len = len;
		return 0;
	case A_TYPE:
		if (u->type != PKCS11_URI_TYPE_ANY)
			goto twice;
		for (size_t i = 1; i < ARRAY_SIZE(types); i++)
			if (!strcmp(s, types[i]))
				u->type = (enum pkcs11_uri_type)i;
		if (u->type == PKCS11_URI_TYPE_ANY)
			ret = uri_error(p, col, "type=%.40s: expected public, private, cert, "
				   "secret-key or data", s);
		else
			ret = 0;
		break;
	case A_SLOT_ID:
		if (u->has_slot_id)
			goto twice;
		if (parse_ulong(s, &u->slot_id) < 0) {
			ret = uri_error(p, col, "slot-id=%.40s: expected a decimal number", s);
			break;
		}
		u->has_slot_id = true;
		ret = 0;
		break;
	case A_LIBVER: {
		if (u->has_library_version)
			goto twice;
		const char *dot = strchr(s, '.');
		char major[24];
		size_t ml = dot ? (size_t)(dot - s) : strlen(s);
		if (ml >= sizeof(major)) {
			ret = uri_error(p, col, "library-version: expected M or M.N");
			break;
		}
		memcpy(major, s, ml);
		major[ml] = '\0';
		if (parse_ulong(major, &maj) < 0 || maj > 255 ||
		    (dot && (parse_ulong(dot + 1, &min) < 0 || min > 255))) {
			ret = uri_error(p, col, "library-version=%.40s: expected M or M.N "
				   "(0-255 each)", s);
			break;
		}
		u->has_library_version = true;
		u->library_version_major = (unsigned)maj;
		u->library_version_minor = (unsigned)min;
		ret = 0;
		break;
	}
	}
	free(val);
	return ret;
twice:
	free(val);
	return uri_error(p, name_col, "attribute '%s' given twice", a->name);
}

/* One part of the URI: the path (sep ';') or the query (sep '&'). */
static int parse_part(struct parser *p, struct pkcs11_uri *u, size_t start,
		      size_t end, char sep, const struct attr *attrs, size_t n_attrs,
		      const char *allowed, const char *what)
{
	const char *s = p->uri;
	size_t i = start;

	if (start == end)
		return 0;
	while (i <= end) {
		size_t j = i, eq;
		while (j < end && s[j] != sep)
			j++;
		/* [i, j) is one attribute. */
		for (eq = i; eq < j && s[eq] != '='; eq++)
			;
		if (i == j)
			return uri_error(p, i + 1, "empty %s attribute (stray '%c')", what, sep);
		if (eq == j)
			return uri_error(p, i + 1, "%s attribute '%.*s': expected name=value",
				    what, (int)(j - i > 40 ? 40 : j - i), s + i);
		if (eq == i)
			return uri_error(p, i + 1, "attribute name missing before '='");
		for (size_t k = i; k < eq; k++) {
			char c = s[k];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_'))
				return uri_error(p, k + 1, "attribute names are letters, digits, "
					    "'-' and '_'");
		}
		size_t nl = eq - i;
		const struct attr *a = NULL;
		for (size_t k = 0; k < n_attrs; k++)
			if (strlen(attrs[k].name) == nl && !memcmp(attrs[k].name, s + i, nl))
				a = &attrs[k];
		uint8_t *val = NULL;
		size_t len = 0;
		int ret = decode(p, s + eq + 1, j - eq - 1, eq + 2, allowed,
				 !a || a->kind != A_ID, &val, &len);
		if (ret < 0)
			return ret;
		if (!a) {
			free(val);
			/* RFC 7512 §2.3: vendor attributes start with "x-". */
			if (nl < 2 || strncasecmp(s + i, "x-", 2))
				return uri_error(p, i + 1, "unknown %s attribute '%.*s'", what,
					    (int)(nl > 40 ? 40 : nl), s + i);
		} else {
			ret = set_attr(p, u, a, val, len, i + 1, eq + 2);
			if (ret < 0)
				return ret;
		}
		i = j + 1;
	}
	return 0;
}

int pkcs11_uri_parse(struct pkcs11_uri **out, const char *uri,
		     char *err, size_t err_size)
{
	struct parser p = { .uri = uri, .err = err, .err_size = err_size };
	struct pkcs11_uri *u = NULL;
	size_t len, q;
	int ret;

	*out = NULL;
	if (err_size)
		err[0] = '\0';
	len = strnlen(uri, PKCS11_URI_MAX + 1);
	if (len > PKCS11_URI_MAX)
		return uri_error(&p, 0, "longer than %d bytes", PKCS11_URI_MAX);
	if (len < 7 || strncasecmp(uri, "pkcs11:", 7))
		return uri_error(&p, 1, "expected a URI starting with 'pkcs11:'");
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	for (q = 7; q < len && uri[q] != '?'; q++)
		;
	ret = parse_part(&p, u, 7, q, ';', path_attrs, ARRAY_SIZE(path_attrs),
			 PATH_RES_AVAIL, "path");
	if (ret < 0)
		goto out;
	if (q < len) {
		if (q + 1 == len) {
			ret = uri_error(&p, q + 1, "'?' must be followed by query attributes");
			goto out;
		}
		ret = parse_part(&p, u, q + 1, len, '&', query_attrs,
				 ARRAY_SIZE(query_attrs), QUERY_RES_AVAIL, "query");
		if (ret < 0)
			goto out;
	}
	if (u->pin_value && u->pin_source) {
		ret = uri_error(&p, 0, "pin-value and pin-source are mutually exclusive");
		goto out;
	}
	*out = u;
	u = NULL;
	ret = 0;
out:
	pkcs11_uri_free(u);
	return ret;
}

static void wipe_free(char *s)
{
	if (!s)
		return;
	/* volatile: keep the compiler from dropping a store before free. */
	for (volatile char *v = s; *v; v++)
		*v = 0;
	free(s);
}

void pkcs11_uri_free(struct pkcs11_uri *u)
{
	if (!u)
		return;
	free(u->token);
	free(u->manufacturer);
	free(u->serial);
	free(u->model);
	free(u->slot_description);
	free(u->slot_manufacturer);
	free(u->library_manufacturer);
	free(u->library_description);
	free(u->object);
	free(u->id);
	free(u->module_path);
	free(u->module_name);
	wipe_free(u->pin_value);
	free(u->pin_source);
	free(u);
}

void pkcs11_uri_pin_free(char *pin)
{
	wipe_free(pin);
}

const char *pkcs11_uri_pin_path(const struct pkcs11_uri *u)
{
	const char *path = u->pin_source;

	/* RFC 7512 §2.4: pin-source is a URI; we read file: URIs and bare
	 * absolute paths. */
	if (!path)
		return NULL;
	if (!strncmp(path, "file:", 5))
		path += 5;
	if (!strncmp(path, "//", 2) && path[2] == '/')
		path += 2;   /* file:///abs */
	return path[0] == '/' ? path : NULL;
}

int pkcs11_uri_pin(const struct pkcs11_uri *u, char **pin,
		   char *err, size_t err_size)
{
	struct parser p = { .uri = "", .err = err, .err_size = err_size };
	const char *path;
	char *text = NULL, *buf = NULL;
	size_t len = 0, n;
	int ret;

	*pin = NULL;
	if (u->pin_value) {
		*pin = strdup(u->pin_value);
		return *pin ? 0 : -ENOMEM;
	}
	if (!u->pin_source)
		return 0;
	path = pkcs11_uri_pin_path(u);
	if (!path)
		return uri_error(&p, 0, "pin-source=%.60s: expected file:/ABSOLUTE/PATH",
			    u->pin_source);
	/* As a key file: O_NONBLOCK, a regular file, mode 0600 (file_read
	 * logs which rule it broke); read(2), no stdio buffer keeps a copy. */
	ret = file_read(path, PIN_FILE_MAX, FILE_PRIVATE, "pin-source", &text, &len);
	if (ret < 0) {
		uri_error(&p, 0, "pin-source %s: %s", path,
			  ret == -EACCES ? "group or others may read it (chmod 600)" :
			  ret == -EFBIG ? "larger than 4 KiB: not a PIN file" :
			  ret == -EINVAL || ret == -EISDIR ? "not a regular file" : strerror(-ret));
		goto out;
	}
	n = strcspn(text, "\r\n");
	if (n > PIN_MAX) {
		ret = uri_error(&p, 0, "pin-source %s: first line longer than %d bytes", path, PIN_MAX);
		goto out;
	}
	buf = calloc(1, n + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(buf, text, n);
	*pin = buf;
	ret = 0;
out:
	if (text) {
		for (volatile char *v = text; v < text + len; v++)
			*v = 0;
		free(text);
	}
	return ret;
}
