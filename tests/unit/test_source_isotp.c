/* Unit tests for can/source_isotp.c, the poller, against scripted ECUs.
 *
 * The poller's sockets come from a transport table; here each ISO-TP or
 * J1939 socket is one end of an AF_UNIX SOCK_SEQPACKET pair (one write, one
 * request; one read, one answer: the datagram semantics of CAN_ISOTP) and
 * the test plays the ECU on the other end. The real kernel sockets are
 * exercised under qemu (tests/integration/poll_vcan.sh). Timing: intervals
 * of tens of milliseconds; every assertion is about what was sent and
 * decoded, or bounds that only loosen on a slow machine. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "lib/log.h"
#define PROBE_HOLDOFF_NS (200 * 1000000ull)   /* 30 s in the product */
#include "can/source_isotp.c"

#include "tests/unit/test_util.h"

/* ---- scripted ECUs ---------------------------------------------------------- */

enum mode { ANSWER, NRC, PENDING, SILENT };

struct fake_ecu {
	uint32_t tx, rx;
	int fd;                    /* our end */
	enum mode mode;
	uint8_t nrc;
	uint8_t answer[64];        /* the answer's data after the echoed header */
	size_t answer_len;
	unsigned requests;
	uint8_t last_req[8];
	size_t last_len;
	uint64_t later_ns;         /* PENDING: the real answer at this time */
	uint8_t later[80];
	size_t later_len;
};

struct world {
	struct fake_ecu ecu[4];
	size_t n_ecu;
	int j1939_fd, listen_fd;
	int listen_on, listen_calls;
	struct eco2_sample samples[256];
	size_t n_samples;
	unsigned frames;
};

static struct world w;

static int fake_isotp(void *ctx, const char *iface, const struct diag_req *r, int padding)
{
	int sv[2];
	struct fake_ecu *e;
	(void)ctx; (void)iface; (void)padding;

	for (size_t i = 0; i < w.n_ecu; i++)
		if (w.ecu[i].tx == r->tx_id) {
			e = &w.ecu[i];
			goto found;
		}
	return -ENODEV;
found:
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	e->fd = sv[1];
	return sv[0];
}

static int fake_j1939(void *ctx, const char *iface, const struct diag_req *r)
{
	int sv[2];
	(void)ctx; (void)iface; (void)r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	w.j1939_fd = sv[1];
	return sv[0];
}

static int fake_listener(void *ctx, const char *iface)
{
	int sv[2];
	(void)ctx; (void)iface;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	w.listen_fd = sv[1];
	return sv[0];
}

static int fake_listen(void *ctx, int fd, bool on)
{
	(void)ctx; (void)fd;
	w.listen_on = on;
	w.listen_calls++;
	return 0;
}

static const struct poll_transport fake = {
	.isotp = fake_isotp, .j1939 = fake_j1939, .listener = fake_listener, .listen = fake_listen,
};

static void ecu_answer(struct fake_ecu *e, const uint8_t *pdu, size_t len)
{
	assert_int_equal(write(e->fd, pdu, len), (ssize_t)len);
}

/* Serve every request waiting at the fake ECUs. */
static void serve(void)
{
	uint64_t now = mono_ns();

	for (size_t i = 0; i < w.n_ecu; i++) {
		struct fake_ecu *e = &w.ecu[i];
		uint8_t req[16], pdu[80];
		ssize_t n;

		if (e->later_len && now >= e->later_ns) {
			ecu_answer(e, e->later, e->later_len);
			e->later_len = 0;
		}
		while (e->fd >= 0 && (n = read(e->fd, req, sizeof(req))) > 0) {
			e->requests++;
			memcpy(e->last_req, req, (size_t)n);
			e->last_len = (size_t)n;
			pdu[0] = req[0] + 0x40;
			memcpy(pdu + 1, req + 1, (size_t)n - 1);
			memcpy(pdu + n, e->answer, e->answer_len);
			switch (e->mode) {
			case ANSWER:
				ecu_answer(e, pdu, (size_t)n + e->answer_len);
				break;
			case NRC: {
				const uint8_t neg[3] = { 0x7f, req[0], e->nrc };
				ecu_answer(e, neg, 3);
				break;
			}
			case PENDING: {
				const uint8_t neg[3] = { 0x7f, req[0], 0x78 };
				ecu_answer(e, neg, 3);
				ecu_answer(e, neg, 3);
				memcpy(e->later, pdu, (size_t)n + e->answer_len);
				e->later_len = (size_t)n + e->answer_len;
				e->later_ns = now + 60 * 1000000ull;   /* after P2, within P2* */
				break;
			}
			case SILENT:
				break;
			}
		}
	}
}

