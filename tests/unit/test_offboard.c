/* offboard_policy: the decisions of offboard-check (schemas/lifecycle.md,
 * "Offboarding"), walked check by check: certainty before offboarding,
 * "moving-away" and "back", transient answers that count for nothing,
 * parking, "delegation-missing", names that leave one by one, no pointing
 * rule, and the ARI schedule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "acme.h"
#include "offboard_policy.h"
#include "stage_assert.h"

#define DAY (24LL * 3600 * 1000)
#define T0 1800000000000LL          /* the first certificate */

static const struct ob_params P = {
	.offboard_after_ms = 7 * DAY, .min_checks = 3, .park_grace_ms = 30 * DAY,
	.interval_ms = DAY, .rule = true,
};

/* One domain as the record holds it between checks. */
struct dom {
	char names[OB_FIELD_MAX], left[OB_FIELD_MAX], pointed[OB_FIELD_MAX];
	char away[OB_FIELD_MAX], missing[OB_FIELD_MAX];
	long long renew_at;
};

static void dom_init(struct dom *d, const char *names)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->names, sizeof(d->names), "%s", names);
	d->renew_at = T0 + 60 * DAY;
}

/* One check at T: SEEN gives each name's observation in the order of
 * names then left ("u" us, "e" elsewhere, "?" transient, "-" none). */
static struct ob_decision check(struct dom *d, const struct ob_params *p, long long t,
                                const char *seen, enum ob_deleg deleg)
{
	struct ob_state st;
	struct ob_decision dec;
	struct ob_facts f = { .now_ms = (uint64_t)t, .first_issued_at = T0,
	                      .renew_at = d->renew_at, .not_after_ms = T0 + 90 * DAY,
	                      .deleg = deleg, .deleg_detail = "gone" };

	int n = ob_state_parse(&st, d->names, d->left, d->pointed, d->away, d->missing);
	assert_int_equal((int)strlen(seen), n);
	for (int i = 0; i < n; i++)
		st.name[i].seen = seen[i] == 'u' ? OB_SEEN_US : seen[i] == 'e' ? OB_SEEN_ELSEWHERE :
		                  seen[i] == '?' ? OB_SEEN_UNKNOWN : OB_SEEN_NONE;
	ob_decide(p, &f, &st, &dec);
	ob_state_format(&st, d->names, d->left, d->pointed, d->away, d->missing);
	return dec;
}

static void assert_event(const struct ob_decision *d, const char *ev)
{
	if (!ev)
		assert_null(d->event);
	else {
		assert_non_null(d->event);
		assert_string_equal(d->event, ev);
	}
}

/* Pointed, then elsewhere: moving-away once, offboarded only after seven
 * days AND three checks; a transient answer neither counts nor resets. */
static void test_moving_away_then_offboarded(void **state)
{
	(void)state;
	struct dom d;
	struct ob_decision r;

	dom_init(&d, "a.example");
	r = check(&d, &P, T0 + DAY, "u", OB_DELEG_OK);
	assert_int_equal(r.action, OB_KEEP);
	assert_event(&r, NULL);
	assert_string_equal(d.pointed, "a.example");
	r = check(&d, &P, T0 + 2 * DAY, "e", OB_DELEG_OK);
	assert_int_equal(r.action, OB_KEEP);
	assert_event(&r, "moving-away");
	assert_non_null(strstr(r.detail, "a.example points elsewhere"));
	/* while uncertain it is looked at often enough to decide in time */
	assert_true(r.next_ms <= P.offboard_after_ms / P.min_checks);
	/* not told twice; transient answers in between change nothing */
	r = check(&d, &P, T0 + 3 * DAY, "?", OB_DELEG_OK);
	assert_int_equal(r.action, OB_RETRY);
	assert_event(&r, NULL);
	r = check(&d, &P, T0 + 4 * DAY, "e", OB_DELEG_OK);
	assert_event(&r, NULL);
	assert_int_equal(r.action, OB_KEEP);
	/* seven days passed, but only two definite checks */
	r = check(&d, &P, T0 + 9 * DAY + 1, "?", OB_DELEG_OK);
	assert_int_equal(r.action, OB_RETRY);
	r = check(&d, &P, T0 + 9 * DAY + 2, "e", OB_DELEG_OK);
	assert_int_equal(r.action, OB_OFFBOARD);
	assert_string_equal(r.detail, "moved away from us");
}

