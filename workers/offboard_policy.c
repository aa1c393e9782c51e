/* What offboard-check decides; see offboard_policy.h. */
#include "offboard_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acme.h"

#define HOUR_MS 3600000LL

/* Appends S to the comma-separated LIST (LEN bytes); drops what does not
 * fit. */
static void list_add(char *list, size_t len, const char *s)
{
	size_t l = strlen(list);
	snprintf(list + l, len - l, "%s%s", l ? ", " : "", s);
}

static struct ob_name *find(struct ob_state *st, const char *name)
{
	for (int i = 0; i < st->n; i++)
		if (strcmp(st->name[i].name, name) == 0)
			return &st->name[i];
	return NULL;
}

/* Adds every name of the comma-separated LIST to ST with CURRENT. */
static void add_names(struct ob_state *st, const char *list, bool current)
{
	char buf[OB_FIELD_MAX];

	snprintf(buf, sizeof(buf), "%s", list ? list : "");
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && st->n < OB_NAMES_MAX;
	     t = strtok_r(NULL, ",", &save)) {
		if (!*t || strlen(t) > DNAME_MAX + 1 || find(st, t))
			continue;
		struct ob_name *n = &st->name[st->n++];
		memset(n, 0, sizeof(*n));
		snprintf(n->name, sizeof(n->name), "%s", t);
		n->current = current;
	}
}

int ob_state_parse(struct ob_state *st, const char *names, const char *left,
                   const char *pointed, const char *away, const char *missing)
{
	char buf[OB_FIELD_MAX];

	memset(st, 0, sizeof(*st));
	add_names(st, names, true);
	add_names(st, left, false);
	snprintf(buf, sizeof(buf), "%s", pointed ? pointed : "");
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		struct ob_name *n = find(st, t);
		if (n)
			n->pointed = true;
	}
	snprintf(buf, sizeof(buf), "%s", away ? away : "");
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		long long since;
		int checks, told;
		if (!eq)
			continue;
		*eq = '\0';
		struct ob_name *n = find(st, t);
		long long last = 0;
		int got = n ? sscanf(eq + 1, "%lld:%d:%d:%lld", &since, &checks, &told, &last) : 0;
		if (got >= 3 && since > 0 && checks > 0) {
			n->away_since = since;
			n->away_checks = checks;
			n->away_told = told != 0;
			n->away_last = got == 4 && last >= since ? last : 0;
		}
	}
	long long since;
	int checks, told;
	if (missing && sscanf(missing, "%lld:%d:%d", &since, &checks, &told) == 3 &&
	    since > 0 && checks > 0) {
		st->missing_since = since;
		st->missing_checks = checks;
		st->missing_told = told != 0;
	}
	return st->n;
}

void ob_state_format(const struct ob_state *st, char *names, char *left, char *pointed,
                     char *away, char *missing)
{
	size_t on = 0, ol = 0, op = 0, oa = 0;

	names[0] = left[0] = pointed[0] = away[0] = missing[0] = '\0';
	for (int i = 0; i < st->n; i++) {
		const struct ob_name *n = &st->name[i];
		char *list = n->current ? names : left;
		size_t *o = n->current ? &on : &ol;
		int w = snprintf(list + *o, OB_FIELD_MAX - *o, "%s%s", *o ? "," : "", n->name);
		if (w > 0 && (size_t)w < OB_FIELD_MAX - *o)
			*o += (size_t)w;
		else
			list[*o] = '\0';
		if (n->pointed) {
			w = snprintf(pointed + op, OB_FIELD_MAX - op, "%s%s", op ? "," : "", n->name);
			if (w > 0 && (size_t)w < OB_FIELD_MAX - op)
				op += (size_t)w;
			else
				pointed[op] = '\0';
		}
		if (n->current && n->away_since) {
			char last[24] = "";
			if (n->away_last)
				snprintf(last, sizeof(last), ":%lld", n->away_last);
			w = snprintf(away + oa, OB_FIELD_MAX - oa, "%s%s=%lld:%d:%d%s", oa ? "," : "",
			             n->name, n->away_since, n->away_checks, n->away_told ? 1 : 0,
			             last);
			if (w > 0 && (size_t)w < OB_FIELD_MAX - oa)
				oa += (size_t)w;
			else
				away[oa] = '\0';
		}
	}
	if (st->missing_since)
		snprintf(missing, OB_FIELD_MAX, "%lld:%d:%d", st->missing_since,
		         st->missing_checks, st->missing_told ? 1 : 0);
}

