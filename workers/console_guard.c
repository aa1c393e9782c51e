/*
 * console_guard: see console_guard.h.
 */
#include "console_guard.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "crypto.h"

int console_secret_equal(const char *a, const char *b)
{
	unsigned char da[32], db[32];
	if (!a || !b)
		return 0;
	crypto_sha256(a, strlen(a), da);
	crypto_sha256(b, strlen(b), db);
	return CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}

int console_sid_valid(const char *sid)
{
	return sid && strlen(sid) == CONSOLE_SID_LEN &&
	       strspn(sid, "0123456789abcdef") == CONSOLE_SID_LEN;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

int console_sid_new(char out[CONSOLE_SID_LEN + 1])
{
	unsigned char b[CONSOLE_SID_LEN / 2];
	if (crypto_random(b, sizeof(b)) != CRYPTO_OK)
		return -1;
	hex(b, sizeof(b), out);
	return 0;
}

void console_csrf(const unsigned char key[32], const char *sid, char out[65])
{
	unsigned char mac[32];
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "csrf:%s", sid);
	if (crypto_hmac_sha256(key, 32, msg, (size_t)n, mac) != CRYPTO_OK)
		memset(mac, 0, sizeof(mac));
	hex(mac, sizeof(mac), out);
}

static int origin_is(const char *scheme, const char *host, const char *origin,
                     const char *referer)
{
	char want[320];
	if (snprintf(want, sizeof(want), "%s://%s", scheme, host) >= (int)sizeof(want))
		return 0;
	size_t n = strlen(want);
	if (origin)
		return strcmp(origin, want) == 0;
	return referer && strncmp(referer, want, n) == 0 && referer[n] == '/';
}

int console_origin_ok(const char *host, const char *origin, const char *referer, int https)
{
	if (!host || !*host || strlen(host) >= 300)
		return 0;
	return origin_is("http", host, origin, referer) ||
	       (https && origin_is("https", host, origin, referer));
}

int console_auth_ok(const char *secret, const char *user, const char *pass,
                    const char *bearer)
{
	char given[600];
	if (!secret)
		return 0;
	if (strchr(secret, ':')) {
		if (!user || !pass || snprintf(given, sizeof(given), "%s:%s", user, pass) >=
		    (int)sizeof(given))
			return 0;
		int ok = console_secret_equal(secret, given);
		OPENSSL_cleanse(given, sizeof(given));
		return ok;
	}
	return console_secret_equal(secret, pass) | console_secret_equal(secret, bearer);
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes S in place; -1 on a bad escape or an escaped NUL. */
static int decode(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '+') {
			*o++ = ' ';
		} else if (*s == '%') {
			int a = unhex(s[1]), b = a < 0 ? -1 : unhex(s[2]);
			if (b < 0 || (a == 0 && b == 0))
				return -1;
			*o++ = (char)(a * 16 + b);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return 0;
}

int console_form_parse(char *body, struct console_field *f)
{
	int n = 0;
	for (char *save = NULL, *t = strtok_r(body, "&", &save); t;
	     t = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(t, '=');
		if (!eq)
			return -1;
		*eq = '\0';
		if (decode(t) != 0 || decode(eq + 1) != 0 || n >= CONSOLE_FIELDS)
			return -1;
		f[n].name = t;
		f[n].value = eq + 1;
		n++;
	}
	return n;
}

const char *console_form_get(const struct console_field *f, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return f[i].value;
	return NULL;
}
