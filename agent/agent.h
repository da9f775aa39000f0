/* agent — eco2d's pipeline: CAN source -> profile -> trip calculator ->
 * signed, chained records in the store -> ledger, all on one event loop.
 *
 * main.c parses the command line and calls agent_open, agent_run and
 * agent_close; everything else happens in callbacks of the loop. */
#ifndef ECO2_AGENT_H
#define ECO2_AGENT_H

#include <stdbool.h>
#include "lib/compiler.h"

typedef struct agent agent_t;

struct agent_opts {
	const char *config_path;
	const char *replay_path;   /* NULL: live SocketCAN from [can] interfaces */
	bool exit_at_end;          /* replay: exit once every record is stored */
	bool upload_drain;         /* ... and uploaded */
	bool no_seccomp;           /* debugging under gdb/strace */
};

/* Load the configuration, profile, key and store; resume an open trip from
 * its checkpoint; open the CAN source and the uploader. 0 or -errno (the
 * reason logged). */
int agent_open(agent_t **out, const struct agent_opts *opts) __must_check;

/* Run until SIGTERM/SIGINT (or the end of a replay with exit_at_end).
 * Returns the exit status: 0, or 1 when a record could not be stored. */
int agent_run(agent_t *a);

void agent_close(agent_t *a);

#endif