/* A run whose checks stopped (a renewal waiting for the CA runs no check)
 * may hide a return: after a gap over twice the checks' pace it starts
 * again, and the domain is not offboarded on the old run (soak finding 3). */
static void test_gap_in_the_checks_restarts_the_run(void **state)
{
	(void)state;
	struct dom d;
	struct ob_decision r;
	long long pace = P.offboard_after_ms / P.min_checks;

	dom_init(&d, "a.example");
	check(&d, &P, T0 + DAY, "u", OB_DELEG_OK);
	r = check(&d, &P, T0 + 2 * DAY, "e", OB_DELEG_OK);
	assert_event(&r, "moving-away");
	r = check(&d, &P, T0 + 2 * DAY + pace, "e", OB_DELEG_OK);
	assert_int_equal(r.action, OB_KEEP);
	/* no check for three paces, then elsewhere again: seven days and three
	 * checks since the first, but the run starts again, told once */
	long long t = T0 + 2 * DAY + 4 * pace;
	r = check(&d, &P, t, "e", OB_DELEG_OK);
	assert_int_equal(r.action, OB_KEEP);
	assert_event(&r, NULL);
	char want[64];
	snprintf(want, sizeof(want), "a.example=%lld:1:1:%lld", t, t);
	assert_string_equal(d.away, want);
	/* checks at their pace from there: offboarded after the window */
	for (int i = 1; i <= P.min_checks; i++)
		r = check(&d, &P, t + i * pace, "e", OB_DELEG_OK);
	assert_int_equal(r.action, OB_OFFBOARD);
}

/* Three checks elsewhere within a day are not seven days. */
static void test_many_checks_short_time_keeps(void **state)
{
	(void)state;
	struct dom d;
	struct ob_decision r;

	dom_init(&d, "a.example");
	check(&d, &P, T0 + DAY, "u", OB_DELEG_OK);
	for (int i = 1; i <= 20; i++) {
		r = check(&d, &P, T0 + DAY + i * 3600000LL, "e", OB_DELEG_OK);
		assert_int_equal(r.action, OB_KEEP);
	}
}

/* Flapping: back within the window clears it; the next departure starts
 * the count again. */
static void test_back_clears(void **state)
{
	(void)state;
	struct dom d;
	struct ob_decision r;

	dom_init(&d, "a.example");
	check(&d, &P, T0 + DAY, "u", OB_DELEG_OK);
	for (int k = 0; k < 5; k++) {
		long long t = T0 + DAY + k * 6 * DAY;
		r = check(&d, &P, t + DAY, "e", OB_DELEG_OK);
		assert_event(&r, "moving-away");
		r = check(&d, &P, t + 3 * DAY, "e", OB_DELEG_OK);
		r = check(&d, &P, t + 5 * DAY, "e", OB_DELEG_OK);
		assert_int_equal(r.action, OB_KEEP);
		r = check(&d, &P, t + 6 * DAY, "u", OB_DELEG_OK);
		assert_event(&r, "back");
		assert_int_equal(r.action, OB_KEEP);
		assert_string_equal(d.away, "");
	}
}

/* Never pointed: parked after the grace and three definite checks, never
 * while a check is inconclusive. */
