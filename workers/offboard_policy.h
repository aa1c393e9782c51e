/*
 * offboard_policy: what offboard-check decides, as pure functions of what
 * it remembers about a domain (fields of the domain record) and what this
 * check observed.  No I/O: offboard_check.c reads the record and DNS, calls
 * ob_decide(), and carries the decision out; tests/unit/test_offboard.c
 * walks the tables of schemas/lifecycle.md ("Offboarding") through it.
 *
 * Certainty before anything is ended:
 *   - a name that pointed at us is taken as gone only after it pointed
 *     elsewhere on every definite check for offboard_after_ms and on at
 *     least min_checks checks; the first such check tells "moving-away",
 *     pointing back before that tells "back";
 *   - a transient answer (SERVFAIL, timeout) is no evidence: it neither
 *     counts nor breaks a run of checks;
 *   - a domain is parked (never pointed at us) only after park_grace_ms from
 *     its first certificate and min_checks definite checks of every name;
 *   - "delegation-missing" is told after min_checks definite checks in a
 *     row that found _acme-challenge not pointing at the target;
 *   - without a pointing rule nothing is known about where a name points:
 *     nothing is parked or offboarded, certificates keep renewing.
 *
 * Every name of the certificate counts.  When some names left and others
 * still point at us, the names that left are dropped from the domain's
 * "names" ("name-left"): the certificate in hand keeps serving the rest and
 * the next renewal orders only the names that stayed; nothing is ordered
 * again for the ones that left.  A dropped name that points at us again is
 * taken back ("back") and renewed at once.  A name that never pointed at us
 * rides along while another name does.  When no name that pointed at us is
 * left with us, the domain is offboarded ("moved away from us").
 */
#ifndef DCV_OFFBOARD_POLICY_H
#define DCV_OFFBOARD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dname.h"
#include "worker.h"

#define OB_NAMES_MAX 16
#define OB_DETAIL_MAX 512
#define OB_FIELD_MAX 2048   /* one formatted record field */

/* What one check saw for a name. */
enum ob_seen {
	OB_SEEN_NONE = 0,  /* not looked at (no pointing rule) */
	OB_SEEN_US,        /* points at us */
	OB_SEEN_ELSEWHERE, /* a definite answer: elsewhere, or no such name */
	OB_SEEN_UNKNOWN,   /* transient (SERVFAIL, timeout): no evidence */
};

/* What one check saw of the delegations (_acme-challenge) of the names. */
enum ob_deleg {
	OB_DELEG_OK = 0,   /* every base name delegated to its target */
	OB_DELEG_MISSING,  /* a definite answer: one is not */
	OB_DELEG_UNKNOWN,  /* transient somewhere, none definitely missing */
};

struct ob_name {
	char name[DNAME_MAX + 2];  /* as in "names" ("*.x" kept) */
	bool current;              /* in "names"; false: in "left" */
	bool pointed;              /* seen pointing at us before ("pointed") */
	long long away_since;      /* first of the checks in a row that saw it
	                              elsewhere (unix ms); 0: not away */
	int away_checks;
	long long away_last;       /* the run's last definite check (unix ms);
	                              0: not known (a record from before) */
	bool away_told;            /* "moving-away" was told for this run */
	enum ob_seen seen;         /* input: this check */
};

/* What offboard-check remembers, as in the record. */
struct ob_state {
	struct ob_name name[OB_NAMES_MAX];
	int n;
	long long missing_since;   /* delegation missing on checks in a row */
	int missing_checks;
	bool missing_told;
};

struct ob_params {
	long long offboard_after_ms;
	int min_checks;
	long long park_grace_ms;
	long long interval_ms;     /* the normal check interval */
	bool rule;                 /* a pointing rule is configured */
};

struct ob_facts {
	uint64_t now_ms;
	long long first_issued_at; /* ms */
	long long renew_at;        /* ms */
	long long not_after_ms;
	enum ob_deleg deleg;
	const char *deleg_detail;  /* why, when not OK */
	bool renew_now;            /* the stored certificate is missing */
};

