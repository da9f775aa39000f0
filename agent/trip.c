/* trip — samples to trips and charging sessions (see trip.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "lib/log.h"
#include "agent/trip.h"

#define NS_PER_S        1000000000LL
#define MOVING_KMH      1.0             /* at or above: the vehicle moves */
#define BRIDGE_MAX_NS   (1 * NS_PER_S)  /* longer sample gaps are not integrated, */
#define BRIDGE_PERIODS  4               /* unless the signal is that slow: then 4 periods */
#define BRIDGE_CAP_NS   (60 * NS_PER_S)
#define REORDER_NS      (1 * NS_PER_S)  /* further back is a clock step */
#define DEFAULT_STEP_M  1000.0          /* odometer step assumed until learned */
#define STALE_ODO_NS    (2 * NS_PER_S)  /* older reading: re-baseline at trip start */
#define STALE_CTR_NS    (5 * NS_PER_S)  /* the same for energy counters (often 1 Hz) */
#define REBASE_READINGS 5               /* consistent readings that move the baseline */
#define DROP_FACTOR     2.5             /* period multiple that means lost frames: two in a row, beyond scheduling jitter */
#define STUCK_REPEATS   8               /* samples of one role in a row at one time: the clock is stuck */
#define TIME_MAX_NS     (INT64_C(1) << 62)
#define CORR_MAX_NS     (INT64_C(1) << 60)  /* clock steps summed, either way */

enum open_kind { OPEN_NONE = 0, OPEN_TRIP = ECO2_REC_TRIP, OPEN_CHARGE = ECO2_REC_CHARGE };

/* Flags that say a reading was refused or lost (not the descriptive ones:
 * no odometer, no energy signal, resumed, ended early, wrap handled). */
#define ANOMALY_FLAGS (ECO2_FLAG_ODO_ROLLBACK | ECO2_FLAG_ODO_JUMP | ECO2_FLAG_ODO_STUCK | \
		       ECO2_FLAG_DATA_GAP | ECO2_FLAG_CLOCK_JUMP | ECO2_FLAG_FRAMES_DROPPED | \
		       ECO2_FLAG_BUS_ERROR | ECO2_FLAG_STATE_BREAK | ECO2_FLAG_CLOCK_STUCK)

/* Everything below is plain data so that the checkpoint can copy it. */
struct odo_state {
	int have;               /* a reading was accepted */
	int fresh;              /* the next reading is a delta, not a baseline */
	double last_raw_m;      /* last accepted reading, as the vehicle shows it */
	int64_t last_t;         /* when it last changed (internal time line) */
	int64_t seen_t;         /* when a reading last arrived */
	double step_m;          /* smallest accepted step; 0 = none yet */
	double cand_raw_m;      /* an inconsistent reading being confirmed */
	int64_t cand_t;
	int cand_n;
	int64_t pending_gap_ns; /* a forward clock step hid this much real time */
};

struct period_est {
	int64_t last_t;
	double period_ns;
	uint32_t n;
	uint32_t same_n;        /* samples in a row at the same time */
};

struct open_state {
	int kind;               /* enum open_kind */
	int64_t start_t;        /* internal time line */
	int64_t last_t;         /* last sample while open */
	int64_t last_motion_t;
	uint64_t flags;
	int odo_seen;           /* an odometer reading arrived while open */
	double odo_start_m;
	int anchored;           /* the last odometer event was a real tick */
	double done_m;          /* distance settled by ticks */
	double since_tick_m;    /* speed integral since the last tick or start */
	int stuck;
	double discharge_wh;
	double regen_wh;
	double charged_wh;
	double ctr_dis_start_wh;
	double ctr_regen_start_wh;
	int ctr_dis_have;
	int ctr_regen_have;
};

struct trip_state {
	int64_t corr_ns;        /* internal = sample time + corr_ns */
	int64_t auto_step_ns;   /* steps seen in sample times, not yet reported */
	int64_t last_t;         /* latest sample, internal */
	int have_last;
	int ign;                /* -1 unknown, 0 off, 1 on */
	int charging;           /* -1 unknown, 0, 1 */
	int idle_ended;         /* the last trip ended by standing still */
	double speed_kmh;
	int64_t speed_t;
	int have_speed;
	double volt_v;
	int64_t volt_t;
	int have_volt;
	double curr_a;
	int64_t curr_t;
	int have_curr;
	double power_w;         /* last power point */
	int64_t power_t;
	int have_power;
	double ctr_dis_wh;      /* last lifetime counter values */
	double ctr_regen_wh;
	int ctr_dis_have;
	int ctr_regen_have;
	int64_t ctr_t;          /* when a counter last arrived */
	struct odo_state odo;
	struct period_est period[ROLE_COUNT];
	struct open_state open;
};

struct trip {
	struct trip_params p;
	char vin[18];
	trip_emit_fn *emit;
	void *ctx;
	struct trip_state s;
};

static const char *role_name(enum eco2_role r)
{
	static const char *const names[ROLE_COUNT] = {
		"odometer", "speed", "pack_voltage", "pack_current",
		"discharge_energy_total", "regen_energy_total", "ignition", "charging",
	};

	return (unsigned)r < ROLE_COUNT ? names[r] : "?";
}

static bool has_role(const trip_t *t, enum eco2_role r)
{
	return t->p.roles & (1u << r);
}

static bool use_counters(const trip_t *t)
{
	return has_role(t, ROLE_DISCHARGE_TOTAL) && has_role(t, ROLE_REGEN_TOTAL);
}

static bool use_power(const trip_t *t)
{
	return !use_counters(t) && has_role(t, ROLE_PACK_VOLTAGE) &&
	       has_role(t, ROLE_PACK_CURRENT);
}

