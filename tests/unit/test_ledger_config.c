/* Unit tests for ledger/config.c: a full eco2-ledger.conf sets every
 * field (sizes with suffixes, relative paths from the file's folder,
 * witnesses, readers with * or kids); each bad line is reported as
 * "file:line: [section] key: why" and all of them are; the command line's
 * settings go through the same checks; what a start needs is named when
 * missing; readers may read exactly what they were given. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "ledger/config.h"

static char logged[4096];

static void hook(int level, const char *msg, void *ctx)
{
	size_t n = strlen(logged);

	(void)level;
	(void)ctx;
	snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

static int parse(struct lconf *c, const char *text)
{
	logged[0] = '\0';
	return lconf_parse(c, "/etc/eco2/ledger.conf", text, strlen(text));
}

static void test_full(void **state)
{
	static const char text[] =
		"[server]\nlisten = 0.0.0.0:8443\nmetrics = 127.0.0.1:9464\n"
		"[tls]\ncert = server.pem\nkey = /abs/server.key\nclient_ca = ca.pem\n"
		"device_ca = ca.pem\nreader_ca = readers.pem\n"
		"[store]\nurl = postgresql:///eco2?host=/run/postgresql\nconnections = 16\npartitions = 8\n"
		"[log]\nkey = log.key\ncheckpoint_interval_s = 30\n"
		"witness = w1+7e6f4aaa+BNdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea\n"
		"witness = w2+00000000+AAAA\n"
		"[limits]\nconnections = 1000\nconnections_per_ip = 10\nbody_max = 2M\nbody_memory = 1G\n"
		"rate = 5.5\nburst = 11\nrequest_timeout_s = 20\nidle_timeout_s = 7\nresponse_timeout_s = 60\n"
		"workers = 2\n"
		"[readers]\nAcme Certification = *\nOther = 0102030405060708, 1112131415161718\n"
		"[logging]\nlevel = debug\n";
	struct lconf c;
	uint8_t kid[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, other[8] = { 9 };

	(void)state;
	assert_int_equal(parse(&c, text), 0);
	assert_string_equal(c.listen, "0.0.0.0:8443");
	assert_string_equal(c.metrics_listen, "127.0.0.1:9464");
	assert_string_equal(c.cert, "/etc/eco2/server.pem");
	assert_string_equal(c.key, "/abs/server.key");
	assert_string_equal(c.reader_ca, "/etc/eco2/readers.pem");
	assert_string_equal(c.store, "postgresql:///eco2?host=/run/postgresql");
	assert_int_equal(c.store_connections, 16);
	assert_int_equal(c.partitions, 8);
	assert_string_equal(c.log_key, "/etc/eco2/log.key");
	assert_int_equal(c.checkpoint_interval_s, 30);
	assert_int_equal(c.n_witness, 2);
	assert_int_equal(c.connections, 1000);
	assert_int_equal(c.body_max, 2u << 20);
	assert_int_equal(c.body_memory, 1u << 30);
	assert_true(c.rate == 5.5);
	assert_int_equal(c.workers, 2);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.n_readers, 2);
	assert_true(lconf_reader_may(&c, "Acme Certification", other));
	assert_true(lconf_reader_may(&c, "Other", kid));
	assert_false(lconf_reader_may(&c, "Other", other));
	assert_false(lconf_reader_may(&c, "Nobody", kid));
	assert_false(lconf_reader_may(&c, "acme certification", kid));
	assert_int_equal(lconf_check(&c), 0);
	lconf_free(&c);
}

static void test_errors(void **state)
{
	static const char text[] =
		"[server]\nlisten = 127.0.0.1:1\n"              /* 1, 2 */
		"[limits]\nconnections = many\n"                /* 3, 4 */
		"body_max = 3X\n"                               /* 5 */
		"rate = -1\n"                                   /* 6 */
		"nonsense = 1\n"                                /* 7 */
		"[bogus]\nkey = 1\n"                            /* 8, 9 */
		"[readers]\nX = 01020304050607AB\n"             /* 10, 11 */
		"Y = \n"                                        /* 12 */
		"[logging]\nlevel = loud\n"                     /* 13, 14 */
		"no equals sign\n";                             /* 15 */
	struct lconf c;

	(void)state;
	assert_int_equal(parse(&c, text), -EINVAL);
	assert_non_null(strstr(logged, "/etc/eco2/ledger.conf:4: [limits] connections: expected a decimal number"));
	assert_non_null(strstr(logged, "/etc/eco2/ledger.conf:5: [limits] body_max: expected a size"));
	assert_non_null(strstr(logged, "/etc/eco2/ledger.conf:6: [limits] rate: out of range"));
	assert_non_null(strstr(logged, "/etc/eco2/ledger.conf:7: [limits] nonsense: unknown key"));
	assert_non_null(strstr(logged, "/etc/eco2/ledger.conf:9: [bogus] key: unknown section"));
	assert_non_null(strstr(logged, "/etc/eco2/ledger.conf:11: [readers] X: expected * or kids"));
	assert_non_null(strstr(logged, "/etc/eco2/ledger.conf:12: [readers] Y:"));
	assert_non_null(strstr(logged, "/etc/eco2/ledger.conf:14: [logging] level:"));
	assert_non_null(strstr(logged, "/etc/eco2/ledger.conf:15: expected"));
	lconf_free(&c);
}

static void test_command_line(void **state)
{
	struct lconf c;

	(void)state;
	assert_int_equal(lconf_load(&c, NULL), 0);
	assert_int_equal(c.connections, 256);
	assert_int_equal(c.body_max, 1u << 20);
	logged[0] = '\0';
	assert_int_equal(lconf_check(&c), -EINVAL);
	assert_non_null(strstr(logged, "[server] listen: required"));
	assert_non_null(strstr(logged, "[log] key: required"));
	assert_int_equal(lconf_set(&c, "limits", "body_max", "64K"), 0);
	assert_int_equal(c.body_max, 65536);
	assert_int_equal(lconf_set(&c, "limits", "body_max", "1"), -EINVAL);
	assert_int_equal(lconf_set(&c, "store", "url", "sqlite:x.db"), 0);
	assert_string_equal(c.store, "sqlite:x.db");
	assert_int_equal(lconf_set(&c, "readers", "R", "*"), 0);
	logged[0] = '\0';
	assert_int_equal(lconf_check(&c), -EINVAL);
	assert_non_null(strstr(logged, "reader_ca"));
	lconf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_command_line),
	};

	log_open("test", LOG_TO_STDERR, LOG_ERR);
	log_set_hook(hook, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
