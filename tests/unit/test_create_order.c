/* create_order_policy and acme_outcome: create-order's decisions, one test
 * per row of schemas/lifecycle.md that names create-order (States:
 * ordering, rate-limited, provisioning, finalizing, waiting-cname; "Rate
 * limits": the place in line, the failed-authorization peek, a block by the
 * CA, the look at an old verification before the turn; "At most
 * one order per issuance": the recorded order reused or replaced, the
 * process's memory, order_started; "What is checked against the world": the
 * order exists), and the rows of a failed ACME call every ACME stage
 * shares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "acme_outcome.h"
#include "create_order_policy.h"
#include "stage_assert.h"

#define T0 1800000000000ULL

/* provisioning: a recorded order the CA has pending, ready or processing
 * is reused (its record restored when only this process remembered it). */
static void test_recorded_order_reused(void **state)
{
	(void)state;
	const char *live[] = { "pending", "ready", "processing" };

	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(co_recorded(ACME_OK, live[i], false, false, false), CO_USABLE);
		assert_int_equal(co_recorded(ACME_PENDING, live[i], false, true, false), CO_USABLE);
		assert_int_equal(co_recorded(ACME_OK, live[i], false, false, true),
		                 CO_USABLE_RECALLED);
	}
	struct outcome out = { 0 };
	co_resume(CO_USABLE, &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_PROVISION_TXT);
	assert_state(&out, STATE_PROVISIONING);
	assert_event_is(&out, NO_EVENT);
}

/* finalizing: a valid order whose key is recorded goes to finalize (which
 * downloads it); without the key, or only remembered by the process, it is
 * replaced. */
static void test_valid_order_with_key_finalizes(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	assert_int_equal(co_recorded(ACME_OK, "valid", false, true, false), CO_ISSUED);
	co_resume(CO_ISSUED, &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_FINALIZE);
	assert_state(&out, STATE_FINALIZING);
	assert_int_equal(co_recorded(ACME_OK, "valid", false, false, false), CO_ORDER_ANEW);
	assert_int_equal(co_recorded(ACME_OK, "valid", false, true, true), CO_ORDER_ANEW);
}

/* Replaced: an order that went invalid, or that the CA no longer has
 * (404); a CA that cannot be asked is a failed ACME call, not a new
 * order. */
static void test_order_replaced_or_failed(void **state)
{
	(void)state;
	assert_int_equal(co_recorded(ACME_E_INVALID, "invalid", false, true, false),
	                 CO_ORDER_ANEW);
	assert_int_equal(co_recorded(ACME_E_CA, NULL, true, true, false), CO_ORDER_ANEW);
	assert_int_equal(co_recorded(ACME_E_NETWORK, NULL, false, true, false), CO_ACME_FAILED);
	assert_int_equal(co_recorded(ACME_E_SERVER, NULL, false, false, true), CO_ACME_FAILED);
}

/* rate-limited: a failed-authorization bucket of one of the names is
 * empty (a wildcard counts under its base name); not an attempt. */
static void test_failed_authz_bucket_waits(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	assert_true(co_rate(CO_FAILED_AUTHZ, 0, "*.example.com", "ca:14000", 300, 10800000,
	                    NULL, &out));
	assert_int_equal(out.kind, OUT_NONE);
	assert_false(co_rate(CO_FAILED_AUTHZ, 1234, "*.example.com", "ca:14000", 300,
	                     10800000, NULL, &out));
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, 1234);
	assert_true(out.wait);
	assert_state(&out, STATE_RATE_LIMITED);
	assert_string_equal(out.reason, "rate limit of failed authorizations for example.com "
	                    "at ca:14000: waiting 1234 ms");
}

/* rate-limited: the job's place in the new-order line is not yet due;
 * last_error gives the place (one token per period / limit). */
static void test_place_in_line_waits(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	/* 300 per 3 h: one per 36 s; 100 s ahead is place 3 */
	assert_false(co_rate(CO_NEW_ORDERS, 100000, NULL, "acme.example", 300, 10800000, NULL,
	                     &out));
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, 100000);
	assert_true(out.wait);
	assert_state(&out, STATE_RATE_LIMITED);
	assert_string_equal(out.reason, "rate limit of new orders at acme.example: place 3 in "
	                    "line, waiting 100000 ms");
	memset(&out, 0, sizeof(out));
	assert_true(co_rate(CO_NEW_ORDERS, 0, NULL, "acme.example", 300, 10800000, NULL, &out));
	assert_int_equal(out.kind, OUT_NONE);
}

