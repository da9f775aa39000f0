/* source_isotp — eco2d asks ECUs: the profile's [poll.NAME] requests sent
 * over the kernel's CAN_ISOTP sockets (OBD-II, UDS) and CAN_J1939 sockets
 * (J1939 requests), their answers decoded into samples; the profile's
 * broadcast part (its [signals]) read through the SocketCAN source. All on
 * ONE file descriptor (an epoll set) and one deadline, for the daemon's
 * loop; nothing blocks, nothing sleeps.
 *
 * Sockets: one ISO-TP socket per ECU (request id, answer id), bound to
 * exactly those ids, so the kernel itself sends nothing but our single
 * frames and the flow control of our answers on the request id; one
 * J1939 socket per J1939 request, bound to our source address and
 * connected to the request PGN and its destination; a raw socket that is
 * never written, its filter opened only while the car sleeps, to notice
 * the bus waking up. Every request goes out through tx_request(), which
 * refuses anything but a declared request to its declared socket: the
 * write allowlist of docs/security.md, section 6.
 *
 * Scheduling: one request in flight per ECU. Each request is due every
 * interval of the current vehicle state (driving, charging, parked:
 * diag_state_of); a state change makes every request of the new state due
 * at once. No answer within P2 (timeout_ms) is a miss: the next attempt
 * backs off (interval x 2^misses, at most 60 s) and an ECU with three
 * misses in a row counts as asleep. "Response pending" (0x78) waits P2*
 * more, at most 10 s in all. A refusal that cannot change (0x11, 0x12,
 * 0x31, ...) stops that request for good, said once. A token bucket holds
 * the worst-case bits sent within [poll] budget_pct of the bus.
 *
 * While parked (or asleep) with parked_s = 0 the poller writes nothing
 * and arms no timer: its wakeups are the bus's. When the ignition is not
 * broadcast, the first frame after the bus slept (a broadcast frame, or
 * any frame the listener sees) makes one probe of every request; after a
 * probe that finds the car still off, frames are ignored for 30 s. */
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <linux/can.h>
#include <linux/can/isotp.h>
#include <linux/can/j1939.h>
#include <linux/can/raw.h>

#include "lib/log.h"
#include "can/isotp.h"
#include "can/j1939.h"
#include "can/source.h"

#define MAX_ECUS        32
#define MAX_ITEMS       32
#define MISSES_ASLEEP   3                       /* in a row: the ECU sleeps */
#define BACKOFF_MAX_NS  (60 * NS_PER_S)
#define PENDING_CAP_NS  (10 * NS_PER_S)         /* 0x78s for at most this long */
#define BROADCAST_AWAKE_NS (5 * NS_PER_S)       /* a broadcast frame: awake this long */
#ifndef PROBE_HOLDOFF_NS                        /* unit tests shorten it */
#define PROBE_HOLDOFF_NS (30 * NS_PER_S)
#endif
#define REOPEN_MIN_NS   (NS_PER_S / 10)
#define RETRY_TX_NS     (NS_PER_S / 100)
#define REOPEN_MAX_NS   (30 * NS_PER_S)
#define NS_PER_S        1000000000ull
#define HIST_BUCKETS    48                      /* latency: 4 per octave from 0.1 ms */

enum tag { TAG_SC = 1, TAG_ECU, TAG_J1939, TAG_LISTEN };

struct item;

struct ecu {
	uint32_t tx, rx;
	bool ext;
	int fd;                      /* -1: closed, re-opened at reopen_ns */
	uint64_t reopen_ns;
	unsigned reopen_fails;
	struct item *busy;           /* the request in flight */
	uint64_t sent_ns;            /* CLOCK_MONOTONIC */
	uint64_t deadline_ns;        /* no answer by then: a miss */
	unsigned misses;             /* in a row */
	uint8_t off_service[4];      /* services it refused with 0x11 */
	unsigned n_off;
};

struct item {
	const struct diag_req *r;
	struct ecu *ecu;             /* ISO-TP; NULL for J1939 */
	int fd;                      /* J1939 socket */
	uint64_t due_ns;             /* UINT64_MAX: not asked in this state */
	uint64_t j1939_wait_ns;      /* J1939: awaiting the answer until then; 0 none */
	uint64_t j1939_sent_ns;
	unsigned misses;
	bool off;                    /* refused for good */
	/* figures */
	uint64_t asked, answered, negative, pending, no_answer;
	uint64_t lat_sum_ns, lat_max_ns;
	uint32_t hist[HIST_BUCKETS];
};

