/* Unit tests for upload/ledger_resp.c: the ledger's acknowledgement is
 * accepted exactly in the documented form, and everything else (HTML error
 * pages, truncation, wrong types, signs, fractions, leading zeros, unknown
 * or repeated members, lists longer than the batch, trailing bytes) is
 * refused with the offset of the problem, so it can mark nothing.
 * The second half drives upload/ledger.c's answer handling (the file is
 * included to reach it) against a real queue: only seqs of the batch that
 * the answer lists as accepted or duplicate are marked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "upload/ledger_resp.h"
#include "upload/ledger.c"

static int parse(const char *s, size_t max, struct ledger_resp *r, char *err)
{
	return ledger_resp_parse(s, strlen(s), max, r, err, 96);
}

static void test_full_answer(void **state)
{
	struct ledger_resp r;
	char err[96];
	(void)state;

	assert_int_equal(parse("{\"accepted\":[1,2,3],\"duplicate\":[7],"
			       "\"rejected\":[{\"seq\":9,\"reason\":\"gap: expected seq 8\"}]}",
			       10, &r, err), 0);
	assert_int_equal(r.n_accepted, 3);
	assert_int_equal(r.accepted[0], 1);
	assert_int_equal(r.accepted[2], 3);
	assert_int_equal(r.n_duplicate, 1);
	assert_int_equal(r.duplicate[0], 7);
	assert_int_equal(r.n_rejected, 1);
	assert_int_equal(r.rejected[0].seq, 9);
	assert_string_equal(r.rejected[0].reason, "gap: expected seq 8");
	ledger_resp_free(&r);
	ledger_resp_free(&r);    /* idempotent */
	ledger_resp_free(NULL);
}

static void test_whitespace_order_escapes(void **state)
{
	struct ledger_resp r;
	char err[96];
	(void)state;

	assert_int_equal(parse(" \r\n{ \"rejected\" : [ { \"reason\" : \"bad \\\"sig\\\" \\u0041\\u00e9\\n\" ,"
			       " \"seq\" : 9223372036854775807 } ] , \"accepted\" : [ ] }\n", 4, &r, err), 0);
	assert_int_equal(r.n_accepted, 0);
	assert_int_equal(r.n_duplicate, 0);
	assert_int_equal(r.n_rejected, 1);
	assert_int_equal(r.rejected[0].seq, UINT64_C(9223372036854775807));
	assert_string_equal(r.rejected[0].reason, "bad \"sig\" A? ");
	ledger_resp_free(&r);
	/* an item the ledger could not decode is rejected with seq 0 */
	assert_int_equal(parse("{\"accepted\":[],\"duplicate\":[],\"rejected\":[{\"seq\":0,"
			       "\"reason\":\"item at byte 0: not a record\"}]}", 4, &r, err), 0);
	assert_int_equal(r.n_rejected, 1);
	assert_int_equal(r.rejected[0].seq, 0);
	ledger_resp_free(&r);
	assert_int_equal(parse("{}", 4, &r, err), 0);
	assert_int_equal(r.n_accepted + r.n_duplicate + r.n_rejected, 0);
	ledger_resp_free(&r);
}

static void test_long_reason_truncated(void **state)
{
	struct ledger_resp r;
	char buf[600], err[96];
	(void)state;

	/* {"rejected":[{"seq":1,"reason":"xxx...(400)"}]} */
	snprintf(buf, sizeof(buf), "{\"rejected\":[{\"seq\":1,\"reason\":\"%0400d\"}]}", 0);
	assert_int_equal(parse(buf, 1, &r, err), 0);
	assert_int_equal(strlen(r.rejected[0].reason), LEDGER_REASON_MAX - 1);
	ledger_resp_free(&r);
}

