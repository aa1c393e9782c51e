/*
 * txt_provider_impl: the inside of a TXT provider, for the providers
 * (txt_rfc2136.c, txt_powerdns.c,
 * txt_webhook.c, txt_exec.c) and the dispatch (txt_provider.c) only.
 * Everybody else holds an opaque struct txt_provider (txt_provider.h) and
 * calls txt_add()/txt_remove(), which check the arguments once before an
 * operation here runs: the operations may take NAME and VALUE as valid.
 *
 * A provider's own handle starts with a struct txt_provider (so the
 * pointer converts both ways), its ops point at a static table, and its
 * constructor copies the options it is given.
 */
#ifndef DCV_TXT_PROVIDER_IMPL_H
#define DCV_TXT_PROVIDER_IMPL_H

#include "txt_provider.h"

/* The operations of one provider. */
struct txt_provider_ops {
	const char *name;
	enum txt_status (*add)(struct txt_provider *p, const char *name,
	                       const char *value, char *msg, size_t msglen);
	enum txt_status (*remove)(struct txt_provider *p, const char *name,
	                          const char *value, char *msg, size_t msglen);
	void (*free)(struct txt_provider *p);
};

/* The common head of every provider's handle. */
struct txt_provider {
	const struct txt_provider_ops *ops;
	struct txt_provider_opts o;   /* copied at creation */
	long long deadline;           /* CLOCK_MONOTONIC ms (deadline.h); 0: none */
};

/* Waits MS milliseconds between two tries of one call, cut by P's
 * deadline: 0, or -1 (without waiting) when the deadline would pass
 * first, so no try is left. */
int txt_pause(const struct txt_provider *p, long long ms);

/* Constructors of the providers (used by txt_provider_new). */
struct txt_provider *txt_rfc2136_new(const struct txt_provider_opts *o,
                                     char *err, size_t errlen);
struct txt_provider *txt_powerdns_new(const struct txt_provider_opts *o,
                                      char *err, size_t errlen);
struct txt_provider *txt_webhook_new(const struct txt_provider_opts *o,
                                     char *err, size_t errlen);
struct txt_provider *txt_exec_new(const struct txt_provider_opts *o,
                                  char *err, size_t errlen);

#endif