static void test_park_needs_grace_and_checks(void **state)
{
	(void)state;
	struct dom d;
	struct ob_decision r;

	dom_init(&d, "p.example");
	d.renew_at = T0 + 300 * DAY;
	r = check(&d, &P, T0 + 29 * DAY, "e", OB_DELEG_OK);
	assert_int_equal(r.action, OB_KEEP);
	assert_event(&r, NULL);              /* it never pointed: not "moving" */
	r = check(&d, &P, T0 + 30 * DAY, "e", OB_DELEG_OK);
	assert_int_equal(r.action, OB_KEEP); /* grace over, two checks only */
	r = check(&d, &P, T0 + 31 * DAY, "?", OB_DELEG_OK);
	assert_int_equal(r.action, OB_RETRY);
	r = check(&d, &P, T0 + 32 * DAY, "e", OB_DELEG_OK);
	assert_int_equal(r.action, OB_PARK);
	assert_event(&r, "never-pointed");
}

/* No pointing rule: nothing is known, nothing ends; it renews. */
static void test_no_rule_never_parks_or_offboards(void **state)
{
	(void)state;
	struct ob_params p = P;
	struct dom d;
	struct ob_decision r;

	p.rule = false;
	dom_init(&d, "n.example");
	d.renew_at = T0 + 400 * DAY;
	for (long long t = T0 + DAY; t < T0 + 365 * DAY; t += DAY) {
		r = check(&d, &p, t, "-", OB_DELEG_OK);
		assert_int_equal(r.action, OB_KEEP);
		assert_event(&r, NULL);
	}
	r = check(&d, &p, T0 + 401 * DAY, "-", OB_DELEG_OK);
	assert_int_equal(r.action, OB_RENEW);
	assert_string_equal(d.pointed, "");
}

/* delegation-missing after three definite misses, once; not renewed
 * meanwhile; cleared when it is back. */
static void test_delegation_missing_needs_checks(void **state)
{
	(void)state;
	struct dom d;
	struct ob_decision r;

	dom_init(&d, "m.example");
	d.renew_at = T0 + DAY / 2;           /* due */
	r = check(&d, &P, T0 + DAY, "u", OB_DELEG_MISSING);
	assert_int_equal(r.action, OB_KEEP);
	assert_event(&r, NULL);
	r = check(&d, &P, T0 + 2 * DAY, "u", OB_DELEG_UNKNOWN);
	assert_int_equal(r.action, OB_RETRY);  /* due, but nothing definite */
	r = check(&d, &P, T0 + 3 * DAY, "u", OB_DELEG_MISSING);
	assert_event(&r, NULL);
	r = check(&d, &P, T0 + 4 * DAY, "u", OB_DELEG_MISSING);
	assert_event(&r, "delegation-missing");
	assert_non_null(strstr(r.detail, "pointing at us but the delegation is gone on 3 checks"));
	r = check(&d, &P, T0 + 5 * DAY, "u", OB_DELEG_MISSING);
	assert_event(&r, NULL);
	assert_int_equal(r.action, OB_KEEP);
	r = check(&d, &P, T0 + 6 * DAY, "u", OB_DELEG_OK);
	assert_int_equal(r.action, OB_RENEW);
	assert_string_equal(d.missing, "");
}

/* The next check comes at the pace of the decision, or sooner for a
 * renewal moment or a renewalInfo poll still ahead; a renewal due but held
 * back by a missing delegation (its moment past) waits for the pace, not
 * 1 ms: the soak's offboard-check stream ran at 30 entries a second per
 * undelegated domain whose renewal was due (soak finding 5). */