bool ob_ever_pointed(const struct ob_state *st)
{
	for (int i = 0; i < st->n; i++)
		if (st->name[i].pointed)
			return true;
	return false;
}

static long long min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

/* Records this check's observation of every name.  Fills the lists of the
 * names that came back (BACK: were away; READDED: had been dropped). */
static void observe(const struct ob_facts *f, const struct ob_params *p, struct ob_state *st,
                    struct ob_decision *d, char *back, char *readded, bool *definite,
                    bool *unknown, bool *at_us)
{
	long long pace = p->min_checks > 0 ? p->offboard_after_ms / p->min_checks : 0;
	long long gap = 2 * (pace > p->interval_ms ? pace : p->interval_ms);

	for (int i = 0; i < st->n; i++) {
		struct ob_name *n = &st->name[i];
		switch (n->seen) {
		case OB_SEEN_US:
			*definite = true;
			*at_us = true;
			if (!n->current) {
				n->current = true;
				d->names_changed = true;
				list_add(readded, OB_DETAIL_MAX, n->name);
			} else if (n->away_since && n->pointed) {
				list_add(back, OB_DETAIL_MAX, n->name);
			}
			n->pointed = true;
			n->away_since = 0;
			n->away_checks = 0;
			n->away_last = 0;
			n->away_told = false;
			break;
		case OB_SEEN_ELSEWHERE:
			*definite = true;
			if (!n->current)
				break;
			/* a run whose checks stopped for longer than twice their pace
			 * (no check runs while a renewal waits for the CA) may hide a
			 * return: it starts again from this check (soak finding 3) */
			if (n->away_since && n->away_last &&
			    (long long)f->now_ms - n->away_last > gap)
				n->away_since = 0;
			if (!n->away_since) {
				n->away_since = (long long)f->now_ms;
				n->away_checks = 0;
			}
			n->away_checks++;
			n->away_last = (long long)f->now_ms;
			break;
		case OB_SEEN_UNKNOWN:
			*unknown = true;
			if (n->current && n->away_since)
				n->away_last = (long long)f->now_ms;   /* looked, could not tell */
			break;
		case OB_SEEN_NONE:
			break;
		}
	}
}

/* Parked: never pointed at us, for certain, after the grace, every name
 * elsewhere on min_checks definite checks.  True with D set. */
static bool parked(const struct ob_params *p, const struct ob_facts *f,
                   const struct ob_state *st, bool unknown, struct ob_decision *d)
{
	long long now = (long long)f->now_ms;
	int fewest = -1;

	if (!p->rule || ob_ever_pointed(st) || unknown ||
	    now - f->first_issued_at < p->park_grace_ms)
		return false;
	for (int i = 0; i < st->n; i++)
		if (st->name[i].current && (fewest < 0 || st->name[i].away_checks < fewest))
			fewest = st->name[i].away_checks;
	if (fewest < p->min_checks)
		return false;
	d->action = OB_PARK;
	d->event = domain_event_name(EVENT_NEVER_POINTED);
	snprintf(d->detail, sizeof(d->detail), "never pointed at us within %lld s of "
	         "the first certificate (%d checks)", p->park_grace_ms / 1000, fewest);
	return true;
}

/* The run of checks that found a delegation missing; whether
 * "delegation-missing" is to be told now (AT_US: the domain points at us,
 * or there is no rule; the certificate still valid). */
static bool track_missing(const struct ob_params *p, const struct ob_facts *f,
                          struct ob_state *st, bool at_us)
{
	long long now = (long long)f->now_ms;

