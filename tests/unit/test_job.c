/* job: the schema vectors of schemas/job-vectors.yaml, round trips, and
 * broken input of every kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <msgpack.h>

#include "cfg.h"
#include "job.h"

static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (unsigned char)v;
	}
	return n;
}

static void test_vectors(void **state)
{
	(void)state;
	char path[1024], err[512], key[256];
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/job-vectors.yaml", getenv("DCV_SCHEMAS"));
	struct cfg *c = cfg_load_file(path, err, sizeof(err));
	assert_non_null(c);
	const char *const *names = cfg_keys(c, "vectors", &n);
	assert_true(n >= 10);
	for (size_t i = 0; i < n; i++) {
		unsigned char buf[4096];
		char why[256];
		struct job j;
#define GET(f) (snprintf(key, sizeof(key), "vectors.%s." f, names[i]), cfg_str(c, key, NULL))
		const char *hex = GET("hex");
		const char *expect_err = GET("error");
		const char *domain = GET("domain");
		(void)GET("description");
		assert_non_null(hex);
		size_t len = unhex(hex, buf, sizeof(buf));
		enum job_status st = job_decode(buf, len, JOB_DEFAULT_MAX_BYTES, &j, why, sizeof(why));
		if (expect_err) {
			if (st == JOB_OK || !strstr(why, expect_err))
				fail_msg("vector %s: expected an error with '%s', got %d '%s'",
				         names[i], expect_err, st, why);
			continue;
		}
		if (st != JOB_OK)
			fail_msg("vector %s: %s", names[i], why);
		assert_string_equal(j.domain, domain);
		const char *v;
		if ((v = GET("tenant")))
			assert_string_equal(j.tenant, v);
		if ((v = GET("id")))
			assert_string_equal(j.id, v);
		if ((v = GET("attempt")))
			assert_int_equal(j.attempt, atoi(v));
		if ((v = GET("gen")))
			assert_int_equal(j.gen, atoi(v));
		if ((v = GET("ctx_count")))
			assert_int_equal(j.nctx, atoi(v));
		job_clear(&j);
#undef GET
	}
	cfg_check_unknown(c);
	assert_null(cfg_error(c));
	cfg_free(c);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct job j, k;
	char *buf;
	size_t len;
	char why[256];

	job_init(&j, "www.example.com", "tenant-1", 1795000000000ULL);
	j.attempt = 7;
	j.gen = 9;
	assert_int_equal(job_ctx_set_str(&j, "order", "https://ca/order/1"), 0);
	assert_int_equal(job_ctx_set_int(&j, "deadline", -5), 0);
	assert_int_equal(job_ctx_set_str(&j, "order", "https://ca/order/2"), 0);
	assert_int_equal(j.nctx, 2);
	assert_int_equal(job_encode(&j, &buf, &len), JOB_OK);
	assert_int_equal(job_decode(buf, len, JOB_DEFAULT_MAX_BYTES, &k, why, sizeof(why)), JOB_OK);
	assert_string_equal(k.id, j.id);
	assert_string_equal(k.domain, "www.example.com");
	assert_string_equal(k.tenant, "tenant-1");
	assert_int_equal(k.attempt, 7);
	assert_int_equal(k.gen, 9);
	assert_int_equal(k.created_at, 1795000000000ULL);
	assert_string_equal(job_ctx_str(&k, "order"), "https://ca/order/2");
	assert_int_equal(job_ctx_int(&k, "deadline", 0), -5);
	assert_null(job_ctx_str(&k, "deadline"));
	job_ctx_del(&k, "order");
	assert_null(job_ctx_str(&k, "order"));
	assert_int_equal(job_ctx_int(&k, "deadline", 0), -5);
	free(buf);
	job_clear(&j);
	job_clear(&k);
}

static void test_size_cap(void **state)
{
	(void)state;
	char buf[300] = { 0 };
	char why[256];
	struct job j;
	assert_int_equal(job_decode(buf, sizeof(buf), 256, &j, why, sizeof(why)), JOB_E_TOOBIG);
	assert_non_null(strstr(why, "cap"));
	assert_int_equal(job_decode(buf, 0, 256, &j, why, sizeof(why)), JOB_E_MSGPACK);
}

static void test_ctx_limits(void **state)
{
	(void)state;
	struct job j;
	char big[JOB_CTX_VAL_MAX + 2];
	job_init(&j, "example.com", NULL, 1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(job_ctx_set_str(&j, "big", big), -1);
	for (int i = 0; i < JOB_CTX_MAX; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		assert_int_equal(job_ctx_set_int(&j, k, i), 0);
	}
	assert_int_equal(job_ctx_set_int(&j, "one-more", 1), -1);
	job_clear(&j);
}

/* A new job's ctx keeps only "names" (verify-cname's intake): every
 * other key goes, in any position, and is listed; a list too small for
 * them all stops at a whole key. */
