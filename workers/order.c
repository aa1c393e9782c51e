/* The order of a generation: its record, its fetch, and the process's
 * memory of the orders it created; see order.h. */
#include "order.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *order_recorded(const struct domain_rec *rec, const struct job *job)
{
	const char *url = rec_str(rec, "order_url", NULL);
	return url && (uint64_t)rec_int(rec, "order_gen", 0) == job->gen ? url : NULL;
}

enum acme_status order_poll(struct acme_client *c, const char *url, struct acme_order *order,
                            long long *ra, bool *gone)
{
	order->url = strdup(url);
	enum acme_status st = order->url ? acme_order_poll(c, order, ra) : ACME_E_NOMEM;
	/* the CA no longer has it (expired, or the CA lost it) */
	*gone = st != ACME_OK && st != ACME_PENDING && st != ACME_E_INVALID &&
	        acme_last_problem(c)->http_status == 404;
	return st;
}

bool order_fetch(struct acme_client *c, const struct job *job, const struct domain_rec *rec,
                 struct acme_order *order, enum acme_status *st, long long *ra,
                 struct outcome *out)
{
	const char *url = order_recorded(rec, job);
	bool gone;

	if (!url) {
		outcome_advance(out, STAGE_CREATE_ORDER);
		outcome_state(out, STATE_ORDERING);
		return false;
	}
	*st = order_poll(c, url, order, ra, &gone);
	if (gone) {
		outcome_advance(out, STAGE_CREATE_ORDER);
		snprintf(out->reason, sizeof(out->reason), "the CA no longer has the order %s", url);
		outcome_state(out, STATE_ORDERING);
		return false;
	}
	return true;
}

/* ---- the process's memory of the orders it created ---- */

#define JOURNAL_MAX 512
#define JOURNAL_KEEP_MS 60000

static struct {
	pthread_mutex_t mu;
	size_t next;
	struct {
		char domain[DNAME_MAX + 1];
		char job[JOB_ID_MAX + 1];
		uint64_t gen, at;
		char url[ORDER_URL_MAX];
	} e[JOURNAL_MAX];
} journal = { .mu = PTHREAD_MUTEX_INITIALIZER };

void order_journal(struct stage_env *env, const struct job *job, const char *url)
{
	if (strlen(url) >= ORDER_URL_MAX)
		return;
	pthread_mutex_lock(&journal.mu);
	size_t i = journal.next++ % JOURNAL_MAX;
	snprintf(journal.e[i].domain, sizeof(journal.e[i].domain), "%s", job->domain);
	snprintf(journal.e[i].job, sizeof(journal.e[i].job), "%s", job->id);
	snprintf(journal.e[i].url, sizeof(journal.e[i].url), "%s", url);
	journal.e[i].gen = job->gen;
	journal.e[i].at = env->now_ms;
	pthread_mutex_unlock(&journal.mu);
}

bool order_recall(struct stage_env *env, const struct job *job,
                           char *url, size_t len)
{
	uint64_t best = 0;

	pthread_mutex_lock(&journal.mu);
	for (size_t i = 0; i < JOURNAL_MAX; i++) {
		if (journal.e[i].gen == job->gen && journal.e[i].at > best &&
		    env->now_ms - journal.e[i].at < JOURNAL_KEEP_MS &&
		    strcmp(journal.e[i].domain, job->domain) == 0 &&
		    strcmp(journal.e[i].job, job->id) == 0) {
			snprintf(url, len, "%s", journal.e[i].url);
			best = journal.e[i].at;     /* the latest order wins */
		}
	}
	pthread_mutex_unlock(&journal.mu);
	return best != 0;
}
