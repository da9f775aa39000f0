/* eco2-ledger — the ledger of signed trip records (docs/ledger-api.md):
 * HTTPS with client certificates, every record verified on ingest, a
 * transparency log (RFC 9162 Merkle tree, C2SP signed checkpoints) with a
 * receipt for every batch, SQLite or PostgreSQL storage. See usage(). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "lib/log.h"
#include "crypto/tlog.h"
#include "ledger/config.h"
#include "ledger/server.h"

static void usage(FILE *out)
{
	fputs(
"usage: eco2-ledger [-c FILE] [options]           serve\n"
"       eco2-ledger [-c FILE] [options] --check-config\n"
"       eco2-ledger --keygen NAME --log-key FILE  make the log's signing key\n"
"\n"
"The ledger of signed trip and charging records (docs/ledger-api.md). Serves\n"
"HTTPS only, verifies every record on ingest (signature, canonical form, seq\n"
"continuity, prev-hash, CO2 figure), adds it to an RFC 9162 Merkle tree and\n"
"answers each batch with a receipt: a signed checkpoint and each record's\n"
"inclusion proof. Runs in the foreground, logs to stderr (key=value fields),\n"
"exits 0 on SIGTERM/SIGINT. Settings come from the file of -c\n"
"(eco2-ledger.conf, see eco2-ledger(1)); options override it.\n"
"\n"
"  -c, --config FILE     the configuration file\n"
"  --check-config        load and check everything, open the store, exit\n"
"  --listen ADDR:PORT    [server] listen (port 0 picks one, logged)\n"
"  --metrics ADDR:PORT   [server] metrics: Prometheus text on /metrics\n"
"  --cert FILE           [tls] cert: the server's certificate chain (PEM)\n"
"  --key FILE            [tls] key: its private key (PEM)\n"
"  --client-ca FILE      [tls] client_ca: CAs of the devices' TLS certificates\n"
"  --device-ca FILE      [tls] device_ca: automaker CAs for POST /v1/devices\n"
"  --reader-ca FILE      [tls] reader_ca: CAs of certifiers' certificates\n"
"  --reader CN=KIDS      [readers]: the certifier of that common name may read\n"
"                        those devices (kids separated by commas, or *)\n"
"  --db FILE             [store] url = sqlite:FILE\n"
"  --store URL           [store] url: sqlite:PATH or postgresql://...\n"
"  --log-key FILE        [log] key: the log's signer key (PRIVATE+KEY+..., 0600)\n"
"  --witness VKEY        [log] witness: a witness's verifier key (repeatable)\n"
"  --checkpoint-interval S   [log] checkpoint_interval_s (default 10)\n"
"  --set SECTION.KEY=VALUE   any setting of the file\n"
"\n"
"Fault injection (tests), each applied per POST /v1/records:\n"
"  --fail-rate P         with probability P (0..1) answer --status instead\n"
"  --status CODE         the failure status (default 500)\n"
"  --retry-after S       send Retry-After: S with the failure status\n"
"  --delay-ms N          wait N ms before answering\n"
"  --drop-connection P   with probability P close the connection without an\n"
"                        answer (half the time before storing, half after)\n"
"  --garbage P           with probability P store the records, then answer\n"
"                        200 with a malformed body\n"
"  --help                this text\n"
"\n"
"Endpoints: POST /v1/devices, POST /v1/records, GET /v1/devices/KID/head,\n"
"GET /v1/devices/KID/records?from=SEQ, GET /v1/devices/KID/receipt?from=&to=,\n"
"GET /v1/checkpoint, GET /v1/proof/consistency?first=&second=,\n"
"POST /v1/checkpoint/cosignature (docs/ledger-api.md).\n", out);
}

static int parse_prob(const char *opt, const char *v, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(v, &end);
	if (errno || end == v || *end || !(*out >= 0 && *out <= 1)) {
		log_err("%s %s: expected a probability between 0 and 1", opt, v);
		return -1;
	}
	return 0;
}

static int parse_uint(const char *opt, const char *v, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(v, &end, 10);
	if (errno || end == v || *end || *v == '-' || *out > max) {
		log_err("%s %s: expected an integer between 0 and %lu", opt, v, max);
		return -1;
	}
	return 0;
}

/* Write a new signer key to path (0600, refused if it exists); print its
 * verifier key. */
