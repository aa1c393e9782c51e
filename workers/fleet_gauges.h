/*
 * fleet_gauges: the fleet's state read from Redis as Prometheus gauges, for
 * the alerts and the dashboard of deploy/monitoring:
 *
 *   dcv_stream_lag{stage}, dcv_stream_pending{stage},
 *   dcv_stream_oldest_pending_seconds{stage}   XINFO GROUPS, XPENDING
 *   dcv_delayed_jobs                           ZCARD <prefix>:delayed
 *   dcv_redis_noeviction                       queue_eviction_policy()
 *   dcv_redis_used_memory_bytes, dcv_redis_maxmemory_bytes   INFO memory
 *   dcv_certificates_expiring{within,renewal}  <prefix>:expiry (below)
 *   dcv_domains{state}                         HMGET <prefix>:states
 *   dcv_worker_visibility_timeout_seconds      this worker's setting
 *   dcv_fleet_gauges_updated_timestamp_seconds the last successful read
 *
 * The maintenance thread of every worker calls fleet_gauges_update() every
 * FLEET_GAUGES_INTERVAL_MS: one EVAL (a read-only script), one HMGET and
 * one INFO per call, so the load on Redis is a few commands per worker and
 * interval.
 * Every worker reports the same fleet-wide values; queries take max().
 *
 * The expiry index <prefix>:expiry is a sorted set, member the domain,
 * score its certificate's not_after (unix seconds).  certstore_put() sets
 * it in the transaction that stores the certificate (finalize; a renewal
 * replaces the score); ONBOARD puts back a certificate a domain kept; the
 * scripts that offboard (OFFBOARD, COMMIT to "offboarded"), RELEASE and
 * CERT_RETIRE remove it; "dcvctl reindex" rebuilds it from the
 * <prefix>:cert:* hashes (schemas/redis.md).
 * The gauge counts the domains whose not_after is before now + 7, 14 and
 * 30 days (expired ones included), and whose record says they are still
 * ours (state neither offboarded nor parked, not released, record
 * present), split by
 * renewal="under_way" (an active state: renewing, verifying, ordering...)
 * or renewal="none" (issued, failed, abandoned: nothing will renew it).
 * At most FLEET_EXPIRY_SCAN members are looked at per call (soonest first),
 * so the counts are exact below that and lower bounds above.
 *
 * <prefix>:states is the count of records by state that every script
 * writing a state keeps (common/lua/lib/states.lua: one HINCRBY down and
 * one up per change, O(1) at any number of domains); records written
 * before it existed are counted at their first change or by "dcvctl
 * reindex".
 *
 * Thread-safety: fleet_gauges_setup() once before the threads start;
 * fleet_gauges_update() from one thread (it uses Q, which is not shared).
 */
#ifndef DCV_FLEET_GAUGES_H
#define DCV_FLEET_GAUGES_H

#include <stddef.h>

#include "queue.h"

#define FLEET_GAUGES_INTERVAL_MS 10000
#define FLEET_EXPIRY_SCAN 10000

/* Registers the gauges (metrics_gauge handles kept in static storage) and
 * sets dcv_worker_visibility_timeout_seconds from VISIBILITY_MS. */
void fleet_gauges_setup(long long visibility_ms);

/* Reads the fleet's state through Q (borrowed) for the consumer group
 * GROUP and sets the gauges.  Returns Q_OK, Q_E_IO when the connection
 * failed (the caller reconnects), or Q_E_REPLY; on error ERR (ERRLEN
 * bytes) says what failed and the gauges keep their last values. */
enum queue_status fleet_gauges_update(struct queue *q, const char *group, char *err,
                                      size_t errlen);

#endif
