/*
 * bucket: the names of the fleet's rate-limit buckets of one CA
 * (schemas/lifecycle.md, "Rate limits"), "<ca>:new-orders" and
 * "<ca>:failed-authz:<name>", which ratelimit.h prefixes with the key
 * prefix.  Pure.
 */
#ifndef DCV_BUCKET_H
#define DCV_BUCKET_H

#include <stddef.h>

/* The bucket KIND ("new-orders", "failed-authz") of the CA's host CA, of
 * NAME (NULL: none; a wildcard counts under its base name, as the CA
 * reports it), into BUF; returns BUF. */
const char *bucket_name(const char *ca, const char *kind, const char *name,
                        char *buf, size_t len);

#endif
