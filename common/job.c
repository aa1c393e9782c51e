#include "job.h"

#include <fcntl.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define PRESCAN_DEPTH 16

/*
 * Walks one msgpack object at *P (END bounds it) without building anything,
 * checking that every declared length fits in the bytes that remain.
 * msgpack-c allocates a container's array up front from its declared count,
 * so a five-byte "map of 2^32 entries" must be refused before it is unpacked.
 * Returns 0 with *P past the object, or -1.
 */
static int prescan(const unsigned char **p, const unsigned char *end, int depth)
{
	/* What a length field counts: payload bytes, ext (type byte + data),
	 * array items, or map pairs. */
	enum { L_BYTES, L_EXT, L_ITEMS, L_PAIRS } what = L_BYTES;
	const unsigned char *q = *p;
	uint64_t n = 0, items = 0;
	int lenbytes = 0;

	if (q >= end || depth > PRESCAN_DEPTH)
		return -1;
	unsigned char b = *q++;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
		/* fixint, nil, bool: no payload */
	} else if ((b & 0xe0) == 0xa0) {
		n = b & 0x1f;                         /* fixstr */
	} else if ((b & 0xf0) == 0x90) {
		items = b & 0x0f;                     /* fixarray */
	} else if ((b & 0xf0) == 0x80) {
		items = 2u * (b & 0x0f);              /* fixmap */
	} else {
		switch (b) {
		case 0xcc: case 0xd0: n = 1; break;
		case 0xcd: case 0xd1: n = 2; break;
		case 0xca: case 0xce: case 0xd2: n = 4; break;
		case 0xcb: case 0xcf: case 0xd3: n = 8; break;
		case 0xd4: n = 2; break;                     /* fixext 1..16 */
		case 0xd5: n = 3; break;
		case 0xd6: n = 5; break;
		case 0xd7: n = 9; break;
		case 0xd8: n = 17; break;
		case 0xc4: case 0xd9: lenbytes = 1; break;   /* bin8, str8 */
		case 0xc5: case 0xda: lenbytes = 2; break;
		case 0xc6: case 0xdb: lenbytes = 4; break;
		case 0xc7: lenbytes = 1; what = L_EXT; break;
		case 0xc8: lenbytes = 2; what = L_EXT; break;
		case 0xc9: lenbytes = 4; what = L_EXT; break;
		case 0xdc: lenbytes = 2; what = L_ITEMS; break;
		case 0xdd: lenbytes = 4; what = L_ITEMS; break;
		case 0xde: lenbytes = 2; what = L_PAIRS; break;
		case 0xdf: lenbytes = 4; what = L_PAIRS; break;
		default: return -1;                          /* 0xc1: never used */
		}
	}
	if (lenbytes) {
		uint64_t len = 0;
		if (end - q < lenbytes)
			return -1;
		for (int i = 0; i < lenbytes; i++)
			len = len << 8 | *q++;
		switch (what) {
		case L_BYTES: n = len; break;
		case L_EXT: n = len + 1; break;
		case L_ITEMS: items = len; break;
		case L_PAIRS: items = 2 * len; break;
		}
	}
	/* every item takes at least one byte */
	if (n > (uint64_t)(end - q) || items > (uint64_t)(end - q))
		return -1;
	q += n;
	for (uint64_t i = 0; i < items; i++)
		if (prescan(&q, end, depth + 1) < 0)
			return -1;
	*p = q;
	return 0;
}

bool job_msgpack_sane(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	return len > 0 && prescan(&p, p + len, 0) == 0 &&
	       p == (const unsigned char *)buf + len;
}

static const char *const job_errors[] = {
	[JOB_OK] = "ok",
	[JOB_E_TOOBIG] = "job larger than the size cap",
	[JOB_E_MSGPACK] = "not a msgpack object",
	[JOB_E_NOTMAP] = "job is not a msgpack map",
	[JOB_E_VERSION] = "unsupported schema version",
	[JOB_E_NODOMAIN] = "job has no domain",
	[JOB_E_DOMAIN] = "malformed domain",
	[JOB_E_FIELD] = "malformed field",
	[JOB_E_NOMEM] = "out of memory",
};

