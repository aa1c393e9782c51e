/*
 * fuzz_job: the job decoder (common/job.c), structure-aware.
 *
 * The input is what a backend XADDs: the msgpack bytes of a job.  Random
 * bytes seldom form a map whose keys are the job's own, let alone one with
 * "ctx" twice and 32 entries in each (the stack overflow of issue 10), so
 * the mutator below works on the decoded tree: it adds the real keys with
 * values of every type, repeats pairs, floods ctx maps, nests them, puts
 * integers at their edges and strings at their limits, and packs the tree
 * again.  One mutation in eight is libFuzzer's own on the bytes, for what
 * the tree cannot express (truncation, bad lengths, trailing bytes).
 *
 * What is checked on every input, beyond the sanitizers:
 *   - a refused job comes back cleared with a reason;
 *   - an accepted one keeps every limit (ctx entries, key and value sizes,
 *     distinct ctx keys, a normalised domain, a valid tenant and id);
 *   - it survives what the worker does with it: the id a worker gives a job
 *     without one, encode, decode, the same fields, and the same bytes when
 *     encoded again; the ctx accessors find every entry;
 *   - the same bytes under a cap one byte smaller are "too big".
 */
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "fuzz.h"
#include "job.h"

/* ---- the checks ---- */

static bool valid_id(const char *id)
{
	size_t n = strlen(id);
	return n >= 1 && n <= JOB_ID_MAX &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                  "0123456789-_") == n;
}

static void check_limits(const struct job *j)
{
	char norm[DNAME_MAX + 1];

	FUZZ_CHECK(j->v == JOB_VERSION);
	FUZZ_CHECK(j->nctx <= JOB_CTX_MAX);
	FUZZ_CHECK(dname_normalize(j->domain, norm, sizeof(norm)) == NULL);
	FUZZ_CHECK(strcmp(norm, j->domain) == 0);
	FUZZ_CHECK(j->id[0] == '\0' || valid_id(j->id));
	FUZZ_CHECK(j->tenant[0] == '\0' || job_tenant_check(j->tenant) == NULL);
	for (size_t i = 0; i < j->nctx; i++) {
		const struct job_kv *kv = &j->ctx[i];
		FUZZ_CHECK(strlen(kv->key) <= JOB_CTX_KEY_MAX);
		FUZZ_CHECK(kv->is_int || (kv->s && strlen(kv->s) <= JOB_CTX_VAL_MAX));
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(j->ctx[k].key, kv->key) != 0);
		if (kv->is_int)
			FUZZ_CHECK(job_ctx_int(j, kv->key, kv->i ^ 1) == kv->i);
		else
			FUZZ_CHECK(job_ctx_str(j, kv->key) == kv->s);
	}
}