	if (f->deleg == OB_DELEG_OK) {
		st->missing_since = 0;
		st->missing_checks = 0;
		st->missing_told = false;
	} else if (f->deleg == OB_DELEG_MISSING) {
		if (!st->missing_since)
			st->missing_since = now;
		st->missing_checks++;
	}
	return st->missing_since && !st->missing_told && st->missing_checks >= p->min_checks &&
	       at_us && f->not_after_ms > now;
}

/* Drops the names that left for certain from the current names; the names
 * that stay into STAY. */
static void drop_left(const struct ob_params *p, struct ob_state *st, long long now,
                      char *stay, size_t len)
{
	for (int i = 0; i < st->n; i++) {
		struct ob_name *n = &st->name[i];
		if (n->current && n->pointed && n->away_since &&
		    now - n->away_since >= p->offboard_after_ms && n->away_checks >= p->min_checks) {
			n->current = false;
			n->away_since = 0;
			n->away_checks = 0;
			n->away_told = false;
		}
	}
	for (int i = 0; i < st->n; i++)
		if (st->name[i].current)
			list_add(stay, len, st->name[i].name);
}

void ob_decide(const struct ob_params *p, const struct ob_facts *f, struct ob_state *st,
               struct ob_decision *d)
{
	char back[OB_DETAIL_MAX] = "", readded[OB_DETAIL_MAX] = "";
	char moving[OB_DETAIL_MAX] = "", leaving[OB_DETAIL_MAX] = "", stay[OB_DETAIL_MAX] = "";
	bool definite = false, unknown = false, at_us = !p->rule;
	long long now = (long long)f->now_ms, suspect = 0;
	int n_leaving = 0, n_ours = 0, most = 0;

	memset(d, 0, sizeof(*d));
	d->next_ms = p->interval_ms;
	observe(f, p, st, d, back, readded, &definite, &unknown, &at_us);

	/* which names left for certain, which are only moving away */
	for (int i = 0; i < st->n; i++) {
		struct ob_name *n = &st->name[i];
		if (!n->current || !n->pointed)
			continue;
		if (!n->away_since) {
			n_ours++;
			continue;
		}
		suspect = 1;
		if (now - n->away_since >= p->offboard_after_ms && n->away_checks >= p->min_checks) {
			list_add(leaving, sizeof(leaving), n->name);
			n_leaving++;
			if (n->away_checks > most)
				most = n->away_checks;
		} else {
			n_ours++;
			if (!n->away_told)
				list_add(moving, sizeof(moving), n->name);
		}
	}
	if (n_leaving && n_ours == 0) {
		d->action = OB_OFFBOARD;
		snprintf(d->detail, sizeof(d->detail), "moved away from us");
		return;
	}

	if (parked(p, f, st, unknown, d))
		return;

	bool tell_missing = track_missing(p, f, st, at_us);

	/* one event per check, the weightiest; the others that can wait
	 * ("told" flags) are told at a later check */
	if (n_leaving) {
		drop_left(p, st, now, stay, sizeof(stay));
		d->names_changed = true;
		d->event = domain_event_name(EVENT_NAME_LEFT);
		snprintf(d->detail, sizeof(d->detail), "%.160s pointed elsewhere on %d checks over "
		         "%lld s: dropped from the certificate; the next renewal orders %.160s",
		         leaving, most, p->offboard_after_ms / 1000, stay);
	} else if (moving[0]) {
		for (int i = 0; i < st->n; i++) {
			struct ob_name *n = &st->name[i];
			if (n->current && n->pointed && n->away_since)
				n->away_told = true;
		}
		d->event = domain_event_name(EVENT_MOVING_AWAY);
		snprintf(d->detail, sizeof(d->detail), "%.400s points elsewhere: offboarded if it "
		         "still does after %lld s and %d checks", moving,
		         p->offboard_after_ms / 1000, p->min_checks);
	} else if (readded[0] || back[0]) {
		d->event = domain_event_name(EVENT_BACK);
		if (readded[0])
			snprintf(d->detail, sizeof(d->detail), "%.400s points at us again: back in the "
			         "certificate, renewing now", readded);
		else
			snprintf(d->detail, sizeof(d->detail), "%.400s points at us again", back);
	} else if (tell_missing) {
		st->missing_told = true;
		d->event = domain_event_name(EVENT_DELEGATION_MISSING);
		snprintf(d->detail, sizeof(d->detail), "%sthe delegation is gone on %d checks: %.400s",
		         p->rule ? "pointing at us but " : "", st->missing_checks,
		         f->deleg_detail ? f->deleg_detail : "");
	}