static void test_next_delay(void **state)
{
	(void)state;
	struct dom d;
	struct ob_decision r;
	const uint64_t now = (uint64_t)(T0 + 61 * DAY);

	assert_int_equal(ob_next_delay(now, DAY, 0, 0), DAY);
	assert_int_equal(ob_next_delay(now, DAY, (long long)now + 1000, 0), 1000);
	assert_int_equal(ob_next_delay(now, DAY, 0, (long long)now + 2000), 2000);
	assert_int_equal(ob_next_delay(now, DAY, (long long)now + 3000, (long long)now + 2000),
	                 2000);
	assert_int_equal(ob_next_delay(now, DAY, (long long)now + 2 * DAY, 0), DAY);
	/* past moments: nothing sooner */
	assert_int_equal(ob_next_delay(now, DAY, (long long)now - DAY, 0), DAY);
	assert_int_equal(ob_next_delay(now, DAY, (long long)now, (long long)now - 1), DAY);
	assert_int_equal(ob_next_delay(now, 0, 0, 0), 1);

	/* the soak's case: the delegation removed, told, the renewal due */
	dom_init(&d, "u.example");
	d.renew_at = T0 + 60 * DAY;
	for (int i = 0; i < 3; i++)
		r = check(&d, &P, T0 + (57 + i) * DAY, "u", OB_DELEG_MISSING);
	assert_event(&r, "delegation-missing");
	r = check(&d, &P, (long long)now, "u", OB_DELEG_MISSING);
	assert_int_equal(r.action, OB_KEEP);
	assert_int_equal(ob_next_delay(now, r.next_ms, d.renew_at, 0), P.interval_ms);
}

/* apex + www: www leaves, the apex stays: www is dropped from the names
 * (the next renewal orders the apex alone); then the apex leaves too:
 * offboarded.  A dropped name that comes back is taken back and renewed. */
static void test_one_name_leaves(void **state)
{
	(void)state;
	struct dom d;
	struct ob_decision r;

	dom_init(&d, "x.example,www.x.example");
	check(&d, &P, T0 + DAY, "uu", OB_DELEG_OK);
	r = check(&d, &P, T0 + 2 * DAY, "ue", OB_DELEG_OK);
	assert_event(&r, "moving-away");
	assert_non_null(strstr(r.detail, "www.x.example points elsewhere"));
	check(&d, &P, T0 + 5 * DAY, "ue", OB_DELEG_OK);
	r = check(&d, &P, T0 + 9 * DAY, "ue", OB_DELEG_OK);
	assert_int_equal(r.action, OB_KEEP);
	assert_event(&r, "name-left");
	assert_true(r.names_changed);
	assert_non_null(strstr(r.detail, "the next renewal orders x.example"));
	assert_string_equal(d.names, "x.example");
	assert_string_equal(d.left, "www.x.example");
	/* www back: taken back, renewed at once */
	r = check(&d, &P, T0 + 10 * DAY, "uu", OB_DELEG_OK);
	assert_event(&r, "back");
	assert_int_equal(r.action, OB_RENEW);
	assert_string_equal(d.names, "x.example,www.x.example");
	assert_string_equal(d.left, "");
	/* both leave: offboarded once both are certain */
	check(&d, &P, T0 + 11 * DAY, "ee", OB_DELEG_OK);
	check(&d, &P, T0 + 14 * DAY, "ee", OB_DELEG_OK);
	r = check(&d, &P, T0 + 18 * DAY + 1, "ee", OB_DELEG_OK);
	assert_int_equal(r.action, OB_OFFBOARD);
}

/* A name that never pointed rides along while another does; when the one
 * that pointed leaves, the domain is offboarded. */
static void test_never_pointed_name_rides_along(void **state)
{
	(void)state;
	struct dom d;
	struct ob_decision r;

	dom_init(&d, "y.example,www.y.example");
	d.renew_at = T0 + 300 * DAY;
	for (int k = 1; k <= 40; k++) {
		r = check(&d, &P, T0 + k * DAY, "ue", OB_DELEG_OK);
		assert_int_equal(r.action, OB_KEEP);
		assert_event(&r, NULL);
	}
	assert_string_equal(d.names, "y.example,www.y.example");
	r = check(&d, &P, T0 + 41 * DAY, "ee", OB_DELEG_OK);
	assert_event(&r, "moving-away");
	check(&d, &P, T0 + 44 * DAY, "ee", OB_DELEG_OK);
	r = check(&d, &P, T0 + 48 * DAY, "ee", OB_DELEG_OK);
	assert_int_equal(r.action, OB_OFFBOARD);
}

