/* cycle — drive-cycle speed traces (`time_s,speed_kmh` CSV).
 *
 * Grammar, one item a line (LF or CRLF):
 *   # anything           a comment (also after leading blanks)
 *   <blank>              ignored
 *   time_s,speed_kmh     the header, optional, only before the first sample
 *   T,V                  a sample: decimal numbers, T in s, V in km/h
 * e.g. "12,0.2". T starts at >= 0 and strictly increases; 0 <= V <= 500;
 * at least two samples. Between samples the speed is linear in time, so
 * the distance is the trapezoid sum. Errors are logged as
 * "file:line:col: what was expected"; every error line is reported. */
#ifndef ECO2_CYCLE_H
#define ECO2_CYCLE_H

#include <stddef.h>
#include "lib/compiler.h"

#define CYCLE_MAX_POINTS  1000000   /* hard cap on samples in one file */
#define CYCLE_MAX_T_S     1.0e7     /* about 115 days */
#define CYCLE_MAX_KMH     500.0

typedef struct cycle cycle_t;

struct cycle_point {
	double t_s;
	double speed_kmh;
};

/* Parse a buffer; name is used in messages. 0, -EINVAL (errors logged)
 * or -ENOMEM. Free *out with cycle_free(). */
int cycle_parse(const char *name, const char *text, size_t len, cycle_t **out) __must_check;

/* The same from a file: also -errno when it cannot be read. */
int cycle_load(const char *path, cycle_t **out) __must_check;

void cycle_free(cycle_t *c);

size_t cycle_count(const cycle_t *c);
const struct cycle_point *cycle_points(const cycle_t *c);

/* Time from the first to the last sample, s. */
double cycle_duration_s(const cycle_t *c);

/* Speed at t_s from the first sample (linear; 0 outside), km/h. */
double cycle_speed_kmh(const cycle_t *c, double t_s);

/* Trapezoid distance over the whole trace, m. */
double cycle_distance_m(const cycle_t *c);

#endif
