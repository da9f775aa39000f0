/* source_socketcan — live SocketCAN input (can/socketcan.c) as a CAN
 * source: frames and bus events to the callbacks, interface re-opens on
 * the source's deadline. */
#include <errno.h>

#include "can/source.h"

static int sc_open(void **priv, const struct can_source_opts *o)
{
	socketcan_t *sc = NULL;
	int ret = socketcan_open(&sc, o->ifaces, o->n_ifaces, o->ids, o->n_ids, &o->socketcan);

	if (!ret)
		*priv = sc;
	return ret;
}

static void sc_close(void *priv)
{
	socketcan_close(priv);
}

static int sc_fd(void *priv)
{
	return socketcan_fd(priv);
}

static uint64_t sc_deadline(void *priv)
{
	return socketcan_deadline_ns(priv);
}

static int sc_dispatch(void *priv, const struct can_source_cb *cb)
{
	const struct socketcan_cb scb = { .frame = cb->frame, .event = cb->event, .ctx = cb->ctx };

	return socketcan_dispatch(priv, &scb);
}

static void sc_stats(void *priv, struct can_source_stats *st)
{
	struct socketcan_stats s;

	for (size_t i = 0; !socketcan_stats(priv, i, &s); i++)
		st->frames += s.frames;
}

const struct can_source_driver can_source_socketcan = {
	.name = "socketcan",
	.open = sc_open,
	.close = sc_close,
	.fd = sc_fd,
	.deadline_ns = sc_deadline,
	.dispatch = sc_dispatch,
	.stats = sc_stats,
};