/* A Redis failure of the limiter is a retry that leaves the state. */
static void test_limiter_redis_failure(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	assert_false(co_rate(CO_NEW_ORDERS, -1, NULL, "ca", 300, 10800000, "connection lost",
	                     &out));
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, 1000);
	assert_false(out.wait);
	assert_state(&out, KEEP);
	assert_string_equal(out.reason, "redis: connection lost");
}

/* ordering: another thread of the process holds the ordering lock, or
 * another run of this job started a newOrder lately: wait, not an
 * attempt.  A mark older than twice the ACME timeout and 10 s is a run
 * that died. */
static void test_one_newOrder_at_a_time(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	long long stale = 2 * 30000 + 10000;

	co_lock_busy(&out);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, 100);
	assert_true(out.wait);
	assert_state(&out, STATE_ORDERING);

	memset(&out, 0, sizeof(out));
	assert_true(co_lease(0, T0, stale, &out));
	assert_true(co_lease((long long)T0 - stale, T0, stale, &out));
	assert_int_equal(out.kind, OUT_NONE);
	assert_false(co_lease((long long)T0 - 5000, T0, stale, &out));
	assert_int_equal(out.delay_ms, 1000);
	assert_true(out.wait);
	assert_state(&out, STATE_ORDERING);
	assert_string_equal(out.reason, "another run of this job is creating the order "
	                    "(for 5000 ms now): waiting for it");
	/* due sooner than a second: woken when it goes stale */
	memset(&out, 0, sizeof(out));
	assert_false(co_lease((long long)T0 - stale + 300, T0, stale, &out));
	assert_int_equal(out.delay_ms, 300);
}

/* The guarded mark: two runs cannot both start. */
static void test_lease_written(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	assert_true(co_lease_written(0, NULL, &out));
	assert_int_equal(out.kind, OUT_NONE);
	assert_false(co_lease_written(-2, NULL, &out));
	assert_int_equal(out.delay_ms, 100);
	assert_true(out.wait);
	assert_state(&out, STATE_ORDERING);
	memset(&out, 0, sizeof(out));
	assert_false(co_lease_written(-1, "timeout", &out));
	assert_int_equal(out.delay_ms, 1000);
	assert_false(out.wait);
	assert_state(&out, KEEP);
}

/* provisioning: the order was created and recorded. */
static void test_ordered(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	co_ordered(&out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_PROVISION_TXT);
	assert_int_equal(out.delay_ms, 0);
	assert_state(&out, STATE_PROVISIONING);
	assert_event_is(&out, NO_EVENT);
}

static struct acme_failure failure(enum acme_status st)
{
	struct acme_failure f = { .st = st, .type = "urn:ietf:params:acme:error:x",
	                          .detail = "the CA says no", .retry_after_ms = -1,
	                          .orders_period_ms = 10800000 };
	return f;
}

/* rate-limited by the CA (any ACME stage): its Retry-After, else a minute
 * or the bucket's period when shorter; the new-order bucket is blocked as
 * long; not an attempt. */
static void test_ca_rate_limited_blocks(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	struct acme_failure f = failure(ACME_E_RATELIMITED);
	long long block = 0;

	f.retry_after_ms = 90000;
	assert_int_equal(acme_outcome_decide(&f, "new order", &out, &block), ACME_EFFECT_BLOCK);
	assert_int_equal(block, 90000);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, 90000);
	assert_true(out.wait);
	assert_state(&out, STATE_RATE_LIMITED);
	assert_string_equal(out.reason, "new order: rate limited by the CA: the CA says no");
	f.retry_after_ms = -1;
	acme_outcome_decide(&f, "new order", &out, &block);
	assert_int_equal(block, 60000);
	f.orders_period_ms = 10000;
	acme_outcome_decide(&f, "new order", &out, &block);
	assert_int_equal(block, 10000);
	assert_int_equal(out.delay_ms, 10000);
}

