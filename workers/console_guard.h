/*
 * console_guard: the console's pure checks (no I/O, unit-tested in
 * tests/unit/test_console_guard.c): secrets compared in constant time,
 * the per-session CSRF token, the Origin/Referer check, the form parser.
 *
 * CSRF: a session is a random 128-bit id in a cookie (HttpOnly,
 * SameSite=Strict); its token is HMAC-SHA256(key, "csrf:" id) in hex, key
 * random per run of the console.  Every form carries the token; a POST is
 * refused unless the cookie's id and the form's token agree and its Origin
 * (or, without one, its Referer) is this server.
 */
#ifndef DCV_CONSOLE_GUARD_H
#define DCV_CONSOLE_GUARD_H

#include <stddef.h>

#define CONSOLE_SID_LEN 32     /* hex characters of a session id */
#define CONSOLE_FORM_MAX 8192  /* bytes of a POST body accepted */
#define CONSOLE_FIELDS 16      /* fields of a form kept */

/* 1 when A and B (NUL-terminated, either may be NULL: never equal) are
 * equal; the time does not depend on where they differ (SHA-256 of both,
 * compared with CRYPTO_memcmp). */
int console_secret_equal(const char *a, const char *b);

/* 1 when SID is CONSOLE_SID_LEN lower-case hex characters. */
int console_sid_valid(const char *sid);

/* A new random session id into OUT.  Returns 0 or -1. */
int console_sid_new(char out[CONSOLE_SID_LEN + 1]);

/* The CSRF token of SID under KEY into OUT (64 hex + NUL). */
void console_csrf(const unsigned char key[32], const char *sid, char out[65]);

/* 1 when a POST carrying ORIGIN and REFERER (either may be NULL) comes
 * from http://HOST (also https://HOST with HTTPS, for a Host named by
 * --host behind a TLS-terminating proxy): Origin equal to it, or without
 * an Origin a Referer under it.  Neither: 0. */
int console_origin_ok(const char *host, const char *origin, const char *referer, int https);

/* 1 when the request's credentials match SECRET: "user:password" is basic
 * authentication (USER and PASS); a SECRET without ':' is a token, given
 * as the basic password (any user) or as BEARER ("Authorization: Bearer").
 * Any of USER, PASS, BEARER may be NULL. */
int console_auth_ok(const char *secret, const char *user, const char *pass,
                    const char *bearer);

struct console_field {
	const char *name, *value;   /* into the parsed body */
};

/* Parses BODY (application/x-www-form-urlencoded, NUL-terminated,
 * decoded in place: '+' and %XX) into at most CONSOLE_FIELDS fields.  A
 * value with a NUL byte or a malformed escape is refused.  Returns the
 * number of fields, or -1. */
int console_form_parse(char *body, struct console_field *f);

/* The value of NAME among the N fields F, or NULL. */
const char *console_form_get(const struct console_field *f, int n, const char *name);

#endif