/* A wildcard and its base are one name for the pointing check (the
 * caller copies the observation); both count. */
static void test_state_roundtrip_and_caps(void **state)
{
	(void)state;
	struct ob_state st;
	char n[OB_FIELD_MAX], l[OB_FIELD_MAX], p[OB_FIELD_MAX], a[OB_FIELD_MAX], m[OB_FIELD_MAX];

	assert_int_equal(ob_state_parse(&st, "*.w.example,w.example", "old.example",
	                                "w.example,ghost.example", "w.example=5:2:1,bad,=1:1:1",
	                                "7:3:0"), 3);
	assert_true(st.name[1].pointed && !st.name[0].pointed);
	assert_int_equal(st.name[1].away_checks, 2);
	assert_true(st.name[1].away_told);
	assert_false(st.name[2].current);
	assert_int_equal(st.missing_checks, 3);
	ob_state_format(&st, n, l, p, a, m);
	assert_string_equal(n, "*.w.example,w.example");
	assert_string_equal(l, "old.example");
	assert_string_equal(p, "w.example");
	assert_string_equal(a, "w.example=5:2:1");
	assert_string_equal(m, "7:3:0");
	/* more names than fit are ignored, not overflowed */
	char many[OB_FIELD_MAX] = "";
	for (int i = 0; i < 40; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sn%d.example",
		         i ? "," : "", i);
	assert_int_equal(ob_state_parse(&st, many, many, many, NULL, "garbage"), OB_NAMES_MAX);
	assert_int_equal(st.missing_since, 0);
}

/* ARI: the window is followed; a window that moves earlier (a revocation)
 * brings the renewal forward; Retry-After is bounded. */
static void test_ari_schedule(void **state)
{
	(void)state;
	long long at, next;
	const long long H = 3600000LL, now = T0;

	ari_schedule(now, now + 50 * DAY, now + 52 * DAY, 6 * H, H, DAY, 0, 12345, &at, &next);
	assert_true(at >= now + 50 * DAY && at <= now + 52 * DAY);
	assert_int_equal(next, now + 6 * H);
	/* the same window again: the moment chosen stays */
	long long was = at;
	ari_schedule(now + 6 * H, now + 50 * DAY, now + 52 * DAY, 6 * H, H, DAY, was, 999, &at,
	             &next);
	assert_int_equal(at, was);
	/* revoked: the window is now (or past): renew now */
	ari_schedule(now + 12 * H, now - DAY, now - H, 6 * H, H, DAY, was, 7, &at, &next);
	assert_int_equal(at, now + 12 * H);
	/* moved earlier but still ahead: inside the new window */
	ari_schedule(now, now + 2 * H, now + 3 * H, -1, H, DAY, was, 7, &at, &next);
	assert_true(at >= now + 2 * H && at <= now + 3 * H);
	assert_int_equal(next, now + 6 * H);      /* no Retry-After: 6 h */
	/* bounds */
	ari_schedule(now, now + DAY, now + 2 * DAY, 1000, H, DAY, 0, 1, &at, &next);
	assert_int_equal(next, now + H);
	ari_schedule(now, now + DAY, now + 2 * DAY, 30 * DAY, H, DAY, 0, 1, &at, &next);
	assert_int_equal(next, now + DAY);
	/* an inverted window counts as its start */
	ari_schedule(now, now + 2 * DAY, now + DAY, -1, H, DAY, 0, 1, &at, &next);
	assert_int_equal(at, now + 2 * DAY);
}

/* The rows of offboard-check as outcomes: parked with never-pointed (the
 * pipeline ends); issued, checked again (the delegation gone says so);
 * issued, retried with the backoff when nothing was definite. */
