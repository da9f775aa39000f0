/* libFuzzer target for agent/checkpoint.c: eco2d's saved state as it comes
 * back from a store anyone may have written. Any input must parse or fail
 * cleanly; what parses stays inside the input; no input the fuzzer makes
 * passes the tag of this run's device key (a fresh Ed25519 key file); and
 * what parses, encoded again with that key, decodes to the same fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/checkpoint.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static signer_t *key;

static void setup(void)
{
	static char dir[] = "/tmp/fuzz-checkpoint-XXXXXX";
	char uri[96], path[64];

	log_open("fuzz", LOG_TO_STDERR, -1);
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/k", dir);
	snprintf(uri, sizeof(uri), "file:%s", path);
	if (signer_keygen(uri, NULL, COSE_ALG_EDDSA) || signer_open(&key, uri, NULL))
		abort();
	unlink(path);   /* the signer holds the key; nothing is left behind */
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_ckpt c, d;
	struct eco2_record *recs = NULL;
	uint8_t *blob = NULL;
	size_t len = 0;

	if (!key)
		setup();
	if (agent_ckpt_decode(data, size, key, &c, NULL) == 0)
		abort();   /* a tag made without the key */
	if (agent_ckpt_parse(data, size, &c, NULL))
		return 0;
	if (c.pending_bytes < data || c.trip < data ||
	    c.pending_bytes + c.n_pending * sizeof(struct eco2_record) > data + size ||
	    c.trip + c.trip_len > data + size)
		abort();
	recs = calloc(c.n_pending + 1, sizeof(*recs));
	if (!recs)
		abort();
	for (size_t i = 0; i < c.n_pending; i++)
		agent_ckpt_pending(&c, i, &recs[i]);
	c.pending = recs;
	if (agent_ckpt_encode(&c, key, &blob, &len) ||
	    agent_ckpt_decode(blob, len, key, &d, NULL) ||
	    d.head_seq != c.head_seq || memcmp(d.head_hash, c.head_hash, 32) ||
	    d.replay_frames != c.replay_frames || d.next_flags != c.next_flags ||
	    d.n_pending != c.n_pending || d.trip_len != c.trip_len ||
	    memcmp(d.pending_bytes, recs, c.n_pending * sizeof(*recs)) ||
	    (c.trip_len && memcmp(d.trip, c.trip, c.trip_len)))
		abort();
	free(blob);
	free(recs);
	return 0;
}
