/* log — levelled logging to stderr or syslog, with rate-limited repeats.
 *
 * Levels are syslog's (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
 * LOG_DEBUG). A program logs to stderr as "ident: level: message" until
 * log_open(..., LOG_TO_SYSLOG) sends it to syslog (the journal under
 * systemd). Every module may log; none may exit on its own. */
#ifndef ECO2_LOG_H
#define ECO2_LOG_H

#include <stdint.h>
#include <syslog.h>
#include "lib/compiler.h"

enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG };

void log_open(const char *ident, enum log_target target, int max_level);
void log_set_level(int max_level);
int log_level_from_name(const char *name);   /* -1 when unknown */
void log_close(void);

void log_msg(int level, const char *fmt, ...) __printf(2, 3);
#define log_err(...)    log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

/* A rate limit for one recurring message (one per call site, static or in
 * the owning module): at most `burst` messages per `interval_s`; the rest
 * are counted, and the next message that passes says how many were
 * suppressed. Zero-initialise, then set interval_s and burst. */
struct log_ratelimit {
	unsigned interval_s;
	unsigned burst;
	uint64_t window_start_ns;   /* CLOCK_MONOTONIC */
	unsigned printed;
	unsigned long suppressed;
};
#define LOG_RATELIMIT_INIT(interval, n) { .interval_s = (interval), .burst = (n) }

void log_rl(struct log_ratelimit *rl, int level, const char *fmt, ...) __printf(3, 4);

/* Send every message that passes the level to fn as well (tests, status
 * reporting); NULL removes it. */
typedef void log_hook_fn(int level, const char *msg, void *ctx);
void log_set_hook(log_hook_fn *fn, void *ctx);

/* Messages logged since log_open, per level, for counters and tests:
 * every call counts, including one below the level that was not written
 * and one the rate limit held back (so a counter sees every event). */
unsigned long log_count(int level);

#endif
