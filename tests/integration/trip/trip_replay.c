/* trip-replay — a candump log through a vehicle profile and the trip
 * calculator; prints each finished record as one JSON line. A test driver
 * (not installed): the acceptance tests read figures from it.
 *
 *   trip-replay --profile FILE [--config eco2d.conf] [--odo-resolution-m N]
 *               [--stop-at EPOCH --checkpoint FILE] [--resume FILE] LOG|-
 *
 * --stop-at saves the calculator's checkpoint to FILE when the first frame
 * at or after EPOCH (UTC seconds) arrives, and exits without finishing
 * the open trip (a crash). --resume restores FILE first. Otherwise the end
 * of the log ends the open trip (trip_finish). Error frames become CAN
 * events: bus-off and error-passive set ECO2_FLAG_BUS_ERROR. A profile
 * that polls: the answers a recorded polling session carries are decoded
 * too, as eco2d --replay decodes them. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/can/error.h>

#include "agent/config.h"
#include "lib/file.h"
#include "lib/log.h"
#include "agent/trip.h"
#include "agent/params.h"
#include "can/canlog.h"
#include "can/profile.h"
#include "crypto/cose.h"

static void print_record(const struct eco2_record *r, void *ctx)
{
	(void)ctx;
	printf("{\"type\":%u,\"start_s\":%lld,\"end_s\":%lld,\"odo_start_m\":%lld,"
	       "\"odo_end_m\":%lld,\"distance_m\":%lld,\"discharge_wh\":%lld,"
	       "\"regen_wh\":%lld,\"charged_wh\":%lld,\"co2_g\":%lld,\"method\":\"%s\","
	       "\"baseline_mg_per_km\":%lld,\"grid_mg_per_kwh\":%lld,"
	       "\"charge_eff_permille\":%lld,\"td_loss_permille\":%lld,"
	       "\"flags\":%llu,\"flag_names\":[",
	       r->type, (long long)r->start_s, (long long)r->end_s,
	       (long long)r->odo_start_m, (long long)r->odo_end_m,
	       (long long)r->distance_m, (long long)r->discharge_wh,
	       (long long)r->regen_wh, (long long)r->charged_wh, (long long)r->co2_g,
	       r->method, (long long)r->baseline_mg_per_km, (long long)r->grid_mg_per_kwh,
	       (long long)r->charge_eff_permille, (long long)r->td_loss_permille,
	       (unsigned long long)r->flags);
	for (unsigned i = 0, n = 0; record_flag_name(i); i++)
		if (r->flags & (1ull << i))
			printf("%s\"%s\"", n++ ? "," : "", record_flag_name(i));
	printf("]}\n");
	fflush(stdout);
}

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wbe");
	int ret = 0;

	if (!f)
		return -errno;
	if (fwrite(buf, 1, len, f) != len || fflush(f) || fsync(fileno(f)))
		ret = -EIO;
	if (fclose(f))
		ret = -EIO;
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "odo-resolution-m", required_argument, NULL, 'r' },
		{ "stop-at", required_argument, NULL, 's' },
		{ "checkpoint", required_argument, NULL, 'k' },
		{ "resume", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	const char *profile_path = NULL, *config_path = NULL, *ck_path = NULL, *resume = NULL;
	double odo_res = 0, stop_at = -1;
	struct eco2_config cfg;
	struct trip_params tp;
	profile_t *prof = NULL;
	canlog_reader_t *rd = NULL;
	diag_listener_t *answers = NULL;
	trip_t *trip = NULL;
	struct can_frame_rec f;
	int c, ret = 1, have_cfg = 0;

	memset(&cfg, 0, sizeof(cfg));
	log_open("trip-replay", LOG_TO_STDERR, LOG_WARNING);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;

		switch (c) {
		case 'p':
			profile_path = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'r':
			odo_res = strtod(optarg, &end);
			break;
		case 's':
			stop_at = strtod(optarg, &end);
			break;
		case 'k':
			ck_path = optarg;
			break;
		case 'R':
			resume = optarg;
			break;
		default:
			return 2;
		}
		if (end && (*end || end == optarg)) {
			fprintf(stderr, "trip-replay: bad number \"%s\"\n", optarg);
			return 2;
		}
	}
	if (!profile_path || optind != argc - 1 || (stop_at >= 0 && !ck_path)) {
		fprintf(stderr, "usage: trip-replay --profile FILE [--config FILE] "
			"[--odo-resolution-m N] [--stop-at EPOCH --checkpoint FILE] "
			"[--resume FILE] LOG|-\n");
		return 2;
	}
	if (profile_load(&prof, profile_path) < 0)
		goto out;

	if (config_path) {
		have_cfg = 1;
		if (config_load(&cfg, config_path) < 0)
			goto out;
		trip_params_for(&tp, &cfg, prof);   /* as eco2d does */
	} else {
		trip_params_default(&tp);
		trip_params_for_profile(&tp, prof);
	}
	tp.odo_resolution_m = odo_res;
	if (trip_new(&tp, print_record, NULL, &trip) < 0)
		goto out;
	if (resume) {
		char *blob = NULL;
		size_t len = 0;

		if (file_read(resume, 1 << 20, 0, NULL, &blob, &len) < 0 ||
		    trip_checkpoint_restore(trip, (const uint8_t *)blob, len) < 0) {
			fprintf(stderr, "trip-replay: %s: cannot restore\n", resume);
			goto out;
		}
		free(blob);
	}
	{
		size_t n_polls;
		const struct diag_req *reqs = profile_polls(prof, &n_polls);

		if (n_polls && diag_listener_new(&answers, reqs, n_polls) < 0)
			goto out;
	}
	if (canlog_open(&rd, argv[optind]) < 0)
		goto out;
	for (;;) {
		struct eco2_sample smp[ROLE_COUNT];
		int n = canlog_next(rd, &f);

		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (stop_at >= 0 && (double)f.t_ns / 1e9 >= stop_at) {
			uint8_t *blob;
			size_t len;

			if (trip_checkpoint_save(trip, &blob, &len) < 0)
				goto out;
			if (write_file(ck_path, blob, len) < 0) {
				free(blob);
				fprintf(stderr, "trip-replay: %s: cannot write\n", ck_path);
				goto out;
			}
			free(blob);
			ret = 0;
			goto out;   /* a crash: the open trip is not finished */
		}
		if (f.flags & CANREC_ERR) {
			if (f.id & CAN_ERR_BUSOFF)
				trip_event(trip, f.t_ns, CAN_EV_BUS_OFF, 0);
			if (f.id & CAN_ERR_CRTL)
				trip_event(trip, f.t_ns, CAN_EV_ERROR_PASSIVE, 0);
			continue;
		}
		n = profile_decode(prof, &f, smp, ROLE_COUNT);
		for (int i = 0; i < n; i++)
			trip_sample(trip, &smp[i]);
		n = answers ? diag_listener_frame(answers, &f, smp, ROLE_COUNT) : 0;
		for (int i = 0; i < n; i++)
			trip_sample(trip, &smp[i]);
	}
	if (canlog_bad_lines(rd))
		fprintf(stderr, "trip-replay: %lu malformed lines\n", canlog_bad_lines(rd));
	trip_finish(trip);
	ret = 0;
out:
	canlog_close(rd);
	diag_listener_free(answers);
	trip_free(trip);
	profile_free(prof);
	if (have_cfg)
		config_free(&cfg);
	return ret;
}