static void on_frame(void *ctx, const struct can_frame_rec *f)
{
	(void)ctx; (void)f;
	w.frames++;
}

static void on_sample(void *ctx, const struct eco2_sample *s)
{
	(void)ctx;
	if (w.n_samples < ARRAY_SIZE(w.samples))
		w.samples[w.n_samples++] = *s;
}

static const struct can_source_cb cb = { .frame = on_frame, .sample = on_sample };

/* eco2d's loop in miniature for `ms` milliseconds: wait for the source's fd
 * or its deadline, dispatch, let the ECUs answer. */
static void run(struct poller *src, unsigned ms)
{
	uint64_t end = mono_ns() + ms * 1000000ull;

	for (;;) {
		uint64_t now = mono_ns(), d = poller_deadline(src);
		struct pollfd pfd[5] = { { .fd = poller_fd(src), .events = POLLIN } };
		int n = 1, timeout;

		if (now >= end)
			break;
		if (d > end)
			d = end;
		for (size_t i = 0; i < w.n_ecu; i++)
			pfd[n++] = (struct pollfd){ .fd = w.ecu[i].fd, .events = POLLIN };
		timeout = d > now ? (int)((d - now) / 1000000 + 1) : 0;
		if (timeout > 5)
			timeout = 5;   /* the fake ECUs' delayed answers */
		(void)poll(pfd, (nfds_t)n, timeout);
		serve();
		assert_true(poller_dispatch(src, &cb) >= 0);
		serve();
	}
}

static profile_t *profile(const char *text)
{
	profile_t *p = NULL;

	if (profile_load_buffer(&p, "t.profile", text, strlen(text), NULL))
		fail_msg("profile does not load:\n%s", messages);
	return p;
}

static struct poller *open_poller(const profile_t *p)
{
	const char *ifaces[] = { "vcan0" };
	struct can_source_opts o = { .ifaces = ifaces, .n_ifaces = 1, .profile = p,
				     .transport = &fake };
	void *priv = NULL;

	assert_int_equal(can_source_poller.open(&priv, &o), 0);
	return priv;
}

static struct can_source_stats stats(struct poller *pl)
{
	struct can_source_stats st;

	memset(&st, 0, sizeof(st));
	poller_stats(pl, &st);
	return st;
}

static void world_reset(void)
{
	memset(&w, 0, sizeof(w));
	w.j1939_fd = w.listen_fd = -1;
}

static struct fake_ecu *add_ecu(uint32_t tx, uint32_t rx)
{
	struct fake_ecu *e = &w.ecu[w.n_ecu++];

	e->tx = tx;
	e->rx = rx;
	e->fd = -1;
	return e;
}

static void close_world(void)
{
	for (size_t i = 0; i < w.n_ecu; i++)
		if (w.ecu[i].fd >= 0)
			close(w.ecu[i].fd);
	if (w.j1939_fd >= 0)
		close(w.j1939_fd);
	if (w.listen_fd >= 0)
		close(w.listen_fd);
}

static const struct eco2_sample *last_sample(enum eco2_role role)
{
	for (size_t i = w.n_samples; i-- > 0;)
		if (w.samples[i].role == role)
			return &w.samples[i];
	return NULL;
}

static int count_messages(const char *needle)
{
	int n = 0;

	for (const char *m = strstr(messages, needle); m; m = strstr(m + 1, needle))
		n++;
	return n;
}

#define TWO_ECUS \
	"[vehicle]\nname = t\n[poll]\nbudget_pct = 50\n" \
	"[poll.odo]\necu = 7E0 7E8\nrequest = 01 A6\ndriving_s = 0.02\nparked_s = 0\n" \
	"odometer = 0:4 * 0.1 km\n" \
	"[poll.bms]\necu = 7E4 7EC\nrequest = 22 01 01\ndriving_s = 0.02\ntimeout_ms = 40\n" \
	"pending_ms = 500\npack_current = 0:2 signed * 0.1 A\npack_voltage = 2:2 * 0.1 V\n" \
	"ignition = 4.2\n"

