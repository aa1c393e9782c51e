#include "queue.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"
#include "script_args.h"
#include "scripts.h"

static const char *const stage_names[STAGE_COUNT] = {
	[STAGE_VERIFY_CNAME] = "verify-cname",
	[STAGE_CREATE_ORDER] = "create-order",
	[STAGE_PROVISION_TXT] = "provision-txt",
	[STAGE_FINALIZE] = "finalize",
	[STAGE_OFFBOARD_CHECK] = "offboard-check",
};

const char *stage_name(enum stage s)
{
	return (unsigned)s < STAGE_COUNT ? stage_names[s] : "?";
}

int stage_parse(const char *name)
{
	for (int i = 0; i < STAGE_COUNT; i++)
		if (strcmp(name, stage_names[i]) == 0)
			return i;
	return -1;
}

const char *queue_strerror(enum queue_status s)
{
	switch (s) {
	case Q_OK: return "ok";
	case Q_E_IO: return "redis connection failed";
	case Q_E_REPLY: return "unexpected redis reply";
	case Q_E_NOMEM: return "out of memory";
	case Q_E_NOTFOUND: return "not found";
	}
	return "unknown queue error";
}

struct queue {
	redisContext *rc;
	char *prefix, *group, *consumer;
	struct queue_url u;            /* the password is wiped at close */
	int connect_timeout_ms, io_timeout_ms;
	long long events_maxlen, dead_maxlen;
	int max_deliveries;
	char sha[SCRIPT_COUNT][41];
	char stream[STAGE_COUNT][300];  /* "<p>:stream:<stage>" */
	char errstr[256];
	unsigned long reconnects;
};

uint64_t queue_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void set_errstr(struct queue *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_errstr(struct queue *q, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q->errstr, sizeof(q->errstr), fmt, ap);
	va_end(ap);
}

const char *queue_errstr(const struct queue *q)
{
	return q->errstr;
}

unsigned long queue_reconnects(const struct queue *q)
{
	return q->reconnects;
}

const char *queue_prefix(const struct queue *q)
{
	return q->prefix;
}

const char *queue_key(const struct queue *q, char *buf, size_t len,
                      const char *suffix)
{
	snprintf(buf, len, "%s:%s", q->prefix, suffix);
	return buf;
}

static struct timeval tv_ms(int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
	return tv;
}

/* Runs a command that must not fail; returns the reply or NULL with errstr. */
static redisReply *cmd(struct queue *q, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;

	va_start(ap, fmt);
	r = redisvCommand(q->rc, fmt, ap);
	va_end(ap);
	if (!r)
		set_errstr(q, "redis: %s", q->rc->errstr[0] ? q->rc->errstr : "connection lost");
	return r;
}

/* Connects, authenticates, selects the database and loads the scripts. */
static enum queue_status connect_(struct queue *q)
{
	redisReply *r = NULL;

	if (q->rc)
		redisFree(q->rc);
	q->rc = redisConnectWithTimeout(q->u.host, q->u.port, tv_ms(q->connect_timeout_ms));
	if (!q->rc || q->rc->err) {
		set_errstr(q, "cannot connect to redis at %s: %s", q->u.where,
		           q->rc ? q->rc->errstr : "out of memory");
		return Q_E_IO;
	}
	redisSetTimeout(q->rc, tv_ms(q->io_timeout_ms));
	redisEnableKeepAlive(q->rc);
	if (q->u.pass[0]) {
		r = q->u.user[0] ? cmd(q, "AUTH %s %s", q->u.user, q->u.pass)
		               : cmd(q, "AUTH %s", q->u.pass);
		if (!r)
			return Q_E_IO;
		if (r->type == REDIS_REPLY_ERROR) {
			set_errstr(q, "redis AUTH failed: %s", r->str);
			freeReplyObject(r);
			return Q_E_REPLY;
		}
		freeReplyObject(r);
	}
	if (q->u.db) {
		if (!(r = cmd(q, "SELECT %d", q->u.db)))
			return Q_E_IO;
		if (r->type == REDIS_REPLY_ERROR) {
			set_errstr(q, "redis SELECT %d failed: %s", q->u.db, r->str);
			freeReplyObject(r);
			return Q_E_REPLY;
		}
		freeReplyObject(r);
	}
	for (int i = 0; i < SCRIPT_COUNT; i++) {
		if (!(r = cmd(q, "SCRIPT LOAD %s", script_source((enum script_id)i))))
			return Q_E_IO;
		if (r->type != REDIS_REPLY_STRING || r->len != 40) {
			set_errstr(q, "SCRIPT LOAD failed: %s",
			           r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
			freeReplyObject(r);
			return Q_E_REPLY;
		}
		memcpy(q->sha[i], r->str, 40);
		q->sha[i][40] = '\0';
		freeReplyObject(r);
	}
	return Q_OK;
}

struct queue *queue_open(const struct queue_opts *o, char *err, size_t errlen)
{
	struct queue *q = calloc(1, sizeof(*q));

