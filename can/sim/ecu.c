/* ecu — eco2-sim plays the ECUs a polled profile asks (see ecu.h). */
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/can.h>
#include <linux/can/isotp.h>
#include <linux/can/raw.h>

#include "lib/log.h"
#include "can/isotp.h"
#include "can/j1939.h"
#include "can/sim/ecu.h"

#define MAX_REQS    32
#define MAX_LATER   64          /* answers waiting to be sent late */
#define PENDING_GAP_MS 100      /* between "response pending" answers */

enum reply_mode { REPLY_NORMAL, REPLY_SLOW, REPLY_PENDING, REPLY_NRC, REPLY_SILENT };

struct reply {
	enum reply_mode mode;
	unsigned arg;               /* ms, count or NRC */
};

struct later {
	int fd;                     /* -1: free */
	struct timespec due;
	uint8_t *pdu;
	size_t len;
};

struct sim_ecus {
	const profile_t *p;
	const struct diag_req *reqs;
	size_t n;
	int padding;
	sim_value_fn *value;
	void *ctx;
	struct reply all, per[MAX_REQS];
	bool has_per[MAX_REQS];
	/* live */
	int fd[MAX_REQS];           /* per request: its ECU's ISO-TP socket (shared) */
	int j1939_fd;
	struct later later[MAX_LATER];
	/* log */
	int64_t due_ms[MAX_REQS];
	int seen_ign, seen_chg;     /* as the tester last read them; -1 unknown */
	int true_ign, true_chg;     /* the model's, at the last tick */
	unsigned long requests, asleep_requests;
};

int ecus_new(sim_ecus_t **out, const profile_t *p, sim_value_fn *value, void *ctx)
{
	sim_ecus_t *e = calloc(1, sizeof(*e));

	*out = NULL;
	if (!e)
		return -ENOMEM;
	e->p = p;
	e->reqs = profile_polls(p, &e->n);
	if (e->n > MAX_REQS) {
		free(e);
		log_err("at most %d [poll.NAME] requests", MAX_REQS);
		return -EINVAL;
	}
	e->padding = profile_poll_opts(p)->padding;
	e->value = value;
	e->ctx = ctx;
	e->j1939_fd = -1;
	e->seen_ign = e->seen_chg = -1;
	e->true_ign = e->true_chg = -1;
	for (size_t i = 0; i < MAX_REQS; i++) {
		e->fd[i] = -1;
		e->due_ms[i] = -1;
	}
	for (size_t i = 0; i < MAX_LATER; i++)
		e->later[i].fd = -1;
	*out = e;
	return 0;
}

void ecus_free(sim_ecus_t *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		bool shared = false;

		for (size_t j = 0; j < i; j++)
			if (e->fd[j] == e->fd[i])
				shared = true;
		if (e->fd[i] >= 0 && !shared)
			close(e->fd[i]);
	}
	if (e->j1939_fd >= 0)
		close(e->j1939_fd);
	for (size_t i = 0; i < MAX_LATER; i++)
		free(e->later[i].pdu);
	free(e);
}

