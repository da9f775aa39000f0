/* Unit tests for agent/config.c: defaults, every value type, relative
 * paths, and that each kind of error names the file, line and key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/config.c"

static char messages[8192];

static void capture(int level, const char *msg, void *ctx)
{
	(void)level; (void)ctx;
	size_t n = strlen(messages);
	snprintf(messages + n, sizeof(messages) - n, "%s\n", msg);
}

static int setup(void **state)
{
	(void)state;
	messages[0] = '\0';
	log_open("test", LOG_TO_STDERR, LOG_EMERG);  /* quiet; the hook sees all */
	log_set_level(LOG_DEBUG);
	log_set_hook(capture, NULL);
	return 0;
}

static const char minimal[] =
	"[can]\nprofile = /p/ref.profile\n"
	"[key]\nuri = file:/k/device.key\n"
	"[store]\npath = /var/lib/eco2/eco2.db\n"
	"[ledger]\nurl = https://ledger.example:8443\n";

static int load(struct eco2_config *cfg, const char *text)
{
	return config_load_buffer(cfg, "t.conf", text, strlen(text));
}

static void test_defaults(void **state)
{
	struct eco2_config cfg;
	(void)state;

	assert_int_equal(load(&cfg, minimal), 0);
	assert_string_equal(cfg.can_profile, "/p/ref.profile");
	assert_string_equal(cfg.key_uri, "file:/k/device.key");
	assert_true(cfg.ledger_enabled);
	assert_int_equal(cfg.trip_idle_end_s, 300);
	assert_int_equal(cfg.trip_checkpoint_s, 10);
	assert_string_equal(cfg.method_id, "eco2-ev-v1");
	/* 7.2 L/100 km x 2348 g/L / 100 */
	assert_true(cfg.method_baseline_g_per_km == 7.2 * 2348 / 100);
	assert_true(cfg.method_grid_g_per_kwh == 530.6);
	assert_true(cfg.method_charge_efficiency == 0.90);
	assert_int_equal(cfg.queue_max_bytes, 256LL * 1024 * 1024);
	assert_null(cfg.vehicle_vin);
	assert_string_equal(messages, "");
	config_free(&cfg);
}

static void test_values(void **state)
{
	struct eco2_config cfg;
	char text[1024];
	(void)state;

	snprintf(text, sizeof(text), "%s"
		 "enabled = no ; inline comment\n"
		 "[trip]\nidle_end_s = 60\nmax_speed_kmh = 180.5\n"
		 "[queue]\nmax_bytes = 2G\n"
		 "[method]\ntd_loss = 0.05\nid = eco2-ev-v1\n"
		 "[vehicle]\nvin = LGXCE6CB0N0000001\n"
		 "[log]\nlevel = debug\n", minimal);
	assert_int_equal(load(&cfg, text), 0);
	assert_false(cfg.ledger_enabled);
	assert_int_equal(cfg.trip_idle_end_s, 60);
	assert_true(cfg.trip_max_speed_kmh == 180.5);
	assert_int_equal(cfg.queue_max_bytes, 2LL << 30);
	assert_true(cfg.method_td_loss == 0.05);
	assert_string_equal(cfg.vehicle_vin, "LGXCE6CB0N0000001");
	assert_string_equal(cfg.log_level, "debug");
	config_free(&cfg);
}