	if (!q) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->prefix = strdup(o->prefix);
	q->group = strdup(o->group);
	q->consumer = strdup(o->consumer ? o->consumer : "dcvctl");
	if (!q->prefix || !q->group || !q->consumer) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	q->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 2000;
	q->io_timeout_ms = o->io_timeout_ms > 0 ? o->io_timeout_ms : 10000;
	q->events_maxlen = o->events_maxlen > 0 ? o->events_maxlen : 100000;
	q->dead_maxlen = o->dead_maxlen > 0 ? o->dead_maxlen : 1000000;
	q->max_deliveries = o->max_deliveries > 0 ? o->max_deliveries : 5;
	for (int s = 0; s < STAGE_COUNT; s++)
		snprintf(q->stream[s], sizeof(q->stream[s]), "%s:stream:%s",
		         q->prefix, stage_names[s]);
	if (queue_url_parse(o->url, &q->u, err, errlen) < 0)
		goto fail;
	if (connect_(q) != Q_OK) {
		snprintf(err, errlen, "%s", q->errstr);
		goto fail;
	}
	return q;
fail:
	queue_close(q);
	return NULL;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	if (q->rc)
		redisFree(q->rc);
	explicit_bzero(&q->u, sizeof(q->u));
	free(q->prefix);
	free(q->group);
	free(q->consumer);
	free(q);
}

enum queue_status queue_reconnect(struct queue *q, const atomic_int *stop)
{
	int delay = 100;

	while (!*stop) {
		if (connect_(q) == Q_OK) {
			q->reconnects++;
			log_msg(LOG_INFO, "reconnected to redis at %s", q->u.where);
			return Q_OK;
		}
		log_msg(LOG_WARN, "%s; retrying in about %d ms", q->errstr, delay);
		unsigned r = 0;
		if (getrandom(&r, sizeof(r), 0) < 0)
			r = 0;
		int sleep_ms = delay / 2 + (int)(r % (unsigned)(delay / 2 + 1));
		for (int slept = 0; slept < sleep_ms && !*stop; slept += 50) {
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
		}
		if (delay < 5000)
			delay *= 2;
	}
	return Q_E_IO;
}

enum queue_status queue_ensure_groups(struct queue *q)
{
	for (int s = 0; s < STAGE_COUNT; s++) {
		redisReply *r = cmd(q, "XGROUP CREATE %s %s 0 MKSTREAM", q->stream[s], q->group);
		if (!r)
			return Q_E_IO;
		if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0) {
			set_errstr(q, "XGROUP CREATE %s: %s", q->stream[s], r->str);
			freeReplyObject(r);
			return Q_E_REPLY;
		}
		freeReplyObject(r);
	}
	return Q_OK;
}

enum queue_status queue_eviction_policy(struct queue *q, char *buf, size_t len)
{
	redisReply *r = cmd(q, "INFO memory");
	const char *p;

	if (!r)
		return Q_E_IO;
	if (r->type != REDIS_REPLY_STRING ||
	    !(p = strstr(r->str, "maxmemory_policy:"))) {
		set_errstr(q, "INFO memory has no maxmemory_policy");
		freeReplyObject(r);
		return Q_E_REPLY;
	}
	p += strlen("maxmemory_policy:");
	size_t n = strcspn(p, "\r\n");
	snprintf(buf, len, "%.*s", (int)n, p);
	freeReplyObject(r);
	return Q_OK;
}

void queue_batch_reset(struct queue_batch *b)
{
	for (size_t i = 0; i < b->nreplies; i++)
		freeReplyObject(b->replies[i]);
	b->nreplies = 0;
	b->n = 0;
}