static int keygen(const char *name, const char *path)
{
	struct tlog_skey k;
	char vk[TLOG_VKEY_MAX];
	int ret = 1;

	if (!path) {
		log_err("--keygen needs --log-key FILE to write the key to");
		return 2;
	}
	if (tlog_skey_generate(name, TLOG_ED25519, &k)) {
		log_err("--keygen %s: a key name is non-empty, without white space or '+'", name);
		return 2;
	}
	if (!tlog_skey_save_new(&k, path, vk, sizeof(vk))) {
		printf("%s\n", vk);
		ret = 0;
	}
	tlog_skey_wipe(&k);
	return ret;
}

int main(int argc, char **argv)
{
	enum { O_CHECK = 256, O_LISTEN, O_METRICS, O_CERT, O_KEY, O_CLIENT_CA, O_DEVICE_CA,
	       O_READER_CA, O_READER, O_DB, O_STORE, O_LOG_KEY, O_WITNESS, O_INTERVAL, O_SET,
	       O_FAIL, O_STATUS, O_RETRY, O_DELAY, O_DROP, O_GARBAGE, O_KEYGEN };
	static const struct option lo[] = {
		{ "config", 1, NULL, 'c' }, { "check-config", 0, NULL, O_CHECK },
		{ "listen", 1, NULL, O_LISTEN }, { "metrics", 1, NULL, O_METRICS },
		{ "cert", 1, NULL, O_CERT }, { "key", 1, NULL, O_KEY },
		{ "client-ca", 1, NULL, O_CLIENT_CA }, { "device-ca", 1, NULL, O_DEVICE_CA },
		{ "reader-ca", 1, NULL, O_READER_CA }, { "reader", 1, NULL, O_READER },
		{ "db", 1, NULL, O_DB }, { "store", 1, NULL, O_STORE },
		{ "log-key", 1, NULL, O_LOG_KEY }, { "witness", 1, NULL, O_WITNESS },
		{ "checkpoint-interval", 1, NULL, O_INTERVAL }, { "set", 1, NULL, O_SET },
		{ "fail-rate", 1, NULL, O_FAIL }, { "status", 1, NULL, O_STATUS },
		{ "retry-after", 1, NULL, O_RETRY }, { "delay-ms", 1, NULL, O_DELAY },
		{ "drop-connection", 1, NULL, O_DROP }, { "garbage", 1, NULL, O_GARBAGE },
		{ "keygen", 1, NULL, O_KEYGEN },
		{ "help", 0, NULL, 'h' }, { 0 },
	};
	struct lfaults f = { .status = 500, .retry_after_s = -1 };
	struct lconf cf;
	const char *config = NULL, *keygen_name = NULL, *keygen_path = NULL;
	lserver_t *srv = NULL;
	bool check = false;
	unsigned long v;
	sigset_t set;
	int c, sig = 0, ret = 2, errors = 0;

	log_open("eco2-ledger", LOG_TO_STDERR, LOG_INFO);
	/* the file first, then the options over it */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1)
		if (c == 'c')
			config = optarg;
	if (lconf_load(&cf, config)) {
		lconf_free(&cf);
		return 2;
	}
	opterr = 1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", lo, NULL)) != -1) {
		int r = 0;

		switch (c) {
		case 'c': break;
		case O_CHECK: check = true; break;
		case O_LISTEN: r = lconf_set(&cf, "server", "listen", optarg); break;
		case O_METRICS: r = lconf_set(&cf, "server", "metrics", optarg); break;
		case O_CERT: r = lconf_set(&cf, "tls", "cert", optarg); break;
		case O_KEY: r = lconf_set(&cf, "tls", "key", optarg); break;
		case O_CLIENT_CA: r = lconf_set(&cf, "tls", "client_ca", optarg); break;
		case O_DEVICE_CA: r = lconf_set(&cf, "tls", "device_ca", optarg); break;
		case O_READER_CA: r = lconf_set(&cf, "tls", "reader_ca", optarg); break;
		case O_READER: {
			char *eq = strchr(optarg, '=');

			if (!eq) {
				log_err("--reader %s: expected CN=KIDS", optarg);
				r = -EINVAL;
				break;
			}
			*eq = '\0';
			r = lconf_set(&cf, "readers", optarg, eq + 1);
			break;
		}
		case O_DB: {
			char url[4096];

			snprintf(url, sizeof(url), "sqlite:%s", optarg);
			r = lconf_set(&cf, "store", "url", url);
			break;
		}
		case O_STORE: r = lconf_set(&cf, "store", "url", optarg); break;
		case O_LOG_KEY:
			keygen_path = optarg;
			r = lconf_set(&cf, "log", "key", optarg);
			break;
		case O_WITNESS: r = lconf_set(&cf, "log", "witness", optarg); break;
		case O_INTERVAL: r = lconf_set(&cf, "log", "checkpoint_interval_s", optarg); break;
		case O_SET: {
			char *dot = strchr(optarg, '.'), *eq = strchr(optarg, '=');

			if (!dot || !eq || eq < dot) {
				log_err("--set %s: expected SECTION.KEY=VALUE", optarg);
				r = -EINVAL;
				break;
			}
			*dot = *eq = '\0';
			r = lconf_set(&cf, optarg, dot + 1, eq + 1);
			break;
		}
		case O_FAIL: r = parse_prob("--fail-rate", optarg, &f.fail_rate); break;
		case O_DROP: r = parse_prob("--drop-connection", optarg, &f.drop_rate); break;
		case O_GARBAGE: r = parse_prob("--garbage", optarg, &f.garbage_rate); break;
		case O_STATUS:
			r = parse_uint("--status", optarg, 599, &v) || v < 100 ? -1 : 0;
			f.status = (unsigned)v;
			break;
		case O_RETRY:
			r = parse_uint("--retry-after", optarg, 86400, &v);
			f.retry_after_s = (long)v;
			break;
		case O_DELAY:
			r = parse_uint("--delay-ms", optarg, 600000, &v);
			f.delay_ms = (unsigned)v;
			break;
		case O_KEYGEN: keygen_name = optarg; break;
		case 'h':
			usage(stdout);
			lconf_free(&cf);
			return 0;
		default:
			usage(stderr);
			lconf_free(&cf);
			return 2;
		}
		errors += r != 0;
	}
	if (errors || optind != argc) {
		if (optind != argc)
			log_err("unexpected argument %s", argv[optind]);
		usage(stderr);
		goto out;
	}
	if (sodium_init() < 0)
		goto out;
	if (keygen_name) {
		ret = keygen(keygen_name, keygen_path);
		goto out;
	}
	log_set_level(cf.log_level);
	if (lconf_check(&cf)) {
		usage(stderr);
		goto out;
	}
	if (gnutls_global_init() < 0) {
		ret = 1;
		goto out;
	}
	if (check) {
		ret = lserver_check(&cf) ? 1 : 0;
		if (!ret)
			printf("%s: configuration ok\n", cf.path ? cf.path : "eco2-ledger");
		gnutls_global_deinit();
		goto out;
	}

	/* SIGTERM/SIGINT are taken with sigwait() by this thread; block them
	 * before any thread starts so that every thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	ret = 1;
	if (lserver_start(&srv, &cf, &f)) {
		gnutls_global_deinit();
		goto out;
	}
	log_notice("listening on %s (port %u), store %s", cf.listen, lserver_port(srv), cf.store);
	if (cf.metrics_listen)
		log_notice("metrics on %s (port %u)", cf.metrics_listen, lserver_metrics_port(srv));
	while (sigwait(&set, &sig) == 0)
		if (sig == SIGTERM || sig == SIGINT)
			break;
	log_notice("signal %d: stopping", sig);
	lserver_stop(srv);
	gnutls_global_deinit();
	ret = 0;
out:
	lconf_free(&cf);
	return ret;
}
