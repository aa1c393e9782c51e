/* The lifecycle and rate-limit configuration; see lifecycle_cfg.h. */
#include "lifecycle_cfg.h"

#include <string.h>

#define DAY_MS (24LL * 3600 * 1000)

void lifecycle_cfg_load(struct cfg *c, struct lifecycle_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->verify_max_wait_ms = cfg_int(c, "lifecycle.verify_max_wait_ms", 30 * DAY_MS, 1000, 365 * DAY_MS);
	o->propagation_poll_ms = cfg_int(c, "lifecycle.propagation_poll_ms", 2000, 1, 3600000);
	o->propagation_timeout_ms = cfg_int(c, "lifecycle.propagation_timeout_ms", 3600000, 1000,
	                                    7 * DAY_MS);
	o->authz_poll_ms = cfg_int(c, "lifecycle.authz_poll_ms", 1000, 1, 3600000);
	/* a CA that retries a failed challenge (RFC 8555 section 8.2) keeps
	 * the authorization pending: wait this long for its verdict */
	o->validation_timeout_ms = cfg_int(c, "lifecycle.validation_timeout_ms", 600000, 100,
	                                   7 * DAY_MS);
	o->renew_fraction = cfg_double(c, "lifecycle.renew_fraction", 1.0 / 3, 0.0, 1.0);
	o->offboard_interval_ms = cfg_int(c, "lifecycle.offboard_interval_ms", DAY_MS, 100, 365 * DAY_MS);
	o->offboard_jitter = cfg_double(c, "lifecycle.offboard_jitter", 0.2, 0.0, 1.0);
	o->stale_interval_ms = cfg_int(c, "lifecycle.stale_interval_ms", 7 * DAY_MS, 100, 365 * DAY_MS);
	o->park_grace_ms = cfg_int(c, "lifecycle.park_grace_ms", 30 * DAY_MS, 0, 3650 * DAY_MS);
	/* long enough for a backend that missed the departure to still read
	 * the certificate (and for a customer who comes back within the
	 * month to find nothing lost); 0: deleted as soon as it leaves */
	o->cert_retention_ms = cfg_int(c, "lifecycle.cert_retention_ms", 30 * DAY_MS, 0,
	                               3650 * DAY_MS);
	o->revoke_on_departure = cfg_bool(c, "lifecycle.revoke_on_departure", false);
	o->offboard_after_ms = cfg_int(c, "lifecycle.offboard_after_ms", 7 * DAY_MS, 0, 365 * DAY_MS);
	o->offboard_min_checks = (int)cfg_int(c, "lifecycle.offboard_min_checks", 3, 1, 1000);
	o->ari_poll_min_ms = cfg_int(c, "lifecycle.ari_poll_min_ms", 3600000, 100, 30 * DAY_MS);
	o->ari_poll_max_ms = cfg_int(c, "lifecycle.ari_poll_max_ms", DAY_MS, 100, 30 * DAY_MS);
	if (o->ari_poll_max_ms < o->ari_poll_min_ms)
		cfg_fail(c, "lifecycle.ari_poll_max_ms", "is below lifecycle.ari_poll_min_ms");
	/* what "points at us" means; dns.c reads and checks the values */
	o->pointing_rule = cfg_list_len(c, "dns.pointing.ip_ranges") > 0 ||
	                   cfg_list_len(c, "dns.pointing.host_suffixes") > 0;
	o->invalid_backoff_ms = cfg_int(c, "lifecycle.invalid_backoff_ms", 3600000, 1, 30 * DAY_MS);
	o->max_invalid = (int)cfg_int(c, "lifecycle.max_invalid_authz", 3, 1, 100);
	o->caa_check = cfg_bool(c, "lifecycle.caa_check", true);

	/* Let's Encrypt: 300 new orders per account per 3 hours; 5 failed
	 * authorizations per identifier per account per hour. */
	o->new_orders.limit = cfg_int(c, "ratelimit.new_orders.limit", 300, 0, 1LL << 40);
	o->new_orders.period_ms = cfg_int(c, "ratelimit.new_orders.period_ms", 3 * 3600000LL, 1, 365 * DAY_MS);
	o->failed_authz.limit = cfg_int(c, "ratelimit.failed_authorizations.limit", 5, 0, 1LL << 40);
	o->failed_authz.period_ms = cfg_int(c, "ratelimit.failed_authorizations.period_ms", 3600000, 1, 365 * DAY_MS);
}