static void test_outcomes_of_a_check(void **state)
{
	(void)state;
	struct ob_decision d = { .action = OB_PARK, .event = "never-pointed",
	                         .detail = "never pointed at us within 2592000 s" };
	struct outcome out = { 0 };

	ob_outcome(&d, 5000, OB_DELEG_OK, "", &out);
	assert_int_equal(out.kind, OUT_DONE);
	assert_state(&out, STATE_PARKED);
	assert_event_is(&out, EVENT_NEVER_POINTED);
	assert_string_equal(out.reason, d.detail);

	struct ob_decision keep = { .action = OB_KEEP };
	memset(&out, 0, sizeof(out));
	ob_outcome(&keep, 5000, OB_DELEG_OK, "", &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_OFFBOARD_CHECK);
	assert_int_equal(out.delay_ms, 5000);
	assert_state(&out, STATE_ISSUED);
	assert_event_is(&out, NO_EVENT);
	memset(&out, 0, sizeof(out));
	ob_outcome(&keep, 5000, OB_DELEG_MISSING, "_acme-challenge.a.example: NXDOMAIN", &out);
	assert_string_equal(out.reason, "the delegation is gone: _acme-challenge.a.example: "
	                    "NXDOMAIN");

	struct ob_decision retry = { .action = OB_RETRY };
	memset(&out, 0, sizeof(out));
	ob_outcome(&retry, 5000, OB_DELEG_UNKNOWN, "", &out);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, -1);
	assert_state(&out, STATE_ISSUED);
	assert_string_equal(out.reason, "nothing definite from DNS: the pointing checks were "
	                    "inconclusive");
}

/* renewing: back through verify-cname, with why. */
static void test_renewing(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	assert_string_equal(ob_renew_reason(true, true), "the stored certificate is missing: "
	                    "renewing");
	assert_string_equal(ob_renew_reason(false, true), "a name came back: renewing");
	assert_string_equal(ob_renew_reason(false, false), "renewal due");
	ob_renewing("renewal due", &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_VERIFY_CNAME);
	assert_state(&out, STATE_RENEWING);
	assert_string_equal(out.reason, "renewal due");
}

/* offboarded: stale-delegation once while a server still shows the
 * delegation (checked every stale_interval_ms), delegation-removed when
 * none does (the pipeline ends); a delegation no server could be asked
 * about is not one seen gone. */
static void test_offboarded_watch(void **state)
{
	(void)state;
	struct ob_watch w = { .seen = 2, .of = 4 };
	struct outcome out = { 0 };

	ob_watch(&w, "offboarded by the backend", "example.com", 7 * DAY, "", &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_OFFBOARD_CHECK);
	assert_int_equal(out.delay_ms, 7 * DAY);
	assert_state(&out, STATE_OFFBOARDED);
	assert_event_is(&out, EVENT_STALE_DELEGATION);
	assert_string_equal(out.reason, "offboarded by the backend; _acme-challenge.example.com "
	                    "still points at us on 2 of 4 servers: ask the customer to delete it");
	memset(&out, 0, sizeof(out));
	ob_watch(&w, "moved away from us", "example.com", 7 * DAY, "stale-delegation", &out);
	assert_state(&out, STATE_OFFBOARDED);
	assert_event_is(&out, NO_EVENT);

	struct ob_watch gone = { .seen = 0, .of = 4 };
	memset(&out, 0, sizeof(out));
	ob_watch(&gone, "moved away from us", "example.com", 7 * DAY, "stale-delegation", &out);
	assert_int_equal(out.kind, OUT_DONE);
	assert_state(&out, STATE_OFFBOARDED);
	assert_event_is(&out, EVENT_DELEGATION_REMOVED);
	assert_string_equal(out.reason, "moved away from us; _acme-challenge.example.com no "
	                    "longer points at us");

	struct ob_watch blind = { .unchecked = "example.com", .detail = "too many NS" };
	memset(&out, 0, sizeof(out));
	ob_watch(&blind, "moved away from us", "example.com", 7 * DAY, "", &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_event_is(&out, NO_EVENT);
	assert_string_equal(out.reason, "moved away from us; the delegation of example.com "
	                    "cannot be checked: too many NS");

	memset(&out, 0, sizeof(out));
	ob_watch_retry("removing the TXT at t.zone: timeout", &out);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, -1);
	assert_state(&out, STATE_OFFBOARDED);
}

