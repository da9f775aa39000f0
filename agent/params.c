/* params — module options from the configuration and the profile. */
#include <stdio.h>
#include <string.h>

#include "agent/params.h"

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
