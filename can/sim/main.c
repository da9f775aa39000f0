/* eco2-sim — drives a virtual EV through drive cycles onto a CAN log or bus.
 *
 * The vehicle model (vehicle.c) runs in 1-ms steps along the speed trace
 * (cycle.c); the roles of the chosen vehicle profile are encoded with its
 * DBC at each message's cycle time (GenMsgCycleTime, else V/I 100 Hz,
 * speed 50 Hz, odometer, ignition and charging 10 Hz, counters 1 Hz) and
 * written as a candump log or sent on a SocketCAN interface. The ground
 * truth goes to stdout as one JSON object. Deterministic: the same
 * arguments (and --seed) give the same bytes. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>

#include "lib/log.h"
#include "can/canlog.h"
#include "can/profile.h"
#include "can/sim/cycle.h"
#include "can/sim/ecu.h"
#include "can/sim/vehicle.h"

#define STEP_MS        1
#define TAIL_MS        500      /* frames after ignition or charging off */
#define POLL_TAIL_MS   3000     /* the same for a car that is asked: ECUs stay awake */
#define MAX_ITEMS      64
#define MAX_SCHED      32
#define MAX_TRUTH      64
#define MAX_REPLIES    16
#define DEFAULT_START  1700000000   /* 2023-11-14T22:13:20Z */

enum item_kind { IT_CYCLE, IT_PARK, IT_CHARGE };

struct item {
	enum item_kind kind;
	const char *arg;
	cycle_t *cycle;
	double secs;
	double charger_w;
};

/* One message sent periodically, with the roles it carries. For a
 * multiplexed role the message is scheduled once per role. */
struct sched {
	const struct dbc_message *msg;
	uint32_t roles;           /* 1u << role */
	uint32_t period_ms;
	uint32_t phase_ms;
};

enum glitch { GLITCH_NONE, GLITCH_JUMP, GLITCH_ROLLBACK, GLITCH_STUCK };

struct truth_rec {
	int kind;                 /* 1 trip, 2 charge */
	double start_s, end_s;    /* UTC, no clock jump applied */
	double distance_m, discharge_wh, regen_wh, charged_wh;
	double odo_start_m, odo_end_m;
};

struct sim {
	profile_t *prof;
	struct vehicle veh;
	struct item items[MAX_ITEMS];
	int n_items;
	struct sched sched[MAX_SCHED];
	int n_sched;

	/* output */
	FILE *out;
	const char *out_path;
	const char *iface;
	const char *log_iface;    /* interface name written in the log */
	int sock;
	double speedup;
	struct timespec mono0;

	/* time line */
	int64_t start_ns;         /* UTC of sim time 0 */
	int64_t t_ms;             /* sim time */

	/* odometer */
	double odo_res_m;
	double odo_start_m;
	double odo_wrap_m;        /* the signal's range; 0: none */

	/* the vehicle's visible state */
	int ign, charging;
	double ctr_base_dis_wh, ctr_base_regen_wh;

	/* the ECUs a polled profile asks (NULL: it only listens) */
	sim_ecus_t *ecus;
	bool asleep;              /* parked: the ECUs answer nothing */
	int64_t serve_ms;         /* live: serve requests every this much sim time */

	/* faults */
	double drop_rate;
	enum glitch glitch;
	int64_t glitch_at_ms;     /* -1: at the middle of the first cycle */
	double stuck_reading_m;
	int64_t bus_off_at_ms, bus_off_ms;
	int64_t clock_at_ms, clock_step_ns;
	uint64_t rng;

	/* counters and truth */
	unsigned long frames, dropped;
	struct truth_rec truth[MAX_TRUTH];
	int n_truth;
	int trips, charges;
	double tot_dist_m, tot_dis_wh, tot_regen_wh, tot_chg_wh;
};

/* ---- deterministic randomness (splitmix64) ---------------------------- */

static uint64_t rng_next(struct sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double rng_unit(struct sim *s)
{
	return (double)(rng_next(s) >> 11) / 9007199254740992.0;
}

/* ---- files next to the program ----------------------------------------- */

/* First existing candidate for a data file: as given; then beside the
 * installed program (../share/eco2/<sub>/), in the source tree a build
 * folder sits in (../<tree_sub>/), and under the current directory. */
static char *find_data(const char *given, const char *sub, const char *tree_sub,
		       const char *ext)
{
	char exe[PATH_MAX], *slash, path[PATH_MAX + 128];
	ssize_t n;

	if (access(given, R_OK) == 0 || strchr(given, '/'))
		return strdup(given);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
	} else {
		snprintf(exe, sizeof(exe), ".");
	}
	for (int b = 0; b < 3; b++) {
		for (int e = 0; e < 2; e++) {
			const char *x = e ? ext : "";

			if (b == 0)
				snprintf(path, sizeof(path), "%s/../share/eco2/%s/%s%s", exe, sub, given, x);
			else if (b == 1)
				snprintf(path, sizeof(path), "%s/../%s/%s%s", exe, tree_sub, given, x);
			else
				snprintf(path, sizeof(path), "%s/%s%s", tree_sub, given, x);
			if (access(path, R_OK) == 0)
				return strdup(path);
		}
	}
	return strdup(given);
}