/* A key refused by the CA: at once with the new key when it was rotated,
 * else again after a second for a few attempts (a rotation half-way),
 * then failed; the state is left alone while it retries. */
static void test_refused_key(void **state)
{
	(void)state;
	enum acme_status refused[] = { ACME_E_UNAUTHORIZED, ACME_E_BADPUBLICKEY,
	                               ACME_E_MALFORMED, ACME_E_NOACCOUNT };
	long long block = -7;

	for (size_t i = 0; i < 4; i++) {
		struct outcome out = { 0 };
		struct acme_failure f = failure(refused[i]);
		f.key_moved = true;
		f.attempt = 50;
		assert_int_equal(acme_outcome_decide(&f, "authorization", &out, &block),
		                 ACME_EFFECT_RELOAD);
		assert_int_equal(out.kind, OUT_RETRY);
		assert_int_equal(out.delay_ms, 0);
		assert_state(&out, KEEP);
		f.key_moved = false;
		f.attempt = KEY_REFUSED_RETRIES - 1;
		memset(&out, 0, sizeof(out));
		assert_int_equal(acme_outcome_decide(&f, "authorization", &out, &block),
		                 ACME_EFFECT_RELOAD);
		assert_int_equal(out.delay_ms, 1000);
		assert_state(&out, KEEP);
	}
	struct outcome out = { 0 };
	struct acme_failure f = failure(ACME_E_UNAUTHORIZED);
	f.attempt = KEY_REFUSED_RETRIES;
	assert_int_equal(acme_outcome_decide(&f, "new order", &out, &block), ACME_EFFECT_NONE);
	assert_int_equal(out.kind, OUT_FAIL);
	assert_state(&out, STATE_FAILED);
	assert_string_equal(out.reason, "new order: the CA says no (urn:ietf:params:acme:error:x)");
	assert_int_equal(block, -7);
}

/* A retryable error (network, 5xx, badNonce) retries after its Retry-After
 * or the backoff, the state left alone; a permanent one fails. */
static void test_retryable_and_permanent(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	struct acme_failure f = failure(ACME_E_NETWORK);
	long long block = 0;

	assert_true(acme_status_retryable(ACME_E_NETWORK));
	assert_int_equal(acme_outcome_decide(&f, "order", &out, &block), ACME_EFFECT_NONE);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, -1);
	assert_state(&out, KEEP);
	assert_string_equal(out.reason, "order: the CA says no");
	assert_true(out.outage);          /* the CA failing gives up no domain */
	f = failure(ACME_E_SERVER);
	f.retry_after_ms = 5000;
	acme_outcome_decide(&f, "order", &out, &block);
	assert_int_equal(out.delay_ms, 5000);
	memset(&out, 0, sizeof(out));
	f = failure(ACME_E_REJECTEDID);
	acme_outcome_decide(&f, "new order", &out, &block);
	assert_int_equal(out.kind, OUT_FAIL);
	assert_state(&out, STATE_FAILED);
	assert_false(out.outage);
}

/* newOrder failed with the CA down: the new-order line is blocked until
 * the job's next try (the CA's Retry-After, else its next backoff's
 * ceiling), which grows with the attempts to the cap; not for a wait or
 * a permanent failure. */
static void test_outage_blocks_the_line(void **state)
{
	(void)state;
	struct stage_policy pol = { .base_ms = 200, .cap_ms = 5000, .max_attempts = 20 };
	struct acme_failure f = failure(ACME_E_NETWORK);
	struct outcome out = { 0 };
	long long block = 0;

	acme_outcome_decide(&f, "new order", &out, &block);
	assert_int_equal(co_outage_block(&out, &pol, 0), 200);
	assert_int_equal(co_outage_block(&out, &pol, 3), 1600);
	assert_int_equal(co_outage_block(&out, &pol, 30), 5000);
	memset(&out, 0, sizeof(out));
	f = failure(ACME_E_SERVER);
	f.retry_after_ms = 30000;
	acme_outcome_decide(&f, "new order", &out, &block);
	assert_int_equal(co_outage_block(&out, &pol, 0), 5000);   /* capped */
	f.retry_after_ms = 3000;
	memset(&out, 0, sizeof(out));
	acme_outcome_decide(&f, "new order", &out, &block);
	assert_int_equal(co_outage_block(&out, &pol, 0), 3000);
	memset(&out, 0, sizeof(out));
	f = failure(ACME_E_RATELIMITED);       /* blocked by acme_outcome already */
	acme_outcome_decide(&f, "new order", &out, &block);
	assert_int_equal(co_outage_block(&out, &pol, 0), 0);
	memset(&out, 0, sizeof(out));
	f = failure(ACME_E_REJECTEDID);
	acme_outcome_decide(&f, "new order", &out, &block);
	assert_int_equal(co_outage_block(&out, &pol, 0), 0);
}