struct poller {
	const profile_t *prof;
	const struct diag_req *reqs;
	size_t n_reqs;
	int padding;
	char iface[IFNAMSIZ];
	struct poll_transport tp;
	int epfd;
	socketcan_t *sc;             /* the broadcast part, or NULL */
	int listen_fd;
	bool listening;
	struct ecu ecus[MAX_ECUS];
	size_t n_ecus;
	struct item items[MAX_ITEMS];
	size_t n_items;
	/* vehicle state */
	enum diag_state state;
	int ign, chg;                /* latest values; -1 unknown */
	bool ign_broadcast;          /* the ignition arrives without asking */
	bool state_broadcast;        /* the ignition or charging does */
	uint64_t broadcast_ns;       /* last broadcast frame (CLOCK_MONOTONIC) */
	uint64_t holdoff_ns;         /* no probe on bus activity before */
	/* bus budget */
	double budget_bps, bucket_max, bucket;
	uint64_t bucket_ns;
	/* during dispatch */
	const struct can_source_cb *cb;
	int delivered;
	struct can_source_stats st;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t ms_ns(uint32_t ms)
{
	return (uint64_t)ms * 1000000u;
}

static const char *req_text(const struct diag_req *r, char *buf, size_t len)
{
	size_t off = 0;

	if (r->kind == DIAG_J1939) {
		snprintf(buf, len, "J1939 request for PGN %u to %02X", r->pgn, r->da);
		return buf;
	}
	for (unsigned i = 0; i < r->req_len && off + 4 < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%02X", i ? " " : "", r->req[i]);
	snprintf(buf + off, len - off, " to %X", r->tx_id);
	return buf;
}

/* ---- the kernel's sockets ------------------------------------------------ */

static int ifindex_of(const char *iface)
{
	unsigned i = if_nametoindex(iface);

	return i ? (int)i : -ENODEV;
}

/* socket() of a CAN protocol this kernel may lack: say which module. */
static int can_socket(int type, int proto, const char *what)
{
	int fd = socket(PF_CAN, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);

	if (fd >= 0)
		return fd;
	if (errno == EPROTONOSUPPORT || errno == EAFNOSUPPORT || errno == ESOCKTNOSUPPORT)
		log_err("this kernel has no %s (%s module): %s", what,
			proto == CAN_ISOTP ? "can-isotp" : proto == CAN_J1939 ? "can-j1939" : "can-raw",
			strerror(errno));
	return -errno;
}

/* A socket of the protocol, with *a addressed to iface; or -errno. */
static int socket_on(const char *iface, int type, int proto, const char *what,
		     struct sockaddr_can *a)
{
	int i = ifindex_of(iface);

	if (i < 0)
		return i;
	memset(a, 0, sizeof(*a));
	a->can_family = AF_CAN;
	a->can_ifindex = i;
	return can_socket(type, proto, what);
}

/* -errno of the call that failed, the socket closed. */
static int close_failed(int fd)
{
	int ret = -errno;

	close(fd);
	return ret;
}

static int kernel_isotp(void *ctx, const char *iface, const struct diag_req *r, int padding)
{
	struct sockaddr_can a;
	struct can_isotp_options o = { 0 };
	struct can_isotp_fc_options fc = { .bs = 0, .stmin = 0, .wftmax = 0 };
	int fd = socket_on(iface, SOCK_DGRAM, CAN_ISOTP, "CAN_ISOTP", &a);
	(void)ctx;

	if (fd < 0)
		return fd;
	if (padding >= 0) {
		o.flags = CAN_ISOTP_TX_PADDING;
		o.txpad_content = (uint8_t)padding;
	}
	/* Every option before bind: the kernel refuses them after it. */
	if (setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_OPTS, &o, sizeof(o)) < 0 ||
	    setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_RECV_FC, &fc, sizeof(fc)) < 0)
		return close_failed(fd);
	a.can_addr.tp.tx_id = r->tx_id | (r->ext ? CAN_EFF_FLAG : 0);
	a.can_addr.tp.rx_id = r->rx_id | (r->ext ? CAN_EFF_FLAG : 0);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return close_failed(fd);
	return fd;
}

static int kernel_j1939(void *ctx, const char *iface, const struct diag_req *r)
{
	struct sockaddr_can a;
	struct j1939_filter f = { .pgn = DIAG_J1939_PGN_ACK, .pgn_mask = J1939_PGN_PDU1_MAX };
	int one = 1, prio = DIAG_J1939_PRIO;
	int fd = socket_on(iface, SOCK_DGRAM, CAN_J1939, "CAN_J1939", &a);
	(void)ctx;

	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_CAN_J1939, SO_J1939_FILTER, &f, sizeof(f)) < 0 ||
	    setsockopt(fd, SOL_CAN_J1939, SO_J1939_SEND_PRIO, &prio, sizeof(prio)) < 0)
		return close_failed(fd);
	a.can_addr.j1939.name = J1939_NO_NAME;
	a.can_addr.j1939.addr = r->sa;
	a.can_addr.j1939.pgn = J1939_NO_PGN;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return close_failed(fd);
	a.can_addr.j1939.addr = r->da;
	a.can_addr.j1939.pgn = DIAG_J1939_PGN_REQUEST;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return close_failed(fd);
	return fd;
}

static int kernel_listen(void *ctx, int fd, bool on)
{
	struct can_filter all = { .can_id = 0, .can_mask = 0 };
	(void)ctx;

	/* errno stays set for close_failed() */
	if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, on ? &all : NULL, on ? sizeof(all) : 0) < 0)
		return -errno;
	return 0;
}

