/* socketcan — SocketCAN raw sockets behind one epoll fd (see socketcan.h). */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>

#include "lib/log.h"
#include "can/socketcan.h"

#define BATCH 32                 /* messages per recvmmsg */
#define DEFAULT_BUDGET 4096
#define DEFAULT_BACKOFF_MIN_MS 100
#define DEFAULT_BACKOFF_MAX_MS 30000
#define NO_DEADLINE UINT64_MAX

struct sc_iface {
	char name[IFNAMSIZ];
	int fd;                  /* -1 while closed */
	unsigned failures;       /* consecutive failed opens */
	uint64_t retry_ns;       /* CLOCK_MONOTONIC; NO_DEADLINE while open */
	uint32_t ovfl;           /* last SO_RXQ_OVFL value seen */
	bool was_up;             /* opened at least once */
	bool reported_down;      /* CAN_EV_IFACE_DOWN sent since last up */
	struct socketcan_stats st;
	struct log_ratelimit rl;      /* open and re-open messages */
	struct log_ratelimit rl_bus;  /* drops and bus errors */
};

/* Per-message receive buffers for recvmmsg. */
struct rx_batch {
	struct canfd_frame frames[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t)) + 64];
		struct cmsghdr align;
	} ctrl[BATCH];
};

struct socketcan {
	int epfd;
	int timerfd;
	struct socketcan_opts opts;
	struct can_filter *filters;
	size_t n_filters;
	size_t n_ifaces;
	struct sc_iface *ifaces;
	struct rx_batch *rx;     /* receive buffers, reused every wakeup */
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned socketcan_backoff_ms(unsigned failures, unsigned min_ms, unsigned max_ms)
{
	uint64_t d = min_ms ? min_ms : 1;

	for (unsigned i = 1; i < failures && d < max_ms; i++)
		d *= 2;
	return d > max_ms ? max_ms : (unsigned)d;
}

int socketcan_make_filters(void *out, const struct socketcan_id *ids, size_t n)
{
	struct can_filter *f = out;

	if (n > SOCKETCAN_MAX_IDS)
		return -E2BIG;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ids[i].id, mask = ids[i].mask;
		bool eff = id & SOCKETCAN_EFF;
		uint32_t idmask = eff ? CAN_EFF_MASK : CAN_SFF_MASK;

		id &= ~SOCKETCAN_EFF;
		if (id & ~idmask)
			return -EINVAL;
		if (!mask)
			mask = idmask;
		if (mask & ~idmask)
			return -EINVAL;
		/* EFF and RTR are part of the match: an 11-bit entry never
		 * passes a 29-bit frame with the same number, and remote
		 * frames (no data) never pass. */
		f[i].can_id = (id & mask) | (eff ? CAN_EFF_FLAG : 0);
		f[i].can_mask = mask | CAN_EFF_FLAG | CAN_RTR_FLAG;
	}
	return 0;
}

uint8_t socketcan_fd_dlc(unsigned len)
{
	static const uint8_t limits[] = { 8, 12, 16, 20, 24, 32, 48, 64 };

	if (len <= 8)
		return (uint8_t)len;
	for (unsigned i = 0; i < ARRAY_SIZE(limits); i++)
		if (len <= limits[i])
			return (uint8_t)(8 + i);
	return 15;
}

unsigned socketcan_error_events(uint32_t can_id, const uint8_t *data, size_t len)
{
	unsigned ev = 0;

	if (!(can_id & CAN_ERR_FLAG))
		return 0;
	if (can_id & CAN_ERR_BUSOFF)
		ev |= 1u << CAN_EV_BUS_OFF;
	if ((can_id & CAN_ERR_CRTL) && len > 1 &&
	    (data[1] & (CAN_ERR_CRTL_RX_PASSIVE | CAN_ERR_CRTL_TX_PASSIVE)))
		ev |= 1u << CAN_EV_ERROR_PASSIVE;
	return ev;
}

static void emit(const struct socketcan_cb *cb, const struct sc_iface *ifc,
		 enum eco2_can_event ev, uint64_t value)
{
	if (cb && cb->event)
		cb->event(cb->ctx, ifc->name, ev, value, real_ns());
}

