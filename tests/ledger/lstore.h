/* lstore — eco2-ledger's storage: registered devices, their chains and
 * heads, in one SQLite file; every record verified on ingest with the
 * project's verifier (crypto/verify.h) before it is stored.
 *
 * Used from one thread (libmicrohttpd's internal polling thread). */
#ifndef ECO2_LSTORE_H
#define ECO2_LSTORE_H

#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

typedef struct lstore lstore_t;

int lstore_open(lstore_t **out, const char *path) __must_check;
void lstore_close(lstore_t *s);

/* Register a device by its certificate's public key (SubjectPublicKeyInfo
 * DER; the certificate was already verified by the caller). kid_out gets
 * the kid. 0 (new), 1 (already registered with this key), -errno with
 * *why set. */
int lstore_register(lstore_t *s, const uint8_t *spki, size_t spki_len,
		    const uint8_t *cert_der, size_t cert_len, uint8_t kid_out[8],
		    const char **why) __must_check;

/* One ingest answer entry. */
enum lstore_verdict { LS_ACCEPTED, LS_DUPLICATE, LS_REJECTED };

struct lstore_result {
	enum lstore_verdict verdict;
	uint64_t seq;            /* 0 when the record could not be decoded */
	char reason[160];
};

/* Verify and store each record of a CBOR sequence, in order, in one
 * transaction. client_kid: the kid of the mTLS client certificate (the
 * only device this connection may submit for). results gets one entry per
 * item (caller frees *results). 0 or -errno (storage failure: nothing
 * stored). */
int lstore_ingest(lstore_t *s, const uint8_t *body, size_t len,
		  const uint8_t client_kid[8], struct lstore_result **results,
		  size_t *n_results) __must_check;

/* The head of kid's chain: -ENOENT for an unknown device. */
int lstore_head(lstore_t *s, const uint8_t kid[8], uint64_t *seq,
		uint8_t hash[32]) __must_check;

/* Stored records of kid from seq `from`, as one malloc'd CBOR sequence. */
int lstore_records(lstore_t *s, const uint8_t kid[8], uint64_t from,
		   uint8_t **out, size_t *out_len) __must_check;

#endif