static double odo_step(const trip_t *t)
{
	if (t->p.odo_resolution_m > 0)
		return t->p.odo_resolution_m;
	if (t->s.odo.step_m > 0)
		return t->s.odo.step_m;
	return DEFAULT_STEP_M;
}

/* Nearest integer, halves away from zero; saturates instead of leaving
 * the int64 range (only a corrupt state could get there). */
static int64_t round_half_away(double v)
{
	if (!(v > -9.0e18))
		return v < 0 ? -INT64_C(9000000000000000000) : 0;
	if (v > 9.0e18)
		return INT64_C(9000000000000000000);
	return (int64_t)(v < 0 ? -floor(-v + 0.5) : floor(v + 0.5));
}

void trip_params_default(struct trip_params *p)
{
	memset(p, 0, sizeof(*p));
	p->idle_end_s = 300;
	p->gap_end_s = 120;
	p->max_speed_kmh = 250;
	p->roles = (1u << ROLE_ODOMETER) | (1u << ROLE_SPEED) |
		   (1u << ROLE_PACK_VOLTAGE) | (1u << ROLE_PACK_CURRENT) |
		   (1u << ROLE_IGNITION) | (1u << ROLE_CHARGING);
	snprintf(p->method, sizeof(p->method), "%s", CO2_METHOD_ID);
	co2_params_from_config(&p->co2, 169.056, 530.6, 0.90, 0);
}

static void state_init(struct trip_state *s)
{
	memset(s, 0, sizeof(*s));
	s->ign = -1;
	s->charging = -1;
}

int trip_new(const struct trip_params *p, trip_emit_fn *emit, void *ctx, trip_t **out)
{
	trip_t *t;

	*out = NULL;
	if (p->idle_end_s < 1 || p->gap_end_s < 1 || !(p->max_speed_kmh > 0) ||
	    p->odo_resolution_m < 0 || p->odo_wrap_m < 0 || !emit ||
	    !memchr(p->method, '\0', sizeof(p->method)))
		return -EINVAL;
	if (p->vin && strlen(p->vin) > 17)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->p = *p;
	t->p.vin = NULL;
	if (p->vin)
		snprintf(t->vin, sizeof(t->vin), "%s", p->vin);
	t->emit = emit;
	t->ctx = ctx;
	state_init(&t->s);
	*out = t;
	return 0;
}

void trip_free(trip_t *t)
{
	free(t);
}

/* ---- figures of the open trip ---------------------------------------- */

static double open_distance_m(const trip_t *t)
{
	const struct open_state *o = &t->s.open;
	double tail = o->since_tick_m;

	/* Without a trusted odometer after the last tick the speed integral
	 * stands alone; otherwise it is bounded by the step the odometer did
	 * not yet show. */
	if (o->odo_seen && !o->stuck && tail > odo_step(t))
		tail = odo_step(t);
	return o->done_m + tail;
}

static void fill_record(const trip_t *t, int64_t end_t, struct eco2_record *r)
{
	const struct open_state *o = &t->s.open;
	const struct trip_state *s = &t->s;
	int64_t start_wall = o->start_t - s->corr_ns;
	int64_t end_wall = end_t - s->corr_ns;
	int ret;

	memset(r, 0, sizeof(*r));
	r->version = ECO2_RECORD_VERSION;
	r->type = (uint32_t)o->kind;
	r->start_s = start_wall >= 0 ? start_wall / NS_PER_S : -((-start_wall + NS_PER_S - 1) / NS_PER_S);
	r->end_s = end_wall >= 0 ? end_wall / NS_PER_S : -((-end_wall + NS_PER_S - 1) / NS_PER_S);
	if (r->end_s < r->start_s)
		r->end_s = r->start_s;
	r->odo_start_m = round_half_away(o->odo_start_m);
	r->odo_end_m = s->odo.have ? round_half_away(s->odo.last_raw_m) : r->odo_start_m;
	r->flags = o->flags;
	if (o->kind == OPEN_TRIP) {
		r->distance_m = round_half_away(open_distance_m(t));
		r->discharge_wh = round_half_away(o->discharge_wh);
		r->regen_wh = round_half_away(o->regen_wh);
		if (!o->odo_seen)
			r->flags |= ECO2_FLAG_NO_ODOMETER;
		if (!use_counters(t) && !use_power(t))
			r->flags |= ECO2_FLAG_NO_ENERGY;
	} else {
		/* Charging is always measured as V x I: no counter sees it. */
		r->charged_wh = round_half_away(o->charged_wh);
		if (!has_role(t, ROLE_PACK_VOLTAGE) || !has_role(t, ROLE_PACK_CURRENT))
			r->flags |= ECO2_FLAG_NO_ENERGY;
	}
	if (r->distance_m < 0)
		r->distance_m = 0;
	snprintf(r->method, sizeof(r->method), "%s", t->p.method);
	r->baseline_mg_per_km = t->p.co2.baseline_mg_per_km;
	r->grid_mg_per_kwh = t->p.co2.grid_mg_per_kwh;
	r->charge_eff_permille = t->p.co2.charge_eff_permille;
	r->td_loss_permille = t->p.co2.td_loss_permille;
	/* A charging session carries no CO2 of its own: the energy it stores
	 * is counted by the trips that use it. */
	r->co2_g = 0;
	if (o->kind == OPEN_TRIP) {
		ret = co2_avoided_g(&t->p.co2, r->distance_m, r->discharge_wh,
				    r->regen_wh, &r->co2_g);
		if (ret < 0) {
			log_warn("trip: CO2 not computable (%d); recorded as 0", ret);
			r->co2_g = 0;
		}
	}
	if (t->vin[0]) {
		r->has_vin = true;
		memcpy(r->vin, t->vin, sizeof(r->vin));
	}
	/* The step the partial steps were bounded by, whole metres up, so
	 * that "distance within one step of the odometer" holds as signed. */
	r->odo_step_m = (int64_t)ceil(odo_step(t));
	memcpy(r->software, t->p.software, sizeof(r->software));
	memcpy(r->profile_sha256, t->p.profile_sha256, sizeof(r->profile_sha256));
}

