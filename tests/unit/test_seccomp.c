/* Unit tests for agent/seccomp.c: the system call allowlist. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <linux/can.h>

#include "agent/seccomp.h"

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

/* socket(PF_CAN, ...) in a child under the filter: 0 when the call went
 * through (an fd, or this kernel's own refusal), 1 when the filter killed
 * the process. */
static int can_socket_killed(unsigned protos, int type, int proto)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (seccomp_install_can(NULL, protos))
			_exit(3);
		(void)socket(PF_CAN, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status)) {
		assert_int_equal(WEXITSTATUS(status), 0);
		return 0;
	}
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	return 1;
}

/* CAN sockets: raw ones always (to read), ISO-TP and J1939 only when the
 * profile polls that way, never another protocol or another type. */
static void test_seccomp_can(void **state)
{
	(void)state;
	if (!IS_ENABLED(CONFIG_SECCOMP))
		skip();
	assert_int_equal(can_socket_killed(SECCOMP_CAN_RAW, SOCK_RAW, CAN_RAW), 0);
	assert_int_equal(can_socket_killed(SECCOMP_CAN_RAW, SOCK_DGRAM, CAN_ISOTP), 1);
	assert_int_equal(can_socket_killed(SECCOMP_CAN_RAW, SOCK_DGRAM, CAN_J1939), 1);
	assert_int_equal(can_socket_killed(SECCOMP_CAN_RAW, SOCK_DGRAM, CAN_BCM), 1);
	assert_int_equal(can_socket_killed(SECCOMP_CAN_RAW | SECCOMP_CAN_ISOTP, SOCK_DGRAM, CAN_ISOTP), 0);
	assert_int_equal(can_socket_killed(SECCOMP_CAN_RAW | SECCOMP_CAN_ISOTP, SOCK_DGRAM, CAN_J1939), 1);
	assert_int_equal(can_socket_killed(SECCOMP_CAN_RAW | SECCOMP_CAN_ISOTP, SOCK_RAW, CAN_ISOTP), 1);
	assert_int_equal(can_socket_killed(SECCOMP_CAN_J1939, SOCK_DGRAM, CAN_J1939), 0);
	assert_int_equal(can_socket_killed(SECCOMP_CAN_J1939, SOCK_RAW, CAN_RAW), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seccomp_kills),
		cmocka_unit_test(test_seccomp_can),
	};
	return cmocka_run_group_tests_name("seccomp", tests, NULL, NULL);
}
