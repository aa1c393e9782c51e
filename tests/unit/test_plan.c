/* plan: an entry's outcome to the commit that settles it, case by case
 * (the table of workers/plan.h), and stage_rand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "job.h"
#include "plan.h"
#include "worker.h"

#define NOW 1700000000000ULL

/* One entry as read, its decoded job, the handler's outcome, and the plan
 * made of them. */
struct fx {
	char *bytes;                 /* the entry's job, owned */
	size_t len;
	struct queue_entry e;
	struct job job;
	bool decoded;
	struct outcome out;
	struct stage_policy pol;
	struct plan p;
	struct queue_commit c;
	char msg[1024];
};

/* An entry of STAGE holding a job for DOMAIN at ATTEMPT, generation GEN. */
static struct fx *fx_new(enum stage stage, const char *domain, uint32_t attempt,
                         uint64_t gen)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct job j;
	char why[256];

	assert_non_null(f);
	job_init(&j, domain, NULL, NOW - 60000);
	j.attempt = attempt;
	j.gen = gen;
	assert_int_equal(job_encode(&j, &f->bytes, &f->len), JOB_OK);
	job_clear(&j);
	f->e = (struct queue_entry){ stage, "1700000000000-7", f->bytes, f->len, domain };
	f->decoded = plan_decode(&f->e, JOB_DEFAULT_MAX_BYTES, NOW, &f->job, why, sizeof(why));
	assert_true(f->decoded);
	f->out.delay_ms = -1;       /* as the runtime hands it to a handler */
	f->pol = (struct stage_policy){ 1000, 60000, 5 };
	return f;
}

static void fx_free(struct fx *f)
{
	plan_release(&f->p);
	if (f->decoded)
		job_clear(&f->job);
	free(f->bytes);
	free(f);
}

/* Plans F's entry as the runtime does; RAN false: it was sent back unrun. */
static void fx_plan(struct fx *f, bool ran, uint64_t rnd)
{
	struct plan_in in = {
		.entry = &f->e, .job = f->decoded ? &f->job : NULL,
		.bad = f->decoded ? NULL : "broken", .out = &f->out, .ran = ran,
		.policy = &f->pol, .now_ms = NOW, .rnd = rnd,
	};
	plan_build(&in, &f->p, &f->c);
	plan_describe(&f->p, &f->c, f->msg, sizeof(f->msg));
}

/* The job the commit sends, decoded. */
static void sent_job(const struct fx *f, struct job *j)
{
	char why[256];
	assert_non_null(f->c.job);
	assert_int_equal(job_decode(f->c.job, f->c.job_len, JOB_DEFAULT_MAX_BYTES, j,
	                            why, sizeof(why)), JOB_OK);
}

static void test_advance(void **state)
{
	(void)state;
	struct fx *f = fx_new(STAGE_VERIFY_CNAME, "a.example", 3, 7);
	struct job j;

	outcome_advance(&f->out, STAGE_CREATE_ORDER);
	fx_plan(f, true, 0);
	assert_int_equal(f->c.kind, COMMIT_FORWARD);
	assert_int_equal(f->c.src, STAGE_VERIFY_CNAME);
	assert_int_equal(f->c.dst, STAGE_CREATE_ORDER);
	assert_int_equal(f->c.due_ms, 0);
	assert_string_equal(f->c.entry_id, "1700000000000-7");
	assert_string_equal(f->c.domain, "a.example");
	assert_string_equal(f->c.job_id, f->job.id);
	assert_string_equal(f->c.state, "active");
	assert_string_equal(f->c.event, "");
	assert_string_equal(f->c.last_error, "");
	assert_int_equal(f->c.attempts, 0);     /* a new stage starts afresh */
	assert_int_equal(f->c.gen, 7);
	assert_int_equal(f->p.count, PLAN_COUNT_NONE);
	assert_int_equal(f->p.log_level, LOG_DEBUG);
	assert_string_equal(f->p.log_outcome, "advance");
	assert_string_equal(f->msg, "advance to create-order");
	sent_job(f, &j);
	assert_int_equal(j.attempt, 0);
	assert_int_equal(j.since, NOW);
	assert_int_equal(j.created_at, NOW - 60000);
	job_clear(&j);
	fx_free(f);
}

