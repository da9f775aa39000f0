/* Unit tests for can/source.c and its candump drivers: the file driver
 * paces a log a budget of frames per dispatch and ends once; the stream
 * driver reads a pipe as data arrive, one read per readiness, never
 * blocking, a partial line kept for the next read; both report the lines
 * canlog read and the malformed ones; with a profile that polls, the
 * answers a log carries become samples. The SocketCAN driver needs a kernel
 * with CAN (tests/integration/can_vcan.sh runs it under qemu). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "can/source.h"

struct seen {
	unsigned frames, ends;
	uint32_t last_id;
	uint32_t ids[64];
};

static void on_frame(void *ctx, const struct can_frame_rec *f)
{
	struct seen *s = ctx;

	if (s->frames < 64)
		s->ids[s->frames] = f->id;
	s->frames++;
	s->last_id = f->id;
}

static void on_end(void *ctx)
{
	((struct seen *)ctx)->ends++;
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void test_file_budget_and_end(void **state)
{
	char path[] = "/tmp/test_source.XXXXXX";
	struct can_source_opts o = { .path = path, .budget = 3 };
	struct seen s = { 0 };
	const struct can_source_cb cb = { .frame = on_frame, .end = on_end, .ctx = &s };
	struct can_source_stats st;
	can_source_t *src;
	FILE *f;
	int fd;
	(void)state;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	for (unsigned i = 1; i <= 7; i++)
		fprintf(f, "(%u.000000) can0 %03X#01\n", i, i);
	fputs("not a frame\n", f);
	fclose(f);

	assert_ptr_equal(can_source_candump_for(path), &can_source_candump_file);
	assert_int_equal(can_source_open(&src, &can_source_candump_file, &o), 0);
	assert_string_equal(can_source_name(src), "candump file");
	assert_int_equal(can_source_deadline_ns(src), UINT64_MAX);
	/* The stand-in fd is readable while the log lasts. */
	assert_true(readable(can_source_fd(src)));
	assert_int_equal(can_source_dispatch(src, &cb), 3);
	assert_int_equal(s.frames, 3);
	assert_int_equal(s.ends, 0);
	assert_true(readable(can_source_fd(src)));
	assert_int_equal(can_source_dispatch(src, &cb), 3);
	assert_int_equal(can_source_dispatch(src, &cb), 1);
	assert_int_equal(s.frames, 7);
	assert_int_equal(s.ends, 1);
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(s.ids[i], i + 1);
	/* Ended: no more wakeups, no second end. */
	assert_false(readable(can_source_fd(src)));
	assert_int_equal(can_source_dispatch(src, &cb), 0);
	assert_int_equal(s.ends, 1);
	can_source_stats(src, &st);
	assert_int_equal(st.frames, 7);
	assert_int_equal(st.lines, 8);
	assert_int_equal(st.bad_lines, 1);
	can_source_close(src);
	unlink(path);

	assert_int_equal(can_source_open(&src, &can_source_candump_file, &o), -ENOENT);
	can_source_close(NULL);
}

