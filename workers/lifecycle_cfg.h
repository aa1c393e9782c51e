/*
 * lifecycle_cfg: the lifecycle and rate-limit configuration
 * (lifecycle.*, ratelimit.*; schemas/lifecycle.md,
 * "Configuration"), loaded once into an immutable struct.  dcv-worker's
 * stages and dcvctl (status, the configuration check) read it; this module
 * is all dcvctl links of the stages.
 */
#ifndef DCV_LIFECYCLE_CFG_H
#define DCV_LIFECYCLE_CFG_H

#include <stdbool.h>

#include "cfg.h"
#include "ratelimit.h"

struct lifecycle_opts {
	long long verify_max_wait_ms;   /* then "abandoned" (30 days) */
	long long propagation_poll_ms;  /* TXT not everywhere yet: look again */
	long long propagation_timeout_ms; /* then the job fails */
	long long authz_poll_ms;        /* authorization pending, no Retry-After */
	long long validation_timeout_ms; /* pending this long after the
	                                   challenges were answered: treated as
	                                   invalid */
	double renew_fraction;          /* renew when this much of the lifetime
	                                   is left (no ARI) */
	long long offboard_interval_ms; /* offboard check of an issued domain */
	double offboard_jitter;         /* +- this fraction of the interval */
	long long stale_interval_ms;    /* re-check of a stale delegation */
	long long park_grace_ms;        /* never pointed at us this long after
	                                   the first certificate: parked */
	long long cert_retention_ms;    /* a departed (parked, offboarded)
	                                   domain's certificate is deleted this
	                                   long after it left; 0: at once */
	bool revoke_on_departure;       /* an offboarded domain's certificate
	                                   is revoked (cessationOfOperation) */
	long long offboard_after_ms;    /* a name that pointed at us points
	                                   elsewhere this long ... */
	int offboard_min_checks;        /* ... and on at least this many checks
	                                   in a row: it left */
	long long ari_poll_min_ms;      /* renewalInfo polled at its Retry-After, */
	long long ari_poll_max_ms;      /* bounded by these */
	bool pointing_rule;             /* dns.pointing has ranges or suffixes:
	                                   without, nothing is parked or
	                                   offboarded on its own */
	long long invalid_backoff_ms;   /* after an invalid authorization */
	int max_invalid;                /* invalid authorizations in a row,
	                                   then "failed" */
	bool caa_check;
	struct rl_bucket new_orders;    /* per account: each CA's default
	                                   (ca_cfg.h) */
	struct rl_bucket failed_authz;  /* per identifier */
};

/* Reads lifecycle.* and ratelimit.* (defaults: Let's
 * Encrypt's published limits).  Errors are recorded in C. */
void lifecycle_cfg_load(struct cfg *c, struct lifecycle_opts *o);

#endif