static int kernel_listener(void *ctx, const char *iface)
{
	struct sockaddr_can a;
	int fd = socket_on(iface, SOCK_RAW, CAN_RAW, "CAN_RAW", &a);

	if (fd < 0)
		return fd;
	/* nothing received until parked */
	if (kernel_listen(ctx, fd, false) < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return close_failed(fd);
	return fd;
}

static const struct poll_transport kernel_transport = {
	.isotp = kernel_isotp,
	.j1939 = kernel_j1939,
	.listener = kernel_listener,
	.listen = kernel_listen,
};

/* ---- the write allowlist ---------------------------------------------------- */

/* The one place eco2d writes onto a CAN bus. A request goes out only if it
 * is one the profile declared, through the socket opened for it (bound to
 * its ids), and is a read: anything else is refused and said. */
static int tx_request(struct poller *p, struct item *it)
{
	const struct diag_req *r = it->r;
	int fd = r->kind == DIAG_ISOTP && it->ecu ? it->ecu->fd : it->fd;
	bool declared = r >= p->reqs && r < p->reqs + p->n_reqs &&
			it >= p->items && it < p->items + p->n_items;
	bool read_only = r->kind == DIAG_J1939 ? r->req_len == 3 :
			 r->req_len >= 2 && r->req_len <= 3 &&
			 (r->req[0] == 0x01 || r->req[0] == 0x09 || r->req[0] == 0x21 ||
			  r->req[0] == 0x22);
	bool own_socket = r->kind == DIAG_ISOTP ?
			  it->ecu && it->ecu->tx == r->tx_id && it->ecu->rx == r->rx_id &&
			  it->ecu->ext == r->ext : true;
	ssize_t w;

	if (!declared || !read_only || !own_socket || fd < 0) {
		p->st.refused++;
		log_err("poll: refused to send %s: not a declared request on its own socket",
			r->name);
		return -EPERM;
	}
	w = write(fd, r->req, r->req_len);
	if (w == (ssize_t)r->req_len)
		return 0;
	return w < 0 ? -errno : -EIO;
}

/* ---- state ------------------------------------------------------------------ */

static bool ecus_awake(const struct poller *p)
{
	for (size_t i = 0; i < p->n_ecus; i++)
		if (p->ecus[i].misses < MISSES_ASLEEP)
			return true;
	return false;
}

static bool awake(const struct poller *p, uint64_t now)
{
	/* (now may be older than the last frame: taken before the dispatch) */
	return ecus_awake(p) || (p->broadcast_ns && p->broadcast_ns + BROADCAST_AWAKE_NS > now);
}

static uint64_t backoff_ns(const struct item *it, enum diag_state s)
{
	uint64_t ns = ms_ns(it->r->interval_ms[s]);
	unsigned k = it->misses > 6 ? 6 : it->misses;

	ns <<= k;
	return ns > BACKOFF_MAX_NS && ms_ns(it->r->interval_ms[s]) <= BACKOFF_MAX_NS ?
	       BACKOFF_MAX_NS : ns;
}

/* Every request of state s due now (0 interval: not asked). */
static void reschedule(struct poller *p, uint64_t now)
{
	for (size_t i = 0; i < p->n_items; i++) {
		struct item *it = &p->items[i];

		it->misses = 0;
		it->due_ns = it->r->interval_ms[p->state] && !it->off ? now : UINT64_MAX;
	}
}

static void set_listening(struct poller *p, bool on)
{
	int ret;

	if (p->listen_fd < 0 || on == p->listening)
		return;
	ret = p->tp.listen(p->tp.ctx, p->listen_fd, on);
	if (ret == 0) {
		p->listening = on;
		return;
	}
	/* Without the listener only parked_s requests notice a wake-up. */
	log_warn("poll: the wake-up listener on %s: %s; not used", p->iface, strerror(-ret));
	(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->listen_fd, NULL);
	close(p->listen_fd);
	p->listen_fd = -1;
}

static void update_state(struct poller *p, uint64_t now)
{
	enum diag_state st = diag_state_of(p->ign, p->chg, awake(p, now));

	if (st != p->state) {
		log_info("poll: vehicle %s", diag_state_name(st));
		p->state = st;
		reschedule(p, now);
		if (st == DIAG_PARKED)
			p->holdoff_ns = now + PROBE_HOLDOFF_NS;
	}
	/* Listen for the bus waking up only when nothing else would tell. */
	set_listening(p, st == DIAG_PARKED && now >= p->holdoff_ns);
}

/* The bus woke up while the car was taken for off: unless the ignition is
 * broadcast (then it will say), forget what the ECUs said and ask every
 * request of the driving state once; if the car is still off, the answers
 * (or their absence) park it again. */
static void bus_activity(struct poller *p, uint64_t now)
{
	if (p->state != DIAG_PARKED || p->ign_broadcast || now < p->holdoff_ns)
		return;
	log_info("poll: bus activity while parked: asking the ECUs");
	p->ign = -1;
	for (size_t i = 0; i < p->n_ecus; i++)
		p->ecus[i].misses = 0;
	update_state(p, now);
}

static void reschedule(struct poller *p, uint64_t now);

/* The ignition going on wakes every ECU: whatever backed off after
 * misses while it was off is asked again at once. */
static void note_value(struct poller *p, const struct eco2_sample *s, uint64_t now)
{
	if (s->role == ROLE_IGNITION) {
		int on = s->value != 0;

		if (on && p->ign != 1) {
			for (size_t i = 0; i < p->n_ecus; i++)
				p->ecus[i].misses = 0;
			reschedule(p, now);
		}
		p->ign = on;
	} else if (s->role == ROLE_CHARGING) {
		p->chg = s->value != 0;
	}
}

/* ---- answers ------------------------------------------------------------ */

static void hist_add(struct item *it, uint64_t ns)
{
	double us = (double)ns / 1000;
	int b = us <= 100 ? 0 : (int)(4 * log2(us / 100));

	it->hist[b >= HIST_BUCKETS ? HIST_BUCKETS - 1 : b]++;
}

/* The latency below which a fraction q of the answers came (bucket upper
 * bound), in ns; 0 without answers. */
static uint64_t hist_quantile(const struct item *it, double q)
{
	uint64_t total = 0, seen = 0;

	for (int b = 0; b < HIST_BUCKETS; b++)
		total += it->hist[b];
	for (int b = 0; b < HIST_BUCKETS && total; b++) {
		seen += it->hist[b];
		if ((double)seen >= q * (double)total)
			return (uint64_t)(100e3 * pow(2, (b + 1) / 4.0));
	}
	return 0;
}

static void answered(struct poller *p, struct item *it, uint64_t sent_ns, uint64_t now)
{
	uint64_t lat = now - sent_ns;

	it->answered++;
	it->misses = 0;
	it->lat_sum_ns += lat;
	if (lat > it->lat_max_ns)
		it->lat_max_ns = lat;
	hist_add(it, lat);
	p->st.answers++;
	p->st.latency_sum_ns += lat;
	if (lat > p->st.latency_max_ns)
		p->st.latency_max_ns = lat;
}

/* Next due time after an exchange that began at sent_ns: the cadence of
 * the state's interval, never in the past. */
static void next_due(struct poller *p, struct item *it, uint64_t sent_ns, uint64_t now)
{
	uint32_t iv = it->r->interval_ms[p->state];
	uint64_t due;

	if (!iv || it->off) {
		it->due_ns = UINT64_MAX;
		return;
	}
	due = sent_ns + (it->misses ? backoff_ns(it, p->state) : ms_ns(iv));
	it->due_ns = due > now ? due : now;
}

static void refuse_for_good(struct poller *p, struct item *it, uint8_t nrc)
{
	char buf[64];

	it->off = true;
	it->due_ns = UINT64_MAX;
	log_warn("poll: [poll.%s] %s: the ECU answers %s (0x%02X): not asked again",
		 it->r->name, req_text(it->r, buf, sizeof(buf)), diag_nrc_name(nrc), nrc);
	if (nrc != 0x11 || !it->ecu)
		return;
	/* The ECU has no such service at all: its other requests of that
	 * service go the same way, without a word each. */
	if (it->ecu->n_off < ARRAY_SIZE(it->ecu->off_service))
		it->ecu->off_service[it->ecu->n_off++] = it->r->req[0];
	for (size_t i = 0; i < p->n_items; i++) {
		struct item *o = &p->items[i];

		if (o != it && o->ecu == it->ecu && o->r->req[0] == it->r->req[0] && !o->off) {
			o->off = true;
			o->due_ns = UINT64_MAX;
			log_warn("poll: [poll.%s]: not asked again (same service)", o->r->name);
		}
	}
}

/* An ECU that had missed answers again: its other requests, backed off
 * meanwhile, are due now. */
static void ecu_back(struct poller *p, struct ecu *e, uint64_t now)
{
	e->misses = 0;
	for (size_t i = 0; i < p->n_items; i++) {
		struct item *it = &p->items[i];

		if (it->ecu != e || !it->misses || it->off || !it->r->interval_ms[p->state])
			continue;
		it->misses = 0;
		if (it->due_ns > now)
			it->due_ns = now;
	}
}

static void on_pdu(struct poller *p, struct ecu *e, const uint8_t *pdu, size_t len, uint64_t now)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60, 5);
	struct item *it = e->busy;
	struct eco2_sample s[DIAG_MAX_FIELDS];
	uint8_t nrc = 0;
	int n;

	if (!it)
		return;   /* late: its request already timed out */
	switch (diag_classify(it->r, pdu, len, &nrc)) {
	case DIAG_POSITIVE:
		n = diag_decode(it->r, pdu, len, wall_ns(), s, ARRAY_SIZE(s));
		answered(p, it, e->sent_ns, now);
		if (e->misses)
			ecu_back(p, e, now);
		e->busy = NULL;
		next_due(p, it, e->sent_ns, now);
		for (int i = 0; i < n; i++) {
			note_value(p, &s[i], now);
			p->st.samples++;
			if (p->cb->sample)
				p->cb->sample(p->cb->ctx, &s[i]);
		}
		return;
	case DIAG_PENDING:
		it->pending++;
		p->st.pending++;
		e->deadline_ns = now + ms_ns(it->r->pending_ms);
		if (e->deadline_ns > e->sent_ns + PENDING_CAP_NS)
			e->deadline_ns = e->sent_ns + PENDING_CAP_NS;
		return;
	case DIAG_NEGATIVE:
		it->negative++;
		p->st.negative++;
		if (e->misses)
			ecu_back(p, e, now);   /* it answered: awake */
		e->busy = NULL;
		if (diag_nrc_policy(nrc) == DIAG_NRC_UNSUPPORTED) {
			refuse_for_good(p, it, nrc);
		} else {
			log_rl(&rl, LOG_INFO, "poll: [poll.%s]: %s (0x%02X); asking again later",
			       it->r->name, diag_nrc_name(nrc), nrc);
			next_due(p, it, e->sent_ns, now);
		}
		return;
	case DIAG_FOREIGN:
		return;   /* a stale answer, or another request's */
	}
}

