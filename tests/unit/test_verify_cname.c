/* verify_policy: verify-cname's decisions, one test per row of
 * schemas/lifecycle.md that names verify-cname (States: verifying,
 * waiting-cname, caa-blocked, ordering, abandoned; Events: abandoned,
 * caa-blocked; the claim of a job without a generation, "Tenants"; the
 * nudge, "Nudging"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "stage_assert.h"
#include "verify_policy.h"

#define DAY (24LL * 3600 * 1000)
#define T0 1800000000000ULL

static struct dns_check_result deleg(enum dns_check_status st, const char *detail)
{
	struct dns_check_result r;
	memset(&r, 0, sizeof(r));
	r.status = st;
	r.needed = 3;
	r.retry_after_ms = 60000;
	snprintf(r.detail, sizeof(r.detail), "%s", detail);
	return r;
}

/* queued/verifying -> verifying: seen everywhere, confirmation k of n. */
static void test_confirming_is_verifying(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	struct dns_check_result r = deleg(DNS_CHECK_CONFIRMING, "");

	assert_int_equal(vc_delegation("example.com", "t.zone", &r, &out), VC_CONFIRMING);
	assert_int_equal(out.kind, OUT_NONE);     /* the next name is checked */
	vc_confirming(1, r.needed, r.retry_after_ms, &out);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, 60000);   /* dns.confirmation_interval_ms */
	assert_state(&out, STATE_VERIFYING);
	assert_event_is(&out, NO_EVENT);
	assert_string_equal(out.reason, "delegation seen everywhere: confirmation 2 of 3");
}

/* waiting-cname: not a CNAME to the target; the confirmations are forgotten
 * and the stage's backoff applies (delay -1). */
static void test_wrong_delegation_waits_and_forgets(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	struct dns_check_result r = deleg(DNS_CHECK_MISMATCH, "ns1 says x.other");

	assert_int_equal(vc_delegation("example.com", "t.zone", &r, &out), VC_STOP_FORGET);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, -1);
	assert_state(&out, STATE_WAITING_CNAME);
	assert_string_equal(out.reason, "_acme-challenge.example.com must be a CNAME to "
	                    "t.zone: ns1 says x.other");
}

/* waiting-cname: the lookup failed (transient): the count is kept. */
static void test_transient_lookup_waits_and_keeps(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	struct dns_check_result r = deleg(DNS_CHECK_TRANSIENT, "timeout at ns2");

	assert_int_equal(vc_delegation("example.com", "t.zone", &r, &out), VC_STOP);
	assert_state(&out, STATE_WAITING_CNAME);
	assert_string_equal(out.reason, "_acme-challenge.example.com: timeout at ns2");
	assert_int_equal(out.delay_ms, -1);
}

static struct caa_result caa(enum caa_verdict v)
{
	struct caa_result r;
	memset(&r, 0, sizeof(r));
	r.verdict = v;
	snprintf(r.record, sizeof(r.record), "example.com CAA 0 issue \"other.ca\"");
	snprintf(r.detail, sizeof(r.detail), "not our CA");
	return r;
}

/* caa-blocked, with the event once per stay in the state. */
static void test_caa_forbidden_blocks_event_once(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	struct caa_result r = caa(CAA_FORBIDDEN);

	assert_false(vc_caa("www.example.com", &r, "verifying", &out));
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, -1);
	assert_state(&out, STATE_CAA_BLOCKED);
	assert_event_is(&out, EVENT_CAA_BLOCKED);
	assert_string_equal(out.reason, "CAA forbids issuance for www.example.com: "
	                    "example.com CAA 0 issue \"other.ca\" (not our CA)");
	memset(&out, 0, sizeof(out));
	assert_false(vc_caa("www.example.com", &r, "caa-blocked", &out));
	assert_state(&out, STATE_CAA_BLOCKED);
	assert_event_is(&out, NO_EVENT);
}

/* verifying: a CAA lookup that was inconclusive (transient, or not to be
 * evaluated); allowed passes. */
static void test_caa_inconclusive_is_verifying(void **state)
{
	(void)state;
	enum caa_verdict vs[] = { CAA_TRANSIENT, CAA_ERROR };

	for (size_t i = 0; i < 2; i++) {
		struct outcome out = { 0 };
		struct caa_result r = caa(vs[i]);
		assert_false(vc_caa("example.com", &r, "verifying", &out));
		assert_state(&out, STATE_VERIFYING);
		assert_event_is(&out, NO_EVENT);
		assert_string_equal(out.reason, "CAA of example.com: not our CA");
	}
	struct outcome out = { 0 };
	struct caa_result ok = caa(CAA_ALLOWED);
	assert_true(vc_caa("example.com", &ok, "caa-blocked", &out));
	assert_int_equal(out.kind, OUT_NONE);
}

