#include "ratelimit.h"

#include <stdio.h>
#include <string.h>

#include "script_args.h"

/* Runs SCRIPT_BUCKET in MODE with the arguments A1, A2 and MEMBER (the
 * waiter's entry in the delayed set, "" none).  Returns the wait, or -1;
 * *SLOT and *SHIFT get the script's answer when not NULL. */
static long long bucket(struct queue *q, const char *name, const struct rl_bucket *b,
                        const char *mode, uint64_t now_ms, long long a1, long long a2,
                        const char *member, long long *slot, long long *shift)
{
	char key[512], delayed[128];
	struct script_args a;
	long long wait = -1;

	queue_key(q, key, sizeof(key), "rl:");
	size_t kl = strlen(key);
	snprintf(key + kl, sizeof(key) - kl, "%s", name);
	queue_key(q, delayed, sizeof(delayed), "delayed");
	/* layout: common/lua/bucket.lua */
	sa_init(&a, 0);
	sa_key(&a, key);
	sa_argu(&a, now_ms);
	sa_argi(&a, b->limit);
	sa_argi(&a, b->period_ms);
	sa_arg(&a, mode);
	sa_argi(&a, a1);
	sa_argi(&a, a2);
	sa_arg(&a, member);
	sa_arg(&a, delayed);
	struct queue_reply *r = queue_eval(q, SCRIPT_BUCKET, &a);
	long long v[3];
	if (queue_reply_len(r) == 3 && queue_reply_int(queue_reply_at(r, 0), &v[0]) &&
	    queue_reply_int(queue_reply_at(r, 1), &v[1]) &&
	    queue_reply_int(queue_reply_at(r, 2), &v[2])) {
		wait = v[0];
		if (slot)
			*slot = v[1];
		if (shift)
			*shift = v[2];
	}
	queue_reply_free(r);
	return wait;
}

long long ratelimit(struct queue *q, const char *name, const struct rl_bucket *b,
                    enum rl_mode mode, uint64_t now_ms, uint64_t until_ms)
{
	static const char *const modes[] = { "take", "peek", "block", "use" };

	if (b->limit <= 0 || b->period_ms <= 0)
		return 0;
	return bucket(q, name, b, modes[mode], now_ms, (long long)until_ms, 0, "", NULL, NULL);
}

long long ratelimit_turn(struct queue *q, const char *name, const struct rl_bucket *b,
                         uint64_t now_ms, const char *member, struct rl_ticket *t)
{
	long long slot = 0, shift = 0, wait;

	if (b->limit <= 0 || b->period_ms <= 0)
		return 0;
	wait = bucket(q, name, b, t->slot ? "claim" : "reserve", now_ms, t->slot, t->shift,
	              member ? member : "", &slot, &shift);
	if (wait >= 0) {
		t->slot = slot;
		t->shift = shift;
	}
	return wait;
}
