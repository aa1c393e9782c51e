/* The domain record, read and written; see domain_rec.h. */
#include "domain_rec.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	redisReply *rep = queue_command(env->q, 2, argv, NULL);

	r->reply = NULL;
	r->exists = false;
	if (!rep || rep->type != REDIS_REPLY_ARRAY) {
		queue_reply_free(rep);
		return -1;
	}
	r->reply = rep;
	r->exists = rep->elements > 0;
	return 0;
}

void domain_rec_free(struct domain_rec *r)
{
	queue_reply_free(r->reply);
	r->reply = NULL;
}

const char *rec_str(const struct domain_rec *r, const char *field, const char *def)
{
	const redisReply *rep = r->reply;
	for (size_t i = 0; rep && i + 1 < rep->elements; i += 2)
		if (strcmp(rep->element[i]->str, field) == 0)
			return rep->element[i + 1]->str;
	return def;
}

long long rec_int(const struct domain_rec *r, const char *field, long long def)
{
	const char *v = rec_str(r, field, NULL);
	return v && *v ? strtoll(v, NULL, 10) : def;
}

/* Runs DOMAIN_SET for JOB: NS strings of SET (field, value, ...), ND
 * fields of DEL, HINCRBY of INCR ('' none), under GUARD (field, expected
 * value; NULL none), adding EVENT (NULL none) with DETAIL.  Returns the
 * script's answer, -1 when the job was overtaken or Redis failed. */
static long long domain_write(struct stage_env *env, const struct job *job,
                              const char *incr, const char *const guard[2],
                              const char *event, const char *detail,
                              const char **set, int ns, const char **del, int nd)
{
	const char *argv[80];
	int argc = 0;
	char gen[24], n[16], evmax[24], now[24];

	snprintf(gen, sizeof(gen), "%llu", (unsigned long long)job->gen);
	snprintf(n, sizeof(n), "%d", ns / 2);
	snprintf(evmax, sizeof(evmax), "%lld", env->cfg->q.events_maxlen);
	snprintf(now, sizeof(now), "%llu", (unsigned long long)env->now_ms);
	argv[argc++] = queue_prefix(env->q);
	argv[argc++] = job->domain;
	argv[argc++] = gen;
	argv[argc++] = job->id;
	argv[argc++] = incr;
	argv[argc++] = guard && guard[0] ? guard[0] : "";
	argv[argc++] = guard && guard[1] ? guard[1] : "";
	argv[argc++] = event ? event : "";
	argv[argc++] = detail ? detail : "";
	argv[argc++] = evmax;
	argv[argc++] = now;
	argv[argc++] = n;
	for (int i = 0; i < ns; i++)
		argv[argc++] = set[i];
	for (int i = 0; i < nd; i++)
		argv[argc++] = del[i];
	redisReply *r = queue_script(env->q, SCRIPT_DOMAIN_SET, 0, argc, argv, NULL);
	long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	queue_reply_free(r);
	return v;
}

long long domain_incr(struct stage_env *env, const struct job *job, const char *field)
{
	return domain_write(env, job, field, NULL, NULL, NULL, NULL, 0, NULL, 0);
}

/* Collects the NULL-terminated field/value pairs of AP (a NULL value
 * deletes) into SET and DEL. */
#define SET_MAX 40
#define DEL_MAX 16
static void pairs(va_list ap, const char **set, int *ns, const char **del, int *nd)
{
	*ns = *nd = 0;
	for (const char *f; (f = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		if (v && *ns < SET_MAX) {
			set[(*ns)++] = f;
			set[(*ns)++] = v;
		} else if (!v && *nd < DEL_MAX) {
			del[(*nd)++] = f;
		}
	}
}

int domain_set(struct stage_env *env, const struct job *job, ...)
{
	const char *set[SET_MAX], *del[DEL_MAX];
	int ns, nd;
	va_list ap;

	va_start(ap, job);
	pairs(ap, set, &ns, del, &nd);
	va_end(ap);
	return domain_write(env, job, "", NULL, NULL, NULL, set, ns, del, nd) < 0 ? -1 : 0;
}

int domain_note(struct stage_env *env, const struct job *job, const char *guard,
                const char *expect, const char *event, const char *detail, ...)
{
	const char *set[SET_MAX], *del[DEL_MAX], *g[2] = { guard, expect };
	int ns, nd;
	va_list ap;

	va_start(ap, detail);
	pairs(ap, set, &ns, del, &nd);
	va_end(ap);
	long long v = domain_write(env, job, "", g, event, detail, set, ns, del, nd);
	return v == -2 ? -2 : v < 0 ? -1 : 0;
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