static void test_advance_later(void **state)
{
	(void)state;
	struct fx *f = fx_new(STAGE_FINALIZE, "a.example", 0, 1);

	outcome_advance(&f->out, STAGE_OFFBOARD_CHECK);
	f->out.delay_ms = 86400000;
	f->out.state = "issued";
	f->out.event = "issued";
	f->out.clear = "order authz";
	fx_plan(f, true, 0);
	assert_int_equal(f->c.kind, COMMIT_LATER);
	assert_int_equal(f->c.dst, STAGE_OFFBOARD_CHECK);
	assert_int_equal(f->c.due_ms, NOW + 86400000);
	assert_string_equal(f->c.state, "issued");
	assert_string_equal(f->c.event, "issued");
	assert_string_equal(f->c.clear, "order authz");
	fx_free(f);
}

static void test_retry_after(void **state)
{
	(void)state;
	struct fx *f = fx_new(STAGE_CREATE_ORDER, "a.example", 1, 3);
	struct job j;

	outcome_retry(&f->out, 30000, "rate limited: %s", "retry later");
	fx_plan(f, true, 12345);
	assert_int_equal(f->c.kind, COMMIT_LATER);
	assert_int_equal(f->c.dst, STAGE_CREATE_ORDER);
	assert_int_equal(f->c.due_ms, NOW + 30000);   /* the server's, not the backoff */
	assert_int_equal(f->c.attempts, 2);
	assert_string_equal(f->c.state, "waiting");
	assert_string_equal(f->c.last_error, "rate limited: retry later");
	assert_string_equal(f->c.detail, "rate limited: retry later");
	assert_int_equal(f->p.count, PLAN_COUNT_RETRY_AFTER);
	assert_int_equal(f->p.log_level, LOG_INFO);
	assert_string_equal(f->p.log_outcome, "retry");
	assert_string_equal(f->msg, "retry in 30000 ms (attempt 2): rate limited: retry later");
	sent_job(f, &j);
	assert_int_equal(j.attempt, 2);
	assert_int_equal(j.since, f->job.since);     /* still in the same stage */
	job_clear(&j);
	fx_free(f);
}

static void test_retry_backoff(void **state)
{
	(void)state;
	for (uint64_t rnd = 1; rnd < 200000; rnd = rnd * 7 + 3) {
		struct fx *f = fx_new(STAGE_PROVISION_TXT, "a.example", 2, 3);
		outcome_retry(&f->out, -1, "SERVFAIL");
		f->out.state = "publishing";
		fx_plan(f, true, rnd);
		/* attempt 3: full jitter below base * 2^2 */
		assert_int_equal(f->c.attempts, 3);
		assert_int_equal(f->c.due_ms, NOW + (uint64_t)worker_backoff(&f->pol, 3, rnd));
		assert_true(f->c.due_ms <= NOW + 4000);
		assert_string_equal(f->c.state, "publishing");
		assert_int_equal(f->p.count, PLAN_COUNT_RETRY_BACKOFF);
		fx_free(f);
	}
}

static void test_wait_is_not_an_attempt(void **state)
{
	(void)state;
	struct fx *f = fx_new(STAGE_CREATE_ORDER, "a.example", 4, 3);

	/* one short of max_attempts: an attempt would give up, a wait does not */
	outcome_retry(&f->out, 500, "waiting for a rate-limit token");
	f->out.wait = true;
	fx_plan(f, true, 0);
	assert_int_equal(f->c.kind, COMMIT_LATER);
	assert_int_equal(f->c.due_ms, NOW + 500);
	assert_int_equal(f->c.attempts, 4);
	assert_int_equal(f->p.kind, OUT_RETRY);
	fx_free(f);
}