static void arm_timer(struct socketcan *sc)
{
	uint64_t next = socketcan_deadline_ns(sc);
	struct itimerspec its = { 0 };

	if (next != NO_DEADLINE) {
		its.it_value.tv_sec = (time_t)(next / 1000000000u);
		its.it_value.tv_nsec = (long)(next % 1000000000u);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	/* Failure only leaves the loop to its deadline query. */
	(void)timerfd_settime(sc->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void schedule_retry(struct socketcan *sc, struct sc_iface *ifc)
{
	ifc->failures++;
	ifc->retry_ns = mono_ns() + (uint64_t)socketcan_backoff_ms(ifc->failures,
			sc->opts.backoff_min_ms, sc->opts.backoff_max_ms) * 1000000u;
}

static void iface_close(struct socketcan *sc, struct sc_iface *ifc)
{
	if (ifc->fd < 0)
		return;
	(void)epoll_ctl(sc->epfd, EPOLL_CTL_DEL, ifc->fd, NULL);
	close(ifc->fd);
	ifc->fd = -1;
	ifc->st.up = false;
}

static int setsockopt_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v)) ? -errno : 0;
}

/* Open, configure and bind one interface's socket. Returns 0, -errno from
 * the socket layer, or -ENETDOWN / -ENODEV when the interface is not there
 * or not up (retried later). */
