/* Unit tests for agent/loop.c: the daemon's event loop (timers, fds,
 * signals). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/loop.h"

struct counts {
	int timer, fd, sig;
	int last_sig;
	loop_timer_t *t;
};

static void on_timer(loop_t *l, loop_timer_t *t, void *ctx)
{
	struct counts *c = ctx;
	(void)t;
	if (++c->timer == 3)
		loop_stop(l);
}

static void test_timer_periodic(void **state)
{
	struct counts c = { 0 };
	loop_t *l;
	loop_timer_t *t;
	(void)state;

	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(loop_timer_new(l, &t, on_timer, &c), 0);
	assert_int_equal(loop_timer_arm(t, 5, 5), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(c.timer, 3);
	/* One wakeup per expiry: nothing else woke the loop. */
	assert_int_equal(loop_wakeups(l), 3);
	loop_timer_free(t);
	loop_free(l);
}

static void on_pipe(loop_t *l, int fd, uint32_t events, void *ctx)
{
	struct counts *c = ctx;
	char buf[16];

	assert_true(events & EPOLLIN);
	assert_true(read(fd, buf, sizeof(buf)) > 0);
	c->fd++;
	/* Removing ourselves from inside the callback must be safe. */
	assert_int_equal(loop_del_fd(l, fd), 0);
	loop_stop(l);
}

static void test_fd_and_self_removal(void **state)
{
	struct counts c = { 0 };
	int p[2];
	loop_t *l;
	(void)state;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_pipe, &c), 0);
	assert_int_equal(loop_add_fd(l, p[0], EPOLLIN, on_pipe, &c), -EEXIST);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(c.fd, 1);
	assert_int_equal(loop_del_fd(l, p[0]), -ENOENT);
	assert_int_equal(loop_mod_fd(l, p[0], EPOLLIN), -ENOENT);
	loop_free(l);
	close(p[0]);
	close(p[1]);
}

static void on_sig(loop_t *l, int signo, void *ctx)
{
	struct counts *c = ctx;
	c->sig++;
	c->last_sig = signo;
	loop_stop(l);
}

static void on_oneshot(loop_t *l, loop_timer_t *t, void *ctx)
{
	(void)l; (void)t; (void)ctx;
	raise(SIGHUP);
}

static void test_signals_through_loop(void **state)
{
	struct counts c = { 0 };
	sigset_t set, old;
	loop_t *l;
	loop_timer_t *t;
	(void)state;

	sigprocmask(SIG_SETMASK, NULL, &old);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	assert_int_equal(loop_new(&l), 0);
	assert_int_equal(loop_add_signals(l, &set, on_sig, &c), 0);
	assert_int_equal(loop_timer_new(l, &t, on_oneshot, NULL), 0);
	assert_int_equal(loop_timer_arm(t, 1, 0), 0);
	assert_int_equal(loop_run(l), 0);
	assert_int_equal(c.sig, 1);
	assert_int_equal(c.last_sig, SIGHUP);
	loop_timer_free(t);
	loop_free(l);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_periodic),
		cmocka_unit_test(test_fd_and_self_removal),
		cmocka_unit_test(test_signals_through_loop),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
