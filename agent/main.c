/* eco2d — the eco2-agent daemon. See eco2d(8).
 *
 *   eco2d [-c FILE]                                   run as a service
 *   eco2d [-c FILE] --replay LOG [--exit-at-end [--upload-drain]]
 *   eco2d [-c FILE] --check-config
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/config.h"
#include "lib/log.h"
#include "can/profile.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: eco2d [-c FILE] [--replay LOG [--exit-at-end [--upload-drain]]]\n"
		"       eco2d [-c FILE] --check-config\n"
		"\n"
		"  -c, --config FILE   configuration (default %s)\n"
		"  --replay LOG        read a candump log instead of the CAN interfaces\n"
		"  --exit-at-end       with --replay: exit once every record is stored\n"
		"  --upload-drain      with --exit-at-end: ... and uploaded\n"
		"  --check-config      check the configuration and the profile, then exit\n"
		"  --no-seccomp        do not install the system-call filter (debugging)\n"
		"  -h, --help          this text\n", CONFIG_DEFAULT_CONFIG_PATH);
}

/* --check-config: the file, the files it names (of the right type, held
 * to the rules eco2d will hold them to) and the profile with its DBC:
 * whatever eco2d would refuse later is refused now, with file:line.
 * Exit 0, or 2 for a configuration eco2d would not run with. */
static int check_config(const char *path)
{
	struct eco2_config cfg;
	profile_t *p = NULL;
	size_t n_polls = 0;
	int ret, files;

	ret = config_load(&cfg, path);
	if (!ret || ret == -EINVAL) {
		/* The files too when the text has errors: one run, every
		 * mistake. */
		files = cfg.lines ? config_check_files(&cfg) : 0;
		if (!ret && !files)
			ret = profile_load(&p, cfg.can_profile);
		if (!ret && !files && !IS_ENABLED(CONFIG_CAN_POLL) && cfg.can_interfaces &&
		    (profile_polls(p, &n_polls), n_polls)) {
			fprintf(stderr, "%s: [can] profile: %s asks ECUs ([poll.*]), and this eco2d is built without the poller (CONFIG_CAN_POLL)\n",
				path, cfg.can_profile);
			ret = -ENOTSUP;
		}
		if (!ret)
			ret = files;
	}
	profile_free(p);
	if (!ret) {
		config_dump(&cfg, stdout);
		fprintf(stderr, "%s: configuration ok\n", path);
	}
	config_free(&cfg);
	return ret ? 2 : 0;
}

int main(int argc, char **argv)
{
	enum { OPT_REPLAY = 256, OPT_EXIT_AT_END, OPT_DRAIN, OPT_CHECK, OPT_NO_SECCOMP };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "replay", required_argument, NULL, OPT_REPLAY },
		{ "exit-at-end", no_argument, NULL, OPT_EXIT_AT_END },
		{ "upload-drain", no_argument, NULL, OPT_DRAIN },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent_opts o = { .config_path = CONFIG_DEFAULT_CONFIG_PATH };
	bool check = false;
	agent_t *a = NULL;
	int c, status;

	/* Under systemd (the journal holds stderr) log through syslog, with
	 * levels; otherwise to stderr in the foreground. */
	log_open("eco2d", getenv("JOURNAL_STREAM") ? LOG_TO_SYSLOG : LOG_TO_STDERR, LOG_INFO);
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.config_path = optarg;
			break;
		case OPT_REPLAY:
			o.replay_path = optarg;
			break;
		case OPT_EXIT_AT_END:
			o.exit_at_end = true;
			break;
		case OPT_DRAIN:
			o.upload_drain = true;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case OPT_NO_SECCOMP:
			o.no_seccomp = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (o.exit_at_end && !o.replay_path) ||
	    (o.upload_drain && !o.exit_at_end)) {
		usage(stderr);
		return 2;
	}
	if (check)
		return check_config(o.config_path);

	if (agent_open(&a, &o))
		return 1;
	status = agent_run(a);
	agent_close(a);
	log_info("exit %d", status);
	log_close();
	return status;
}