static int iface_open(struct socketcan *sc, struct sc_iface *ifc)
{
	struct sockaddr_can addr = { .can_family = AF_CAN };
	struct ifreq ifr;
	struct epoll_event ev = { .events = EPOLLIN };
	int fd, ret;

	fd = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
	if (fd < 0)
		return -errno;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifc->name, sizeof(ifr.ifr_name));
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		ret = errno == ENODEV ? -ENODEV : -errno;
		goto out;
	}
	addr.can_ifindex = ifr.ifr_ifindex;
	/* A socket bound to a down interface would wait silently; treat it
	 * as not there yet so the backoff keeps looking. */
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		ret = -errno;
		goto out;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		ret = -ENETDOWN;
		goto out;
	}

	if (!sc->opts.all_ids) {
		ret = setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, sc->filters,
				 (socklen_t)(sc->n_filters * sizeof(*sc->filters)));
		if (ret < 0) {
			ret = -errno;
			log_err("%s: CAN_RAW_FILTER: %s", ifc->name, strerror(-ret));
			goto out;
		}
	}
	ret = setsockopt_int(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER,
			     (int)(CAN_ERR_BUSOFF | CAN_ERR_CRTL));
	if (ret < 0)
		log_warn("%s: CAN_RAW_ERR_FILTER: %s (no bus-off events)", ifc->name,
			 strerror(-ret));
	if (sc->opts.fd_frames) {
		ret = setsockopt_int(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, 1);
		if (ret < 0)
			log_warn("%s: CAN_RAW_FD_FRAMES: %s (classic CAN only)",
				 ifc->name, strerror(-ret));
	}
	if (sc->opts.rcvbuf_bytes > 0) {
		ret = setsockopt_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, sc->opts.rcvbuf_bytes);
		if (ret == -EPERM)
			ret = setsockopt_int(fd, SOL_SOCKET, SO_RCVBUF, sc->opts.rcvbuf_bytes);
		if (ret < 0)
			log_warn("%s: SO_RCVBUF %d: %s", ifc->name,
				 sc->opts.rcvbuf_bytes, strerror(-ret));
	}
	ret = setsockopt_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
	if (ret < 0)
		log_warn("%s: SO_TIMESTAMPNS: %s (user-space receive times)",
			 ifc->name, strerror(-ret));
	ret = setsockopt_int(fd, SOL_SOCKET, SO_RXQ_OVFL, 1);
	if (ret < 0)
		log_warn("%s: SO_RXQ_OVFL: %s (kernel drops not counted)",
			 ifc->name, strerror(-ret));

	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		goto out;
	}
	ev.data.ptr = ifc;
	if (epoll_ctl(sc->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		goto out;
	}
	ifc->fd = fd;
	fd = -1;
	ifc->ovfl = 0;
	ifc->failures = 0;
	ifc->retry_ns = NO_DEADLINE;
	ifc->st.up = true;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Try to (re)open; on failure schedule the next try. */
static void iface_try(struct socketcan *sc, struct sc_iface *ifc,
		      const struct socketcan_cb *cb)
{
	int r = iface_open(sc, ifc);

	if (!r) {
		if (ifc->was_up) {
			ifc->st.reopens++;
			log_info("%s: re-opened", ifc->name);
		}
		ifc->was_up = true;
		ifc->reported_down = false;
		emit(cb, ifc, CAN_EV_IFACE_UP, 0);
		return;
	}
	log_rl(&ifc->rl, LOG_WARNING, "%s: cannot open: %s; retrying", ifc->name,
	       strerror(-r));
	if (!ifc->reported_down) {
		ifc->reported_down = true;
		emit(cb, ifc, CAN_EV_IFACE_DOWN, 0);
	}
	schedule_retry(sc, ifc);
}

int socketcan_open(socketcan_t **out, const char *const *ifaces, size_t n_ifaces,
		   const struct socketcan_id *ids, size_t n_ids,
		   const struct socketcan_opts *opts)
{
	struct socketcan *sc = NULL;
	struct epoll_event ev = { .events = EPOLLIN };
	int ret = -EINVAL, probe;

	*out = NULL;
	if (!n_ifaces || (n_ids && !ids))
		goto out;
	if (n_ids > SOCKETCAN_MAX_IDS) {
		ret = -E2BIG;
		goto out;
	}
	/* Fail early, and clearly, where the kernel has no CAN at all. */
	probe = socket(PF_CAN, SOCK_RAW | SOCK_CLOEXEC, CAN_RAW);
	if (probe < 0) {
		ret = -errno;
		goto out;
	}
	close(probe);

	ret = -ENOMEM;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		goto out;
	sc->epfd = sc->timerfd = -1;
	if (opts)
		sc->opts = *opts;
	if (!sc->opts.backoff_min_ms)
		sc->opts.backoff_min_ms = DEFAULT_BACKOFF_MIN_MS;
	if (!sc->opts.backoff_max_ms)
		sc->opts.backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
	if (sc->opts.backoff_max_ms < sc->opts.backoff_min_ms)
		sc->opts.backoff_max_ms = sc->opts.backoff_min_ms;
	if (!sc->opts.budget)
		sc->opts.budget = DEFAULT_BUDGET;

	sc->filters = calloc(n_ids ? n_ids : 1, sizeof(*sc->filters));
	sc->ifaces = calloc(n_ifaces, sizeof(*sc->ifaces));
	sc->rx = malloc(sizeof(*sc->rx));
	if (!sc->filters || !sc->ifaces || !sc->rx)
		goto out;
	sc->n_filters = n_ids;
	if (n_ids) {
		ret = socketcan_make_filters(sc->filters, ids, n_ids);
		if (ret < 0)
			goto out;
	}
	sc->n_ifaces = n_ifaces;
	for (size_t i = 0; i < n_ifaces; i++) {
		struct sc_iface *ifc = &sc->ifaces[i];
		size_t len = ifaces[i] ? strlen(ifaces[i]) : 0;

		ifc->fd = -1;
		ifc->retry_ns = NO_DEADLINE;
		ifc->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(60, 3);
		ifc->rl_bus = (struct log_ratelimit)LOG_RATELIMIT_INIT(60, 3);
		if (!len || len >= IFNAMSIZ) {
			ret = -EINVAL;
			goto out;
		}
		memcpy(ifc->name, ifaces[i], len + 1);
	}

	sc->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sc->epfd < 0) {
		ret = -errno;
		goto out;
	}
	sc->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sc->timerfd < 0) {
		ret = -errno;
		goto out;
	}
	ev.data.ptr = NULL;     /* NULL marks the timer */
	if (epoll_ctl(sc->epfd, EPOLL_CTL_ADD, sc->timerfd, &ev) < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t i = 0; i < n_ifaces; i++)
		iface_try(sc, &sc->ifaces[i], NULL);
	arm_timer(sc);
	*out = sc;
	sc = NULL;
	ret = 0;
out:
	socketcan_close(sc);
	return ret;
}