static void test_refused(void **state)
{
	static const struct { const char *body; const char *where; } bad[] = {
		{ "", "offset 0:" },
		{ "<html><body>502 Bad Gateway</body></html>", "offset 0:" },
		{ "{\"accepted\":[1,2]", "offset 17:" },           /* truncated */
		{ "{\"accepted\":[1,2]}x", "offset 18:" },         /* trailing */
		{ "{\"accepted\":[1,2]}{}", "offset 18:" },
		{ "{\"accepted\":[-1]}", "offset 13:" },
		{ "{\"accepted\":[0]}", "offset 14:" },            /* seqs start at 1 */
		{ "{\"accepted\":[01]}", "offset 15:" },
		{ "{\"accepted\":[1.0]}", "offset 14:" },
		{ "{\"accepted\":[1e3]}", "offset 14:" },
		{ "{\"accepted\":[\"1\"]}", "offset 13:" },
		{ "{\"accepted\":[9223372036854775808]}", "offset 31:" },
		{ "{\"accepted\":[1,]}", "offset 15:" },
		{ "{\"accepted\":1}", "offset 12:" },
		{ "{\"accepted\":null}", "offset 12:" },
		{ "{\"accepted\":[1],\"accepted\":[2]}", "offset 27:" },
		{ "{\"ok\":true}", "offset 6:" },
		{ "{\"accepted\":[1],}", "offset 16:" },
		{ "{\"rejected\":[{\"seq\":1}]}", "offset 22:" },
		{ "{\"rejected\":[{\"reason\":\"x\"}]}", "offset 27:" },
		{ "{\"rejected\":[{\"seq\":1,\"reason\":\"x\",\"seq\":2}]}", "offset 41:" },
		{ "{\"rejected\":[{\"seq\":1,\"reason\":5}]}", "offset 31:" },
		{ "{\"rejected\":[{\"seq\":00,\"reason\":\"x\"}]}", "offset 22:" },
		{ "{\"duplicate\":[0]}", "offset 15:" },
		{ "{\"rejected\":[{\"seq\":1,\"reason\":\"a\\q\"}]}", "offset 34:" },
		{ "{\"rejected\":[{\"seq\":1,\"reason\":\"\\u12\"}]}", "offset 36:" },
		{ "{\"rejected\":[{\"seq\":1,\"reason\":\"a\nb\"}]}", "offset 34:" },
		{ "{\"accepted\":[1,2,3,4,5]}", "offset 21:" },     /* more than sent (4) */
		{ "{'accepted':[1]}", "offset 1:" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct ledger_resp r;
		char err[96];

		memset(&r, 0x5a, sizeof(r));
		int ret = parse(bad[i].body, 4, &r, err);

		print_message("# %-50s -> %s\n", bad[i].body, err);
		assert_int_equal(ret, -EBADMSG);
		assert_true(!strncmp(err, bad[i].where, strlen(bad[i].where)));
	}
}

static void test_nul_byte_refused(void **state)
{
	struct ledger_resp r;
	char err[96];
	static const char body[] = "{\"accepted\":[1]}\0";
	(void)state;

	assert_int_equal(ledger_resp_parse(body, sizeof(body) - 1, 4, &r, err, sizeof(err)), -EBADMSG);
	assert_int_equal(ledger_resp_parse(body, sizeof(body) - 2, 4, &r, err, sizeof(err)), 0);
	ledger_resp_free(&r);
}

static int make10(uint64_t seq, const uint8_t prev[QUEUE_HASH_LEN], void *ctx,
		  uint8_t **bytes, size_t *len, uint8_t hash[QUEUE_HASH_LEN])
{
	(void)prev;
	(void)ctx;
	*bytes = malloc(10);
	if (!*bytes)
		return -ENOMEM;
	memset(*bytes, (int)seq, 10);
	*len = 10;
	memset(hash, (int)seq, QUEUE_HASH_LEN);
	return 0;
}

static uint64_t pending(queue_t *q)
{
	struct queue_stats st;

	assert_int_equal(queue_stats(q, &st), 0);
	return st.pending;
}

/* Hand an answer to the uploader as if the batch 1..5 had been sent. */
static void answer(ledger_t *l, const char *body)
{
	queue_batch_free(&l->batch);
	assert_int_equal(queue_next_batch(l->q, 5, 1 << 20, &l->batch), 0);
	assert_int_equal(l->batch.n, 5);
	free(l->resp);
	l->resp = strdup(body);
	l->resp_len = strlen(body);
	l->state = LEDGER_SENDING;
	l->backoff_deadline_ms = -1;
	handle_ack(l);
}

static void test_only_acknowledged_seqs_marked(void **state)
{
	char dir[] = "/tmp/test_ledger_resp.XXXXXX", path[64], cmd[96];
	struct ledger_opts o = { .url = "https://127.0.0.1:9", .batch_records = 5 };
	struct ledger_status st;
	queue_t *q = NULL;
	ledger_t *l = NULL;
	size_t n;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/q.db", dir);
	assert_int_equal(queue_open(&q, path, NULL), 0);
	assert_int_equal(queue_append_batch(q, make10, NULL, 20, &n), 0);
	assert_int_equal(ledger_open(&l, &o, q), 0);

	/* garbage, a seq that was not sent, an HTML page: nothing marked */
	answer(l, "{\"accepted\":[1,2");
	assert_int_equal(pending(q), 20);
	assert_int_equal(l->state, LEDGER_BACKOFF);
	answer(l, "{\"accepted\":[1,2,3,4,5,6],\"duplicate\":[],\"rejected\":[]}");
	assert_int_equal(pending(q), 20);
	answer(l, "{\"accepted\":[1,2,3,4,17],\"duplicate\":[],\"rejected\":[]}");
	assert_int_equal(pending(q), 20);
	ledger_status(l, &st);
	assert_non_null(strstr(st.last_error, "seq 17, which was not sent"));
	answer(l, "<html>200 OK</html>");
	assert_int_equal(pending(q), 20);
	assert_int_equal(l->st.records_acked, 0);

	/* a partial answer: the listed seqs only, and a back-off */
	answer(l, "{\"accepted\":[1,2],\"duplicate\":[3],"
		  "\"rejected\":[{\"seq\":4,\"reason\":\"prev is not SHA-256 of the previous record\"}]}");
	assert_int_equal(pending(q), 17);
	assert_int_equal(l->st.records_acked, 3);
	assert_int_equal(l->st.records_rejected, 1);
	assert_int_equal(l->state, LEDGER_BACKOFF);
	ledger_status(l, &st);
	assert_non_null(strstr(st.last_error, "seq 4: prev is not SHA-256"));

	/* now 4..8 pending first: a full answer marks all five */
	answer(l, "{\"accepted\":[4,5,6],\"duplicate\":[7,8],\"rejected\":[]}");
	assert_int_equal(pending(q), 12);
	assert_int_equal(l->st.records_acked, 8);
	assert_int_equal(l->st.batches_ok, 1);
	assert_int_equal(l->st.last_error[0], '\0');

	ledger_close(l);
	queue_close(q);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* GET .../head: exactly {"seq":N,"hash":"64 hex"}, in either order. */
#define H64 "7642987bb58fda0567022829c87080118fe2a63cf03a15d1e5e6549eee122307"
static void test_head(void **state)
{
	static const char *const bad[] = {
		"", "{}", "[]", "{\"seq\":1}", "{\"hash\":\"" H64 "\"}",
		"{\"seq\":1,\"hash\":\"" H64 "\",\"x\":1}",
		"{\"seq\":1,\"seq\":2,\"hash\":\"" H64 "\"}",
		"{\"seq\":-1,\"hash\":\"" H64 "\"}", "{\"seq\":01,\"hash\":\"" H64 "\"}",
		"{\"seq\":1.5,\"hash\":\"" H64 "\"}",
		"{\"seq\":9223372036854775808,\"hash\":\"" H64 "\"}",
		"{\"seq\":1,\"hash\":\"" H64 "0\"}", "{\"seq\":1,\"hash\":\"abc\"}",
		"{\"seq\":1,\"hash\":\"zz42987bb58fda0567022829c87080118fe2a63cf03a15d1e5e6549eee122307\"}",
		"{\"seq\":\"1\",\"hash\":\"" H64 "\"}", "{\"seq\":1,\"hash\":\"" H64 "\"} x",
		"{\"seq\":1 \"hash\":\"" H64 "\"}",
	};
	static const char good[] = "{\"seq\":1000,\"hash\":\"" H64 "\"}";
	static const char good2[] = " { \"hash\" : \"" H64 "\" , \"seq\" : 0 }\n";
	char err[96];
	uint64_t seq = 0;
	uint8_t hash[32], want[32];
	(void)state;

	for (int i = 0; i < 32; i++)
		want[i] = (uint8_t)(hex_digit(H64[2 * i]) << 4 | hex_digit(H64[2 * i + 1]));
	assert_int_equal(ledger_resp_parse_head(good, strlen(good), &seq, hash, err, sizeof(err)), 0);
	assert_int_equal(seq, 1000);
	assert_memory_equal(hash, want, 32);
	assert_int_equal(ledger_resp_parse_head(good2, strlen(good2), &seq, hash, err, sizeof(err)), 0);
	assert_int_equal(seq, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		seq = 77;
		if (ledger_resp_parse_head(bad[i], strlen(bad[i]), &seq, hash, err, sizeof(err)) != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(seq, 77);
		assert_true(!strncmp(err, "offset ", 7));
	}
}

static void test_plain_http_refused(void **state)
{
	struct ledger_opts o = { .url = "http://127.0.0.1:9" };
	ledger_t *l = NULL;
	(void)state;

	assert_int_equal(ledger_open(&l, &o, NULL), -EINVAL);
	assert_null(l);
	o.url = "HTTPS://";
	assert_int_equal(ledger_open(&l, &o, NULL), -EINVAL);
	o.url = "https://127.0.0.1:9";
	o.cert = "/nonexistent/device.pem";
	assert_int_equal(ledger_open(&l, &o, NULL), -EINVAL);
}

/* The receipt member: its text kept whole, newlines and the escapes a
 * receipt needs decoded, anything else refused. */
static void test_receipt_member(void **state)
{
	static const char ok[] =
		"{\"accepted\":[1],\"duplicate\":[],\"rejected\":[],"
		"\"receipt\":\"eco2-receipt/v1\\nkid 0102030405060708\\n1 0\\n\\nl\\u002fog\\n1\\n\\\"x\\\\\\n\\n\xe2\x80\x94 l abc=\\n\"}";
	static const char *const bad[] = {
		"{\"receipt\":\"a\\tb\"}",             /* a tab escape */
		"{\"receipt\":\"a\\u2014b\"}",         /* non-ASCII by escape */
		"{\"receipt\":\"a\\u0001b\"}",         /* a control character */
		"{\"receipt\":\"a\nb\"}",               /* a raw newline */
		"{\"receipt\":\"ab\"",                   /* unterminated */
		"{\"receipt\":\"a\",\"receipt\":\"b\"}", /* twice */
		"{\"receipt\":12}",
	};
	struct ledger_resp r;
	char err[96];

	(void)state;
	assert_int_equal(ledger_resp_parse(ok, strlen(ok), 4, &r, err, sizeof(err)), 0);
	assert_non_null(r.receipt);
	assert_string_equal(r.receipt, "eco2-receipt/v1\nkid 0102030405060708\n1 0\n\nl/og\n1\n\"x\\\n\n\xe2\x80\x94 l abc=\n");
	assert_int_equal(r.receipt_len, strlen(r.receipt));
	ledger_resp_free(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ledger_resp_parse(bad[i], strlen(bad[i]), 4, &r, err, sizeof(err)), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_receipt_member),
		cmocka_unit_test(test_only_acknowledged_seqs_marked),
		cmocka_unit_test(test_plain_http_refused),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_full_answer),
		cmocka_unit_test(test_whitespace_order_escapes),
		cmocka_unit_test(test_long_reason_truncated),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_nul_byte_refused),
	};

	log_open("test_ledger_resp", LOG_TO_STDERR, LOG_CRIT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
