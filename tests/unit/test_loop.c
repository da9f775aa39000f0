/* Unit tests for agent/loop.c, agent/notify.c and agent/seccomp.c: the
 * daemon's event loop, systemd notifications and syscall allowlist. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "agent/loop.h"
#include "agent/notify.h"
#include "agent/seccomp.h"

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

static void test_notify(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[] = "/tmp/eco2-notify-XXXXXX";
	char sock[128], buf[256];
	ssize_t n;
	int fd;
	(void)state;

	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0);   /* not under systemd: no-op */
	if (!IS_ENABLED(CONFIG_SYSTEMD_NOTIFY))
		skip();   /* compiled out: nothing would arrive below */

	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/notify", path);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", sock, 1);

	assert_int_equal(notify_send("READY=1"), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_int_equal(n, 7);
	buf[n] = '\0';
	assert_string_equal(buf, IS_ENABLED(CONFIG_SYSTEMD_NOTIFY) ? "READY=1" : "");

	assert_int_equal(notify_status("trip %d km", 12), 0);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	assert_string_equal(buf, "STATUS=trip 12 km");

	setenv("WATCHDOG_USEC", "2000000", 1);
	unsetenv("WATCHDOG_PID");
	assert_int_equal(notify_watchdog_usec(), 2000000);
	setenv("WATCHDOG_PID", "1", 1);   /* someone else's watchdog */
	assert_int_equal(notify_watchdog_usec(), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(notify_send("READY=1"), -EINVAL);

	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	close(fd);
	unlink(sock);
	rmdir(path);
}

static void *thread_main(void *arg)
{
	return arg;
}

/* The filter must let the daemon's own calls through and kill the process
 * on anything else. Run in a child, since it cannot be undone. */
static void test_seccomp_kills(void **state)
{
	int status;
	pid_t pid;
	(void)state;

	if (!IS_ENABLED(CONFIG_SECCOMP))
		skip();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (seccomp_install(NULL))
			_exit(3);
		if (write(STDOUT_FILENO, "", 0) < 0)   /* allowed */
			_exit(4);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);  /* forbidden */
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);

	/* Threads may start; processes may not. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t th;
		if (seccomp_install(NULL))
			_exit(3);
		if (pthread_create(&th, NULL, thread_main, NULL) || pthread_join(th, NULL))
			_exit(4);
		(void)fork();   /* forbidden: no CLONE_THREAD */
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);

	/* An extra name extends the list. */
	static const char *const extra[] = { "ptrace", NULL };
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (seccomp_install(extra))
			_exit(3);
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_periodic),
		cmocka_unit_test(test_fd_and_self_removal),
		cmocka_unit_test(test_signals_through_loop),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_seccomp_kills),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