void queue_batch_free(struct queue_batch *b)
{
	queue_batch_reset(b);
	free(b->e);
	b->e = NULL;
	b->cap = 0;
}

/* Appends the entries of one stream's reply ([id, [field, value...]]...). */
static enum queue_status add_entries(struct queue *q, struct queue_batch *b,
                                     enum stage st, const redisReply *entries)
{
	if (entries->type != REDIS_REPLY_ARRAY) {
		set_errstr(q, "stream reply is not an array");
		return Q_E_REPLY;
	}
	for (size_t i = 0; i < entries->elements; i++) {
		const redisReply *e = entries->element[i];
		struct queue_entry *qe;

		if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
		    e->element[0]->type != REDIS_REPLY_STRING) {
			set_errstr(q, "stream entry of unexpected shape");
			return Q_E_REPLY;
		}
		if (b->n == b->cap) {
			size_t cap = b->cap ? 2 * b->cap : 64;
			struct queue_entry *ne = realloc(b->e, cap * sizeof(*ne));
			if (!ne)
				return Q_E_NOMEM;
			b->e = ne;
			b->cap = cap;
		}
		qe = &b->e[b->n++];
		qe->stage = st;
		qe->id = e->element[0]->str;
		qe->job = NULL;
		qe->job_len = 0;
		qe->domain = "";
		const redisReply *f = e->element[1];
		if (f->type != REDIS_REPLY_ARRAY)
			continue; /* deleted while pending: no fields */
		for (size_t k = 0; k + 1 < f->elements; k += 2) {
			const redisReply *key = f->element[k], *val = f->element[k + 1];
			if (key->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
				continue;
			if (strcmp(key->str, "job") == 0) {
				qe->job = val->str;
				qe->job_len = val->len;
			} else if (strcmp(key->str, "domain") == 0) {
				qe->domain = val->str;
			}
		}
	}
	return Q_OK;
}

static enum queue_status keep_reply(struct queue *q, struct queue_batch *b,
                                    redisReply *r)
{
	if (b->nreplies == sizeof(b->replies) / sizeof(b->replies[0])) {
		set_errstr(q, "too many replies in one batch");
		freeReplyObject(r);
		return Q_E_REPLY;
	}
	b->replies[b->nreplies++] = r;
	return Q_OK;
}

/* The arguments of COMMIT (layout: common/lua/commit.lua): the header,
 * then one item per entry. */
static void commit_args(const struct queue *q, const struct queue_commit *c,
                        size_t n, struct script_args *a)
{
	static const char kinds[] = { 'f', 'l', 'd', 'x' };

	sa_arg(a, q->prefix);
	sa_arg(a, q->group);
	sa_argu(a, queue_now_ms());
	sa_argi(a, q->events_maxlen);
	sa_argi(a, q->dead_maxlen);
	sa_argu(a, n);
	for (size_t i = 0; i < n; i++) {
		const struct queue_commit *x = &c[i];
		int routed = x->kind == COMMIT_FORWARD || x->kind == COMMIT_LATER;
		sa_arg(a, stage_names[x->src]);
		sa_arg(a, x->entry_id);
		sa_argn(a, &kinds[x->kind], 1);
		sa_arg(a, routed ? stage_names[x->dst] : "");
		sa_argu(a, x->due_ms);
		sa_argn(a, x->job, x->job ? x->job_len : 0);
		sa_arg(a, x->domain);
		sa_arg(a, x->job_id);
		sa_arg(a, x->state);
		sa_argu(a, x->attempts);
		sa_arg(a, x->last_error);
		sa_arg(a, x->event);
		sa_arg(a, x->detail);
		sa_argu(a, x->gen);
		sa_arg(a, x->clear);
		sa_arg(a, x->event_fields ? x->event_fields : "");
	}
}

/* The EVALSHA of script ID with A as hiredis's argv form; Q_E_NOMEM or
 * Q_E_REPLY (with errstr) when A could not be built. */
static enum queue_status script_command(struct queue *q, enum script_id id,
                                        struct script_args *a, int *argc,
                                        const char ***argv, const size_t **lens)
{
	enum sa_status e = sa_command(a, "EVALSHA", q->sha[id], argc, argv, lens);
	if (e != SA_OK) {
		set_errstr(q, "%s script: %s", script_name(id), sa_strerror(e));
		return e == SA_E_NOMEM ? Q_E_NOMEM : Q_E_REPLY;
	}
	return Q_OK;
}

