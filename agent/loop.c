/* loop — the daemon's one event loop (epoll). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

#include "agent/loop.h"

struct watcher {
	loop_fd_fn *fn;        /* NULL: free slot */
	void *ctx;
	uint32_t events;
};

struct loop_timer {
	loop_t *loop;
	int fd;
	loop_timer_fn *fn;
	void *ctx;
};

struct loop {
	int epfd;
	struct watcher *w;     /* indexed by fd */
	int nw;
	bool stop;
	uint64_t wakeups;
	int sigfd;
	loop_signal_fn *sig_fn;
	void *sig_ctx;
};

int loop_new(loop_t **out)
{
	loop_t *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->sigfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int ret = -errno;
		free(l);
		return ret;
	}
	*out = l;
	return 0;
}

void loop_free(loop_t *l)
{
	if (!l)
		return;
	if (l->sigfd >= 0)
		close(l->sigfd);
	close(l->epfd);
	free(l->w);
	free(l);
}

static int grow(loop_t *l, int fd)
{
	if (fd < l->nw)
		return 0;
	int n = l->nw ? l->nw : 16;
	while (n <= fd)
		n *= 2;
	struct watcher *w = realloc(l->w, (size_t)n * sizeof(*w));
	if (!w)
		return -ENOMEM;
	memset(w + l->nw, 0, (size_t)(n - l->nw) * sizeof(*w));
	l->w = w;
	l->nw = n;
	return 0;
}

int loop_add_fd(loop_t *l, int fd, uint32_t events, loop_fd_fn *fn, void *ctx)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	int ret;

	if (fd < 0 || !fn)
		return -EINVAL;
	ret = grow(l, fd);
	if (ret)
		return ret;
	if (l->w[fd].fn)
		return -EEXIST;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev))
		return -errno;
	l->w[fd] = (struct watcher){ .fn = fn, .ctx = ctx, .events = events };
	return 0;
}

int loop_mod_fd(loop_t *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (fd < 0 || fd >= l->nw || !l->w[fd].fn)
		return -ENOENT;
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev))
		return -errno;
	l->w[fd].events = events;
	return 0;
}

int loop_del_fd(loop_t *l, int fd)
{
	if (fd < 0 || fd >= l->nw || !l->w[fd].fn)
		return -ENOENT;
	l->w[fd].fn = NULL;
	/* The fd may already be closed (which removed it from epoll). */
	if (epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL) && errno != EBADF && errno != ENOENT)
		return -errno;
	return 0;
}

static void on_timer(loop_t *l, int fd, uint32_t events, void *ctx)
{
	loop_timer_t *t = ctx;
	uint64_t expiries;
	(void)events;

	if (read(fd, &expiries, sizeof(expiries)) != sizeof(expiries))
		return;   /* EAGAIN: re-armed between wakeup and read */
	t->fn(l, t, t->ctx);
}

int loop_timer_new(loop_t *l, loop_timer_t **out, loop_timer_fn *fn, void *ctx)
{
	loop_timer_t *t = calloc(1, sizeof(*t));
	int ret = -ENOMEM;

	if (!t)
		goto out;
	t->loop = l;
	t->fn = fn;
	t->ctx = ctx;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (t->fd < 0) {
		ret = -errno;
		goto out;
	}
	ret = loop_add_fd(l, t->fd, EPOLLIN, on_timer, t);
	if (ret)
		goto out;
	*out = t;
	return 0;
out:
	if (t && t->fd >= 0)
		close(t->fd);
	free(t);
	return ret;
}

static struct timespec ms_to_ts(uint64_t ms)
{
	return (struct timespec){ .tv_sec = (time_t)(ms / 1000),
				  .tv_nsec = (long)(ms % 1000) * 1000000L };
}

int loop_timer_arm(loop_timer_t *t, uint64_t first_ms, uint64_t period_ms)
{
	struct itimerspec its = { .it_value = ms_to_ts(first_ms),
				  .it_interval = ms_to_ts(period_ms) };

	if (!first_ms && period_ms)
		its.it_value = its.it_interval;
	if (timerfd_settime(t->fd, 0, &its, NULL))
		return -errno;
	return 0;
}

void loop_timer_free(loop_timer_t *t)
{
	if (!t)
		return;
	(void)loop_del_fd(t->loop, t->fd);
	close(t->fd);
	free(t);
}

static void on_signal(loop_t *l, int fd, uint32_t events, void *ctx)
{
	struct signalfd_siginfo si;
	(void)events; (void)ctx;

	while (read(fd, &si, sizeof(si)) == sizeof(si))
		l->sig_fn(l, (int)si.ssi_signo, l->sig_ctx);
}

int loop_add_signals(loop_t *l, const sigset_t *set, loop_signal_fn *fn, void *ctx)
{
	int ret;

	if (l->sigfd >= 0)
		return -EEXIST;
	if (sigprocmask(SIG_BLOCK, set, NULL))
		return -errno;
	l->sigfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sigfd < 0)
		return -errno;
	l->sig_fn = fn;
	l->sig_ctx = ctx;
	ret = loop_add_fd(l, l->sigfd, EPOLLIN, on_signal, NULL);
	if (ret) {
		close(l->sigfd);
		l->sigfd = -1;
	}
	return ret;
}

int loop_run(loop_t *l)
{
	struct epoll_event evs[32];

	l->stop = false;
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, (int)ARRAY_SIZE(evs), -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		l->wakeups++;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			/* A callback earlier in this batch may have removed it. */
			if (fd >= l->nw || !l->w[fd].fn)
				continue;
			l->w[fd].fn(l, fd, evs[i].events, l->w[fd].ctx);
		}
	}
	return 0;
}

void loop_stop(loop_t *l)
{
	l->stop = true;
}

uint64_t loop_wakeups(const loop_t *l)
{
	return l->wakeups;
}
