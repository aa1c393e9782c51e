/* provision_txt_policy: provision-txt's decisions, one test per row of
 * schemas/lifecycle.md that names provision-txt (States: provisioning,
 * validating, failed after lifecycle.propagation_timeout_ms, ordering via
 * the order's fetch; the record's "txt": the old and the new values
 * together, then the new alone; "What is checked against the world": the
 * TXT is published, republished at most once per poll when a server says
 * for certain it is absent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "provision_txt_policy.h"
#include "stage_assert.h"

#define T0 1800000000000ULL
#define POLL 2000
#define TIMEOUT 3600000

/* validating: an order already valid or invalid has nothing to publish;
 * a pending one goes on; another poll result is a failed ACME call. */
static void test_order_poll(void **state)
{
	(void)state;
	enum acme_status done[] = { ACME_OK, ACME_E_INVALID };

	for (size_t i = 0; i < 2; i++) {
		struct outcome out = { 0 };
		assert_int_equal(pt_order(done[i], &out), PT_STOP);
		assert_int_equal(out.kind, OUT_ADVANCE);
		assert_int_equal(out.next, STAGE_FINALIZE);
		assert_int_equal(out.delay_ms, 0);
		assert_state(&out, STATE_VALIDATING);
	}
	struct outcome out = { 0 };
	assert_int_equal(pt_order(ACME_PENDING, &out), PT_GO);
	assert_int_equal(pt_order(ACME_E_SERVER, &out), PT_ACME_FAILED);
	assert_int_equal(out.kind, OUT_NONE);
}

/* Only pending authorizations are published; one without a dns-01
 * challenge, or whose value cannot be made, fails the domain. */
static void test_authorizations(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	assert_int_equal(pt_authz(ACME_OK, "pending", "a.example", true, true, &out), PT_GO);
	assert_int_equal(pt_authz(ACME_OK, "valid", "a.example", true, true, &out), PT_SKIP);
	assert_int_equal(pt_authz(ACME_E_TIMEOUT, NULL, NULL, false, false, &out),
	                 PT_ACME_FAILED);
	assert_int_equal(out.kind, OUT_NONE);
	assert_int_equal(pt_authz(ACME_OK, "pending", "a.example", false, false, &out), PT_STOP);
	assert_int_equal(out.kind, OUT_FAIL);
	assert_state(&out, STATE_FAILED);
	assert_string_equal(out.reason, "the CA offers no dns-01 challenge for a.example");
	memset(&out, 0, sizeof(out));
	assert_int_equal(pt_authz(ACME_OK, "pending", "b.example", true, false, &out), PT_STOP);
	assert_state(&out, STATE_FAILED);
	assert_string_equal(out.reason, "no TXT value for b.example");
}

static const char *const T[] = { "t1.zone", "t2.zone" };
static const char *const V[] = { "new1", "new2" };

/* Nothing is written when exactly these values are recorded. */
static void test_publish_unchanged(void **state)
{
	(void)state;
	struct pt_publish plan;
	struct outcome out = { 0 };

	assert_true(pt_publish_plan("t1.zone new1;t2.zone new2", T, V, 2, &plan, &out));
	assert_true(plan.unchanged);
	assert_string_equal(plan.list, "t1.zone new1;t2.zone new2");
	assert_int_equal(out.kind, OUT_NONE);
}

/* First publication: recorded, then added; nothing to remove. */
static void test_publish_first(void **state)
{
	(void)state;
	struct pt_publish plan;
	struct outcome out = { 0 };

	assert_true(pt_publish_plan("", T, V, 2, &plan, &out));
	assert_false(plan.unchanged);
	assert_string_equal(plan.both, "t1.zone new1;t2.zone new2");
	assert_int_equal(plan.old.n, 0);
}

/* A rotated key: the record covers the old and the new values together,
 * the old ones no longer wanted are removed, and only then the new ones
 * alone are recorded.  A value still wanted is not removed. */
