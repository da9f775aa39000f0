/* agent — eco2d's pipeline on one event loop.
 *
 *   CAN source (can/source.h: SocketCAN, the ECU poller, or a candump
 *   log replayed)
 *     -> profile_decode       samples in canonical units (the poller and
 *                             the log decode polled answers themselves)
 *     -> trip calculator      finished trips and charging sessions
 *     -> store_pending        seq, prev, COSE_Sign1 signature, one SQLite
 *                             transaction per record (queue_append)
 *     -> ledger               libcurl multi on the same loop
 *
 * Nothing here blocks except the SQLite commits and the signature, both
 * bounded. Timers run only while they have work: the trip tick and the
 * checkpoint while a trip is open, the upload interval while records are
 * pending, the watchdog when systemd asks for one. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/can/error.h>

#include "agent/agent.h"
#include "agent/checkpoint.h"
#include "agent/config.h"
#include "lib/log.h"
#include "agent/loop.h"
#include "agent/notify.h"
#include "agent/seccomp.h"
#include "agent/trip.h"
#include "agent/params.h"
#include "can/profile.h"
#include "can/source.h"
#include "crypto/cose.h"
#include "crypto/rules.h"
#include "crypto/signer.h"
#include "upload/ledger.h"
#include "upload/queue.h"

#define REPLAY_CHUNK      2048     /* frames per loop turn while replaying */
#define STORE_RETRY_MS    5000     /* after the store refused a record */
#define MAX_PENDING       4096     /* finished records waiting for the store */

struct agent {
	struct agent_opts opts;
	struct eco2_config cfg;
	loop_t *loop;
	profile_t *profile;
	trip_t *trip;
	signer_t *signer;
	queue_t *queue;
	ledger_t *ledger;

	can_source_t *src;            /* SocketCAN, or a candump log */
	loop_timer_t *t_src;          /* the source's deadline (re-opens) */

	loop_timer_t *t_tick;         /* 1 s while a trip is open: idle/gap ends */
	loop_timer_t *t_checkpoint;   /* trip.checkpoint_s while a trip is open */
	loop_timer_t *t_upload;       /* upload.interval_s while records wait */
	loop_timer_t *t_ledger;       /* libcurl's and the back-off's timer */
	loop_timer_t *t_watchdog;
	loop_timer_t *t_store_retry;

	struct eco2_record *pending;  /* finished, not yet stored */
	size_t n_pending;
	struct eco2_record last;      /* the chain's last record, when known */

	uint64_t last_tick_ns;        /* replay: log time of the last trip_tick */
	uint64_t replay_frames;       /* frames read from the log so far */
	uint64_t replay_first_t_ns;   /* the log's first frame: which log it is */
	uint64_t skip_frames;         /* resumed replay: frames already consumed */
	uint64_t skip_first_t_ns;
	uint64_t suppress;            /* resumed replay: records already stored */
	uint64_t next_flags;          /* ECO2_FLAG_* for the next finished record */
	int64_t ckpt_saved_s;         /* the last checkpoint saved (UTC s); 0: none */
	size_t ckpt_saved_pending;    /* ... and the finished records in it */
	int64_t wall_minus_mono_ns;   /* live: for clock-step detection */

	/* counters since start, flushed to the store with each checkpoint */
	uint64_t frames, dropped, bus_errors, store_failures;
	uint64_t flushed_frames, flushed_dropped, flushed_bus_errors, flushed_store_failures;
	int exit_status;

	bool input_done;              /* the replayed log has ended */
	bool have_last;               /* `last` is the chain's last record */
	bool store_blocked;           /* the store refused; the retry timer runs */
	bool pending_unsaved;         /* a finished record not yet in a checkpoint */
	bool trip_open;
	bool stopping;
};

