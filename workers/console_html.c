/*
 * console_html: see console_html.h.
 */
#include "console_html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int reserve(struct html *h, size_t more)
{
	if (h->failed)
		return -1;
	if (h->len + more + 1 <= h->cap)
		return 0;
	if (h->len + more + 1 > HTML_MAX) {
		h->failed = 1;
		return -1;
	}
	size_t cap = h->cap ? h->cap : 16384;
	while (cap < h->len + more + 1)
		cap *= 2;
	if (cap > HTML_MAX)
		cap = HTML_MAX;
	char *b = realloc(h->buf, cap);
	if (!b) {
		h->failed = 1;
		return -1;
	}
	h->buf = b;
	h->cap = cap;
	return 0;
}

static void add(struct html *h, const char *s, size_t n)
{
	if (reserve(h, n) != 0)
		return;
	memcpy(h->buf + h->len, s, n);
	h->len += n;
	h->buf[h->len] = '\0';
}

void html_raw(struct html *h, const char *s)
{
	add(h, s, strlen(s));
}

void html_printf(struct html *h, const char *fmt, ...)
{
	char small[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		h->failed = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		add(h, small, (size_t)n);
		return;
	}
	if (reserve(h, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(h->buf + h->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	h->len += (size_t)n;
}

void html_escn(struct html *h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		switch (ch) {
		case '&': html_raw(h, "&amp;"); break;
		case '<': html_raw(h, "&lt;"); break;
		case '>': html_raw(h, "&gt;"); break;
		case '"': html_raw(h, "&quot;"); break;
		case '\'': html_raw(h, "&#39;"); break;
		default:
			if (ch < 0x20 && ch != '\n' && ch != '\t')
				html_raw(h, "\xef\xbf\xbd");
			else if (ch == 0x7f)
				html_raw(h, "\xef\xbf\xbd");
			else
				add(h, (const char *)&s[i], 1);
		}
	}
}

void html_esc(struct html *h, const char *s)
{
	if (!s)
		s = "-";
	html_escn(h, s, strlen(s));
}

void html_url(struct html *h, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
			add(h, s, 1);
		} else {
			char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
			add(h, e, 3);
		}
	}
}

void html_begin(struct html *h, const char *title, const char *active)
{
	static const char *const tabs[][2] = {
		{ "overview", "/" }, { "domain", "/domain" },
		{ "dead", "/dead" }, { "expiring", "/expiring" },
	};
	static const char *const labels[] = { "Overview", "Domains", "Dead letters",
	                                      "Expiring" };
	html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	         "<link rel=\"stylesheet\" href=\"/console.css\"><title>");
	html_esc(h, title);
	html_raw(h, " - dcvfleet</title></head><body><header><b>dcvfleet</b><nav>");
	for (size_t i = 0; i < 4; i++)
		html_printf(h, "<a href=\"%s\"%s>%s</a>", tabs[i][1],
		            strcmp(active, tabs[i][0]) == 0 ? " class=\"on\"" : "", labels[i]);
	html_raw(h, "</nav></header><main><h1>");
	html_esc(h, title);
	html_raw(h, "</h1>\n");
}

void html_end(struct html *h)
{
	html_raw(h, "</main></body></html>\n");
}

void html_time(long long t, int seconds, char out[32])
{
	struct tm tm;
	time_t s = (time_t)(seconds ? t : t / 1000);

	if (t <= 0 || !gmtime_r(&s, &tm) || !strftime(out, 32, "%Y-%m-%d %H:%M:%SZ", &tm))
		snprintf(out, 32, "-");
}

void html_free(struct html *h)
{
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

const char console_css[] =
"*{box-sizing:border-box}body{margin:0;font:15px/1.4 system-ui,sans-serif;"
"color:#1b1f24;background:#f6f7f9}header{display:flex;flex-wrap:wrap;gap:.5em 1em;"
"align-items:center;padding:.6em 1em;background:#1f3a5f;color:#fff}"
"header a{color:#dfe8f5;text-decoration:none;padding:.2em .5em;border-radius:4px}"
"header a.on{background:#35598a;color:#fff}nav{display:flex;flex-wrap:wrap;gap:.3em}"
"main{padding:1em;max-width:1100px;margin:auto}h1{font-size:1.3em;margin:.2em 0 .6em}"
"h2{font-size:1.1em;margin:1.2em 0 .4em}"
".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:.8em}"
".card{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.7em}"
".scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff}"
"th,td{border-bottom:1px solid #e3e6ea;padding:.35em .5em;text-align:left;"
"vertical-align:top;word-break:break-word}th{background:#eef1f4;font-weight:600}"
"td.n,th.n{text-align:right}code,.mono{font-family:ui-monospace,monospace;font-size:.92em}"
"form.inline{display:inline-flex;flex-wrap:wrap;gap:.3em;margin:.2em .4em .2em 0}"
"input,select,button{font:inherit;padding:.35em .5em;border:1px solid #aab3bd;"
"border-radius:4px}button{background:#1f3a5f;color:#fff;border-color:#1f3a5f;cursor:pointer}"
"button.danger{background:#a33;border-color:#a33}.muted{color:#66707a}"
".msg{padding:.6em;border-radius:4px;background:#e7f3e7;border:1px solid #9c9}"
".err{background:#fbeaea;border-color:#d99}.why{background:#fff6e0;border:1px solid #e7c36b;"
"padding:.6em;border-radius:4px}svg{width:100%;height:auto;background:#fff;"
"border:1px solid #d8dde3;border-radius:6px;max-width:720px}"
".top{margin-top:.8em}@media (max-width:600px){main{padding:.5em}th,td{padding:.3em}}\n";