const char *job_strerror(enum job_status s)
{
	if ((size_t)s >= sizeof(job_errors) / sizeof(job_errors[0]))
		return "unknown job error";
	return job_errors[s];
}

static int key_is(const msgpack_object *k, const char *name)
{
	size_t n = strlen(name);
	return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
	       memcmp(k->via.str.ptr, name, n) == 0;
}

/* Copies a str object into OUT (CAP bytes with NUL); -1 if not a str, too
 * long, or holding a NUL byte. */
static int copy_str(const msgpack_object *o, char *out, size_t cap)
{
	if (o->type != MSGPACK_OBJECT_STR || o->via.str.size + 1 > cap)
		return -1;
	/* msgpack-c gives an empty str a NULL ptr, which the mem*() may not
	 * be handed even for 0 octets */
	if (o->via.str.size) {
		if (memchr(o->via.str.ptr, '\0', o->via.str.size))
			return -1;
		memcpy(out, o->via.str.ptr, o->via.str.size);
	}
	out[o->via.str.size] = '\0';
	return 0;
}

static int get_uint(const msgpack_object *o, uint64_t max, uint64_t *out)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
		return -1;
	*out = o->via.u64;
	return 0;
}

static int valid_id(const char *id)
{
	if (!*id)
		return 0;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return 0;
	return 1;
}

/* Whether the str keys of map M repeat one another; *WHICH gets the
 * index of the second occurrence.  A decoder that lets a repeated key
 * overwrite (or, for ctx, append to) what an earlier one stored is how a
 * per-piece bound becomes an unchecked total: refuse them all. */
static int has_duplicate_key(const msgpack_object_map *m, uint32_t *which)
{
	for (uint32_t i = 1; i < m->size; i++) {
		const msgpack_object *k = &m->ptr[i].key;
		if (k->type != MSGPACK_OBJECT_STR)
			continue;
		for (uint32_t j = 0; j < i; j++) {
			const msgpack_object *o = &m->ptr[j].key;
			if (o->type == MSGPACK_OBJECT_STR && o->via.str.size == k->via.str.size &&
			    (k->via.str.size == 0 || /* ptr is NULL then */
			     memcmp(o->via.str.ptr, k->via.str.ptr, k->via.str.size) == 0)) {
				*which = i;
				return 1;
			}
		}
	}
	return 0;
}

static enum job_status decode_ctx(const msgpack_object *m, struct job *j,
                                  char *why, size_t whylen)
{
	uint32_t dup;

	if (m->type != MSGPACK_OBJECT_MAP) {
		snprintf(why, whylen, "ctx is not a map");
		return JOB_E_FIELD;
	}
	/* The bound is on what ctx will hold in all, not on this map alone. */
	if (m->via.map.size > JOB_CTX_MAX - j->nctx) {
		snprintf(why, whylen, "ctx has more than %d entries", JOB_CTX_MAX);
		return JOB_E_FIELD;
	}
	if (has_duplicate_key(&m->via.map, &dup)) {
		snprintf(why, whylen, "ctx key %u repeats an earlier key", dup);
		return JOB_E_FIELD;
	}
	for (uint32_t i = 0; i < m->via.map.size; i++) {
		const msgpack_object *k = &m->via.map.ptr[i].key;
		const msgpack_object *v = &m->via.map.ptr[i].val;
		struct job_kv *kv = &j->ctx[j->nctx];

		memset(kv, 0, sizeof(*kv));
		if (copy_str(k, kv->key, sizeof(kv->key)) < 0) {
			snprintf(why, whylen, "ctx key %u is not a string of at most %d octets",
			         i, JOB_CTX_KEY_MAX);
			return JOB_E_FIELD;
		}
		if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX) {
			kv->is_int = 1;
			kv->i = (int64_t)v->via.u64;
		} else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
			kv->is_int = 1;
			kv->i = v->via.i64;
		} else if (v->type == MSGPACK_OBJECT_STR && v->via.str.size <= JOB_CTX_VAL_MAX) {
			kv->s = malloc(v->via.str.size + 1);
			if (!kv->s)
				return JOB_E_NOMEM;
			if (copy_str(v, kv->s, v->via.str.size + 1) < 0) {
				free(kv->s);
				kv->s = NULL;
				snprintf(why, whylen, "ctx.%s holds a NUL byte", kv->key);
				return JOB_E_FIELD;
			}
		} else {
			snprintf(why, whylen, "ctx.%s is not a string (<= %d octets) or an integer",
			         kv->key, JOB_CTX_VAL_MAX);
			return JOB_E_FIELD;
		}
		j->nctx++;
	}
	return JOB_OK;
}

