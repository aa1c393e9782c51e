/*
 * console_page: the console's shared state and its pages (console_pages.c
 * renders them; ctl_console.c serves them, checks authentication and CSRF,
 * and runs the actions).
 *
 * Every page only reads, through the functions of dcvctl's commands
 * (ctl_status_record, ctl_stats_collect, ctl_dead_fetch, ctl_scan) and a
 * few fixed reads (ctl_run); it never reads a key field (pending_key is
 * left out by ctl_status_record; of <prefix>:cert:<domain> only names,
 * serial and times are asked for).  The caller holds CONSOLE->lock: one
 * Redis connection serves the pages and the sampler in turn.
 */
#ifndef DCV_CONSOLE_PAGE_H
#define DCV_CONSOLE_PAGE_H

#include <pthread.h>

#include "console_html.h"
#include "ctl.h"

#define CONSOLE_SAMPLES 120        /* the throughput ring: 10 min at 5 s */
#define CONSOLE_SAMPLE_MS 5000
#define CONSOLE_DEAD_READ 1000     /* newest dead letters a page shows, an action acts on */
#define CONSOLE_SCAN_CAP 5000      /* keys one request reads at most */

/* The counters of <prefix>:stats at one time. */
struct console_sample {
	long long t_ms;                 /* when it was read (unix ms) */
	long long stage[STAGE_COUNT];   /* jobs handled per stage so far */
};

struct console {
	struct ctl *c;                  /* borrowed: dcvctl's */
	pthread_mutex_t lock;           /* serialises every use of c->q */
	int writable;                   /* a write token is configured */
	struct console_sample ring[CONSOLE_SAMPLES];
	size_t nsamples;                /* filled entries, oldest first after head */
	size_t head;                    /* next slot to write */
};

/* One request, as a page sees it. */
struct console_req {
	struct console *k;
	void *conn;                     /* struct MHD_Connection, for the arguments */
	const char *csrf;               /* this session's CSRF token (hex) */
};

/* The GET argument NAME of the request, or NULL (borrowed). */
const char *console_arg(const struct console_req *r, const char *name);

/* Opens an action form for OP ("nudge", "offboard", "replay", "purge"):
 * the CSRF token, the write-token field; the caller adds its own hidden
 * fields (html_hidden) and closes it with console_form_end. */
void console_form_begin(const struct console_req *r, struct html *h, const char *op);
void console_hidden(struct html *h, const char *name, const char *value);
void console_form_end(struct html *h, const char *label, int danger);

/* Reads <prefix>:stats into a new sample of the ring (the caller holds
 * the lock).  Returns 0 or -1. */
int console_sample(struct console *k);

/* The pages: each writes H and returns the HTTP status. */
unsigned console_page_overview(struct console_req *r, struct html *h);
unsigned console_page_domain(struct console_req *r, struct html *h);
unsigned console_page_dead(struct console_req *r, struct html *h);
unsigned console_page_expiring(struct console_req *r, struct html *h);

#endif
