/* ca_choice: which CA an order goes to (ca_choice.h, README "More than one
 * CA"): CAA first, then a renewal's CA, a place held in line, health,
 * account and budget, in the order of acme.cas; and the record's "cas"
 * list read and written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ca_choice.h"

static const char *const names[] = { "le", "zerossl", "gts" };

#define OK { .allowed = true, .account = true, .healthy = true, .budget = true }

/* ca_choose() of V (N CAs) chooses CA for WHY (a prefix; NULL: not
 * looked at), a fallback or not. */
static void expect(const struct ca_view *v, int n, int renewal, int held, int ca,
                   const char *why, bool fallback)
{
	struct ca_choice c;

	assert_int_equal(ca_choose(v, names, n, renewal, held, &c), ca);
	assert_int_equal(c.ca, ca);
	if (why)
		assert_non_null(strstr(c.why, why));
	if (ca >= 0)
		assert_int_equal(c.fallback, fallback);
}

static void test_first_allowed_is_preferred(void **state)
{
	(void)state;
	struct ca_view v[3] = { OK, OK, OK };

	expect(v, 3, -1, -1, 0, "preferred", false);
	/* CAA pins the domain to the second: that is no fallback */
	v[0].allowed = false;
	expect(v, 3, -1, -1, 1, "preferred", false);
}

static void test_none_allowed_is_caa_blocked(void **state)
{
	(void)state;
	struct ca_view v[2] = { OK, OK };

	v[0].allowed = v[1].allowed = false;
	expect(v, 2, -1, -1, CA_CHOICE_NONE_ALLOWED, NULL, false);
	/* a renewal's CA that CAA no longer allows is not used either */
	expect(v, 2, 0, -1, CA_CHOICE_NONE_ALLOWED, NULL, false);
}

static void test_unhealthy_falls_back(void **state)
{
	(void)state;
	struct ca_view v[3] = { OK, OK, OK };

	v[0].healthy = false;
	expect(v, 3, -1, -1, 1, "fallback:le-unhealthy", true);
	v[1].account = false;
	/* the first skipped names the reason */
	expect(v, 3, -1, -1, 2, "fallback:le-unhealthy", true);
	v[0].healthy = true;
	expect(v, 3, -1, -1, 0, "preferred", false);
}

static void test_no_budget_goes_to_next_or_waits(void **state)
{
	(void)state;
	struct ca_view v[2] = { OK, OK };

	v[0].budget = false;
	expect(v, 2, -1, -1, 1, "fallback:le-rate-limited", true);
	/* neither has a token now: the first usable one, in its line */
	v[1].budget = false;
	expect(v, 2, -1, -1, 0, "preferred", false);
}

static void test_none_usable_waits(void **state)
{
	(void)state;
	struct ca_view v[2] = { OK, OK };

	v[0].healthy = false;
	v[1].account = false;
	expect(v, 2, -1, -1, CA_CHOICE_NONE_USABLE, "le: unhealthy", false);
}

static void test_renewal_prefers_its_ca(void **state)
{
	(void)state;
	struct ca_view v[2] = { OK, OK };

	/* even without a token now: it waits in that CA's line */
	v[1].budget = false;
	expect(v, 2, 1, -1, 1, "renewal", false);
	/* its CA down: the usual choice */
	v[1].healthy = false;
	expect(v, 2, 1, -1, 0, "preferred", false);
}

static void test_place_in_line_kept(void **state)
{
	(void)state;
	struct ca_view v[2] = { OK, OK };

	/* its line has no token now, the first CA has one: left for it */
	v[1].budget = false;
	expect(v, 2, -1, 1, 0, "preferred", false);
	/* nobody has one: the place is kept */
	v[0].budget = false;
	expect(v, 2, -1, 1, 1, "fallback:in-line", true);
	v[0].budget = true;
	v[0].healthy = false;
	expect(v, 2, -1, 1, 1, "fallback:le-unhealthy", true);
	/* the CA of the place went down: chosen anew */
	v[0].healthy = true;
	v[1].healthy = false;
	expect(v, 2, -1, 1, 0, "preferred", false);
}

static void test_allowed_list(void **state)
{
	(void)state;
	struct ca_list *l = calloc(1, sizeof(*l));
	bool a[CA_MAX];
	char buf[128];

	assert_non_null(l);
	l->n = 3;
	for (int i = 0; i < 3; i++)
		strcpy(l->ca[i].name, names[i]);
	ca_allowed_parse(l, NULL, a);
	assert_true(a[0] && a[1] && a[2]);
	ca_allowed_parse(l, "", a);
	assert_false(a[0] || a[1] || a[2]);
	ca_allowed_parse(l, "gts,nosuch,le", a);
	assert_true(a[0] && !a[1] && a[2]);
	assert_string_equal(ca_allowed_join(l, a, buf, sizeof(buf)), "le,gts");
	/* a prefix of a name is not the name */
	ca_allowed_parse(l, "zero,l", a);
	assert_false(a[0] || a[1] || a[2]);
	assert_string_equal(ca_allowed_join(l, a, buf, sizeof(buf)), "");
	/* cut at a whole name when it does not fit */
	a[0] = a[1] = a[2] = true;
	assert_string_equal(ca_allowed_join(l, a, buf, 11), "le,zerossl");
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_allowed_is_preferred),
		cmocka_unit_test(test_none_allowed_is_caa_blocked),
		cmocka_unit_test(test_unhealthy_falls_back),
		cmocka_unit_test(test_no_budget_goes_to_next_or_waits),
		cmocka_unit_test(test_none_usable_waits),
		cmocka_unit_test(test_renewal_prefers_its_ca),
		cmocka_unit_test(test_place_in_line_kept),
		cmocka_unit_test(test_allowed_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