static void test_ctx_keep_only(void **state)
{
	(void)state;
	struct job j;
	char dropped[64];

	job_init(&j, "example.com", NULL, 1);
	assert_int_equal(job_ctx_set_int(&j, "verified_at", 99), 0);
	assert_int_equal(job_ctx_set_str(&j, "names", "example.com,www.example.com"), 0);
	assert_int_equal(job_ctx_set_int(&j, "rl_slot", 5), 0);
	assert_int_equal(job_ctx_set_str(&j, "replaces", "x.y"), 0);
	assert_int_equal(job_ctx_keep_only(&j, "names", dropped, sizeof(dropped)), 3);
	assert_string_equal(dropped, "verified_at,rl_slot,replaces");
	assert_int_equal(j.nctx, 1);
	assert_string_equal(job_ctx_str(&j, "names"), "example.com,www.example.com");
	assert_int_equal(job_ctx_int(&j, "verified_at", -1), -1);
	/* nothing to drop */
	assert_int_equal(job_ctx_keep_only(&j, "names", dropped, sizeof(dropped)), 0);
	assert_string_equal(dropped, "");
	/* a full ctx, a short list */
	for (int i = 0; j.nctx < JOB_CTX_MAX; i++) {
		char k[16];
		snprintf(k, sizeof(k), "key%02d", i);
		assert_int_equal(job_ctx_set_int(&j, k, i), 0);
	}
	assert_int_equal(job_ctx_keep_only(&j, "names", dropped, 12), JOB_CTX_MAX - 1);
	assert_string_equal(dropped, "key00,key01");
	assert_int_equal(j.nctx, 1);
	assert_int_equal(job_ctx_keep_only(&j, "other", dropped, 0), 1);
	assert_int_equal(j.nctx, 0);
	job_clear(&j);
}

/* Every prefix and every single-byte corruption of a valid job either
 * decodes or is refused; none crashes (the sanitizer build checks). */
static void test_mutations(void **state)
{
	(void)state;
	struct job j;
	char *buf, why[256];
	size_t len;
	job_init(&j, "www.example.com", "t", 5);
	job_ctx_set_str(&j, "a", "b");
	assert_int_equal(job_encode(&j, &buf, &len), JOB_OK);
	job_clear(&j);
	for (size_t cut = 0; cut < len; cut++) {
		assert_int_not_equal(job_decode(buf, cut, 65536, &j, why, sizeof(why)), JOB_OK);
		assert_true(strlen(why) > 0);
	}
	unsigned seed = 1;
	for (int round = 0; round < 20000; round++) {
		char *m = malloc(len);
		memcpy(m, buf, len);
		for (int k = 0; k < 1 + round % 3; k++) {
			seed = seed * 1103515245 + 12345;
			m[(seed >> 8) % len] = (char)(seed >> 16);
		}
		if (job_decode(m, len, 65536, &j, why, sizeof(why)) == JOB_OK)
			job_clear(&j);
		free(m);
	}
	free(buf);
}


static void pack_s(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

/* Starts in SB a job map of FIELDS pairs with v 1 and domain
 * www.example.com; the caller packs the rest through PK. */
static void start_job(msgpack_sbuffer *sb, msgpack_packer *pk, size_t fields)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(pk, fields);
	pack_s(pk, "v");
	msgpack_pack_uint8(pk, 1);
	pack_s(pk, "domain");
	pack_s(pk, "www.example.com");
}

/* A job map {v, domain, ctx x NCTX maps of PER entries each, extra}. */
static void build(msgpack_sbuffer *sb, int nctx, int per, const char *dup_key)
{
	msgpack_packer pk;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2 + (size_t)nctx + (dup_key != NULL));
	pack_s(&pk, "v");
	msgpack_pack_uint8(&pk, 1);
	pack_s(&pk, "domain");
	pack_s(&pk, "www.example.com");
	for (int c = 0; c < nctx; c++) {
		pack_s(&pk, "ctx");
		msgpack_pack_map(&pk, (size_t)per);
		for (int i = 0; i < per; i++) {
			char k[24];
			snprintf(k, sizeof(k), "%c%d", 'a' + c, i);
			pack_s(&pk, k);
			msgpack_pack_uint8(&pk, 1);
		}
	}
	if (dup_key) {
		pack_s(&pk, dup_key);
		if (strcmp(dup_key, "v") == 0)
			msgpack_pack_uint8(&pk, 1);
		else
			pack_s(&pk, "other.example.com");
	}
}

/* The stack overflow of issue 10: ctx twice with 32 entries each wrote 64
 * entries into the 32 of struct job (which the worker keeps on its stack).
 * A repeated key is refused in the job map and in ctx. */