const char *job_tenant_check(const char *t)
{
	size_t n = strlen(t);

	if (n == 0)
		return "tenant is empty";
	if (n > JOB_TENANT_MAX)
		return "tenant is longer than 63 characters";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)t[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return "tenant may hold only A-Z a-z 0-9 - _ (no dots, spaces or "
			       "control characters)";
	}
	if (t[0] == '-' || t[n - 1] == '-')
		return "tenant starts or ends with a hyphen";
	return NULL;
}

/* The field K of the job map, for the keys other than v, domain and ctx,
 * into J: NULL, or what is wrong with its value.  A key the schema does not
 * name is ignored (a newer writer may add one). */
static const char *decode_field(const msgpack_object *k, const msgpack_object *v,
                                struct job *j)
{
	uint64_t x = 0;

	if (key_is(k, "id")) {
		if (copy_str(v, j->id, sizeof(j->id)) < 0 || !valid_id(j->id))
			return "id must be 1-64 characters of A-Z a-z 0-9 - _";
	} else if (key_is(k, "tenant")) {
		if (copy_str(v, j->tenant, sizeof(j->tenant)) < 0)
			return "tenant must be a string of at most 63 characters";
		return job_tenant_check(j->tenant);
	} else if (key_is(k, "attempt")) {
		if (get_uint(v, UINT32_MAX, &x) < 0)
			return "attempt must be a non-negative integer";
		j->attempt = (uint32_t)x;
	} else if (key_is(k, "created_at")) {
		if (get_uint(v, UINT64_MAX, &j->created_at) < 0)
			return "created_at must be unix milliseconds";
	} else if (key_is(k, "since")) {
		if (get_uint(v, UINT64_MAX, &j->since) < 0)
			return "since must be unix milliseconds";
	} else if (key_is(k, "gen")) {
		if (get_uint(v, UINT64_MAX, &j->gen) < 0)
			return "gen must be a non-negative integer";
	}
	return NULL;
}

/* The domain object DOM (a str) normalised into j->domain. */
static enum job_status decode_domain(const msgpack_object *dom, struct job *j,
                                     char *why, size_t whylen)
{
	char raw[DNAME_MAX + 16];

	if (dom->type != MSGPACK_OBJECT_STR) {
		snprintf(why, whylen, "domain is not a string");
		return JOB_E_DOMAIN;
	}
	if (copy_str(dom, raw, sizeof(raw)) < 0) {
		snprintf(why, whylen, "domain: name longer than 253 octets");
		return JOB_E_DOMAIN;
	}
	const char *bad = dname_normalize(raw, j->domain, sizeof(j->domain));
	if (bad) {
		snprintf(why, whylen, "domain: %s", bad);
		return JOB_E_DOMAIN;
	}
	return JOB_OK;
}

/* The job map M into J, key by key in the order written, stopping at the
 * first bad one; then the two keys every job must have, v and domain. */
static enum job_status decode_map(const msgpack_object_map *m, struct job *j,
                                  char *why, size_t whylen)
{
	enum job_status st = JOB_OK;
	const msgpack_object *dom = NULL;
	int have_v = 0;
	uint32_t dup;
	uint64_t x = 0;

	if (has_duplicate_key(m, &dup)) {
		snprintf(why, whylen, "key %u of the job map repeats an earlier key", dup);
		return JOB_E_FIELD;
	}
	for (uint32_t i = 0; i < m->size && st == JOB_OK; i++) {
		const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
		const char *bad;

		if (key_is(k, "v")) {
			if (get_uint(v, UINT32_MAX, &x) < 0 || x != JOB_VERSION) {
				snprintf(why, whylen, "unsupported schema version (v must be %d)",
				         JOB_VERSION);
				st = JOB_E_VERSION;
			}
			have_v = 1;
		} else if (key_is(k, "domain")) {
			dom = v;
		} else if (key_is(k, "ctx")) {
			st = decode_ctx(v, j, why, whylen);
		} else if ((bad = decode_field(k, v, j)) != NULL) {
			snprintf(why, whylen, "%s", bad);
			st = JOB_E_FIELD;
		}
	}
	if (st != JOB_OK)
		return st;
	if (!have_v) {
		snprintf(why, whylen, "job has no schema version v");
		return JOB_E_VERSION;
	}
	if (!dom) {
		snprintf(why, whylen, "job has no domain");
		return JOB_E_NODOMAIN;
	}
	return decode_domain(dom, j, why, whylen);
}