int ecus_reply_option(sim_ecus_t *e, const char *arg)
{
	char mode[64];
	const char *at = strchr(arg, '@'), *eq;
	struct reply r = { .mode = REPLY_NORMAL };
	size_t n = at ? (size_t)(at - arg) : strlen(arg);
	char *end;
	unsigned long v = 0;

	if (n >= sizeof(mode))
		goto bad;
	memcpy(mode, arg, n);
	mode[n] = '\0';
	eq = strchr(mode, '=');
	if (eq) {
		errno = 0;
		v = strtoul(eq + 1, &end, strncmp(mode, "nrc=", 4) ? 10 : 16);
		if (errno || end == eq + 1 || *end || v > 60000)
			goto bad;
	}
	if (!strncmp(mode, "slow=", 5)) {
		r.mode = REPLY_SLOW;
	} else if (!strncmp(mode, "pending=", 8) && v >= 1 && v <= 100) {
		r.mode = REPLY_PENDING;
	} else if (!strncmp(mode, "nrc=", 4) && v <= 0xff && v != 0x78) {
		r.mode = REPLY_NRC;
	} else if (!strcmp(mode, "silent")) {
		r.mode = REPLY_SILENT;
	} else if (!strcmp(mode, "normal")) {
		r.mode = REPLY_NORMAL;
	} else {
		goto bad;
	}
	r.arg = (unsigned)v;
	if (!at) {
		e->all = r;
		return 0;
	}
	for (size_t i = 0; i < e->n; i++)
		if (!strcmp(e->reqs[i].name, at + 1)) {
			e->per[i] = r;
			e->has_per[i] = true;
			return 0;
		}
	log_err("--ecu-reply %s: the profile has no [poll.%s]", arg, at + 1);
	return -EINVAL;
bad:
	log_err("--ecu-reply: expected slow=MS, pending=N, nrc=HEX, silent or normal, optionally @NAME; got \"%s\"",
		arg);
	return -EINVAL;
}

static const struct reply *reply_of(const sim_ecus_t *e, size_t i)
{
	return e->has_per[i] ? &e->per[i] : &e->all;
}

/* PGN of message m, as a J1939 request names it. */
static uint32_t msg_pgn(const struct dbc_message *m)
{
	uint32_t pgn = m->id >> 8 & 0x3ffff;

	return (pgn >> 8 & 0xff) < 240 ? pgn & 0x3ff00 : pgn;
}

bool ecus_on_request(const sim_ecus_t *e, const struct dbc_message *m)
{
	for (size_t i = 0; e && i < e->n; i++)
		if (e->reqs[i].kind == DIAG_J1939 && m->is_ext && msg_pgn(m) == e->reqs[i].pgn)
			return true;
	return false;
}

/* ---- answers ------------------------------------------------------------- */

static void put_field(const struct diag_field *f, double value, uint8_t *data, size_t len)
{
	double phys, raw_d, lo, hi;
	uint64_t raw;

	if ((size_t)f->pos + (f->len ? f->len : 1u) > len)
		return;
	if (f->len == 0) {
		if (value != 0)
			data[f->pos] |= (uint8_t)(1u << f->bit);
		return;
	}
	phys = value / f->factor;
	raw_d = round((phys - f->offset) / f->scale);
	hi = f->is_signed ? ldexp(1.0, 8 * f->len - 1) - 1 : ldexp(1.0, 8 * f->len) - 1;
	lo = f->is_signed ? -ldexp(1.0, 8 * f->len - 1) : 0;
	if (f->len == 8)
		hi = f->is_signed ? 9.2e18 : 1.8e19;
	if (!(raw_d >= lo))
		raw_d = lo;
	if (raw_d > hi)
		raw_d = hi;
	raw = raw_d < 0 ? (uint64_t)(int64_t)raw_d : (uint64_t)raw_d;
	for (unsigned i = 0; i < f->len; i++) {
		unsigned k = f->le ? i : f->len - 1u - i;

		data[f->pos + k] = (uint8_t)(raw >> (8 * i));
	}
}

/* The positive answer to r from the model now: header + answer data. */
static size_t encode_answer(const sim_ecus_t *e, const struct diag_req *r, uint8_t *buf)
{
	size_t len = r->answer_len > r->req_len ? r->answer_len : r->req_len;

	memset(buf, 0, len);
	buf[0] = (uint8_t)(r->req[0] + 0x40);
	memcpy(buf + 1, r->req + 1, r->req_len - 1u);
	for (unsigned k = 0; k < r->n_fields; k++)
		put_field(&r->fields[k], e->value(e->ctx, r->fields[k].role), buf + r->req_len,
			  len - r->req_len);
	return len;
}

/* The group a J1939 request asks for: every role the profile reads from
 * it, the rest "not available" (0xFF). */
