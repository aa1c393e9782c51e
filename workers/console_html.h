/*
 * console_html: the pieces of the console's pages (ctl_console.c).
 *
 * A page is built in a struct html, a growable buffer capped at
 * HTML_MAX bytes: past it the page is cut and marked as failed, never
 * grown without bound by what Redis holds.  Every value that does not come
 * from this file goes through html_esc(), which escapes & < > " ' so that
 * a domain name, a reason or an event detail (hostile input) is text in
 * any element or quoted attribute.  The CSS is embedded (console_css); the
 * pages load nothing else: no script, no CDN, no font.
 */
#ifndef DCV_CONSOLE_HTML_H
#define DCV_CONSOLE_HTML_H

#include <stddef.h>

#define HTML_MAX (4u * 1024 * 1024)

struct html {
	char *buf;    /* NUL-terminated; owned; NULL until the first write */
	size_t len;   /* bytes in buf */
	size_t cap;   /* bytes allocated */
	int failed;   /* out of memory or past HTML_MAX: the page is cut */
};

/* Appends trusted text (this file's markup) as it is. */
void html_raw(struct html *h, const char *s);

/* Appends trusted markup made with printf: the arguments must be numbers
 * or this program's own strings, never a value read from Redis. */
void html_printf(struct html *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Appends LEN bytes of S escaped for text and quoted attributes; control
 * characters become U+FFFD. */
void html_escn(struct html *h, const char *s, size_t len);
void html_esc(struct html *h, const char *s);   /* NULL appends "-" */

/* Appends S percent-encoded for a query value (a link's href). */
void html_url(struct html *h, const char *s);

/* The start of a page titled TITLE (escaped), with the navigation; ACTIVE
 * names the current tab ("overview", "domain", "dead", "expiring"). */
void html_begin(struct html *h, const char *title, const char *active);

/* The end of the page. */
void html_end(struct html *h);

/* A unix time in milliseconds (or seconds with SECONDS) as ISO 8601 UTC
 * into OUT (32 bytes); "-" for 0 or less. */
void html_time(long long t, int seconds, char out[32]);

/* Frees the buffer. */
void html_free(struct html *h);

/* The stylesheet, served as /console.css. */
extern const char console_css[];

#endif
