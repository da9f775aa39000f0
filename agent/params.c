/* params — module options from the configuration and the profile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generated/version.h"
#include "agent/params.h"
#include "can/j1939.h"
#include "crypto/cose.h"
#include "lib/bytes.h"
#include "lib/file.h"
#include "lib/log.h"

#define ORIGIN_FILE_MAX ((size_t)16 << 20)   /* a profile or a DBC */

void trip_params_for(struct trip_params *tp, const struct eco2_config *cfg,
		     const profile_t *p)
{
	trip_params_default(tp);
	tp->idle_end_s = cfg->trip_idle_end_s;
	tp->gap_end_s = cfg->trip_gap_end_s;
	tp->max_speed_kmh = cfg->trip_max_speed_kmh;
	snprintf(tp->method, sizeof(tp->method), "%s", cfg->method_id);
	co2_params_from_config(&tp->co2, cfg->method_baseline_g_per_km,
			       cfg->method_grid_g_per_kwh, cfg->method_charge_efficiency,
			       cfg->method_td_loss);
	tp->vin = cfg->vehicle_vin;
	trip_params_for_profile(tp, p);
}

void trip_params_for_profile(struct trip_params *tp, const profile_t *p)
{
	/* Broadcast or polled: the trip calculator cannot tell them apart. */
	tp->roles = profile_roles(p);
	tp->odo_wrap_m = profile_odo_wrap_m(p);
}

int trip_params_origin(struct trip_params *tp, const char *profile_path,
		       const profile_t *p)
{
	const char *dbc_path = profile_dbc_path(p);
	char *prof = NULL, *dbc = NULL;
	const char *dbc_text;
	size_t prof_len = 0, dbc_len = 0;
	int ret;

	snprintf(tp->software, sizeof(tp->software), "eco2d/%s", ECO2_BUILD_ID);
	ret = file_read(profile_path, ORIGIN_FILE_MAX, 0, "profile", &prof, &prof_len);
	if (ret)
		goto out;
	if (dbc_path) {
		ret = file_read(dbc_path, ORIGIN_FILE_MAX, 0, "DBC", &dbc, &dbc_len);
		if (ret)
			goto out;
		dbc_text = dbc;
	} else if (IS_ENABLED(CONFIG_CAN_J1939)) {
		dbc_text = j1939_builtin_dbc(&dbc_len);
	} else {
		dbc_text = "";
	}
	cose_profile_sha256(prof, prof_len, dbc_text, dbc_len, tp->profile_sha256);
	{
		char h[65];

		hex_encode(tp->profile_sha256, sizeof(tp->profile_sha256), h);
		log_notice("records name software %s, profile %s (%s) sha256 %s", tp->software,
			 profile_path, dbc_path ? dbc_path : "built-in J1939 DBC", h);
	}
out:
	free(prof);
	free(dbc);
	return ret;
}

void ledger_opts_for(struct ledger_opts *o, const struct eco2_config *cfg)
{
	memset(o, 0, sizeof(*o));
	o->url = cfg->ledger_url;
	o->ca = cfg->ledger_ca;
	o->cert = cfg->ledger_cert;
	o->key = cfg->ledger_key;
	o->key_pin = cfg->ledger_pin;
	o->pinned_pubkey = cfg->ledger_pinned_pubkey;
	o->proxy = cfg->ledger_proxy;
	o->receipt_key = cfg->ledger_receipt_key;
	o->connect_timeout_s = (long)cfg->ledger_connect_timeout_s;
	o->timeout_s = (long)cfg->ledger_timeout_s;
	o->batch_records = (size_t)cfg->upload_batch_records;
	o->batch_bytes = (size_t)cfg->upload_batch_bytes;
	o->backoff_max_s = (uint32_t)cfg->upload_backoff_max_s;
}
