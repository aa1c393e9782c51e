/* finalize_policy: finalize's decisions, one test per row of
 * schemas/lifecycle.md that names finalize (States: validating,
 * finalizing, issued, waiting-cname after an invalid authorization,
 * failed, ordering when the finalized order's key was lost; Events:
 * issued, authz-invalid, challenge-error, failed; "Renewal": renew_at without ARI; the
 * order's fields leaving the record with the commit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "finalize_policy.h"
#include "stage_assert.h"

#define H 3600000LL
#define DAY (24 * H)

/* validating: the CA is still validating an authorization (its
 * Retry-After, else lifecycle.authz_poll_ms): a wait. */
static void test_authz_pending_waits(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	assert_int_equal(fz_authz(ACME_OK, "valid", "a.example", -1, 1000, &out), FZ_GO);
	assert_int_equal(out.kind, OUT_NONE);
	assert_int_equal(fz_authz(ACME_PENDING, "pending", "a.example", -1, 1000, &out),
	                 FZ_WAIT);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, 1000);
	assert_true(out.wait);
	assert_state(&out, STATE_VALIDATING);
	assert_string_equal(out.reason, "the CA is validating a.example");
	fz_authz(ACME_PENDING, "pending", "a.example", 7000, 1000, &out);
	assert_int_equal(out.delay_ms, 7000);
}

/* validating, event challenge-error: a CA that keeps a failed challenge
 * pending (RFC 8555 section 8.2, step-ca) has its error shown in the
 * reason, the event once per new error; without an error fz_authz's
 * outcome stands. */
static void test_pending_shows_the_challenge_error(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	char detail[256] = "";

	fz_authz(ACME_PENDING, "pending", "a.example", -1, 1000, &out);
	assert_int_equal(fz_pending("a.example", "", false, 5000, 60000, -1, 1000, detail,
	                            sizeof(detail), &out), FZ_WAIT);
	assert_string_equal(out.reason, "the CA is validating a.example");
	assert_null(out.event);
	assert_string_equal(detail, "");
	assert_int_equal(fz_pending("a.example", "no TXT record found", true, 5000, 60000, -1,
	                            1000, detail, sizeof(detail), &out), FZ_WAIT);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_true(out.wait);
	assert_int_equal(out.delay_ms, 1000);
	assert_state(&out, STATE_VALIDATING);
	assert_string_equal(out.reason, "the CA is validating a.example; its last try "
	                    "failed: no TXT record found");
	assert_event_is(&out, EVENT_CHALLENGE_ERROR);
	/* the same error again: no second event; the CA's Retry-After kept */
	memset(&out, 0, sizeof(out));
	fz_pending("a.example", "no TXT record found", false, 6000, 60000, 3000, 1000, detail,
	           sizeof(detail), &out);
	assert_null(out.event);
	assert_int_equal(out.delay_ms, 3000);
	assert_string_equal(detail, "");
}

/* A CA's Retry-After on a pending authorization (up to 7 days) does not
 * push the next look past lifecycle.validation_timeout_ms. */
static void test_pending_retry_after_bounded(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	char detail[256] = "";
	long long week = 7LL * 86400000;

	fz_authz(ACME_PENDING, "pending", "a.example", week, 1000, &out);
	assert_int_equal(fz_pending("a.example", "", false, 5000, 60000, week, 1000, detail,
	                            sizeof(detail), &out), FZ_WAIT);
	assert_int_equal(out.delay_ms, 55001);
	memset(&out, 0, sizeof(out));
	assert_int_equal(fz_pending("a.example", "no TXT record found", true, 59000, 60000, week,
	                            1000, detail, sizeof(detail), &out), FZ_WAIT);
	assert_int_equal(out.delay_ms, 1001);
	/* a short one stands */
	memset(&out, 0, sizeof(out));
	fz_pending("a.example", "no TXT record found", false, 1000, 60000, 3000, 1000, detail,
	           sizeof(detail), &out);
	assert_int_equal(out.delay_ms, 3000);
}

/* authz-invalid after lifecycle.validation_timeout_ms without a verdict:
 * the detail for fz_invalid says how long and what the CA saw last. */
