/* ctl — eco2ctl, the operator's tool: one sub-command a function.
 *
 * Each command lives in the file of the module it serves (ctl_decode.c
 * beside the CAN decoder's users, ctl_key.c for keys, ...) and has the
 * signature of main(): argv[0] is the command name. It returns the exit
 * status: 0 success, 1 failure, 2 usage. A command left out of the build by
 * Kconfig is reported as such. */
#ifndef ECO2_CTL_H
#define ECO2_CTL_H

#include <stdbool.h>

typedef int ctl_cmd_fn(int argc, char **argv);

/* Global options given before the command. */
struct ctl_globals {
	const char *config_path;   /* -c FILE; NULL: CONFIG_DEFAULT_CONFIG_PATH */
};
extern struct ctl_globals ctl_globals;

ctl_cmd_fn ctl_decode;    /* decode --dbc FILE [--json] [LOG|-] */
			  /* decode --profile FILE [--vss] [--json] [--list] [LOG|-] */
ctl_cmd_fn ctl_keygen;    /* keygen --uri URI [--alg es256|ed25519] */
ctl_cmd_fn ctl_pubkey;    /* pubkey --uri URI */
ctl_cmd_fn ctl_status;    /* status */
ctl_cmd_fn ctl_trips;     /* trips [--since TIME] */
ctl_cmd_fn ctl_export;    /* export [--from SEQ] */

/* decode --profile (ctl_decode_profile.c): the exit status. */
int ctl_decode_profile(const char *profile_path, const char *log_path, bool json, bool vss,
		       bool list);

#endif
