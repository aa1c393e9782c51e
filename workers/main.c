/* dcv-worker: the stateless worker.  See worker.h and README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "modules_cfg.h"
#include "noop.h"

/* The stages to come read acme, dns and provider: check them now. */
static int check_modules(struct cfg *c, const struct worker_cfg *wc, void **deps)
{
	*deps = NULL;
	modules_cfg_check(c, (wc->stage_mask & (1u << STAGE_PROVISION_TXT)) != 0);
	return cfg_error(c) ? -1 : 0;
}

int main(int argc, char **argv)
{
	/* Until the DNS and ACME stages land, the built-in handlers are the
	 * no-op ones (worker.handlers: noop). */
	const char *h = getenv("DCV_WORKER_HANDLERS");
	if (h && strcmp(h, "noop") != 0) {
		fprintf(stderr, "dcv-worker: unknown handlers '%s' (available: noop)\n", h);
		return 2;
	}
	struct worker_app app = noop_app;
	app.configure = check_modules;
	return worker_main(argc, argv, &app);
}