/* The gate's row for offboard-check; the window-only run; a check written
 * by another run first. */
/* lifecycle.md, "Retention": a departed domain's certificate is deleted
 * lifecycle.cert_retention_ms after it left, by its job, which waits for it
 * instead of ending; nothing waits when nothing is stored. */
static void test_retention(void **state)
{
	(void)state;
	const long long left = 1000000, ret = 30 * DAY;
	struct outcome out = { 0 };

	assert_int_equal(ob_retention_wait(left, left, ret, true), ret);
	assert_int_equal(ob_retention_wait(left + ret - 1, left, ret, true), 1);
	assert_int_equal(ob_retention_wait(left + ret, left, ret, true), 0);
	assert_int_equal(ob_retention_wait(left + 2 * ret, left, ret, true), 0);
	assert_int_equal(ob_retention_wait(left, left, 0, true), 0);
	/* not stored (deleted already, or not the record's): nothing to wait for */
	assert_int_equal(ob_retention_wait(left, left, ret, false), -1);
	assert_int_equal(ob_retention_wait(left + ret, left, ret, false), -1);

	/* the watch over: the pipeline would end, it waits for the deletion */
	struct ob_watch gone = { .seen = 0, .of = 4 };
	ob_watch(&gone, "moved away from us", "example.com", 7 * DAY, "", &out);
	ob_retain(ret - 5, &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.next, STAGE_OFFBOARD_CHECK);
	assert_int_equal(out.delay_ms, ret - 5);
	assert_state(&out, STATE_OFFBOARDED);
	assert_event_is(&out, EVENT_DELEGATION_REMOVED);   /* still told */

	/* due now: the next run deletes (after this commit records it gone) */
	memset(&out, 0, sizeof(out));
	ob_watch(&gone, "moved away from us", "example.com", 7 * DAY, "", &out);
	ob_retain(0, &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.delay_ms, 1);

	/* nothing to delete: it ends */
	memset(&out, 0, sizeof(out));
	ob_watch(&gone, "moved away from us", "example.com", 7 * DAY, "", &out);
	ob_retain(-1, &out);
	assert_int_equal(out.kind, OUT_DONE);

	/* a stale delegation watched: no later than the deletion */
	struct ob_watch stale = { .seen = 1, .of = 4 };
	memset(&out, 0, sizeof(out));
	ob_watch(&stale, "moved away from us", "example.com", 7 * DAY, "", &out);
	ob_retain(DAY, &out);
	assert_int_equal(out.delay_ms, DAY);
	assert_event_is(&out, EVENT_STALE_DELEGATION);
	memset(&out, 0, sizeof(out));
	ob_watch(&stale, "moved away from us", "example.com", 7 * DAY, "", &out);
	ob_retain(ret, &out);
	assert_int_equal(out.delay_ms, 7 * DAY);

	/* a retry keeps its backoff */
	memset(&out, 0, sizeof(out));
	ob_watch_retry("removing the TXT at t.zone: timeout", &out);
	ob_retain(DAY, &out);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, -1);

	/* parked: the park's commit tells never-pointed, the job stays */
	struct ob_decision d = { .action = OB_PARK, .event = "never-pointed" };
	memset(&out, 0, sizeof(out));
	ob_outcome(&d, 0, OB_DELEG_OK, NULL, &out);
	ob_retain(ret, &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.delay_ms, ret);
	assert_state(&out, STATE_PARKED);
	assert_event_is(&out, EVENT_NEVER_POINTED);

	/* back for the retention after the watch or the park: it ends there */
	memset(&out, 0, sizeof(out));
	ob_gone(STATE_PARKED, &out);
	assert_int_equal(out.kind, OUT_DONE);
	assert_state(&out, STATE_PARKED);
	assert_event_is(&out, NO_EVENT);
	memset(&out, 0, sizeof(out));
	ob_gone(STATE_OFFBOARDED, &out);
	ob_retain(3, &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.delay_ms, 3);
	assert_state(&out, STATE_OFFBOARDED);
}