static void test_pending_too_long_is_invalid(void **state)
{
	(void)state;
	struct outcome out = { 0 };
	char detail[256] = "";

	assert_int_equal(fz_pending("a.example", "no TXT record found", false, 61000, 60000, -1,
	                            1000, detail, sizeof(detail), &out), FZ_INVALID);
	assert_int_equal(out.kind, OUT_NONE);
	assert_string_equal(detail, "no verdict 61 s after the challenge was answered; "
	                    "the CA's last error: no TXT record found");
	assert_int_equal(fz_pending("a.example", NULL, false, 60001, 60000, -1, 1000, detail,
	                            sizeof(detail), &out), FZ_INVALID);
	assert_string_equal(detail, "no verdict 60 s after the challenge was answered");
	/* exactly at the bound it still waits */
	assert_int_equal(fz_pending("a.example", NULL, false, 60000, 60000, -1, 1000, detail,
	                            sizeof(detail), &out), FZ_WAIT);
	/* a hostile length is cut, never overrun */
	char big[2000], small[40];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fz_pending("a.example", big, true, 70000, 60000, -1, 1000, small, sizeof(small), &out);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	fz_pending("a.example", big, true, 1, 60000, -1, 1000, small, sizeof(small), &out);
	assert_int_equal(strlen(out.reason), sizeof(out.reason) - 1);
}

/* A key authorization the CA quotes (step-ca: "expected <token>.<thumb>")
 * never reaches last_error, the events or the log. */
