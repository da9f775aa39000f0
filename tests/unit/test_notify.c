/* Unit tests for agent/notify.c: the systemd notify protocol. */
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
#include <sys/socket.h>
#include <sys/un.h>

#include "agent/notify.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify),
	};
	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
