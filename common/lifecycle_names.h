/*
 * lifecycle_names: the one list of the domain states and the event types.
 *
 * Every value the record's `state` field takes and every `type` of a
 * <p>:events entry is named here once (schemas/lifecycle.md, "States" and
 * "Events").  From these lists come:
 *   - the C names: enum domain_state / enum domain_event, with
 *     domain_state_name() and domain_event_name() for the strings written
 *     to Redis;
 *   - the Lua sets of the scripts (LIFECYCLE_ACTIVE_LUA,
 *     LIFECYCLE_UNDER_WAY_LUA), built by the preprocessor from the same
 *     list, so the scripts cannot disagree with the C;
 *   - the check of the documentation: tests/unit/test_lifecycle_names.c
 *     fails when the lists of schemas/lifecycle.md, schemas/redis.md or
 *     README.md differ from these.
 * Adding a state is one line below (and its row in lifecycle.md).
 *
 * A state's kind says what the scripts and the gauges make of it:
 *   RUN   a pipeline job exists and is working towards a certificate (a
 *         renewal is "under way", for the expiry gauges);
 *   HELD  a pipeline job exists but only waits (issued: the watch for the
 *         renewal; the noop runtime's "active");
 *   END   the pipeline ended; the domain is still ours;
 *   GONE  the pipeline ended and the domain is no longer ours to renew.
 * RUN and HELD are the *active* states: ONBOARD and CLAIM only nudge a
 * domain in one of them, RELEASE refuses it, OFFBOARD flags it.
 * The last column says where a state is documented: LIFE the lifecycle's
 * own (the States table of lifecycle.md), RUNTIME the worker runtime's
 * (waiting; active and done only with worker.handlers: noop).
 */
#ifndef DCV_LIFECYCLE_NAMES_H
#define DCV_LIFECYCLE_NAMES_H

#include <stdbool.h>

/* X(ID, "name", kind, origin), in the order of lifecycle.md's table. */
#define DCV_DOMAIN_STATES(X) \
	X(QUEUED,        "queued",        RUN,  LIFE) \
	X(VERIFYING,     "verifying",     RUN,  LIFE) \
	X(WAITING_CNAME, "waiting-cname", RUN,  LIFE) \
	X(CAA_BLOCKED,   "caa-blocked",   RUN,  LIFE) \
	X(ORDERING,      "ordering",      RUN,  LIFE) \
	X(RATE_LIMITED,  "rate-limited",  RUN,  LIFE) \
	X(PROVISIONING,  "provisioning",  RUN,  LIFE) \
	X(VALIDATING,    "validating",    RUN,  LIFE) \
	X(FINALIZING,    "finalizing",    RUN,  LIFE) \
	X(ISSUED,        "issued",        HELD, LIFE) \
	X(RENEWING,      "renewing",      RUN,  LIFE) \
	X(ABANDONED,     "abandoned",     END,  LIFE) \
	X(FAILED,        "failed",        END,  LIFE) \
	X(PARKED,        "parked",        GONE, LIFE) \
	X(OFFBOARDED,    "offboarded",    GONE, LIFE) \
	X(WAITING,       "waiting",       RUN,  RUNTIME) \
	X(ACTIVE,        "active",        HELD, RUNTIME) \
	X(DONE,          "done",          END,  RUNTIME)

/* X(ID, "type"), in the order of lifecycle.md's Events table. */
#define DCV_DOMAIN_EVENTS(X) \
	X(ISSUED,             "issued") \
	X(ABANDONED,          "abandoned") \
	X(CAA_BLOCKED,        "caa-blocked") \
	X(AUTHZ_INVALID,      "authz-invalid") \
	X(CHALLENGE_ERROR,    "challenge-error") \
	X(FAILED,             "failed") \
	X(MOVING_AWAY,        "moving-away") \
	X(BACK,               "back") \
	X(NAME_LEFT,          "name-left") \
	X(DELEGATION_MISSING, "delegation-missing") \
	X(NEVER_POINTED,      "never-pointed") \
	X(STALE_DELEGATION,   "stale-delegation") \
	X(DELEGATION_REMOVED, "delegation-removed") \
	X(CERT_DELETED,       "cert-deleted") \
	X(REVOKED,            "revoked") \
	X(DEAD_LETTER,        "dead-letter")