static void test_redact(void **state)
{
	(void)state;
	char out[128];
	const char *tok = "kEU6RE1lhwgzsYDBGcO7NwCsbnqUzqcm";

	fz_redact("keyAuthorization does not match; expected kEU6RE1lhwgzsYDBGcO7NwCsbnqUzqcm."
	          "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs, but got [abc]", tok, out,
	          sizeof(out));
	assert_string_equal(out, "keyAuthorization does not match; expected "
	                    "[key authorization], but got [abc]");
	fz_redact("kEU6RE1lhwgzsYDBGcO7NwCsbnqUzqcm twice kEU6RE1lhwgzsYDBGcO7NwCsbnqUzqcm.x",
	          tok, out, sizeof(out));
	assert_string_equal(out, "[key authorization] twice [key authorization]");
	fz_redact("nothing to hide", NULL, out, sizeof(out));
	assert_string_equal(out, "nothing to hide");
	fz_redact(NULL, tok, out, sizeof(out));
	assert_string_equal(out, "");
	/* cut, never overrun, also in the middle of the replacement */
	char small[12];
	fz_redact("ab kEU6RE1lhwgzsYDBGcO7NwCsbnqUzqcm", tok, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_string_equal(small, "ab [key aut");
	fz_redact("abcdefghijklmnopq", tok, small, sizeof(small));
	assert_string_equal(small, "abcdefghijk");
	/* a hostile CA's control bytes never reach last_error or a terminal */
	fz_redact("line\nforged=1\r\x1b[2Jx\x7f\ty", NULL, out, sizeof(out));
	assert_string_equal(out, "line forged=1  [2Jx  y");
	/* nor half a character: "abcdefghi" then a 3-byte one cut after 2 */
	fz_redact("abcdefghi\xe2\x82\xac", NULL, small, sizeof(small));
	assert_string_equal(small, "abcdefghi");
	fz_redact("abcdefgh\xe2\x82\xac", NULL, small, sizeof(small));
	assert_string_equal(small, "abcdefgh\xe2\x82\xac");
	fz_redact("abcdefghij\xc3\xa9", NULL, small, sizeof(small));
	assert_string_equal(small, "abcdefghij");
}

/* The wait's start is the record's, for this order: a restart, a reclaim
 * or a job sent again (its "since" forged in the future) cannot hold off
 * lifecycle.validation_timeout_ms. */
static void test_validating_since(void **state)
{
	(void)state;
	char w[128];
	const char *url = "https://ca.example/order/1";

	/* first look: the job's since, to be kept */
	assert_int_equal(fz_validating_since(NULL, url, 1000, 5000, w, sizeof(w)), 1000);
	assert_string_equal(w, "1000 https://ca.example/order/1");
	/* kept: a later job's since (reset by a resend) does not move it */
	assert_int_equal(fz_validating_since("1000 https://ca.example/order/1", url, 4000, 9000,
	                                     w, sizeof(w)), 1000);
	assert_string_equal(w, "");
	/* a since in the future is now, never later */
	assert_int_equal(fz_validating_since(NULL, url, 99999999, 5000, w, sizeof(w)), 5000);
	assert_string_equal(w, "5000 https://ca.example/order/1");
	assert_int_equal(fz_validating_since(NULL, url, 0, 5000, w, sizeof(w)), 5000);
	/* another order's start, a start in the future or garbage: anew */
	assert_int_equal(fz_validating_since("10 https://ca.example/order/0", url, 3000, 5000,
	                                     w, sizeof(w)), 3000);
	assert_string_equal(w, "3000 https://ca.example/order/1");
	assert_int_equal(fz_validating_since("6000 https://ca.example/order/1", url, 3000, 5000,
	                                     w, sizeof(w)), 3000);
	assert_int_equal(fz_validating_since("x https://ca.example/order/1", url, 3000, 5000,
	                                     w, sizeof(w)), 3000);
	assert_int_equal(fz_validating_since("-5 https://ca.example/order/1", url, 3000, 5000,
	                                     w, sizeof(w)), 3000);
	/* too long to keep: measured, not written */
	char tiny[8];
	assert_int_equal(fz_validating_since(NULL, url, 3000, 5000, tiny, sizeof(tiny)), 3000);
	assert_string_equal(tiny, "");
}

/* A new error is an event, the same one is not, and a CA whose text
 * changes at every poll is told FZ_CHAL_EVENTS_MAX times, not forever. */
static void test_chal_event_bounded(void **state)
{
	(void)state;
	int64_t last = 0, told = 0;
	int events = 0;

	assert_false(fz_chal_event(0, 0, 0));
	assert_true(fz_chal_event(0, 0, 7));
	assert_false(fz_chal_event(7, 1, 7));
	assert_false(fz_chal_event(7, -1, 8));
	/* "try 1", "try 2", ... at every poll, or two texts in turn */
	for (int poll = 0; poll < 1000; poll++) {
		char text[32];
		snprintf(text, sizeof(text), "try %d", poll % 2 ? poll : 0);
		uint32_t id = fz_error_id(text);
		if (fz_chal_event(last, told, id)) {
			events++;
			told++;
		}
		last = id;
	}
	assert_int_equal(events, FZ_CHAL_EVENTS_MAX);
}

/* Each error is told from the others; none is 0. */
static void test_error_id(void **state)
{
	(void)state;
	assert_int_equal(fz_error_id(NULL), 0);
	assert_int_equal(fz_error_id(""), 0);
	assert_int_not_equal(fz_error_id("a"), 0);
	assert_int_not_equal(fz_error_id("no TXT record found"),
	                     fz_error_id("no TXT record found."));
	assert_int_equal(fz_error_id("x"), fz_error_id("x"));
}

/* An invalid authorization is the invalid way; another failure is a
 * failed ACME call. */
static void test_authz_invalid_or_failed(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	assert_int_equal(fz_authz(ACME_E_INVALID, "invalid", "a.example", -1, 1000, &out),
	                 FZ_INVALID);
	assert_int_equal(fz_authz(ACME_E_TIMEOUT, NULL, NULL, -1, 1000, &out), FZ_ACME_FAILED);
	assert_int_equal(out.kind, OUT_NONE);
}

/* waiting-cname, event authz-invalid every time: back to verify-cname
 * after lifecycle.invalid_backoff_ms doubled for every earlier invalid
 * one in a row (at most about 30 days); the order's fields and
 * verified_gen leave with the commit. */
static void test_invalid_backs_off(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	fz_invalid(1, 3, H, "a.example", "no TXT found", &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_VERIFY_CNAME);
	assert_int_equal(out.delay_ms, H);
	assert_state(&out, STATE_WAITING_CNAME);
	assert_event_is(&out, EVENT_AUTHZ_INVALID);
	assert_string_equal(out.reason, "the CA found a.example invalid: no TXT found");
	assert_string_equal(out.clear, FZ_ORDER_FIELDS " verified_gen");
	memset(&out, 0, sizeof(out));
	fz_invalid(2, 3, H, "a.example", "x", &out);
	assert_int_equal(out.delay_ms, 2 * H);
	memset(&out, 0, sizeof(out));
	fz_invalid(90, 100, DAY, "a.example", "x", &out);
	assert_true(out.delay_ms >= 30 * DAY && out.delay_ms < 60 * DAY);
	/* not counted (Redis failed): the first backoff */
	memset(&out, 0, sizeof(out));
	fz_invalid(-1, 3, H, "a.example", "x", &out);
	assert_int_equal(out.delay_ms, H);
	assert_event_is(&out, EVENT_AUTHZ_INVALID);
}

/* failed, event failed (no dead letter): the max_invalid_authz-th invalid
 * authorization in a row. */
static void test_invalid_too_often_fails(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	fz_invalid(3, 3, H, "a.example", "no TXT found", &out);
	assert_int_equal(out.kind, OUT_DONE);
	assert_state(&out, STATE_FAILED);
	assert_event_is(&out, EVENT_FAILED);
	assert_string_equal(out.reason, "authorization of a.example invalid 3 times in a "
	                    "row: no TXT found");
	assert_string_equal(out.clear, FZ_ORDER_FIELDS " verified_gen");
}

/* ordering: a valid order whose key was lost, or refused (in the clear
 * under a KEK, or not opening under it): a new order. */
static void test_key_lost_orders_again(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	fz_key_lost(false, NULL, &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_CREATE_ORDER);
	assert_state(&out, STATE_ORDERING);
	assert_string_equal(out.reason, "the key of the finalized order was lost; "
	                    "ordering again");
	memset(&out, 0, sizeof(out));
	fz_key_lost(true, "in the clear", &out);
	assert_state(&out, STATE_ORDERING);
	assert_string_equal(out.reason, "refused the recorded key of the finalized order: "
	                    "in the clear; ordering again");
}

/* finalizing: the CA is issuing: a wait. */
static void test_issuing_waits(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	fz_issuing(-1, 1000, &out);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, 1000);
	assert_true(out.wait);
	assert_state(&out, STATE_FINALIZING);
	fz_issuing(3000, 1000, &out);
	assert_int_equal(out.delay_ms, 3000);
}