static void test_publish_rotated(void **state)
{
	(void)state;
	struct pt_publish plan;
	struct outcome out = { 0 };
	const char *was = "t1.zone old1;t2.zone new2;broken";

	assert_true(pt_publish_plan(was, T, V, 2, &plan, &out));
	assert_false(plan.unchanged);
	assert_string_equal(plan.both, "t1.zone old1;t2.zone new2;broken;"
	                    "t1.zone new1;t2.zone new2");
	assert_string_equal(plan.list, "t1.zone new1;t2.zone new2");
	assert_int_equal(plan.old.n, 2);        /* "broken" has no value */
	assert_string_equal(plan.old.e[0].name, "t1.zone");
	assert_string_equal(plan.old.e[0].value, "old1");
	assert_true(plan.remove[0]);
	assert_false(plan.remove[1]);
}

/* failed: too many values for one record. */
static void test_publish_too_many(void **state)
{
	(void)state;
	static char big[TXT_LIST_MAX];
	const char *t[1] = { big }, *v[1] = { "x" };
	struct pt_publish plan;
	struct outcome out = { 0 };

	memset(big, 'a', sizeof(big) - 1);
	assert_false(pt_publish_plan("", t, v, 1, &plan, &out));
	assert_int_equal(out.kind, OUT_FAIL);
	assert_state(&out, STATE_FAILED);
	assert_string_equal(out.reason, "too many TXT values for one domain record");
}

/* A provider's transient failure retries ("provisioning"), a permanent
 * one fails; a removal that fails for good does not hold the stage. */
static void test_provider_failures(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	assert_true(pt_txt_failed(PT_ADD, TXT_OK, "t1.zone", "", &out));
	assert_int_equal(out.kind, OUT_NONE);
	assert_false(pt_txt_failed(PT_ADD, TXT_TRANSIENT, "t1.zone", "timeout", &out));
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, -1);
	assert_state(&out, STATE_PROVISIONING);
	assert_string_equal(out.reason, "publishing the TXT at t1.zone: timeout");
	memset(&out, 0, sizeof(out));
	assert_false(pt_txt_failed(PT_ADD_AGAIN, TXT_PERMANENT, "t1.zone", "REFUSED", &out));
	assert_int_equal(out.kind, OUT_FAIL);
	assert_state(&out, STATE_FAILED);
	assert_string_equal(out.reason, "publishing the TXT at t1.zone again: REFUSED");
	memset(&out, 0, sizeof(out));
	assert_false(pt_txt_failed(PT_REMOVE, TXT_TRANSIENT, "t1.zone", "timeout", &out));
	assert_state(&out, STATE_PROVISIONING);
	assert_string_equal(out.reason, "removing the TXT at t1.zone: timeout");
	memset(&out, 0, sizeof(out));
	assert_true(pt_txt_failed(PT_REMOVE, TXT_INVALID, "t1.zone", "bad", &out));
	assert_int_equal(out.kind, OUT_NONE);
}

static struct dns_check_result prop(enum dns_check_status st, enum dns_outcome seen)
{
	struct dns_check_result r;
	memset(&r, 0, sizeof(r));
	r.status = st;
	r.n_vantage = 2;
	r.vantage[0].outcome = DNS_MATCH;
	r.vantage[1].outcome = seen;
	snprintf(r.detail, sizeof(r.detail), "auth 192.0.2.2:53 says so");
	return r;
}

/* provisioning: not on every server yet: wait, not an attempt. */
static void test_not_everywhere_waits(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	struct dns_check_result r = prop(DNS_CHECK_TRANSIENT, DNS_TIMEOUT);

	assert_int_equal(pt_propagation(&r, "t1.zone", T0 + 5000, T0, 0, POLL, TIMEOUT, &out),
	                 PT_WAIT);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, POLL);
	assert_true(out.wait);
	assert_state(&out, STATE_PROVISIONING);
	assert_string_equal(out.reason, "TXT at t1.zone not everywhere yet: "
	                    "auth 192.0.2.2:53 says so");
	struct dns_check_result ok = prop(DNS_CHECK_OK, DNS_MATCH);
	memset(&out, 0, sizeof(out));
	assert_int_equal(pt_propagation(&ok, "t1.zone", T0 + 5000, T0, 0, POLL, TIMEOUT, &out),
	                 PT_PROPAGATED);
	assert_int_equal(out.kind, OUT_NONE);
}