/* Runs script ID with A and frees A.  Q_OK with the reply in *R (an error
 * reply too, its message in errstr); else the failure, *R NULL. */
static enum queue_status run_script(struct queue *q, enum script_id id,
                                    struct script_args *a, redisReply **r)
{
	const char **argv;
	const size_t *lens;
	int argc;
	enum queue_status st = script_command(q, id, a, &argc, &argv, &lens);

	*r = NULL;
	if (st == Q_OK) {
		*r = redisCommandArgv(q->rc, argc, argv, lens);
		if (!*r) {
			set_errstr(q, "redis: %s", q->rc->errstr[0] ? q->rc->errstr
			                                            : "connection lost");
			st = Q_E_IO;
		} else if ((*r)->type == REDIS_REPLY_ERROR) {
			set_errstr(q, "%s script: %s", script_name(id), (*r)->str);
		}
	}
	sa_free(a);
	return st;
}

/* Appends the EVALSHA of a commit to the output buffer. */
static enum queue_status append_commit(struct queue *q, const struct queue_commit *c,
                                       size_t n)
{
	struct script_args a;
	const char **argv;
	const size_t *lens;
	int argc;

	sa_init(&a, 0);
	commit_args(q, c, n, &a);
	enum queue_status st = script_command(q, SCRIPT_COMMIT, &a, &argc, &argv, &lens);
	if (st == Q_OK)
		redisAppendCommandArgv(q->rc, argc, argv, lens);
	sa_free(&a);
	return st;
}

/* Reads one reply; Q_E_IO if the connection failed. */
static enum queue_status get_reply(struct queue *q, redisReply **r)
{
	void *v = NULL;
	if (redisGetReply(q->rc, &v) != REDIS_OK || !v) {
		set_errstr(q, "redis: %s", q->rc->errstr[0] ? q->rc->errstr : "connection lost");
		*r = NULL;
		return Q_E_IO;
	}
	*r = v;
	return Q_OK;
}

/* After a script's NOSCRIPT (the server lost its script cache, e.g. a
 * restart without persistence of scripts), load them again. */
static int is_noscript(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* Parses an XREADGROUP-shaped reply ([[stream, entries]...] or nil). */
static enum queue_status add_streams(struct queue *q, struct queue_batch *b,
                                     const redisReply *r)
{
	if (r->type == REDIS_REPLY_NIL)
		return Q_OK;
	if (r->type != REDIS_REPLY_ARRAY) {
		set_errstr(q, "XREADGROUP: %s", r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		return Q_E_REPLY;
	}
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *s = r->element[i];
		int st;
		if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
		    s->element[0]->type != REDIS_REPLY_STRING) {
			set_errstr(q, "XREADGROUP stream of unexpected shape");
			return Q_E_REPLY;
		}
		const char *name = s->element[0]->str;
		size_t pl = strlen(q->prefix);
		if (strncmp(name, q->prefix, pl) != 0 || strncmp(name + pl, ":stream:", 8) != 0 ||
		    (st = stage_parse(name + pl + 8)) < 0) {
			set_errstr(q, "XREADGROUP returned unknown stream %s", name);
			return Q_E_REPLY;
		}
		enum queue_status e = add_entries(q, b, (enum stage)st, s->element[1]);
		if (e != Q_OK)
			return e;
	}
	return Q_OK;
}

enum queue_status queue_exchange(struct queue *q, const struct queue_commit *c,
                                 size_t n, size_t *applied, unsigned mask,
                                 size_t count, int block_ms, int history,
                                 struct queue_batch *b)
{
	enum queue_status st = Q_OK;
	redisReply *r = NULL;
	int retried = 0;