/* Each bad line must produce exactly the message given, with its line. */
static void test_errors(void **state)
{
	static const struct { const char *line; const char *msg; } cases[] = {
		{ "[trip]\nidle_end_s = 5x\n", "t.conf:10: [trip] idle_end_s: expected a decimal integer" },
		{ "[trip]\nidle_end_s = 0\n", "t.conf:10: [trip] idle_end_s: 0 is out of range [1, 86400]" },
		{ "[trip]\nmax_speed_kmh = nan\n", "t.conf:10: [trip] max_speed_kmh: expected a decimal number" },
		{ "[trip]\nwhat = 1\n", "t.conf:10: [trip] what: unknown key" },
		{ "[tirp]\nidle_end_s = 1\n", "t.conf:10: [tirp] idle_end_s: unknown section" },
		{ "[ledger]\nenabled = maybe\n", "t.conf:10: [ledger] enabled: expected true or false" },
		{ "[store]\npath = /x\n", "t.conf:10: [store] path: set twice (first on line 6)" },
		{ "[queue]\nmax_bytes = 12T\n", "t.conf:10: [queue] max_bytes: expected a size in bytes (suffix K, M or G allowed)" },
		{ "[log]\nlevel = loud\n", "t.conf:10: [log] level: expected error, warning, notice, info or debug" },
		{ "garbage line\n", "t.conf:9: expected '[section]' or 'key = value'" },
	};
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct eco2_config cfg;
		char text[1024];

		messages[0] = '\0';
		snprintf(text, sizeof(text), "%s%s", minimal, cases[i].line);
		assert_int_equal(load(&cfg, text), -EINVAL);
		char want[256];
		snprintf(want, sizeof(want), "%s\n", cases[i].msg);
		assert_string_equal(messages, want);
		config_free(&cfg);
	}
}

static void test_plain_http_refused(void **state)
{
	struct eco2_config cfg;
	(void)state;

	assert_int_equal(load(&cfg, "[can]\nprofile=p\n[key]\nuri=file:k\n[store]\npath=s\n"
			      "[ledger]\nurl = http://ledger:80\n"), -EINVAL);
	assert_non_null(strstr(messages, "t.conf:8: [ledger] url: expected an https:// URL"));
	config_free(&cfg);
}

static void test_required(void **state)
{
	struct eco2_config cfg;
	(void)state;

	assert_int_equal(load(&cfg, "[ledger]\nenabled = false\n"), -EINVAL);
	assert_string_equal(messages,
		"t.conf: [can] profile: required\n"
		"t.conf: [key] uri: required\n"
		"t.conf: [store] path: required\n");
	config_free(&cfg);
}

static void test_all_errors_reported(void **state)
{
	struct eco2_config cfg;
	char text[1024];
	(void)state;

	snprintf(text, sizeof(text), "%s[trip]\nidle_end_s = -1\ngap_end_s = x\n"
		 "[method]\ncharge_efficiency = 1.5\n", minimal);
	assert_int_equal(load(&cfg, text), -EINVAL);
	assert_non_null(strstr(messages, "t.conf:10: [trip] idle_end_s"));
	assert_non_null(strstr(messages, "t.conf:11: [trip] gap_end_s"));
	assert_non_null(strstr(messages, "t.conf:13: [method] charge_efficiency: 1.5 is out of range"));
	config_free(&cfg);
}