#define INTERVAL 30000LL    /* dns.confirmation_interval_ms */
#define HOUR 3600000LL

/* A verification of the last CO_STALE_INTERVALS intervals is trusted; an
 * older one, one in the future (forged) or none is looked at again. */
static void test_verification_stale(void **state)
{
	(void)state;
	long long now = (long long)T0;

	assert_false(co_stale(now, T0, INTERVAL));
	assert_false(co_stale(now - 4 * INTERVAL, T0, INTERVAL));
	assert_true(co_stale(now - 4 * INTERVAL - 1, T0, INTERVAL));
	assert_true(co_stale(now - 96 * HOUR, T0, INTERVAL));   /* days in line */
	assert_true(co_stale(now + 1, T0, INTERVAL));           /* in the future */
	assert_true(co_stale(0, T0, INTERVAL));                 /* absent (ctx full) */
	assert_true(co_stale(-5, T0, INTERVAL));
}

static struct dns_check_result check(enum dns_check_status st)
{
	struct dns_check_result r = { .status = st };
	snprintf(r.detail, sizeof(r.detail), "auth 192.0.2.1:53 NXDOMAIN");
	return r;
}

/* The delegation is still there (seen everywhere, whether or not this one
 * look completes the confirmations): the order goes on. */
static void test_look_delegated(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	struct dns_check_result r = check(DNS_CHECK_OK);
	long long old = (long long)T0 - 96 * HOUR;

	assert_int_equal(co_look("a.example", "t.v.test", &r, old, T0, 4 * INTERVAL, &out),
	                 CO_LOOK_PRESENT);
	r = check(DNS_CHECK_CONFIRMING);
	assert_int_equal(co_look("a.example", "t.v.test", &r, 0, T0, 4 * INTERVAL, &out),
	                 CO_LOOK_PRESENT);
	assert_int_equal(out.kind, OUT_NONE);
}

/* waiting-cname: a definite answer that it is not delegated to us (what
 * verify-cname finds not delegated) sends the job back to verify-cname
 * with verified_gen deleted: no order. */
static void test_look_not_delegated(void **state)
{
	(void)state;
	enum dns_check_status definite[] = { DNS_CHECK_MISMATCH, DNS_CHECK_NS_DELEGATED,
	                                     DNS_CHECK_ERROR };

	for (size_t i = 0; i < 3; i++) {
		struct outcome out = { 0 };
		struct dns_check_result r = check(definite[i]);
		/* however young the verification: the answer is certain */
		assert_int_equal(co_look("a.example", "t.v.test", &r, (long long)T0 - HOUR, T0,
		                         4 * INTERVAL, &out), CO_LOOK_STOP);
		assert_int_equal(out.kind, OUT_ADVANCE);
		assert_int_equal(out.next, STAGE_VERIFY_CNAME);
		assert_state(&out, STATE_WAITING_CNAME);
		assert_event_is(&out, NO_EVENT);
		assert_non_null(out.clear);
		assert_string_equal(out.clear, "verified_gen verified_at rl_slot rl_shift");
		assert_reason_has(&out, "_acme-challenge.a.example is no longer a CNAME to t.v.test");
		assert_reason_has(&out, "NXDOMAIN");
	}
}

/* A transient failure (SERVFAIL, a timeout) is no reason to give up the
 * order: a verification under a day old is trusted, an older one (or one
 * absent, or forged in the future) waits; never an attempt, never a
 * failure. */
