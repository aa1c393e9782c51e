/*
 * lifecycle_names: see lifecycle_names.h.
 */
#include "lifecycle_names.h"

#include <string.h>

#define NAME_(id, name, kind, origin) [STATE_##id] = name,
static const char *const state_names[STATE_COUNT] = { DCV_DOMAIN_STATES(NAME_) };
#undef NAME_

#define KIND_(id, name, kind, origin) [STATE_##id] = STATE_KIND_##kind,
static const enum domain_state_kind state_kinds[STATE_COUNT] = { DCV_DOMAIN_STATES(KIND_) };
#undef KIND_

#define NAME_(id, name) [EVENT_##id] = name,
static const char *const event_names[EVENT_COUNT] = { DCV_DOMAIN_EVENTS(NAME_) };
#undef NAME_

const char *domain_state_name(enum domain_state s)
{
	return (unsigned)s < STATE_COUNT ? state_names[s] : "?";
}

int domain_state_parse(const char *name)
{
	for (int i = 0; i < STATE_COUNT; i++)
		if (strcmp(name, state_names[i]) == 0)
			return i;
	return -1;
}

enum domain_state_kind domain_state_kind(enum domain_state s)
{
	return (unsigned)s < STATE_COUNT ? state_kinds[s] : STATE_KIND_END;
}

bool domain_state_active(enum domain_state s)
{
	enum domain_state_kind k = domain_state_kind(s);
	return k == STATE_KIND_RUN || k == STATE_KIND_HELD;
}

const char *domain_event_name(enum domain_event e)
{
	return (unsigned)e < EVENT_COUNT ? event_names[e] : "?";
}

int domain_event_parse(const char *name)
{
	for (int i = 0; i < EVENT_COUNT; i++)
		if (strcmp(name, event_names[i]) == 0)
			return i;
	return -1;
}
