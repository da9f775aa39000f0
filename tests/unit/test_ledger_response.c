/* Unit tests for upload/ledger_resp.c: the ledger's acknowledgement is
 * accepted exactly in the documented form, and everything else (HTML error
 * pages, truncation, wrong types, signs, fractions, leading zeros, unknown
 * or repeated members, lists longer than the batch, trailing bytes) is
 * refused with the offset of the problem, so it can mark nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "upload/ledger_resp.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_answer),
		cmocka_unit_test(test_whitespace_order_escapes),
		cmocka_unit_test(test_long_reason_truncated),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_nul_byte_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
