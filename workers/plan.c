/*
 * plan: an entry's outcome to its commit (see plan.h for the rules).
 */
#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle_names.h"

/* The state an outcome that names none leaves (the runtime's own states). */
static const enum domain_state default_state[] = {
	[OUT_NONE] = STATE_FAILED,
	[OUT_ADVANCE] = STATE_ACTIVE,
	[OUT_RETRY] = STATE_WAITING,
	[OUT_DONE] = STATE_DONE,
	[OUT_FAIL] = STATE_FAILED,
};

bool plan_decode(const struct queue_entry *e, size_t max_bytes, uint64_t now_ms,
                 struct job *job, char *why, size_t whylen)
{
	if (!e->job) {
		memset(job, 0, sizeof(*job));
		snprintf(why, whylen, "stream entry has no job field");
		return false;
	}
	if (job_decode(e->job, e->job_len, max_bytes, job, why, whylen) != JOB_OK)
		return false;
	if (!job->id[0])
		snprintf(job->id, sizeof(job->id), "x%s", e->id);
	if (!job->created_at)
		job->created_at = now_ms;
	if (!job->since)
		job->since = now_ms;
	return true;
}

bool plan_runs(long long left_ms, long long job_timeout_ms)
{
	return left_ms >= job_timeout_ms / 2;
}

void plan_unrun(struct outcome *out, long long left_ms, long long job_timeout_ms)
{
	outcome_retry(out, 0, "not run: the entries read before it in its batch "
	              "left it %lld ms of worker.job_timeout_ms (%lld ms)",
	              left_ms, job_timeout_ms);
	out->state = "";
}

/* Dead-letters an entry whose job could not be decoded, as it came. */
static void plan_bad(const struct plan_in *in, struct plan *p, struct queue_commit *c)
{
	const struct queue_entry *e = in->entry;

	p->kind = OUT_FAIL;
	p->bad = true;
	p->count = PLAN_COUNT_DEAD_BAD_JOB;
	p->log_level = LOG_WARN;
	p->log_outcome = "dead";
	snprintf(p->reason, sizeof(p->reason), "%s", in->bad ? in->bad : "undecodable job");
	snprintf(p->domain, sizeof(p->domain), "%s", e->domain ? e->domain : "");
	c->kind = COMMIT_DEAD;
	c->job = e->job;
	c->job_len = e->job ? e->job_len : 0;
	c->domain = p->domain;
	c->job_id = "";
	c->state = "";
	c->last_error = p->reason;
	c->event = domain_event_name(EVENT_DEAD_LETTER);
	c->detail = p->reason;
}

/* A RETRY that is an attempt: counts it and, at the stage's max_attempts,
 * turns it into a FAIL.  Returns the kind to settle as. */
static enum outcome_kind count_attempt(const struct plan_in *in, struct plan *p,
                                       const char **state)
{
	struct job *job = in->job;
	const struct stage_policy *pol = in->policy;

	if (job->attempt < UINT32_MAX)   /* a crafted job's count stays put, never wraps to 0 */
		job->attempt++;
	if (in->out->outage && pol->max_attempts > 0 && job->attempt >= pol->max_attempts)
		job->attempt = (uint32_t)(pol->max_attempts - 1);   /* the cap's backoff, no give-up */
	if (pol->max_attempts <= 0 || job->attempt < pol->max_attempts)
		return OUT_RETRY;
	char r[PLAN_REASON_MAX];
	snprintf(r, sizeof(r), "gave up after %u attempts: %s", job->attempt, in->out->reason);
	/* within the outcome's own size, as the event's detail always was */
	size_t l = strlen(r);
	if (l >= OUTCOME_REASON_MAX)
		l = OUTCOME_REASON_MAX - 1;
	memcpy(p->reason, r, l);
	p->reason[l] = '\0';
	*state = domain_state_name(STATE_FAILED);  /* not the retry's state: nothing runs any more */
	return OUT_FAIL;
}

/* Where the commit of KIND sends the job, and what it counts and logs. */
static void route(const struct plan_in *in, enum outcome_kind kind,
                  struct plan *p, struct queue_commit *c)
{
	const struct outcome *out = in->out;
	struct job *job = in->job;