static void missed(struct poller *p, struct item *it, uint64_t sent_ns, uint64_t now)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60, 5);
	char buf[64];

	it->no_answer++;
	it->misses++;
	p->st.no_answer++;
	log_rl(&rl, LOG_INFO, "poll: [poll.%s] %s: no answer", it->r->name,
	       req_text(it->r, buf, sizeof(buf)));
	next_due(p, it, sent_ns, now);
}

static void ecu_timeout(struct poller *p, struct ecu *e, uint64_t now)
{
	struct item *it = e->busy;

	e->busy = NULL;
	e->misses++;
	if (e->misses == MISSES_ASLEEP)
		log_info("poll: ECU %X does not answer: taken as asleep", e->tx);
	missed(p, it, e->sent_ns, now);
}

/* ---- sockets ------------------------------------------------------------ */

static int watch(struct poller *p, int fd, enum tag tag, size_t idx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)tag << 32 | idx };

	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

static int ecu_open(struct poller *p, struct ecu *e, const struct diag_req *r)
{
	int fd = p->tp.isotp(p->tp.ctx, p->iface, r, p->padding), ret;

	if (fd < 0)
		return fd;
	ret = watch(p, fd, TAG_ECU, (size_t)(e - p->ecus));
	if (ret) {
		close(fd);
		return ret;
	}
	e->fd = fd;
	e->reopen_fails = 0;
	return 0;
}

