/* dcv-worker: the stateless worker.  See worker.h and README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noop.h"

int main(int argc, char **argv)
{
	/* Until the DNS and ACME stages land, the built-in handlers are the
	 * no-op ones (worker.handlers: noop). */
	const char *h = getenv("DCV_WORKER_HANDLERS");
	if (h && strcmp(h, "noop") != 0) {
		fprintf(stderr, "dcv-worker: unknown handlers '%s' (available: noop)\n", h);
		return 2;
	}
	return worker_main(argc, argv, &noop_app);
}
