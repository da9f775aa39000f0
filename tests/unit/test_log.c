/* Unit tests for lib/log.c: level names, filtering by log_set_level, the
 * per-level counters, the hook, the stderr format "ident: level: message"
 * and the rate limit (burst, suppression, the suppressed count in the next
 * message that passes), with the clock driven by the test.
 *
 * The module is included so that its CLOCK_MONOTONIC reads come from a
 * clock the test sets; with the fake clock off they go to the real one,
 * which one test uses once (a 1 s window, slept through). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* 0: the real clock; otherwise CLOCK_MONOTONIC reads this. */
static uint64_t fake_mono_ns;
static unsigned fake_reads;

static int fake_clock_gettime(clockid_t id, struct timespec *ts)
{
	if (id == CLOCK_MONOTONIC && fake_mono_ns) {
		fake_reads++;
		ts->tv_sec = (time_t)(fake_mono_ns / 1000000000u);
		ts->tv_nsec = (long)(fake_mono_ns % 1000000000u);
		return 0;
	}
	return clock_gettime(id, ts);
}

#define clock_gettime fake_clock_gettime
#include "lib/log.c"
#undef clock_gettime

#define NS 1000000000ull

/* syslog's levels and the names this test expects for them, written
 * out here rather than taken from the module. */
static const struct {
	int level;
	const char *name;
} levels[] = {
	{ LOG_EMERG, "emerg" }, { LOG_ALERT, "alert" }, { LOG_CRIT, "crit" },
	{ LOG_ERR, "error" }, { LOG_WARNING, "warning" }, { LOG_NOTICE, "notice" },
	{ LOG_INFO, "info" }, { LOG_DEBUG, "debug" },
};

/* ---- what the hook saw ------------------------------------------------------ */

#define SEEN_MAX 64

static struct {
	int level;
	char msg[128];
} seen[SEEN_MAX];
static unsigned n_seen;
static int hook_ctx_tag;

static void hook(int level, const char *msg, void *ctx)
{
	assert_ptr_equal(ctx, &hook_ctx_tag);
	assert_true(n_seen < SEEN_MAX);
	seen[n_seen].level = level;
	snprintf(seen[n_seen].msg, sizeof(seen[n_seen].msg), "%s", msg);
	n_seen++;
}

/* ---- stderr capture ----------------------------------------------------------- */

struct capture {
	FILE *tmp;
	int saved_fd;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	c->saved_fd = dup(STDERR_FILENO);
	assert_true(c->saved_fd >= 0);
	assert_int_equal(dup2(fileno(c->tmp), STDERR_FILENO), STDERR_FILENO);
}

/* Restores stderr; returns what was written to it (free it). */
static char *capture_end(struct capture *c)
{
	long n;
	char *text;

	fflush(stderr);
	assert_int_equal(dup2(c->saved_fd, STDERR_FILENO), STDERR_FILENO);
	close(c->saved_fd);
	n = ftell(c->tmp);
	assert_true(n >= 0);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	rewind(c->tmp);
	assert_int_equal(fread(text, 1, (size_t)n, c->tmp), (size_t)n);
	fclose(c->tmp);
	return text;
}

/* ---- fixtures ------------------------------------------------------------------ */

/* Every level passes, to the hook and to stderr, which goes to a file
 * the teardown reads back: the log lines it drops, anything else (cmocka's
 * fail_msg text) it passes on. Tests that check stderr capture it again. */
static struct capture quiet;

static void pass_on_non_log_lines(char *text)
{
	static const char *const idents[] = { "test: ", "eco2-test: ", "rl: " };

	for (char *line = text, *next; line && *line; line = next) {
		bool is_log = false;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		for (size_t i = 0; i < ARRAY_SIZE(idents); i++)
			is_log |= !strncmp(line, idents[i], strlen(idents[i]));
		if (!is_log)
			fprintf(stderr, "%s\n", line);
	}
}

static int setup(void **state)
{
	(void)state;
	fake_mono_ns = 0;
	fake_reads = 0;
	n_seen = 0;
	capture_start(&quiet);
	log_open("test", LOG_TO_STDERR, LOG_DEBUG);
	log_set_hook(hook, &hook_ctx_tag);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	log_set_hook(NULL, NULL);
	log_close();
	fake_mono_ns = 0;
	char *text = capture_end(&quiet);
	pass_on_non_log_lines(text);
	free(text);
	return 0;
}

/* ---- names -------------------------------------------------------------------- */