/* Constant-false when upload is compiled out, so its calls drop out. */
static bool uploading(const agent_t *a)
{
	return IS_ENABLED(CONFIG_UPLOAD) && a->ledger;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- storing records ---------------------------------------------------- */

struct make_ctx {
	agent_t *a;
	struct eco2_record rec;
};

/* Inside queue_append's transaction: number, chain and sign the record. */
static int make_record(uint64_t seq, const uint8_t prev[QUEUE_HASH_LEN], void *vctx,
		       uint8_t **bytes, size_t *len, uint8_t hash[QUEUE_HASH_LEN])
{
	struct make_ctx *m = vctx;
	int ret;

	m->rec.version = ECO2_RECORD_VERSION;
	m->rec.seq = seq;
	memcpy(m->rec.prev, prev, sizeof(m->rec.prev));
	signer_kid(m->a->signer, m->rec.kid);
	ret = cose_record_encode(&m->rec, m->a->signer, bytes, len);
	if (ret)
		return ret;
	cose_record_sha256(*bytes, *len, hash);
	return 0;
}

/* Before a record is signed, the rules a certifier checks (crypto/rules.h):
 * on its own, and after the chain's last record. Two can break without a
 * fault here, and a flag then says why: a record that starts before the
 * last one ended (the wall clock stepped back between them) is flagged
 * clock_jump; one whose odometer reads below the last one's (an odometer
 * reset or replaced while parked) odo_rollback. Any other failure is this
 * program's fault: the record is not signed (a certifier would refuse it)
 * and its figures go to the log. 0, or -EDOM: do not sign. */
static int presign_check(agent_t *a, struct eco2_record *r)
{
	const struct rules_finding *f = NULL;
	struct rules_result res;

	for (int round = 0; round < 2; round++) {
		uint64_t add = 0;

		rules_result_init(&res);
		rules_check_record(r, &res);
		if (a->have_last)
			rules_check_follow(&a->last, r, &res);
		f = rules_first_fail(&res);
		if (!f)
			return 0;
		for (unsigned i = 0; round == 0 && i < res.n; i++) {
			const struct rules_finding *x = &res.f[i];
			uint64_t fl = 0;

			if (x->sev != RULES_FAIL)
				continue;
			if (!strcmp(x->rule, "chain.time"))
				fl = ECO2_FLAG_CLOCK_JUMP;
			else if (!strcmp(x->rule, "chain.odo_back") || !strcmp(x->rule, "chain.odo_twice"))
				fl = ECO2_FLAG_ODO_ROLLBACK;
			if (!fl) {
				add = 0;
				break;
			}
			add |= fl;
			log_warn("record after seq %llu: %s: %s: flagged %s",
				 (unsigned long long)a->last.seq, x->rule, x->msg,
				 fl == ECO2_FLAG_CLOCK_JUMP ? "clock_jump" : "odo_rollback");
		}
		if (!add)
			break;
		r->flags |= add;
	}
	log_err("record NOT SIGNED, it breaks rule %s: %s; type %u, %lld..%lld s, odometer "
		"%lld..%lld m, %lld m, %lld/%lld/%lld Wh, %lld g CO2, flags 0x%llx",
		f->rule, f->msg, r->type, (long long)r->start_s, (long long)r->end_s,
		(long long)r->odo_start_m, (long long)r->odo_end_m, (long long)r->distance_m,
		(long long)r->discharge_wh, (long long)r->regen_wh, (long long)r->charged_wh,
		(long long)r->co2_g, (unsigned long long)r->flags);
	return -EDOM;
}

/* The chain's last record, read back from the store at start (if it is
 * still there: uploaded records may have been pruned). */
static int last_record_cb(uint64_t seq, const uint8_t *bytes, size_t len, void *ctx)
{
	agent_t *a = ctx;
	const char *why = NULL;

	(void)seq;
	a->have_last = !cose_record_decode(bytes, len, &a->last, NULL, &why);
	return 1;   /* the head alone */
}

static void last_record_load(agent_t *a)
{
	uint8_t h[QUEUE_HASH_LEN];
	uint64_t head = 0;

	if (!queue_head(a->queue, &head, h) && head &&
	    queue_walk(a->queue, head, last_record_cb, a) < 0)
		log_warn("store: the last record cannot be read back; the next is not "
			 "checked against it");
}

static int checkpoint_now(agent_t *a);

/* Store every finished record, oldest first. A record that cannot be
 * stored stays pending (in memory, and its trip in the checkpoint) and is
 * retried; nothing is dropped. */
static void store_pending(agent_t *a)
{
	size_t done = 0;
	int ret = 0;

	while (done < a->n_pending) {
		struct make_ctx m = { .a = a, .rec = a->pending[done] };
		uint64_t seq;

		if (presign_check(a, &m.rec)) {
			done++;
			continue;
		}
		ret = queue_append(a->queue, make_record, &m, &seq);
		if (ret)
			break;
		a->last = m.rec;
		a->have_last = true;
		log_info("record %llu stored: %s, %lld m, %lld Wh out, %lld Wh regen, %lld g CO2, flags 0x%llx",
			 (unsigned long long)seq, m.rec.type == ECO2_REC_TRIP ? "trip" : "charging",
			 (long long)m.rec.distance_m, (long long)m.rec.discharge_wh,
			 (long long)m.rec.regen_wh, (long long)m.rec.co2_g,
			 (unsigned long long)m.rec.flags);
		done++;
	}
	if (done) {
		memmove(a->pending, a->pending + done, (a->n_pending - done) * sizeof(*a->pending));
		a->n_pending -= done;
		/* The new chain head goes into the checkpoint at once, so a
		 * restart cannot resume a trip that was already stored. */
		checkpoint_now(a);
		if (uploading(a)) {
			ledger_kick(a->ledger);
			loop_timer_arm(a->t_upload, (uint64_t)a->cfg.upload_interval_s * 1000,
					     (uint64_t)a->cfg.upload_interval_s * 1000);
		}
	}
	if (ret) {
		static struct log_ratelimit rl = LOG_RATELIMIT_INIT(300, 1);
		bool saved;

		a->store_failures++;
		a->store_blocked = true;
		loop_timer_arm(a->t_store_retry, STORE_RETRY_MS, 0);
		/* The records wait in the checkpoint, which the quota never
		 * refuses; only a disk too full for it leaves them in memory. */
		saved = !checkpoint_now(a);
		if (saved)
			log_rl(&rl, LOG_ERR, "store: cannot store record (%s); %zu finished records "
			       "wait in the checkpoint, retrying every %d s", strerror(-ret),
			       a->n_pending, STORE_RETRY_MS / 1000);
		else
			log_rl(&rl, LOG_ERR, "store: cannot store record (%s) and cannot save the "
			       "checkpoint: %zu finished records%s are in memory only (%zu of them in "
			       "the last checkpoint saved); retrying every %d s", strerror(-ret),
			       a->n_pending, trip_is_open(a->trip) ? " and the open trip" : "",
			       a->ckpt_saved_pending, STORE_RETRY_MS / 1000);
	}
}

static void on_record(const struct eco2_record *rec, void *ctx)
{
	agent_t *a = ctx;

	if (a->n_pending == MAX_PENDING) {
		/* Cannot happen short of weeks without a writable store; the
		 * oldest stays, the log says so loudly. */
		log_err("store: %d records waiting for the store; newest not kept", MAX_PENDING);
		a->exit_status = 1;
		return;
	}
	if (a->suppress) {
		/* Replayed after a crash between storing it and saving the
		 * checkpoint: this record is already in the store. */
		a->suppress--;
		log_info("record already stored before the restart; not stored again");
		return;
	}
	a->pending_unsaved = true;
	a->pending[a->n_pending] = *rec;
	/* A state break (a checkpoint refused at start-up) is told by the
	 * first record made after it. */
	a->pending[a->n_pending++].flags |= a->next_flags;
	a->next_flags = 0;
}

static void maybe_exit(agent_t *a);

static void on_store_retry(loop_t *l, loop_timer_t *t, void *ctx)
{
	agent_t *a = ctx;
	(void)l; (void)t;

	a->store_blocked = false;
	store_pending(a);
	maybe_exit(a);
}

/* ---- checkpoints ----------------------------------------------------------
 * The checkpoint (agent/checkpoint.h) holds the trip calculator's state,
 * the finished records the store has not taken yet, the chain head and how
 * far a replayed log was consumed. It is saved after every stored record,
 * every trip.checkpoint_s while a trip is open, when the store refuses a
 * record, and at exit; always between frames, never inside one.
 * On a restart, with k records stored since the save:
 *   - the first k of its pending records are among them: dropped; the rest
 *     are stored now;
 *   - live, k beyond its pending records: the process died between storing
 *     a record and saving the checkpoint, so the trip in it is the one
 *     stored: not resumed; otherwise the open trip continues
 *     (ECO2_FLAG_RESUMED);
 *   - replay of the same log: the frames it had consumed are skipped, and
 *     records beyond its pending ones are recognised as already stored
 *     when they come round again (a replay is deterministic). A kill -9 at
 *     any point thus yields the records of one uninterrupted run. */

/* Add what a counter gained since the last flush to its stored total
 * (eco2ctl status reads them). A failure leaves the delta for next time. */
static void flush_counter(agent_t *a, const char *name, uint64_t now, uint64_t *flushed)
{
	if (now == *flushed)
		return;
	if (!queue_counter_add(a->queue, name, (int64_t)(now - *flushed)))
		*flushed = now;
}

static void flush_counters(agent_t *a)
{
	flush_counter(a, "can.frames", a->frames, &a->flushed_frames);
	flush_counter(a, "can.dropped", a->dropped, &a->flushed_dropped);
	flush_counter(a, "can.bus_errors", a->bus_errors, &a->flushed_bus_errors);
	flush_counter(a, "store.failures", a->store_failures, &a->flushed_store_failures);
}

/* The checkpoint as it stands, encoded and tagged. */
static int checkpoint_blob(agent_t *a, uint8_t **blob, size_t *len)
{
	/* A resumed replay that has not yet read past the frames it skips
	 * is still where its checkpoint was. */
	struct agent_ckpt c = { .replay_frames = a->replay_frames > a->skip_frames ?
						 a->replay_frames : a->skip_frames,
				.replay_first_t_ns = a->replay_frames ? a->replay_first_t_ns :
						     a->skip_first_t_ns,
				.next_flags = a->next_flags,
				.pending = a->pending, .n_pending = a->n_pending };
	uint8_t *trip = NULL;
	int ret;

	ret = queue_head(a->queue, &c.head_seq, c.head_hash);
	if (ret)
		goto out;
	ret = trip_checkpoint_save(a->trip, &trip, &c.trip_len);
	if (ret)
		goto out;
	c.trip = trip;
	ret = agent_ckpt_encode(&c, a->signer, blob, len);
out:
	free(trip);
	return ret;
}

/* Save the checkpoint: 0, or -errno (logged, rate-limited). */
static int checkpoint_now(agent_t *a)
{
	int64_t t_s = (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000u);
	uint8_t *blob = NULL;
	size_t len = 0;
	int ret;

	flush_counters(a);
	ret = checkpoint_blob(a, &blob, &len);
	if (!ret)
		ret = queue_checkpoint_put(a->queue, blob, len, t_s);
	if (!ret) {
		a->ckpt_saved_s = t_s;
		a->ckpt_saved_pending = a->n_pending;
		a->pending_unsaved = false;
	} else {
		static struct log_ratelimit rl = LOG_RATELIMIT_INIT(300, 1);
		log_rl(&rl, LOG_ERR, "checkpoint: cannot save the trip state: %s", strerror(-ret));
	}
	free(blob);
	return ret;
}

/* A checkpoint that cannot be trusted or used: nothing in it is ever
 * signed. It is kept aside for inspection, the daemon starts afresh, and
 * the next record it makes carries ECO2_FLAG_STATE_BREAK, saved at once in
 * the fresh checkpoint that replaces it (one transaction). */
static int checkpoint_refuse(agent_t *a, int64_t t_s, const char *why)
{
	char when[32];
	uint8_t *blob = NULL;
	size_t len = 0;
	struct tm tm;
	time_t t = (time_t)t_s;
	int ret;

	if (!gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, sizeof(when), "%lld", (long long)t_s);
	log_err("checkpoint of %s: %s: refused; nothing in it will be signed. Kept aside for "
		"inspection (eco2ctl status, docs/store.md); starting afresh, and the next record "
		"carries the state_break flag", when, why);
	a->next_flags |= ECO2_FLAG_STATE_BREAK;
	ret = checkpoint_blob(a, &blob, &len);
	if (!ret)
		ret = queue_checkpoint_reject(a->queue, why, blob, len,
					      (int64_t)(now_ns(CLOCK_REALTIME) / 1000000000u));
	free(blob);
	return ret;
}

static int checkpoint_resume(agent_t *a)
{
	uint8_t head_hash[QUEUE_HASH_LEN];
	struct agent_ckpt c;
	uint64_t head = 0, stored_since, dropped;
	uint8_t *blob = NULL;
	const char *why = NULL;
	char why_buf[160];
	size_t len = 0;
	int64_t t_s = 0;
	int ret;

	ret = queue_checkpoint_get(a->queue, (void **)&blob, &len, &t_s);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	ret = queue_head(a->queue, &head, head_hash);
	if (ret)
		goto out;
	ret = agent_ckpt_decode(blob, len, a->signer, &c, &why);
	if (ret && ret != -EINVAL && ret != -EBADMSG) {
		log_err("checkpoint: %s (%s)", why, strerror(-ret));
		goto out;   /* the key failed: no start without it */
	}
	if (ret)
		goto refuse;
	why = why_buf;
	if (c.head_seq > head || (c.head_seq == head && memcmp(c.head_hash, head_hash, 32))) {
		snprintf(why_buf, sizeof(why_buf), "saved at chain head %llu, which this store "
			 "(head %llu) does not hold", (unsigned long long)c.head_seq,
			 (unsigned long long)head);
		goto refuse;
	}
	if (c.n_pending > MAX_PENDING) {
		snprintf(why_buf, sizeof(why_buf), "holds %zu finished records, more than %d",
			 c.n_pending, MAX_PENDING);
		goto refuse;
	}
	/* Records stored since the save: first the ones it held as pending
	 * (oldest first), then any finished after it. */
	stored_since = head - c.head_seq;
	dropped = stored_since < c.n_pending ? stored_since : c.n_pending;
	a->next_flags = c.next_flags;
	if (!a->opts.replay_path && stored_since > c.n_pending) {
		log_info("checkpoint: its trip was stored before the restart; not resumed");
		a->next_flags = 0;   /* told by a stored record already */
		goto out;
	}
	if (trip_checkpoint_restore(a->trip, c.trip, c.trip_len)) {
		snprintf(why_buf, sizeof(why_buf), "its trip state does not restore");
		goto refuse;
	}
	for (size_t i = dropped; i < c.n_pending; i++)
		agent_ckpt_pending(&c, i, &a->pending[a->n_pending++]);
	if (a->opts.replay_path) {
		a->skip_frames = c.replay_frames;
		a->skip_first_t_ns = c.replay_first_t_ns;
		a->suppress = stored_since - dropped;
	}
	log_notice("resumed from the checkpoint of %lld%s%s", (long long)t_s,
		   trip_is_open(a->trip) ? " with an open trip" : "",
		   a->n_pending ? " and finished records to store" : "");
	goto out;
refuse:
	a->next_flags = 0;
	ret = checkpoint_refuse(a, t_s, why);
out:
	free(blob);
	return ret;
}

/* ---- trip bookkeeping ---------------------------------------------------- */

/* Arm or disarm the timers that only matter while a trip is open. */
static void trip_timers(agent_t *a)
{
	bool open = trip_is_open(a->trip);

	if (open == a->trip_open)
		return;
	a->trip_open = open;
	if (open) {
		if (!a->opts.replay_path)
			loop_timer_arm(a->t_tick, 1000, 1000);
		loop_timer_arm(a->t_checkpoint, (uint64_t)a->cfg.trip_checkpoint_s * 1000,
				     (uint64_t)a->cfg.trip_checkpoint_s * 1000);
	} else {
		loop_timer_arm(a->t_tick, 0, 0);
		loop_timer_arm(a->t_checkpoint, 0, 0);
	}
}

/* After each input (a frame, an event, a tick): store what the trip
 * calculator finished, now that its state is whole again, and arm the
 * timers an open trip needs. */
static void settle(agent_t *a)
{
	/* A record the store refuses waits in the checkpoint at once: a
	 * crash or power cut before the store's retry loses nothing. */
	if (a->n_pending && !a->store_blocked)
		store_pending(a);
	else if (a->n_pending && a->pending_unsaved && checkpoint_now(a))
		a->pending_unsaved = false;   /* tried again with the store, not at every frame */
	trip_timers(a);
}

static void on_frame(void *ctx, const struct can_frame_rec *f)
{
	agent_t *a = ctx;
	struct eco2_sample smp[ROLE_COUNT];
	int n;

	a->frames++;
	if (f->flags & CANREC_ERR) {
		/* Error frames from a log; live ones arrive as events. */
		if (f->id & CAN_ERR_BUSOFF) {
			a->bus_errors++;
			trip_event(a->trip, f->t_ns, CAN_EV_BUS_OFF, 0);
		}
		if (f->id & CAN_ERR_CRTL) {
			a->bus_errors++;
			trip_event(a->trip, f->t_ns, CAN_EV_ERROR_PASSIVE, 0);
		}
		settle(a);
		return;
	}
	n = profile_decode(a->profile, f, smp, ROLE_COUNT);
	for (int i = 0; i < n; i++)
		trip_sample(a->trip, &smp[i]);
	if (a->opts.replay_path && f->t_ns - a->last_tick_ns >= 1000000000u) {
		trip_tick(a->trip, f->t_ns);
		a->last_tick_ns = f->t_ns;
	}
	settle(a);
}

/* A value the source decoded itself: an ECU's answer to a request. */
static void on_sample(void *ctx, const struct eco2_sample *smp)
{
	agent_t *a = ctx;

	trip_sample(a->trip, smp);
	settle(a);
}

static void on_can_event(void *ctx, const char *iface, enum eco2_can_event ev,
			 uint64_t value, uint64_t t_ns)
{
	agent_t *a = ctx;
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60, 5);

	switch (ev) {
	case CAN_EV_FRAMES_DROPPED:
		a->dropped += value;
		log_rl(&rl, LOG_WARNING, "%s: %llu frames dropped by the kernel", iface,
		       (unsigned long long)value);
		break;
	case CAN_EV_BUS_OFF:
	case CAN_EV_ERROR_PASSIVE:
		a->bus_errors++;
		log_rl(&rl, LOG_WARNING, "%s: %s", iface,
		       ev == CAN_EV_BUS_OFF ? "bus-off" : "error-passive");
		break;
	case CAN_EV_IFACE_DOWN:
		log_rl(&rl, LOG_WARNING, "%s: interface down; re-opening with backoff", iface);
		break;
	case CAN_EV_IFACE_UP:
		log_notice("%s: interface up", iface);
		break;
	}
	trip_event(a->trip, t_ns, ev, value);
	settle(a);
}