int trip_peek(const trip_t *t, struct eco2_record *rec)
{
	if (t->s.open.kind == OPEN_NONE)
		return -ENOENT;
	fill_record(t, t->s.open.last_t, rec);
	return 0;
}

bool trip_is_open(const trip_t *t)
{
	return t->s.open.kind != OPEN_NONE;
}

static void close_open(trip_t *t, int64_t end_t, uint64_t extra_flags)
{
	struct open_state *o = &t->s.open;
	struct eco2_record r;

	if (o->kind == OPEN_NONE)
		return;
	o->flags |= extra_flags;
	fill_record(t, end_t, &r);
	/* A trip that neither moved nor moved a watt-hour is no trip: an
	 * ignition cycle to open a door, say. Unless something was wrong
	 * with it: a trip whose every reading was refused is recorded, its
	 * flags saying why it counts nothing. */
	if (o->kind == OPEN_TRIP && r.distance_m == 0 && r.discharge_wh == 0 &&
	    r.regen_wh == 0 && !(r.flags & ANOMALY_FLAGS))
		log_debug("trip: empty trip dropped");
	else if (o->kind == OPEN_CHARGE && r.charged_wh == 0 && !(r.flags & ECO2_FLAG_NO_ENERGY))
		log_debug("trip: empty charging session dropped");
	else
		t->emit(&r, t->ctx);
	memset(o, 0, sizeof(*o));
}

static void open_new(trip_t *t, int kind, int64_t now)
{
	struct trip_state *s = &t->s;
	struct open_state *o = &s->open;

	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->start_t = now;
	o->last_t = now;
	o->last_motion_t = now;
	/* A reading from before the vehicle slept may be stale (it may have
	 * moved meanwhile, unseen): the trip's first reading is a baseline. */
	if (s->odo.have && now - s->odo.seen_t > STALE_ODO_NS)
		s->odo.fresh = 0;
	if (s->odo.have) {
		o->odo_seen = s->odo.fresh;
		o->odo_start_m = s->odo.last_raw_m;
	}
	/* Counter values are starting points only if current: what a stale
	 * one missed was not this trip's. */
	if (now - s->ctr_t <= STALE_CTR_NS) {
		o->ctr_dis_have = s->ctr_dis_have;
		o->ctr_dis_start_wh = s->ctr_dis_wh;
		o->ctr_regen_have = s->ctr_regen_have;
		o->ctr_regen_start_wh = s->ctr_regen_wh;
	}
	s->idle_ended = 0;
}

/* ---- gaps, idling, clock steps ---------------------------------------- */

static int64_t bridge_ns(const trip_t *t, enum eco2_role r);

static bool moving_now(const trip_t *t)
{
	const struct trip_state *s = &t->s;

	return s->have_speed && s->speed_kmh >= 2 * MOVING_KMH &&
	       s->last_t - s->speed_t <= bridge_ns(t, ROLE_SPEED);
}

/* Apply gap and idle limits at internal time now; true if something was
 * closed. */
static void check_limits(trip_t *t, int64_t now)
{
	struct trip_state *s = &t->s;
	struct open_state *o = &s->open;

	if (o->kind == OPEN_NONE)
		return;
	if (now - o->last_t > t->p.gap_end_s * NS_PER_S) {
		/* Silence is how a parked vehicle ends without an ignition
		 * signal; while moving, or with the ignition on, it is data
		 * lost. */
		uint64_t f = 0;

		if (moving_now(t) || s->ign == 1)
			f = ECO2_FLAG_DATA_GAP;
		close_open(t, o->last_t, f);
		return;
	}
	if (o->kind == OPEN_TRIP && now - o->last_motion_t > t->p.idle_end_s * NS_PER_S) {
		close_open(t, now, 0);
		s->idle_ended = 1;
	}
}

/* false for a step no real clock makes (the sum stays within 2^60 ns) */
static bool apply_step(trip_t *t, int64_t step_ns)
{
	if (step_ns > CORR_MAX_NS || step_ns < -CORR_MAX_NS ||
	    t->s.corr_ns - step_ns > CORR_MAX_NS || t->s.corr_ns - step_ns < -CORR_MAX_NS)
		return false;
	t->s.corr_ns -= step_ns;
	if (t->s.open.kind != OPEN_NONE)
		t->s.open.flags |= ECO2_FLAG_CLOCK_JUMP;
	return true;
}

/* Remember a step seen in the stamps, for trip_clock_step. */
static void note_auto_step(trip_t *t, int64_t step_ns)
{
	int64_t a = t->s.auto_step_ns;

	t->s.auto_step_ns = (a > 0 && step_ns > CORR_MAX_NS - a) ||
			    (a < 0 && step_ns < -CORR_MAX_NS - a) ? 0 : a + step_ns;
}

void trip_clock_step(trip_t *t, int64_t step_ns)
{
	int64_t d;

	if (step_ns > CORR_MAX_NS || step_ns < -CORR_MAX_NS)
		return;   /* not a clock step a real clock makes */
	d = step_ns - t->s.auto_step_ns;

	/* Frames stamped after the step may have shown it already: a report
	 * of the same step (within the detection's slack) is not applied
	 * twice. */
	if (t->s.auto_step_ns && d > -2 * REORDER_NS && d < 2 * REORDER_NS) {
		t->s.auto_step_ns = 0;
		return;
	}
	t->s.auto_step_ns = 0;
	(void)apply_step(t, step_ns);
}