/* A server that says for certain the value is absent (NXDOMAIN, NODATA,
 * other values) makes it publish again, at most once per poll; a timeout
 * does not. */
static void test_absent_republishes_once_per_poll(void **state)
{
	(void)state;
	enum dns_outcome absent[] = { DNS_NXDOMAIN, DNS_NODATA, DNS_DIFFERENT };

	for (size_t i = 0; i < 3; i++) {
		struct outcome out = { 0 };
		struct dns_check_result r = prop(DNS_CHECK_MISMATCH, absent[i]);
		assert_int_equal(pt_propagation(&r, "t1.zone", T0 + 5000, T0, 0, POLL, TIMEOUT,
		                                &out), PT_REPUBLISH);
		assert_int_equal(out.kind, OUT_NONE);
		assert_int_equal(pt_propagation(&r, "t1.zone", T0 + 5000, T0, T0 + 5000 - POLL,
		                                POLL, TIMEOUT, &out), PT_REPUBLISH);
		memset(&out, 0, sizeof(out));
		assert_int_equal(pt_propagation(&r, "t1.zone", T0 + 5000, T0, T0 + 4000, POLL,
		                                TIMEOUT, &out), PT_WAIT);
		assert_true(out.wait);
	}
	struct outcome out = { 0 };
	struct dns_check_result r = prop(DNS_CHECK_TRANSIENT, DNS_SERVFAIL);
	assert_int_equal(pt_propagation(&r, "t1.zone", T0 + 5000, T0, 0, POLL, TIMEOUT, &out),
	                 PT_WAIT);
}

/* failed: still not everywhere lifecycle.propagation_timeout_ms after
 * entering the stage. */
static void test_propagation_timeout_fails(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	struct dns_check_result r = prop(DNS_CHECK_MISMATCH, DNS_NXDOMAIN);

	assert_int_equal(pt_propagation(&r, "t1.zone", T0 + TIMEOUT, T0, 0, POLL, TIMEOUT,
	                                &out), PT_REPUBLISH);
	assert_int_equal(pt_propagation(&r, "t1.zone", T0 + TIMEOUT + 1, T0, 0, POLL, TIMEOUT,
	                                &out), PT_FAILED);
	assert_int_equal(out.kind, OUT_FAIL);
	assert_state(&out, STATE_FAILED);
	assert_string_equal(out.reason, "TXT at t1.zone not everywhere after 3600 s: "
	                    "auth 192.0.2.2:53 says so");
}

/* validating: every value everywhere, challenges answered: finalize after
 * lifecycle.authz_poll_ms. */
static void test_answered(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	pt_answered(1000, &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_FINALIZE);
	assert_int_equal(out.delay_ms, 1000);
	assert_state(&out, STATE_VALIDATING);
	assert_event_is(&out, NO_EVENT);
}

/* The record's list is parsed once: entries without a value are skipped. */
static void test_txt_list(void **state)
{
	(void)state;
	struct txt_list l;
	const char *n[] = { "a.zone", "b.zone" }, *v[] = { "1", "2" };
	char out[64];

	txt_list_parse(&l, "a.zone 1;;junk;b.zone 2");
	assert_int_equal(l.n, 2);
	assert_string_equal(l.e[1].name, "b.zone");
	assert_string_equal(l.e[1].value, "2");
	txt_list_parse(&l, NULL);
	assert_int_equal(l.n, 0);
	assert_int_equal(txt_list_format(n, v, 2, out, sizeof(out)), 0);
	assert_string_equal(out, "a.zone 1;b.zone 2");
	assert_int_equal(txt_list_format(n, v, 2, out, 10), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_poll),
		cmocka_unit_test(test_authorizations),
		cmocka_unit_test(test_publish_unchanged),
		cmocka_unit_test(test_publish_first),
		cmocka_unit_test(test_publish_rotated),
		cmocka_unit_test(test_publish_too_many),
		cmocka_unit_test(test_provider_failures),
		cmocka_unit_test(test_not_everywhere_waits),
		cmocka_unit_test(test_absent_republishes_once_per_poll),
		cmocka_unit_test(test_propagation_timeout_fails),
		cmocka_unit_test(test_answered),
		cmocka_unit_test(test_txt_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