static void ecu_close(struct poller *p, struct ecu *e, uint64_t now)
{
	uint64_t delay = REOPEN_MIN_NS << (e->reopen_fails > 8 ? 8 : e->reopen_fails);

	if (e->fd >= 0) {
		(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, e->fd, NULL);
		close(e->fd);
	}
	e->fd = -1;
	e->reopen_fails++;
	e->reopen_ns = now + (delay > REOPEN_MAX_NS ? REOPEN_MAX_NS : delay);
	if (e->busy)
		ecu_timeout(p, e, now);
}

static const struct diag_req *ecu_req(const struct poller *p, const struct ecu *e)
{
	for (size_t i = 0; i < p->n_items; i++)
		if (p->items[i].ecu == e)
			return p->items[i].r;
	return NULL;
}

static void ecu_error(struct poller *p, struct ecu *e, uint64_t now)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60, 5);
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || !err)
		return;
	switch (err) {
	case ENETDOWN:
	case ENODEV:
		log_rl(&rl, LOG_WARNING, "poll: %s: %s; re-opening ISO-TP %X/%X", p->iface,
		       strerror(err), e->tx, e->rx);
		ecu_close(p, e, now);
		break;
	default:
		/* ECOMM: our frame was never acknowledged (a sleeping bus);
		 * ETIMEDOUT, EILSEQ, EBADMSG: the answer broke off. The
		 * exchange is lost; its timer will say so. */
		log_rl(&rl, LOG_INFO, "poll: ISO-TP %X/%X: %s", e->tx, e->rx, strerror(err));
		break;
	}
}

static void ecu_read(struct poller *p, struct ecu *e, uint32_t events, uint64_t now)
{
	uint8_t buf[ISOTP_MAX_PDU + 1];

	if (events & EPOLLERR)
		ecu_error(p, e, now);
	while (e->fd >= 0) {
		ssize_t n = read(e->fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				if (errno == ENETDOWN || errno == ENODEV)
					ecu_close(p, e, now);
			}
			break;
		}
		if (n == 0)
			break;
		on_pdu(p, e, buf, (size_t)n, now);
	}
}

static void j1939_read(struct poller *p, struct item *it, uint64_t now)
{
	uint8_t buf[16];
	ssize_t n;

	while ((n = read(it->fd, buf, sizeof(buf))) > 0) {
		if (it->j1939_wait_ns && diag_j1939_nack(buf, (size_t)n, it->r->pgn)) {
			it->j1939_wait_ns = 0;
			it->negative++;
			p->st.negative++;
			refuse_for_good(p, it, 0x31);
		}
	}
	(void)now;
}

