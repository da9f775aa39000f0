/* eco2ctl — operator tool: dispatches to one function per sub-command. */
#include <stdio.h>
#include <string.h>
#include <getopt.h>

#include "agent/ctl.h"
#include "lib/log.h"

struct ctl_globals ctl_globals;

/* Weak: a command whose module Kconfig leaves out is absent, not broken. */
#pragma weak ctl_decode
#pragma weak ctl_keygen
#pragma weak ctl_pubkey
#pragma weak ctl_status
#pragma weak ctl_trips
#pragma weak ctl_export

static const struct {
	const char *name;
	ctl_cmd_fn *fn;
	const char *usage;
} commands[] = {
	{ "status", ctl_status, "status                      current trip, CAN counters, queue, last upload" },
	{ "trips", ctl_trips, "trips [--since TIME]        stored trips as a table" },
	{ "export", ctl_export, "export [--from SEQ] [--receipts FILE]   records on stdout, their receipts in FILE" },
	{ "keygen", ctl_keygen, "keygen --uri URI [--alg es256|ed25519]   create the device key" },
	{ "pubkey", ctl_pubkey, "pubkey --uri URI            PEM public key on stdout, kid on stderr" },
	{ "decode", ctl_decode, "decode --dbc FILE [--json] [LOG|-]       decode a candump log" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: eco2ctl [-c FILE] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].fn)
			fprintf(out, "  %s\n", commands[i].usage);
	fprintf(out, "\n  -c FILE   eco2d configuration (default %s)\n",
		CONFIG_DEFAULT_CONFIG_PATH);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	log_open("eco2ctl", LOG_TO_STDERR, LOG_WARNING);
	/* '+': stop at the command name; its options are its own. */
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ctl_globals.config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name))
			continue;
		if (!commands[i].fn) {
			fprintf(stderr, "eco2ctl: %s: not built into this configuration\n",
				argv[optind]);
			return 2;
		}
		int first = optind;
		optind = 0;   /* glibc: 0 makes getopt start afresh for the command */
		return commands[i].fn(argc - first, argv + first);
	}
	fprintf(stderr, "eco2ctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return 2;
}
