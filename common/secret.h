/*
 * secret: the one reader of secret files (an EAB HMAC key, a TSIG secret,
 * a PowerDNS API key, the account KEK), so that every secret on disk is
 * read the same way.
 *
 * secret_read_file() opens PATH with O_CLOEXEC (a child started later never
 * inherits it), reads at most MAX bytes (a longer file is refused, not cut),
 * and drops trailing whitespace (the newline an editor or `echo` leaves).
 * Symbolic links are followed: Kubernetes mounts secrets through them.
 * Every buffer that held the secret is zeroed before it is released.
 * Nothing here logs; a message about a failure names the path, never the
 * content.  Thread-safe (no state).
 */
#ifndef DCV_SECRET_H
#define DCV_SECRET_H

#include <stddef.h>

enum secret_status {
	SECRET_OK = 0,
	SECRET_EOPEN,    /* cannot open PATH; errno says why */
	SECRET_EREAD,    /* a read failed; errno says why */
	SECRET_ETOOBIG,  /* longer than MAX bytes */
	SECRET_ENOMEM,
	SECRET_EINVAL,   /* no PATH, no OUT, or MAX of 0 */
};

const char *secret_strerror(enum secret_status st);

/* Reads the file at PATH (at most MAX bytes before trimming) into *OUT, a
 * NUL-terminated copy with trailing whitespace dropped, and its length
 * into *LEN when LEN is set.  The caller releases *OUT with secret_free().
 * On failure *OUT is NULL and errno is kept from the failing call for
 * SECRET_EOPEN and SECRET_EREAD. */
enum secret_status secret_read_file(const char *path, size_t max, char **out,
                                    size_t *len)
	__attribute__((warn_unused_result));

/* Zeroes the NUL-terminated secret S and frees it.  NULL is a no-op. */
void secret_free(char *s);

#endif