static void test_look_transient(void **state)
{
	(void)state;
	struct dns_check_result r = check(DNS_CHECK_TRANSIENT);
	long long young[] = { (long long)T0 - HOUR, (long long)T0 - CO_UNSURE_MAX_MS };
	long long old[] = { (long long)T0 - CO_UNSURE_MAX_MS - 1, 0, (long long)T0 + 1 };

	for (size_t i = 0; i < 2; i++) {
		struct outcome out = { 0 };
		assert_int_equal(co_look("a.example", "t", &r, young[i], T0, 4 * INTERVAL, &out),
		                 CO_LOOK_UNSURE);
		assert_int_equal(out.kind, OUT_NONE);
	}
	for (size_t i = 0; i < 3; i++) {
		struct outcome out = { 0 };
		assert_int_equal(co_look("a.example", "t", &r, old[i], T0, 4 * INTERVAL, &out),
		                 CO_LOOK_STOP);
		assert_int_equal(out.kind, OUT_RETRY);
		assert_int_equal(out.delay_ms, 4 * INTERVAL);
		assert_true(out.wait);
		assert_null(out.clear);
		assert_state(&out, STATE_ORDERING);
		assert_reason_has(&out, "_acme-challenge.a.example");
		assert_reason_has(&out, "no verification of the last day");
	}
}

/* A place read from the record is one the bucket could have given, or
 * none: a value written by hand takes a new place instead of overflowing
 * the bucket's arithmetic. */
static void test_ticket_sane(void **state)
{
	(void)state;
	long long now = (long long)T0, day = 86400000LL, period = 3 * 3600 * 1000LL;

	assert_true(co_ticket_sane(0, 0, T0, period));
	assert_true(co_ticket_sane(now + 100 * 3600000LL, 7 * day, T0, period));
	assert_true(co_ticket_sane(now - 30 * day, 0, T0, period));
	assert_false(co_ticket_sane(1, 0, T0, period));
	assert_false(co_ticket_sane(-5, 0, T0, period));
	assert_false(co_ticket_sane(9000000000000000000LL, 0, T0, period));
	assert_false(co_ticket_sane(now, -9000000000000000000LL, T0, period));
	assert_false(co_ticket_sane(now, 900 * day, T0, period));
	assert_false(co_ticket_sane(0, 5, T0, period));
}

/* ordering: the record's "cas" names only CAs this configuration does not
 * offer the job's tenant (a CA removed from acme.cas, a tenant pinned
 * anew): back to verify-cname with "cas" dropped, which checks CAA against
 * the CAs configured now - not a wait in create-order for ever. */
static void test_none_allowed_verifies_again(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	co_none_allowed("no configured CA is allowed by CAA", &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_VERIFY_CNAME);
	assert_state(&out, STATE_VERIFYING);
	assert_event_is(&out, NO_EVENT);
	assert_false(out.wait);
	assert_non_null(strstr(out.reason, "no configured CA is allowed"));
	assert_non_null(out.clear);
	/* the CAs are written anew, and the verification and place with them */
	const char *need[] = { "cas", "verified_gen", "verified_at", "rl_slot", "rl_shift",
	                       "rl_ca" };
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		char f[32];
		snprintf(f, sizeof(f), " %s ", need[i]);
		char all[128];
		snprintf(all, sizeof(all), " %s ", out.clear);
		assert_non_null(strstr(all, f));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_order_reused),
		cmocka_unit_test(test_valid_order_with_key_finalizes),
		cmocka_unit_test(test_order_replaced_or_failed),
		cmocka_unit_test(test_failed_authz_bucket_waits),
		cmocka_unit_test(test_place_in_line_waits),
		cmocka_unit_test(test_limiter_redis_failure),
		cmocka_unit_test(test_one_newOrder_at_a_time),
		cmocka_unit_test(test_lease_written),
		cmocka_unit_test(test_ordered),
		cmocka_unit_test(test_ca_rate_limited_blocks),
		cmocka_unit_test(test_refused_key),
		cmocka_unit_test(test_retryable_and_permanent),
		cmocka_unit_test(test_outage_blocks_the_line),
		cmocka_unit_test(test_ticket_sane),
		cmocka_unit_test(test_verification_stale),
		cmocka_unit_test(test_look_delegated),
		cmocka_unit_test(test_look_not_delegated),
		cmocka_unit_test(test_look_transient),
		cmocka_unit_test(test_none_allowed_verifies_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