static int encode_j1939(const sim_ecus_t *e, const struct diag_req *r, struct can_frame_rec *f)
{
	memset(f, 0, sizeof(*f));
	memset(f->data, 0xff, 8);
	f->len = 8;
	f->raw_dlc = 8;
	f->flags = CANREC_EXT;
	for (int role = 0; role < ROLE_COUNT; role++) {
		const struct dbc_signal *s = profile_signal(e->p, (enum eco2_role)role);
		uint32_t id;
		bool ext;

		if (!s || !s->message->is_ext || msg_pgn(s->message) != r->pgn)
			continue;
		if (profile_encode(e->p, (enum eco2_role)role, e->value(e->ctx, (enum eco2_role)role),
				   f->data, 8, &id, &ext) < 0)
			return -EINVAL;
		f->id = id;
	}
	return f->id ? 0 : -ENOENT;
}

/* ---- live ----------------------------------------------------------------- */

static int open_isotp(const char *iface, const struct diag_req *r, int padding)
{
	struct sockaddr_can a = { .can_family = AF_CAN };
	struct can_isotp_options o = { 0 };
	int fd = socket(PF_CAN, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_ISOTP);

	if (fd < 0) {
		if (errno == EPROTONOSUPPORT || errno == EAFNOSUPPORT)
			log_err("this kernel has no CAN_ISOTP (can-isotp module): %s", strerror(errno));
		else
			log_err("%s: ISO-TP socket: %s", iface, strerror(errno));
		return -errno;
	}
	if (padding >= 0) {
		o.flags = CAN_ISOTP_TX_PADDING;
		o.txpad_content = (uint8_t)padding;
	}
	a.can_ifindex = (int)if_nametoindex(iface);
	/* The ECU's side: it sends on the answer id, listens on the request id. */
	a.can_addr.tp.tx_id = r->rx_id | (r->ext ? CAN_EFF_FLAG : 0);
	a.can_addr.tp.rx_id = r->tx_id | (r->ext ? CAN_EFF_FLAG : 0);
	if (!a.can_ifindex || setsockopt(fd, SOL_CAN_ISOTP, CAN_ISOTP_OPTS, &o, sizeof(o)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int ret = a.can_ifindex ? -errno : -ENODEV;

		log_err("%s: ISO-TP %X/%X: %s", iface, r->rx_id, r->tx_id, strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

/* A raw socket that receives J1939 requests (PF 0xEA) only. */
static int open_j1939(const char *iface)
{
	struct sockaddr_can a = { .can_family = AF_CAN };
	struct can_filter f = { .can_id = CAN_EFF_FLAG | 0x00ea0000u,
				.can_mask = CAN_EFF_FLAG | CAN_RTR_FLAG | 0x00ff0000u };
	int fd = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);

	if (fd < 0)
		return -errno;
	a.can_ifindex = (int)if_nametoindex(iface);
	if (!a.can_ifindex || setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, &f, sizeof(f)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int ret = a.can_ifindex ? -errno : -ENODEV;

		close(fd);
		return ret;
	}
	return fd;
}

int ecus_open_live(sim_ecus_t *e, const char *iface)
{
	for (size_t i = 0; i < e->n; i++) {
		const struct diag_req *r = &e->reqs[i];

		if (r->kind == DIAG_J1939) {
			if (e->j1939_fd < 0) {
				e->j1939_fd = open_j1939(iface);
				if (e->j1939_fd < 0) {
					log_err("%s: J1939 request listener: %s", iface, strerror(-e->j1939_fd));
					return e->j1939_fd;
				}
			}
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (e->reqs[j].kind == DIAG_ISOTP && e->reqs[j].tx_id == r->tx_id &&
			    e->reqs[j].ext == r->ext)
				e->fd[i] = e->fd[j];
		if (e->fd[i] < 0) {
			e->fd[i] = open_isotp(iface, r, e->padding);
			if (e->fd[i] < 0)
				return e->fd[i];
		}
	}
	return 0;
}

static void ts_add_ms(struct timespec *t, unsigned ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void send_pdu(int fd, const uint8_t *pdu, size_t len)
{
	/* The previous answer may still be going out (EAGAIN): the tester
	 * then sees a miss, as with a busy ECU. */
	if (write(fd, pdu, len) != (ssize_t)len && errno != EAGAIN)
		log_warn("ISO-TP answer: %s", strerror(errno));
}

static void later(sim_ecus_t *e, int fd, const struct timespec *now, unsigned ms,
		  const uint8_t *pdu, size_t len)
{
	for (size_t i = 0; i < MAX_LATER; i++) {
		struct later *l = &e->later[i];

		if (l->fd >= 0)
			continue;
		free(l->pdu);
		l->pdu = malloc(len);
		if (!l->pdu)
			return;
		memcpy(l->pdu, pdu, len);
		l->len = len;
		l->fd = fd;
		l->due = *now;
		ts_add_ms(&l->due, ms);
		return;
	}
	log_warn("more than %d late answers waiting: one dropped", MAX_LATER);
}

static void answer_isotp(sim_ecus_t *e, size_t i, const struct timespec *now)
{
	const struct diag_req *r = &e->reqs[i];
	const struct reply *rp = reply_of(e, i);
	uint8_t pdu[ISOTP_MAX_PDU], neg[3] = { 0x7f, r->req[0], 0x78 };
	size_t len;

	switch (rp->mode) {
	case REPLY_SILENT:
		return;
	case REPLY_NRC:
		neg[2] = (uint8_t)rp->arg;
		send_pdu(e->fd[i], neg, 3);
		return;
	case REPLY_PENDING:
		send_pdu(e->fd[i], neg, 3);
		for (unsigned k = 1; k < rp->arg; k++)
			later(e, e->fd[i], now, k * PENDING_GAP_MS, neg, 3);
		len = encode_answer(e, r, pdu);
		later(e, e->fd[i], now, rp->arg * PENDING_GAP_MS, pdu, len);
		return;
	case REPLY_SLOW:
		len = encode_answer(e, r, pdu);
		later(e, e->fd[i], now, rp->arg, pdu, len);
		return;
	case REPLY_NORMAL:
		len = encode_answer(e, r, pdu);
		send_pdu(e->fd[i], pdu, len);
		return;
	}
}

static void on_isotp(sim_ecus_t *e, int fd, bool asleep, const struct timespec *now)
{
	uint8_t req[ISOTP_MAX_PDU];
	ssize_t n;

	while ((n = read(fd, req, sizeof(req))) > 0) {
		bool known = false;

		e->requests++;
		if (asleep) {
			e->asleep_requests++;
			continue;
		}
		for (size_t i = 0; i < e->n && !known; i++) {
			const struct diag_req *r = &e->reqs[i];

			if (e->fd[i] == fd && r->req_len == (size_t)n && !memcmp(r->req, req, (size_t)n)) {
				known = true;
				answer_isotp(e, i, now);
			}
		}
		if (!known) {
			/* Not a request this ECU knows: out of range. */
			const uint8_t neg[3] = { 0x7f, req[0], 0x31 };

			send_pdu(fd, neg, 3);
		}
	}
}

static void on_j1939(sim_ecus_t *e, bool asleep, sim_emit_fn *emit, void *ctx)
{
	struct can_frame cf;

	while (read(e->j1939_fd, &cf, sizeof(cf)) == (ssize_t)sizeof(cf)) {
		uint32_t pgn;

		if (cf.len < 3)
			continue;
		pgn = (uint32_t)cf.data[0] | (uint32_t)cf.data[1] << 8 | (uint32_t)(cf.data[2] & 3) << 16;
		e->requests++;
		if (asleep) {
			e->asleep_requests++;
			continue;
		}
		for (size_t i = 0; i < e->n; i++) {
			struct can_frame_rec f;

			if (e->reqs[i].kind != DIAG_J1939 || e->reqs[i].pgn != pgn ||
			    reply_of(e, i)->mode == REPLY_SILENT)
				continue;
			if (!encode_j1939(e, &e->reqs[i], &f))
				(void)emit(ctx, &f);
			break;
		}
	}
}

int ecus_serve_until(sim_ecus_t *e, const struct timespec *until, bool asleep,
		     sim_emit_fn *emit, void *ctx)
{
	for (;;) {
		struct pollfd pfd[MAX_REQS + 1];
		struct timespec now, wake = *until, tmo;
		int n = 0, k;

		clock_gettime(CLOCK_MONOTONIC, &now);
		for (size_t i = 0; i < MAX_LATER; i++) {
			struct later *l = &e->later[i];

			if (l->fd < 0)
				continue;
			if (!ts_before(&now, &l->due)) {
				if (!asleep)
					send_pdu(l->fd, l->pdu, l->len);
				l->fd = -1;
			} else if (ts_before(&l->due, &wake)) {
				wake = l->due;
			}
		}
		if (!ts_before(&now, until))
			return 0;
		for (size_t i = 0; i < e->n; i++) {
			bool dup = false;

			for (int j = 0; j < n; j++)
				if (pfd[j].fd == e->fd[i])
					dup = true;
			if (e->fd[i] >= 0 && !dup)
				pfd[n++] = (struct pollfd){ .fd = e->fd[i], .events = POLLIN };
		}
		if (e->j1939_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = e->j1939_fd, .events = POLLIN };
		tmo.tv_sec = wake.tv_sec - now.tv_sec;
		tmo.tv_nsec = wake.tv_nsec - now.tv_nsec;
		if (tmo.tv_nsec < 0) {
			tmo.tv_sec--;
			tmo.tv_nsec += 1000000000L;
		}
		if (tmo.tv_sec < 0)
			tmo.tv_sec = tmo.tv_nsec = 0;
		k = ppoll(pfd, (nfds_t)n, &tmo, NULL);
		if (k < 0 && errno != EINTR)
			return -errno;
		if (k <= 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (int j = 0; j < n; j++) {
			if (!(pfd[j].revents & POLLIN))
				continue;
			if (pfd[j].fd == e->j1939_fd)
				on_j1939(e, asleep, emit, ctx);
			else
				on_isotp(e, pfd[j].fd, asleep, &now);
		}
	}
}

/* ---- log --------------------------------------------------------------------- */

static int emit_pdu(sim_ecus_t *e, uint32_t id, bool ext, const uint8_t *pdu, size_t len,
		    uint32_t fc_id, sim_emit_fn *emit, void *ctx)
{
	static uint8_t frames[(ISOTP_MAX_PDU + 6) / 7 + 1][8];
	static uint8_t dlc[(ISOTP_MAX_PDU + 6) / 7 + 1];
	struct can_frame_rec f;
	int k = isotp_segment(pdu, len, e->padding, frames, dlc, ARRAY_SIZE(dlc)), ret;

	if (k < 0)
		return k;
	for (int i = 0; i < k; i++) {
		memset(&f, 0, sizeof(f));
		f.id = id;
		f.flags = ext ? CANREC_EXT : 0;
		f.len = dlc[i];
		f.raw_dlc = dlc[i];
		memcpy(f.data, frames[i], dlc[i]);
		ret = emit(ctx, &f);
		if (ret < 0)
			return ret;
		if (i == 0 && k > 1) {
			/* the receiver's flow control, on the other id */
			memset(&f, 0, sizeof(f));
			f.id = fc_id;
			f.flags = ext ? CANREC_EXT : 0;
			f.len = (uint8_t)isotp_flow_control(e->padding, f.data);
			f.raw_dlc = f.len;
			ret = emit(ctx, &f);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

static int log_exchange(sim_ecus_t *e, size_t i, sim_emit_fn *emit, void *ctx)
{
	const struct diag_req *r = &e->reqs[i];
	const struct reply *rp = reply_of(e, i);
	uint8_t pdu[ISOTP_MAX_PDU], neg[3] = { 0x7f, r->req[0], 0x78 };
	struct can_frame_rec f;
	size_t len;
	int ret;

	e->requests++;
	if (r->kind == DIAG_J1939) {
		memset(&f, 0, sizeof(f));
		f.id = r->tx_id;
		f.flags = CANREC_EXT;
		f.len = f.raw_dlc = r->req_len;
		memcpy(f.data, r->req, r->req_len);
		ret = emit(ctx, &f);
		if (ret < 0 || rp->mode == REPLY_SILENT)
			return ret;
		ret = encode_j1939(e, r, &f);
		return ret < 0 ? ret : emit(ctx, &f);
	}
	ret = emit_pdu(e, r->tx_id, r->ext, r->req, r->req_len, r->rx_id, emit, ctx);
	if (ret < 0)
		return ret;
	switch (rp->mode) {
	case REPLY_SILENT:
		return 0;
	case REPLY_NRC:
		neg[2] = (uint8_t)rp->arg;
		return emit_pdu(e, r->rx_id, r->ext, neg, 3, r->tx_id, emit, ctx);
	case REPLY_PENDING:
		for (unsigned k = 0; k < rp->arg; k++) {
			ret = emit_pdu(e, r->rx_id, r->ext, neg, 3, r->tx_id, emit, ctx);
			if (ret < 0)
				return ret;
		}
		break;
	case REPLY_SLOW:
	case REPLY_NORMAL:
		break;
	}
	len = encode_answer(e, r, pdu);
	for (unsigned k = 0; k < r->n_fields; k++) {
		if (r->fields[k].role == ROLE_IGNITION)
			e->seen_ign = e->value(e->ctx, ROLE_IGNITION) != 0;
		if (r->fields[k].role == ROLE_CHARGING)
			e->seen_chg = e->value(e->ctx, ROLE_CHARGING) != 0;
	}
	return emit_pdu(e, r->rx_id, r->ext, pdu, len, r->tx_id, emit, ctx);
}

/* The state the tester knows: broadcast states as they are, polled ones
 * as last answered (like eco2d's poller; unknown: asked as if driving). */
static enum diag_state tester_state(const sim_ecus_t *e)
{
	int ign = -1, chg = -1;

	if (profile_poll_of(e->p, ROLE_IGNITION, NULL))
		ign = e->seen_ign;
	else if (profile_signal(e->p, ROLE_IGNITION))
		ign = e->value(e->ctx, ROLE_IGNITION) != 0;
	if (profile_poll_of(e->p, ROLE_CHARGING, NULL))
		chg = e->seen_chg;
	else if (profile_signal(e->p, ROLE_CHARGING))
		chg = e->value(e->ctx, ROLE_CHARGING) != 0;
	return diag_state_of(ign, chg, true);
}

int ecus_log_tick(sim_ecus_t *e, int64_t t_ms, bool asleep, sim_emit_fn *emit, void *ctx)
{
	int ign = e->value(e->ctx, ROLE_IGNITION) != 0, chg = e->value(e->ctx, ROLE_CHARGING) != 0;
	enum diag_state st;

	/* Switching the ignition or the charger wakes the bus: eco2d's
	 * listener hears it and asks again. So does the tester here. */
	if (asleep || ign != e->true_ign || chg != e->true_chg)
		e->seen_ign = e->seen_chg = -1;
	e->true_ign = ign;
	e->true_chg = chg;
	st = tester_state(e);
	for (size_t i = 0; i < e->n; i++) {
		uint32_t iv = e->reqs[i].interval_ms[st];
		int ret;

		if (asleep || !iv) {
			e->due_ms[i] = -1;   /* due at once when asked again */
			continue;
		}
		if (e->due_ms[i] < 0)
			e->due_ms[i] = t_ms;
		if (t_ms < e->due_ms[i])
			continue;
		e->due_ms[i] = t_ms + iv;
		ret = log_exchange(e, i, emit, ctx);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void ecus_counts(const sim_ecus_t *e, unsigned long *requests, unsigned long *asleep)
{
	*requests = e ? e->requests : 0;
	*asleep = e ? e->asleep_requests : 0;
}