	/* renew when due and every delegation is in place */
	bool due = f->renew_now || readded[0] || f->renew_at <= now;
	if (due && f->deleg == OB_DELEG_OK) {
		d->action = OB_RENEW;
		return;
	}
	if ((due && f->deleg == OB_DELEG_UNKNOWN) || (p->rule && !definite && unknown)) {
		d->action = OB_RETRY;
		return;
	}
	/* while something is uncertain, look often enough to decide in time */
	long long pace = p->offboard_after_ms / p->min_checks;
	if (suspect || (st->missing_since && !st->missing_told))
		d->next_ms = min_ll(d->next_ms, pace);
	if (p->rule && !ob_ever_pointed(st))
		d->next_ms = min_ll(d->next_ms, p->park_grace_ms / p->min_checks);
	if (d->next_ms < 1)
		d->next_ms = 1;
}

int64_t ob_next_delay(uint64_t now_ms, int64_t d, long long renew_at, long long ari_next)
{
	long long now = (long long)now_ms;
	long long at[2] = { renew_at, ari_next };

	for (int i = 0; i < 2; i++)
		if (at[i] > now && at[i] - now < d)
			d = at[i] - now;
	return d < 1 ? 1 : d;
}

void ari_schedule(uint64_t now_ms, long long start_ms, long long end_ms,
                  long long retry_after_ms, long long min_ms, long long max_ms,
                  long long cur_renew_at, uint64_t rnd, long long *renew_at,
                  long long *next_poll)
{
	long long now = (long long)now_ms;
	long long every = retry_after_ms >= 0 ? retry_after_ms : 6 * HOUR_MS;

	if (every < min_ms)
		every = min_ms;
	if (every > max_ms)
		every = max_ms;
	*next_poll = now + every;
	if (end_ms < start_ms)
		end_ms = start_ms;
	if (cur_renew_at >= start_ms && cur_renew_at <= end_ms) {
		*renew_at = cur_renew_at;
		return;
	}
	/* RFC 9773: a uniform moment of the window; one in the past is now */
	long long at = start_ms + (long long)(rnd % (uint64_t)(end_ms - start_ms + 1));
	*renew_at = at < now ? now : at;
}

void ob_outcome(const struct ob_decision *d, int64_t delay, enum ob_deleg deleg,
                const char *deleg_detail, struct outcome *out)
{
	switch (d->action) {
	case OB_PARK:
		outcome_done(out);
		snprintf(out->reason, sizeof(out->reason), "%s", d->detail);
		outcome_state(out, STATE_PARKED);
		out->event = d->event;
		break;
	case OB_RETRY:
		outcome_retry(out, -1, "nothing definite from DNS: %s",
		              deleg_detail && deleg_detail[0] ? deleg_detail :
		              "the pointing checks were inconclusive");
		outcome_state(out, STATE_ISSUED);
		break;
	case OB_KEEP:
		outcome_advance(out, STAGE_OFFBOARD_CHECK);
		out->delay_ms = delay;
		outcome_state(out, STATE_ISSUED);
		if (deleg == OB_DELEG_MISSING)
			snprintf(out->reason, sizeof(out->reason), "the delegation is gone: %.460s",
			         deleg_detail ? deleg_detail : "");
		break;
	case OB_OFFBOARD:
	case OB_RENEW:
		break;
	}
}

const char *ob_renew_reason(bool cert_missing, bool names_changed)
{
	return cert_missing ? "the stored certificate is missing: renewing"
	       : names_changed ? "a name came back: renewing" : "renewal due";
}

void ob_renewing(const char *why, struct outcome *out)
{
	outcome_advance(out, STAGE_VERIFY_CNAME);
	snprintf(out->reason, sizeof(out->reason), "%s", why);
	outcome_state(out, STATE_RENEWING);
}