static void check_same(const struct job *a, const struct job *b)
{
	FUZZ_CHECK(strcmp(a->id, b->id) == 0);
	FUZZ_CHECK(strcmp(a->domain, b->domain) == 0);
	FUZZ_CHECK(strcmp(a->tenant, b->tenant) == 0);
	FUZZ_CHECK(a->attempt == b->attempt);
	FUZZ_CHECK(a->created_at == b->created_at);
	FUZZ_CHECK(a->since == b->since);
	FUZZ_CHECK(a->gen == b->gen);
	FUZZ_CHECK(a->nctx == b->nctx);
	for (size_t i = 0; i < a->nctx; i++) {
		FUZZ_CHECK(strcmp(a->ctx[i].key, b->ctx[i].key) == 0);
		FUZZ_CHECK(a->ctx[i].is_int == b->ctx[i].is_int);
		if (a->ctx[i].is_int)
			FUZZ_CHECK(a->ctx[i].i == b->ctx[i].i);
		else
			FUZZ_CHECK(strcmp(a->ctx[i].s, b->ctx[i].s) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job j, back;
	char why[256];
	char *enc = NULL, *enc2 = NULL;
	size_t enclen = 0, enclen2 = 0;

	enum job_status st = job_decode(data, size, JOB_DEFAULT_MAX_BYTES, &j,
	                                why, sizeof(why));
	if (st != JOB_OK) {
		FUZZ_CHECK(why[0] != '\0');
		FUZZ_CHECK(j.nctx == 0 && j.domain[0] == '\0' && j.v == 0);
		job_clear(&j);
		return 0;
	}
	check_limits(&j);
	if (size > 0) {
		struct job small;
		FUZZ_CHECK(job_decode(data, size, size - 1, &small, why,
		                      sizeof(why)) == JOB_E_TOOBIG);
	}

	/* what settle() does before it encodes the job again */
	if (!j.id[0])
		snprintf(j.id, sizeof(j.id), "x%s", "1700000000000-0");
	FUZZ_CHECK(job_encode(&j, &enc, &enclen) == JOB_OK);
	st = job_decode(enc, enclen, JOB_DEFAULT_MAX_BYTES, &back, why, sizeof(why));
	if (st != JOB_OK) {
		fprintf(stderr, "re-encoded job refused: %s\n", why);
		FUZZ_CHECK(st == JOB_OK);
	}
	check_same(&j, &back);
	FUZZ_CHECK(job_encode(&back, &enc2, &enclen2) == JOB_OK);
	FUZZ_CHECK(enclen == enclen2 && memcmp(enc, enc2, enclen) == 0);

	/* the setters keep the bound: a full ctx takes no new key */
	if (back.nctx == JOB_CTX_MAX) {
		FUZZ_CHECK(job_ctx_set_int(&back, "fuzz-new-key", 1) == -1);
	} else {
		FUZZ_CHECK(job_ctx_set_str(&back, "fuzz-new-key", "v") == 0);
		FUZZ_CHECK(strcmp(job_ctx_str(&back, "fuzz-new-key"), "v") == 0);
		job_ctx_del(&back, "fuzz-new-key");
		FUZZ_CHECK(job_ctx_str(&back, "fuzz-new-key") == NULL);
	}
	FUZZ_CHECK(back.nctx <= JOB_CTX_MAX);

	free(enc);
	free(enc2);
	job_clear(&j);
	job_clear(&back);
	return 0;
}

/* ---- the mutator: a msgpack tree ---- */

enum vkind { V_NIL, V_BOOL, V_UINT, V_INT, V_FLOAT, V_STR, V_BIN, V_EXT,
             V_ARRAY, V_MAP };

/* One msgpack value.  A map holds 2n items: key, value, key, value... */
struct val {
	enum vkind kind;
	uint64_t u;          /* V_UINT, V_BOOL */
	int64_t i;           /* V_INT (negative) */
	double d;
	int8_t ext_type;
	uint8_t *bytes;      /* V_STR, V_BIN, V_EXT; owned */
	size_t len;
	struct val *items;   /* V_ARRAY, V_MAP; owned */
	size_t n;            /* items, or pairs of a map */
};

#define TREE_DEPTH 8     /* deeper input is cut when read */
#define TREE_NODES 4096  /* nodes collected for a random pick */
#define STR_MAX 9000     /* a little over JOB_CTX_VAL_MAX */

/* A small PRNG, seeded from libFuzzer's seed, so a run is reproducible. */
struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

static size_t below(struct rng *r, size_t n)
{
	return n ? (size_t)(rnd(r) % n) : 0;
}

static void val_free(struct val *v)
{
	size_t items = v->kind == V_MAP ? 2 * v->n : v->n;
	free(v->bytes);
	for (size_t i = 0; v->items && i < items; i++)
		val_free(&v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

static void set_bytes(struct val *v, enum vkind kind, const void *p, size_t n)
{
	val_free(v);
	v->kind = kind;
	v->bytes = malloc(n ? n : 1);
	if (v->bytes && n)
		memcpy(v->bytes, p, n);
	v->len = v->bytes ? n : 0;
}

static void set_str(struct val *v, const char *s)
{
	set_bytes(v, V_STR, s, strlen(s));
}

static void set_uint(struct val *v, uint64_t u)
{
	val_free(v);
	v->kind = V_UINT;
	v->u = u;
}

/* Reads O into V; containers below DEPTH 0 become nil. */
static void from_object(const msgpack_object *o, struct val *v, int depth)
{
	memset(v, 0, sizeof(*v));
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: v->kind = V_NIL; break;
	case MSGPACK_OBJECT_BOOLEAN: v->kind = V_BOOL; v->u = o->via.boolean; break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER: v->kind = V_UINT; v->u = o->via.u64; break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: v->kind = V_INT; v->i = o->via.i64; break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: v->kind = V_FLOAT; v->d = o->via.f64; break;
	case MSGPACK_OBJECT_STR:
		set_bytes(v, V_STR, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		set_bytes(v, V_BIN, o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_EXT:
		set_bytes(v, V_EXT, o->via.ext.ptr, o->via.ext.size);
		v->ext_type = o->via.ext.type;
		break;
	case MSGPACK_OBJECT_ARRAY:
	case MSGPACK_OBJECT_MAP: {
		bool map = o->type == MSGPACK_OBJECT_MAP;
		size_t n = map ? o->via.map.size : o->via.array.size;
		if (depth <= 0) {
			v->kind = V_NIL;
			break;
		}
		v->kind = map ? V_MAP : V_ARRAY;
		v->items = calloc(map ? 2 * n + 1 : n + 1, sizeof(struct val));
		if (!v->items) {
			v->kind = V_NIL;
			break;
		}
		v->n = n;
		for (size_t i = 0; i < n; i++) {
			if (map) {
				from_object(&o->via.map.ptr[i].key, &v->items[2 * i], depth - 1);
				from_object(&o->via.map.ptr[i].val, &v->items[2 * i + 1], depth - 1);
			} else {
				from_object(&o->via.array.ptr[i], &v->items[i], depth - 1);
			}
		}
		break;
	}
	}
}

static void pack(msgpack_packer *pk, const struct val *v)
{
	switch (v->kind) {
	case V_NIL: msgpack_pack_nil(pk); break;
	case V_BOOL: v->u ? msgpack_pack_true(pk) : msgpack_pack_false(pk); break;
	case V_UINT: msgpack_pack_uint64(pk, v->u); break;
	case V_INT: msgpack_pack_int64(pk, v->i); break;
	case V_FLOAT: msgpack_pack_double(pk, v->d); break;
	case V_STR:
		msgpack_pack_str(pk, v->len);
		msgpack_pack_str_body(pk, v->bytes, v->len);
		break;
	case V_BIN:
		msgpack_pack_bin(pk, v->len);
		msgpack_pack_bin_body(pk, v->bytes, v->len);
		break;
	case V_EXT:
		msgpack_pack_ext(pk, v->len, v->ext_type);
		msgpack_pack_ext_body(pk, v->bytes, v->len);
		break;
	case V_ARRAY:
		msgpack_pack_array(pk, v->n);
		for (size_t i = 0; i < v->n; i++)
			pack(pk, &v->items[i]);
		break;
	case V_MAP:
		msgpack_pack_map(pk, v->n);
		for (size_t i = 0; i < 2 * v->n; i++)
			pack(pk, &v->items[i]);
		break;
	}
}

/* Every node of the tree (keys too), for a random pick. */
struct nodes {
	struct val *v[TREE_NODES];
	size_t n;
};

static void collect(struct val *v, struct nodes *out, enum vkind only, bool any)
{
	if (out->n == TREE_NODES)
		return;
	if (any || v->kind == only)
		out->v[out->n++] = v;
	if (v->kind == V_ARRAY || v->kind == V_MAP) {
		size_t items = v->kind == V_MAP ? 2 * v->n : v->n;
		for (size_t i = 0; i < items; i++)
			collect(&v->items[i], out, only, any);
	}
}

static struct val *pick(struct val *root, struct rng *r, enum vkind only, bool any)
{
	static struct nodes ns;
	ns.n = 0;
	collect(root, &ns, only, any);
	return ns.n ? ns.v[below(r, ns.n)] : NULL;
}

/* Appends the pair K, V (both taken over) to map M. */
static void map_add(struct val *m, struct val *k, struct val *v)
{
	struct val *grown = realloc(m->items, (2 * m->n + 2) * sizeof(*grown));
	if (!grown) {
		val_free(k);
		val_free(v);
		return;
	}
	m->items = grown;
	m->items[2 * m->n] = *k;
	m->items[2 * m->n + 1] = *v;
	m->n++;
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
}

static void copy_val(struct val *dst, const struct val *src)
{
	*dst = *src;
	dst->bytes = NULL;
	dst->items = NULL;
	if (src->bytes)
		set_bytes(dst, src->kind, src->bytes, src->len);
	dst->ext_type = src->ext_type;
	if (src->items) {
		size_t items = src->kind == V_MAP ? 2 * src->n : src->n;
		dst->items = calloc(items + 1, sizeof(struct val));
		if (!dst->items) {
			dst->kind = V_NIL;
			dst->n = 0;
			return;
		}
		for (size_t i = 0; i < items; i++)
			copy_val(&dst->items[i], &src->items[i]);
	}
}

static const char *const job_keys[] = {
	"v", "id", "domain", "tenant", "attempt", "created_at", "since", "gen",
	"ctx",
};
static const char *const ctx_keys[] = {
	"names", "confirmed", "nudge_seen", "published", "replaces", "order",
	"authz", "token", "serial", "cert_url", "n", "",
};

/* Strings at and past the limits the decoder keeps. */
static void interesting_str(struct val *v, struct rng *r)
{
	static const char *const fixed[] = {
		"www.example.com", "Shop.Example.COM.", "*.example.com", "a.*.example.com",
		"example", "1.2.3.4", "xn--bcher-kva.example", "b\303\274cher.example",
		"-a.example.com", "a..b", ".", "", "t1", "cust-1", "-t", "a.b",
		"a\nb", "_acme-challenge.example.com", "www.example.com,evil.example.org",
	};
	static const size_t lens[] = { 63, 64, 65, 253, 254, 255, 8192, 8193 };
	char buf[STR_MAX + 1];

	if (below(r, 3)) {
		set_str(v, fixed[below(r, sizeof(fixed) / sizeof(fixed[0]))]);
		return;
	}
	size_t n = lens[below(r, sizeof(lens) / sizeof(lens[0]))];
	for (size_t i = 0; i < n; i++)
		buf[i] = (i % 64 == 63) ? '.' : (char)('a' + i % 26);
	if (below(r, 4) == 0)
		buf[below(r, n)] = '\0';   /* a NUL inside */
	set_bytes(v, V_STR, buf, n);
}

static void random_val(struct val *v, struct rng *r, int depth);

/* A ctx-like map of N entries: string keys (real ones, made-up ones, and
 * now and then a repeat) with string and integer values. */
static void flood_map(struct val *m, struct rng *r, size_t n)
{
	char key[32];
	val_free(m);
	m->kind = V_MAP;
	for (size_t i = 0; i < n; i++) {
		struct val k = { 0 }, v = { 0 };
		size_t which = below(r, 8);
		if (which == 0) {
			set_str(&k, ctx_keys[below(r, sizeof(ctx_keys) / sizeof(ctx_keys[0]))]);
		} else {
			/* now and then the key of an earlier entry */
			snprintf(key, sizeof(key), "k%zu", which == 1 && i ? below(r, i) : i);
			set_str(&k, key);
		}
		if (below(r, 2))
			set_uint(&v, rnd(r) % 100000);
		else
			random_val(&v, r, 0);
		map_add(m, &k, &v);
	}
}

/* Integers where a decoder's checks change their mind. */
static const uint64_t edges[] = {
	0, 1, 2, 0x7f, 0xff, 0x100, 0xffff, 0x10000, 0xffffffffu,
	0x100000000ull, INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX,
};

static void random_val(struct val *v, struct rng *r, int depth)
{
	val_free(v);
	switch (below(r, depth > 0 ? 10 : 8)) {
	case 0: v->kind = V_NIL; break;
	case 1: v->kind = V_BOOL; v->u = below(r, 2); break;
	case 2: set_uint(v, edges[below(r, sizeof(edges) / sizeof(edges[0]))]); break;
	case 3: v->kind = V_INT; v->i = -(int64_t)below(r, 1000) - 1;
		if (below(r, 4) == 0)
			v->i = INT64_MIN;
		break;
	case 4: v->kind = V_FLOAT; v->d = 1.5; break;
	case 5: interesting_str(v, r); break;
	case 6: set_bytes(v, V_BIN, "\x01\x02\x03", 3); break;
	case 7: set_bytes(v, V_EXT, "\x00", 1); v->ext_type = (int8_t)below(r, 256); break;
	case 8:
		flood_map(v, r, below(r, 40));
		break;
	case 9: {
		v->kind = V_ARRAY;
		v->n = below(r, 4);
		v->items = calloc(v->n + 1, sizeof(struct val));
		if (!v->items)
			v->n = 0;
		for (size_t i = 0; i < v->n; i++)
			random_val(&v->items[i], r, depth - 1);
		break;
	}
	}
}

/* The job a backend would send, for an input that is not msgpack. */
static void fresh_job(struct val *m, struct rng *r)
{
	static const char *const keys[] = { "v", "id", "domain", "attempt",
	                                    "created_at", "since" };
	val_free(m);
	m->kind = V_MAP;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct val k = { 0 }, v = { 0 };
		set_str(&k, keys[i]);
		if (strcmp(keys[i], "id") == 0)
			set_str(&v, "0123456789abcdef0123456789abcdef");
		else if (strcmp(keys[i], "domain") == 0)
			set_str(&v, "www.example.com");
		else
			set_uint(&v, strcmp(keys[i], "v") == 0 ? 1 : 1700000000000ull);
		map_add(m, &k, &v);
	}
	if (below(r, 2)) {
		struct val k = { 0 }, v = { 0 };
		set_str(&k, "ctx");
		flood_map(&v, r, below(r, 4));
		map_add(m, &k, &v);
	}
}

/* One structural mutation of ROOT. */
static void mutate_tree(struct val *root, struct rng *r)
{
	struct val *m, *v, k = { 0 }, nv = { 0 };

	if (root->kind != V_MAP && below(r, 4))
		fresh_job(root, r);
	switch (below(r, 10)) {
	case 0: /* a real key with a value of any type */
		m = root->kind == V_MAP ? root : pick(root, r, V_MAP, false);
		if (!m)
			break;
		set_str(&k, job_keys[below(r, sizeof(job_keys) / sizeof(job_keys[0]))]);
		random_val(&nv, r, 2);
		map_add(m, &k, &nv);
		break;
	case 1: /* a pair of some map again, at the end */
		m = pick(root, r, V_MAP, false);
		if (!m || m->n == 0)
			break;
		size_t again = below(r, m->n);
		copy_val(&k, &m->items[2 * again]);
		copy_val(&nv, &m->items[2 * again + 1]);
		map_add(m, &k, &nv);
		break;
	case 2: /* a ctx of a size around the limit, maybe a second one */
		if (root->kind != V_MAP)
			break;
		set_str(&k, "ctx");
		static const size_t sizes[] = { 0, 1, 2, 16, 31, 32, 33, 64 };
		flood_map(&nv, r, sizes[below(r, sizeof(sizes) / sizeof(sizes[0]))]);
		map_add(root, &k, &nv);
		break;
	case 3: /* any value becomes one of another type */
		if ((v = pick(root, r, V_NIL, true)) && v != root)
			random_val(v, r, 2);
		break;
	case 4: /* an integer at an edge */
		if ((v = pick(root, r, V_UINT, false)))
			set_uint(v, edges[below(r, sizeof(edges) / sizeof(edges[0]))]);
		break;
	case 5: /* a string at a limit */
		if ((v = pick(root, r, V_STR, false)))
			interesting_str(v, r);
		break;
	case 6: /* a string's bytes, mutated by libFuzzer */
		if ((v = pick(root, r, V_STR, false))) {
			uint8_t buf[STR_MAX];
			size_t n = v->len < sizeof(buf) ? v->len : sizeof(buf);
			memcpy(buf, v->bytes, n);
			n = LLVMFuzzerMutate(buf, n, n + 16 < sizeof(buf) ? n + 16 : sizeof(buf));
			set_bytes(v, V_STR, buf, n);
		}
		break;
	case 7: /* a pair or an item removed */
		m = pick(root, r, V_MAP, false);
		if (m && m->n) {
			size_t p = below(r, m->n);
			val_free(&m->items[2 * p]);
			val_free(&m->items[2 * p + 1]);
			memmove(&m->items[2 * p], &m->items[2 * p + 2],
			        (m->n - p - 1) * 2 * sizeof(struct val));
			m->n--;
		}
		break;
	case 8: /* two pairs of a map swapped (order matters to a decoder) */
		m = pick(root, r, V_MAP, false);
		if (m && m->n > 1) {
			size_t a = below(r, m->n), b = below(r, m->n);
			struct val t0 = m->items[2 * a], t1 = m->items[2 * a + 1];
			m->items[2 * a] = m->items[2 * b];
			m->items[2 * a + 1] = m->items[2 * b + 1];
			m->items[2 * b] = t0;
			m->items[2 * b + 1] = t1;
		}
		break;
	case 9: /* a value wrapped in a map (ctx inside ctx) */
		if ((v = pick(root, r, V_NIL, true)) && v != root) {
			struct val inner = *v;
			memset(v, 0, sizeof(*v));
			v->kind = V_MAP;
			set_str(&k, ctx_keys[below(r, sizeof(ctx_keys) / sizeof(ctx_keys[0]))]);
			map_add(v, &k, &inner);
		}
		break;
	}
	val_free(&k);
	val_free(&nv);
}

/* Reads DATA as one msgpack object into ROOT; false if it is not one. */
static bool read_tree(const uint8_t *data, size_t size, struct val *root)
{
	msgpack_unpacked u;
	size_t off = 0;
	bool ok;

	memset(root, 0, sizeof(*root));
	msgpack_unpacked_init(&u);
	/* msgpack-c allocates what the input declares: check it first */
	ok = size <= JOB_DEFAULT_MAX_BYTES && job_msgpack_sane(data, size) &&
	     msgpack_unpack_next(&u, (const char *)data, size, &off) == MSGPACK_UNPACK_SUCCESS;
	if (ok)
		from_object(&u.data, root, TREE_DEPTH);
	msgpack_unpacked_destroy(&u);
	return ok;
}

/* Packs ROOT into DATA (at most MAX bytes); 0 when it does not fit. */
static size_t write_tree(const struct val *root, uint8_t *data, size_t max)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t n = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack(&pk, root);
	if (sb.data && sb.size <= max) {
		memcpy(data, sb.data, sb.size);
		n = sb.size;
	}
	msgpack_sbuffer_destroy(&sb);
	return n;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed);
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1,
                                 const uint8_t *d2, size_t s2, uint8_t *out,
                                 size_t max_out, unsigned int seed);

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed)
{
	struct rng r = { (uint64_t)seed * 0x9e3779b97f4a7c15ull + 1 };
	struct val root;
	size_t n;

	if (below(&r, 8) == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	if (!read_tree(data, size, &root))
		fresh_job(&root, &r);
	for (size_t k = 1 + below(&r, 3); k > 0; k--)
		mutate_tree(&root, &r);
	n = write_tree(&root, data, max_size);
	val_free(&root);
	return n ? n : LLVMFuzzerMutate(data, size, max_size);
}

/* The pairs of the first job's map, then some of the second's: a key both
 * hold comes twice. */
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1,
                                 const uint8_t *d2, size_t s2, uint8_t *out,
                                 size_t max_out, unsigned int seed)
{
	struct rng r = { (uint64_t)seed * 0x9e3779b97f4a7c15ull + 7 };
	struct val a, b;
	size_t n = 0;

	if (!read_tree(d1, s1, &a))
		return 0;
	if (!read_tree(d2, s2, &b)) {
		val_free(&a);
		return 0;
	}
	if (a.kind == V_MAP && b.kind == V_MAP) {
		for (size_t i = 0; i < b.n; i++) {
			if (below(&r, 2))
				continue;
			struct val k, v;
			copy_val(&k, &b.items[2 * i]);
			copy_val(&v, &b.items[2 * i + 1]);
			map_add(&a, &k, &v);
		}
		n = write_tree(&a, out, max_out);
	}
	val_free(&a);
	val_free(&b);
	return n;
}
