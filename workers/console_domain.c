/*
 * console_domain: the domain page (found by name, tenant or state) and the
 * dead letters page (see console_page.h).
 */
#include "console_page.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"

#define FIND_MAX 200          /* domains listed for a tenant or a state */
#define FIND_SCAN_MAX CONSOLE_SCAN_CAP  /* records read for one search */
#define EVENTS_SCAN 5000      /* newest events read for one domain */
#define EVENTS_SHOWN 20
#define DEAD_READ CONSOLE_DEAD_READ

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void link_domain(struct html *h, const char *d)
{
	html_raw(h, "<a href=\"/domain?q=");
	html_url(h, d);
	html_raw(h, "\">");
	html_esc(h, d);
	html_raw(h, "</a>");
}

/* ---- search ------------------------------------------------------- */

struct find {
	const char *field, *value;   /* "tenant" or "state", and what it must be */
	struct html *h;
	size_t found, scanned;
};

static int find_one(struct ctl *c, const char *key, const char *domain, void *arg)
{
	struct find *f = arg;
	const char *av[] = { "HMGET", key, f->field, "state", "last_error" };
	f->scanned++;
	struct queue_reply *r = ctl_run_argv(c, 5, av);
	if (!r)
		return 1;
	const char *v = queue_reply_len(r) == 3 ? queue_reply_str(queue_reply_at(r, 0), NULL) : NULL;
	if (v && strcmp(v, f->value) == 0) {
		html_raw(f->h, "<tr><td>");
		link_domain(f->h, domain);
		for (size_t i = 1; i < 3; i++) {
			html_raw(f->h, "</td><td>");
			const char *s = queue_reply_str(queue_reply_at(r, i), NULL);
			html_esc(f->h, s ? s : "");
		}
		html_raw(f->h, "</td></tr>");
		f->found++;
	}
	queue_reply_free(r);
	return f->found >= FIND_MAX;
}

static void find_list(struct console_req *r, struct html *h, const char *field, const char *v)
{
	struct find f = { field, v, h, 0, 0 };
	html_raw(h, "<h2>Domains with ");
	html_esc(h, field);
	html_raw(h, " &quot;");
	html_esc(h, v);
	html_raw(h, "&quot;</h2><div class=\"scroll\"><table id=\"found\"><tr><th>domain</th>"
	         "<th>state</th><th>last error</th></tr>");
	int rc = ctl_scan(r->k->c, "domain", 1, FIND_SCAN_MAX, find_one, &f);
	html_printf(h, "</table></div><p class=\"muted\" id=\"found-count\">%zu found%s</p>",
	            f.found, rc < 0 ? " (read failed)" : f.found >= FIND_MAX ? " (the first only)" : "");
	if (rc > 0 && f.found < FIND_MAX && f.scanned >= FIND_SCAN_MAX)
		html_printf(h, "<p class=\"msg err\" id=\"capped\">scanned the first %d records "
		            "only; refine the search</p>", FIND_SCAN_MAX);
}

/* ---- one domain --------------------------------------------------- */

static void record_table(struct html *h, json_t *rec)
{
	const char *k;
	json_t *v;
	html_raw(h, "<h2>Record</h2><div class=\"scroll\"><table id=\"record\">");
	json_object_foreach(rec, k, v) {
		html_raw(h, "<tr><th>");
		html_esc(h, k);
		html_raw(h, "</th><td class=\"mono\">");
		html_esc(h, json_string_value(v));
		html_raw(h, "</td></tr>");
	}
	html_raw(h, "</table></div>");
}

static void events_table(struct console_req *r, struct html *h, const char *name)
{
	struct queue_reply *e = ctl_run(r->k->c, "XREVRANGE %s:events + - COUNT %d",
	                                r->k->c->wc.q.prefix, EVENTS_SCAN);
	int shown = 0;
	html_raw(h, "<h2>Recent events</h2><div class=\"scroll\"><table id=\"events\"><tr>"
	         "<th>time</th><th>type</th><th>detail</th></tr>");
	for (size_t i = 0; i < queue_reply_len(e) && shown < EVENTS_SHOWN; i++) {
		const struct queue_reply *f = queue_reply_at(queue_reply_at(e, i), 1);
		const char *dom = NULL, *type = NULL, *detail = NULL, *t = NULL;
		for (size_t j = 0; j + 1 < queue_reply_len(f); j += 2) {
			const char *k = queue_reply_str(queue_reply_at(f, j), NULL);
			const char *v = queue_reply_str(queue_reply_at(f, j + 1), NULL);
			if (!k || !v)
				continue;
			if (strcmp(k, "domain") == 0) dom = v;
			else if (strcmp(k, "type") == 0) type = v;
			else if (strcmp(k, "detail") == 0) detail = v;
			else if (strcmp(k, "time") == 0) t = v;
		}
		if (!dom || strcmp(dom, name) != 0)
			continue;
		char when[32];
		html_time(t ? atoll(t) : 0, 0, when);
		html_printf(h, "<tr><td>%s</td><td>", when);
		html_esc(h, type);
		html_raw(h, "</td><td>");
		html_esc(h, detail);
		html_raw(h, "</td></tr>");
		shown++;
	}
	html_raw(h, "</table></div>");
	if (!shown)
		html_raw(h, "<p class=\"muted\">No event among the newest.</p>");
	queue_reply_free(e);
}