static void on_tick(loop_t *l, loop_timer_t *t, void *ctx)
{
	agent_t *a = ctx;
	uint64_t wall = now_ns(CLOCK_REALTIME);
	int64_t offset = (int64_t)(wall - now_ns(CLOCK_MONOTONIC));
	(void)l; (void)t;

	/* The wall clock stepped (NTP, GNSS, the user) if its distance from
	 * the monotonic clock moved by more than a second. */
	if (a->wall_minus_mono_ns && llabs(offset - a->wall_minus_mono_ns) > 1000000000LL) {
		log_notice("wall clock stepped by %lld ms", (long long)((offset - a->wall_minus_mono_ns) / 1000000));
		trip_clock_step(a->trip, offset - a->wall_minus_mono_ns);
	}
	a->wall_minus_mono_ns = offset;
	trip_tick(a->trip, wall);
	settle(a);
}

static void on_checkpoint(loop_t *l, loop_timer_t *t, void *ctx)
{
	agent_t *a = ctx;
	struct eco2_record r;
	(void)l; (void)t;

	checkpoint_now(a);
	if (!trip_peek(a->trip, &r))
		(void)notify_status("%s open: %.1f km, %lld Wh; %zu records waiting for the store",
				    r.type == ECO2_REC_TRIP ? "trip" : "charging",
				    (double)r.distance_m / 1000, (long long)(r.discharge_wh - r.regen_wh),
				    a->n_pending);
}