/* Unpacks BUF (LEN bytes, at most MAXLEN) into U after checking, before
 * msgpack-c allocates anything, that it is one sane msgpack object. */
static enum job_status unpack_job(const void *buf, size_t len, size_t maxlen,
                                  msgpack_unpacked *u, char *why, size_t whylen)
{
	const unsigned char *p = buf;

	if (len > maxlen) {
		snprintf(why, whylen, "job is %zu bytes, over the %zu-byte cap", len, maxlen);
		return JOB_E_TOOBIG;
	}
	if (len == 0 || prescan(&p, p + len, 0) < 0) {
		snprintf(why, whylen, "not a valid msgpack object");
		return JOB_E_MSGPACK;
	}
	if (p != (const unsigned char *)buf + len) {
		snprintf(why, whylen, "trailing bytes after the msgpack object");
		return JOB_E_MSGPACK;
	}
	if (msgpack_unpack_next(u, buf, len, NULL) != MSGPACK_UNPACK_SUCCESS) {
		snprintf(why, whylen, "not a valid msgpack object");
		return JOB_E_MSGPACK;
	}
	if (u->data.type != MSGPACK_OBJECT_MAP) {
		snprintf(why, whylen, "job is not a msgpack map");
		return JOB_E_NOTMAP;
	}
	return JOB_OK;
}

enum job_status job_decode(const void *buf, size_t len, size_t maxlen,
                           struct job *j, char *why, size_t whylen)
{
	msgpack_unpacked u;
	enum job_status st;

	memset(j, 0, sizeof(*j));
	why[0] = '\0';
	msgpack_unpacked_init(&u);
	st = unpack_job(buf, len, maxlen, &u, why, whylen);
	if (st == JOB_OK)
		st = decode_map(&u.data.via.map, j, why, whylen);
	if (st == JOB_OK)
		j->v = JOB_VERSION;
	msgpack_unpacked_destroy(&u);
	if (st != JOB_OK)
		job_clear(j);
	return st;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

enum job_status job_encode(const struct job *j, char **out, size_t *outlen)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t fields = 6 + (j->tenant[0] != 0) + (j->gen != 0) + (j->nctx != 0);

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, fields);
	pack_str(&pk, "v");
	msgpack_pack_unsigned_int(&pk, JOB_VERSION);
	pack_str(&pk, "id");
	pack_str(&pk, j->id);
	pack_str(&pk, "domain");
	pack_str(&pk, j->domain);
	if (j->tenant[0]) {
		pack_str(&pk, "tenant");
		pack_str(&pk, j->tenant);
	}
	pack_str(&pk, "attempt");
	msgpack_pack_uint32(&pk, j->attempt);
	pack_str(&pk, "created_at");
	msgpack_pack_uint64(&pk, j->created_at);
	pack_str(&pk, "since");
	msgpack_pack_uint64(&pk, j->since);
	if (j->gen) {
		pack_str(&pk, "gen");
		msgpack_pack_uint64(&pk, j->gen);
	}
	if (j->nctx) {
		pack_str(&pk, "ctx");
		msgpack_pack_map(&pk, j->nctx);
		for (size_t i = 0; i < j->nctx; i++) {
			pack_str(&pk, j->ctx[i].key);
			if (j->ctx[i].is_int)
				msgpack_pack_int64(&pk, j->ctx[i].i);
			else
				pack_str(&pk, j->ctx[i].s);
		}
	}
	if (sb.data == NULL) {
		msgpack_sbuffer_destroy(&sb);
		return JOB_E_NOMEM;
	}
	*out = sb.data;    /* ownership passes to the caller */
	*outlen = sb.size;
	return JOB_OK;
}

