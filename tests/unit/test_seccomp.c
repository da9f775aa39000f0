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
#include <sys/wait.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seccomp_kills),
	};
	return cmocka_run_group_tests_name("seccomp", tests, NULL, NULL);
}