/* Answers become samples in canonical units; requests are exactly the
 * declared bytes to the declared ECU. */
static void test_answers(void **state)
{
	profile_t *p = profile(TWO_ECUS);
	struct fake_ecu *odo, *bms;
	const struct eco2_sample *s;
	struct can_source_stats st;
	struct poller *src;
	(void)state;

	world_reset();
	odo = add_ecu(0x7e0, 0x7e8);
	bms = add_ecu(0x7e4, 0x7ec);
	memcpy(odo->answer, "\x00\x01\xe2\x40", 4);           /* 12345.6 km */
	odo->answer_len = 4;
	memcpy(bms->answer, "\xff\x38\x0e\xd8\x04", 5);       /* -20.0 A, 380.0 V, ignition */
	bms->answer_len = 5;
	src = open_poller(p);
	run(src, 150);
	assert_true(odo->requests >= 2);
	assert_true(bms->requests >= 2);
	assert_int_equal(odo->last_len, 2);
	assert_memory_equal(odo->last_req, "\x01\xa6", 2);
	assert_int_equal(bms->last_len, 3);
	assert_memory_equal(bms->last_req, "\x22\x01\x01", 3);
	s = last_sample(ROLE_ODOMETER);
	assert_non_null(s);
	assert_true(s->value == 12345600.0);
	assert_true(s->t_ns > 1600000000ull * 1000000000ull);   /* wall clock */
	assert_true(last_sample(ROLE_PACK_CURRENT)->value == -20.0);
	assert_true(last_sample(ROLE_PACK_VOLTAGE)->value == 380.0);
	assert_true(last_sample(ROLE_IGNITION)->value == 1.0);
	st = stats(src);
	assert_int_equal(st.requests, odo->requests + bms->requests);
	assert_true(st.answers >= st.requests - 2);   /* the last may be in flight */
	assert_int_equal(st.refused, 0);
	assert_true(st.latency_max_ns > 0);
	poller_close(src);
	assert_non_null(strstr(messages, "poll: [poll.odo] "));
	assert_non_null(strstr(messages, "answered (latency mean"));
	close_world();
	profile_free(p);
}

/* Not supported (0x31): asked once, said once, never again; the other ECU
 * goes on. 0x11 (no such service) stops every request of that service. */
static void test_refusals(void **state)
{
	profile_t *p = profile(TWO_ECUS);
	struct fake_ecu *odo, *bms;
	struct poller *src;
	(void)state;

	world_reset();
	odo = add_ecu(0x7e0, 0x7e8);
	bms = add_ecu(0x7e4, 0x7ec);
	odo->answer_len = 4;
	bms->mode = NRC;
	bms->nrc = 0x31;
	src = open_poller(p);
	run(src, 150);
	assert_int_equal(bms->requests, 1);
	assert_true(odo->requests >= 3);
	assert_int_equal(count_messages("requestOutOfRange (0x31): not asked again"), 1);
	assert_non_null(strstr(messages, "[poll.bms] 22 01 01 to 7E4"));
	poller_close(src);
	close_world();

	/* 0x11 on one ECU: both of its requests of service 01 stop. */
	profile_free(p);
	p = profile("[vehicle]\n[poll]\nbudget_pct = 50\n"
		    "[poll.odo]\necu = 7E0 7E8\nrequest = 01 A6\ndriving_s = 0.02\nodometer = 0:4 * 0.1 km\n"
		    "[poll.speed]\necu = 7E0 7E8\nrequest = 01 0D\ndriving_s = 0.02\nspeed = 0 km/h\n");
	world_reset();
	messages[0] = '\0';
	odo = add_ecu(0x7e0, 0x7e8);
	odo->mode = NRC;
	odo->nrc = 0x11;
	src = open_poller(p);
	run(src, 100);
	assert_int_equal(odo->requests, 1);
	assert_int_equal(count_messages("serviceNotSupported (0x11): not asked again"), 1);
	assert_non_null(strstr(messages, "[poll.speed]: not asked again (same service)"));
	poller_close(src);
	close_world();
	profile_free(p);
}