static void put(int fd, const char *text)
{
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

static void test_stream_partial_lines(void **state)
{
	struct seen s = { 0 };
	const struct can_source_cb cb = { .frame = on_frame, .end = on_end, .ctx = &s };
	struct can_source_stats st;
	struct can_source_opts o = { .path = "-" };
	can_source_t *src;
	int p[2], saved;
	(void)state;

	assert_int_equal(pipe(p), 0);
	saved = dup(STDIN_FILENO);
	assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	close(p[0]);
	assert_ptr_equal(can_source_candump_for("-"), &can_source_candump_stream);
	assert_int_equal(can_source_open(&src, &can_source_candump_stream, &o), 0);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	assert_string_equal(can_source_name(src), "candump stream");

	/* Nothing written yet: the fd is quiet; the loop would not call. */
	assert_false(readable(can_source_fd(src)));
	/* One line and a half: the whole one now, the half waits. */
	put(p[1], "(1.000000) can0 101#01\n(2.000000) can0 1");
	assert_true(readable(can_source_fd(src)));
	assert_int_equal(can_source_dispatch(src, &cb), 1);
	assert_int_equal(s.last_id, 0x101);
	assert_false(readable(can_source_fd(src)));
	put(p[1], "02#02\n");
	assert_int_equal(can_source_dispatch(src, &cb), 1);
	assert_int_equal(s.last_id, 0x102);
	/* A last line without its newline, then the writer goes. */
	put(p[1], "bad\n(3.000000) can0 103#03");
	close(p[1]);
	/* The read brings the bad line and the start of the last: no frame. */
	assert_int_equal(can_source_dispatch(src, &cb), 0);
	assert_int_equal(s.ends, 0);
	/* The next read sees the end: the last line is a frame. */
	assert_int_equal(can_source_dispatch(src, &cb), 1);
	assert_int_equal(s.last_id, 0x103);
	assert_int_equal(s.ends, 1);
	can_source_stats(src, &st);
	assert_int_equal(st.frames, 3);
	assert_int_equal(st.lines, 4);
	assert_int_equal(st.bad_lines, 1);
	can_source_close(src);
}

static struct eco2_sample got[8];
static unsigned n_got;

static void on_sample(void *ctx, const struct eco2_sample *smp)
{
	(void)ctx;
	if (n_got < 8)
		got[n_got] = *smp;
	n_got++;
}

/* A log of a polling session, read with a profile that polls: each answer
 * becomes samples right after the frame that completes it; requests, flow
 * control, negative answers and other ids become none. */
static void test_file_answers(void **state)
{
	static const char prof[] =
		"[vehicle]\n[poll.bms]\necu = 7E4 7EC\nrequest = 22 01 01\ndriving_s = 1\n"
		"odometer = 0:3 km\npack_voltage = 7:2 * 0.1 V\npack_current = 9:2 signed * 0.1 A\n";
	char path[] = "/tmp/test_source.XXXXXX";
	struct seen s = { 0 };
	const struct can_source_cb cb = { .frame = on_frame, .sample = on_sample, .end = on_end,
					  .ctx = &s };
	struct can_source_opts o = { .path = path };
	struct can_source_stats st;
	can_source_t *src;
	profile_t *p = NULL;
	FILE *f;
	int fd;
	(void)state;

	assert_int_equal(profile_load_buffer(&p, "t.profile", prof, strlen(prof), NULL), 0);
	o.profile = p;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	/* 62 01 01 | 00 30 39 (12345 km) ... 0E D8 (380.0 V) FF 38 (-20.0 A) */
	fputs("(1.000000) can0 7E4#0322010100000000\n"
	      "(1.001000) can0 7EC#100E620101003039\n"
	      "(1.002000) can0 7E4#3000000000000000\n"
	      "(1.003000) can0 7EC#21000000000ED8FF\n"
	      "(1.004000) can0 123#0102\n"
	      "(1.005000) can0 7EC#2238000000000000\n"
	      "(2.000000) can0 7EC#037F223100000000\n", f);
	fclose(f);
	n_got = 0;
	assert_int_equal(can_source_open(&src, &can_source_candump_file, &o), 0);
	assert_int_equal(can_source_dispatch(src, &cb), 7);
	assert_int_equal(s.frames, 7);
	assert_int_equal(n_got, 3);
	assert_int_equal(got[0].role, ROLE_ODOMETER);
	assert_true(got[0].value == 12345000.0);
	assert_true(got[1].value == 380.0);
	assert_true(got[2].value == -20.0);
	assert_int_equal(got[2].t_ns, 1005000000ull);
	can_source_stats(src, &st);
	assert_int_equal(st.samples, 3);
	can_source_close(src);
	profile_free(p);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_budget_and_end),
		cmocka_unit_test(test_stream_partial_lines),
		cmocka_unit_test(test_file_answers),
	};
	log_open("test_source", LOG_TO_STDERR, LOG_CRIT);
	return cmocka_run_group_tests_name("source", tests, NULL, NULL);
}
