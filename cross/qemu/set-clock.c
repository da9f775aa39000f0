/*
 * set-clock SECONDS — set CLOCK_REALTIME to SECONDS since the epoch (UTC)
 * and print the clock back as ISO 8601.
 *
 * The guests' busybox is built with a 32-bit time_t on armhf (Debian 12),
 * so its `date -s` cannot go past 2038; this is built with
 * -D_TIME_BITS=64 and goes through clock_settime64. Exit 0 when the clock
 * reads at least SECONDS afterwards.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(sizeof(time_t) == 8, "build with -D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64");

int main(int argc, char **argv)
{
	struct timespec ts = { 0 };
	struct tm tm;
	char buf[32];
	char *end = NULL;
	long long s;

	if (argc != 2) {
		fprintf(stderr, "usage: set-clock SECONDS\n");
		return 2;
	}
	errno = 0;
	s = strtoll(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || s < 0) {
		fprintf(stderr, "set-clock: %s: seconds since the epoch expected\n", argv[1]);
		return 2;
	}
	ts.tv_sec = (time_t)s;
	if (clock_settime(CLOCK_REALTIME, &ts)) {
		fprintf(stderr, "set-clock: clock_settime: %s\n", strerror(errno));
		return 1;
	}
	if (clock_gettime(CLOCK_REALTIME, &ts) || !gmtime_r(&ts.tv_sec, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return 1;
	printf("%s\n", buf);
	return (long long)ts.tv_sec >= s ? 0 : 1;
}
