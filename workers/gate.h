/*
 * gate: what every stage run passes first (schemas/lifecycle.md, "The
 * gate"): the domain's record, its generation, its job and tenant, and
 * whether the delegation was verified for it.
 */
#ifndef DCV_GATE_H
#define DCV_GATE_H

#include <stdbool.h>

#include "domain_rec.h"
#include "worker.h"

/* Lets JOB run in env->stage, or sets OUT and returns false: an unknown
 * domain, a job without a generation or of a newer one, another job of
 * the current generation, or one of another tenant is refused (dead
 * letter, the domain left alone); a job of an older generation, or of a
 * released domain, is dropped; a later stage for a domain whose
 * delegation was not verified in this generation is refused; an offboard
 * request turns the pipeline to offboard-check.  REC is read here (free it
 * either way).  verify-cname claims the job first (verify_cname.c). */
bool gate_pass(struct stage_env *env, struct job *job, struct domain_rec *rec,
               struct outcome *out);

#endif