static void test_give_up(void **state)
{
	(void)state;
	struct fx *f = fx_new(STAGE_CREATE_ORDER, "a.example", 4, 3);

	outcome_retry(&f->out, -1, "the CA answered 503");
	f->out.state = "ordering";
	fx_plan(f, true, 99);
	assert_int_equal(f->c.kind, COMMIT_DEAD);
	assert_int_equal(f->c.attempts, 5);
	assert_int_equal(f->c.due_ms, 0);
	assert_string_equal(f->c.state, "failed");    /* not the retry's */
	assert_string_equal(f->c.event, "failed");
	assert_string_equal(f->c.last_error, "gave up after 5 attempts: the CA answered 503");
	assert_int_equal(f->p.kind, OUT_FAIL);
	assert_int_equal(f->p.count, PLAN_COUNT_DEAD_FAILED);
	assert_int_equal(f->p.log_level, LOG_WARN);
	assert_string_equal(f->p.log_outcome, "fail");
	assert_string_equal(f->msg, "failed: gave up after 5 attempts: the CA answered 503");
	fx_free(f);

	/* a long reason keeps to the outcome's size */
	f = fx_new(STAGE_CREATE_ORDER, "a.example", 4, 3);
	outcome_retry(&f->out, -1, "%0*d", OUTCOME_REASON_MAX - 1, 0);
	fx_plan(f, true, 0);
	assert_int_equal(strlen(f->c.last_error), OUTCOME_REASON_MAX - 1);
	assert_memory_equal(f->c.last_error, "gave up after 5 attempts: 000", 29);
	fx_free(f);

	/* max_attempts 0 retries forever */
	f = fx_new(STAGE_VERIFY_CNAME, "a.example", 100000, 3);
	f->pol.max_attempts = 0;
	outcome_retry(&f->out, -1, "no CNAME yet");
	fx_plan(f, true, 0);
	assert_int_equal(f->c.kind, COMMIT_LATER);
	assert_int_equal(f->c.attempts, 100001);
	fx_free(f);

	/* the CA failing (an outage): the backoff of the last attempt, never
	 * a give-up, however long it lasts */
	for (uint32_t a = 3; a < 8; a++) {
		f = fx_new(STAGE_CREATE_ORDER, "a.example", a, 3);
		outcome_retry(&f->out, -1, "new order: HTTP 503");
		f->out.outage = true;
		fx_plan(f, true, 0);
		assert_int_equal(f->c.kind, COMMIT_LATER);
		assert_int_equal(f->c.attempts, a + 1 < 5 ? a + 1 : 4);
		fx_free(f);
	}

	/* a crafted count at the top stays there: it never wraps to attempt 0 */
	f = fx_new(STAGE_VERIFY_CNAME, "a.example", UINT32_MAX, 3);
	f->pol.max_attempts = 0;
	outcome_retry(&f->out, -1, "no CNAME yet");
	fx_plan(f, true, 0);
	assert_int_equal(f->c.kind, COMMIT_LATER);
	assert_int_equal(f->c.attempts, UINT32_MAX);
	fx_free(f);

	/* a Retry-After counts as an attempt too */
	f = fx_new(STAGE_CREATE_ORDER, "a.example", 4, 3);
	outcome_retry(&f->out, 1000, "busy");
	f->out.event = "waiting";
	fx_plan(f, true, 0);
	assert_int_equal(f->c.kind, COMMIT_DEAD);
	assert_string_equal(f->c.event, "waiting");   /* the handler's event stays */
	fx_free(f);
}

static void test_unrun(void **state)
{
	(void)state;
	struct fx *f = fx_new(STAGE_CREATE_ORDER, "a.example", 4, 3);

	assert_true(plan_runs(30000, 60000));
	assert_false(plan_runs(29999, 60000));
	/* the runtime zeroes the outcome and sets delay_ms -1 first */
	plan_unrun(&f->out, 1200, 60000);
	fx_plan(f, false, 0);
	assert_int_equal(f->c.kind, COMMIT_LATER);
	assert_int_equal(f->c.dst, STAGE_CREATE_ORDER);
	assert_int_equal(f->c.due_ms, NOW);          /* back at once */
	assert_int_equal(f->c.attempts, 4);          /* not an attempt: no give-up */
	assert_string_equal(f->c.state, "");         /* the domain's state stays */
	assert_string_equal(f->c.last_error,
	                    "not run: the entries read before it in its batch left it "
	                    "1200 ms of worker.job_timeout_ms (60000 ms)");
	assert_int_equal(f->p.count, PLAN_COUNT_RETRY_AFTER);
	fx_free(f);
}

static void test_done(void **state)
{
	(void)state;
	struct fx *f = fx_new(STAGE_OFFBOARD_CHECK, "a.example", 2, 9);

	outcome_done(&f->out);
	f->out.state = "offboarded";
	f->out.event = "offboarded";
	fx_plan(f, true, 0);
	assert_int_equal(f->c.kind, COMMIT_DONE);
	assert_string_equal(f->c.state, "offboarded");
	assert_string_equal(f->c.event, "offboarded");
	assert_int_equal(f->c.attempts, 2);
	assert_int_equal(f->p.log_level, LOG_DEBUG);
	assert_string_equal(f->msg, "done");
	fx_free(f);

	/* the default state; and CLAIM's drop of a job whose domain runs a
	 * pipeline already (nudged): done, the domain's hash left alone */
	f = fx_new(STAGE_VERIFY_CNAME, "a.example", 0, 0);
	outcome_done(&f->out);
	fx_plan(f, true, 0);
	assert_string_equal(f->c.state, "done");
	fx_free(f);
	f = fx_new(STAGE_VERIFY_CNAME, "a.example", 0, 0);
	outcome_done(&f->out);
	f->out.state = "";
	fx_plan(f, true, 0);
	assert_int_equal(f->c.kind, COMMIT_DONE);
	assert_string_equal(f->c.state, "");
	assert_int_equal(f->c.gen, 0);
	fx_free(f);
}