/* Map a sample time to the internal time line, detecting clock steps a
 * log shows: a step back, or a long step forward while the vehicle was
 * moving or its ignition on (a car does not stream data and then go
 * silent for minutes without switching off). Whether such a silence was
 * real is settled by the next odometer reading (pending_gap_ns). */
static int64_t internal_time(trip_t *t, uint64_t t_ns)
{
	struct trip_state *s = &t->s;
	int64_t now, d;

	/* Stamps beyond 2^62 ns (year 2116) are corrupt; keeping them there
	 * keeps every difference below in range. */
	if (t_ns > TIME_MAX_NS)
		t_ns = TIME_MAX_NS;
	now = (int64_t)t_ns + s->corr_ns;

	if (!s->have_last)
		return now;
	d = now - s->last_t;
	if (d < -REORDER_NS) {
		log_info("trip: wall clock stepped back %.3f s", -d / 1e9);
		if (apply_step(t, d))
			note_auto_step(t, d);
		now = s->last_t;
	} else if (d < 0) {
		now = s->last_t;   /* interleaved sources: keep time monotonic */
	} else if (d > t->p.gap_end_s * NS_PER_S && s->open.kind == OPEN_TRIP &&
		   (moving_now(t) || (has_role(t, ROLE_IGNITION) && s->ign == 1))) {
		log_info("trip: %.3f s without data while driving: taken as a clock step",
			 d / 1e9);
		if (apply_step(t, d))
			note_auto_step(t, d);
		if (s->odo.pending_gap_ns < CORR_MAX_NS - d)
			s->odo.pending_gap_ns += d;
		now = s->last_t;
	}
	return now;
}

/* ---- per role --------------------------------------------------------- */

/* The longest sample interval integrated across for role r: one second,
 * or four of the role's periods for a slow signal (1-Hz J1939 messages). */
static int64_t bridge_ns(const trip_t *t, enum eco2_role r)
{
	const struct period_est *pe = &t->s.period[r];
	double b = BRIDGE_PERIODS * pe->period_ns;

	if (pe->n < 2 || b <= BRIDGE_MAX_NS)
		return BRIDGE_MAX_NS;
	return b > BRIDGE_CAP_NS ? BRIDGE_CAP_NS : (int64_t)b;
}

/* Learn each periodic role's period (an average that ignores outliers)
 * and count a sample later than DROP_FACTOR periods as lost frames. */
static void note_period(trip_t *t, enum eco2_role r, int64_t now)
{
	struct period_est *pe = &t->s.period[r];
	int64_t d;

	if (r != ROLE_ODOMETER && r != ROLE_SPEED && r != ROLE_PACK_VOLTAGE &&
	    r != ROLE_PACK_CURRENT)
		return;
	if (pe->n == 0) {
		pe->last_t = now;
		pe->n = 1;
		return;
	}
	d = now - pe->last_t;
	pe->last_t = now;
	if (d <= 0) {
		/* A second signal of the same frame. The same signal again and
		 * again at one time is a clock that stopped (a log whose
		 * stamps do not advance): nothing integrates over it, so its
		 * trip says so rather than carry its odometer's distance with
		 * no energy. */
		if (pe->same_n < UINT32_MAX)
			pe->same_n++;
		if (pe->same_n >= STUCK_REPEATS && t->s.open.kind != OPEN_NONE)
			t->s.open.flags |= ECO2_FLAG_CLOCK_STUCK;
		return;
	}
	pe->same_n = 0;
	if (pe->n == 1) {
		/* the first interval; a longer one is a sleep, not a period */
		if (d <= 2 * NS_PER_S) {
			pe->period_ns = (double)d;
			pe->n = 2;
		}
		return;
	}
	if (d > bridge_ns(t, r))
		return;   /* a gap, handled by the role */
	if (pe->n >= 16 && d > DROP_FACTOR * pe->period_ns) {
		if (t->s.open.kind != OPEN_NONE && t->s.open.start_t < now - d)
			t->s.open.flags |= ECO2_FLAG_FRAMES_DROPPED;
		return;
	}
	if (d < 1.5 * pe->period_ns || pe->n < 8)
		pe->period_ns += ((double)d - pe->period_ns) / 16;
	if (pe->n < UINT32_MAX)
		pe->n++;
}

static double plausible_m(const trip_t *t, int64_t dt_ns)
{
	/* the distance covered at top speed, plus one step of quantisation */
	return t->p.max_speed_kmh / 3.6 * ((double)dt_ns / 1e9) + odo_step(t) + 10;
}

/* Signed change from a to b, unwrapped when the counter's range is known. */
static double odo_delta(const trip_t *t, double a, double b, bool *wrapped)
{
	double d = b - a, w = t->p.odo_wrap_m;

	*wrapped = false;
	if (w > 0) {
		if (d < -w / 2) {
			d += w;
			*wrapped = true;
		} else if (d > w / 2) {
			d -= w;
		}
	}
	return d;
}

static void odo_tick(trip_t *t, double delta_m)
{
	struct open_state *o = &t->s.open;

	if (o->kind == OPEN_NONE)
		return;
	if (o->anchored) {
		o->done_m += delta_m;
	} else {
		/* From the start (somewhere within the baseline reading's step)
		 * to the first tick the vehicle moved more than delta - step and
		 * at most delta: the speed says where in that range. */
		double lo = delta_m - odo_step(t), d = o->since_tick_m;

		if (d > delta_m)
			d = delta_m;
		if (d < lo)
			d = lo;
		o->done_m += d > 0 ? d : 0;
		o->anchored = 1;
	}
	o->since_tick_m = 0;
	o->stuck = 0;
	o->last_motion_t = t->s.last_t;
}

