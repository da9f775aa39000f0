/* config — eco2-ledger's settings: an INI file (eco2-ledger.conf(5) in
 * eco2-ledger(1); ledger/eco2-ledger.conf is an example) and the command
 * line over it. Every error is reported as "file:line: [section] key: why"
 * and all of them are reported, not just the first. */
#ifndef ECO2_LEDGER_CONFIG_H
#define ECO2_LEDGER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/compiler.h"

#define LCONF_WITNESSES_MAX 8
#define LCONF_READERS_MAX 64

/* A certifier allowed to read: its certificate's subject common name
 * (issued by [tls] reader_ca) and the devices it may read. */
struct lconf_reader {
	char *cn;
	bool all;
	uint8_t (*kids)[8];
	size_t n_kids;
};

struct lconf {
	char *path;                 /* the file, or NULL */
	/* [server] */
	char *listen;               /* ADDR:PORT */
	char *metrics_listen;       /* ADDR:PORT of the metrics port, or NULL */
	/* [tls] */
	char *cert, *key;           /* the server's certificate chain and key (PEM) */
	char *client_ca;            /* devices' TLS client certificates chain to these */
	char *device_ca;            /* POST /v1/devices: automaker CAs */
	char *reader_ca;            /* certifiers' client certificates; NULL: none */
	/* [store] */
	char *store;                /* sqlite:PATH, a path, or postgresql://... */
	unsigned store_connections;
	unsigned partitions;
	/* [log] (the transparency log) */
	char *log_key;              /* signer key file (PRIVATE+KEY+...) */
	unsigned checkpoint_interval_s;
	char *witness[LCONF_WITNESSES_MAX];   /* verifier keys, as text */
	size_t n_witness;
	/* [limits] */
	unsigned connections, connections_per_ip;
	size_t body_max, body_memory;
	double rate, burst;
	unsigned request_timeout_s, idle_timeout_s, response_timeout_s;
	unsigned workers;
	/* [readers] */
	struct lconf_reader readers[LCONF_READERS_MAX];
	size_t n_readers;
	/* [logging] */
	int log_level;
};

/* Defaults, then the file (when path is not NULL). 0 or -EINVAL (each
 * error logged) / -EIO (the file cannot be read) / -ENOMEM. */
int lconf_load(struct lconf *c, const char *path) __must_check;
/* As lconf_load, from text[len] already in memory (name: for messages,
 * and the folder relative paths start from). */
int lconf_parse(struct lconf *c, const char *name, const char *text, size_t len) __must_check;
/* One "section.key=value" or a file's key from the command line. */
int lconf_set(struct lconf *c, const char *section, const char *key, const char *value) __must_check;
/* What every start needs (a listen address, certificates, a store, a log
 * key): 0 or -EINVAL, each missing setting logged. */
int lconf_check(const struct lconf *c) __must_check;
void lconf_free(struct lconf *c);

/* May this reader (by its certificate's common name) read kid? */
bool lconf_reader_may(const struct lconf *c, const char *cn, const uint8_t kid[8]);

#endif