	if (b)
		queue_batch_reset(b);
	*applied = 0;
again:
	if (n > 0 && (st = append_commit(q, c, n)) != Q_OK)
		return st;
	if (count > 0) {
		const char *argv[10 + 2 * STAGE_COUNT];
		char cnt[24], blk[24];
		int a = 0, ns = 0;
		argv[a++] = "XREADGROUP";
		argv[a++] = "GROUP";
		argv[a++] = q->group;
		argv[a++] = q->consumer;
		argv[a++] = "COUNT";
		snprintf(cnt, sizeof(cnt), "%zu", count);
		argv[a++] = cnt;
		if (!history && block_ms > 0) {
			argv[a++] = "BLOCK";
			snprintf(blk, sizeof(blk), "%d", block_ms);
			argv[a++] = blk;
		}
		argv[a++] = "STREAMS";
		for (int s = 0; s < STAGE_COUNT; s++)
			if (mask & (1u << s)) {
				argv[a++] = q->stream[s];
				ns++;
			}
		for (int i = 0; i < ns; i++)
			argv[a++] = history ? "0" : ">";
		redisAppendCommandArgv(q->rc, a, argv, NULL);
	}
	if (n > 0) {
		if ((st = get_reply(q, &r)) != Q_OK)
			return st;
		if (is_noscript(r) && !retried) {
			freeReplyObject(r);
			if (count > 0 && get_reply(q, &r) == Q_OK)
				freeReplyObject(r); /* drop the read: its entries stay ours */
			if ((st = connect_(q)) != Q_OK)
				return st;
			retried = 1;
			goto again;
		}
		if (r->type != REDIS_REPLY_INTEGER) {
			set_errstr(q, "commit script: %s",
			           r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
			st = Q_E_REPLY;
		} else {
			*applied = (size_t)r->integer;
		}
		freeReplyObject(r);
	}
	if (count > 0) {
		if (get_reply(q, &r) != Q_OK)
			return Q_E_IO;
		if (st == Q_OK && (st = keep_reply(q, b, r)) == Q_OK)
			st = add_streams(q, b, r);
		else if (st != Q_OK)
			freeReplyObject(r);
	}
	return st;
}

enum queue_status queue_reclaim(struct queue *q, enum stage stage,
                                long long min_idle_ms, size_t count,
                                struct queue_batch *b)
{
	struct script_args a;
	redisReply *r;
	enum queue_status st;

	queue_batch_reset(b);
	/* layout: common/lua/reclaim.lua */
	sa_init(&a, 0);
	sa_key(&a, q->stream[stage]);
	sa_arg(&a, q->prefix);
	sa_arg(&a, q->group);
	sa_arg(&a, q->consumer);
	sa_argi(&a, min_idle_ms);
	sa_argu(&a, count);
	sa_argi(&a, q->max_deliveries);
	sa_arg(&a, stage_names[stage]);
	sa_argu(&a, queue_now_ms());
	sa_argi(&a, q->dead_maxlen);
	sa_argi(&a, q->events_maxlen);
	if ((st = run_script(q, SCRIPT_RECLAIM, &a, &r)) != Q_OK)
		return st;
	if (r->type == REDIS_REPLY_ERROR) {
		freeReplyObject(r);
		return Q_E_REPLY;
	}
	if ((st = keep_reply(q, b, r)) != Q_OK)
		return st;
	return add_entries(q, b, stage, r);
}

enum queue_status queue_promote(struct queue *q, uint64_t now_ms, size_t max,
                                long long *moved)
{
	struct script_args a;
	redisReply *r;
	enum queue_status st;

	/* layout: common/lua/promote.lua */
	sa_init(&a, 0);
	sa_arg(&a, q->prefix);
	sa_argu(&a, now_ms);
	sa_argu(&a, max);
	if ((st = run_script(q, SCRIPT_PROMOTE, &a, &r)) != Q_OK)
		return st;
	if (r->type != REDIS_REPLY_INTEGER) {
		if (r->type != REDIS_REPLY_ERROR)
			set_errstr(q, "promote script: unexpected reply");
		freeReplyObject(r);
		return Q_E_REPLY;
	}
	*moved = r->integer;
	freeReplyObject(r);
	return Q_OK;
}

enum queue_status queue_trim(struct queue *q, enum stage stage,
                             long long consumer_idle_ms, long long *trimmed)
{
	struct script_args a;
	redisReply *r;
	enum queue_status st;

	/* layout: common/lua/trim.lua */
	sa_init(&a, 0);
	sa_key(&a, q->stream[stage]);
	sa_arg(&a, q->group);
	sa_argi(&a, consumer_idle_ms);
	if ((st = run_script(q, SCRIPT_TRIM, &a, &r)) != Q_OK)
		return st;
	if (r->type != REDIS_REPLY_INTEGER) {
		if (r->type != REDIS_REPLY_ERROR)
			set_errstr(q, "trim script: unexpected reply");
		freeReplyObject(r);
		return Q_E_REPLY;
	}
	*trimmed = r->integer;
	freeReplyObject(r);
	return Q_OK;
}

enum queue_status queue_enqueue(struct queue *q, enum stage stage,
                                const char *job, size_t len,
                                const char *domain, const char *job_id,
                                uint64_t due_ms)
{
	redisReply *r;
	char key[300], member[400];

	if (due_ms > 0) {
		snprintf(member, sizeof(member), "%s %s %s", stage_names[stage], domain, job_id);
		char zkey[300];
		/* MULTI so that the payload and its schedule appear together */
		redisAppendCommand(q->rc, "MULTI");
		redisAppendCommand(q->rc, "HSET %s %s %b",
		                   queue_key(q, key, sizeof(key), "delayed:jobs"),
		                   member, job, len);
		redisAppendCommand(q->rc, "ZADD %s %llu %s",
		                   queue_key(q, zkey, sizeof(zkey), "delayed"),
		                   (unsigned long long)due_ms, member);
		redisAppendCommand(q->rc, "EXEC");
		r = NULL;
		for (int i = 0; i < 4; i++) {
			if (r)
				freeReplyObject(r);
			if (get_reply(q, &r) != Q_OK)
				return Q_E_IO;
		}
	} else {
		r = cmd(q, "XADD %s * domain %s job %b", q->stream[stage], domain, job, len);
	}
	if (!r)
		return Q_E_IO;
	enum queue_status st = r->type == REDIS_REPLY_ERROR ? Q_E_REPLY : Q_OK;
	if (st != Q_OK)
		set_errstr(q, "enqueue: %s", r->str);
	freeReplyObject(r);
	return st;
}

/* The arguments of ONBOARD (layout: common/lua/onboard.lua). */
static void onboard_args(const struct queue *q, const struct queue_onboard *d,
                         size_t n, struct script_args *a)
{
	sa_arg(a, q->prefix);
	sa_argu(a, queue_now_ms());
	sa_argu(a, n);
	for (size_t i = 0; i < n; i++) {
		sa_arg(a, d[i].domain);
		sa_arg(a, d[i].tenant);
		sa_arg(a, d[i].target);
		sa_arg(a, d[i].names ? d[i].names : d[i].domain);
		sa_argn(a, d[i].job, d[i].job_len);
		sa_arg(a, d[i].job_id);
	}
}

enum queue_status queue_onboard(struct queue *q, struct queue_onboard *d, size_t n)
{
	struct script_args a;
	enum queue_status st;
	redisReply *r;