/* "Response pending" twice, then the answer after P2 but within P2*: the
 * value arrives and no miss is counted. A retryable NRC (0x21) is asked
 * again. */
static void test_pending(void **state)
{
	profile_t *p = profile(TWO_ECUS);
	struct fake_ecu *bms;
	struct can_source_stats st;
	struct poller *src;
	(void)state;

	world_reset();
	add_ecu(0x7e0, 0x7e8)->answer_len = 4;
	bms = add_ecu(0x7e4, 0x7ec);
	memcpy(bms->answer, "\x00\x64\x0e\xd8\x00", 5);       /* +10.0 A */
	bms->answer_len = 5;
	bms->mode = PENDING;
	src = open_poller(p);
	run(src, 200);
	st = stats(src);
	assert_true(st.pending >= 2);
	assert_non_null(last_sample(ROLE_PACK_CURRENT));
	assert_true(last_sample(ROLE_PACK_CURRENT)->value == 10.0);
	assert_int_equal(st.no_answer, 0);
	poller_close(src);
	close_world();

	world_reset();
	add_ecu(0x7e0, 0x7e8)->answer_len = 4;
	bms = add_ecu(0x7e4, 0x7ec);
	bms->mode = NRC;
	bms->nrc = 0x21;
	src = open_poller(p);
	run(src, 120);
	assert_true(bms->requests >= 2);
	poller_close(src);
	close_world();
	profile_free(p);
}

/* A silent ECU: each request times out, the next comes after a growing
 * back-off, and after three misses in a row it counts as asleep. With
 * every ECU asleep and no ignition known, the car is parked: nothing is
 * sent, the listener opens after the hold-off, and a frame on the bus
 * brings one round of requests. */
static void test_silence_and_wake(void **state)
{
	profile_t *p = profile("[vehicle]\n[poll]\nbudget_pct = 50\n"
			       "[poll.odo]\necu = 7E0 7E8\nrequest = 01 A6\ndriving_s = 0.01\n"
			       "timeout_ms = 10\nparked_s = 0\nodometer = 0:4 * 0.1 km\n");
	struct fake_ecu *odo;
	struct can_source_stats st;
	struct poller *src;
	unsigned asked;
	(void)state;

	world_reset();
	odo = add_ecu(0x7e0, 0x7e8);
	odo->mode = SILENT;
	src = open_poller(p);
	run(src, 400);
	st = stats(src);
	/* three misses in a row (the gaps back off: 20, 40 ms), then parked:
	 * without the back-off and the parking, 20 or more */
	assert_int_equal(odo->requests, 3);
	assert_int_equal(st.no_answer, 3);
	assert_non_null(strstr(messages, "ECU 7E0 does not answer: taken as asleep"));
	assert_non_null(strstr(messages, "poll: vehicle parked"));
	/* parked: silence from us; after the hold-off the listener is on */
	asked = odo->requests;
	run(src, 300);
	assert_int_equal(odo->requests, asked);
	assert_int_equal(w.listen_on, 1);
	assert_int_equal(poller_deadline(src), UINT64_MAX);   /* no timer while parked */
	/* the bus wakes up: the ECU answers now */
	odo->mode = ANSWER;
	odo->answer_len = 4;
	assert_int_equal(write(w.listen_fd, "frame", 5), 5);
	run(src, 60);
	assert_true(odo->requests > asked);
	assert_non_null(strstr(messages, "bus activity while parked"));
	assert_non_null(last_sample(ROLE_ODOMETER));
	assert_int_equal(w.listen_on, 0);
	poller_close(src);
	close_world();
	profile_free(p);
}

/* Polled ignition: while it says off the car is parked and nothing with
 * parked_s = 0 is asked; charging_s applies while charging. */