	switch (kind) {
	case OUT_ADVANCE:
		job->attempt = 0;
		job->since = in->now_ms;
		c->dst = out->next;
		c->kind = out->delay_ms > 0 ? COMMIT_LATER : COMMIT_FORWARD;
		p->delay_ms = out->delay_ms > 0 ? (uint64_t)out->delay_ms : 0;
		p->log_level = LOG_DEBUG;
		break;
	case OUT_RETRY: {
		bool asked = out->delay_ms >= 0;   /* Retry-After, a wait, unrun */
		p->delay_ms = (uint64_t)(asked ? out->delay_ms
		                         : worker_backoff(in->policy, job->attempt, in->rnd));
		p->count = asked ? PLAN_COUNT_RETRY_AFTER : PLAN_COUNT_RETRY_BACKOFF;
		p->log_level = LOG_INFO;
		c->dst = in->entry->stage;
		c->kind = COMMIT_LATER;
		c->last_error = p->reason;
		break;
	}
	case OUT_DONE:
		c->kind = COMMIT_DONE;
		p->log_level = LOG_DEBUG;
		break;
	case OUT_NONE:
	case OUT_FAIL:
		c->kind = COMMIT_DEAD;
		c->last_error = p->reason;
		p->count = PLAN_COUNT_DEAD_FAILED;
		p->log_level = LOG_WARN;
		if (!out->event)
			c->event = domain_event_name(EVENT_FAILED);
		break;
	}
	c->due_ms = c->kind == COMMIT_LATER ? in->now_ms + p->delay_ms : 0;
}

void plan_build(const struct plan_in *in, struct plan *p, struct queue_commit *c)
{
	const struct queue_entry *e = in->entry;

	/* the buffers are written before they are read: a plan is large and
	 * this runs for every entry */
	p->bad = false;
	p->count = PLAN_COUNT_NONE;
	p->delay_ms = 0;
	p->job_id[0] = '\0';
	p->enc = NULL;
	p->enclen = 0;
	p->fields = NULL;
	memset(c, 0, sizeof(*c));
	c->src = e->stage;
	c->entry_id = e->id;
	c->last_error = "";
	c->event = "";
	c->detail = "";
	c->event_fields = "";
	if (!in->job) {
		plan_bad(in, p, c);
		return;
	}

	const struct outcome *out = in->out;
	struct job *job = in->job;
	/* a kind no handler can mean is a handler that set nothing */
	enum outcome_kind kind = (unsigned)out->kind <= OUT_FAIL ? out->kind : OUT_NONE;
	const char *state = out->state;

	snprintf(p->reason, sizeof(p->reason), "%s",
	         kind == OUT_NONE ? "handler returned no outcome" : out->reason);
	if (kind == OUT_RETRY && in->ran && !out->wait)
		kind = count_attempt(in, p, &state);
	p->kind = kind;
	p->log_outcome = outcome_name(kind);
	snprintf(p->domain, sizeof(p->domain), "%s", job->domain);
	snprintf(p->job_id, sizeof(p->job_id), "%s", job->id);
	c->domain = p->domain;
	c->job_id = p->job_id;
	c->state = state ? state : domain_state_name(default_state[kind]);
	c->event = out->event ? out->event : "";
	c->detail = p->reason;
	/* the handler's fields go with the handler's event only */
	if (out->event && out->fields[0] && (p->fields = strdup(out->fields)))
		c->event_fields = p->fields;
	route(in, kind, p, c);
	c->attempts = job->attempt;
	c->gen = job->gen;
	c->clear = out->clear;
	if (job_encode(job, &p->enc, &p->enclen) != JOB_OK) {
		p->enc = NULL;        /* the entry is settled as it came */
		c->job = e->job;
		c->job_len = e->job_len;
	} else {
		c->job = p->enc;
		c->job_len = p->enclen;
	}
}

void plan_release(struct plan *p)
{
	free(p->enc);
	p->enc = NULL;
	free(p->fields);
	p->fields = NULL;
	p->enclen = 0;
}

void plan_describe(const struct plan *p, const struct queue_commit *c,
                   char *buf, size_t len)
{
	if (p->bad)
		snprintf(buf, len, "dead letter: %s", p->reason);
	else if (p->kind == OUT_FAIL || p->kind == OUT_NONE)
		snprintf(buf, len, "failed: %s", p->reason);
	else if (p->kind == OUT_RETRY)
		snprintf(buf, len, "retry in %llu ms (attempt %u): %s",
		         (unsigned long long)p->delay_ms, c->attempts, p->reason);
	else if (p->kind == OUT_ADVANCE)
		snprintf(buf, len, "advance to %s", stage_name(c->dst));
	else
		snprintf(buf, len, "%s", outcome_name(p->kind));
}