enum ob_action {
	OB_KEEP = 0,   /* check again after next_ms */
	OB_RENEW,      /* renewal: back through verify-cname */
	OB_PARK,       /* never pointed at us: parked, the pipeline ends */
	OB_OFFBOARD,   /* moved away: offboarded */
	OB_RETRY,      /* nothing definite: look again soon (the backoff) */
};

struct ob_decision {
	enum ob_action action;
	const char *event;          /* told now (NULL: none); with OB_PARK it
	                               is the commit's "never-pointed" */
	char detail[OB_DETAIL_MAX]; /* the event's detail, or why for the rest */
	bool names_changed;         /* names were dropped or taken back */
	long long next_ms;          /* OB_KEEP: at most this long to the next
	                               check (before jitter) */
};

/* Reads the record's fields (NULL or "" when absent) into ST: NAMES and
 * LEFT (comma-separated), POINTED (comma-separated), AWAY
 * ("name=since:checks:told,..."), MISSING ("since:checks:told").  Names
 * beyond OB_NAMES_MAX and malformed entries are ignored.  Returns the
 * number of names. */
int ob_state_parse(struct ob_state *st, const char *names, const char *left,
                   const char *pointed, const char *away, const char *missing);

/* Formats ST back into the fields (each OB_FIELD_MAX bytes). */
void ob_state_format(const struct ob_state *st, char *names, char *left, char *pointed,
                     char *away, char *missing);

/* Whether any name of ST was ever seen pointing at us. */
bool ob_ever_pointed(const struct ob_state *st);

/* Decides the check: updates ST with this check's observations (the
 * names' "seen") and fills D. */
void ob_decide(const struct ob_params *p, const struct ob_facts *f, struct ob_state *st,
               struct ob_decision *d);

/*
 * The check's decision as the stage's outcome (the state and event of
 * schemas/lifecycle.md's rows for offboard-check).
 */

/* OB_PARK, OB_RETRY and OB_KEEP of D into OUT: parked (the event
 * "never-pointed", the pipeline ends); issued, looked at again with the
 * backoff (DELEG_DETAIL, or the pointing checks, say why); issued, checked
 * again after DELAY (the delegation gone, when DELEG is missing).
 * OB_OFFBOARD and OB_RENEW are ob_watch() and ob_renewing(). */
void ob_outcome(const struct ob_decision *d, int64_t delay, enum ob_deleg deleg,
                const char *deleg_detail, struct outcome *out);

/* Why a renewal starts: the stored certificate is missing, a name came
 * back, or it is due. */
const char *ob_renew_reason(bool cert_missing, bool names_changed);

/* The renewal starts (verified_gen and the order's fields deleted): back
 * through verify-cname, "renewing". */
void ob_renewing(const char *why, struct outcome *out);

/* What the watch of an offboarded domain saw of the delegations of all its
 * names (current and left). */
struct ob_watch {
	int seen;               /* servers still answering the CNAME to us */
	int of;                 /* servers asked */
	const char *unchecked;  /* a base no server could be asked about, or NULL */
	const char *detail;     /* its check's detail */
};

/* An offboarded domain (WHY: "offboarded by the backend" or "moved away
 * from us"; BASE: the domain's base name): while some server still shows
 * the delegation, "stale-delegation" once (NOTIFIED: the record's last
 * event) and again after STALE_INTERVAL_MS; when none does,
 * "delegation-removed" and the pipeline ends.  Always "offboarded". */
void ob_watch(const struct ob_watch *w, const char *why, const char *base,
              long long stale_interval_ms, const char *notified, struct outcome *out);

/*
 * The retention of a departed domain's certificate
 * (lifecycle.cert_retention_ms): a parked or offboarded domain's
 * dcv:cert:<fqdn> is deleted RETENTION_MS after offboard-check first saw it
 * gone ("left_at"), by the same job, which waits in offboard-check for it
 * instead of ending.
 */