void socketcan_close(socketcan_t *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; sc->ifaces && i < sc->n_ifaces; i++)
		iface_close(sc, &sc->ifaces[i]);
	if (sc->timerfd >= 0)
		close(sc->timerfd);
	if (sc->epfd >= 0)
		close(sc->epfd);
	free(sc->ifaces);
	free(sc->filters);
	free(sc->rx);
	free(sc);
}

int socketcan_fd(const socketcan_t *sc)
{
	return sc->epfd;
}

uint64_t socketcan_deadline_ns(const socketcan_t *sc)
{
	uint64_t next = NO_DEADLINE;

	for (size_t i = 0; i < sc->n_ifaces; i++)
		if (sc->ifaces[i].fd < 0 && sc->ifaces[i].retry_ns < next)
			next = sc->ifaces[i].retry_ns;
	return next;
}

int socketcan_stats(const socketcan_t *sc, size_t i, struct socketcan_stats *st)
{
	if (i >= sc->n_ifaces)
		return -ENOENT;
	*st = sc->ifaces[i].st;
	return 0;
}


static void handle_msg(struct sc_iface *ifc, const struct socketcan_cb *cb,
		       const struct mmsghdr *mm, const struct canfd_frame *cf)
{
	struct msghdr *msg = (struct msghdr *)&mm->msg_hdr;
	struct can_frame_rec rec;
	uint64_t t_ns = 0;
	bool have_ovfl = false;
	uint32_t ovfl = 0;
	size_t len;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_TIMESTAMPNS &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			t_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		} else if (c->cmsg_type == SO_RXQ_OVFL &&
			   c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
			memcpy(&ovfl, CMSG_DATA(c), sizeof(ovfl));
			have_ovfl = true;
		}
	}
	if (!t_ns)
		t_ns = real_ns();
	/* The counter is cumulative per socket and wraps at 2^32. */
	if (have_ovfl && ovfl != ifc->ovfl) {
		uint32_t lost = ovfl - ifc->ovfl;
		ifc->ovfl = ovfl;
		ifc->st.dropped += lost;
		log_rl(&ifc->rl_bus, LOG_WARNING, "%s: kernel dropped %u frames (receive buffer full)",
		       ifc->name, lost);
		if (cb->event)
			cb->event(cb->ctx, ifc->name, CAN_EV_FRAMES_DROPPED, lost, t_ns);
	}

	len = mm->msg_len;
	if (len != CAN_MTU && len != CANFD_MTU)
		return;   /* not a frame the kernel documents; ignore */
	if (msg->msg_flags & MSG_TRUNC)
		return;

	if (cf->can_id & CAN_ERR_FLAG) {
		unsigned ev = socketcan_error_events(cf->can_id, cf->data,
						     cf->len > CAN_MAX_DLEN ? CAN_MAX_DLEN : cf->len);
		if (ev & (1u << CAN_EV_BUS_OFF)) {
			ifc->st.bus_off++;
			log_rl(&ifc->rl_bus, LOG_WARNING, "%s: bus-off", ifc->name);
			if (cb->event)
				cb->event(cb->ctx, ifc->name, CAN_EV_BUS_OFF, 0, t_ns);
		}
		if (ev & (1u << CAN_EV_ERROR_PASSIVE)) {
			ifc->st.error_passive++;
			log_rl(&ifc->rl_bus, LOG_WARNING, "%s: error-passive", ifc->name);
			if (cb->event)
				cb->event(cb->ctx, ifc->name, CAN_EV_ERROR_PASSIVE, 0, t_ns);
		}
		return;
	}
	if (cf->can_id & CAN_RTR_FLAG)
		return;

	memset(&rec, 0, sizeof(rec));
	rec.t_ns = t_ns;
	if (cf->can_id & CAN_EFF_FLAG) {
		rec.id = cf->can_id & CAN_EFF_MASK;
		rec.flags |= CANREC_EXT;
	} else {
		rec.id = cf->can_id & CAN_SFF_MASK;
	}
	if (len == CANFD_MTU) {
		rec.flags |= CANREC_FD;
		if (cf->flags & CANFD_BRS)
			rec.flags |= CANREC_BRS;
		if (cf->flags & CANFD_ESI)
			rec.flags |= CANREC_ESI;
		rec.len = cf->len > CANFD_MAX_DLEN ? CANFD_MAX_DLEN : cf->len;
		rec.raw_dlc = socketcan_fd_dlc(rec.len);
	} else {
		const struct can_frame *cc = (const struct can_frame *)cf;
		rec.len = cf->len > CAN_MAX_DLEN ? CAN_MAX_DLEN : cf->len;
		rec.raw_dlc = rec.len;
		if (rec.len == CAN_MAX_DLEN && cc->len8_dlc > CAN_MAX_DLEN &&
		    cc->len8_dlc <= CAN_MAX_RAW_DLC)
			rec.raw_dlc = cc->len8_dlc;
	}
	memcpy(rec.data, cf->data, rec.len);
	memcpy(rec.iface, ifc->name, sizeof(rec.iface) < sizeof(ifc->name) ?
	       sizeof(rec.iface) : sizeof(ifc->name));
	rec.iface[sizeof(rec.iface) - 1] = '\0';
	ifc->st.frames++;
	cb->frame(cb->ctx, &rec);
}

