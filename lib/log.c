/* log — levelled logging to stderr or syslog, with rate-limited repeats. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"

static const char *log_ident = "eco2";
static enum log_target log_target = LOG_TO_STDERR;
static int log_max = LOG_INFO;
static unsigned long log_counts[LOG_DEBUG + 1];
static log_hook_fn *log_hook;
static void *log_hook_ctx;

static const char *const level_names[LOG_DEBUG + 1] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_open(const char *ident, enum log_target target, int max_level)
{
	log_ident = ident;
	log_target = target;
	log_set_level(max_level);
	memset(log_counts, 0, sizeof(log_counts));
	if (target == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(int max_level)
{
	if (max_level < LOG_EMERG)
		max_level = LOG_EMERG;
	if (max_level > LOG_DEBUG)
		max_level = LOG_DEBUG;
	log_max = max_level;
}

int log_level_from_name(const char *name)
{
	for (int i = 0; i <= LOG_DEBUG; i++)
		if (!strcasecmp(name, level_names[i]))
			return i;
	if (!strcasecmp(name, "warn"))
		return LOG_WARNING;
	if (!strcasecmp(name, "err"))
		return LOG_ERR;
	return -1;
}

void log_set_hook(log_hook_fn *fn, void *ctx)
{
	log_hook = fn;
	log_hook_ctx = ctx;
}

void log_close(void)
{
	if (log_target == LOG_TO_SYSLOG)
		closelog();
	log_target = LOG_TO_STDERR;
}

unsigned long log_count(int level)
{
	if (level < 0 || level > LOG_DEBUG)
		return 0;
	return log_counts[level];
}

static void log_vmsg(int level, const char *fmt, va_list ap)
{
	char buf[1024];

	if (level < 0)
		level = LOG_ERR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	log_counts[level]++;
	if (level > log_max)
		return;
	/* Format once: errno-preserving, bounded, and the same text whether
	 * it goes to syslog or stderr. */
	int saved = errno;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_target == LOG_TO_SYSLOG)
		syslog(level, "%s", buf);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, level_names[level], buf);
	if (log_hook)
		log_hook(level, buf, log_hook_ctx);
	errno = saved;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void log_rl(struct log_ratelimit *rl, int level, const char *fmt, ...)
{
	uint64_t now = mono_ns();
	uint64_t window = (uint64_t)(rl->interval_s ? rl->interval_s : 1) * 1000000000u;
	va_list ap;

	if (rl->window_start_ns == 0 || now - rl->window_start_ns >= window) {
		if (rl->suppressed)
			log_msg(level, "%lu similar messages suppressed", rl->suppressed);
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= (rl->burst ? rl->burst : 1)) {
		rl->suppressed++;
		if (level >= 0 && level <= LOG_DEBUG)
			log_counts[level]++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}
