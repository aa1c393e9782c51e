/*
 * order: the ACME order of a domain's generation.  create-order records it
 * in the record ("order_url", "order_gen") as soon as the CA answers
 * newOrder; provision-txt and finalize fetch it on every run; a job whose
 * order the CA no longer has goes back to create-order
 * (schemas/lifecycle.md, "At most one order per issuance").
 */
#ifndef DCV_ORDER_H
#define DCV_ORDER_H

#include <stdbool.h>
#include <stddef.h>

#include "acme.h"
#include "domain_rec.h"
#include "worker.h"

#define ORDER_URL_MAX 512

/* The URL of the order REC records for JOB's generation (borrowed), or
 * NULL. */
const char *order_recorded(const struct domain_rec *rec, const struct job *job);

/* Polls the order at URL into ORDER (free it either way); *RA gets a
 * Retry-After, *GONE whether the CA no longer has it (HTTP 404).  Returns
 * the poll's status. */
enum acme_status order_poll(struct acme_client *c, const char *url, struct acme_order *order,
                            long long *ra, bool *gone);

/* Fetches the order create-order recorded for JOB's generation into ORDER
 * (free it either way), its status into *ST and a Retry-After into *RA.
 * Without one, or when the CA no longer has it, OUT sends the job back to
 * create-order (state "ordering") and false is returned. */
bool order_fetch(struct acme_client *c, const struct job *job, const struct domain_rec *rec,
                 struct acme_order *order, enum acme_status *st, long long *ra,
                 struct outcome *out);

/* The orders this process created lately (a minute), kept in memory: when
 * Redis loses the record of one (a restart that drops the last second of
 * writes, or a write that failed), the next run of the job in this process
 * resumes it instead of ordering again.  Recall copies the URL recorded for
 * JOB's domain, generation and id into URL and returns true.  Thread-safe. */
void order_journal(struct stage_env *env, const struct job *job, const char *url);
bool order_recall(struct stage_env *env, const struct job *job, char *url, size_t len);

#endif