/* The certificate's public fields; the key fields are never asked for. */
static void cert_table(struct console_req *r, struct html *h, const char *name)
{
	static const char *const f[] = { "names", "serial", "not_before", "not_after",
	                                 "issued_at", "renew_at" };
	char key[400];
	snprintf(key, sizeof(key), "%s:cert:%s", r->k->c->wc.q.prefix, name);
	const char *av[] = { "HMGET", key, f[0], f[1], f[2], f[3], f[4], f[5] };
	struct queue_reply *c = ctl_run_argv(r->k->c, 8, av);

	html_raw(h, "<h2>Certificate</h2>");
	if (queue_reply_len(c) != 6 || !queue_reply_str(queue_reply_at(c, 1), NULL)) {
		html_raw(h, "<p class=\"muted\" id=\"cert\">No certificate stored.</p>");
		queue_reply_free(c);
		return;
	}
	html_raw(h, "<table id=\"cert\">");
	for (size_t i = 0; i < 6; i++) {
		const char *v = queue_reply_str(queue_reply_at(c, i), NULL);
		char when[32];
		html_printf(h, "<tr><th>%s</th><td class=\"mono\">", f[i]);
		if (!v) {
			html_raw(h, "-");
		} else if (i >= 2) {
			long long t = atoll(v);
			html_time(t, t < 100000000000LL, when);   /* seconds or ms */
			html_raw(h, when);
		} else {
			html_esc(h, v);
		}
		html_raw(h, "</td></tr>");
	}
	html_raw(h, "</table>");
	queue_reply_free(c);
}

/* The dead letters of NAME (or all matching REASON when NAME is NULL) as
 * rows with their buttons; returns how many. */
static size_t dead_rows(struct console_req *r, struct html *h, json_t *dead,
                        const char *name, const char *reason)
{
	size_t i, n = 0;
	json_t *e;
	html_raw(h, "<div class=\"scroll\"><table id=\"dead\"><tr><th>id</th><th>domain</th>"
	         "<th>stage</th><th>reason</th><th></th></tr>");
	json_array_foreach(dead, i, e) {
		const char *d = jstr(e, "domain"), *why = jstr(e, "reason"), *id = jstr(e, "id");
		if (!id || (name && (!d || strcmp(d, name) != 0)) ||
		    (reason && *reason && (!why || !strstr(why, reason))))
			continue;
		n++;
		html_raw(h, "<tr><td class=\"mono\">");
		html_esc(h, id);
		html_raw(h, "</td><td>");
		if (d)
			link_domain(h, d);
		html_raw(h, "</td><td>");
		html_esc(h, jstr(e, "stage"));
		html_raw(h, "</td><td class=\"reason\">");
		html_esc(h, why);
		html_raw(h, "</td><td>");
		console_form_begin(r, h, "replay");
		console_hidden(h, "id", id);
		console_form_end(h, "replay", 0);
		console_form_begin(r, h, "purge");
		console_hidden(h, "id", id);
		console_form_end(h, "purge", 1);
		html_raw(h, "</td></tr>");
	}
	html_raw(h, "</table></div>");
	return n;
}

/* The id of the newest of DEAD ("" when none): the bound of an action on
 * "all shown", so that letters arrived since are left alone. */
static const char *dead_newest(json_t *dead)
{
	const char *id = jstr(json_array_get(dead, 0), "id");
	return id ? id : "";
}

