/*
 * dns_engine: what the engine (dns_engine.c: the context, its c-ares
 * channels, the zone cache and the dns_run() loop) and the checks
 * (dns_check.c: tasks through phases) share.  Private to those two files.
 *
 * A context belongs to one thread, as in dns.h; nothing here locks.  The
 * checks' tasks are opaque to the engine: it reaches them only through
 * dns_tasks_wake_parked() and dns_tasks_free().
 */
#ifndef DCV_DNS_ENGINE_H
#define DCV_DNS_ENGINE_H

#include <ares.h>
#include <stdbool.h>
#include <stddef.h>

#include "dns.h"

struct task;

/* One c-ares channel: the resolvers, one resolver, or one server. */
struct chan {
	ares_channel ch;
	char key[DNS_ADDR_MAX + 8]; /* "addr:port", or "*" for the resolvers */
	int pending;                /* queries sent and not yet answered */
	struct chan *next;
};

/* An authoritative server address to ask. */
struct server {
	char addr[DNS_ADDR_MAX];   /* numeric, no brackets */
	int port;
	char ns_name[DNAME_MAX + 1];
};

/* The servers of one zone, remembered for dns.ns_cache_ms. */
struct zone_entry {
	char zone[DNAME_MAX + 1];
	struct server servers[DNS_MAX_SERVERS];
	int n;
	long long expires;         /* monotonic ms */
};

/* The context (dns.h): one per thread. */
struct dns_ctx {
	struct dns_opts o;
	struct chan *disc;          /* all resolvers, with failover */
	struct chan *res[DNS_MAX_RESOLVERS]; /* one resolver each */
	struct chan *chans;         /* per-server channels */
	int n_chans;
	struct zone_entry *zones;   /* ZONE_CACHE_MAX entries */
	int n_zones;
	struct task *tasks;         /* the checks running (dns_check.c) */
	int n_tasks;                /* checks and raw queries running */
	unsigned long sent;
	struct dns_msg msg;         /* scratch for the answer being handled */
	long long deadline;         /* CLOCK_MONOTONIC ms, 0: none */
	bool closing;
};

/* CLOCK_MONOTONIC in ms. */
long long dns_now_ms(void);

/* Whether the context's deadline (dns_set_deadline()) has passed. */
bool dns_past_deadline(const struct dns_ctx *ctx);

/* "addr:port", with brackets for an IPv6 ADDR, into OUT (LEN bytes). */
void dns_hostport(char *out, size_t len, const char *addr, int port);

/* The channel for one authoritative server (RD=0), made on first use;
 * NULL when out of memory or when too many channels are open. */
struct chan *dns_chan_for(struct dns_ctx *ctx, const struct server *s);

/* The cached servers of ZONE, or NULL when none or expired. */
struct zone_entry *dns_zone_get(struct dns_ctx *ctx, const char *zone);

/* Remembers the N SERVERS of ZONE for dns.ns_cache_ms (nothing when 0);
 * the oldest or an expired entry makes room. */
void dns_zone_put(struct dns_ctx *ctx, const char *zone,
                  const struct server *servers, int n);

/* Maps a c-ares status without a usable answer to an outcome. */
enum dns_outcome dns_status_outcome(int status);

/* (dns_check.c) Wakes every parked task, which then asks on its own: the
 * deadline passed, so it will end at once. */
void dns_tasks_wake_parked(struct dns_ctx *ctx);

/* (dns_check.c) Frees every task without calling back (dns_free()). */
void dns_tasks_free(struct dns_ctx *ctx);

#endif
