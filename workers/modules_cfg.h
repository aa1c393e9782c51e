/*
 * modules_cfg: reads the sections of the modules the stages will use (acme,
 * dns, provider, lifecycle, ratelimit), so that one dcv.yaml serves dcv-worker and dcvctl and a
 * mistake in any section is reported at start, with its file and line.
 */
#ifndef DCV_MODULES_CFG_H
#define DCV_MODULES_CFG_H

#include "cfg.h"

/* Validates the acme and dns sections of C, and the provider section when
 * WITH_PROVIDER (the process publishes TXT records) and it is present; a
 * provider section is otherwise accepted unread, so a group of workers
 * does not need the secrets of stages it does not serve.  Errors are
 * recorded in C; the values are not kept (secrets are wiped). */
void modules_cfg_check(struct cfg *c, int with_provider);

#endif