void job_new_id(char *id)
{
	unsigned char r[16];
	size_t got = 0;
	while (got < sizeof(r)) {
		ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(id + 2 * i, 3, "%02x", r[i]);
}

void job_init(struct job *j, const char *domain, const char *tenant,
              uint64_t now_ms)
{
	memset(j, 0, sizeof(*j));
	j->v = JOB_VERSION;
	job_new_id(j->id);
	snprintf(j->domain, sizeof(j->domain), "%s", domain);
	if (tenant)
		snprintf(j->tenant, sizeof(j->tenant), "%s", tenant);
	j->created_at = now_ms;
	j->since = now_ms;
}

void job_clear(struct job *j)
{
	for (size_t i = 0; i < j->nctx && i < JOB_CTX_MAX; i++)
		free(j->ctx[i].s);
	memset(j, 0, sizeof(*j));
}

static struct job_kv *ctx_find(const struct job *j, const char *key)
{
	for (size_t i = 0; i < j->nctx; i++)
		if (strcmp(j->ctx[i].key, key) == 0)
			return (struct job_kv *)&j->ctx[i];
	return NULL;
}

const char *job_ctx_str(const struct job *j, const char *key)
{
	struct job_kv *kv = ctx_find(j, key);
	return kv && !kv->is_int ? kv->s : NULL;
}

int64_t job_ctx_int(const struct job *j, const char *key, int64_t def)
{
	struct job_kv *kv = ctx_find(j, key);
	return kv && kv->is_int ? kv->i : def;
}

/* The entry for KEY, created empty if absent; NULL when full or KEY too long. */
static struct job_kv *ctx_slot(struct job *j, const char *key)
{
	struct job_kv *kv = ctx_find(j, key);
	if (kv) {
		free(kv->s);
		kv->s = NULL;
		return kv;
	}
	if (j->nctx == JOB_CTX_MAX || strlen(key) > JOB_CTX_KEY_MAX)
		return NULL;
	kv = &j->ctx[j->nctx++];
	memset(kv, 0, sizeof(*kv));
	strcpy(kv->key, key);
	return kv;
}

int job_ctx_set_str(struct job *j, const char *key, const char *val)
{
	if (strlen(val) > JOB_CTX_VAL_MAX)
		return -1;
	char *copy = strdup(val);
	struct job_kv *kv = copy ? ctx_slot(j, key) : NULL;
	if (!kv) {
		free(copy);
		return -1;
	}
	kv->is_int = 0;
	kv->s = copy;
	return 0;
}

int job_ctx_set_int(struct job *j, const char *key, int64_t val)
{
	struct job_kv *kv = ctx_slot(j, key);
	if (!kv)
		return -1;
	kv->is_int = 1;
	kv->i = val;
	return 0;
}

/* Deletes entry IDX (below j->nctx); the later ones move up. */
static void ctx_del_at(struct job *j, size_t idx)
{
	free(j->ctx[idx].s);
	memmove(&j->ctx[idx], &j->ctx[idx + 1], (j->nctx - idx - 1) * sizeof(j->ctx[0]));
	j->nctx--;
}

void job_ctx_del(struct job *j, const char *key)
{
	struct job_kv *kv = ctx_find(j, key);
	if (kv)
		ctx_del_at(j, (size_t)(kv - j->ctx));
}

size_t job_ctx_keep_only(struct job *j, const char *keep, char *dropped, size_t len)
{
	size_t n = 0, o = 0, i = 0;
	bool full = len == 0;

	if (len)
		dropped[0] = '\0';
	while (i < j->nctx) {
		if (strcmp(j->ctx[i].key, keep) == 0) {
			i++;
			continue;
		}
		if (!full) {
			int w = snprintf(dropped + o, len - o, "%s%s", n ? "," : "", j->ctx[i].key);
			full = w < 0 || (size_t)w >= len - o;
			if (full)
				dropped[o] = '\0';   /* no key cut in half */
			else
				o += (size_t)w;
		}
		n++;
		ctx_del_at(j, i);
	}
	return n;
}