static void listen_read(struct poller *p, uint64_t now)
{
	struct can_frame f;
	bool foreign = false;

	while (read(p->listen_fd, &f, sizeof(f)) > 0) {
		uint32_t id = f.can_id & CAN_EFF_MASK;
		bool ours = false;

		for (size_t i = 0; i < p->n_ecus; i++)
			if (p->ecus[i].tx == id)
				ours = true;
		if (!ours)
			foreign = true;
	}
	if (foreign)
		bus_activity(p, now);
}

/* ---- the broadcast part ------------------------------------------------------ */

static bool frame_is_pgn(const struct can_frame_rec *f, uint32_t pgn)
{
	struct j1939_id jid;

	if (!IS_ENABLED(CONFIG_CAN_J1939) || !(f->flags & CANREC_EXT) ||
	    j1939_parse_id(f->id, &jid))
		return false;
	return jid.pgn == pgn;
}

static void sc_frame(void *ctx, const struct can_frame_rec *f)
{
	struct poller *p = ctx;
	uint64_t now = mono_ns();
	struct eco2_sample s[ROLE_COUNT];
	int n;

	p->delivered++;
	if (!(f->flags & CANREC_ERR)) {
		bool slept = !p->broadcast_ns || now - p->broadcast_ns >= BROADCAST_AWAKE_NS;

		p->broadcast_ns = now;
		if (p->state_broadcast) {
			n = profile_decode(p->prof, f, s, ARRAY_SIZE(s));
			for (int i = 0; i < n; i++)
				note_value(p, &s[i], now);
		}
		for (size_t i = 0; i < p->n_items; i++) {
			struct item *it = &p->items[i];

			if (it->r->kind == DIAG_J1939 && it->j1939_wait_ns &&
			    frame_is_pgn(f, it->r->pgn)) {
				it->j1939_wait_ns = 0;
				answered(p, it, it->j1939_sent_ns, now);
				next_due(p, it, it->j1939_sent_ns, now);
			}
		}
		if (slept)
			bus_activity(p, now);
	}
	p->cb->frame(p->cb->ctx, f);
}

static void sc_event(void *ctx, const char *iface, enum eco2_can_event ev, uint64_t value,
		     uint64_t t_ns)
{
	struct poller *p = ctx;

	if (p->cb->event)
		p->cb->event(p->cb->ctx, iface, ev, value, t_ns);
}

/* ---- sending -------------------------------------------------------------- */

static void bucket_fill(struct poller *p, uint64_t now)
{
	p->bucket += p->budget_bps * (double)(now - p->bucket_ns) / 1e9;
	if (p->bucket > p->bucket_max)
		p->bucket = p->bucket_max;
	p->bucket_ns = now;
}

/* Send what is due; returns the earliest time something else falls due
 * (a request, a timeout, the budget's refill). */
static void send_due(struct poller *p, uint64_t now)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60, 5);

	bucket_fill(p, now);
	for (size_t i = 0; i < p->n_items; i++) {
		struct item *it = &p->items[i];
		double bits = diag_req_bits(it->r, p->padding >= 0);
		int ret;

		if (it->off || it->due_ns > now)
			continue;
		if (it->ecu && (it->ecu->busy || it->ecu->fd < 0))
			continue;
		if (!it->ecu && it->j1939_wait_ns)
			continue;
		if (p->bucket < bits)
			continue;   /* the deadline brings it back when the bucket has refilled */
		ret = tx_request(p, it);
		if (ret == -EAGAIN) {
			/* the previous frame is still going out: shortly */
			it->due_ns = now + RETRY_TX_NS;
			continue;
		}
		it->asked++;
		p->st.requests++;
		if (ret < 0) {
			char buf[64];

			log_rl(&rl, LOG_WARNING, "poll: [poll.%s] %s: %s", it->r->name,
			       req_text(it->r, buf, sizeof(buf)), strerror(-ret));
			if (ret == -EPERM) {
				it->off = true;
				it->due_ns = UINT64_MAX;
				continue;
			}
			missed(p, it, now, now);
			continue;
		}
		p->bucket -= bits;
		p->st.bus_bits += (uint64_t)bits;
		if (it->ecu) {
			it->ecu->busy = it;
			it->ecu->sent_ns = now;
			it->ecu->deadline_ns = now + ms_ns(it->r->timeout_ms);
		} else {
			it->j1939_sent_ns = now;
			it->j1939_wait_ns = now + ms_ns(it->r->timeout_ms ? it->r->timeout_ms : 200);
		}
		it->due_ns = UINT64_MAX;   /* until the answer or the timeout */
	}
}

/* ---- the driver -------------------------------------------------------------- */

