/* isotime — UTC seconds as ISO 8601 text, for reports and messages.
 *
 * Pure, no allocation: every folder may use it. */
#ifndef ECO2_ISOTIME_H
#define ECO2_ISOTIME_H

#include <stdint.h>

#define ISO_UTC_LEN 32

/* "2026-01-01T00:00:00Z" into buf; a time the C library cannot break down
 * (beyond its year range) as "@<seconds>". Returns buf. */
const char *iso_utc(int64_t t, char buf[ISO_UTC_LEN]);

#endif