#define DCV_STATE_ENUM_(id, name, kind, origin) STATE_##id,
enum domain_state { DCV_DOMAIN_STATES(DCV_STATE_ENUM_) STATE_COUNT };
#undef DCV_STATE_ENUM_

#define DCV_EVENT_ENUM_(id, name) EVENT_##id,
enum domain_event { DCV_DOMAIN_EVENTS(DCV_EVENT_ENUM_) EVENT_COUNT };
#undef DCV_EVENT_ENUM_

enum domain_state_kind { STATE_KIND_RUN, STATE_KIND_HELD, STATE_KIND_END,
                         STATE_KIND_GONE };

/* The string of S as Redis holds it ("waiting-cname"); static, never NULL
 * ("?" for a value out of range). */
const char *domain_state_name(enum domain_state s);

/* The state named NAME, or -1 for a value that is no state of the list. */
int domain_state_parse(const char *name);

enum domain_state_kind domain_state_kind(enum domain_state s);

/* RUN or HELD: a pipeline job exists for the domain (the Lua ACTIVE). */
bool domain_state_active(enum domain_state s);

/* The event type of E ("moving-away"); static, never NULL. */
const char *domain_event_name(enum domain_event e);

/* The event named NAME, or -1. */
int domain_event_parse(const char *name);

/*
 * The Lua sets, as source text to put before a script that uses them:
 *   local ACTIVE = {['queued'] = 1, ...}      RUN and HELD states
 *   local UNDER_WAY = {['queued'] = 1, ...}   RUN states
 *   local GONE = {['parked'] = 1, ...}        GONE states
 */
/* Which kinds each set holds (1 or 0, pasted into the item's macro). */
#define DCV_IN_ACTIVE_RUN_ 1
#define DCV_IN_ACTIVE_HELD_ 1
#define DCV_IN_ACTIVE_END_ 0
#define DCV_IN_ACTIVE_GONE_ 0
#define DCV_IN_UNDER_WAY_RUN_ 1
#define DCV_IN_UNDER_WAY_HELD_ 0
#define DCV_IN_UNDER_WAY_END_ 0
#define DCV_IN_UNDER_WAY_GONE_ 0
#define DCV_IN_GONE_RUN_ 0
#define DCV_IN_GONE_HELD_ 0
#define DCV_IN_GONE_END_ 0
#define DCV_IN_GONE_GONE_ 1
#define DCV_LUA_ITEM_(in, name) DCV_LUA_ITEM2_(in, name)
#define DCV_LUA_ITEM2_(in, name) DCV_LUA_ITEM_##in##_(name)
#define DCV_LUA_ITEM_1_(name) "['" name "'] = 1, "
#define DCV_LUA_ITEM_0_(name)
#define DCV_LUA_ACTIVE_(id, name, kind, origin) DCV_LUA_ITEM_(DCV_IN_ACTIVE_##kind##_, name)
#define DCV_LUA_UNDER_WAY_(id, name, kind, origin) \
	DCV_LUA_ITEM_(DCV_IN_UNDER_WAY_##kind##_, name)
#define DCV_LUA_GONE_(id, name, kind, origin) DCV_LUA_ITEM_(DCV_IN_GONE_##kind##_, name)

#define LIFECYCLE_ACTIVE_LUA \
	"local ACTIVE = {" DCV_DOMAIN_STATES(DCV_LUA_ACTIVE_) "}\n"
#define LIFECYCLE_UNDER_WAY_LUA \
	"local UNDER_WAY = {" DCV_DOMAIN_STATES(DCV_LUA_UNDER_WAY_) "}\n"
#define LIFECYCLE_GONE_LUA \
	"local GONE = {" DCV_DOMAIN_STATES(DCV_LUA_GONE_) "}\n"

#endif