static void domain_actions(struct console_req *r, struct html *h, const char *name,
                           json_t *dead)
{
	html_raw(h, "<h2>Actions</h2><div>");
	console_form_begin(r, h, "nudge");
	console_hidden(h, "domain", name);
	console_form_end(h, "nudge", 0);
	console_form_begin(r, h, "offboard");
	console_hidden(h, "domain", name);
	console_form_end(h, "offboard", 1);
	console_form_begin(r, h, "replay");
	console_hidden(h, "domain", name);
	console_hidden(h, "newest", dead_newest(dead));
	console_form_end(h, "replay its dead letters", 0);
	html_raw(h, "</div>");
}

static unsigned one_domain(struct console_req *r, struct html *h, const char *name)
{
	json_t *rec = ctl_status_record(r->k->c, name);
	if (!rec) {
		html_raw(h, "<p class=\"msg err\">Redis cannot be read.</p>");
		return 503;
	}
	if (json_object_size(rec) == 0) {
		json_decref(rec);
		return 404;
	}
	html_raw(h, "<h2 id=\"domain\">");
	html_esc(h, name);
	html_raw(h, "</h2><p>state <b id=\"state\">");
	html_esc(h, jstr(rec, "state"));
	html_raw(h, "</b>, tenant ");
	html_esc(h, jstr(rec, "tenant"));
	html_raw(h, "</p>");
	if (jstr(rec, "last_error") && *jstr(rec, "last_error")) {
		html_raw(h, "<div class=\"why\"><b>Why it waits:</b> <span id=\"why\">");
		html_esc(h, jstr(rec, "last_error"));
		html_raw(h, "</span></div>");
	}
	json_t *dead = ctl_dead_fetch(r->k->c, DEAD_READ);
	domain_actions(r, h, name, dead);
	record_table(h, rec);
	json_decref(rec);
	cert_table(r, h, name);
	events_table(r, h, name);
	html_raw(h, "<h2>Dead letters</h2>");
	if (dead)
		dead_rows(r, h, dead, name, NULL);
	json_decref(dead);
	return 200;
}

unsigned console_page_domain(struct console_req *r, struct html *h)
{
	const char *q = console_arg(r, "q"), *state = console_arg(r, "state");
	char name[DNAME_MAX + 1];
	unsigned code = 200;

	html_begin(h, "Domains", "domain");
	html_raw(h, "<form method=\"get\" action=\"/domain\" class=\"inline\"><input name=\"q\" "
	         "placeholder=\"domain or tenant\" aria-label=\"domain or tenant\" value=\"");
	html_esc(h, q ? q : "");
	html_raw(h, "\"><button>find</button></form>");
	if (state && *state) {
		find_list(r, h, "state", state);
	} else if (q && *q) {
		code = dname_normalize(q, name, sizeof(name)) ? 404 : one_domain(r, h, name);
		if (code == 404) {
			/* no such domain: perhaps a tenant */
			find_list(r, h, "tenant", q);
			code = 200;
		}
	}
	html_end(h);
	return code;
}

/* ---- dead letters ------------------------------------------------- */

unsigned console_page_dead(struct console_req *r, struct html *h)
{
	const char *reason = console_arg(r, "reason");
	json_t *dead = ctl_dead_fetch(r->k->c, DEAD_READ);

	html_begin(h, "Dead letters", "dead");
	if (!dead) {
		html_raw(h, "<p class=\"msg err\">Redis cannot be read.</p>");
		html_end(h);
		return 503;
	}
	html_raw(h, "<form method=\"get\" action=\"/dead\" class=\"inline\"><input name=\"reason\" "
	         "placeholder=\"reason contains\" aria-label=\"reason contains\" value=\"");
	html_esc(h, reason ? reason : "");
	html_raw(h, "\"><button>filter</button></form>");
	size_t n = dead_rows(r, h, dead, NULL, reason);
	html_printf(h, "<p id=\"dead-shown\">%zu shown (of the newest %zu)</p><div>", n,
	            json_array_size(dead));
	if (n) {
		console_form_begin(r, h, "replay");
		console_hidden(h, "all", "1");
		console_hidden(h, "reason", reason ? reason : "");
		console_hidden(h, "newest", dead_newest(dead));
		console_form_end(h, "replay all shown", 0);
		console_form_begin(r, h, "purge");
		console_hidden(h, "all", "1");
		console_hidden(h, "reason", reason ? reason : "");
		console_hidden(h, "newest", dead_newest(dead));
		console_form_end(h, "purge all shown", 1);
	}
	html_raw(h, "</div>");
	json_decref(dead);
	html_end(h);
	return 200;
}