static void test_level_from_name(void **state)
{
	char upper[16];
	(void)state;

	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		assert_int_equal(log_level_from_name(levels[i].name), levels[i].level);
		/* case does not matter */
		size_t n = strlen(levels[i].name);
		for (size_t j = 0; j <= n; j++)
			upper[j] = (char)(j < n ? levels[i].name[j] - 'a' + 'A' : 0);
		assert_int_equal(log_level_from_name(upper), levels[i].level);
	}
	/* the short spellings syslog users write */
	assert_int_equal(log_level_from_name("warn"), LOG_WARNING);
	assert_int_equal(log_level_from_name("err"), LOG_ERR);
	assert_int_equal(log_level_from_name("Info"), LOG_INFO);

	static const char *const unknown[] = {
		"", "verbose", "trace", "fatal", "inf", "debug ", " debug", "debugx",
		"errors", "warnings", "0", "7", "LOG_ERR", "emergency", "critical",
	};
	for (size_t i = 0; i < ARRAY_SIZE(unknown); i++) {
		if (log_level_from_name(unknown[i]) != -1)
			fail_msg("log_level_from_name(\"%s\") = %d, expected -1", unknown[i],
				 log_level_from_name(unknown[i]));
	}
}

/* ---- filtering, hook, counters ------------------------------------------------ */

static void test_filtering(void **state)
{
	(void)state;

	for (int max = LOG_EMERG; max <= LOG_DEBUG; max++) {
		log_set_level(max);
		n_seen = 0;
		for (int lv = LOG_EMERG; lv <= LOG_DEBUG; lv++)
			log_msg(lv, "max %d level %d", max, lv);

		/* exactly the levels <= max, in order, with their text */
		assert_int_equal(n_seen, (unsigned)max + 1);
		for (int lv = 0; lv <= max; lv++) {
			char want[64];
			snprintf(want, sizeof(want), "max %d level %d", max, lv);
			assert_int_equal(seen[lv].level, lv);
			assert_string_equal(seen[lv].msg, want);
		}
	}

	/* The macros log at their level. */
	log_set_level(LOG_DEBUG);
	n_seen = 0;
	log_err("e %d", 1);
	log_warn("w %s", "x");
	log_notice("n");
	log_info("i");
	log_debug("d");
	assert_int_equal(n_seen, 5);
	assert_int_equal(seen[0].level, LOG_ERR);
	assert_string_equal(seen[0].msg, "e 1");
	assert_int_equal(seen[1].level, LOG_WARNING);
	assert_string_equal(seen[1].msg, "w x");
	assert_int_equal(seen[2].level, LOG_NOTICE);
	assert_int_equal(seen[3].level, LOG_INFO);
	assert_int_equal(seen[4].level, LOG_DEBUG);

	/* Out-of-range levels are clamped, not ignored. */
	log_set_level(-5);
	n_seen = 0;
	log_err("not shown");
	assert_int_equal(n_seen, 0);
	log_set_level(100);
	log_debug("shown");
	assert_int_equal(n_seen, 1);

	/* log_open's level filters as log_set_level does. */
	log_open("test", LOG_TO_STDERR, LOG_WARNING);
	n_seen = 0;
	log_notice("no");
	log_warn("yes");
	assert_int_equal(n_seen, 1);
	assert_string_equal(seen[0].msg, "yes");

	/* No hook: nothing is called (the old hook would assert). */
	log_set_hook(NULL, NULL);
	log_warn("nobody listens");
	assert_int_equal(n_seen, 1);
}

/* The hook collects at most SEEN_MAX; for more, count only. */
static unsigned hook_calls;

static void hook_count_only(int level, const char *msg, void *ctx)
{
	(void)level; (void)msg;
	assert_ptr_equal(ctx, &hook_calls);
	hook_calls++;
}

static void test_counts(void **state)
{
	unsigned long want[LOG_DEBUG + 1] = { 0 };
	unsigned seed = 12345;
	(void)state;

	hook_calls = 0;
	log_set_hook(hook_count_only, &hook_calls);

	for (int lv = LOG_EMERG; lv <= LOG_DEBUG; lv++)
		assert_int_equal(log_count(lv), 0);

	/* A pseudo-random mix of levels, every one passing. */
	for (int i = 0; i < 300; i++) {
		seed = seed * 1103515245u + 12345u;
		int lv = (int)((seed >> 16) % (LOG_DEBUG + 1));
		log_msg(lv, "m%d", i);
		want[lv]++;
	}
	for (int lv = LOG_EMERG; lv <= LOG_DEBUG; lv++)
		assert_int_equal(log_count(lv), want[lv]);
	assert_int_equal(hook_calls, 300);

	/* The counters count what is logged, whether or not the level lets
	 * it through (the count of warnings is the same at any verbosity). */
	log_set_level(LOG_ERR);
	hook_calls = 0;
	log_warn("filtered");
	log_debug("filtered");
	assert_int_equal(hook_calls, 0);
	assert_int_equal(log_count(LOG_WARNING), want[LOG_WARNING] + 1);
	assert_int_equal(log_count(LOG_DEBUG), want[LOG_DEBUG] + 1);

	/* log_open starts them again. */
	log_open("test", LOG_TO_STDERR, LOG_DEBUG);
	for (int lv = LOG_EMERG; lv <= LOG_DEBUG; lv++)
		assert_int_equal(log_count(lv), 0);
	log_info("one");
	assert_int_equal(log_count(LOG_INFO), 1);
	assert_int_equal(log_count(LOG_ERR), 0);
}

