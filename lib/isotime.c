/* isotime — UTC seconds as ISO 8601 text. */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "lib/isotime.h"

const char *iso_utc(int64_t t, char buf[ISO_UTC_LEN])
{
	struct tm tm;
	time_t tt = (time_t)t;

	/* years past 9999 would not fit "%Y" in four digits */
	if ((int64_t)tt != t || t > INT64_C(253402300799) || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, ISO_UTC_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, ISO_UTC_LEN, "@%" PRId64, t);
	return buf;
}