/* Without ARI: renew when lifecycle.renew_fraction of the lifetime is
 * left. */
static void test_renew_at_fraction(void **state)
{
	(void)state;
	long long nb = 1800000000, na = nb + 90 * 86400;

	assert_int_equal(fz_renew_at(nb, na, 1.0 / 3), (uint64_t)(na * 1000 - 30 * DAY));
	assert_int_equal(fz_renew_at(nb, na, 0.0), (uint64_t)na * 1000);
	assert_int_equal(fz_renew_at(nb, na, 1.0), (uint64_t)nb * 1000);
}

/* issued, event issued "serial <HEX>, not after <time>": on to
 * offboard-check, whose first check sets the schedule. */
static void test_issued(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	fz_issued("03AB", 1800000000, &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_OFFBOARD_CHECK);
	assert_int_equal(out.delay_ms, 1);
	assert_state(&out, STATE_ISSUED);
	assert_event_is(&out, EVENT_ISSUED);
	assert_string_equal(out.reason, "serial 03AB, not after 2027-01-15T08:00:00Z");
	assert_string_equal(out.clear, FZ_ORDER_FIELDS " verified_gen invalid_count");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_authz_pending_waits),
		cmocka_unit_test(test_authz_invalid_or_failed),
		cmocka_unit_test(test_invalid_backs_off),
		cmocka_unit_test(test_invalid_too_often_fails),
		cmocka_unit_test(test_key_lost_orders_again),
		cmocka_unit_test(test_issuing_waits),
		cmocka_unit_test(test_renew_at_fraction),
		cmocka_unit_test(test_issued),
		cmocka_unit_test(test_pending_shows_the_challenge_error),
		cmocka_unit_test(test_pending_too_long_is_invalid),
		cmocka_unit_test(test_pending_retry_after_bounded),
		cmocka_unit_test(test_error_id),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_validating_since),
		cmocka_unit_test(test_chal_event_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
