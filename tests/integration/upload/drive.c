/* upload-drive — drains a record store to a ledger with one epoll loop,
 * exactly as eco2d's loop drives upload/ledger.c (tests and benchmarks).
 *
 *   upload-drive --db FILE --url https://HOST:PORT [--ca FILE] [--cert FILE
 *                --key FILE|pkcs11:URI [--key-pin PIN]] [--pinned-pubkey SPEC] [--proxy URL]
 *                [--receipt-key VKEY|/PATH]
 *                [--batch-records N] [--batch-bytes N] [--backoff-base-ms N]
 *                [--backoff-max-s N] [--timeout-s N] [--max-failures N]
 *                [--max-seconds N] [--follow-ms N] [--debug] [--verbose]
 *
 * Exits 0 once the store has nothing pending, 1 after --max-failures
 * consecutive failed batches or --max-seconds, 2 on usage errors. With
 * --follow-ms it keeps polling the store every N ms for records a concurrent
 * writer adds, until --max-seconds. Prints one summary line on stdout. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>

#include "lib/log.h"
#include "upload/ledger.h"
#include "upload/queue.h"

struct loop {
	int ep;
	int tfd;       /* the ledger's timer */
	int kfd;       /* follow / deadline ticks */
};

static void want_fd(int fd, unsigned events, void *ctx)
{
	struct loop *lp = ctx;
	struct epoll_event ev = { 0 };

	ev.data.fd = fd;
	if (events & LEDGER_IN)
		ev.events |= EPOLLIN;
	if (events & LEDGER_OUT)
		ev.events |= EPOLLOUT;
	if (!events) {
		epoll_ctl(lp->ep, EPOLL_CTL_DEL, fd, NULL);
		return;
	}
	if (epoll_ctl(lp->ep, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT)
		epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void want_timeout(long ms, void *ctx)
{
	struct loop *lp = ctx;
	struct itimerspec its = { 0 };

	if (ms >= 0) {
		/* 0 disarms a timerfd: "now" is 1 ns */
		its.it_value.tv_sec = ms / 1000;
		its.it_value.tv_nsec = (ms % 1000) * 1000000L;
		if (!ms)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(lp->tfd, 0, &its, NULL);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A field of /proc/self/status in kB (VmHWM: peak resident; RssAnon:
 * heap and stacks now; RssFile: mapped library pages now). */
static long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	size_t n = strlen(field);
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			kb = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return kb;
}

static int num(const char *s, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return errno || end == s || *end || *v < 0 ? -1 : 0;
}

static void usage(FILE *f)
{
	fputs("usage: upload-drive --db FILE --url https://HOST:PORT [--ca FILE] [--cert FILE --key FILE|URI]\n"
	      "         [--key-pin PIN] [--receipt-key VKEY]\n"
	      "         [--pinned-pubkey SPEC] [--proxy URL] [--batch-records N] [--batch-bytes N]\n"
	      "         [--backoff-base-ms N] [--backoff-max-s N] [--timeout-s N]\n"
	      "         [--max-failures N] [--max-seconds N] [--follow-ms N] [--debug] [--verbose]\n", f);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "db", 1, NULL, 'd' }, { "url", 1, NULL, 'u' }, { "ca", 1, NULL, 'a' },
		{ "cert", 1, NULL, 'c' }, { "key", 1, NULL, 'k' }, { "pinned-pubkey", 1, NULL, 'p' },
		{ "proxy", 1, NULL, 'x' }, { "batch-records", 1, NULL, 'r' },
		{ "batch-bytes", 1, NULL, 'b' }, { "backoff-base-ms", 1, NULL, 'B' },
		{ "backoff-max-s", 1, NULL, 'M' }, { "timeout-s", 1, NULL, 't' },
		{ "max-failures", 1, NULL, 'f' }, { "max-seconds", 1, NULL, 's' },
		{ "follow-ms", 1, NULL, 'F' }, { "verbose", 0, NULL, 'v' },
		{ "debug", 0, NULL, 'g' }, { "key-pin", 1, NULL, 'P' },
		{ "receipt-key", 1, NULL, 'R' },
		{ "help", 0, NULL, 'h' }, { 0 },
	};
	struct ledger_opts o = { 0 };
	struct queue_opts qo = { 0 };
	struct loop lp = { -1, -1, -1 };
	struct ledger_status st;
	struct queue_stats qs;
	const char *db = NULL;
	long max_failures = 0, max_seconds = 0, follow_ms = 0, v;
	queue_t *q = NULL;
	ledger_t *l = NULL;
	double t0, t1, cpu_s = 0;
	uint64_t start_pending = 0, prev_failed = 0, prev_ok = 0;
	long anon_max_kb = 0;
	long consecutive = 0;
	int c, ret = 1;

	log_open("upload-drive", LOG_TO_STDERR, LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'u': o.url = optarg; break;
		case 'a': o.ca = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'P': o.key_pin = optarg; break;
		case 'p': o.pinned_pubkey = optarg; break;
		case 'x': o.proxy = optarg; break;
		case 'R': o.receipt_key = optarg; break;
		case 'v': o.verbose = true; log_set_level(LOG_DEBUG); break;
		case 'g': log_set_level(LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		case 'r': case 'b': case 'B': case 'M': case 't': case 'f': case 's': case 'F':
			if (num(optarg, &v)) {
				fprintf(stderr, "upload-drive: %s: expected a number\n", optarg);
				return 2;
			}
			if (c == 'r') o.batch_records = (size_t)v;
			if (c == 'b') o.batch_bytes = (size_t)v;
			if (c == 'B') o.backoff_base_ms = (uint32_t)v;
			if (c == 'M') o.backoff_max_s = (uint32_t)v;
			if (c == 't') o.timeout_s = v;
			if (c == 'f') max_failures = v;
			if (c == 's') max_seconds = v;
			if (c == 'F') follow_ms = v;
			break;
		default: usage(stderr); return 2;
		}
	}
	if (!db || !o.url || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (queue_open(&q, db, &qo))
		goto out;
	if (queue_stats(q, &qs))
		goto out;
	start_pending = qs.pending;
	if (ledger_open(&l, &o, q))
		goto out;
	lp.ep = epoll_create1(EPOLL_CLOEXEC);
	lp.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	lp.kfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (lp.ep < 0 || lp.tfd < 0 || lp.kfd < 0)
		goto out;
	{
		struct epoll_event ev = { .events = EPOLLIN };
		struct itimerspec its = { 0 };
		long tick = follow_ms ? follow_ms : 1000;

		ev.data.fd = lp.tfd;
		epoll_ctl(lp.ep, EPOLL_CTL_ADD, lp.tfd, &ev);
		ev.data.fd = lp.kfd;
		epoll_ctl(lp.ep, EPOLL_CTL_ADD, lp.kfd, &ev);
		its.it_value.tv_sec = tick / 1000;
		its.it_value.tv_nsec = (tick % 1000) * 1000000L + 1;
		its.it_interval = its.it_value;
		timerfd_settime(lp.kfd, 0, &its, NULL);
	}
	ledger_set_loop_callbacks(l, want_fd, want_timeout, &lp);
	t0 = mono_s();
	ledger_kick(l);
	for (;;) {
		struct epoll_event evs[8];
		int n;

		ledger_status(l, &st);
		if (st.batches_ok != prev_ok) {
			/* sample the private memory once per acknowledged batch */
			long a = status_kb("RssAnon");

			prev_ok = st.batches_ok;
			if (a > anon_max_kb)
				anon_max_kb = a;
		}
		if (st.batches_failed != prev_failed) {
			consecutive += (long)(st.batches_failed - prev_failed);
			prev_failed = st.batches_failed;
		} else if (st.batches_ok && !st.last_error[0]) {
			consecutive = 0;
		}
		if (max_failures && consecutive >= max_failures) {
			fprintf(stderr, "upload-drive: giving up after %ld failed batches\n", consecutive);
			break;
		}
		if (!follow_ms && ledger_drained(l)) {
			ret = 0;
			break;
		}
		if (max_seconds && mono_s() - t0 > max_seconds) {
			if (follow_ms && ledger_drained(l))
				ret = 0;
			else
				fprintf(stderr, "upload-drive: still not drained after %ld s\n", max_seconds);
			break;
		}
		n = epoll_wait(lp.ep, evs, ARRAY_SIZE(evs), -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			uint64_t exp;

			if (fd == lp.tfd) {
				if (read(lp.tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
					break;
				ledger_on_timeout(l);
			} else if (fd == lp.kfd) {
				if (read(lp.kfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
					break;
				if (follow_ms)
					ledger_kick(l);
			} else {
				unsigned e = 0;

				if (evs[i].events & EPOLLIN)
					e |= LEDGER_IN;
				if (evs[i].events & EPOLLOUT)
					e |= LEDGER_OUT;
				if (evs[i].events & (EPOLLERR | EPOLLHUP))
					e |= LEDGER_ERR;
				ledger_on_fd(l, fd, e);
			}
		}
	}
	t1 = mono_s();
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	}
	ledger_status(l, &st);
	if (queue_stats(q, &qs))
		ret = 1;
	printf("upload-drive: acked %" PRIu64 " records (%" PRIu64 " duplicate, %" PRIu64
	       " rejected) in %.3f s: %.0f records/s; %" PRIu64 " pending; batches ok %" PRIu64
	       " failed %" PRIu64 "; uploader CPU %.2f s; VmHWM %ld kB (RssFile now %ld kB; RssAnon max %ld kB)\n",
	       st.records_acked, st.records_duplicate, st.records_rejected, t1 - t0,
	       t1 > t0 ? st.records_acked / (t1 - t0) : 0.0, qs.pending, st.batches_ok,
	       st.batches_failed, cpu_s, status_kb("VmHWM"), status_kb("RssFile"), anon_max_kb);
	(void)start_pending;
out:
	ledger_close(l);
	queue_close(q);
	if (lp.ep >= 0)
		close(lp.ep);
	if (lp.tfd >= 0)
		close(lp.tfd);
	if (lp.kfd >= 0)
		close(lp.kfd);
	return ret;
}