void ob_watch(const struct ob_watch *w, const char *why, const char *base,
              long long stale_interval_ms, const char *notified, struct outcome *out)
{
	outcome_state(out, STATE_OFFBOARDED);
	if (w->unchecked) {
		/* no server was asked (a zone over dns.max_ns_addrs, or whose
		 * addresses may not be queried): not seeing the delegation is
		 * not seeing it gone */
		outcome_advance(out, STAGE_OFFBOARD_CHECK);
		out->delay_ms = stale_interval_ms;
		snprintf(out->reason, sizeof(out->reason), "%.60s; the delegation of "
		         "%.253s cannot be checked: %.100s", why, w->unchecked,
		         w->detail ? w->detail : "");
		return;
	}
	if (w->seen == 0) {
		outcome_done(out);
		snprintf(out->reason, sizeof(out->reason), "%s; _acme-challenge.%s no longer "
		         "points at us", why, base);
		outcome_event(out, EVENT_DELEGATION_REMOVED);
		return;
	}
	outcome_advance(out, STAGE_OFFBOARD_CHECK);
	out->delay_ms = stale_interval_ms;
	snprintf(out->reason, sizeof(out->reason), "%s; _acme-challenge.%s still points "
	         "at us on %d of %d servers: ask the customer to delete it", why, base,
	         w->seen, w->of);
	/* once: the record's last event says whether it was told */
	if (strcmp(notified ? notified : "", domain_event_name(EVENT_STALE_DELEGATION)) != 0)
		outcome_event(out, EVENT_STALE_DELEGATION);
}

bool ob_revoke_due(bool enabled, bool parked, bool stored, bool done)
{
	return enabled && !parked && stored && !done;
}

enum ob_revoke ob_revoke_result(int st)
{
	enum acme_status s = (enum acme_status)st;

	if (s == ACME_OK || s == ACME_E_ALREADYREVOKED)
		return OB_REVOKE_RECORD;
	/* an outage or a rate limit: the CA is asked again; a revocation is
	 * worth no domain's failure either way */
	return acme_status_retryable(s) ? OB_REVOKE_RETRY : OB_REVOKE_GIVE_UP;
}

long long ob_retention_wait(uint64_t now_ms, long long left_at, long long retention_ms,
                            bool stored)
{
	if (!stored)
		return -1;
	long long due = left_at + retention_ms, now = (long long)now_ms;
	return due <= now ? 0 : due - now;
}

void ob_retain(long long wait, struct outcome *out)
{
	if (wait < 0)
		return;
	/* a deletion due now is made by the next run (the domain's state is
	 * recorded gone by this run's commit first) */
	int64_t d = wait < 1 ? 1 : (int64_t)wait;
	if (out->kind == OUT_DONE) {
		outcome_advance(out, STAGE_OFFBOARD_CHECK);
		out->delay_ms = d;
	} else if (out->kind == OUT_ADVANCE && out->next == STAGE_OFFBOARD_CHECK &&
	           (out->delay_ms <= 0 || out->delay_ms > d)) {
		out->delay_ms = d;
	}
}

void ob_gone(enum domain_state state, struct outcome *out)
{
	outcome_done(out);
	outcome_state(out, state);
	snprintf(out->reason, sizeof(out->reason), "the pipeline ended (%s)",
	         domain_state_name(state));
}

void ob_watch_retry(const char *why, struct outcome *out)
{
	outcome_retry(out, -1, "%s", why);
	outcome_state(out, STATE_OFFBOARDED);
}

void ob_never_issued(struct outcome *out)
{
	/* offboard-check runs after an issuance, or after an offboard */
	outcome_fail(out, "refused: offboard-check of a domain never issued");
	outcome_keep_state(out);
	outcome_event(out, EVENT_DEAD_LETTER);
}

void ob_window_only(int64_t delay, struct outcome *out)
{
	outcome_advance(out, STAGE_OFFBOARD_CHECK);
	out->delay_ms = delay;
	outcome_state(out, STATE_ISSUED);
}

void ob_checked_meanwhile(struct outcome *out)
{
	outcome_retry(out, 0, "the domain was checked meanwhile; again");
	outcome_keep_state(out);
	out->wait = true;
}
