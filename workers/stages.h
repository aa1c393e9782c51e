/*
 * stages: the five stage handlers of dcv-worker, one file each
 * (schemas/lifecycle.md).  Each is a thin driver: it gathers what the
 * stage decides from (the job, the domain record, what DNS and the CA
 * said), calls the stage's pure decision, and performs it.
 */
#ifndef DCV_STAGES_H
#define DCV_STAGES_H

#include "worker.h"

void stage_verify_cname(struct stage_env *env, struct job *job, struct outcome *out);
void stage_create_order(struct stage_env *env, struct job *job, struct outcome *out);
void stage_provision_txt(struct stage_env *env, struct job *job, struct outcome *out);
void stage_finalize(struct stage_env *env, struct job *job, struct outcome *out);
void stage_offboard_check(struct stage_env *env, struct job *job, struct outcome *out);

#endif