/* outcome_event_field(): name and value checked, pairs appended; the plan
 * sends them with the handler's event only. */
static void test_event_fields(void **state)
{
	(void)state;
	struct fx *f = fx_new(STAGE_FINALIZE, "a.example", 0, 9);
	char big[OUTCOME_FIELDS_MAX];

	outcome_advance(&f->out, STAGE_OFFBOARD_CHECK);
	outcome_event(&f->out, EVENT_ISSUED);
	assert_int_equal(outcome_event_field(&f->out, "names", "a.example,www.a.example"), 0);
	assert_int_equal(outcome_event_field(&f->out, "renewal", "0"), 0);
	assert_int_equal(outcome_event_field(&f->out, "serial", "0A\r\ntype"), -1);
	assert_int_equal(outcome_event_field(&f->out, "serial", "0A\x7f"), -1);
	assert_int_equal(outcome_event_field(&f->out, "type", "forged"), -1);
	assert_int_equal(outcome_event_field(&f->out, "time", "1"), -1);
	assert_int_equal(outcome_event_field(&f->out, "Serial", "0A"), -1);
	assert_int_equal(outcome_event_field(&f->out, "se\nrial", "0A"), -1);
	assert_int_equal(outcome_event_field(&f->out, "", "0A"), -1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(outcome_event_field(&f->out, "big", big), -1);
	fx_plan(f, true, 0);
	assert_string_equal(f->c.event, "issued");
	assert_string_equal(f->c.event_fields, "names\na.example,www.a.example\nrenewal\n0\n");
	fx_free(f);

	/* fields without an event of the handler's: none sent */
	f = fx_new(STAGE_FINALIZE, "a.example", 0, 9);
	outcome_retry(&f->out, 1000, "later");
	assert_int_equal(outcome_event_field(&f->out, "renewal", "1"), 0);
	fx_plan(f, true, 0);
	assert_string_equal(f->c.event_fields, "");
	fx_free(f);
}

static void test_fail(void **state)
{
	(void)state;
	struct fx *f = fx_new(STAGE_VERIFY_CNAME, "a.example", 0, 0);

	outcome_fail(&f->out, "refused: %s is held by another tenant", "b.example");
	f->out.state = "";
	f->out.event = "dead-letter";
	fx_plan(f, true, 0);
	assert_int_equal(f->c.kind, COMMIT_DEAD);
	assert_string_equal(f->c.state, "");
	assert_string_equal(f->c.event, "dead-letter");
	assert_string_equal(f->c.last_error, "refused: b.example is held by another tenant");
	assert_int_equal(f->p.count, PLAN_COUNT_DEAD_FAILED);
	assert_string_equal(f->msg, "failed: refused: b.example is held by another tenant");
	fx_free(f);

	f = fx_new(STAGE_FINALIZE, "a.example", 0, 4);
	outcome_fail(&f->out, "the order is invalid");
	fx_plan(f, true, 0);
	assert_string_equal(f->c.state, "failed");
	assert_string_equal(f->c.event, "failed");
	assert_int_equal(f->c.gen, 4);
	fx_free(f);
}

static void test_no_outcome(void **state)
{
	(void)state;
	struct fx *f = fx_new(STAGE_FINALIZE, "a.example", 0, 4);

	fx_plan(f, true, 0);   /* the handler set nothing */
	assert_int_equal(f->c.kind, COMMIT_DEAD);
	assert_string_equal(f->c.state, "failed");
	assert_string_equal(f->c.event, "failed");
	assert_string_equal(f->c.last_error, "handler returned no outcome");
	assert_string_equal(f->p.log_outcome, "none");
	assert_int_equal(f->p.count, PLAN_COUNT_DEAD_FAILED);
	fx_free(f);

	/* nor can a kind out of range index anything */
	f = fx_new(STAGE_FINALIZE, "a.example", 0, 4);
	f->out.kind = (enum outcome_kind)99;
	fx_plan(f, true, 0);
	assert_int_equal(f->c.kind, COMMIT_DEAD);
	assert_string_equal(f->p.log_outcome, "none");
	fx_free(f);
}

static void test_bad_job(void **state)
{
	(void)state;
	static const char junk[] = "\x93\x01\x02";   /* a msgpack array, not a map */
	struct queue_entry entries[] = {
		{ STAGE_CREATE_ORDER, "5-0", NULL, 0, "a.example" },
		{ STAGE_CREATE_ORDER, "5-1", junk, 3, "a.example" },
	};
	for (size_t i = 0; i < 2; i++) {
		struct job job;
		struct plan p;
		struct queue_commit c;
		char why[256], msg[512];
		struct stage_policy pol = { 1000, 60000, 5 };

		assert_false(plan_decode(&entries[i], JOB_DEFAULT_MAX_BYTES, NOW, &job,
		                         why, sizeof(why)));
		if (i == 0)
			assert_string_equal(why, "stream entry has no job field");
		struct plan_in in = { .entry = &entries[i], .bad = why, .policy = &pol,
		                      .now_ms = NOW, .ran = true };
		plan_build(&in, &p, &c);
		plan_describe(&p, &c, msg, sizeof(msg));
		assert_int_equal(c.kind, COMMIT_DEAD);
		assert_int_equal(c.src, STAGE_CREATE_ORDER);
		assert_string_equal(c.entry_id, entries[i].id);
		assert_ptr_equal(c.job, entries[i].job);       /* as it came */
		assert_int_equal(c.job_len, entries[i].job_len);
		assert_string_equal(c.domain, "a.example");    /* the entry's field */
		assert_string_equal(c.job_id, "");
		assert_string_equal(c.state, "");              /* nothing to trust */
		assert_string_equal(c.event, "dead-letter");
		assert_string_equal(c.last_error, why);
		assert_int_equal(c.gen, 0);
		assert_int_equal(c.attempts, 0);
		assert_true(p.bad);
		assert_null(p.enc);
		assert_int_equal(p.count, PLAN_COUNT_DEAD_BAD_JOB);
		assert_int_equal(p.log_level, LOG_WARN);
		assert_string_equal(p.log_outcome, "dead");
		assert_memory_equal(msg, "dead letter: ", 13);
		plan_release(&p);
	}
}

static void test_decode_defaults(void **state)
{
	(void)state;
	/* a job from a backend's XADD: no id, no times */
	static const char raw[] = "\x82\xa1v\x01\xa6" "domain" "\xa9" "a.example";
	struct queue_entry e = { STAGE_VERIFY_CNAME, "1700-3", raw, sizeof(raw) - 1, "" };
	struct job job;
	char why[256];

	assert_true(plan_decode(&e, JOB_DEFAULT_MAX_BYTES, NOW, &job, why, sizeof(why)));
	assert_string_equal(job.id, "x1700-3");   /* the same on every delivery */
	assert_int_equal(job.created_at, NOW);
	assert_int_equal(job.since, NOW);
	assert_int_equal(job.gen, 0);
	job_clear(&job);

	/* over the size cap */
	assert_false(plan_decode(&e, 8, NOW, &job, why, sizeof(why)));
}

static void test_stage_rand(void **state)
{
	(void)state;
	uint64_t a = 42, b = 42, z = 0;
	struct stage_env ea = { .rnd = &a }, eb = { .rnd = &b }, ez = { .rnd = &z };
	struct stage_env none = { .now_ms = NOW };

	for (int i = 0; i < 100; i++) {
		uint64_t x = stage_rand(&ea);
		assert_int_equal(x, stage_rand(&eb));   /* seeded: reproducible */
		assert_true(x != 0);
		assert_int_equal(x, a);                 /* the state advances */
	}
	assert_true(stage_rand(&ea) != stage_rand(&ea));
	assert_true(stage_rand(&ez) != 0);          /* 0 is not stuck */
	assert_true(stage_rand(&none) != 0);        /* without a state */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_advance),
		cmocka_unit_test(test_advance_later),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_retry_backoff),
		cmocka_unit_test(test_wait_is_not_an_attempt),
		cmocka_unit_test(test_give_up),
		cmocka_unit_test(test_unrun),
		cmocka_unit_test(test_done),
		cmocka_unit_test(test_event_fields),
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_no_outcome),
		cmocka_unit_test(test_bad_job),
		cmocka_unit_test(test_decode_defaults),
		cmocka_unit_test(test_stage_rand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