/* lifecycle.md, "Retention": revoked at departure only when asked, only
 * an offboarded domain's stored certificate, once; the CA failing is
 * retried, a refusal not asked again, and neither fails the domain. */
static void test_revoke_on_departure(void **state)
{
	(void)state;

	assert_true(ob_revoke_due(true, false, true, false));
	assert_false(ob_revoke_due(false, false, true, false));  /* off by default */
	assert_false(ob_revoke_due(true, true, true, false));    /* parked: never served */
	assert_false(ob_revoke_due(true, false, false, false));  /* nothing stored */
	assert_false(ob_revoke_due(true, false, true, true));    /* revoked or refused */

	assert_int_equal(ob_revoke_result(ACME_OK), OB_REVOKE_RECORD);
	assert_int_equal(ob_revoke_result(ACME_E_ALREADYREVOKED), OB_REVOKE_RECORD);
	assert_int_equal(ob_revoke_result(ACME_E_SERVER), OB_REVOKE_RETRY);
	assert_int_equal(ob_revoke_result(ACME_E_TIMEOUT), OB_REVOKE_RETRY);
	assert_int_equal(ob_revoke_result(ACME_E_RATELIMITED), OB_REVOKE_RETRY);
	assert_int_equal(ob_revoke_result(ACME_E_UNAUTHORIZED), OB_REVOKE_GIVE_UP);
	assert_int_equal(ob_revoke_result(ACME_E_UNSUPPORTED), OB_REVOKE_GIVE_UP);
	assert_int_equal(OB_REVOKE_REASON, 5);   /* RFC 5280 cessationOfOperation */
}

static void test_gate_window_and_race(void **state)
{
	(void)state;
	struct outcome out = { 0 };

	ob_never_issued(&out);
	assert_int_equal(out.kind, OUT_FAIL);
	assert_state(&out, KEEP);
	assert_event_is(&out, EVENT_DEAD_LETTER);
	assert_string_equal(out.reason, "refused: offboard-check of a domain never issued");
	memset(&out, 0, sizeof(out));
	ob_window_only(1234, &out);
	assert_int_equal(out.kind, OUT_ADVANCE);
	assert_int_equal(out.delay_ms, 1234);
	assert_state(&out, STATE_ISSUED);
	memset(&out, 0, sizeof(out));
	ob_checked_meanwhile(&out);
	assert_int_equal(out.kind, OUT_RETRY);
	assert_int_equal(out.delay_ms, 0);
	assert_true(out.wait);
	assert_state(&out, KEEP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_moving_away_then_offboarded),
		cmocka_unit_test(test_gap_in_the_checks_restarts_the_run),
		cmocka_unit_test(test_many_checks_short_time_keeps),
		cmocka_unit_test(test_back_clears),
		cmocka_unit_test(test_park_needs_grace_and_checks),
		cmocka_unit_test(test_no_rule_never_parks_or_offboards),
		cmocka_unit_test(test_delegation_missing_needs_checks),
		cmocka_unit_test(test_next_delay),
		cmocka_unit_test(test_one_name_leaves),
		cmocka_unit_test(test_never_pointed_name_rides_along),
		cmocka_unit_test(test_state_roundtrip_and_caps),
		cmocka_unit_test(test_ari_schedule),
		cmocka_unit_test(test_outcomes_of_a_check),
		cmocka_unit_test(test_renewing),
		cmocka_unit_test(test_offboarded_watch),
		cmocka_unit_test(test_gate_window_and_race),
		cmocka_unit_test(test_retention),
		cmocka_unit_test(test_revoke_on_departure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
