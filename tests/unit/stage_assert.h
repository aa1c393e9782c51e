/* What the stage decision tests assert of an outcome: its kind, its next
 * stage, its state and event (named from lifecycle_names.h), its reason. */
#ifndef DCV_TEST_STAGE_ASSERT_H
#define DCV_TEST_STAGE_ASSERT_H

#include <string.h>

#include "lifecycle_names.h"
#include "worker.h"

/* The state OUT records: S, or -1 for "left as it was" (""), -2 for the
 * runtime's default (NULL). */
#define KEEP (-1)
#define DEFAULT (-2)
static inline void assert_state(const struct outcome *out, int s)
{
	if (s == DEFAULT) {
		assert_null(out->state);
		return;
	}
	assert_non_null(out->state);
	assert_string_equal(out->state, s == KEEP ? "" : domain_state_name((enum domain_state)s));
}

/* The event OUT adds: E, or -1 for none. */
#define NO_EVENT (-1)
static inline void assert_event_is(const struct outcome *out, int e)
{
	if (e == NO_EVENT) {
		assert_null(out->event);
		return;
	}
	assert_non_null(out->event);
	assert_string_equal(out->event, domain_event_name((enum domain_event)e));
}

static inline void assert_reason_has(const struct outcome *out, const char *s)
{
	if (!strstr(out->reason, s))
		fail_msg("reason \"%s\" lacks \"%s\"", out->reason, s);
}

#endif