static void on_odometer(trip_t *t, double raw_m, int64_t now)
{
	struct trip_state *s = &t->s;
	struct odo_state *od = &s->odo;
	struct open_state *o = &s->open;
	bool wrapped;
	double d;
	int64_t dt;

	if (!isfinite(raw_m) || raw_m < 0)
		return;
	if (!od->have || !od->fresh) {
		od->have = 1;
		od->fresh = 1;
		od->last_raw_m = raw_m;
		od->last_t = now;
		od->seen_t = now;
		od->cand_n = 0;
		if (o->kind != OPEN_NONE && !o->odo_seen) {
			o->odo_seen = 1;
			o->odo_start_m = raw_m;
		}
		return;
	}
	od->seen_t = now;
	d = odo_delta(t, od->last_raw_m, raw_m, &wrapped);
	dt = now - od->last_t + od->pending_gap_ns;
	if (d == 0) {
		od->cand_n = 0;   /* last_t stays: the time of the last change */
		return;
	}
	if (d > 0 && d <= plausible_m(t, dt)) {
		if (wrapped && o->kind != OPEN_NONE)
			o->flags |= ECO2_FLAG_ODO_WRAP;
		/* Farther than the stepped clock allows: the silence was real
		 * (data lost while driving), not a clock step. */
		if (od->pending_gap_ns && o->kind != OPEN_NONE &&
		    d > plausible_m(t, now - od->last_t))
			o->flags |= ECO2_FLAG_DATA_GAP;
		if (od->step_m == 0 || d < od->step_m)
			od->step_m = d;
		od->last_raw_m = raw_m;
		od->last_t = now;
		od->cand_n = 0;
		od->pending_gap_ns = 0;
		odo_tick(t, d);
		return;
	}
	/* Backwards or too far: not accepted. Flag it; if the readings agree
	 * among themselves for a while, the odometer was reset or replaced:
	 * move the baseline, counting nothing for the step. */
	if (o->kind != OPEN_NONE)
		o->flags |= d < 0 ? ECO2_FLAG_ODO_ROLLBACK : ECO2_FLAG_ODO_JUMP;
	if (od->cand_n > 0) {
		double dc = odo_delta(t, od->cand_raw_m, raw_m, &wrapped);

		if (dc >= 0 && dc <= plausible_m(t, now - od->cand_t))
			od->cand_n++;
		else
			od->cand_n = 1;
	} else {
		od->cand_n = 1;
	}
	od->cand_raw_m = raw_m;
	od->cand_t = now;
	if (od->cand_n >= REBASE_READINGS) {
		int64_t since = now - od->last_t;

		log_warn("trip: odometer moved from %.0f m to %.0f m: new baseline",
			 od->last_raw_m, raw_m);
		od->last_raw_m = raw_m;
		od->last_t = now;
		od->cand_n = 0;
		od->pending_gap_ns = 0;
		if (o->kind != OPEN_NONE) {
			/* What the speed says bridges the change; the next tick
			 * closes a first-step segment again. */
			o->done_m += o->since_tick_m < plausible_m(t, since) ? o->since_tick_m : 0;
			o->since_tick_m = 0;
			o->anchored = 0;
		}
	}
}

static void on_speed(trip_t *t, double kmh, int64_t now)
{
	struct trip_state *s = &t->s;
	struct open_state *o = &s->open;
	double lim = t->p.max_speed_kmh;

	if (!isfinite(kmh))
		return;
	if (kmh < 0)
		kmh = -kmh;  /* reversing still covers distance */
	if (kmh > lim)
		kmh = lim;
	if (o->kind == OPEN_TRIP && s->have_speed && s->speed_t >= o->start_t) {
		int64_t dt = now - s->speed_t;

		if (dt > bridge_ns(t, ROLE_SPEED)) {
			o->flags |= ECO2_FLAG_DATA_GAP;
		} else if (dt > 0) {
			o->since_tick_m += (s->speed_kmh + kmh) / 2 / 3.6 * ((double)dt / 1e9);
			if (o->odo_seen && !o->stuck &&
			    o->since_tick_m > 2 * odo_step(t) + 50) {
				o->stuck = 1;
				o->flags |= ECO2_FLAG_ODO_STUCK;
			}
		}
	}
	if (kmh >= MOVING_KMH && o->kind == OPEN_TRIP)
		o->last_motion_t = now;
	s->speed_kmh = kmh;
	s->speed_t = now;
	s->have_speed = 1;
}

/* Add the trapezoid between two power points, split at the zero crossing
 * so that discharge and regen (or charge) are exact for linear power. */
static void add_energy(trip_t *t, double p0, double p1, int64_t dt_ns)
{
	struct open_state *o = &t->s.open;
	double h = (double)dt_ns / 3.6e12;   /* hours */
	double pos, neg;

	if ((p0 >= 0 && p1 >= 0) || (p0 <= 0 && p1 <= 0)) {
		double a = (p0 + p1) / 2 * h;

		pos = a > 0 ? a : 0;
		neg = a < 0 ? -a : 0;
	} else {
		double f = p0 / (p0 - p1);   /* fraction of dt before zero */

		pos = (p0 > 0 ? p0 : p1) / 2 * h * (p0 > 0 ? f : 1 - f);
		neg = -(p0 < 0 ? p0 : p1) / 2 * h * (p0 < 0 ? f : 1 - f);
	}
	if (o->kind == OPEN_TRIP) {
		o->discharge_wh += pos;
		o->regen_wh += neg;
	} else if (o->kind == OPEN_CHARGE) {
		o->charged_wh += neg;
	}
}

