/* The gate every stage passes first; see gate.h. */
#include "gate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* A job that is not the domain's pipeline: dead letter, domain untouched. */
static void refuse(struct outcome *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void refuse(struct outcome *out, const char *fmt, ...)
{
	va_list ap;

	out->kind = OUT_FAIL;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	outcome_keep_state(out);
	outcome_event(out, EVENT_DEAD_LETTER);
}

bool gate_pass(struct stage_env *env, struct job *job, struct domain_rec *rec,
                   struct outcome *out)
{
	const char *stage = stage_name(env->stage);

	if (domain_read(env, job->domain, rec) != 0) {
		outcome_retry(out, 1000, "redis: %s", queue_errstr(env->q));
		outcome_keep_state(out);
		return false;
	}
	unsigned long long gen = (unsigned long long)rec_int(rec, "gen", 0);
	if (!rec->exists || gen == 0) {
		refuse(out, "refused: %s is not onboarded (jobs enter at verify-cname)",
		       job->domain);
		return false;
	}
	if (job->gen == 0 || job->gen > gen) {
		refuse(out, "refused: a %s job of generation %llu for a domain at generation %llu",
		       stage, (unsigned long long)job->gen, gen);
		return false;
	}
	if (job->gen < gen) {
		log_msg(LOG_INFO, "stage=%s domain=%s dropped a job of generation %llu (now %llu)",
		        stage, job->domain, (unsigned long long)job->gen, gen);
		outcome_done(out);
		outcome_keep_state(out);
		return false;
	}
	if (strcmp(rec_str(rec, "job", ""), job->id) != 0) {
		refuse(out, "refused: job %s is not the pipeline of this domain", job->id);
		return false;
	}
	if (strcmp(rec_str(rec, "tenant", ""), job->tenant) != 0) {
		refuse(out, "refused: job %s of tenant \"%s\" is not the pipeline of this "
		       "domain (another tenant's)", job->id, job->tenant);
		return false;
	}
	if (rec_str(rec, "released_at", NULL)) {
		/* its names may be another tenant's now: nothing of the ended
		 * pipeline runs again */
		log_msg(LOG_INFO, "stage=%s domain=%s dropped a job of a released domain",
		        stage, job->domain);
		outcome_done(out);
		outcome_keep_state(out);
		return false;
	}
	if (rec_int(rec, "offboard_requested", 0) && env->stage != STAGE_OFFBOARD_CHECK) {
		outcome_advance(out, STAGE_OFFBOARD_CHECK);
		outcome_state(out, STATE_OFFBOARDED);
		return false;
	}
	if (env->stage != STAGE_OFFBOARD_CHECK && env->stage != STAGE_VERIFY_CNAME &&
	    (unsigned long long)rec_int(rec, "verified_gen", 0) != gen) {
		refuse(out, "refused: %s before the delegation was verified "
		       "(generation %llu, verified %llu)", stage, gen,
		       (unsigned long long)rec_int(rec, "verified_gen", 0));
		return false;
	}
	return true;
}
