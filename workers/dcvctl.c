/*
 * dcvctl: the operator's and the backend's command line.
 *
 *   dcvctl [-c FILE] onboard DOMAIN [--tenant T] [--names N1,N2...]
 *   dcvctl [-c FILE] onboard --file FILE [--tenant T]   (one domain a line)
 *   dcvctl [-c FILE] nudge DOMAIN
 *   dcvctl [-c FILE] offboard DOMAIN
 *   dcvctl [-c FILE] release DOMAIN
 *   dcvctl [-c FILE] status DOMAIN [--json]
 *   dcvctl [-c FILE] stats [--json]
 *   dcvctl [-c FILE] dead list [--count N] [--json]
 *   dcvctl [-c FILE] dead replay ID|--all
 *   dcvctl [-c FILE] dead purge ID|--all
 *   dcvctl [-c FILE] account register|show|rotate-key|deactivate ...
 *   dcvctl [-c FILE] cert get DOMAIN [--out DIR] [--json] [--key] [--unchecked]
 *   dcvctl [-c FILE] cert list [--expiring DURATION] [--tenant T] [--json]
 *   dcvctl [-c FILE] cert rewrap --from-account-kek | --old-kek-file F
 *   dcvctl [-c FILE] reindex
 *   dcvctl [-c FILE] revoke DOMAIN [--reason keyCompromise|superseded|cessationOfOperation]
 *   dcvctl [-c FILE] console [--listen ADDR:PORT] [--write-token-file F]
 *                           [--auth-file F] [--host NAME:PORT]...
 *
 * This file holds the global options and the dispatch; each command group
 * has its own file (ctl.h lists them).
 *
 * Exit codes: 0 done, 1 failed (Redis unreachable, bad input), 2 usage or
 * configuration error, 3 not found, 4 refused (a name is held by another
 * tenant; a release of a running pipeline; a key to a terminal).
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_account.h"
#include "log.h"
#include "modules_cfg.h"

void ctl_usage(FILE *f)
{
	fputs("usage: dcvctl [-c FILE] COMMAND ...\n"
	      "  onboard DOMAIN [--tenant T] [--names N1,N2]\n"
	      "                                   start a domain's pipeline (or nudge the\n"
	      "                                   running one); prints the CNAMEs to create\n"
	      "  onboard --file FILE [--tenant T] the same for one domain per line\n"
	      "  nudge DOMAIN                     re-check a waiting domain now\n"
	      "  offboard DOMAIN                  stop issuing; watch the delegation go\n"
	      "  release DOMAIN                   give up an ended domain's names, so that\n"
	      "                                   another tenant may onboard them\n"
	      "  status DOMAIN [--json]           the domain's state\n"
	      "  stats [--json]                   streams, lag, pending, delayed, dead\n"
	      "  dead list [--count N] [--json]   dead letters, newest first\n"
	      "  dead replay ID|--all             send dead letters back to their stage\n"
	      "  dead purge ID|--all              delete dead letters\n"
	      "  account register [--ca NAME] [--tenant T] --email E [--eab-kid K --eab-hmac-file F]\n"
	      "                   [--force]\n"
	      "  account show | rotate-key | deactivate --yes   [--ca NAME] [--tenant T]\n"
	      "  cert get DOMAIN [--out DIR] [--json] [--key] [--unchecked]\n"
	      "                                   the certificate; --out writes cert.pem,\n"
	      "                                   chain.pem, fullchain.pem and key.pem (0600);\n"
	      "                                   else the chain to stdout, the key only with\n"
	      "                                   --key and never to a terminal\n"
	      "  cert list [--expiring 30d] [--tenant T] [--json]\n"
	      "                                   the stored certificates\n"
	      "  cert rewrap --from-account-kek | --old-kek-file F\n"
	      "                                   seal every stored certificate key under\n"
	      "                                   the certificate KEK (resumable)\n"
	      "  reindex                          rebuild the expiry index and the count by\n"
	      "                                   state that the gauges read (after an upgrade)\n"
	      "  revoke DOMAIN [--reason keyCompromise|superseded|cessationOfOperation]\n"
	      "                                   revoke the stored certificate at the CA\n"
	      "                                   (no --reason: unspecified); keyCompromise\n"
	      "                                   also renews now with a new key\n"
	      "  console [--listen 127.0.0.1:8080] [--write-token-file F] [--auth-file F]\n"
	      "          [--host NAME:PORT]...    the web console (read-only without a\n"
	      "                                   write token; --host at most 8)\n"
	      "A name belongs to the tenant that onboarded it until it is released:\n"
	      "onboarding it for another tenant (as DOMAIN or in --names) is refused.\n"
	      "Exit codes: 0 ok, 1 failed, 2 usage or configuration, 3 not found,\n"
	      "4 refused (a name held by another tenant, a release of a running pipeline,\n"
	      "a private key to a terminal).\n", f);
}

/* "account" parses its own arguments from its name on (ctl_account.h). */
static int account(struct ctl *c, int argc, char **argv)
{
	return ctl_account_main(argc + 1, argv - 1, c->cfg, queue_redis(c->q), c->wc.q.prefix);
}

struct command {
	const char *name;
	int (*run)(struct ctl *c, int argc, char **argv);
};

static const struct command commands[] = {
	{ "onboard", ctl_onboard },
	{ "nudge", ctl_nudge },
	{ "offboard", ctl_offboard },
	{ "release", ctl_release },
	{ "status", ctl_status },
	{ "stats", ctl_stats },
	{ "dead", ctl_dead },
	{ "account", account },
	{ "cert", ctl_cert },
	{ "reindex", ctl_reindex },
	{ "revoke", ctl_revoke },
	{ "console", ctl_console },
};

static const struct command *command(const char *name)
{
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (strcmp(commands[k].name, name) == 0)
			return &commands[k];
	return NULL;
}

int main(int argc, char **argv)
{
	struct ctl c = { 0 };
	const char *path = NULL;
	char err[512];
	int i = 1, rc = EXIT_USAGE;

	if (i + 1 < argc && (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0)) {
		path = argv[i + 1];
		i += 2;
	}
	if (i >= argc || strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
		ctl_usage(i >= argc ? stderr : stdout);
		return i >= argc ? EXIT_USAGE : EXIT_OK;
	}
	c.cfg = path ? cfg_load_file(path, err, sizeof(err)) : cfg_new_empty();
	if (!c.cfg) {
		fprintf(stderr, "dcvctl: %s\n", path ? err : "out of memory");
		return EXIT_USAGE;
	}
	worker_cfg_load(c.cfg, &c.wc);
	modules_cfg_check(c.cfg, 0);
	ctl_console_cfg(c.cfg);
	log_setup(LOG_WARN, LOG_FMT_LOGFMT);
	cfg_check_unknown(c.cfg);
	if (cfg_error(c.cfg)) {
		cfg_print_errors(c.cfg, stderr, "dcvctl");
		goto out;
	}
	struct queue_opts o = c.wc.q;
	o.consumer = "dcvctl";
	c.q = queue_open(&o, err, sizeof(err));
	if (!c.q) {
		fprintf(stderr, "dcvctl: %s\n", err);
		rc = EXIT_FAIL;
		goto out;
	}
	const char *cmd = argv[i++];
	const struct command *k = command(cmd);
	if (k) {
		rc = k->run(&c, argc - i, argv + i);
	} else {
		fprintf(stderr, "dcvctl: unknown command '%s'\n", cmd);
		ctl_usage(stderr);
	}
out:
	queue_close(c.q);
	cfg_free(c.cfg);
	return rc;
}