/* How long until the certificate of a domain that left at LEFT_AT (unix
 * ms) is deleted, at NOW_MS: 0 now, > 0 the wait, -1 nothing to delete
 * (STORED false: the record's certificate is not in dcv:cert, or was
 * deleted). */
long long ob_retention_wait(uint64_t now_ms, long long left_at, long long retention_ms,
                            bool stored);

/* OUT of a departed domain's run (the watch, the park), given the
 * retention's WAIT (ob_retention_wait(); -1: none): a pipeline that would
 * end waits in offboard-check for the deletion instead (its state and
 * event kept); a watch that checks again checks no later than the
 * deletion.  A retry (the backoff) is left as it is. */
void ob_retain(long long wait, struct outcome *out);

/* A departed domain whose watch is over (parked: there was none; offboarded:
 * "delegation-removed" was told) back for the retention: it ends, in
 * STATE (parked or offboarded). */
void ob_gone(enum domain_state state, struct outcome *out);

/* Revocation at departure (lifecycle.revoke_on_departure): an offboarded
 * domain's certificate is revoked once with RFC 5280's
 * cessationOfOperation.  Not a parked one: it never pointed at us, so its
 * certificate was never served, and a revocation would cost the CA a
 * request and its CRL an entry for nothing. */
#define OB_REVOKE_REASON 5
#define OB_REVOKE_REASON_NAME "cessationOfOperation"

/* Whether to ask the CA now: ENABLED, the domain offboarded (not PARKED),
 * the record's certificate STORED, and neither revoked nor refused yet
 * (DONE). */
bool ob_revoke_due(bool enabled, bool parked, bool stored, bool done);

enum ob_revoke {
	OB_REVOKE_RECORD = 0,  /* revoked (or already): recorded, the event */
	OB_REVOKE_RETRY,       /* the CA failed for now: asked again later */
	OB_REVOKE_GIVE_UP,     /* the CA refused for good: recorded, not asked
	                          again; the offboarding goes on regardless */
};

/* What revokeCert's answer ST means (acme.h's enum acme_status). */
enum ob_revoke ob_revoke_result(int st);

/* The watch could not look (the TXT could not be removed, a delegation
 * check was transient): again with the backoff, "offboarded". */
void ob_watch_retry(const char *why, struct outcome *out);

/* The gate's row: an offboard-check job of a domain never issued. */
void ob_never_issued(struct outcome *out);

/* Only the renewal window was due (the DNS checks keep their pace): again
 * after DELAY, "issued". */
void ob_window_only(int64_t delay, struct outcome *out);

/* Another run of this job wrote the check first: decide again on its view
 * (at once, a wait, the state left alone). */
void ob_checked_meanwhile(struct outcome *out);

/* The delay until the next check at NOW_MS: D (at least 1), or sooner
 * when the renewal moment RENEW_AT or the next renewalInfo poll ARI_NEXT
 * (unix ms; 0: none) comes first.  A moment already past shortens
 * nothing: a renewal that is due but held back (the delegation missing)
 * waits for the next check at D, where a delay to the past would run the
 * check again at once, in a loop, until the delegation came back. */
int64_t ob_next_delay(uint64_t now_ms, int64_t d, long long renew_at, long long ari_next);

/* ARI (RFC 9773), followed: when to renew and when to ask again, from a
 * window [START_MS, END_MS] the CA suggests now and the Retry-After it sent
 * (-1: none; then the default, 6 h), bounded by [MIN_MS, MAX_MS].  A renewal
 * time already chosen inside the window is kept (no stampede at every
 * poll); otherwise a moment of the window is drawn from RND, and one in
 * the past means now (RFC 9773 4.2).  Fills *RENEW_AT and *NEXT_POLL (unix
 * ms). */
void ari_schedule(uint64_t now_ms, long long start_ms, long long end_ms,
                  long long retry_after_ms, long long min_ms, long long max_ms,
                  long long cur_renew_at, uint64_t rnd, long long *renew_at,
                  long long *next_poll);

#endif