/* ordering: delegation and CAA passed: on to create-order. */
static void test_verified_orders(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	struct dns_check_result r = deleg(DNS_CHECK_OK, "");

	assert_int_equal(vc_delegation("example.com", "t.zone", &r, &out), VC_NEXT);
	assert_int_equal(out.kind, OUT_NONE);
	vc_verified(&out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_CREATE_ORDER);
	assert_state(&out, STATE_ORDERING);
	assert_event_is(&out, NO_EVENT);
}

/* abandoned: no confirmed delegation within lifecycle.verify_max_wait_ms;
 * the event's detail gives the wait in whole days and the last error. */
static void test_abandoned_after_the_wait(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	assert_false(vc_abandoned(T0 + 30 * DAY, T0, 30 * DAY, "x", &out));
	assert_int_equal(out.kind, OUT_NONE);
	assert_true(vc_abandoned(T0 + 30 * DAY + 1, T0, 30 * DAY,
	                         "_acme-challenge.example.com: timeout", &out));
	assert_int_equal(out.kind, OUT_DONE);
	assert_state(&out, STATE_ABANDONED);
	assert_event_is(&out, EVENT_ABANDONED);
	assert_string_equal(out.reason, "no delegation after 30 days: "
	                    "_acme-challenge.example.com: timeout");
}

/* CLAIM: another tenant's name is a dead letter that leaves the state; a
 * running pipeline was nudged and this job is done; else it runs. */
static void test_claim_answers(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	assert_false(vc_claimed(-1, "refused: www.example.com is held by another tenant "
	                        "(domain example.com)", &out));
	assert_int_equal(out.kind, OUT_FAIL);
	assert_state(&out, KEEP);
	assert_event_is(&out, EVENT_DEAD_LETTER);
	assert_reason_has(&out, "held by another tenant");
	memset(&out, 0, sizeof(out));
	assert_false(vc_claimed(0, NULL, &out));
	assert_int_equal(out.kind, OUT_DONE);
	assert_state(&out, KEEP);
	assert_event_is(&out, NO_EVENT);
	memset(&out, 0, sizeof(out));
	assert_true(vc_claimed(7, NULL, &out));
	assert_int_equal(out.kind, OUT_NONE);
}

/* A nudge the job has not seen starts the backoff again. */
static void test_nudge_seen_once(void **state)
{
	(void)state;
	assert_true(vc_nudged(100, 0));
	assert_true(vc_nudged(200, 100));
	assert_false(vc_nudged(100, 100));
	assert_false(vc_nudged(0, 0));
}

/* The backoff never sleeps past the end of the wait for the customer (so
 * the domain is abandoned on time); a delay of its own is kept. */
static void test_wake_by_deadline(void **state)
{
	(void)state;
	struct stage_policy pol = { .base_ms = 10000, .cap_ms = 3600000, .max_attempts = 0 };
	struct outcome out = { .kind = OUT_RETRY, .delay_ms = -1 };

	vc_wake_by_deadline(&pol, 20, T0 + 30 * DAY - 5000, T0, 30 * DAY, ~0ULL, &out);
	assert_true(out.delay_ms >= 0 && out.delay_ms <= 5001);
	out.delay_ms = -1;
	vc_wake_by_deadline(&pol, 0, T0, T0, 30 * DAY, 12345, &out);
	assert_true(out.delay_ms >= 0 && out.delay_ms <= 10000);
	out.delay_ms = 60000;
	vc_wake_by_deadline(&pol, 20, T0 + 30 * DAY - 5000, T0, 30 * DAY, 1, &out);
	assert_int_equal(out.delay_ms, 60000);
	struct outcome adv = { .kind = OUT_ADVANCE };
	vc_wake_by_deadline(&pol, 20, T0, T0, 30 * DAY, 1, &adv);
	assert_int_equal(adv.delay_ms, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_confirming_is_verifying),
		cmocka_unit_test(test_wrong_delegation_waits_and_forgets),
		cmocka_unit_test(test_transient_lookup_waits_and_keeps),
		cmocka_unit_test(test_caa_forbidden_blocks_event_once),
		cmocka_unit_test(test_caa_inconclusive_is_verifying),
		cmocka_unit_test(test_verified_orders),
		cmocka_unit_test(test_abandoned_after_the_wait),
		cmocka_unit_test(test_claim_answers),
		cmocka_unit_test(test_nudge_seen_once),
		cmocka_unit_test(test_wake_by_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
