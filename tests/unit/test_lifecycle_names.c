/*
 * The one state list (common/lifecycle_names.h) against itself and against
 * the documentation: every list of states or event types in
 * schemas/lifecycle.md, schemas/redis.md, schemas/job.md and README.md must
 * be the list's (in its order where the document lists them all in a
 * table or a line).  A state or event added, renamed or dropped on one side
 * only fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lifecycle_names.h"
#include "scripts.h"

#define MAXW 64

/* A list of names (borrowed from the document text or the table). */
struct words {
	char w[MAXW][32];
	size_t n;
};

static char *slurp(const char *rel)
{
	const char *dir = getenv("DCV_SCHEMAS");
	char path[1024];
	FILE *f;
	long n;
	char *buf;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void add(struct words *w, const char *s, size_t len)
{
	assert_true(w->n < MAXW);
	assert_true(len < sizeof(w->w[0]));
	memcpy(w->w[w->n], s, len);
	w->w[w->n][len] = '\0';
	w->n++;
}

/* The `quoted` words of TEXT from the end of the first START to the next
 * END (which must follow). */
static struct words quoted_between(const char *text, const char *start,
                                   const char *end)
{
	struct words w = { .n = 0 };
	const char *p = strstr(text, start), *e;

	if (!p)
		fail_msg("the document has no \"%s\"", start);
	p += strlen(start);
	e = strstr(p, end);
	if (!e)
		fail_msg("no \"%s\" after \"%s\"", end, start);
	while ((p = memchr(p, '`', (size_t)(e - p))) != NULL) {
		const char *q = memchr(p + 1, '`', (size_t)(e - p - 1));
		if (!q)
			break;
		add(&w, p + 1, (size_t)(q - p - 1));
		p = q + 1;
	}
	return w;
}

/* The first column's `word` of every row of the table under HEADING (up
 * to the next heading of the same level), each once, in order. */
static struct words table_column(const char *text, const char *heading)
{
	struct words w = { .n = 0 };
	const char *p = strstr(text, heading), *end;

	if (!p)
		fail_msg("the document has no \"%s\"", heading);
	p += strlen(heading);
	end = strstr(p, "\n## ");
	if (!end)
		end = p + strlen(p);
	while ((p = strstr(p, "\n| `")) != NULL && p < end) {
		const char *s = p + 4, *q = strchr(s, '`');
		size_t i;
		assert_non_null(q);
		for (i = 0; i < w.n; i++)
			if (strlen(w.w[i]) == (size_t)(q - s) && memcmp(w.w[i], s, (size_t)(q - s)) == 0)
				break;
		if (i == w.n)
			add(&w, s, (size_t)(q - s));
		p = q;
	}
	return w;
}

enum which { LIFE_ALL, ACTIVE_ALL, UNDER_WAY_ALL, ENDED_LIFE, EVENTS_ALL };

/* The names of the table that WHICH selects, in the table's order. */
static struct words from_table(enum which which)
{
	struct words w = { .n = 0 };

	if (which == EVENTS_ALL) {
		for (int e = 0; e < EVENT_COUNT; e++) {
			const char *s = domain_event_name((enum domain_event)e);
			add(&w, s, strlen(s));
		}
		return w;
	}
#define X_(id, name, kind, origin) do { \
		enum domain_state_kind k = STATE_KIND_##kind; \
		int life = strcmp(#origin, "LIFE") == 0; \
		if ((which == LIFE_ALL && life) || \
		    (which == ACTIVE_ALL && (k == STATE_KIND_RUN || k == STATE_KIND_HELD)) || \
		    (which == UNDER_WAY_ALL && k == STATE_KIND_RUN) || \
		    (which == ENDED_LIFE && life && (k == STATE_KIND_END || k == STATE_KIND_GONE))) \
			add(&w, name, strlen(name)); \
	} while (0);
	DCV_DOMAIN_STATES(X_)
#undef X_
	return w;
}

static void print(const char *what, const struct words *w)
{
	fprintf(stderr, "%s:", what);
	for (size_t i = 0; i < w->n; i++)
		fprintf(stderr, " %s", w->w[i]);
	fprintf(stderr, "\n");
}

/* DOC lists exactly WANT, in the same order. */
static void same_order(const char *where, const struct words *doc, const struct words *want)
{
	int ok = doc->n == want->n;
	for (size_t i = 0; ok && i < doc->n; i++)
		ok = strcmp(doc->w[i], want->w[i]) == 0;
	if (!ok) {
		print(where, doc);
		print("lifecycle_names.h", want);
		fail_msg("%s and common/lifecycle_names.h disagree", where);
	}
}

/* DOC lists exactly WANT, each once, in any order. */
static void same_set(const char *where, const struct words *doc, const struct words *want)
{
	int ok = doc->n == want->n;
	for (size_t i = 0; ok && i < doc->n; i++) {
		int found = 0;
		for (size_t j = 0; j < want->n; j++)
			found += strcmp(doc->w[i], want->w[j]) == 0;
		ok = found == 1;
		for (size_t j = 0; j < i; j++)
			ok = ok && strcmp(doc->w[i], doc->w[j]) != 0;
	}
	if (!ok) {
		print(where, doc);
		print("lifecycle_names.h", want);
		fail_msg("%s and common/lifecycle_names.h disagree", where);
	}
}

static void test_names_round_trip(void **state)
{
	(void)state;
	for (int s = 0; s < STATE_COUNT; s++)
		assert_int_equal(domain_state_parse(domain_state_name((enum domain_state)s)), s);
	for (int e = 0; e < EVENT_COUNT; e++)
		assert_int_equal(domain_event_parse(domain_event_name((enum domain_event)e)), e);
	assert_int_equal(domain_state_parse("Issued"), -1);
	assert_int_equal(domain_event_parse(""), -1);
	assert_string_equal(domain_state_name(STATE_COUNT), "?");
	assert_string_equal(domain_event_name(EVENT_COUNT), "?");
	assert_string_equal(domain_state_name(STATE_WAITING_CNAME), "waiting-cname");
	assert_string_equal(domain_event_name(EVENT_DEAD_LETTER), "dead-letter");
	assert_true(domain_state_active(STATE_ISSUED));
	assert_true(domain_state_active(STATE_QUEUED));
	assert_false(domain_state_active(STATE_OFFBOARDED));
	assert_false(domain_state_active(STATE_DONE));
}

/* The names of a Lua set as LIFECYCLE_*_LUA writes it: ['name'] = 1. */
static struct words lua_set(const char *lua)
{
	struct words w = { .n = 0 };
	const char *p = lua;

	while ((p = strstr(p, "['")) != NULL) {
		const char *q = strstr(p + 2, "']");
		assert_non_null(q);
		add(&w, p + 2, (size_t)(q - p - 2));
		p = q + 2;
	}
	return w;
}

/* The Lua sets hold exactly the states of their kinds. */
static void test_lua_sets(void **state)
{
	struct words a = lua_set(LIFECYCLE_ACTIVE_LUA), u = lua_set(LIFECYCLE_UNDER_WAY_LUA);
	struct words g = lua_set(LIFECYCLE_GONE_LUA);
	struct words aw = from_table(ACTIVE_ALL), uw = from_table(UNDER_WAY_ALL);
	struct words gw = { .n = 0 };
	(void)state;

	add(&gw, "parked", 6);
	add(&gw, "offboarded", 10);
	same_order("LIFECYCLE_ACTIVE_LUA", &a, &aw);
	same_order("LIFECYCLE_UNDER_WAY_LUA", &u, &uw);
	same_order("LIFECYCLE_GONE_LUA", &g, &gw);
	assert_int_equal(a.n, 13);
	assert_int_equal(u.n, 11);
}

/* Occurrences of NEEDLE in HAY. */
static int count_of(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Every embedded script (common/lua/) that uses a lifecycle set has it
 * from lifecycle_names.h, pasted in by the build, exactly once: no script
 * spells a set of its own. */
static void test_scripts_use_the_sets(void **state)
{
	static const struct { const char *use, *decl, *text; } sets[] = {
		{ "ACTIVE[", "local ACTIVE =", LIFECYCLE_ACTIVE_LUA },
		{ "UNDER_WAY[", "local UNDER_WAY =", LIFECYCLE_UNDER_WAY_LUA },
		{ "GONE[", "local GONE =", LIFECYCLE_GONE_LUA },
	};
	int users = 0;
	(void)state;

	for (int id = 0; id < SCRIPT_COUNT; id++) {
		const char *src = script_source((enum script_id)id);
		assert_non_null(src);
		assert_non_null(script_name((enum script_id)id));
		for (size_t k = 0; k < sizeof(sets) / sizeof(sets[0]); k++) {
			int decls = count_of(src, sets[k].decl);
			if (strstr(src, sets[k].use)) {
				if (decls != 1 || count_of(src, sets[k].text) != 1)
					fail_msg("script %s uses %s without the set of "
					         "lifecycle_names.h", script_name((enum script_id)id),
					         sets[k].use);
				users++;
			} else {
				assert_int_equal(decls, 0);
			}
		}
	}
	/* onboard, claim, nudge, offboard, release, cert_retire, revoke */
	assert_int_equal(users, 7);
}

static void test_lifecycle_md(void **state)
{
	char *t = slurp("lifecycle.md");
	struct words w, life = from_table(LIFE_ALL), ev = from_table(EVENTS_ALL);
	struct words active = from_table(ACTIVE_ALL), ended = from_table(ENDED_LIFE);
	(void)state;

	w = table_column(t, "\n## States\n");
	same_order("lifecycle.md, the States table", &w, &life);
	w = quoted_between(t, "is not one of the *active* states", ".  **When");
	same_order("lifecycle.md, the active states", &w, &active);
	w = quoted_between(t, "In the end states ", "(and any");
	same_set("lifecycle.md, the end states", &w, &ended);
	w = table_column(t, "\n## Events: `dcv:events`\n");
	same_order("lifecycle.md, the Events table", &w, &ev);
	free(t);
}

static void test_redis_md(void **state)
{
	char *t = slurp("redis.md");
	struct words w, life = from_table(LIFE_ALL), ev = from_table(EVENTS_ALL);
	struct words under = from_table(UNDER_WAY_ALL);
	(void)state;

	w = quoted_between(t, "In short: `state` (", ")");
	same_order("redis.md, the domain's states", &w, &life);
	w = quoted_between(t, "whether a renewal is under way (an active state: ", ")");
	same_set("redis.md, the states of a renewal under way", &w, &under);
	w = table_column(t, "\n## Events: `dcv:events`\n");
	same_set("redis.md, the Events table", &w, &ev);
	free(t);
}

static void test_job_md_and_readme(void **state)
{
	char *j = slurp("job.md"), *r = slurp("../README.md");
	struct words w, life = from_table(LIFE_ALL), ev = from_table(EVENTS_ALL);
	struct words ended = from_table(ENDED_LIFE);
	(void)state;

	w = quoted_between(j, "pipeline running (any state but", ";");
	same_set("job.md, the end states", &w, &ended);
	w = quoted_between(r, "One domain: `state` (", ")");
	same_order("README.md, the domain's states", &w, &life);
	w = quoted_between(r, "whose pipeline has ended\n(", ")");
	same_set("README.md, the end states", &w, &ended);
	w = quoted_between(r, "The newest events for the backend (`type`, `domain`, `detail`, `time`):",
	                   ".\n");
	same_set("README.md, the events", &w, &ev);
	free(j);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_lua_sets),
		cmocka_unit_test(test_scripts_use_the_sets),
		cmocka_unit_test(test_lifecycle_md),
		cmocka_unit_test(test_redis_md),
		cmocka_unit_test(test_job_md_and_readme),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
