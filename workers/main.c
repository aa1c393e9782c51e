/*
 * dcv-worker: the stateless worker.  Its handlers are the five stages
 * (verify_cname.c ... offboard_check.c, sharing pipeline.h and its modules); worker.handlers:
 * noop runs the runtime alone.  See worker.h and README.md.
 */
#include "pipeline.h"
#include "stages.h"

static const struct worker_app dcv_worker = {
	.name = "dcv-worker",
	.stages = {
		[STAGE_VERIFY_CNAME] = stage_verify_cname,
		[STAGE_CREATE_ORDER] = stage_create_order,
		[STAGE_PROVISION_TXT] = stage_provision_txt,
		[STAGE_FINALIZE] = stage_finalize,
		[STAGE_OFFBOARD_CHECK] = stage_offboard_check,
	},
	.configure = pipeline_configure,
	.release = pipeline_release,
};

int main(int argc, char **argv)
{
	return worker_main(argc, argv, &dcv_worker);
}
