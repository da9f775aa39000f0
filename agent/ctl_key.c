/* eco2ctl keygen / pubkey — create the device key and show its public half,
 * so that an automaker's CA can issue a device certificate.
 *
 *   eco2ctl keygen --uri URI [--alg es256|ed25519]
 *       URI: file:PATH (written mode 0600, never over an existing file) or
 *       pkcs11:...;object=LABEL[;id=..]?module-path=..&pin-source=file:..
 *       (generated inside the token). Prints the kid (lowercase hex) on
 *       stderr.
 *   eco2ctl pubkey --uri URI
 *       PEM SubjectPublicKeyInfo on stdout, the kid (16 lowercase hex
 *       digits, nothing else) on stderr.
 * Exit: 0 done, 1 failed (reason on stderr), 2 usage. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "agent/ctl.h"
#include "lib/log.h"
#include "crypto/signer.h"

static void print_kid(const signer_t *s)
{
	uint8_t kid[8];
	char hex[2 * sizeof(kid) + 1];

	signer_kid(s, kid);
	sodium_bin2hex(hex, sizeof(hex), kid, sizeof(kid));
	fprintf(stderr, "%s\n", hex);
}

/* Shared option parsing: --uri is required; --alg only for keygen. */
static int parse(int argc, char **argv, bool want_alg, const char **uri, int *alg)
{
	static const struct option opts[] = {
		{ "uri", required_argument, NULL, 'u' },
		{ "alg", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*uri = NULL;
	*alg = COSE_ALG_ES256;
	while ((c = getopt_long(argc, argv, "u:a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			*uri = optarg;
			break;
		case 'a':
			*alg = want_alg ? signer_alg_from_name(optarg) : 0;
			if (!*alg) {
				fprintf(stderr, "eco2ctl %s: --alg %s: expected es256 or ed25519\n",
					argv[0], optarg);
				return 2;
			}
			break;
		default:
			goto usage;
		}
	}
	if (!*uri || optind != argc)
		goto usage;
	return 0;
usage:
	fprintf(stderr, "usage: eco2ctl %s --uri URI%s\n", argv[0],
		want_alg ? " [--alg es256|ed25519]" : "");
	return 2;
}

int ctl_keygen(int argc, char **argv)
{
	signer_t *s = NULL;
	const char *uri;
	int alg, ret;

	ret = parse(argc, argv, true, &uri, &alg);
	if (ret)
		return ret;
	if (signer_keygen(uri, NULL, alg) < 0)
		return 1;
	/* Open what was written: proves the new key loads and signs. */
	if (signer_open(&s, uri, NULL) < 0)
		return 1;
	print_kid(s);
	signer_close(s);
	return 0;
}

int ctl_pubkey(int argc, char **argv)
{
	char pem[SIGNER_SPKI_PEM_MAX];
	uint8_t pub[SIGNER_PUBKEY_MAX];
	signer_t *s = NULL;
	const char *uri;
	int alg, ret;

	ret = parse(argc, argv, false, &uri, &alg);
	if (ret)
		return ret;
	if (signer_open(&s, uri, NULL) < 0)
		return 1;
	size_t n = signer_pubkey(s, pub);
	ret = 1;
	if (signer_spki_pem(signer_alg(s), pub, n, pem, sizeof(pem)) < 0) {
		fprintf(stderr, "eco2ctl pubkey: cannot encode the public key\n");
		goto out;
	}
	if (fputs(pem, stdout) == EOF || fflush(stdout) == EOF) {
		perror("eco2ctl pubkey: stdout");
		goto out;
	}
	print_kid(s);
	ret = 0;
out:
	signer_close(s);
	return ret;
}