static void test_hook_sees_what_passes(void **state)
{
	unsigned want = 0;
	(void)state;

	hook_calls = 0;
	log_set_hook(hook_count_only, &hook_calls);
	for (int max = LOG_EMERG; max <= LOG_DEBUG; max++) {
		log_set_level(max);
		for (int lv = LOG_EMERG; lv <= LOG_DEBUG; lv++)
			for (int k = 0; k < 3; k++)
				log_msg(lv, "x");
		want += 3u * (unsigned)(max + 1);
		assert_int_equal(hook_calls, want);
	}
}

/* ---- stderr ---------------------------------------------------------------------- */

static void hook_clobbers_errno(int level, const char *msg, void *ctx)
{
	(void)level; (void)msg; (void)ctx;
	errno = EBADF;
}

static void test_stderr_format(void **state)
{
	char want[1024] = "";
	struct capture c;
	char *out;
	(void)state;

	log_open("eco2-test", LOG_TO_STDERR, LOG_DEBUG);
	log_set_hook(NULL, NULL);
	capture_start(&c);
	for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
		log_msg(levels[i].level, "message %zu: %s", i, "with 100% text");
		size_t n = strlen(want);
		snprintf(want + n, sizeof(want) - n, "eco2-test: %s: message %zu: with 100%% text\n",
			 levels[i].name, i);
	}
	/* a filtered level writes nothing */
	log_set_level(LOG_WARNING);
	log_info("hidden");
	log_warn("shown");
	size_t wn = strlen(want);
	snprintf(want + wn, sizeof(want) - wn, "eco2-test: warning: shown\n");
	out = capture_end(&c);
	assert_string_equal(out, want);
	free(out);

	/* errno survives a log call (callers log, then return -errno),
	 * even when a hook changes it */
	capture_start(&c);
	log_set_hook(hook_clobbers_errno, NULL);
	errno = EPIPE;
	log_warn("after a failure");
	assert_int_equal(errno, EPIPE);
	out = capture_end(&c);
	assert_string_equal(out, "eco2-test: warning: after a failure\n");
	free(out);
}

/* ---- rate limit ------------------------------------------------------------------- */

/* Index of the first hook message containing both needles, or -1. */
static int find_seen(const char *a, const char *b)
{
	for (unsigned i = 0; i < n_seen; i++)
		if (strstr(seen[i].msg, a) && (!b || strstr(seen[i].msg, b)))
			return (int)i;
	return -1;
}