static void poller_close(void *priv)
{
	struct poller *p = priv;

	if (!p)
		return;
	for (size_t i = 0; i < p->n_items; i++) {
		const struct item *it = &p->items[i];

		if (!it->asked)
			continue;
		log_info("poll: [poll.%s] %llu asked, %llu answered (latency mean %.1f ms, p50 %.1f ms, p95 %.1f ms, max %.1f ms), %llu no answer, %llu negative, %llu pending",
			 it->r->name, (unsigned long long)it->asked, (unsigned long long)it->answered,
			 it->answered ? (double)it->lat_sum_ns / (double)it->answered / 1e6 : 0.0,
			 (double)hist_quantile(it, 0.5) / 1e6, (double)hist_quantile(it, 0.95) / 1e6,
			 (double)it->lat_max_ns / 1e6, (unsigned long long)it->no_answer,
			 (unsigned long long)it->negative, (unsigned long long)it->pending);
	}
	for (size_t i = 0; i < p->n_ecus; i++)
		if (p->ecus[i].fd >= 0)
			close(p->ecus[i].fd);
	for (size_t i = 0; i < p->n_items; i++)
		if (p->items[i].fd >= 0)
			close(p->items[i].fd);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	socketcan_close(p->sc);
	if (p->epfd >= 0)
		close(p->epfd);
	free(p);
}

static struct ecu *ecu_for(struct poller *p, const struct diag_req *r)
{
	struct ecu *e;

	for (size_t i = 0; i < p->n_ecus; i++)
		if (p->ecus[i].tx == r->tx_id && p->ecus[i].rx == r->rx_id && p->ecus[i].ext == r->ext)
			return &p->ecus[i];
	if (p->n_ecus == MAX_ECUS)
		return NULL;
	e = &p->ecus[p->n_ecus++];
	e->tx = r->tx_id;
	e->rx = r->rx_id;
	e->ext = r->ext;
	e->fd = -1;
	return e;
}

static int poller_open(void **priv, const struct can_source_opts *o)
{
	struct poller *p = calloc(1, sizeof(*p));
	const struct profile_poll_opts *po;
	uint64_t now = mono_ns();
	double max_bits = 0;
	int ret = -EINVAL;

	if (!p)
		return -ENOMEM;
	p->epfd = -1;
	p->listen_fd = -1;
	if (!o->profile || !o->n_ifaces) {
		log_err("poll: a profile and an interface are needed");
		goto out;
	}
	p->prof = o->profile;
	p->reqs = profile_polls(p->prof, &p->n_reqs);
	po = profile_poll_opts(p->prof);
	p->padding = po->padding;
	p->tp = o->transport ? *o->transport : kernel_transport;
	if (strlen(o->ifaces[0]) >= sizeof(p->iface)) {
		log_err("poll: %s: interface name too long", o->ifaces[0]);
		goto out;
	}
	snprintf(p->iface, sizeof(p->iface), "%s", o->ifaces[0]);
	p->ign = -1;
	p->chg = -1;
	p->ign_broadcast = profile_signal(p->prof, ROLE_IGNITION) != NULL;
	p->state_broadcast = p->ign_broadcast || profile_signal(p->prof, ROLE_CHARGING);
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0) {
		ret = -errno;
		goto out;
	}
	if (p->n_reqs > MAX_ITEMS) {
		log_err("poll: at most %d requests", MAX_ITEMS);
		goto out;
	}
	for (size_t i = 0; i < p->n_reqs; i++) {
		struct item *it = &p->items[p->n_items++];
		const struct diag_req *r = &p->reqs[i];

		it->r = r;
		it->fd = -1;
		it->due_ns = r->interval_ms[DIAG_DRIVING] ? now : UINT64_MAX;
		if ((double)diag_req_bits(r, p->padding >= 0) > max_bits)
			max_bits = diag_req_bits(r, p->padding >= 0);
		if (r->kind == DIAG_J1939) {
			it->fd = p->tp.j1939(p->tp.ctx, p->iface, r);
			if (it->fd < 0) {
				ret = it->fd;
				log_err("poll: [poll.%s]: J1939 socket on %s: %s", r->name, p->iface, strerror(-ret));
				goto out;
			}
			ret = watch(p, it->fd, TAG_J1939, i);
			if (ret)
				goto out;
			continue;
		}
		it->ecu = ecu_for(p, r);
		if (!it->ecu) {
			log_err("poll: at most %d ECUs", MAX_ECUS);
			goto out;
		}
		if (it->ecu->fd >= 0)
			continue;
		ret = ecu_open(p, it->ecu, r);
		if (ret) {
			log_err("poll: [poll.%s]: ISO-TP socket %X/%X on %s: %s", r->name, r->tx_id,
				r->rx_id, p->iface, strerror(-ret));
			goto out;
		}
	}
	/* The broadcast part: the SocketCAN source with the profile's filters. */
	if (o->n_ids) {
		ret = socketcan_open(&p->sc, o->ifaces, o->n_ifaces, o->ids, o->n_ids, &o->socketcan);
		if (ret)
			goto out;
		ret = watch(p, socketcan_fd(p->sc), TAG_SC, 0);
		if (ret)
			goto out;
	} else {
		p->listen_fd = p->tp.listener(p->tp.ctx, p->iface);
		if (p->listen_fd < 0) {
			ret = p->listen_fd;
			log_err("poll: listener on %s: %s", p->iface, strerror(-ret));
			goto out;
		}
		ret = watch(p, p->listen_fd, TAG_LISTEN, 0);
		if (ret)
			goto out;
	}
	p->budget_bps = po->budget_pct / 100 * po->bitrate;
	p->bucket_max = p->budget_bps > max_bits ? p->budget_bps : max_bits;
	p->bucket = p->bucket_max;
	p->bucket_ns = now;
	/* Until the car says otherwise, everything is asked once. */
	p->state = DIAG_DRIVING;
	log_info("poll: %zu requests to %zu ECUs on %s", p->n_reqs, p->n_ecus, p->iface);
	*priv = p;
	return 0;