static void test_states(void **state)
{
	profile_t *p = profile("[vehicle]\n[poll]\nbudget_pct = 50\n"
			       "[poll.bms]\necu = 7E4 7EC\nrequest = 22 01 01\ndriving_s = 0.02\n"
			       "charging_s = 0.05\nparked_s = 0\nodometer = 0:4 km\nignition = 4.0\ncharging = 4.1\n");
	struct fake_ecu *bms;
	struct poller *src;
	unsigned asked;
	(void)state;

	world_reset();
	bms = add_ecu(0x7e4, 0x7ec);
	bms->answer_len = 5;
	bms->answer[4] = 0x00;          /* ignition off, not charging */
	src = open_poller(p);
	run(src, 350);
	assert_int_equal(bms->requests, 1);   /* the first look, then parked */
	assert_non_null(strstr(messages, "poll: vehicle parked"));
	assert_int_equal(poller_deadline(src), UINT64_MAX);
	close_world();
	poller_close(src);

	world_reset();
	messages[0] = '\0';
	bms = add_ecu(0x7e4, 0x7ec);
	bms->answer_len = 5;
	bms->answer[4] = 0x02;          /* charging */
	src = open_poller(p);
	run(src, 40);
	assert_non_null(strstr(messages, "poll: vehicle charging"));
	asked = bms->requests;
	run(src, 200);
	/* every 50 ms now, not every 20 ms */
	assert_true(bms->requests - asked <= 5);
	assert_true(bms->requests - asked >= 1);
	poller_close(src);
	close_world();
	profile_free(p);
}

/* The bus budget: two requests due at once, room for one. */
static void test_budget(void **state)
{
	profile_t *p = profile("[vehicle]\n[poll]\nbitrate = 10000\nbudget_pct = 3\n"
			       "[poll.a]\necu = 7E0 7E8\nrequest = 01 A6\ndriving_s = 2\nodometer = 0:4 * 0.1 km\n"
			       "[poll.b]\necu = 7E4 7EC\nrequest = 01 0D\ndriving_s = 2\nspeed = 0 km/h\n");
	struct fake_ecu *a, *b;
	struct poller *src;
	uint64_t d;
	(void)state;

	world_reset();
	a = add_ecu(0x7e0, 0x7e8);
	b = add_ecu(0x7e4, 0x7ec);
	a->answer_len = 4;
	b->answer_len = 1;
	src = open_poller(p);
	assert_true(poller_dispatch(src, &cb) >= 0);
	serve();
	/* 270 bits each, 300 bit/s: one now, the other ~0.8 s later */
	assert_int_equal(a->requests + b->requests, 1);
	assert_true(poller_dispatch(src, &cb) >= 0);
	d = poller_deadline(src);
	assert_true(d > mono_ns() + 500 * 1000000ull);
	assert_true(d < mono_ns() + 1000 * 1000000ull);
	poller_close(src);
	close_world();
	profile_free(p);
}

/* The write allowlist: a request that is not one of the profile's, or on
 * another request's socket, is refused and counted; never written. */
static void test_allowlist(void **state)
{
	profile_t *p = profile(TWO_ECUS);
	struct diag_req forged;
	struct item rogue;
	struct poller *pl;
	struct poller *src;
	uint8_t buf[16];
	(void)state;

	world_reset();
	add_ecu(0x7e0, 0x7e8);
	add_ecu(0x7e4, 0x7ec);
	src = open_poller(p);
	pl = src;
	/* a copy of a declared request (not the profile's own) */
	forged = pl->reqs[0];
	memcpy(forged.req, "\x2e\xf1\x90", 3);   /* WriteDataByIdentifier */
	rogue = pl->items[0];
	rogue.r = &forged;
	assert_int_equal(tx_request(pl, &rogue), -EPERM);
	/* the declared request on the other ECU's socket */
	rogue = pl->items[0];
	rogue.ecu = pl->items[1].ecu;
	assert_int_equal(tx_request(pl, &rogue), -EPERM);
	/* a declared request whose bytes were changed in memory */
	memcpy((uint8_t *)pl->reqs[1].req, "\x31\x01\x02", 3);   /* RoutineControl */
	assert_int_equal(tx_request(pl, &pl->items[1]), -EPERM);
	assert_int_equal(pl->st.refused, 3);
	assert_int_equal(count_messages("refused to send"), 3);
	for (size_t i = 0; i < w.n_ecu; i++)
		assert_true(read(w.ecu[i].fd, buf, sizeof(buf)) < 0);
	/* the declared one goes */
	assert_int_equal(tx_request(pl, &pl->items[0]), 0);
	assert_int_equal(read(w.ecu[0].fd, buf, sizeof(buf)), 2);
	poller_close(src);
	close_world();
	profile_free(p);
}

