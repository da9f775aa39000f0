/* libFuzzer target for crypto/pkcs11_uri.c: any byte string, as a URI,
 * must parse or fail with a message, never crash or leak; a parsed URI's
 * pin lookup must be just as safe (pin-source files are not read here). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pkcs11_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkcs11_uri *u = NULL;
	char err[128];
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (pkcs11_uri_parse(&u, s, err, sizeof(err)) == 0) {
		/* Text attributes are NUL-free by contract. */
		if (u->object && strlen(u->object) > size)
			abort();
		if (u->id_len > size)
			abort();
		pkcs11_uri_free(u);
	} else if (!err[0]) {
		abort();   /* every failure explains itself */
	}
	free(s);
	return 0;
}