/* ---- the CAN source ------------------------------------------------------
 * One source (can/source.h): SocketCAN live, or a candump log replayed
 * from a file or a pipe. The loop watches its fd and its deadline; the
 * source hands frames, events and the end of a log to the callbacks. */

static void src_rearm(agent_t *a)
{
	uint64_t deadline = can_source_deadline_ns(a->src), now = now_ns(CLOCK_MONOTONIC);

	if (deadline == UINT64_MAX)
		loop_timer_arm(a->t_src, 0, 0);
	else
		loop_timer_arm(a->t_src, deadline > now ? (deadline - now) / 1000000 + 1 : 1, 0);
}

static void replay_frame(void *ctx, const struct can_frame_rec *f);
static void replay_sample(void *ctx, const struct eco2_sample *smp);
static void input_end(void *ctx);

static void src_dispatch(agent_t *a)
{
	const struct can_source_cb cb = {
		.frame = a->opts.replay_path ? replay_frame : on_frame,
		.sample = a->opts.replay_path ? replay_sample : on_sample,
		.event = on_can_event, .end = input_end, .ctx = a,
	};
	int ret = can_source_dispatch(a->src, &cb);

	if (ret < 0) {
		static struct log_ratelimit rl = LOG_RATELIMIT_INIT(60, 1);
		log_rl(&rl, LOG_ERR, "can: %s", strerror(-ret));
	}
	if (!a->input_done)
		src_rearm(a);
}

