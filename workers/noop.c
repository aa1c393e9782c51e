/*
 * The built-in no-op handlers (worker.handlers: noop): each stage advances
 * the job to the next and offboard-check finishes it.  They exercise the
 * queue runtime end to end (the demo, the pipeline benchmark) until the
 * stages that do DNS and ACME work replace them.
 */
#include "noop.h"

static void noop_advance(struct stage_env *env, struct job *job,
                         struct outcome *out)
{
	(void)env;
	(void)job;
	outcome_advance(out, STAGE_CREATE_ORDER);
}

static void noop_order(struct stage_env *env, struct job *job, struct outcome *out)
{
	(void)env;
	(void)job;
	outcome_advance(out, STAGE_PROVISION_TXT);
}

static void noop_txt(struct stage_env *env, struct job *job, struct outcome *out)
{
	(void)env;
	(void)job;
	outcome_advance(out, STAGE_FINALIZE);
}

static void noop_finalize(struct stage_env *env, struct job *job, struct outcome *out)
{
	(void)env;
	(void)job;
	outcome_advance(out, STAGE_OFFBOARD_CHECK);
}

static void noop_offboard(struct stage_env *env, struct job *job, struct outcome *out)
{
	(void)env;
	(void)job;
	outcome_done(out);
}

const struct worker_app noop_app = {
	.name = "dcv-worker",
	.stages = {
		[STAGE_VERIFY_CNAME] = noop_advance,
		[STAGE_CREATE_ORDER] = noop_order,
		[STAGE_PROVISION_TXT] = noop_txt,
		[STAGE_FINALIZE] = noop_finalize,
		[STAGE_OFFBOARD_CHECK] = noop_offboard,
	},
};
