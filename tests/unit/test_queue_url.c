/* queue: the Redis URL parser (queue_url_parse), pure.  A password may hold
 * '@', '/' and ':'; no error message ever quotes any part of the URL, since
 * a malformed one may carry its password in any position. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "queue.h"

static void ok(const char *url, const char *host, int port, int db,
               const char *user, const char *pass)
{
	struct queue_url u;
	char err[256] = "";

	if (queue_url_parse(url, &u, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", url, err);
	assert_string_equal(u.host, host);
	assert_int_equal(u.port, port);
	assert_int_equal(u.db, db);
	assert_string_equal(u.user, user);
	assert_string_equal(u.pass, pass);
	/* messages name the server only when no password could hide in it */
	if (pass[0])
		assert_string_equal(u.where, "the server of redis.url");
	else {
		char where[300];
		snprintf(where, sizeof(where), "%s:%d", host, port);
		assert_string_equal(u.where, where);
	}
}

/* URL is refused with a reason containing WANT and none of the secret. */
static void bad(const char *url, const char *want)
{
	static const char *const secret[] = { "S3cr", "cr3t", "3t/x", "p@ss" };
	struct queue_url u;
	char err[256] = "";

	memset(&u, 0x55, sizeof(u));
	if (queue_url_parse(url, &u, err, sizeof(err)) == 0)
		fail_msg("'%s' accepted", url);
	if (!strstr(err, want))
		fail_msg("'%s': expected '%s' in '%s'", url, want, err);
	for (size_t i = 0; i < sizeof(secret) / sizeof(*secret); i++)
		if (strstr(err, secret[i]))
			fail_msg("'%s': the message '%s' quotes the password", url, err);
	/* nothing of a refused URL stays in OUT, the password least of all */
	for (size_t i = 0; i < sizeof(u); i++)
		assert_int_equal(((unsigned char *)&u)[i], 0);
}

static void test_parses(void **state)
{
	(void)state;
	ok("redis://127.0.0.1", "127.0.0.1", 6379, 0, "", "");
	ok("redis://redis.internal:6380/2", "redis.internal", 6380, 2, "", "");
	ok("redis://h/", "h", 6379, 0, "", "");
	ok("redis://:pw@h:1/3", "h", 1, 3, "", "pw");
	ok("redis://dcv-worker:pw@h:65535/1000", "h", 65535, 1000, "dcv-worker", "pw");
	/* the credentials end at the last '@': '@', '/' and ':' are the
	 * password's own */
	ok("redis://user:p@ss/w@rd@host:6390/4", "host", 6390, 4, "user", "p@ss/w@rd");
	ok("redis://:p@ss/w@rd@host", "host", 6379, 0, "", "p@ss/w@rd");
	ok("redis://u:a:b/c:d@h/5", "h", 6379, 5, "u", "a:b/c:d");
	ok("redis://u:%40x@h", "h", 6379, 0, "u", "%40x");   /* no decoding */
	ok("redis://[::1]:7000/1", "::1", 7000, 1, "", "");
	ok("redis://u:pw@[::1]", "::1", 6379, 0, "u", "pw");
}

static void test_refuses_without_quoting(void **state)
{
	(void)state;
	char longpass[400];

	bad("rediss://u:S3cr3t/x@h", "must start with redis://");
	bad("http://u:S3cr3t/x@h", "must start with redis://");
	bad("redis://u:S3cr3t/x@h:99999", "port");
	bad("redis://u:S3cr3t/x@h:0", "port");
	bad("redis://u:S3cr3t/x@h:12x", "port");
	bad("redis://u:S3cr3t/x@h:", "port");
	bad("redis://u:S3cr3t/x@h:+80", "port");
	bad("redis://u:S3cr3t/x@:6379", "host");
	bad("redis://u:S3cr3t/x@", "host");
	bad("redis://u:S3cr3t/x@h /0", "host");
	bad("redis://u:S3cr3t/x@h/x", "database");
	bad("redis://u:S3cr3t/x@h/-1", "database");
	bad("redis://u:S3cr3t/x@h/1001", "database");
	bad("redis://u:S3cr3t/x@h/0?db=1", "database");
	/* a forgotten '@' makes the password the port, or the host */
	bad("redis://u:S3cr3t", "port");
	bad("redis://p@ss", "credentials");
	bad("redis://S3cr3t@h", "credentials");
	bad("redis://u:@h", "credentials");
	bad("redis://[::1:S3cr3t", "']'");
	bad("redis://[::1]S3cr3t", "port");
	memset(longpass, 'S', sizeof(longpass));
	memcpy(longpass, "redis://u:", 10);
	memcpy(longpass + sizeof(longpass) - 4, "@h", 3);
	bad(longpass, "too long");
	bad(NULL, "must start with redis://");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parses),
		cmocka_unit_test(test_refuses_without_quoting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