/* ---- frames ------------------------------------------------------------ */

static int open_iface(struct sim *s)
{
	struct sockaddr_can addr = { .can_family = AF_CAN };
	int on = 1;

	s->sock = socket(PF_CAN, SOCK_RAW | SOCK_CLOEXEC, CAN_RAW);
	if (s->sock < 0) {
		log_err("%s: socket: %s", s->iface, strerror(errno));
		return -errno;
	}
	addr.can_ifindex = (int)if_nametoindex(s->iface);
	if (!addr.can_ifindex) {
		log_err("%s: no such interface", s->iface);
		return -ENODEV;
	}
	/* FD frames if the interface takes them; classic ones go regardless. */
	(void)setsockopt(s->sock, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &on, sizeof(on));
	if (bind(s->sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		log_err("%s: bind: %s", s->iface, strerror(errno));
		return -errno;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->mono0);
	return 0;
}

static int put_frame(struct sim *s, struct can_frame_rec *f, bool paced);

/* A frame an ECU sends in answer (a requested J1939 group): now. */
static int raw_emit(void *ctx, struct can_frame_rec *f)
{
	return put_frame(ctx, f, false);
}

/* Live: wait until sim time t_ms (scaled by --speedup) has come. */
static void pace(struct sim *s)
{
	double due_s = (double)s->t_ms / 1000.0 / s->speedup;
	struct timespec ts = s->mono0;

	ts.tv_sec += (time_t)due_s;
	ts.tv_nsec += (long)((due_s - floor(due_s)) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (s->ecus) {
		/* waiting is serving the ECUs' requests */
		if (ecus_serve_until(s->ecus, &ts, s->asleep, raw_emit, s) < 0)
			log_err("serving requests: %s", strerror(errno));
		return;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int send_frame(struct sim *s, struct can_frame_rec *f)
{
	return put_frame(s, f, true);
}

static int put_frame(struct sim *s, struct can_frame_rec *f, bool paced)
{
	char line[CANLOG_LINE_MAX];
	int n;

	f->t_ns = (uint64_t)(s->start_ns + s->t_ms * 1000000);
	if (s->clock_at_ms >= 0 && s->t_ms >= s->clock_at_ms)
		f->t_ns = (uint64_t)((int64_t)f->t_ns + s->clock_step_ns);
	snprintf(f->iface, sizeof(f->iface), "%s", s->log_iface);
	s->frames++;
	if (s->out) {
		n = canlog_format(f, line, sizeof(line));
		if (n < 0) {
			log_err("cannot format frame 0x%x: %s", f->id, strerror(-n));
			return n;
		}
		if (fwrite(line, 1, (size_t)n, s->out) != (size_t)n) {
			log_err("%s: write: %s", s->out_path, strerror(errno));
			return -EIO;
		}
		return 0;
	}
	if (s->sock >= 0) {
		struct canfd_frame cf;
		size_t sz = CAN_MTU;
		ssize_t w;

		memset(&cf, 0, sizeof(cf));
		cf.can_id = f->id;
		if (f->flags & CANREC_EXT)
			cf.can_id |= CAN_EFF_FLAG;
		if (f->flags & CANREC_ERR)
			cf.can_id = f->id | CAN_ERR_FLAG;
		cf.len = f->len;
		memcpy(cf.data, f->data, f->len);
		if (f->flags & CANREC_FD) {
			sz = CANFD_MTU;
			cf.flags = CANFD_BRS;
		}
		if (paced)
			pace(s);
		w = write(s->sock, &cf, sz);
		if (w < 0 && (errno == ENOBUFS || errno == EAGAIN)) {
			s->dropped++;   /* the queue is full: as a bus would */
			return 0;
		}
		if (w != (ssize_t)sz) {
			log_err("%s: write: %s", s->iface, w < 0 ? strerror(errno) : "short");
			return -EIO;
		}
	}
	return 0;
}

static double odo_truth_m(const struct sim *s)
{
	return s->odo_start_m + s->veh.odo_m;
}

static double odo_reading_m(struct sim *s)
{
	double r = floor(odo_truth_m(s) / s->odo_res_m + 1e-9) * s->odo_res_m;

	if (s->glitch == GLITCH_STUCK && s->glitch_at_ms >= 0 &&
	    s->t_ms >= s->glitch_at_ms && s->t_ms < s->glitch_at_ms + 60000) {
		if (s->stuck_reading_m < 0)
			s->stuck_reading_m = r;
		r = s->stuck_reading_m;
	}
	if (s->glitch_at_ms >= 0 && s->t_ms >= s->glitch_at_ms &&
	    s->t_ms < s->glitch_at_ms + 100) {
		/* one 10-Hz frame */
		if (s->glitch == GLITCH_JUMP)
			r += 100000;
		else if (s->glitch == GLITCH_ROLLBACK)
			r -= 5000;
	}
	if (r < 0)
		r = 0;
	if (s->odo_wrap_m > 0)
		r = fmod(r, s->odo_wrap_m);
	return r;
}

static double role_value(struct sim *s, enum eco2_role role)
{
	switch (role) {
	case ROLE_ODOMETER:
		return odo_reading_m(s);
	case ROLE_SPEED:
		return s->veh.speed_ms * 3.6;
	case ROLE_PACK_VOLTAGE:
		return s->veh.v_term_v;
	case ROLE_PACK_CURRENT:
		return s->veh.i_a;
	case ROLE_DISCHARGE_TOTAL:
		return s->ctr_base_dis_wh + s->veh.discharge_wh;
	case ROLE_REGEN_TOTAL:
		return s->ctr_base_regen_wh + s->veh.regen_wh;
	case ROLE_IGNITION:
		return s->ign;
	case ROLE_CHARGING:
		return s->charging;
	case ROLE_COUNT:
		break;
	}
	return 0;
}

static double model_value(void *ctx, enum eco2_role role)
{
	return role_value(ctx, role);
}

static bool in_bus_off(const struct sim *s)
{
	return s->bus_off_at_ms >= 0 && s->t_ms >= s->bus_off_at_ms &&
	       s->t_ms < s->bus_off_at_ms + s->bus_off_ms;
}

static int error_frame(struct sim *s, uint32_t cls)
{
	struct can_frame_rec f;

	memset(&f, 0, sizeof(f));
	f.id = cls;
	f.flags = CANREC_ERR | CANREC_EXT;
	f.len = 8;
	f.raw_dlc = 8;
	return send_frame(s, &f);
}

static int log_emit(void *ctx, struct can_frame_rec *f)
{
	return send_frame(ctx, f);
}

/* All frames due at the current millisecond. */
static int emit_frames(struct sim *s)
{
	int ret;

	if (s->bus_off_at_ms >= 0 && s->t_ms == s->bus_off_at_ms) {
		ret = error_frame(s, CAN_ERR_BUSOFF);
		if (ret < 0)
			return ret;
	}
	if (s->bus_off_at_ms >= 0 && s->t_ms == s->bus_off_at_ms + s->bus_off_ms) {
		ret = error_frame(s, CAN_ERR_RESTARTED);
		if (ret < 0)
			return ret;
	}
	if (in_bus_off(s))
		return 0;
	for (int i = 0; i < s->n_sched; i++) {
		struct sched *sc = &s->sched[i];
		struct can_frame_rec f;

		if (s->t_ms % sc->period_ms != sc->phase_ms)
			continue;
		memset(&f, 0, sizeof(f));
		f.len = sc->msg->size;
		f.raw_dlc = f.len;
		if (sc->msg->is_fd)
			f.flags |= CANREC_FD | CANREC_BRS;
		for (int r = 0; r < ROLE_COUNT; r++) {
			uint32_t id;
			bool ext;

			if (!(sc->roles & (1u << r)))
				continue;
			ret = profile_encode(s->prof, (enum eco2_role)r, role_value(s, (enum eco2_role)r),
					     f.data, f.len, &id, &ext);
			if (ret < 0) {
				log_err("cannot encode %s into %s: %s", profile_role_name((enum eco2_role)r),
					sc->msg->name, strerror(-ret));
				return ret;
			}
			f.id = id;
			if (ext)
				f.flags |= CANREC_EXT;
		}
		if (s->drop_rate > 0 && rng_unit(s) < s->drop_rate) {
			s->dropped++;
			continue;
		}
		ret = send_frame(s, &f);
		if (ret < 0)
			return ret;
	}
	if (s->ecus && s->out) {
		/* a log: the simulator plays the tester too */
		return ecus_log_tick(s->ecus, s->t_ms, s->asleep, log_emit, s);
	}
	if (s->ecus && s->sock >= 0 && s->t_ms % s->serve_ms == 0)
		pace(s);
	return 0;
}

static uint32_t default_period_ms(enum eco2_role r)
{
	switch (r) {
	case ROLE_PACK_VOLTAGE:
	case ROLE_PACK_CURRENT:
		return 10;
	case ROLE_SPEED:
		return 20;
	case ROLE_DISCHARGE_TOTAL:
	case ROLE_REGEN_TOTAL:
		return 1000;
	default:
		return 100;
	}
}

static int build_schedule(struct sim *s)
{
	for (int r = 0; r < ROLE_COUNT; r++) {
		const struct dbc_signal *sig = profile_signal(s->prof, (enum eco2_role)r);
		struct sched *sc = NULL;

		if (!sig || ecus_on_request(s->ecus, sig->message))
			continue;   /* polled, or a group sent only on request */
		/* Roles share a frame when they share an unmultiplexed message. */
		for (int i = 0; i < s->n_sched && !sig->mux_switch; i++) {
			if (s->sched[i].msg == sig->message) {
				const struct dbc_signal *o = NULL;

				for (int q = 0; q < ROLE_COUNT; q++)
					if (s->sched[i].roles & (1u << q))
						o = profile_signal(s->prof, (enum eco2_role)q);
				if (o && !o->mux_switch)
					sc = &s->sched[i];
			}
		}
		if (!sc) {
			if (s->n_sched == MAX_SCHED)
				return -E2BIG;
			sc = &s->sched[s->n_sched];
			sc->msg = sig->message;
			sc->period_ms = sig->message->cycle_time_ms;
			/* stagger messages so they do not all share a millisecond */
			sc->phase_ms = (uint32_t)s->n_sched;
			s->n_sched++;
		}
		sc->roles |= 1u << r;
		if (!sig->message->cycle_time_ms &&
		    (sc->period_ms == 0 || default_period_ms((enum eco2_role)r) < sc->period_ms))
			sc->period_ms = default_period_ms((enum eco2_role)r);
	}
	for (int i = 0; i < s->n_sched; i++)
		s->sched[i].phase_ms %= s->sched[i].period_ms;
	if (!(profile_roles(s->prof) & (1u << ROLE_ODOMETER))) {
		log_err("the profile maps no odometer");
		return -EINVAL;
	}
	return 0;
}

/* ---- the drive ---------------------------------------------------------- */

static struct truth_rec *truth_open(struct sim *s, int kind)
{
	struct truth_rec *t;

	if (s->n_truth == MAX_TRUTH)
		return NULL;
	t = &s->truth[s->n_truth++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->start_s = (double)s->start_ns / 1e9 + (double)s->t_ms / 1000;
	t->odo_start_m = odo_truth_m(s);
	t->distance_m = s->veh.odo_m;
	t->discharge_wh = s->veh.discharge_wh;
	t->regen_wh = s->veh.regen_wh;
	t->charged_wh = s->veh.charged_wh;
	return t;
}

static void truth_close(struct sim *s, struct truth_rec *t)
{
	if (!t)
		return;
	t->end_s = (double)s->start_ns / 1e9 + (double)s->t_ms / 1000;
	t->odo_end_m = odo_truth_m(s);
	t->distance_m = s->veh.odo_m - t->distance_m;
	t->discharge_wh = s->veh.discharge_wh - t->discharge_wh;
	t->regen_wh = s->veh.regen_wh - t->regen_wh;
	t->charged_wh = s->veh.charged_wh - t->charged_wh;
}

/* After the ignition or the charger goes off the car stays awake a while:
 * long enough, when it is asked, for a request to learn it is off. */
static int tail_ms(const struct sim *s)
{
	return s->ecus ? POLL_TAIL_MS : TAIL_MS;
}

static int run_cycle(struct sim *s, struct item *it)
{
	int64_t dur_ms = (int64_t)llround(cycle_duration_s(it->cycle) * 1000);
	struct truth_rec *tr;
	int ret;

	s->ign = 1;
	s->charging = 0;
	if (s->glitch != GLITCH_NONE && s->glitch_at_ms < 0)
		s->glitch_at_ms = s->t_ms + dur_ms / 2;
	tr = truth_open(s, 1);
	for (int64_t k = 0; k <= dur_ms; k += STEP_MS) {
		if (k > 0)
			vehicle_drive(&s->veh, cycle_speed_kmh(it->cycle, (double)k / 1000) / 3.6,
				      STEP_MS / 1000.0);
		ret = emit_frames(s);
		if (ret < 0)
			return ret;
		if (k < dur_ms)
			s->t_ms += STEP_MS;
	}
	/* The trace ends standing; the driver switches off. */
	vehicle_drive(&s->veh, 0, STEP_MS / 1000.0);
	truth_close(s, tr);
	s->ign = 0;
	vehicle_park(&s->veh, 0);
	for (int k = 0; k < tail_ms(s); k += STEP_MS) {
		s->t_ms += STEP_MS;
		ret = emit_frames(s);
		if (ret < 0)
			return ret;
	}
	s->t_ms += STEP_MS;
	s->trips++;
	return 0;
}

static int run_charge(struct sim *s, struct item *it)
{
	int64_t dur_ms = (int64_t)llround(it->secs * 1000);
	struct truth_rec *tr;
	int ret;

	s->ign = 0;
	s->charging = 1;
	vehicle_charge(&s->veh, it->charger_w, STEP_MS / 1000.0);
	tr = truth_open(s, 2);
	tr->charged_wh = s->veh.charged_wh;
	for (int64_t k = 0; k < dur_ms; k += STEP_MS) {
		ret = emit_frames(s);
		if (ret < 0)
			return ret;
		s->t_ms += STEP_MS;
		vehicle_charge(&s->veh, it->charger_w, STEP_MS / 1000.0);
	}
	truth_close(s, tr);
	s->charging = 0;
	vehicle_park(&s->veh, 0);
	for (int k = 0; k < tail_ms(s); k += STEP_MS) {
		ret = emit_frames(s);
		if (ret < 0)
			return ret;
		s->t_ms += STEP_MS;
	}
	s->charges++;
	return 0;
}

static void print_truth(const struct sim *s, FILE *out)
{
	double dist = 0, dis = 0, regen = 0, chg = 0;

	for (int i = 0; i < s->n_truth; i++) {
		dist += s->truth[i].kind == 1 ? s->truth[i].distance_m : 0;
		dis += s->truth[i].kind == 1 ? s->truth[i].discharge_wh : 0;
		regen += s->truth[i].kind == 1 ? s->truth[i].regen_wh : 0;
		chg += s->truth[i].kind == 2 ? s->truth[i].charged_wh : 0;
	}
	fprintf(out, "{\"distance_m\":%.3f,\"discharge_wh\":%.3f,\"regen_wh\":%.3f,"
		"\"trips\":%d,\"charged_wh\":%.3f,\"charge_sessions\":%d,"
		"\"frames\":%lu,\"dropped_frames\":%lu,\"soc_start\":%.5f,\"soc_end\":%.5f,"
		"\"odo_resolution_m\":%g,",
		dist, dis, regen, s->trips, chg, s->charges, s->frames, s->dropped,
		s->veh.p.soc_start, s->veh.soc, s->odo_res_m);
	if (s->ecus) {
		unsigned long req, asleep;

		ecus_counts(s->ecus, &req, &asleep);
		fprintf(out, "\"poll_requests\":%lu,\"poll_requests_asleep\":%lu,", req, asleep);
	}
	fprintf(out, "\"records\":[");
	for (int i = 0; i < s->n_truth; i++) {
		const struct truth_rec *t = &s->truth[i];

		fprintf(out, "%s{\"type\":%d,\"start_s\":%.3f,\"end_s\":%.3f,"
			"\"odo_start_m\":%.3f,\"odo_end_m\":%.3f,\"distance_m\":%.3f,"
			"\"discharge_wh\":%.3f,\"regen_wh\":%.3f,\"charged_wh\":%.3f}",
			i ? "," : "", t->kind, t->start_s, t->end_s, t->odo_start_m, t->odo_end_m,
			t->distance_m, t->discharge_wh, t->regen_wh, t->charged_wh);
	}
	fprintf(out, "]}\n");
}

/* ---- command line ------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: eco2-sim [OPTIONS] --cycle CSV [--park S|--charge S[:KW]|--cycle CSV]...\n"
		"Drive a virtual EV through drive cycles; write its CAN traffic; print the truth.\n\n"
		"  --profile FILE         vehicle profile (default reference.profile)\n"
		"  --cycle CSV            a drive cycle (time_s,speed_kmh); a bare name is looked\n"
		"                         up in the installed or source cycles folder\n"
		"  --park SECONDS         parked and asleep: no frames\n"
		"  --charge SECONDS[:KW]  a charging stop (default 11 kW at the pack)\n"
		"  --out FILE             candump log (\"-\": stdout, truth then goes to stderr)\n"
		"  --iface IFACE          send on a SocketCAN interface, paced in real time\n"
		"  --speedup N            pace N times faster than real time (with --iface);\n"
		"                         receivers then integrate N-fold less energy\n"
		"  --log-iface NAME       interface name written in the log (default can0)\n"
		"  --odo-resolution-m N   odometer step in metres (default 100)\n"
		"  --odo-start-km X       odometer at the start (default 12345.678)\n"
		"  --start EPOCH          UTC seconds of the first frame (default %d)\n"
		"  --set KEY=VALUE        a vehicle parameter (--params lists them)\n"
		"  --params               print the vehicle parameters and exit\n"
		"  --seed N               seed for --drop (default 1)\n"
		"faults:\n"
		"  --drop RATE            drop each frame with probability RATE (0..1)\n"
		"  --odo-glitch[=KIND]    at the middle of the first cycle: jump (one frame\n"
		"                         100 km ahead, default), rollback (one frame 5 km back)\n"
		"                         or stuck (the odometer freezes for 60 s)\n"
		"  --bus-off AT[:S]       bus-off at AT s from the start: an error frame, S s of\n"
		"                         silence (default 2), a restarted error frame\n"
		"  --clock-jump AT[:S]    from AT s on, log stamps are S s off (default 3600)\n"
		"polled profiles (the simulator answers the requests of [poll.NAME]):\n"
		"  --ecu-reply MODE[@NAME]  how the ECUs answer [poll.NAME] (every request\n"
		"                         without @NAME): normal, slow=MS, pending=N (N x NRC\n"
		"                         0x78 100 ms apart, then the answer), nrc=HEX, silent\n",
		DEFAULT_START);
}

static int parse_num(const char *opt, const char *s, double min, double max, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(*out) || *out < min || *out > max) {
		log_err("%s: expected a number in [%g, %g], got \"%s\"", opt, min, max, s);
		return -EINVAL;
	}
	return 0;
}

/* "A[:B]" -> a, and b when given. */
static int parse_pair(const char *opt, const char *s, double amin, double amax,
		      double bmin, double bmax, double *a, double *b)
{
	char buf[64];
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n >= sizeof(buf)) {
		log_err("%s: \"%s\" is too long", opt, s);
		return -EINVAL;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (parse_num(opt, buf, amin, amax, a))
		return -EINVAL;
	if (colon && parse_num(opt, colon + 1, bmin, bmax, b))
		return -EINVAL;
	return 0;
}

enum {
	OPT_PROFILE = 256, OPT_CYCLE, OPT_PARK, OPT_CHARGE, OPT_OUT, OPT_IFACE,
	OPT_SPEEDUP, OPT_ODO_RES, OPT_ODO_START, OPT_START, OPT_SET, OPT_PARAMS,
	OPT_SEED, OPT_DROP, OPT_GLITCH, OPT_BUS_OFF, OPT_CLOCK, OPT_LOG_IFACE, OPT_ECU_REPLY,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "cycle", required_argument, NULL, OPT_CYCLE },
		{ "park", required_argument, NULL, OPT_PARK },
		{ "charge", required_argument, NULL, OPT_CHARGE },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "iface", required_argument, NULL, OPT_IFACE },
		{ "speedup", required_argument, NULL, OPT_SPEEDUP },
		{ "log-iface", required_argument, NULL, OPT_LOG_IFACE },
		{ "odo-resolution-m", required_argument, NULL, OPT_ODO_RES },
		{ "odo-start-km", required_argument, NULL, OPT_ODO_START },
		{ "start", required_argument, NULL, OPT_START },
		{ "set", required_argument, NULL, OPT_SET },
		{ "params", no_argument, NULL, OPT_PARAMS },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "drop", required_argument, NULL, OPT_DROP },
		{ "odo-glitch", optional_argument, NULL, OPT_GLITCH },
		{ "bus-off", required_argument, NULL, OPT_BUS_OFF },
		{ "clock-jump", required_argument, NULL, OPT_CLOCK },
		{ "ecu-reply", required_argument, NULL, OPT_ECU_REPLY },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vehicle_params vp;
	static struct sim sim;
	struct sim *s = &sim;
	const char *profile_arg = "reference.profile";
	char *profile_path = NULL;
	bool show_params = false;
	FILE *truth_out = stdout;
	const char *replies[MAX_REPLIES];
	int n_replies = 0;
	int c, ret = 1;
	double d, d2;

	log_open("eco2-sim", LOG_TO_STDERR, LOG_WARNING);
	vehicle_params_default(&vp);
	s->sock = -1;
	s->speedup = 1;
	s->odo_res_m = 100;
	s->odo_start_m = 12345678;
	s->start_ns = (int64_t)DEFAULT_START * 1000000000LL;
	s->glitch_at_ms = -1;
	s->bus_off_at_ms = -1;
	s->bus_off_ms = 2000;
	s->clock_at_ms = -1;
	s->clock_step_ns = 3600LL * 1000000000LL;
	s->rng = 1;
	s->stuck_reading_m = -1;
	s->log_iface = "can0";
	s->ctr_base_dis_wh = 4321000;
	s->ctr_base_regen_wh = 876000;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		struct item *it = &s->items[s->n_items];

		switch (c) {
		case OPT_PROFILE:
			profile_arg = optarg;
			break;
		case OPT_CYCLE:
		case OPT_PARK:
		case OPT_CHARGE:
			if (s->n_items == MAX_ITEMS) {
				log_err("at most %d --cycle/--park/--charge", MAX_ITEMS);
				goto out;
			}
			memset(it, 0, sizeof(*it));
			it->arg = optarg;
			if (c == OPT_CYCLE) {
				it->kind = IT_CYCLE;
			} else if (c == OPT_PARK) {
				it->kind = IT_PARK;
				if (parse_num("--park", optarg, 0, 1e7, &it->secs))
					goto usage;
			} else {
				it->kind = IT_CHARGE;
				d2 = 11;
				if (parse_pair("--charge", optarg, 1, 1e6, 0.1, 1000, &it->secs, &d2))
					goto usage;
				it->charger_w = d2 * 1000;
			}
			s->n_items++;
			break;
		case OPT_OUT:
			s->out_path = optarg;
			break;
		case OPT_IFACE:
			s->iface = optarg;
			break;
		case OPT_SPEEDUP:
			if (parse_num("--speedup", optarg, 0.001, 1e6, &s->speedup))
				goto usage;
			break;
		case OPT_LOG_IFACE:
			if (!*optarg || strlen(optarg) >= IFNAMSIZ || strpbrk(optarg, " \t\n")) {
				log_err("--log-iface: expected an interface name, got \"%s\"", optarg);
				goto usage;
			}
			s->log_iface = optarg;
			break;
		case OPT_ODO_RES:
			if (parse_num("--odo-resolution-m", optarg, 0.001, 1e6, &s->odo_res_m))
				goto usage;
			break;
		case OPT_ODO_START:
			if (parse_num("--odo-start-km", optarg, 0, 1e9, &d))
				goto usage;
			s->odo_start_m = d * 1000;
			break;
		case OPT_START:
			if (parse_num("--start", optarg, 0, 4e9, &d))
				goto usage;
			s->start_ns = (int64_t)llround(d * 1e9);
			break;
		case OPT_SET: {
			char key[64];
			const char *eq = strchr(optarg, '=');

			if (!eq || (size_t)(eq - optarg) >= sizeof(key)) {
				log_err("--set: expected KEY=VALUE, got \"%s\"", optarg);
				goto usage;
			}
			memcpy(key, optarg, (size_t)(eq - optarg));
			key[eq - optarg] = '\0';
			switch (vehicle_param_set(&vp, key, eq + 1)) {
			case 0:
				break;
			case -ENOENT:
				log_err("--set: unknown parameter \"%s\" (see --params)", key);
				goto usage;
			default:
				log_err("--set: %s: bad or out-of-range value \"%s\"", key, eq + 1);
				goto usage;
			}
			break;
		}
		case OPT_PARAMS:
			show_params = true;
			break;
		case OPT_SEED:
			if (parse_num("--seed", optarg, 0, 1e18, &d))
				goto usage;
			s->rng = (uint64_t)d;
			break;
		case OPT_DROP:
			if (parse_num("--drop", optarg, 0, 1, &s->drop_rate))
				goto usage;
			break;
		case OPT_GLITCH:
			if (!optarg || !strcmp(optarg, "jump")) {
				s->glitch = GLITCH_JUMP;
			} else if (!strcmp(optarg, "rollback")) {
				s->glitch = GLITCH_ROLLBACK;
			} else if (!strcmp(optarg, "stuck")) {
				s->glitch = GLITCH_STUCK;
			} else {
				log_err("--odo-glitch: expected jump, rollback or stuck, got \"%s\"", optarg);
				goto usage;
			}
			break;
		case OPT_BUS_OFF:
			d2 = 2;
			if (parse_pair("--bus-off", optarg, 0, 1e7, 0.001, 3600, &d, &d2))
				goto usage;
			s->bus_off_at_ms = (int64_t)llround(d * 1000);
			s->bus_off_ms = (int64_t)llround(d2 * 1000);
			break;
		case OPT_CLOCK:
			d2 = 3600;
			if (parse_pair("--clock-jump", optarg, 0, 1e7, -1e9, 1e9, &d, &d2))
				goto usage;
			s->clock_at_ms = (int64_t)llround(d * 1000);
			s->clock_step_ns = (int64_t)llround(d2 * 1e9);
			break;
		case OPT_ECU_REPLY:
			if (n_replies == MAX_REPLIES) {
				log_err("at most %d --ecu-reply", MAX_REPLIES);
				goto usage;
			}
			replies[n_replies++] = optarg;
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		default:
			goto usage;
		}
	}
	if (show_params) {
		vehicle_params_print(&vp, stdout);
		ret = 0;
		goto out;
	}
	if (optind < argc) {
		log_err("unexpected argument \"%s\"", argv[optind]);
		goto usage;
	}
	if (s->n_items == 0 || (!s->out_path && !s->iface) || (s->out_path && s->iface)) {
		log_err("give at least one --cycle and exactly one of --out and --iface");
		goto usage;
	}

	profile_path = find_data(profile_arg, "profiles", "can/profiles", ".profile");
	if (!profile_path || profile_load(&s->prof, profile_path) < 0) {
		log_err("%s: cannot load the vehicle profile", profile_path ? profile_path : profile_arg);
		goto out;
	}
	for (int i = 0; i < s->n_items; i++) {
		char *p;

		if (s->items[i].kind != IT_CYCLE)
			continue;
		p = find_data(s->items[i].arg, "cycles", "can/sim/cycles", ".csv");
		if (!p || cycle_load(p, &s->items[i].cycle) < 0) {
			free(p);
			goto out;
		}
		free(p);
	}
	{
		size_t n_polls;

		(void)profile_polls(s->prof, &n_polls);
		if (n_polls && ecus_new(&s->ecus, s->prof, model_value, s) < 0)
			goto out;
		if (n_replies && !s->ecus) {
			log_err("--ecu-reply: the profile asks no ECU ([poll.NAME])");
			goto usage;
		}
		for (int i = 0; i < n_replies; i++)
			if (ecus_reply_option(s->ecus, replies[i]) < 0)
				goto usage;
		/* live: serve requests about every real millisecond */
		s->serve_ms = (int64_t)llround(s->speedup);
		if (s->serve_ms < 1)
			s->serve_ms = 1;
	}
	if (build_schedule(s) < 0)
		goto out;
	{
		/* The odometer counter wraps where its raw range ends. */
		const struct dbc_signal *o = profile_signal(s->prof, ROLE_ODOMETER);
		const struct diag_field *fld = NULL;
		double step = 0;

		s->odo_wrap_m = profile_odo_wrap_m(s->prof);
		if (o)
			step = fabs(o->factor * profile_unit_factor(s->prof, ROLE_ODOMETER));
		else if (profile_poll_of(s->prof, ROLE_ODOMETER, &fld))
			step = fabs(fld->scale * fld->factor);
		if (s->odo_res_m < step * 0.999)
			log_warn("--odo-resolution-m %g is finer than the signal's %g m",
				 s->odo_res_m, step);
	}
	vehicle_init(&s->veh, &vp);

	if (s->out_path) {
		if (!strcmp(s->out_path, "-")) {
			s->out = stdout;
			truth_out = stderr;
		} else {
			s->out = fopen(s->out_path, "we");
			if (!s->out) {
				log_err("%s: %s", s->out_path, strerror(errno));
				goto out;
			}
		}
	} else if (open_iface(s) < 0 || (s->ecus && ecus_open_live(s->ecus, s->iface) < 0)) {
		goto out;
	}

	for (int i = 0; i < s->n_items; i++) {
		struct item *it = &s->items[i];

		if (it->kind == IT_CYCLE) {
			if (run_cycle(s, it) < 0)
				goto out;
		} else if (it->kind == IT_CHARGE) {
			if (run_charge(s, it) < 0)
				goto out;
		} else {
			int64_t park_ms = (int64_t)llround(it->secs * 1000);

			vehicle_park(&s->veh, it->secs);
			/* asleep, but a bus-off or clock jump may still fall here */
			if (s->ecus && s->sock >= 0) {
				/* live: the requests that come meanwhile go unanswered */
				int64_t end = s->t_ms + park_ms;

				s->asleep = true;
				while (s->t_ms < end) {
					s->t_ms += end - s->t_ms < s->serve_ms ? end - s->t_ms : s->serve_ms;
					pace(s);
				}
				s->asleep = false;
			} else {
				s->t_ms += park_ms;
			}
		}
	}
	if (s->out && s->out != stdout) {
		if (fflush(s->out) || ferror(s->out) || fsync(fileno(s->out)) < 0) {
			log_err("%s: write: %s", s->out_path, strerror(errno));
			goto out;
		}
	}
	print_truth(s, truth_out);
	ret = 0;
	goto out;
usage:
	usage(stderr);
	ret = 2;
out:
	if (s->out && s->out != stdout && fclose(s->out) && ret == 0) {
		log_err("%s: close: %s", s->out_path, strerror(errno));
		ret = 1;
	}
	if (s->sock >= 0)
		close(s->sock);
	ecus_free(s->ecus);
	for (int i = 0; i < s->n_items; i++)
		cycle_free(s->items[i].cycle);
	profile_free(s->prof);
	free(profile_path);
	return ret;
}