/* J1939: the request carries the PGN; the broadcast answer arrives through
 * the frame path; a NACK stops the request. (No SocketCAN here: the frame
 * is handed to the poller's frame hook directly.) */
static void test_j1939(void **state)
{
	profile_t *p = profile("[vehicle]\nj1939 = builtin\n[signals]\nodometer = HRVD.HighResTotalVehicleDistance\n"
			       "[poll]\nbudget_pct = 5\n[poll.d]\nj1939 = 65217\ndriving_s = 0.05\n");
	const uint8_t nack[8] = { 1, 0xff, 0xff, 0xff, 0xfb, 0xc1, 0xfe, 0x00 };
	struct can_frame_rec f = { .id = 0x18fec1ee, .flags = CANREC_EXT, .len = 8 };
	struct can_source_stats st;
	struct poller *pl;
	struct poller *src;
	uint8_t buf[8];
	(void)state;

	if (!IS_ENABLED(CONFIG_CAN_J1939))
		skip();
	struct can_frame_rec ccvs = { .id = 0x18fef100, .flags = CANREC_EXT, .len = 8 };

	world_reset();
	src = open_poller(p);
	pl = src;
	/* Nothing broadcast yet: the vehicle is taken for parked. */
	assert_true(poller_dispatch(src, &cb) >= 0);
	assert_true(read(w.j1939_fd, buf, sizeof(buf)) < 0);
	pl->cb = &cb;
	sc_frame(pl, &ccvs);   /* wheel speed: the vehicle is awake */
	pl->cb = NULL;
	assert_true(poller_dispatch(src, &cb) >= 0);
	assert_int_equal(read(w.j1939_fd, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "\xc1\xfe\x00", 3);
	pl->cb = &cb;
	sc_frame(pl, &f);   /* the answer, from the tachograph (SA 0xEE) */
	pl->cb = NULL;
	st = stats(src);
	assert_int_equal(st.answers, 1);
	assert_int_equal(w.frames, 2);
	run(src, 80);
	assert_true(read(w.j1939_fd, buf, sizeof(buf)) == 3);
	assert_int_equal(write(w.j1939_fd, nack, 8), 8);
	run(src, 150);
	assert_non_null(strstr(messages, "J1939 request for PGN 65217 to FF: the ECU answers requestOutOfRange"));
	while (read(w.j1939_fd, buf, sizeof(buf)) > 0)
		;
	run(src, 120);
	assert_true(read(w.j1939_fd, buf, sizeof(buf)) < 0);   /* not asked again */
	poller_close(src);
	close_world();
	profile_free(p);
}

/* Without the kernel's CAN_ISOTP the poller does not start, and says why. */
static void test_no_isotp(void **state)
{
	profile_t *p = profile(TWO_ECUS);
	const char *ifaces[] = { "eco2-no-such-if" };
	struct can_source_opts o = { .ifaces = ifaces, .n_ifaces = 1, .profile = p };
	can_source_t *src = NULL;
	int ret;
	(void)state;

	ret = can_source_open(&src, &can_source_poller, &o);
	assert_true(ret < 0);
	assert_null(src);
	if (ret == -EAFNOSUPPORT || ret == -EPROTONOSUPPORT)
		assert_non_null(strstr(messages, "this kernel has no CAN_ISOTP (can-isotp module)"));
	else
		assert_int_equal(ret, -ENODEV);   /* a kernel with it: no such interface */
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_answers, setup),
		cmocka_unit_test_setup(test_refusals, setup),
		cmocka_unit_test_setup(test_pending, setup),
		cmocka_unit_test_setup(test_silence_and_wake, setup),
		cmocka_unit_test_setup(test_states, setup),
		cmocka_unit_test_setup(test_budget, setup),
		cmocka_unit_test_setup(test_allowlist, setup),
		cmocka_unit_test_setup(test_j1939, setup),
		cmocka_unit_test_setup(test_no_isotp, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
