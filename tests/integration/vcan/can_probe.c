/* can-probe — drives can/socketcan.c (and a vehicle profile) on a live
 * interface for the vcan integration test; not installed.
 *
 *   can-probe [--fd] [--rcvbuf BYTES] [--id ID[/MASK]]... [--all]
 *             [--profile FILE] [--delay-ms N] [--max-ms N]
 *             [--backoff-ms N] [--times] [--uid N] IFACE...
 *
 * IDs are hex; more than 3 hex digits (or a leading 'x') makes a 29-bit id.
 * With --profile the filters come from the profile and every decoded sample
 * is printed. Prints, one a line:
 *   ready
 *   frame IFACE ID(hex) FLAGS LEN DATA(hex)      FLAGS: '-' or E/F/B
 *   sample ROLE VALUE
 *   event IFACE NAME VALUE
 *   time T_NS NOW_NS    (--times: the frame's receive time and the wall
 *                        clock when it was handed over, ns since the epoch)
 *   stats IFACE frames=N dropped=N reopens=N bus_off=N error_passive=N
 *   loop wakeups=N      (times the event loop woke up)
 * and exits 0 on SIGTERM/SIGINT or after --max-ms, 1 on a setup failure.
 *
 *   can-probe --profile FILE --log LOG    decode a candump log instead (no
 *                                         SocketCAN): one line per sample,
 *                                         "sample T_NS ROLE VALUE" (%.17g)
 *   can-probe --print-j1939-dbc           the built-in J1939 DBC text
 * --delay-ms sleeps after opening and before the first read, so a burst
 * overflows a small receive buffer. --uid drops root before opening. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <grp.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "can/j1939.h"
#include "can/profile.h"
#include "can/socketcan.h"

struct probe {
	profile_t *profile;
	unsigned long frames;
	bool times;
};

static const char *const event_names[] = {
	[CAN_EV_FRAMES_DROPPED] = "dropped",
	[CAN_EV_BUS_OFF] = "bus_off",
	[CAN_EV_ERROR_PASSIVE] = "error_passive",
	[CAN_EV_IFACE_DOWN] = "iface_down",
	[CAN_EV_IFACE_UP] = "iface_up",
};

static void on_frame(void *ctx, const struct can_frame_rec *f)
{
	struct probe *p = ctx;
	char flags[4] = "-";
	int n = 0;

	if (f->flags & CANREC_EXT)
		flags[n++] = 'E';
	if (f->flags & CANREC_FD)
		flags[n++] = 'F';
	if (f->flags & CANREC_BRS)
		flags[n++] = 'B';
	if (n)
		flags[n] = '\0';
	printf("frame %s %x %s %u ", f->iface, (unsigned)f->id, flags, f->len);
	for (unsigned i = 0; i < f->len; i++)
		printf("%02x", f->data[i]);
	printf("\n");
	if (p->times) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		printf("time %llu %llu\n", (unsigned long long)f->t_ns,
		       (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec);
	}
	p->frames++;
	if (p->profile) {
		struct eco2_sample s[ROLE_COUNT];
		int k = profile_decode(p->profile, f, s, ROLE_COUNT);
		for (int i = 0; i < k; i++)
			printf("sample %s %.6f\n", profile_role_name(s[i].role), s[i].value);
	}
}

static void on_event(void *ctx, const char *iface, enum eco2_can_event ev,
		     uint64_t value, uint64_t t_ns)
{
	(void)ctx; (void)t_ns;
	printf("event %s %s %llu\n", iface, event_names[ev], (unsigned long long)value);
}

static int parse_id(const char *s, struct socketcan_id *out)
{
	char *end;
	const char *p = s;
	unsigned long v, m = 0;
	bool eff;

	if (*p == 'x')
		p++;
	v = strtoul(p, &end, 16);
	if (end == p)
		return -EINVAL;
	eff = p != s || (size_t)(end - p) > 3;
	if (*end == '/') {
		const char *q = end + 1;
		m = strtoul(q, &end, 16);
		if (end == q)
			return -EINVAL;
	}
	if (*end)
		return -EINVAL;
	out->id = (uint32_t)v | (eff ? SOCKETCAN_EFF : 0);
	out->mask = (uint32_t)m;
	return 0;
}

/* Decode a candump log through the profile, for the oracle comparison. */
static int replay(const char *profile_path, const char *log_path)
{
	profile_t *pr = NULL;
	canlog_reader_t *r = NULL;
	struct can_frame_rec f;
	int ret = 1, k;

	if (!profile_path || profile_load(&pr, profile_path) < 0)
		goto out;
	if (canlog_open(&r, log_path) < 0)
		goto out;
	while ((k = canlog_next(r, &f)) == 1) {
		struct eco2_sample s[ROLE_COUNT];
		int n = profile_decode(pr, &f, s, ROLE_COUNT);
		for (int i = 0; i < n; i++)
			printf("sample %llu %s %.17g\n", (unsigned long long)s[i].t_ns,
			       profile_role_name(s[i].role), s[i].value);
	}
	if (k == 0 && !canlog_bad_lines(r))
		ret = 0;
out:
	canlog_close(r);
	profile_free(pr);
	return ret;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "fd", no_argument, NULL, 'f' },
		{ "all", no_argument, NULL, 'a' },
		{ "rcvbuf", required_argument, NULL, 'r' },
		{ "id", required_argument, NULL, 'i' },
		{ "profile", required_argument, NULL, 'p' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "max-ms", required_argument, NULL, 'm' },
		{ "backoff-ms", required_argument, NULL, 'b' },
		{ "times", no_argument, NULL, 't' },
		{ "log", required_argument, NULL, 'l' },
		{ "print-j1939-dbc", no_argument, NULL, 'j' },
		{ "uid", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 },
	};
	struct socketcan_opts opts = { 0 };
	struct socketcan_id ids[SOCKETCAN_MAX_IDS];
	size_t n_ids = 0;
	const char *profile_path = NULL, *log_path = NULL;
	long uid = -1;
	unsigned long delay_ms = 0, max_ms = 60000;
	struct probe probe = { 0 };
	struct socketcan_cb cb = { on_frame, on_event, &probe };
	socketcan_t *sc = NULL;
	int c, ret = 1, epfd = -1, sfd = -1;
	sigset_t mask;

	setvbuf(stdout, NULL, _IOLBF, 0);
	log_open("can-probe", LOG_TO_STDERR, LOG_INFO);
	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'f': opts.fd_frames = true; break;
		case 'a': opts.all_ids = true; break;
		case 'r': opts.rcvbuf_bytes = (int)strtol(optarg, NULL, 0); break;
		case 'i':
			if (n_ids >= ARRAY_SIZE(ids) || parse_id(optarg, &ids[n_ids])) {
				fprintf(stderr, "can-probe: bad --id %s\n", optarg);
				return 2;
			}
			n_ids++;
			break;
		case 'p': profile_path = optarg; break;
		case 't': probe.times = true; break;
		case 'l': log_path = optarg; break;
		case 'u': uid = (long)strtoul(optarg, NULL, 0); break;
		case 'j':
			if (!IS_ENABLED(CONFIG_CAN_J1939))
				return 1;
			fputs(j1939_builtin_dbc(NULL), stdout);
			return 0;
		case 'd': delay_ms = strtoul(optarg, NULL, 0); break;
		case 'm': max_ms = strtoul(optarg, NULL, 0); break;
		case 'b':
			opts.backoff_min_ms = (unsigned)strtoul(optarg, NULL, 0);
			opts.backoff_max_ms = opts.backoff_min_ms * 4;
			break;
		default: return 2;
		}
	}
	if (log_path)
		return replay(profile_path, log_path);
	if (optind >= argc) {
		fprintf(stderr, "usage: can-probe [options] IFACE...\n");
		return 2;
	}

	if (profile_path) {
		profile_t *pr;
		ssize_t k;
		if (profile_load(&pr, profile_path) < 0)
			return 1;
		probe.profile = pr;
		k = profile_filters(pr, ids, ARRAY_SIZE(ids));
		if (k < 0)
			goto out;
		n_ids = (size_t)k;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	/* Unprivileged: SO_RCVBUFFORCE is refused and SO_RCVBUF must do. */
	if (uid >= 0 && (setgroups(0, NULL) || setgid((gid_t)uid) || setuid((uid_t)uid))) {
		fprintf(stderr, "can-probe: cannot drop to uid %ld: %s\n", uid, strerror(errno));
		goto out;
	}
	c = socketcan_open(&sc, (const char *const *)&argv[optind], (size_t)(argc - optind),
			   ids, n_ids, &opts);
	if (c < 0) {
		fprintf(stderr, "can-probe: %s\n", strerror(-c));
		goto out;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 1 };
		epoll_ctl(epfd, EPOLL_CTL_ADD, socketcan_fd(sc), &ev);
		ev.data.u32 = 2;
		epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	}
	printf("ready\n");
	if (delay_ms)
		usleep((useconds_t)(delay_ms * 1000));

	uint64_t end_ms = mono_ms() + max_ms;
	unsigned long wakeups = 0;
	for (;;) {
		struct epoll_event ev[4];
		uint64_t now = mono_ms();
		uint64_t dl = socketcan_deadline_ns(sc);
		long timeout = (long)(end_ms > now ? end_ms - now : 0);
		int n;

		if (!timeout)
			break;
		if (dl != UINT64_MAX) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t now_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
			long t = dl > now_ns ? (long)((dl - now_ns) / 1000000 + 1) : 0;
			if (t < timeout)
				timeout = t;
		}
		n = epoll_wait(epfd, ev, 4, (int)timeout);
		if (n < 0 && errno != EINTR)
			break;
		wakeups++;
		bool stop = false;
		for (int i = 0; i < n; i++)
			if (ev[i].data.u32 == 2)
				stop = true;
		if (socketcan_dispatch(sc, &cb) < 0)
			break;
		if (stop)
			break;
	}
	for (int i = optind; i < argc; i++) {
		struct socketcan_stats st;
		if (socketcan_stats(sc, (size_t)(i - optind), &st))
			continue;
		printf("stats %s frames=%llu dropped=%llu reopens=%llu bus_off=%llu error_passive=%llu\n",
		       argv[i], (unsigned long long)st.frames, (unsigned long long)st.dropped,
		       (unsigned long long)st.reopens, (unsigned long long)st.bus_off,
		       (unsigned long long)st.error_passive);
	}
	printf("loop wakeups=%lu\n", wakeups);
	ret = 0;
out:
	socketcan_close(sc);
	profile_free(probe.profile);
	if (epfd >= 0)
		close(epfd);
	if (sfd >= 0)
		close(sfd);
	return ret;
}
