/* config — the eco2d configuration file (INI, parsed with libinih).
 *
 * One table in config.c names every option: section, key, type, range,
 * default and the field it fills. Every error is logged as
 * "file:line: [section] key: why" and parsing goes on, so one run shows
 * every mistake. Relative paths are relative to the config file's folder.
 * Documented for operators in eco2d.conf(5). */
#ifndef ECO2_CONFIG_H
#define ECO2_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lib/compiler.h"

struct eco2_config {
	char *path;                 /* the file read, as given */

	/* [can] */
	char *can_profile;          /* vehicle profile (path) */
	char *can_interfaces;       /* "vcan0,can1"; NULL: none (replay only) */

	/* [key] */
	char *key_uri;              /* "file:/abs/path" or "pkcs11:..." */

	/* [store] */
	char *store_path;           /* SQLite database */

	/* [ledger] */
	bool ledger_enabled;
	char *ledger_url;           /* https://host:port */
	char *ledger_ca;            /* CA bundle; NULL: system store */
	char *ledger_cert;          /* device certificate (PEM) for mTLS */
	char *ledger_key;           /* its key: a path or pkcs11: URI */
	char *ledger_pin;           /* PIN for a pkcs11: key */
	char *ledger_pinned_pubkey; /* "sha256//base64" or a PEM/DER file */
	char *ledger_proxy;         /* NULL: from the environment */
	char *ledger_receipt_key;   /* the ledger's verifier key (text or an
				       absolute path); NULL: no receipts checked */
	int64_t ledger_connect_timeout_s;
	int64_t ledger_timeout_s;

	/* [upload] */
	int64_t upload_batch_records;
	int64_t upload_batch_bytes;
	int64_t upload_interval_s;  /* how often a non-empty queue is tried */
	int64_t upload_backoff_max_s;

	/* [queue] */
	int64_t queue_max_bytes;    /* quota on the store file */

	/* [trip] */
	int64_t trip_idle_end_s;
	int64_t trip_gap_end_s;
	int64_t trip_checkpoint_s;
	double trip_max_speed_kmh;

	/* [method] */
	char *method_id;
	double method_baseline_g_per_km;
	double method_grid_g_per_kwh;
	double method_charge_efficiency;
	double method_td_loss;

	/* [vehicle] */
	char *vehicle_vin;          /* NULL: not recorded */

	/* [log] */
	char *log_level;            /* error, warning, notice, info, debug */

	unsigned *lines;            /* per option (config.c's table): its line, 0: default */
};

/* Fill *cfg from the file at path (defaults first). 0 on success; -EINVAL
 * when the file has errors (each logged), -errno when it cannot be read.
 * Free with config_free() whatever the result. */
int config_load(struct eco2_config *cfg, const char *path) __must_check;

/* The same from a memory buffer; `name` is used in messages and relative
 * paths resolve against the current directory. */
int config_load_buffer(struct eco2_config *cfg, const char *name,
		       const char *text, size_t len) __must_check;

void config_free(struct eco2_config *cfg);

/* eco2d --check-config: the files the configuration names, checked as
 * eco2d will open them, without reading more than a PEM's worth: opened
 * without blocking, of the right type (a regular file; the store may not
 * exist yet, its folder must), the key file and a pkcs11: URI's PIN file
 * held to mode 0600, the store writable, the ledger's CA and certificate
 * PEM text. Each problem "file:line: [section] key: path: why". 0 or
 * -EINVAL. */
int config_check_files(const struct eco2_config *cfg) __must_check;

/* Print every option with its value as an INI file (eco2d --check-config). */
void config_dump(const struct eco2_config *cfg, FILE *out);

#endif