/* Drain one socket up to the budget. Returns frames seen, or -errno when
 * the socket failed (the caller closes it). */
static int iface_drain(struct socketcan *sc, struct sc_iface *ifc,
		       const struct socketcan_cb *cb, struct rx_batch *b)
{
	unsigned done = 0;

	while (done < sc->opts.budget) {
		unsigned want = sc->opts.budget - done < BATCH ? sc->opts.budget - done : BATCH;
		int n;

		for (unsigned i = 0; i < want; i++) {
			b->iov[i].iov_base = &b->frames[i];
			b->iov[i].iov_len = sizeof(b->frames[i]);
			memset(&b->msgs[i].msg_hdr, 0, sizeof(b->msgs[i].msg_hdr));
			b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
			b->msgs[i].msg_hdr.msg_iovlen = 1;
			b->msgs[i].msg_hdr.msg_control = b->ctrl[i].buf;
			b->msgs[i].msg_hdr.msg_controllen = sizeof(b->ctrl[i].buf);
		}
		n = recvmmsg(ifc->fd, b->msgs, want, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
		for (int i = 0; i < n; i++)
			handle_msg(ifc, cb, &b->msgs[i], &b->frames[i]);
		done += (unsigned)n;
		if ((unsigned)n < want)
			break;
	}
	return (int)done;
}

int socketcan_dispatch(socketcan_t *sc, const struct socketcan_cb *cb)
{
	struct epoll_event evs[16];
	uint64_t now;
	int n, total = 0, ret;

	if (!cb || !cb->frame) {
		ret = -EINVAL;
		goto out;
	}
	n = epoll_wait(sc->epfd, evs, (int)ARRAY_SIZE(evs), 0);
	if (n < 0) {
		ret = errno == EINTR ? 0 : -errno;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct sc_iface *ifc = evs[i].data.ptr;
		int r;

		if (!ifc) {
			uint64_t expirations;
			(void)!read(sc->timerfd, &expirations, sizeof(expirations));
			continue;
		}
		if (ifc->fd < 0)
			continue;
		r = iface_drain(sc, ifc, cb, sc->rx);
		if (r >= 0) {
			total += r;
			continue;
		}
		/* ENETDOWN (down), ENODEV (gone) or any other socket error:
		 * close, report, and come back with backoff. */
		log_rl(&ifc->rl, LOG_WARNING, "%s: %s; closing, will re-open", ifc->name,
		       strerror(-r));
		iface_close(sc, ifc);
		ifc->reported_down = true;
		emit(cb, ifc, CAN_EV_IFACE_DOWN, 0);
		ifc->failures = 0;
		schedule_retry(sc, ifc);
	}

	now = mono_ns();
	for (size_t i = 0; i < sc->n_ifaces; i++) {
		struct sc_iface *ifc = &sc->ifaces[i];
		if (ifc->fd < 0 && ifc->retry_ns <= now)
			iface_try(sc, ifc, cb);
	}
	arm_timer(sc);
	ret = total;
out:
	return ret;
}
