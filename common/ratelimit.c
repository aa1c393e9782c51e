#include "ratelimit.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

long long ratelimit(struct queue *q, const char *name, const struct rl_bucket *b,
                    enum rl_mode mode, uint64_t now_ms, uint64_t until_ms)
{
	static const char *const modes[] = { "take", "peek", "block" };
	char key[512], now[24], limit[24], period[24], until[24];

	if (b->limit <= 0 || b->period_ms <= 0)
		return 0;
	queue_key(q, key, sizeof(key), "rl:");
	size_t kl = strlen(key);
	snprintf(key + kl, sizeof(key) - kl, "%s", name);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)now_ms);
	snprintf(limit, sizeof(limit), "%lld", b->limit);
	snprintf(period, sizeof(period), "%lld", b->period_ms);
	snprintf(until, sizeof(until), "%llu", (unsigned long long)until_ms);
	const char *argv[] = { key, now, limit, period, modes[mode], until };
	redisReply *r = queue_script(q, SCRIPT_BUCKET, 1, 6, argv, NULL);
	long long wait = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	queue_reply_free(r);
	return wait;
}