static void on_src_fd(loop_t *l, int fd, uint32_t events, void *ctx)
{
	(void)l; (void)fd; (void)events;
	src_dispatch(ctx);
}

static void on_src_timer(loop_t *l, loop_timer_t *t, void *ctx)
{
	(void)l; (void)t;
	src_dispatch(ctx);
}

/* Live input: the interfaces of [can] interfaces, the kernel filters of
 * the profile's ids. */
static int socketcan_opts_for(agent_t *a, struct can_source_opts *so, char **list,
			      const char **names, size_t max_names, struct socketcan_id *ids)
{
	char *save = NULL, *tok;
	ssize_t n_ids;

	if (!IS_ENABLED(CONFIG_CAN_SOCKETCAN)) {
		log_err("live CAN input is not built in (CONFIG_CAN_SOCKETCAN); use --replay");
		return -ENOTSUP;
	}
	if (!a->cfg.can_interfaces) {
		log_err("%s: [can] interfaces: required without --replay", a->cfg.path);
		return -EINVAL;
	}
	*list = strdup(a->cfg.can_interfaces);
	if (!*list)
		return -ENOMEM;
	for (tok = strtok_r(*list, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		if (so->n_ifaces == max_names) {
			log_err("%s: [can] interfaces: at most %zu", a->cfg.path, max_names);
			return -EINVAL;
		}
		names[so->n_ifaces++] = tok;
	}
	n_ids = profile_filters(a->profile, ids, SOCKETCAN_MAX_IDS);
	if (n_ids < 0)
		return (int)n_ids;
	so->ifaces = names;
	so->ids = ids;
	so->n_ids = (size_t)n_ids;
	so->socketcan.fd_frames = true;
	so->socketcan.rcvbuf_bytes = 1 << 20;
	return 0;
}

static int source_open(agent_t *a)
{
	struct socketcan_id ids[SOCKETCAN_MAX_IDS];
	struct can_source_opts so = { .budget = REPLAY_CHUNK, .profile = a->profile };
	const struct can_source_driver *drv;
	const char *names[16];
	char *list = NULL;
	size_t n_polls;
	int ret;

	if (a->opts.replay_path) {
		if (!IS_ENABLED(CONFIG_CAN_REPLAY)) {
			log_err("log replay is not built in (CONFIG_CAN_REPLAY)");
			return -ENOTSUP;
		}
		so.path = a->opts.replay_path;
		drv = can_source_candump_for(so.path);
	} else {
		ret = socketcan_opts_for(a, &so, &list, names, ARRAY_SIZE(names), ids);
		if (ret)
			goto out;
		/* A profile that polls: the poller, which also runs the
		 * broadcast part, on the first interface. */
		(void)profile_polls(a->profile, &n_polls);
		if (n_polls && !IS_ENABLED(CONFIG_CAN_POLL)) {
			log_err("%s: [can] profile: it asks ECUs ([poll.*]), and this eco2d is built without the poller (CONFIG_CAN_POLL)",
				a->cfg.path);
			ret = -ENOTSUP;
			goto out;
		}
		drv = n_polls ? &can_source_poller : &can_source_socketcan;
	}
	ret = can_source_open(&a->src, drv, &so);
	if (ret) {
		if (!a->opts.replay_path)
			log_err("can: cannot open %s: %s", a->cfg.can_interfaces, strerror(-ret));
		goto out;
	}
	ret = loop_add_fd(a->loop, can_source_fd(a->src), EPOLLIN, on_src_fd, a);
	if (!ret)
		ret = loop_timer_new(a->loop, &a->t_src, on_src_timer, a);
	if (!ret)
		src_rearm(a);
out:
	free(list);
	return ret;
}

static int trip_start(agent_t *a);

/* A resumed replay must be of the log its checkpoint was made from. */
static void replay_first_frame(agent_t *a, const struct can_frame_rec *f)
{
	a->replay_first_t_ns = f->t_ns;
	if (!a->skip_frames || f->t_ns == a->skip_first_t_ns) {
		if (a->skip_frames)
			log_notice("%s: skipping the %llu frames consumed before the restart",
				   a->opts.replay_path, (unsigned long long)a->skip_frames);
		return;
	}
	log_warn("%s: the checkpoint is of another log; replaying from its start, afresh",
		 a->opts.replay_path);
	a->skip_frames = 0;
	a->suppress = 0;
	trip_free(a->trip);
	a->trip = NULL;
	if (trip_start(a)) {
		a->exit_status = 1;
		loop_stop(a->loop);
	}
}

/* A value decoded from a replayed answer comes right after the frame that
 * completed it: skipped with that frame. */
static void replay_sample(void *ctx, const struct eco2_sample *smp)
{
	agent_t *a = ctx;

	if (a->replay_frames > a->skip_frames)
		on_sample(a, smp);
}

/* A replayed frame: the frames a resumed replay consumed before its
 * restart are skipped. */
static void replay_frame(void *ctx, const struct can_frame_rec *f)
{
	agent_t *a = ctx;

	if (a->replay_frames++ == 0)
		replay_first_frame(a, f);
	if (a->replay_frames > a->skip_frames)
		on_frame(a, f);
}

static void maybe_exit(agent_t *a)
{
	if (!a->input_done || !a->opts.exit_at_end || a->stopping)
		return;
	if (a->n_pending)
		return;   /* the store retry timer comes back here */
	if (a->opts.upload_drain && uploading(a) && !ledger_drained(a->ledger)) {
		if (!ledger_halted(a->ledger))
			return;   /* the ledger's completion comes back here */
		a->exit_status = 1;   /* nothing more will be sent: said why */
	}
	loop_stop(a->loop);
}

/* The end of a replayed log: finish the open trip, store it, and exit if
 * asked to. */
static void input_end(void *ctx)
{
	agent_t *a = ctx;
	struct can_source_stats st;

	can_source_stats(a->src, &st);
	(void)loop_del_fd(a->loop, can_source_fd(a->src));
	loop_timer_arm(a->t_src, 0, 0);
	a->input_done = true;
	if (st.bad_lines)
		log_warn("%s: %lu of %lu lines malformed (each reported above)",
			 a->opts.replay_path, st.bad_lines, st.lines);
	log_info("%s: end of log after %lu lines", a->opts.replay_path, st.lines);
	trip_finish(a->trip);
	settle(a);
	checkpoint_now(a);
	maybe_exit(a);
}

/* ---- upload --------------------------------------------------------------- */

static void on_ledger_fd(loop_t *l, int fd, uint32_t events, void *ctx)
{
	agent_t *a = ctx;
	unsigned ev = 0;
	(void)l;

	if (events & EPOLLIN)
		ev |= LEDGER_IN;
	if (events & EPOLLOUT)
		ev |= LEDGER_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		ev |= LEDGER_ERR;
	if (uploading(a))
		ledger_on_fd(a->ledger, fd, ev);
	maybe_exit(a);
}

static void ledger_want_fd(int fd, unsigned events, void *ctx)
{
	agent_t *a = ctx;
	uint32_t ev = 0;

	if (events & LEDGER_IN)
		ev |= EPOLLIN;
	if (events & LEDGER_OUT)
		ev |= EPOLLOUT;
	if (!events) {
		(void)loop_del_fd(a->loop, fd);
		return;
	}
	if (loop_mod_fd(a->loop, fd, ev) == -ENOENT &&
	    loop_add_fd(a->loop, fd, ev, on_ledger_fd, a))
		log_err("ledger: cannot watch socket %d", fd);
}

static void ledger_want_timeout(long ms, void *ctx)
{
	agent_t *a = ctx;

	/* 0 means "as soon as possible": a timerfd needs at least 1 ms. */
	loop_timer_arm(a->t_ledger, ms < 0 ? 0 : (uint64_t)(ms ? ms : 1), 0);
}

static void on_ledger_timer(loop_t *l, loop_timer_t *t, void *ctx)
{
	agent_t *a = ctx;
	(void)l; (void)t;

	if (uploading(a))
		ledger_on_timeout(a->ledger);
	maybe_exit(a);
}

static void on_upload_interval(loop_t *l, loop_timer_t *t, void *ctx)
{
	agent_t *a = ctx;
	struct queue_stats st;
	(void)l;

	if (!uploading(a) || (!queue_stats(a->queue, &st) && st.pending == 0)) {
		loop_timer_arm(t, 0, 0);   /* nothing waits: no wakeups */
		return;
	}
	ledger_kick(a->ledger);
}

static int ledger_start(agent_t *a)
{
	struct ledger_opts lo;
	int ret;

	if (!IS_ENABLED(CONFIG_UPLOAD) || !a->cfg.ledger_enabled)
		return 0;
	ledger_opts_for(&lo, &a->cfg);
	lo.have_kid = true;   /* reconcile with the ledger's head for this key */
	signer_kid(a->signer, lo.kid);
	ret = ledger_open(&a->ledger, &lo, a->queue);
	if (ret)
		return ret;
	ledger_set_loop_callbacks(a->ledger, ledger_want_fd, ledger_want_timeout, a);
	ledger_kick(a->ledger);
	loop_timer_arm(a->t_upload, (uint64_t)a->cfg.upload_interval_s * 1000,
			     (uint64_t)a->cfg.upload_interval_s * 1000);
	return 0;
}

/* ---- signals and the watchdog -------------------------------------------- */

/* Two optional strings differ (NULL is unset). */
static bool str_differs(const char *x, const char *y)
{
	return (x || y) && (!x || !y || strcmp(x, y));
}

static void reload(agent_t *a)
{
	struct eco2_config cfg;
	ledger_t *old = a->ledger;
	int ret;

	(void)notify_send("RELOADING=1");
	ret = config_load(&cfg, a->opts.config_path);
	if (ret) {
		log_err("reload: %s has errors; keeping the running configuration", a->opts.config_path);
		config_free(&cfg);
		goto out;
	}
	if (strcmp(cfg.can_profile, a->cfg.can_profile) || strcmp(cfg.key_uri, a->cfg.key_uri) ||
	    strcmp(cfg.store_path, a->cfg.store_path))
		log_warn("reload: [can] profile, [key] uri and [store] path take effect on restart");
	/* The trip calculator keeps the parameters it was made with (they
	 * are in every record it signs), the CAN sockets and the store's
	 * quota stay as opened: say so rather than report them reloaded. */
	if (cfg.trip_idle_end_s != a->cfg.trip_idle_end_s || cfg.trip_gap_end_s != a->cfg.trip_gap_end_s ||
	    cfg.trip_max_speed_kmh != a->cfg.trip_max_speed_kmh ||
	    strcmp(cfg.method_id, a->cfg.method_id) ||
	    cfg.method_baseline_g_per_km != a->cfg.method_baseline_g_per_km ||
	    cfg.method_grid_g_per_kwh != a->cfg.method_grid_g_per_kwh ||
	    cfg.method_charge_efficiency != a->cfg.method_charge_efficiency ||
	    cfg.method_td_loss != a->cfg.method_td_loss ||
	    str_differs(cfg.vehicle_vin, a->cfg.vehicle_vin) ||
	    str_differs(cfg.can_interfaces, a->cfg.can_interfaces) ||
	    cfg.queue_max_bytes != a->cfg.queue_max_bytes)
		log_warn("reload: [trip] limits, [method], [vehicle], [queue] and [can] interfaces take effect on restart");
	/* The ledger is rebuilt from the new settings; the open trip, the
	 * store and the key are untouched. */
	a->ledger = NULL;
	if (IS_ENABLED(CONFIG_UPLOAD))
		ledger_close(old);
	loop_timer_arm(a->t_ledger, 0, 0);
	config_free(&a->cfg);
	a->cfg = cfg;
	log_set_level(log_level_from_name(a->cfg.log_level));
	ret = ledger_start(a);
	if (ret)
		log_err("reload: ledger: %s; records stay queued", strerror(-ret));
	log_notice("reloaded %s", a->opts.config_path);
out:
	(void)notify_send("READY=1");
}

static void on_signal(loop_t *l, int signo, void *ctx)
{
	agent_t *a = ctx;

	if (signo == SIGHUP) {
		reload(a);
		return;
	}
	/* Only said when there is one: tests read this line as proof. */
	log_notice("%s: %s", strsignal(signo),
		   trip_is_open(a->trip) ? "saving the open trip and exiting" : "exiting");
	a->stopping = true;
	loop_stop(l);
}

static void on_watchdog(loop_t *l, loop_timer_t *t, void *ctx)
{
	(void)l; (void)t; (void)ctx;
	(void)notify_send("WATCHDOG=1");
}

/* ---- set-up and tear-down --------------------------------------------------- */

static int trip_start(agent_t *a)
{
	struct trip_params tp;
	int ret;

	/* The method id and the VIN go into every signed record: config.c
	 * refuses, with file:line, what a record could not carry whole or a
	 * verifier would not know. */
	trip_params_for(&tp, &a->cfg, a->profile);
	ret = trip_params_origin(&tp, a->cfg.can_profile, a->profile);
	if (ret)
		return ret;
	ret = trip_new(&tp, on_record, a, &a->trip);
	if (ret)
		log_err("trip calculator: %s", strerror(-ret));
	return ret;
}

/* The largest checkpoint: MAX_PENDING finished records and the trip
 * calculator's blob (of one size whatever its state). */
static int state_max_bytes(agent_t *a, int64_t *out)
{
	uint8_t *trip = NULL;
	size_t trip_len = 0;
	int ret = trip_checkpoint_save(a->trip, &trip, &trip_len);

	free(trip);
	if (!ret)
		*out = (int64_t)agent_ckpt_size(MAX_PENDING, trip_len);
	return ret;
}

int agent_open(agent_t **out, const struct agent_opts *opts)
{
	struct queue_opts qo = { 0 };
	sigset_t sigs;
	agent_t *a;
	int ret = -ENOMEM;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->opts = *opts;
	a->pending = calloc(MAX_PENDING, sizeof(*a->pending));
	if (!a->pending)
		goto out;

	ret = config_load(&a->cfg, opts->config_path);
	if (ret)
		goto out;
	log_set_level(log_level_from_name(a->cfg.log_level));
	ret = profile_load(&a->profile, a->cfg.can_profile);
	if (ret)
		goto out;
	ret = signer_open(&a->signer, a->cfg.key_uri, NULL);
	if (ret) {
		log_err("key %s: %s", a->cfg.key_uri, strerror(-ret));
		goto out;
	}
	ret = trip_start(a);
	if (ret)
		goto out;
	qo.max_bytes = a->cfg.queue_max_bytes;
	ret = state_max_bytes(a, &qo.state_max_bytes);
	if (ret)
		goto out;
	qo.reserve_bytes = qo.state_max_bytes;
	ret = queue_open(&a->queue, a->cfg.store_path, &qo);
	if (ret) {
		log_err("store %s: %s", a->cfg.store_path, strerror(-ret));
		goto out;
	}
	log_info("saved state is tagged with %s", signer_tag_scheme(a->signer));
	last_record_load(a);
	ret = checkpoint_resume(a);
	if (ret)
		goto out;

	ret = loop_new(&a->loop);
	if (ret)
		goto out;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	ret = loop_add_signals(a->loop, &sigs, on_signal, a);
	if (!ret)
		ret = loop_timer_new(a->loop, &a->t_tick, on_tick, a);
	if (!ret)
		ret = loop_timer_new(a->loop, &a->t_checkpoint, on_checkpoint, a);
	if (!ret)
		ret = loop_timer_new(a->loop, &a->t_upload, on_upload_interval, a);
	if (!ret)
		ret = loop_timer_new(a->loop, &a->t_ledger, on_ledger_timer, a);
	if (!ret)
		ret = loop_timer_new(a->loop, &a->t_store_retry, on_store_retry, a);
	if (!ret)
		ret = loop_timer_new(a->loop, &a->t_watchdog, on_watchdog, a);
	if (ret)
		goto out;

	ret = source_open(a);
	if (ret)
		goto out;
	ret = ledger_start(a);
	if (ret)
		goto out;
	if (a->n_pending)
		store_pending(a);   /* records the checkpoint held for the store */
	trip_timers(a);
	*out = a;
	return 0;
out:
	agent_close(a);
	return ret;
}

/* The CAN socket protocols eco2d may still open once running: raw
 * sockets (re-opened interfaces), and ISO-TP or J1939 only when the
 * profile polls that way. */
static unsigned can_protocols(const profile_t *p)
{
	const struct diag_req *r;
	unsigned protos = SECCOMP_CAN_RAW;
	size_t n;

	r = profile_polls(p, &n);
	for (size_t i = 0; i < n; i++)
		protos |= r[i].kind == DIAG_J1939 ? SECCOMP_CAN_J1939 : SECCOMP_CAN_ISOTP;
	return protos;
}

int agent_run(agent_t *a)
{
	uint64_t wd_usec = notify_watchdog_usec();
	int ret;

	if (wd_usec)
		loop_timer_arm(a->t_watchdog, wd_usec / 2000, wd_usec / 2000);
	/* Start-up is over: files, sockets and the key are open. */
	if (ECO2_ASAN && IS_ENABLED(CONFIG_SECCOMP) && !a->opts.no_seccomp)
		log_notice("seccomp: not installed in an AddressSanitizer build (its leak check needs ptrace)");
	else if (!a->opts.no_seccomp && IS_ENABLED(CONFIG_SECCOMP)) {
		ret = seccomp_install_can(NULL, can_protocols(a->profile));
		if (ret) {
			log_err("seccomp: %s", strerror(-ret));
			return 1;
		}
	}
	a->wall_minus_mono_ns = (int64_t)(now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC));
	(void)notify_send("READY=1");
	(void)notify_status("running");
	log_info("running: %s", a->opts.replay_path ? a->opts.replay_path : a->cfg.can_interfaces);

	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	ret = loop_run(a->loop);
	if (ret)
		log_err("event loop: %s", strerror(-ret));
	/* For the idle budget: every epoll_wait return is a wakeup. */
	log_info("loop: %llu wakeups in %.1f s, %llu frames", (unsigned long long)loop_wakeups(a->loop),
		 (double)(now_ns(CLOCK_MONOTONIC) - t0) / 1e9, (unsigned long long)a->frames);
	(void)notify_send("STOPPING=1");
	/* Whatever ended the loop: store what is finished, save what is open. */
	store_pending(a);
	if (checkpoint_now(a) && (a->n_pending || trip_is_open(a->trip))) {
		log_err("exit: the checkpoint cannot be saved (the disk is full): %zu finished "
			"records%s are lost with this exit but for the %zu in the last checkpoint saved",
			a->n_pending, trip_is_open(a->trip) ? " and the open trip's progress since that "
			"checkpoint" : "", a->ckpt_saved_pending);
		return 1;
	}
	if (a->n_pending) {
		log_err("%zu records could not be stored; they are in the checkpoint, stored at the "
			"next start with room in the store", a->n_pending);
		return 1;
	}
	return a->exit_status || ret ? 1 : 0;
}

void agent_close(agent_t *a)
{
	if (!a)
		return;
	if (IS_ENABLED(CONFIG_UPLOAD))
		ledger_close(a->ledger);
	loop_timer_free(a->t_src);
	if (a->src && a->loop && !a->input_done)
		(void)loop_del_fd(a->loop, can_source_fd(a->src));
	can_source_close(a->src);
	loop_timer_free(a->t_tick);
	loop_timer_free(a->t_checkpoint);
	loop_timer_free(a->t_upload);
	loop_timer_free(a->t_ledger);
	loop_timer_free(a->t_store_retry);
	loop_timer_free(a->t_watchdog);
	loop_free(a->loop);
	trip_free(a->trip);
	queue_close(a->queue);
	signer_close(a->signer);
	profile_free(a->profile);
	config_free(&a->cfg);
	free(a->pending);
	free(a);
}