static void test_duplicate_keys(void **state)
{
	(void)state;
	msgpack_sbuffer sb;
	struct job j;
	char why[256];

	build(&sb, 2, JOB_CTX_MAX, NULL);
	assert_int_equal(job_decode(sb.data, sb.size, 65536, &j, why, sizeof(why)), JOB_E_FIELD);
	assert_non_null(strstr(why, "repeats"));
	assert_int_equal(j.nctx, 0);
	msgpack_sbuffer_destroy(&sb);

	build(&sb, 2, 1, NULL);   /* even small ones */
	assert_int_equal(job_decode(sb.data, sb.size, 65536, &j, why, sizeof(why)), JOB_E_FIELD);
	msgpack_sbuffer_destroy(&sb);

	build(&sb, 1, JOB_CTX_MAX, NULL);   /* one full ctx is fine */
	assert_int_equal(job_decode(sb.data, sb.size, 65536, &j, why, sizeof(why)), JOB_OK);
	assert_int_equal(j.nctx, JOB_CTX_MAX);
	job_clear(&j);
	msgpack_sbuffer_destroy(&sb);

	build(&sb, 1, JOB_CTX_MAX + 1, NULL);
	assert_int_equal(job_decode(sb.data, sb.size, 65536, &j, why, sizeof(why)), JOB_E_FIELD);
	msgpack_sbuffer_destroy(&sb);

	/* a second domain (which one would the stages use?) or v */
	build(&sb, 0, 0, "domain");
	assert_int_equal(job_decode(sb.data, sb.size, 65536, &j, why, sizeof(why)), JOB_E_FIELD);
	assert_non_null(strstr(why, "repeats"));
	msgpack_sbuffer_destroy(&sb);
	build(&sb, 0, 0, "v");
	assert_int_equal(job_decode(sb.data, sb.size, 65536, &j, why, sizeof(why)), JOB_E_FIELD);
	msgpack_sbuffer_destroy(&sb);

	/* a repeated key inside one ctx map */
	msgpack_packer pk;
	start_job(&sb, &pk, 3);
	pack_s(&pk, "ctx");
	msgpack_pack_map(&pk, 2);
	pack_s(&pk, "names");
	pack_s(&pk, "www.example.com");
	pack_s(&pk, "names");
	pack_s(&pk, "www.example.com,evil.example.org");
	assert_int_equal(job_decode(sb.data, sb.size, 65536, &j, why, sizeof(why)), JOB_E_FIELD);
	assert_non_null(strstr(why, "ctx key 1 repeats"));
	msgpack_sbuffer_destroy(&sb);
}

/* Empty strings: msgpack-c hands them over with a NULL pointer, which the
 * decoder must not pass to memcmp/memchr/memcpy (UBSan; found by
 * tests/fuzz/fuzz_job, corpus crash-empty-*). */
static void test_empty_strings(void **state)
{
	(void)state;
	static const unsigned char two_empty_keys[] =
		"\x84\xa0\x01\xa0\x02\xa1v\x01\xa6" "domain" "\xab" "example.com";
	struct job j;
	char why[256];

	assert_int_equal(job_decode(two_empty_keys, sizeof(two_empty_keys) - 1, 65536,
	                            &j, why, sizeof(why)), JOB_E_FIELD);
	assert_non_null(strstr(why, "key 1 of the job map repeats"));

	msgpack_sbuffer sb;
	msgpack_packer pk;
	start_job(&sb, &pk, 4);
	pack_s(&pk, "tenant");
	pack_s(&pk, "");
	pack_s(&pk, "ctx");
	msgpack_pack_map(&pk, 2);
	pack_s(&pk, "");
	pack_s(&pk, "");
	pack_s(&pk, "a");
	pack_s(&pk, "");
	assert_int_equal(job_decode(sb.data, sb.size, 65536, &j, why, sizeof(why)), JOB_E_FIELD);
	assert_non_null(strstr(why, "tenant is empty"));
	msgpack_sbuffer_destroy(&sb);

	start_job(&sb, &pk, 3);
	pack_s(&pk, "ctx");
	msgpack_pack_map(&pk, 2);
	pack_s(&pk, "");
	pack_s(&pk, "");
	pack_s(&pk, "a");
	pack_s(&pk, "");
	assert_int_equal(job_decode(sb.data, sb.size, 65536, &j, why, sizeof(why)), JOB_OK);
	assert_int_equal(j.nctx, 2);
	assert_string_equal(job_ctx_str(&j, ""), "");
	assert_string_equal(job_ctx_str(&j, "a"), "");
	job_clear(&j);
	msgpack_sbuffer_destroy(&sb);
}

static void test_tenant(void **state)
{
	(void)state;
	static const char *const good[] = { "t1", "cust-1", "Tenant_9", "a" };
	static const char *const bad[] = { "", "a.b", "a b", "a\nb", "-a", "a-", "t\x01",
	                                   "caf\xc3\xa9",
	                                   "0123456789012345678901234567890123456789012345678901234567890123" };
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_null(job_tenant_check(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (job_tenant_check(bad[i]) == NULL)
			fail_msg("tenant '%s' accepted", bad[i]);

	struct job j, k;
	char *buf, why[256];
	size_t len;
	job_init(&j, "www.example.com", "x.y", 1);   /* a dot: into a target */
	assert_int_equal(job_encode(&j, &buf, &len), JOB_OK);
	assert_int_equal(job_decode(buf, len, 65536, &k, why, sizeof(why)), JOB_E_FIELD);
	assert_non_null(strstr(why, "tenant"));
	free(buf);
	job_clear(&j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_ctx_limits),
		cmocka_unit_test(test_ctx_keep_only),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_tenant),
		cmocka_unit_test(test_empty_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