static void test_long_line(void **state)
{
	struct eco2_config cfg;
	char text[2048];
	char pad[600];
	(void)state;

	memset(pad, 'a', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(text, sizeof(text), "%s[vehicle]\nvin = %s\n[trip]\nidle_end_s = q\n", minimal, pad);
	assert_int_equal(load(&cfg, text), -EINVAL);
	assert_non_null(strstr(messages, "t.conf:10: line longer than"));
	/* Lines after it keep their numbers. */
	assert_non_null(strstr(messages, "t.conf:12: [trip] idle_end_s"));
	config_free(&cfg);
}

static void test_relative_paths(void **state)
{
	char dir[] = "/tmp/eco2-conf-XXXXXX";
	char path[256];
	struct eco2_config cfg;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/eco2d.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[can]\nprofile = profiles/ref.profile\n[key]\nuri = file:keys/dev.key\n"
	      "[store]\npath = /abs/eco2.db\n[ledger]\nenabled=false\nkey = pkcs11:token=x;object=y\n"
	      "ca = ca.pem\n", f);
	fclose(f);
	assert_int_equal(config_load(&cfg, path), 0);
	char want[300];
	snprintf(want, sizeof(want), "%s/profiles/ref.profile", dir);
	assert_string_equal(cfg.can_profile, want);
	snprintf(want, sizeof(want), "file:%s/keys/dev.key", dir);
	assert_string_equal(cfg.key_uri, want);
	snprintf(want, sizeof(want), "%s/ca.pem", dir);
	assert_string_equal(cfg.ledger_ca, want);
	assert_string_equal(cfg.store_path, "/abs/eco2.db");
	assert_string_equal(cfg.ledger_key, "pkcs11:token=x;object=y");
	config_free(&cfg);

	/* [ledger] key is handed to libcurl: a plain path, not a file: URI. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[can]\nprofile = p\n[key]\nuri = k\n[store]\npath = s\n"
	      "[ledger]\nenabled=false\nkey = file:tls.key\n", f);
	fclose(f);
	assert_int_equal(config_load(&cfg, path), 0);
	snprintf(want, sizeof(want), "%s/tls.key", dir);
	assert_string_equal(cfg.ledger_key, want);
	snprintf(want, sizeof(want), "file:%s/k", dir);
	assert_string_equal(cfg.key_uri, want);
	config_free(&cfg);
	unlink(path);
	rmdir(dir);
}

static void test_missing_file(void **state)
{
	struct eco2_config cfg;
	(void)state;

	assert_int_equal(config_load(&cfg, "/nonexistent/eco2d.conf"), -ENOENT);
	assert_non_null(strstr(messages, "/nonexistent/eco2d.conf: cannot open"));
	config_free(&cfg);
	config_free(NULL);
}

static void test_dump_roundtrip(void **state)
{
	struct eco2_config a, b;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;

	assert_int_equal(load(&a, minimal), 0);
	f = open_memstream(&text, &len);
	config_dump(&a, f);
	fclose(f);
	assert_int_equal(config_load_buffer(&b, "dump", text, len), 0);
	assert_string_equal(a.store_path, b.store_path);
	assert_true(a.method_baseline_g_per_km == b.method_baseline_g_per_km);
	assert_int_equal(a.upload_batch_bytes, b.upload_batch_bytes);
	config_free(&a);
	config_free(&b);
	free(text);
}

/* Indentation is layout, not a continuation of the previous value. */
static void test_indented(void **state)
{
	struct eco2_config cfg;
	(void)state;

	assert_int_equal(load(&cfg, "[can]\n  profile = /p\n\tinterfaces = vcan0\n"
			      "[key]\n  uri = file:/k\n[store]\n  path = /s\n"
			      "[ledger]\n  enabled = false\n"), 0);
	assert_string_equal(cfg.can_profile, "/p");
	assert_string_equal(cfg.can_interfaces, "vcan0");
	assert_false(cfg.ledger_enabled);
	assert_string_equal(messages, "");
	config_free(&cfg);
}

/* The example installed as /etc/eco2/eco2d.conf must itself be valid. */
static void test_shipped_example(void **state)
{
	struct eco2_config cfg;
	char path[512];
	const char *src = getenv("ECO2_SRC");
	(void)state;

	snprintf(path, sizeof(path), "%s/agent/eco2d.conf", src ? src : ".");
	assert_int_equal(config_load(&cfg, path), 0);
	assert_string_equal(messages, "");
	assert_false(cfg.ledger_enabled);
	assert_string_equal(cfg.store_path, "/var/lib/eco2/eco2.db");
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_values, setup),
		cmocka_unit_test_setup(test_errors, setup),
		cmocka_unit_test_setup(test_plain_http_refused, setup),
		cmocka_unit_test_setup(test_required, setup),
		cmocka_unit_test_setup(test_all_errors_reported, setup),
		cmocka_unit_test_setup(test_long_line, setup),
		cmocka_unit_test_setup(test_relative_paths, setup),
		cmocka_unit_test_setup(test_missing_file, setup),
		cmocka_unit_test_setup(test_dump_roundtrip, setup),
		cmocka_unit_test_setup(test_shipped_example, setup),
		cmocka_unit_test_setup(test_indented, setup),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
