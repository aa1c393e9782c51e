/* The domain record, read and written; see domain_rec.h. */
#include "domain_rec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "script_args.h"
#include "scripts.h"

static void domain_key(struct stage_env *env, const char *domain, char *key, size_t len)
{
	queue_key(env->q, key, len, "domain:");
	size_t l = strlen(key);
	snprintf(key + l, len - l, "%s", domain);
}

int domain_read(struct stage_env *env, const char *domain, struct domain_rec *r)
{
	char key[400];
	domain_key(env, domain, key, sizeof(key));
	const char *argv[] = { "HGETALL", key };
	struct queue_reply *rep = queue_command(env->q, 2, argv, NULL);

	r->reply = NULL;
	r->exists = false;
	if (queue_reply_kind(rep) != QR_ARRAY) {
		queue_reply_free(rep);
		return -1;
	}
	r->reply = rep;
	r->exists = queue_reply_len(rep) > 0;
	return 0;
}

void domain_rec_free(struct domain_rec *r)
{
	queue_reply_free(r->reply);
	r->reply = NULL;
}

const char *rec_str(const struct domain_rec *r, const char *field, const char *def)
{
	const struct queue_reply *rep = r->reply;
	for (size_t i = 0; i + 1 < queue_reply_len(rep); i += 2) {
		const char *k = queue_reply_str(queue_reply_at(rep, i), NULL);
		if (k && strcmp(k, field) == 0) {
			const char *v = queue_reply_str(queue_reply_at(rep, i + 1), NULL);
			return v ? v : def;
		}
	}
	return def;
}

long long rec_int(const struct domain_rec *r, const char *field, long long def)
{
	const char *v = rec_str(r, field, NULL);
	return v && *v ? strtoll(v, NULL, 10) : def;
}

/* The most fields one write sets, and deletes: a layout of the stages,
 * never data, so more is a bug that fails the write (loudly), never a
 * write with fields silently left out. */
#define SET_MAX 20
#define DEL_MAX 16

/* The field/value pairs of one write: NS fields to set (SET, with their
 * values in VAL), ND to delete (DEL). */
struct fields {
	const char *set[SET_MAX], *val[SET_MAX], *del[DEL_MAX];
	int ns, nd;
};

/* Collects the NULL-terminated field/value pairs of AP (a NULL value
 * deletes) into F.  Returns 0, or -1 (after logging) when there are more
 * than F holds. */
static int pairs(const struct job *job, va_list ap, struct fields *f)
{
	f->ns = f->nd = 0;
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		if (v ? f->ns == SET_MAX : f->nd == DEL_MAX) {
			log_msg(LOG_ERROR, "domain=%s job=%s: a domain write with more "
			        "than %d fields to %s (at %s): not written", job->domain,
			        job->id, v ? SET_MAX : DEL_MAX, v ? "set" : "delete", k);
			return -1;
		}
		if (v) {
			f->set[f->ns] = k;
			f->val[f->ns++] = v;
		} else {
			f->del[f->nd++] = k;
		}
	}
	return 0;
}

/* Runs DOMAIN_SET for JOB: the fields F (NULL none), HINCRBY of INCR
 * ('' none), under GUARD (field, expected value; NULL none), adding EVENT
 * (NULL none) with DETAIL.  Returns the script's answer, -1 when the job
 * was overtaken or Redis failed. */
static long long domain_write(struct stage_env *env, const struct job *job,
                              const char *incr, const char *const guard[2],
                              const char *event, const char *detail,
                              const struct fields *f)
{
	struct script_args a;
	long long v = -1;
	int ns = f ? f->ns : 0, nd = f ? f->nd : 0;

	/* layout: common/lua/domain_set.lua */
	sa_init(&a, 0);
	sa_arg(&a, queue_prefix(env->q));
	sa_arg(&a, job->domain);
	sa_argu(&a, job->gen);
	sa_arg(&a, job->id);
	sa_arg(&a, incr);
	sa_arg(&a, guard ? guard[0] : "");
	sa_arg(&a, guard ? guard[1] : "");
	sa_arg(&a, event);
	sa_arg(&a, detail);
	sa_argi(&a, env->cfg->q.events_maxlen);
	sa_argu(&a, env->now_ms);
	sa_argi(&a, ns);
	for (int i = 0; i < ns; i++) {
		sa_arg(&a, f->set[i]);
		sa_arg(&a, f->val[i]);
	}
	for (int i = 0; i < nd; i++)
		sa_arg(&a, f->del[i]);
	struct queue_reply *r = queue_eval(env->q, SCRIPT_DOMAIN_SET, &a);
	if (!queue_reply_int(r, &v))
		v = -1;
	queue_reply_free(r);
	return v;
}

long long domain_incr(struct stage_env *env, const struct job *job, const char *field)
{
	return domain_write(env, job, field, NULL, NULL, NULL, NULL);
}

int domain_set(struct stage_env *env, const struct job *job, ...)
{
	struct fields f;
	va_list ap;

	va_start(ap, job);
	int rc = pairs(job, ap, &f);
	va_end(ap);
	if (rc < 0)
		return -1;
	return domain_write(env, job, "", NULL, NULL, NULL, &f) < 0 ? -1 : 0;
}

int domain_note(struct stage_env *env, const struct job *job, const char *guard,
                const char *expect, const char *event, const char *detail, ...)
{
	const char *g[2] = { guard, expect };
	struct fields f;
	va_list ap;

	va_start(ap, detail);
	int rc = pairs(job, ap, &f);
	va_end(ap);
	if (rc < 0)
		return -1;
	long long v = domain_write(env, job, "", g, event, detail, &f);
	return v == -2 ? -2 : v < 0 ? -1 : 0;
}

int domain_cert_retire(struct stage_env *env, const struct job *job, const char *action,
                       const char *event, const char *arg)
{
	struct script_args a;
	long long v = -4;

	/* layout: common/lua/cert_retire.lua */
	sa_init(&a, 0);
	sa_arg(&a, queue_prefix(env->q));
	sa_arg(&a, job->domain);
	sa_argu(&a, job->gen);
	sa_arg(&a, job->id);
	sa_arg(&a, action);
	sa_arg(&a, event);
	sa_arg(&a, arg);
	sa_argi(&a, env->cfg->q.events_maxlen);
	sa_argu(&a, env->now_ms);
	struct queue_reply *r = queue_eval(env->q, SCRIPT_CERT_RETIRE, &a);
	if (!queue_reply_int(r, &v))
		v = -4;
	queue_reply_free(r);
	return (int)v;
}

int rec_names(const struct domain_rec *rec, const struct job *job,
                   char (*names)[DNAME_MAX + 2], int max)
{
	char list[1024];
	int n = 0;

	snprintf(list, sizeof(list), "%s", rec_str(rec, "names", job->domain));
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t && n < max;
	     t = strtok_r(NULL, ",", &save))
		snprintf(names[n++], DNAME_MAX + 2, "%s", t);
	if (!n)
		snprintf(names[n++], DNAME_MAX + 2, "%s", job->domain);
	return n;
}

bool rec_base_seen(char (*names)[DNAME_MAX + 2], int i)
{
	const char *base = dname_base(names[i]);

	for (int j = 0; j < i; j++)
		if (strcmp(base, dname_base(names[j])) == 0)
			return true;
	return false;
}

void rec_join(const char *const *v, size_t n, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!v[i])
			continue;
		int w = snprintf(out + o, len - o, "%s%s", o ? " " : "", v[i]);
		if (w < 0 || (size_t)w >= len - o) {
			out[o] = '\0';
			break;
		}
		o += (size_t)w;
	}
}