static void on_power_input(trip_t *t, int64_t now)
{
	struct trip_state *s = &t->s;
	struct open_state *o = &s->open;
	double p;

	if (!s->have_volt || !s->have_curr)
		return;
	/* Partners more than one bridge apart do not make a power point. */
	if (now - s->volt_t > bridge_ns(t, ROLE_PACK_VOLTAGE) ||
	    now - s->curr_t > bridge_ns(t, ROLE_PACK_CURRENT))
		return;
	p = s->volt_v * s->curr_a;
	if (s->have_power && now == s->power_t) {
		s->power_w = p;   /* the other signal of the same frame */
		return;
	}
	if (o->kind != OPEN_NONE && s->have_power && s->power_t >= o->start_t &&
	    (!use_counters(t) || o->kind == OPEN_CHARGE)) {
		int64_t dt = now - s->power_t;

		int64_t lim = bridge_ns(t, ROLE_PACK_VOLTAGE) > bridge_ns(t, ROLE_PACK_CURRENT) ?
			      bridge_ns(t, ROLE_PACK_VOLTAGE) : bridge_ns(t, ROLE_PACK_CURRENT);

		if (dt > lim)
			o->flags |= ECO2_FLAG_DATA_GAP;
		else if (dt > 0)
			add_energy(t, s->power_w, p, dt);
	}
	s->power_w = p;
	s->power_t = now;
	s->have_power = 1;
}

static void on_counter(trip_t *t, enum eco2_role r, double wh, int64_t now)
{
	struct trip_state *s = &t->s;
	struct open_state *o = &s->open;
	double *last = r == ROLE_DISCHARGE_TOTAL ? &s->ctr_dis_wh : &s->ctr_regen_wh;
	int *have = r == ROLE_DISCHARGE_TOTAL ? &s->ctr_dis_have : &s->ctr_regen_have;
	double *start = r == ROLE_DISCHARGE_TOTAL ? &o->ctr_dis_start_wh : &o->ctr_regen_start_wh;
	int *ohave = r == ROLE_DISCHARGE_TOTAL ? &o->ctr_dis_have : &o->ctr_regen_have;
	double *acc = r == ROLE_DISCHARGE_TOTAL ? &o->discharge_wh : &o->regen_wh;

	if (!isfinite(wh) || wh < 0)
		return;
	if (*have && wh < *last) {
		/* A lifetime counter never runs back: a glitch, ignored. */
		if (o->kind != OPEN_NONE)
			o->flags |= ECO2_FLAG_DATA_GAP;
		return;
	}
	*last = wh;
	*have = 1;
	s->ctr_t = now;
	if (o->kind != OPEN_TRIP || !use_counters(t))
		return;
	if (!*ohave) {
		*ohave = 1;
		*start = wh;
	}
	*acc = wh - *start;
}

static void start_trip(trip_t *t, int64_t now)
{
	open_new(t, OPEN_TRIP, now);
}

static void on_ignition(trip_t *t, double v, int64_t now)
{
	struct trip_state *s = &t->s;
	int on = v != 0;

	if (on && s->ign != 1) {
		if (s->open.kind == OPEN_CHARGE)
			close_open(t, now, 0);
		if (s->open.kind == OPEN_NONE)
			start_trip(t, now);
	} else if (!on && s->ign != 0) {
		if (s->open.kind == OPEN_TRIP)
			close_open(t, now, 0);
		s->idle_ended = 0;
	}
	s->ign = on;
}

static void on_charging(trip_t *t, double v, int64_t now)
{
	struct trip_state *s = &t->s;
	int on = v != 0;

	if (on) {
		if (s->open.kind == OPEN_TRIP && !moving_now(t))
			close_open(t, now, 0);
		if (s->open.kind == OPEN_NONE)
			open_new(t, OPEN_CHARGE, now);
	} else if (s->open.kind == OPEN_CHARGE) {
		close_open(t, now, 0);
	}
	s->charging = on;
}

/* Start a trip on motion when the ignition cannot or did not. */
static void maybe_start_on_motion(trip_t *t, const struct eco2_sample *smp, int64_t now)
{
	struct trip_state *s = &t->s;
	bool motion = false;

	if (s->open.kind != OPEN_NONE || s->charging == 1)
		return;
	if (has_role(t, ROLE_IGNITION) && s->ign == 0)
		return;
	if (smp->role == ROLE_SPEED && isfinite(smp->value) && fabs(smp->value) >= MOVING_KMH)
		motion = true;
	if (smp->role == ROLE_ODOMETER && s->odo.have && s->odo.fresh &&
	    now - s->odo.seen_t <= STALE_ODO_NS && isfinite(smp->value)) {
		bool w;
		double d = odo_delta(t, s->odo.last_raw_m, smp->value, &w);

		motion = d > 0 && d <= plausible_m(t, now - s->odo.last_t);
	}
	if (motion)
		start_trip(t, now);
}

/* Physically possible values of each role, in its canonical unit; a
 * sample outside is a decoding or wiring error and is ignored (it would
 * only make absurd figures). */
static const struct {
	double min, max;
} role_range[ROLE_COUNT] = {
	[ROLE_ODOMETER] = { 0, 1e10 },            /* 10 million km */
	[ROLE_SPEED] = { -1000, 1000 },           /* clamped to max_speed_kmh later */
	[ROLE_PACK_VOLTAGE] = { 0, 2000 },
	[ROLE_PACK_CURRENT] = { -5000, 5000 },
	[ROLE_DISCHARGE_TOTAL] = { 0, 1e12 },     /* Wh */
	[ROLE_REGEN_TOTAL] = { 0, 1e12 },
	[ROLE_IGNITION] = { -1e9, 1e9 },          /* any number: zero or not */
	[ROLE_CHARGING] = { -1e9, 1e9 },
};

