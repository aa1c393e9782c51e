/*
 * fuzz_powerdns: the PowerDNS provider's reading of the API's answers
 * (common/txt_powerdns.c through txt_answer.h): the HTTP status with its
 * error body, and the zone answer whose TXT RRset an add or a remove
 * rewrites.
 *
 * The input: one flag byte (bit 0: add, else remove; bit 1: the value is
 * one already in the seeds), two bytes of HTTP status, then the body.
 * Checked beyond the sanitizers: a message is one printable line; a merge
 * either sends nothing, or a PATCH of the one RRset, REPLACE with at most
 * PDNS_VALUES_MAX records that hold our value exactly once after an add,
 * none after a remove, or DELETE when nothing is left.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "txt_answer.h"

static void check_msg(const char *msg)
{
	for (const char *p = msg; *p; p++)
		FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void check_payload(const char *payload, const char *value, bool add)
{
	json_t *j = json_loads(payload, 0, NULL), *rec;
	json_t *sets = json_object_get(j, "rrsets");
	json_t *rrset = json_array_get(sets, 0);
	json_t *records = json_object_get(rrset, "records");
	char quoted[TXT_VALUE_MAX + 3];
	size_t i, ours = 0;

	FUZZ_CHECK(j && json_array_size(sets) == 1);
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(rrset, "name")), "x.v.test.") == 0);
	FUZZ_CHECK(strcmp(json_string_value(json_object_get(rrset, "type")), "TXT") == 0);
	FUZZ_CHECK(json_array_size(records) <= PDNS_VALUES_MAX);
	snprintf(quoted, sizeof(quoted), "\"%s\"", value);
	json_array_foreach(records, i, rec)
		ours += strcmp(json_string_value(json_object_get(rec, "content")), quoted) == 0;
	FUZZ_CHECK(add ? ours == 1 : ours == 0);
	const char *type = json_string_value(json_object_get(rrset, "changetype"));
	FUZZ_CHECK(strcmp(type, json_array_size(records) ? "REPLACE" : "DELETE") == 0);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t flags = fuzz_byte(&in);
	long code = fuzz_u16(&in) % 600;
	bool add = flags & 1;
	const char *value = (flags & 2) ? "other" : "tok-1";
	char msg[TXT_MSG_MAX] = "", *payload = NULL;
	char *body = malloc(in.n ? in.n : 1);

	if (!body)
		return 0;
	memcpy(body, in.p, in.n);
	enum txt_status st = txt_powerdns_status(code, body, in.n, "reading the zone", msg,
	                                         sizeof(msg));
	FUZZ_CHECK(st == TXT_OK || st == TXT_PERMANENT || st == TXT_TRANSIENT);
	FUZZ_CHECK((st == TXT_OK) == (code >= 200 && code < 300));
	check_msg(msg);
	msg[0] = '\0';
	st = txt_powerdns_merge(body, in.n, "x.v.test.", "x.v.test", value, add, 60,
	                        &payload, msg, sizeof(msg));
	check_msg(msg);
	if (st == TXT_OK && payload)
		check_payload(payload, value, add);
	else
		FUZZ_CHECK(payload == NULL);
	free(payload);
	free(body);
	return 0;
}
