/*
 * fuzz_webhook: the webhook provider's reading of a receiver's answer
 * (txt_webhook_status, common/txt_webhook.c through txt_answer.h) and its
 * URL rule (txt_webhook_url_check), both fed by hostile bytes: the answer
 * comes from the network, the URL from a configuration file or the
 * environment.
 *
 * The input: two bytes of HTTP status, then the body; its first line is
 * also tried as a URL.  Checked beyond the sanitizers: a message is one
 * printable line; the status classifies as documented (2xx ok; 0, 408,
 * 429, 5xx transient; the rest permanent); an accepted URL starts with
 * its origin, which is https:// or http:// and carries no '@'.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "txt_answer.h"

static void check_msg(const char *msg)
{
	for (const char *p = msg; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	long code = fuzz_u16(&in);
	char *body = malloc(in.n ? in.n : 1);
	char msg[TXT_MSG_MAX] = "", url[TXT_URL_MAX], origin[TXT_URL_MAX], err[256];
	enum txt_status st, want;

	if (!body)
		return 0;
	memcpy(body, in.p, in.n);
	st = txt_webhook_status(code, in.n ? body : NULL, in.n, "https://h.example",
	                        "present", msg, sizeof msg);
	if (code >= 200 && code < 300)
		want = TXT_OK;
	else if (code == 0 || code == 408 || code == 429 || (code >= 500 && code < 600))
		want = TXT_TRANSIENT;
	else
		want = TXT_PERMANENT;
	FUZZ_CHECK(st == want);
	if (st != TXT_OK)
		FUZZ_CHECK(strncmp(msg, "webhook: https://h.example: present: HTTP ", 42) == 0);
	check_msg(msg);

	fuzz_str(&in, '\n', url, sizeof url);
	if (txt_webhook_url_check(url, (code & 1) != 0, origin, err, sizeof err) == 0) {
		size_t ol = strlen(origin);
		FUZZ_CHECK(strncmp(url, origin, ol) == 0);
		FUZZ_CHECK(strncasecmp(origin, "https://", 8) == 0 ||
		           strncasecmp(origin, "http://", 7) == 0);
		FUZZ_CHECK(strchr(origin, '@') == NULL);
	} else {
		check_msg(err);
	}
	free(body);
	return 0;
}
