/* The CAs' health records in Redis; see ca_health.h. */
#include "ca_health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void key(const char *prefix, const char *ca, char *out, size_t len)
{
	snprintf(out, len, "%s:ca:%s", prefix && *prefix ? prefix : "dcv", ca);
}

int ca_health_read(redisContext *rc, const char *prefix, const char *ca,
                   struct ca_health *h)
{
	char k[300];
	int ret = -1;

	memset(h, 0, sizeof(*h));
	key(prefix, ca, k, sizeof(k));
	redisReply *r = redisCommand(rc, "HMGET %s state reason since reprobe_at failures", k);
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 5)
		goto out;
	for (size_t i = 0; i < 5; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING &&
		    r->element[i]->type != REDIS_REPLY_NIL)
			goto out;
#define F(i) (r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "")
	h->unhealthy = strcmp(F(0), "unhealthy") == 0;
	snprintf(h->reason, sizeof(h->reason), "%s", F(1));
	h->since = atoll(F(2));
	h->reprobe_at = atoll(F(3));
	h->failures = atoll(F(4));
#undef F
	ret = 0;
out:
	freeReplyObject(r);
	return ret;
}

/* KEYS[1] the record; ARGV: reason, now, threshold, reprobe_at, at_once.
 * The re-probe time is set when the CA becomes unhealthy, and moved by the
 * probes only: the failures of the jobs still at the CA (one worker that
 * cannot reach it, its threads' provision-txt and finalize calls) would
 * push it on for ever, and no healthy worker would ever probe. */
static const char failed_lua[] =
	"local n = redis.call('HINCRBY', KEYS[1], 'failures', 1) "
	"if n < tonumber(ARGV[3]) and ARGV[5] ~= '1' then return 0 end "
	"if redis.call('HGET', KEYS[1], 'state') ~= 'unhealthy' then "
	"  redis.call('HSET', KEYS[1], 'state', 'unhealthy', 'since', ARGV[2], "
	"             'reprobe_at', ARGV[4]) end "
	"redis.call('HSET', KEYS[1], 'reason', ARGV[1]) "
	"return 1";

int ca_health_failed(redisContext *rc, const char *prefix, const char *ca,
                     const char *reason, long long now_ms, long long threshold,
                     long long reprobe_ms, bool at_once)
{
	char k[300], now[24], th[24], at[24];

	key(prefix, ca, k, sizeof(k));
	snprintf(now, sizeof(now), "%lld", now_ms);
	snprintf(th, sizeof(th), "%lld", threshold);
	snprintf(at, sizeof(at), "%lld", now_ms + reprobe_ms);
	redisReply *r = redisCommand(rc, "EVAL %s 1 %s %s %s %s %s %s", failed_lua, k,
	                             reason, now, th, at, at_once ? "1" : "0");
	int ret = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
	freeReplyObject(r);
	return ret;
}

/* KEYS[1] the record; ARGV: why, now.  The state's time moves only when
 * the state does. */
static const char ok_lua[] =
	"if redis.call('HGET', KEYS[1], 'state') ~= 'healthy' then "
	"  redis.call('HSET', KEYS[1], 'state', 'healthy', 'since', ARGV[2], "
	"             'reason', ARGV[1]) end "
	"redis.call('HSET', KEYS[1], 'failures', 0, 'reprobe_at', 0) "
	"return 1";

int ca_health_ok(redisContext *rc, const char *prefix, const char *ca, const char *why,
                 long long now_ms)
{
	char k[300], now[24];

	key(prefix, ca, k, sizeof(k));
	snprintf(now, sizeof(now), "%lld", now_ms);
	redisReply *r = redisCommand(rc, "EVAL %s 1 %s %s %s", ok_lua, k, why, now);
	int ret = r && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
	freeReplyObject(r);
	return ret;
}

/* KEYS[1]; ARGV: now, next.  Only one taker per re-probe time. */
static const char probe_lua[] =
	"local at = tonumber(redis.call('HGET', KEYS[1], 'reprobe_at') or '0') "
	"if at > tonumber(ARGV[1]) then return 0 end "
	"redis.call('HSET', KEYS[1], 'reprobe_at', ARGV[2]) return 1";

bool ca_health_probe(redisContext *rc, const char *prefix, const char *ca,
                     long long now_ms, long long reprobe_ms)
{
	char k[300], now[24], next[24];

	key(prefix, ca, k, sizeof(k));
	snprintf(now, sizeof(now), "%lld", now_ms);
	snprintf(next, sizeof(next), "%lld", now_ms + reprobe_ms);
	redisReply *r = redisCommand(rc, "EVAL %s 1 %s %s %s", probe_lua, k, now, next);
	bool ret = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	return ret;
}

void ca_health_count(redisContext *rc, const char *prefix, const char *ca,
                     const char *field)
{
	char k[300];

	key(prefix, ca, k, sizeof(k));
	freeReplyObject(redisCommand(rc, "HINCRBY %s %s 1", k, field));
}
