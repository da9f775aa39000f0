/* source_candump — candump logs as CAN sources: a file, replayed a chunk
 * of frames per loop turn, and a pipe or socket, read as data arrive.
 * canlog.c owns the reading; these drivers only pace it for the loop.
 * With a profile that polls, the answers a recorded polling session
 * carries are decoded as the live poller decodes them (diag.c's
 * listener) and handed to cb->sample after the frame that completes them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "lib/log.h"
#include "can/source.h"

#define DEFAULT_BUDGET 2048   /* frames per dispatch of a file */

struct candump {
	canlog_reader_t *r;
	diag_listener_t *answers;   /* NULL: the profile does not poll */
	uint64_t samples;
	int efd;              /* file: an eventfd that stays readable */
	unsigned budget;
	bool ended;
	uint64_t frames;
};

static void candump_close(void *priv)
{
	struct candump *c = priv;

	if (!c)
		return;
	if (c->efd >= 0)
		close(c->efd);
	diag_listener_free(c->answers);
	canlog_close(c->r);
	free(c);
}

static int candump_open(void **priv, const struct can_source_opts *o, bool stream)
{
	struct candump *c = calloc(1, sizeof(*c));
	uint64_t one = 1;
	int ret;

	if (!c)
		return -ENOMEM;
	c->efd = -1;
	c->budget = o->budget ? o->budget : DEFAULT_BUDGET;
	if (o->profile) {
		size_t n;
		const struct diag_req *reqs = profile_polls(o->profile, &n);

		if (n) {
			ret = diag_listener_new(&c->answers, reqs, n);
			if (ret)
				goto out;
		}
	}
	ret = canlog_open(&c->r, o->path);
	if (ret)
		goto out;
	if (!stream) {
		/* A regular file is always ready and cannot be watched with
		 * epoll: an eventfd that stays readable stands in for it, so
		 * the file runs a chunk per loop turn and the loop serves its
		 * other fds (uploads, signals) in between. */
		c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->efd < 0 || write(c->efd, &one, sizeof(one)) != sizeof(one)) {
			ret = -errno;
			log_err("%s: eventfd: %s", o->path, strerror(errno));
			goto out;
		}
	}
	*priv = c;
	return 0;
out:
	candump_close(c);
	return ret;
}

static int file_open(void **priv, const struct can_source_opts *o)
{
	return candump_open(priv, o, false);
}

static int stream_open(void **priv, const struct can_source_opts *o)
{
	return candump_open(priv, o, true);
}

static int file_fd(void *priv)
{
	return ((struct candump *)priv)->efd;
}

static int stream_fd(void *priv)
{
	return canlog_fd(((struct candump *)priv)->r);
}

/* ret from canlog: 1 a frame, else the input is over (0 its end, < 0 a
 * read error canlog reported). */
static bool deliver(struct candump *c, int ret, const struct can_frame_rec *f,
		    const struct can_source_cb *cb)
{
	if (ret == 1) {
		c->frames++;
		cb->frame(cb->ctx, f);
		if (c->answers) {
			struct eco2_sample s[DIAG_MAX_FIELDS];
			int n = diag_listener_frame(c->answers, f, s, ARRAY_SIZE(s));

			for (int i = 0; i < n; i++) {
				c->samples++;
				if (cb->sample)
					cb->sample(cb->ctx, &s[i]);
			}
		}
		return true;
	}
	c->ended = true;
	if (c->efd >= 0) {
		uint64_t v;
		(void)!read(c->efd, &v, sizeof(v));   /* no more wakeups */
	}
	if (cb->end)
		cb->end(cb->ctx);
	return false;
}

static int file_dispatch(void *priv, const struct can_source_cb *cb)
{
	struct candump *c = priv;
	struct can_frame_rec f;
	unsigned n = 0;

	while (!c->ended && n < c->budget) {
		if (!deliver(c, canlog_next(c->r, &f), &f, cb))
			break;
		n++;
	}
	return (int)n;
}

/* One read per readiness: a pipe that is readable has data or its writer
 * is gone, so the read never blocks however slowly the data come. */
static int stream_dispatch(void *priv, const struct can_source_cb *cb)
{
	struct candump *c = priv;
	struct can_frame_rec f;
	unsigned reads = 1, n = 0;

	while (!c->ended) {
		int ret = canlog_next_ready(c->r, &f, &reads);

		if (ret == -EAGAIN || !deliver(c, ret, &f, cb))
			break;
		n++;
	}
	return (int)n;
}

static void candump_stats(void *priv, struct can_source_stats *st)
{
	struct candump *c = priv;

	st->frames = c->frames;
	st->samples = c->samples;
	st->lines = canlog_lines(c->r);
	st->bad_lines = canlog_bad_lines(c->r);
}

const struct can_source_driver can_source_candump_file = {
	.name = "candump file",
	.open = file_open,
	.close = candump_close,
	.fd = file_fd,
	.dispatch = file_dispatch,
	.stats = candump_stats,
};

const struct can_source_driver can_source_candump_stream = {
	.name = "candump stream",
	.open = stream_open,
	.close = candump_close,
	.fd = stream_fd,
	.dispatch = stream_dispatch,
	.stats = candump_stats,
};
