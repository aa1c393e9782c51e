/*
 * console_pages: the overview and the expiring certificates (see
 * console_page.h); console_domain.c has the domain and dead-letter pages.
 */
#include "console_page.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dname.h"
#include "lifecycle_names.h"

#define STATE_SCAN_MAX CONSOLE_SCAN_CAP   /* records counted by state on one overview */
#define RL_SCAN_MAX 50         /* rate-limit buckets shown */
#define DUE_SOON_MS 300000     /* "due soon": within five minutes */
#define EXPIRING_MAX 2000      /* rows of the expiring page */

static long long jint(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

int console_sample(struct console *k)
{
	static const char *const kinds[] = { "forwarded", "delayed", "done", "dead" };
	struct queue_reply *r = ctl_run(k->c, "HGETALL %s:stats", k->c->wc.q.prefix);
	struct console_sample s = { .t_ms = (long long)queue_now_ms() };

	if (queue_reply_kind(r) != QR_ARRAY) {
		queue_reply_free(r);
		return -1;
	}
	for (size_t i = 0; i + 1 < queue_reply_len(r); i += 2) {
		const char *f = queue_reply_str(queue_reply_at(r, i), NULL);
		const char *val = queue_reply_str(queue_reply_at(r, i + 1), NULL);
		const char *dot = f ? strchr(f, '.') : NULL;
		if (!dot || !val)
			continue;
		for (int st = 0; st < STAGE_COUNT; st++) {
			const char *n = stage_name((enum stage)st);
			if (strlen(n) != (size_t)(dot - f) || strncmp(f, n, (size_t)(dot - f)) != 0)
				continue;
			for (size_t j = 0; j < 4; j++)
				if (strcmp(dot + 1, kinds[j]) == 0)
					s.stage[st] += atoll(val);
		}
	}
	queue_reply_free(r);
	k->ring[k->head] = s;
	k->head = (k->head + 1) % CONSOLE_SAMPLES;
	if (k->nsamples < CONSOLE_SAMPLES)
		k->nsamples++;
	return 0;
}

static const struct console_sample *sample_at(const struct console *k, size_t i)
{
	size_t first = (k->head + CONSOLE_SAMPLES - k->nsamples) % CONSOLE_SAMPLES;
	return &k->ring[(first + i) % CONSOLE_SAMPLES];
}

static long long sample_total(const struct console_sample *s)
{
	long long t = 0;
	for (int st = 0; st < STAGE_COUNT; st++)
		t += s->stage[st];
	return t;
}

/* The jobs handled per minute over the ring, as an SVG polyline. */
static void throughput_chart(const struct console *k, struct html *h)
{
	const int W = 600, H = 120;
	double rate[CONSOLE_SAMPLES], max = 1;
	size_t n = k->nsamples > 1 ? k->nsamples - 1 : 0;

	for (size_t i = 0; i < n; i++) {
		const struct console_sample *a = sample_at(k, i), *b = sample_at(k, i + 1);
		double dt = (double)(b->t_ms - a->t_ms) / 60000.0;
		long long d = sample_total(b) - sample_total(a);
		rate[i] = dt > 0 && d > 0 ? (double)d / dt : 0;
		if (rate[i] > max)
			max = rate[i];
	}
	html_printf(h, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"jobs handled "
	            "per minute\"><line x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#ccc\"/>",
	            W, H + 20, H, W, H);
	if (n >= 1) {
		html_raw(h, "<polyline fill=\"none\" stroke=\"#1f3a5f\" stroke-width=\"2\" points=\"");
		for (size_t i = 0; i < n; i++)
			html_printf(h, "%.1f,%.1f ", n > 1 ? (double)W * (double)i / (double)(n - 1) : 0.0,
			            (double)H - (double)(H - 8) * rate[i] / max);
		html_raw(h, "\"/>");
		for (size_t i = 0; i < n; i++)
			html_printf(h, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#1f3a5f\"/>",
			            n > 1 ? (double)W * (double)i / (double)(n - 1) : 0.0,
			            (double)H - (double)(H - 8) * rate[i] / max);
	}
	html_printf(h, "<text x=\"4\" y=\"14\" font-size=\"12\" fill=\"#555\">max %.0f/min"
	            "</text><text x=\"4\" y=\"%d\" font-size=\"12\" fill=\"#555\">last %zu "
	            "samples, %d s apart</text></svg>\n", max, H + 16, k->nsamples,
	            CONSOLE_SAMPLE_MS / 1000);
}

/* Jobs per minute of stage ST over the whole ring, or -1 when unknown. */
static double stage_rate(const struct console *k, int st)
{
	if (k->nsamples < 2)
		return -1;
	const struct console_sample *a = sample_at(k, 0), *b = sample_at(k, k->nsamples - 1);
	double dt = (double)(b->t_ms - a->t_ms) / 60000.0;
	return dt > 0 ? (double)(b->stage[st] - a->stage[st]) / dt : -1;
}

static void stages_table(const struct console *k, json_t *stats, struct html *h)
{
	html_raw(h, "<h2>Stages</h2><div class=\"scroll\"><table id=\"stages\"><tr><th>stage"
	         "</th><th class=\"n\">length</th><th class=\"n\">lag</th><th class=\"n\">"
	         "pending</th><th class=\"n\">oldest pending</th><th class=\"n\">jobs/min"
	         "</th></tr>");
	for (int st = 0; st < STAGE_COUNT; st++) {
		json_t *j = json_object_get(json_object_get(stats, "stages"),
		                            stage_name((enum stage)st));
		json_t *lag = json_object_get(j, "lag");
		long long old = jint(j, "oldest_pending_age_s");
		double rate = stage_rate(k, st);
		html_printf(h, "<tr><td>%s</td><td class=\"n\">%lld</td><td class=\"n\">",
		            stage_name((enum stage)st), jint(j, "length"));
		if (json_is_integer(lag))
			html_printf(h, "%lld", (long long)json_integer_value(lag));
		else
			html_raw(h, "?");
		html_printf(h, "</td><td class=\"n\">%lld</td><td class=\"n\">", jint(j, "pending"));
		if (old >= 0)
			html_printf(h, "%lld s", old);
		else
			html_raw(h, "-");
		if (rate >= 0)
			html_printf(h, "</td><td class=\"n\">%.1f</td></tr>", rate);
		else
			html_raw(h, "</td><td class=\"n\">-</td></tr>");
	}
	html_raw(h, "</table></div>\n");
}

struct state_count {
	long long n[STATE_COUNT + 1];   /* the last: a value that is no state */
	size_t seen;
};

static int count_state(struct ctl *c, const char *key, const char *tail, void *arg)
{
	struct state_count *sc = arg;
	(void)tail;
	const char *av[] = { "HGET", key, "state" };
	struct queue_reply *r = ctl_run_argv(c, 3, av);
	if (!r)
		return 1;
	const char *v = queue_reply_str(r, NULL);
	int s = v ? domain_state_parse(v) : -1;
	sc->n[s >= 0 ? s : STATE_COUNT]++;
	sc->seen++;
	queue_reply_free(r);
	return 0;
}

static void states_card(struct console *k, struct html *h)
{
	struct state_count sc = { { 0 }, 0 };
	int rc = ctl_scan(k->c, "domain", 1, STATE_SCAN_MAX, count_state, &sc);

	html_raw(h, "<div class=\"card\"><h2>Domains by state</h2><table id=\"states\">");
	for (int s = 0; s <= STATE_COUNT; s++)
		if (sc.n[s])
			html_printf(h, "<tr><td><a href=\"/domain?state=%s\">%s</a></td>"
			            "<td class=\"n\">%lld</td></tr>",
			            s < STATE_COUNT ? domain_state_name((enum domain_state)s) : "",
			            s < STATE_COUNT ? domain_state_name((enum domain_state)s) : "(other)",
			            sc.n[s]);
	html_printf(h, "</table><p class=\"muted\" id=\"states-count\">%zu domains%s</p>",
	            sc.seen, rc < 0 ? " (read failed)" : "");
	if (rc > 0 && sc.seen >= STATE_SCAN_MAX)
		html_printf(h, "<p class=\"msg err\" id=\"capped\">counted the first %d records "
		            "only</p>", STATE_SCAN_MAX);
	html_raw(h, "</div>");
}

static void due_card(struct console *k, struct html *h)
{
	long long now = (long long)queue_now_ms();
	struct queue_reply *r = ctl_run(k->c, "ZRANGEBYSCORE %s:delayed -inf %lld WITHSCORES "
	                                "LIMIT 0 20", k->c->wc.q.prefix, now + DUE_SOON_MS);

	html_raw(h, "<div class=\"card\"><h2>Delayed jobs due soon</h2><table id=\"due\">");
	for (size_t i = 0; i + 1 < queue_reply_len(r); i += 2) {
		const char *m = queue_reply_str(queue_reply_at(r, i), NULL);
		const char *score = queue_reply_str(queue_reply_at(r, i + 1), NULL);
		const char *sp = m ? strchr(m, ' ') : NULL;
		if (!sp || !score)
			continue;
		char dom[DNAME_MAX + 1] = "";
		const char *end = strchr(sp + 1, ' ');
		size_t dl = end ? (size_t)(end - sp - 1) : strlen(sp + 1);
		if (dl < sizeof(dom))
			memcpy(dom, sp + 1, dl), dom[dl] = '\0';
		long long in = (atoll(score) - now) / 1000;
		html_raw(h, "<tr><td>");
		html_escn(h, m, (size_t)(sp - m));
		html_raw(h, "</td><td><a href=\"/domain?q=");
		html_url(h, dom);
		html_raw(h, "\">");
		html_esc(h, dom);
		html_printf(h, "</a></td><td class=\"n\">%s%lld s</td></tr>", in < 0 ? "due " : "in ",
		            in < 0 ? -in : in);
	}
	html_raw(h, "</table></div>");
	queue_reply_free(r);
}

static int rl_row(struct ctl *c, const char *key, const char *tail, void *arg)
{
	struct html *h = arg;
	size_t n = strlen(tail);
	if (n >= 5 && strcmp(tail + n - 5, ":line") == 0)
		return 0;
	const char *av[] = { "HMGET", key, "tokens", "blocked_until" };
	struct queue_reply *r = ctl_run_argv(c, 4, av);
	if (!r)
		return 1;
	html_raw(h, "<tr><td class=\"mono\">");
	html_esc(h, tail);
	for (size_t i = 0; i < 2; i++) {
		const char *v = queue_reply_str(queue_reply_at(r, i), NULL);
		html_raw(h, "</td><td class=\"n\">");
		html_esc(h, v ? v : "-");
	}
	html_raw(h, "</td></tr>");
	queue_reply_free(r);
	return 0;
}

unsigned console_page_overview(struct console_req *r, struct html *h)
{
	struct console *k = r->k;
	json_t *stats = ctl_stats_collect(k->c);

	html_begin(h, "Overview", "overview");
	if (!stats) {
		html_raw(h, "<p class=\"msg err\">Redis cannot be read (see the console's log)."
		         "</p>");
		html_end(h);
		return 503;
	}
	stages_table(k, stats, h);
	html_raw(h, "<h2>Throughput (jobs handled per minute)</h2>");
	throughput_chart(k, h);
	html_raw(h, "<div class=\"grid top\">");
	states_card(k, h);
	due_card(k, h);
	html_printf(h, "<div class=\"card\"><h2>Queues</h2><table><tr><td>delayed</td>"
	            "<td class=\"n\">%lld</td></tr><tr><td>due now</td><td class=\"n\">%lld"
	            "</td></tr><tr><td><a href=\"/dead\">dead letters</a></td><td class=\"n\" "
	            "id=\"dead-count\">%lld</td></tr><tr><td>events</td><td class=\"n\">%lld"
	            "</td></tr></table></div>", jint(stats, "delayed"), jint(stats, "delayed_due"),
	            jint(stats, "dead"), jint(stats, "events"));
	html_raw(h, "<div class=\"card\"><h2>Rate-limit buckets</h2><table id=\"buckets\">"
	         "<tr><th>bucket</th><th class=\"n\">tokens</th><th class=\"n\">blocked until"
	         "</th></tr>");
	ctl_scan(k->c, "rl", 0, RL_SCAN_MAX, rl_row, h);
	html_raw(h, "</table></div></div>");
	json_decref(stats);
	html_end(h);
	return 200;
}

/* ---- expiring certificates ---------------------------------------- */

struct expiring_row {
	char domain[DNAME_MAX + 1];
	long long not_after;    /* unix s */
	char state[24], tenant[64], serial[80];
};

struct expiring {
	long long until;        /* unix s: the end of the window */
	struct expiring_row *rows;
	size_t n, scanned;
};

static const char *el(const struct queue_reply *r, size_t i)
{
	return queue_reply_str(queue_reply_at(r, i), NULL);
}

/* One certificate: kept when it expires within the window and its domain
 * is still ours (not GONE, not released, record present) with no renewal
 * under way (not a RUN state of lifecycle_names.h, as the expiry gauges
 * count it). */
static int expiring_one(struct ctl *c, const char *key, const char *domain, void *arg)
{
	struct expiring *e = arg;
	char dkey[400];
	const char *hc[] = { "HMGET", key, "not_after", "serial" };
	struct queue_reply *cr = ctl_run_argv(c, 4, hc), *dr = NULL;

	e->scanned++;
	if (!cr)
		return 1;
	const char *na = el(cr, 0);
	if (!na || atoll(na) > e->until || e->n >= EXPIRING_MAX)
		goto out;
	snprintf(dkey, sizeof(dkey), "%s:domain:%s", c->wc.q.prefix, domain);
	const char *hd[] = { "HMGET", dkey, "state", "tenant", "released_at" };
	if (!(dr = ctl_run_argv(c, 5, hd)))
		goto out;
	const char *state = el(dr, 0);
	int s = state ? domain_state_parse(state) : -1;
	if (!state || el(dr, 2) || (s >= 0 && (domain_state_kind((enum domain_state)s) == STATE_KIND_GONE ||
	                          domain_state_kind((enum domain_state)s) == STATE_KIND_RUN)))
		goto out;
	struct expiring_row *w = &e->rows[e->n++];
	snprintf(w->domain, sizeof(w->domain), "%s", domain);
	w->not_after = atoll(na);
	snprintf(w->state, sizeof(w->state), "%s", state);
	snprintf(w->tenant, sizeof(w->tenant), "%s", el(dr, 1) ? el(dr, 1) : "");
	snprintf(w->serial, sizeof(w->serial), "%s", el(cr, 1) ? el(cr, 1) : "");
out:
	queue_reply_free(cr);
	queue_reply_free(dr);
	return 0;
}

static int by_expiry(const void *a, const void *b)
{
	long long x = ((const struct expiring_row *)a)->not_after;
	long long y = ((const struct expiring_row *)b)->not_after;
	return (x > y) - (x < y);
}

static void expiring_rows(const struct expiring *e, long long now, struct html *h)
{
	html_raw(h, "<div class=\"scroll\"><table id=\"expiring\"><tr><th>domain</th>"
	         "<th>tenant</th><th>state</th><th>expires</th><th class=\"n\">days left</th>"
	         "<th>serial</th></tr>");
	for (size_t i = 0; i < e->n; i++) {
		const struct expiring_row *w = &e->rows[i];
		char when[32];
		html_time(w->not_after, 1, when);
		html_raw(h, "<tr><td><a href=\"/domain?q=");
		html_url(h, w->domain);
		html_raw(h, "\">");
		html_esc(h, w->domain);
		html_raw(h, "</a></td><td>");
		html_esc(h, w->tenant);
		html_raw(h, "</td><td>");
		html_esc(h, w->state);
		html_printf(h, "</td><td>%s</td><td class=\"n\">%.1f</td><td class=\"mono\">", when,
		            (double)(w->not_after - now) / 86400.0);
		html_esc(h, w->serial);
		html_raw(h, "</td></tr>");
	}
	html_raw(h, "</table></div>");
}

unsigned console_page_expiring(struct console_req *r, struct html *h)
{
	const char *d = console_arg(r, "days");
	long days = d ? strtol(d, NULL, 10) : 30;
	long long now = (long long)time(NULL);

	if (days < 0 || days > 3650)
		days = 30;
	struct expiring e = { .until = now + days * 86400LL };
	e.rows = calloc(EXPIRING_MAX, sizeof(*e.rows));
	html_begin(h, "Expiring certificates", "expiring");
	html_printf(h, "<form method=\"get\" action=\"/expiring\" class=\"inline\"><label>"
	            "within <input name=\"days\" type=\"number\" min=\"0\" max=\"3650\" "
	            "value=\"%ld\"> days</label><button>show</button></form>", days);
	html_raw(h, "<p class=\"muted\">Certificates of domains still ours (not offboarded or "
	         "parked) with no renewal under way (the domain is issued, failed or abandoned, "
	         "not in a running state), soonest first.</p>");
	int rc = e.rows ? ctl_scan(r->k->c, "cert", 1, CONSOLE_SCAN_CAP, expiring_one, &e) : -1;
	if (rc < 0)
		html_raw(h, "<p class=\"msg err\">Redis cannot be read.</p>");
	qsort(e.rows, e.n, sizeof(*e.rows), by_expiry);
	html_printf(h, "<p id=\"expiring-count\">%zu of %zu certificates%s</p>", e.n, e.scanned,
	            e.n >= EXPIRING_MAX ? " (the first only)" : "");
	if (rc > 0 && e.scanned >= CONSOLE_SCAN_CAP)
		html_printf(h, "<p class=\"msg err\" id=\"capped\">scanned the first %d certificates "
		            "only; the list may be incomplete</p>", CONSOLE_SCAN_CAP);
	expiring_rows(&e, now, h);
	free(e.rows);
	html_end(h);
	return rc < 0 ? 503 : 200;
}
