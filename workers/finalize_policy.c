/* finalize's decisions; see finalize_policy.h. */
#include "finalize_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INVALID_BACKOFF_CAP_MS (30LL * 86400000)

enum fz_step fz_authz(enum acme_status st, const char *status, const char *identifier,
                      long long ra, long long authz_poll_ms, struct outcome *out)
{
	if (st == ACME_OK)
		return FZ_GO;
	if (st == ACME_PENDING) {
		outcome_retry(out, ra > 0 ? ra : authz_poll_ms, "the CA is validating %s",
		              identifier ? identifier : "?");
		outcome_state(out, STATE_VALIDATING);
		out->wait = true;  /* waiting is not failing: the CA ends it */
		return FZ_WAIT;
	}
	if (status && strcmp(status, "invalid") == 0)
		return FZ_INVALID;
	return FZ_ACME_FAILED;
}

enum fz_step fz_pending(const char *identifier, const char *chal_err, bool new_err,
                        long long waited_ms, long long timeout_ms, long long ra,
                        long long authz_poll_ms, char *detail, size_t len,
                        struct outcome *out)
{
	const char *id = identifier ? identifier : "?";
	bool err = chal_err && chal_err[0];

	if (waited_ms > timeout_ms) {
		snprintf(detail, len, "no verdict %lld s after the challenge was answered%s%s",
		         waited_ms / 1000, err ? "; the CA's last error: " : "",
		         err ? chal_err : "");
		return FZ_INVALID;
	}
	/* the next look no later than just past the bound: a CA's long
	 * Retry-After (up to ACME_RETRY_MAX_MS) does not stretch it */
	long long left = timeout_ms - (waited_ms > 0 ? waited_ms : 0) + 1;
	if (!err) {
		if (out->delay_ms > left)     /* fz_authz's outcome stands, sooner */
			out->delay_ms = left;
		return FZ_WAIT;
	}
	long long delay = ra > 0 ? ra : authz_poll_ms;
	outcome_retry(out, delay < left ? delay : left,
	              "the CA is validating %s; its last try failed: %s", id, chal_err);
	outcome_state(out, STATE_VALIDATING);
	out->wait = true;
	if (new_err)
		outcome_event(out, EVENT_CHALLENGE_ERROR);
	return FZ_WAIT;
}

long long fz_validating_since(const char *stored, const char *order_url, uint64_t since,
                              uint64_t now, char *write, size_t len)
{
	const char *url = order_url ? order_url : "";
	char *end;

	if (len)
		write[0] = '\0';
	if (stored) {
		errno = 0;
		long long at = strtoll(stored, &end, 10);
		if (!errno && end != stored && *end == ' ' && at > 0 && (uint64_t)at <= now &&
		    strcmp(end + 1, url) == 0)
			return at;
	}
	long long start = (long long)(since && since <= now ? since : now);
	int n = snprintf(write, len, "%lld %s", start, url);
	if (len && (n < 0 || (size_t)n >= len))
		write[0] = '\0';   /* too long to keep: this run's start, unkept */
	return start;
}

void fz_redact(const char *detail, const char *token, char *out, size_t len)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                          "0123456789-_.";
	size_t tl = token ? strlen(token) : 0, o = 0;
	const char *s = detail ? detail : "";

	if (!len)
		return;
	while (*s && o + 1 < len) {
		if (tl && strncmp(s, token, tl) == 0) {
			int n = snprintf(out + o, len - o, "[key authorization]");
			o = n < 0 || (size_t)n >= len - o ? len - 1 : o + (size_t)n;
			s += tl;
			s += strspn(s, b64);
			continue;
		}
		/* a control byte (a newline, an escape sequence) becomes a space:
		 * the text goes to last_error, the events and terminals */
		unsigned char ch = (unsigned char)*s++;
		out[o++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	/* a multi-byte character cut at the end is left out whole */
	size_t k = o;
	while (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0x80 && o - k < 3)
		k--;
	if (k > 0 && (unsigned char)out[k - 1] >= 0xc0) {
		unsigned char lead = (unsigned char)out[k - 1];
		size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
		if (o - (k - 1) < need)
			o = k - 1;
	}
	out[o] = '\0';
}

bool fz_chal_event(int64_t last_id, int64_t told, uint32_t id)
{
	return id && (int64_t)id != last_id && told >= 0 && told < FZ_CHAL_EVENTS_MAX;
}

uint32_t fz_error_id(const char *chal_err)
{
	uint32_t h = 2166136261u;

	if (!chal_err || !chal_err[0])
		return 0;
	for (const unsigned char *s = (const unsigned char *)chal_err; *s; s++)
		h = (h ^ *s) * 16777619u;
	return h ? h : 1;
}

void fz_invalid(long long k, int max_invalid, long long invalid_backoff_ms,
                const char *identifier, const char *detail, struct outcome *out)
{
	/* with the commit: a job reclaimed before it still finds its order */
	out->clear = FZ_ORDER_FIELDS " verified_gen";
	if (k >= max_invalid) {
		outcome_done(out);
		snprintf(out->reason, sizeof(out->reason), "authorization of %s invalid "
		         "%lld times in a row: %s", identifier, k, detail);
		outcome_state(out, STATE_FAILED);
		outcome_event(out, EVENT_FAILED);
		return;
	}
	long long delay = invalid_backoff_ms;
	for (long long i = 1; i < k && delay < INVALID_BACKOFF_CAP_MS; i++)
		delay *= 2;
	outcome_advance(out, STAGE_VERIFY_CNAME);
	out->delay_ms = delay;
	snprintf(out->reason, sizeof(out->reason), "the CA found %s invalid: %s",
	         identifier, detail);
	outcome_state(out, STATE_WAITING_CNAME);
	outcome_event(out, EVENT_AUTHZ_INVALID);
}

void fz_key_lost(bool have_key, const char *why, struct outcome *out)
{
	/* finalized by a process that died before recording its key, or the
	 * key recorded cannot be trusted: a new order and a new key */
	outcome_advance(out, STAGE_CREATE_ORDER);
	if (!have_key)
		snprintf(out->reason, sizeof(out->reason),
		         "the key of the finalized order was lost; ordering again");
	else
		snprintf(out->reason, sizeof(out->reason),
		         "refused the recorded key of the finalized order: %s; ordering again",
		         why ? why : "?");
	outcome_state(out, STATE_ORDERING);
}

void fz_issuing(long long ra, long long authz_poll_ms, struct outcome *out)
{
	outcome_retry(out, ra > 0 ? ra : authz_poll_ms, "the CA is issuing");
	outcome_state(out, STATE_FINALIZING);
	out->wait = true;          /* waiting is not failing */
}

uint64_t fz_renew_at(long long not_before, long long not_after, double renew_fraction)
{
	double life = (double)(not_after - not_before) * 1000.0;
	return (uint64_t)not_after * 1000 - (uint64_t)(life * renew_fraction);
}

void fz_issued(const char *serial, long long not_after, struct outcome *out)
{
	char when[24];
	struct tm tm;
	time_t t = (time_t)not_after;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	outcome_advance(out, STAGE_OFFBOARD_CHECK);
	out->delay_ms = 1;     /* its first check sets the real schedule */
	snprintf(out->reason, sizeof(out->reason), "serial %s, not after %s", serial, when);
	/* with the commit: a job reclaimed before it downloads again instead of
	 * finding neither order nor verification */
	out->clear = FZ_ORDER_FIELDS " verified_gen invalid_count";
	outcome_state(out, STATE_ISSUED);
	outcome_event(out, EVENT_ISSUED);
}