void trip_sample(trip_t *t, const struct eco2_sample *smp)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60, 5);
	struct trip_state *s = &t->s;
	int64_t now;

	if ((unsigned)smp->role >= ROLE_COUNT)
		return;
	if (!(smp->value >= role_range[smp->role].min && smp->value <= role_range[smp->role].max)) {
		log_rl(&rl, LOG_WARNING, "trip: %s sample %g is impossible: ignored",
		       role_name(smp->role), smp->value);
		return;
	}
	now = internal_time(t, smp->t_ns);
	check_limits(t, now);
	s->last_t = now;
	s->have_last = 1;
	note_period(t, smp->role, now);
	maybe_start_on_motion(t, smp, now);
	if (s->open.kind != OPEN_NONE)
		s->open.last_t = now;

	switch (smp->role) {
	case ROLE_ODOMETER:
		on_odometer(t, smp->value, now);
		break;
	case ROLE_SPEED:
		on_speed(t, smp->value, now);
		break;
	case ROLE_PACK_VOLTAGE:
		if (!isfinite(smp->value))
			break;
		s->volt_v = smp->value;
		s->volt_t = now;
		s->have_volt = 1;
		on_power_input(t, now);
		break;
	case ROLE_PACK_CURRENT:
		if (!isfinite(smp->value))
			break;
		s->curr_a = smp->value;
		s->curr_t = now;
		s->have_curr = 1;
		on_power_input(t, now);
		break;
	case ROLE_DISCHARGE_TOTAL:
	case ROLE_REGEN_TOTAL:
		on_counter(t, smp->role, smp->value, now);
		break;
	case ROLE_IGNITION:
		on_ignition(t, smp->value, now);
		break;
	case ROLE_CHARGING:
		on_charging(t, smp->value, now);
		break;
	case ROLE_COUNT:
		break;
	}
}

void trip_event(trip_t *t, uint64_t t_ns, enum eco2_can_event ev, uint64_t count)
{
	struct open_state *o = &t->s.open;

	(void)t_ns;
	if (o->kind == OPEN_NONE)
		return;
	switch (ev) {
	case CAN_EV_FRAMES_DROPPED:
		if (count)
			o->flags |= ECO2_FLAG_FRAMES_DROPPED;
		break;
	case CAN_EV_BUS_OFF:
	case CAN_EV_ERROR_PASSIVE:
		o->flags |= ECO2_FLAG_BUS_ERROR;
		break;
	case CAN_EV_IFACE_DOWN:
		o->flags |= ECO2_FLAG_DATA_GAP;
		break;
	case CAN_EV_IFACE_UP:
		break;
	}
}

void trip_tick(trip_t *t, uint64_t now_ns)
{
	int64_t now;

	if (now_ns > TIME_MAX_NS)
		now_ns = TIME_MAX_NS;
	now = (int64_t)now_ns + t->s.corr_ns;

	if (t->s.have_last && now >= t->s.last_t)
		check_limits(t, now);
}

void trip_finish(trip_t *t)
{
	close_open(t, t->s.open.last_t, ECO2_FLAG_ENDED_EARLY);
}

/* ---- checkpoint --------------------------------------------------------
 * Layout: "E2TRIPCK" | u32 version | u32 body length | body | u64 FNV-1a
 * of everything before it. The body is the state, field by field, as
 * little-endian 64-bit integers (doubles by their IEEE bits), so the blob
 * reads the same on every architecture. */

#define CK_MAGIC   "E2TRIPCK"
#define CK_VERSION 2u

struct ck_buf {
	uint8_t *p;
	size_t len, cap, off;
	bool bad;
};