out:
	poller_close(p);
	return ret;
}

static int poller_fd(void *priv)
{
	return ((struct poller *)priv)->epfd;
}

static uint64_t poller_deadline(void *priv)
{
	struct poller *p = priv;
	uint64_t d = p->sc ? socketcan_deadline_ns(p->sc) : UINT64_MAX;
	double bits;

	for (size_t i = 0; i < p->n_ecus; i++) {
		const struct ecu *e = &p->ecus[i];

		if (e->busy && e->deadline_ns < d)
			d = e->deadline_ns;
		if (e->fd < 0 && e->reopen_ns < d)
			d = e->reopen_ns;
	}
	for (size_t i = 0; i < p->n_items; i++) {
		const struct item *it = &p->items[i];
		uint64_t due = it->due_ns;

		if (it->j1939_wait_ns && it->j1939_wait_ns < d)
			d = it->j1939_wait_ns;
		if (it->off || due == UINT64_MAX || (it->ecu && (it->ecu->busy || it->ecu->fd < 0)))
			continue;
		bits = diag_req_bits(it->r, p->padding >= 0);
		if (p->bucket < bits && p->budget_bps > 0)
			due += (uint64_t)((bits - p->bucket) / p->budget_bps * 1e9);
		if (due < d)
			d = due;
	}
	/* the end of the hold-off turns the listener on */
	if (p->state == DIAG_PARKED && p->listen_fd >= 0 && !p->listening && p->holdoff_ns < d)
		d = p->holdoff_ns;
	return d;
}

static int poller_dispatch(void *priv, const struct can_source_cb *cb)
{
	struct poller *p = priv;
	struct epoll_event evs[16];
	uint64_t now;
	int n, ret = 0;

	p->cb = cb;
	p->delivered = 0;
	n = epoll_wait(p->epfd, evs, (int)ARRAY_SIZE(evs), 0);
	if (n < 0 && errno != EINTR)
		return -errno;
	now = mono_ns();
	for (int i = 0; i < n; i++) {
		enum tag tag = (enum tag)(evs[i].data.u64 >> 32);
		size_t idx = (size_t)(evs[i].data.u64 & 0xffffffffu);

		switch (tag) {
		case TAG_SC: {
			const struct socketcan_cb scb = { .frame = sc_frame, .event = sc_event, .ctx = p };

			ret = socketcan_dispatch(p->sc, &scb);
			break;
		}
		case TAG_ECU:
			ecu_read(p, &p->ecus[idx], evs[i].events, now);
			break;
		case TAG_J1939:
			j1939_read(p, &p->items[idx], now);
			break;
		case TAG_LISTEN:
			listen_read(p, now);
			break;
		}
	}
	now = mono_ns();   /* frames handled above may be newer than the first look */
	if (p->sc && !n && socketcan_deadline_ns(p->sc) <= now) {
		const struct socketcan_cb scb = { .frame = sc_frame, .event = sc_event, .ctx = p };

		ret = socketcan_dispatch(p->sc, &scb);
	}
	for (size_t i = 0; i < p->n_ecus; i++) {
		struct ecu *e = &p->ecus[i];

		if (e->busy && e->deadline_ns <= now)
			ecu_timeout(p, e, now);
		if (e->fd < 0 && e->reopen_ns <= now) {
			const struct diag_req *r = ecu_req(p, e);

			if (r && ecu_open(p, e, r) < 0)
				ecu_close(p, e, now);
		}
	}
	for (size_t i = 0; i < p->n_items; i++) {
		struct item *it = &p->items[i];

		if (it->j1939_wait_ns && it->j1939_wait_ns <= now) {
			it->j1939_wait_ns = 0;
			missed(p, it, it->j1939_sent_ns, now);
		}
	}
	update_state(p, now);
	send_due(p, now);
	p->cb = NULL;
	return ret < 0 ? ret : p->delivered;
}

static void poller_stats(void *priv, struct can_source_stats *st)
{
	struct poller *p = priv;
	struct socketcan_stats s;

	*st = p->st;
	for (size_t i = 0; p->sc && !socketcan_stats(p->sc, i, &s); i++)
		st->frames += s.frames;
}

const struct can_source_driver can_source_poller = {
	.name = "poller",
	.open = poller_open,
	.close = poller_close,
	.fd = poller_fd,
	.deadline_ns = poller_deadline,
	.dispatch = poller_dispatch,
	.stats = poller_stats,
};