	sa_init(&a, 0);
	onboard_args(q, d, n, &a);
	if ((st = run_script(q, SCRIPT_ONBOARD, &a, &r)) != Q_OK)
		return st;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
		if (r->type != REDIS_REPLY_ERROR)
			set_errstr(q, "onboard script: unexpected reply");
		st = Q_E_REPLY;
	} else {
		for (size_t i = 0; i < n; i++) {
			const redisReply *e = r->element[i];
			const char *s = e->type == REDIS_REPLY_STRING ? e->str : "";
			d[i].why[0] = '\0';
			if (strcmp(s, "queued") == 0) {
				d[i].result = ONBOARD_QUEUED;
			} else if (strcmp(s, "nudged") == 0) {
				d[i].result = ONBOARD_NUDGED;
			} else {
				d[i].result = ONBOARD_REFUSED;
				snprintf(d[i].why, sizeof(d[i].why), "%s",
				         s[0] ? s : "refused: unexpected reply");
			}
		}
	}
	freeReplyObject(r);
	return st;
}

struct queue_reply *queue_eval(struct queue *q, enum script_id id,
                               struct script_args *a)
{
	if ((unsigned)id >= SCRIPT_COUNT) {
		set_errstr(q, "script %d unknown", (int)id);
		sa_free(a);
		return NULL;
	}
	redisReply *r;
	run_script(q, id, a, &r);
	return (struct queue_reply *)r;
}

struct queue_reply *queue_command(struct queue *q, int argc, const char **argv,
                                  const size_t *argvlen)
{
	redisReply *r = redisCommandArgv(q->rc, argc, argv, argvlen);
	if (!r)
		set_errstr(q, "redis: %s", q->rc->errstr[0] ? q->rc->errstr : "connection lost");
	return (struct queue_reply *)r;
}

void *queue_redis(struct queue *q)
{
	return q->rc;
}
