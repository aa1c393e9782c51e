/*
 * The built-in no-op handlers (worker.handlers: noop): each stage advances
 * the job to the next and offboard-check finishes it.  They exercise the
 * queue runtime end to end (the demo, the pipeline benchmark) until the
 * stages that do DNS and ACME work replace them.
 */
#include "noop.h"

static void noop(struct stage_env *env, struct job *job, struct outcome *out)
{
	(void)job;
	if (env->stage == STAGE_OFFBOARD_CHECK)
		outcome_done(out);
	else
		outcome_advance(out, (enum stage)(env->stage + 1));
}

const struct worker_app noop_app = {
	.name = "dcv-worker",
	.stages = { noop, noop, noop, noop, noop },
};