static void test_ratelimit_fake_clock(void **state)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(10, 3);
	(void)state;

	fake_mono_ns = 1000 * NS;
	/* Burst: 3 of 10 pass. */
	for (int i = 0; i < 10; i++)
		log_rl(&rl, LOG_WARNING, "burst %d", i);
	assert_true(fake_reads > 0);   /* the window runs on CLOCK_MONOTONIC */
	assert_int_equal(n_seen, 3);
	for (int i = 0; i < 3; i++) {
		char want[32];
		snprintf(want, sizeof(want), "burst %d", i);
		assert_string_equal(seen[i].msg, want);
		assert_int_equal(seen[i].level, LOG_WARNING);
	}
	/* Counted although suppressed. */
	assert_int_equal(log_count(LOG_WARNING), 10);

	/* Still inside the window, up to its last nanosecond. */
	fake_mono_ns = 1000 * NS + 5 * NS;
	log_rl(&rl, LOG_WARNING, "mid");
	fake_mono_ns = 1000 * NS + 10 * NS - 1;
	log_rl(&rl, LOG_WARNING, "last ns");
	assert_int_equal(n_seen, 3);

	/* The window is over: the next message passes, preceded by the
	 * number suppressed (7 + 2), at its level. */
	fake_mono_ns = 1000 * NS + 10 * NS;
	log_rl(&rl, LOG_WARNING, "after");
	assert_int_equal(n_seen, 5);
	int s = find_seen("9 ", "suppressed");
	if (s < 0)
		fail_msg("no message saying 9 were suppressed; got \"%s\" and \"%s\"",
			 seen[3].msg, seen[4].msg);
	assert_int_equal(s, 3);
	assert_int_equal(seen[3].level, LOG_WARNING);
	assert_string_equal(seen[4].msg, "after");

	/* A new window with a new burst: 2 more pass, then suppression. */
	n_seen = 0;
	log_rl(&rl, LOG_WARNING, "b1");
	log_rl(&rl, LOG_WARNING, "b2");
	log_rl(&rl, LOG_WARNING, "b3");
	assert_int_equal(n_seen, 2);
	assert_string_equal(seen[1].msg, "b2");

	/* A window with nothing suppressed ends without a count. */
	struct log_ratelimit rl2 = LOG_RATELIMIT_INIT(1, 2);
	n_seen = 0;
	log_rl(&rl2, LOG_ERR, "q1");
	log_rl(&rl2, LOG_ERR, "q2");
	fake_mono_ns += 3 * NS;
	log_rl(&rl2, LOG_ERR, "q3");
	assert_int_equal(n_seen, 3);
	assert_int_equal(find_seen("suppressed", NULL), -1);

	/* The count reported is that of the last window only: one
	 * suppressed, a quiet window, then one message. */
	n_seen = 0;
	log_rl(&rl2, LOG_ERR, "r1");      /* same window as q3: passes (2nd) */
	log_rl(&rl2, LOG_ERR, "r2");      /* suppressed */
	assert_int_equal(n_seen, 1);
	fake_mono_ns += 100 * NS;         /* long silence */
	log_rl(&rl2, LOG_ERR, "r3");
	assert_int_equal(n_seen, 3);
	assert_int_equal(find_seen("1 ", "suppressed"), 1);
	assert_string_equal(seen[2].msg, "r3");
	/* ... and it was reset: r3's window suppressed nothing */
	n_seen = 0;
	fake_mono_ns += 100 * NS;
	log_rl(&rl2, LOG_ERR, "r4");
	assert_int_equal(n_seen, 1);
	assert_string_equal(seen[0].msg, "r4");

	/* Two limits are independent. */
	struct log_ratelimit a = LOG_RATELIMIT_INIT(60, 1), b = LOG_RATELIMIT_INIT(60, 1);
	n_seen = 0;
	log_rl(&a, LOG_INFO, "a1");
	log_rl(&a, LOG_INFO, "a2");
	log_rl(&b, LOG_INFO, "b1");
	assert_int_equal(n_seen, 2);
	assert_string_equal(seen[1].msg, "b1");
}

/* A suppressed message is not written to stderr either, and the
 * suppressed count reaches stderr in the module's format. */
static void test_ratelimit_stderr(void **state)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(5, 1);
	struct capture c;
	char *out;
	(void)state;

	log_open("rl", LOG_TO_STDERR, LOG_DEBUG);
	log_set_hook(NULL, NULL);
	fake_mono_ns = 50 * NS;
	capture_start(&c);
	log_rl(&rl, LOG_NOTICE, "x");
	log_rl(&rl, LOG_NOTICE, "x");
	log_rl(&rl, LOG_NOTICE, "x");
	fake_mono_ns += 5 * NS;
	log_rl(&rl, LOG_NOTICE, "y");
	out = capture_end(&c);
	/* "rl: notice: x", then a notice saying 2 were suppressed, then y */
	char *l1 = out, *l2 = strchr(l1, '\n');
	assert_non_null(l2);
	*l2++ = 0;
	char *l3 = strchr(l2, '\n');
	assert_non_null(l3);
	*l3++ = 0;
	assert_string_equal(l1, "rl: notice: x");
	if (strncmp(l2, "rl: notice: ", 12) || !strstr(l2, "2 ") || !strstr(l2, "suppressed"))
		fail_msg("second line \"%s\": expected a notice that 2 were suppressed", l2);
	assert_string_equal(l3, "rl: notice: y\n");
	free(out);
}

/* The real clock, once: a 1 s window slept through. */
static void test_ratelimit_real_clock(void **state)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 2);
	struct timespec nap = { .tv_sec = 1, .tv_nsec = 50L * 1000 * 1000 };
	(void)state;

	assert_int_equal(fake_mono_ns, 0);
	for (int i = 0; i < 6; i++)
		log_rl(&rl, LOG_INFO, "real %d", i);
	assert_int_equal(n_seen, 2);
	while (nanosleep(&nap, &nap) < 0 && errno == EINTR)
		;
	log_rl(&rl, LOG_INFO, "later");
	assert_int_equal(n_seen, 4);
	if (find_seen("4 ", "suppressed") != 2)
		fail_msg("expected \"4 ... suppressed\" before \"later\", got \"%s\"", seen[2].msg);
	assert_string_equal(seen[3].msg, "later");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_level_from_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filtering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hook_sees_what_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stderr_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ratelimit_fake_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ratelimit_stderr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ratelimit_real_clock, setup, teardown),
	};
	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