/* With no buffer, put_u64 only counts: that sizes the body. */
static void put_u64(struct ck_buf *b, uint64_t v)
{
	if (!b->p) {
		b->len += 8;
		return;
	}
	if (b->len + 8 > b->cap) {
		b->bad = true;
		return;
	}
	for (int i = 0; i < 8; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(struct ck_buf *b)
{
	uint64_t v = 0;

	if (b->off + 8 > b->len) {
		b->bad = true;
		return 0;
	}
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)b->p[b->off++] << (8 * i);
	return v;
}

static uint64_t dbl_bits(double d)
{
	uint64_t v;

	memcpy(&v, &d, sizeof(v));
	return v;
}

static double bits_dbl(uint64_t v)
{
	double d;

	memcpy(&d, &v, sizeof(d));
	return d;
}

/* One walk over the state serves both directions: W(x) for integers,
 * D(x) for doubles. */
#define W(x) do { if (save) put_u64(b, (uint64_t)(x)); else (x) = (__typeof__(x))get_u64(b); } while (0)
#define D(x) do { if (save) put_u64(b, dbl_bits(x)); else (x) = bits_dbl(get_u64(b)); } while (0)

static void ck_walk(struct trip_state *s, struct ck_buf *b, bool save)
{
	struct odo_state *od = &s->odo;
	struct open_state *o = &s->open;

	W(s->corr_ns); W(s->auto_step_ns); W(s->last_t); W(s->have_last); W(s->ign); W(s->charging);
	W(s->idle_ended);
	D(s->speed_kmh); W(s->speed_t); W(s->have_speed);
	D(s->volt_v); W(s->volt_t); W(s->have_volt);
	D(s->curr_a); W(s->curr_t); W(s->have_curr);
	D(s->power_w); W(s->power_t); W(s->have_power);
	D(s->ctr_dis_wh); D(s->ctr_regen_wh); W(s->ctr_dis_have); W(s->ctr_regen_have);
	W(s->ctr_t);
	W(od->have); W(od->fresh); D(od->last_raw_m); W(od->last_t); W(od->seen_t);
	D(od->step_m);
	D(od->cand_raw_m); W(od->cand_t); W(od->cand_n); W(od->pending_gap_ns);
	W(o->kind); W(o->start_t); W(o->last_t); W(o->last_motion_t); W(o->flags);
	W(o->odo_seen); D(o->odo_start_m); W(o->anchored); D(o->done_m);
	D(o->since_tick_m); W(o->stuck); D(o->discharge_wh); D(o->regen_wh);
	D(o->charged_wh); D(o->ctr_dis_start_wh); D(o->ctr_regen_start_wh);
	W(o->ctr_dis_have); W(o->ctr_regen_have);
	for (int r = 0; r < ROLE_COUNT; r++) {
		W(s->period[r].last_t); D(s->period[r].period_ns); W(s->period[r].n);
		W(s->period[r].same_n);
	}
}

#undef W
#undef D

static size_t ck_body_len(void)
{
	struct trip_state s;
	struct ck_buf b = { 0 };

	state_init(&s);
	ck_walk(&s, &b, true);
	return b.len;
}

/* A blob that passed its checksum was written by trip_checkpoint_save;
 * still, nothing from storage is trusted to keep the arithmetic in range. */
static bool t_ok(int64_t v)
{
	return v >= -(TIME_MAX_NS / 2) && v <= TIME_MAX_NS;
}

static bool d_ok(double v)
{
	return isfinite(v) && v >= -1e15 && v <= 1e15;
}

static bool ck_sane(const struct trip_state *s)
{
	const struct odo_state *od = &s->odo;
	const struct open_state *o = &s->open;

	if (s->corr_ns < -CORR_MAX_NS || s->corr_ns > CORR_MAX_NS ||
	    s->auto_step_ns < -CORR_MAX_NS || s->auto_step_ns > CORR_MAX_NS)
		return false;
	if (!t_ok(s->last_t) || !t_ok(s->speed_t) || !t_ok(s->volt_t) || !t_ok(s->curr_t) ||
	    !t_ok(s->power_t) || !t_ok(s->ctr_t) || !t_ok(od->last_t) || !t_ok(od->seen_t) ||
	    !t_ok(od->cand_t) || od->pending_gap_ns < 0 || od->pending_gap_ns > CORR_MAX_NS ||
	    !t_ok(o->start_t) ||
	    !t_ok(o->last_t) || !t_ok(o->last_motion_t))
		return false;
	if (!d_ok(s->speed_kmh) || !d_ok(s->volt_v) || !d_ok(s->curr_a) || !d_ok(s->power_w) ||
	    !d_ok(s->ctr_dis_wh) || !d_ok(s->ctr_regen_wh) || !d_ok(od->last_raw_m) ||
	    !d_ok(od->step_m) || od->step_m < 0 || !d_ok(od->cand_raw_m) ||
	    !d_ok(o->odo_start_m) || !d_ok(o->done_m) || !d_ok(o->since_tick_m) ||
	    !d_ok(o->discharge_wh) || !d_ok(o->regen_wh) || !d_ok(o->charged_wh) ||
	    !d_ok(o->ctr_dis_start_wh) || !d_ok(o->ctr_regen_start_wh))
		return false;
	if (o->done_m < 0 || o->since_tick_m < 0 || o->discharge_wh < 0 || o->regen_wh < 0 ||
	    o->charged_wh < 0)
		return false;
	for (int r = 0; r < ROLE_COUNT; r++)
		if (!t_ok(s->period[r].last_t) || !d_ok(s->period[r].period_ns) ||
		    s->period[r].period_ns < 0)
			return false;
	return o->kind == OPEN_NONE || o->kind == OPEN_TRIP || o->kind == OPEN_CHARGE;
}

int trip_checkpoint_save(const trip_t *t, uint8_t **blob, size_t *len)
{
	size_t body = ck_body_len(), total = 8 + 4 + 4 + body + 8;
	struct trip_state copy = t->s;
	struct ck_buf b = { 0 };
	uint64_t h;

	*blob = NULL;
	*len = 0;
	b.p = malloc(total);
	if (!b.p)
		return -ENOMEM;
	b.cap = total;
	memcpy(b.p, CK_MAGIC, 8);
	for (int i = 0; i < 4; i++) {
		b.p[8 + i] = (uint8_t)(CK_VERSION >> (8 * i));
		b.p[12 + i] = (uint8_t)(body >> (8 * i));
	}
	b.len = 16;
	ck_walk(&copy, &b, true);
	h = fnv1a64(b.p, b.len);
	put_u64(&b, h);
	if (b.bad || b.len != total) {
		free(b.p);
		return -EINVAL;
	}
	*blob = b.p;
	*len = b.len;
	return 0;
}

int trip_checkpoint_restore(trip_t *t, const uint8_t *blob, size_t len)
{
	struct trip_state s;
	struct ck_buf b = { 0 };
	uint32_t version = 0, body = 0;
	uint64_t h;

	if (!blob || len < 24 || memcmp(blob, CK_MAGIC, 8))
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		version |= (uint32_t)blob[8 + i] << (8 * i);
		body |= (uint32_t)blob[12 + i] << (8 * i);
	}
	if (version != CK_VERSION || body != ck_body_len() || len != 16 + (size_t)body + 8)
		return -EINVAL;
	b.p = (uint8_t *)blob;
	b.len = len;
	b.off = 16 + body;
	h = get_u64(&b);
	if (b.bad || h != fnv1a64(blob, 16 + body))
		return -EINVAL;
	state_init(&s);
	b.off = 16;
	b.len = 16 + body;
	ck_walk(&s, &b, false);
	if (b.bad || b.off != b.len)
		return -EINVAL;
	if (!ck_sane(&s))
		return -EINVAL;
	t->s = s;
	if (t->s.open.kind != OPEN_NONE)
		t->s.open.flags |= ECO2_FLAG_RESUMED;
	return 0;
}
