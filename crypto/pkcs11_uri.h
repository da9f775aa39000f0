/* pkcs11_uri — parse RFC 7512 `pkcs11:` URIs naming a key in a token.
 *
 * Grammar (RFC 7512 §2.3; attributes in any order, each at most once):
 *   pkcs11:PATH[?QUERY]
 *   PATH  = [attr *(";" attr)]   attr = name "=" value
 *           token manufacturer serial model        (CK_TOKEN_INFO)
 *           slot-description slot-manufacturer slot-id  (CK_SLOT_INFO)
 *           library-manufacturer library-description library-version
 *           object (CKA_LABEL)  id (CKA_ID, any bytes)
 *           type = public | private | cert | secret-key | data
 *   QUERY = attr *("&" attr)
 *           module-path (the .so to dlopen)  module-name
 *           pin-value  pin-source (file:PATH or an absolute path)
 *           slot-id (accepted here too)
 * Values are %-escaped where a character is outside the RFC's set (a
 * space is %20, a '/' in the path part is %2F). Vendor attributes (x-...)
 * are ignored; any other unknown attribute is an error, since a URI a
 * consumer half-understands could select the wrong key.
 * Example:
 *   pkcs11:token=eco2;object=device;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/eco2/pin
 */
#ifndef ECO2_PKCS11_URI_H
#define ECO2_PKCS11_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

#define PKCS11_URI_MAX 8192   /* bytes; longer input is refused */

enum pkcs11_uri_type {
	PKCS11_URI_TYPE_ANY = 0,
	PKCS11_URI_TYPE_PUBLIC,
	PKCS11_URI_TYPE_PRIVATE,
	PKCS11_URI_TYPE_CERT,
	PKCS11_URI_TYPE_SECRET_KEY,
	PKCS11_URI_TYPE_DATA,
};

/* A parsed URI. Text attributes are decoded, NUL-terminated, NULL when
 * absent; a decoded %00 is refused in them. id is binary (id_len bytes). */
struct pkcs11_uri {
	char *token, *manufacturer, *serial, *model;
	char *slot_description, *slot_manufacturer;
	bool has_slot_id;
	unsigned long slot_id;
	char *library_manufacturer, *library_description;
	bool has_library_version;
	unsigned library_version_major, library_version_minor;
	char *object;
	uint8_t *id;
	size_t id_len;
	enum pkcs11_uri_type type;
	char *module_path, *module_name;
	char *pin_value, *pin_source;
};

/* Parse uri into *out (caller frees with pkcs11_uri_free). On error returns
 * -EINVAL (or -ENOMEM) and writes "col N: what was expected" into err
 * (err_size bytes, always NUL-terminated when err_size > 0). */
int pkcs11_uri_parse(struct pkcs11_uri **out, const char *uri,
		     char *err, size_t err_size) __must_check;

/* Wipes pin_value before freeing. NULL allowed. */
void pkcs11_uri_free(struct pkcs11_uri *u);

/* The URI's PIN: pin-value, or the first line of the pin-source file
 * (trailing newline removed). The file is held to a key file's rules: a
 * regular file (opened without blocking, its type checked before a byte
 * is read), no group or other permission bits (mode 0600), at most 4 KiB.
 * *pin is NULL when the URI names none; the caller frees it with
 * pkcs11_uri_pin_free (which wipes it). 0 or -errno, with the reason in
 * err. */
int pkcs11_uri_pin(const struct pkcs11_uri *u, char **pin,
		   char *err, size_t err_size) __must_check;
void pkcs11_uri_pin_free(char *pin);

/* The path of the pin-source file (file:/ABS, file:///ABS or /ABS), or
 * NULL when the URI has none or names it otherwise. */
const char *pkcs11_uri_pin_path(const struct pkcs11_uri *u);

#endif
