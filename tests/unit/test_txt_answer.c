/* txt_answer: the pure halves of the TXT providers.  The PowerDNS status
 * and RRset merge, and the RFC 2136 answer: rcodes, TSIG errors, the TSIG
 * verification over the request's MAC, answers to something else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "tsig_answer.h"
#include "txt_answer.h"

static void test_powerdns_status(void **state)
{
	(void)state;
	char msg[TXT_MSG_MAX] = "";
	const char *unauth = "{\"error\": \"Unauthorized\"}";

	assert_int_equal(txt_powerdns_status(204, NULL, 0, "adding", msg, sizeof msg), TXT_OK);
	assert_int_equal(txt_powerdns_status(401, unauth, strlen(unauth), "reading the zone",
	                                     msg, sizeof msg), TXT_PERMANENT);
	assert_string_equal(msg, "powerdns: reading the zone: HTTP 401 (Unauthorized)");
	assert_int_equal(txt_powerdns_status(422, "x", 1, "adding", msg, sizeof msg), TXT_PERMANENT);
	assert_string_equal(msg, "powerdns: adding: HTTP 422");
	assert_int_equal(txt_powerdns_status(503, NULL, 0, "adding", msg, sizeof msg), TXT_TRANSIENT);
	/* the API's text is shown as printable text only */
	const char *esc = "{\"error\": \"bad\\u001b[31m\\nzone\"}";
	assert_int_equal(txt_powerdns_status(400, esc, strlen(esc), "adding", msg, sizeof msg),
	                 TXT_PERMANENT);
	assert_string_equal(msg, "powerdns: adding: HTTP 400 (bad?[31m?zone)");
}

/* The PATCH payload's records, as "content,content,..." and its TTL and
 * changetype. */
static void payload_of(const char *payload, char *contents, size_t len, long *ttl,
                       const char **type)
{
	json_t *j = json_loads(payload, 0, NULL);
	json_t *rrset = json_array_get(json_object_get(j, "rrsets"), 0), *rec;
	size_t i, o = 0;

	assert_non_null(rrset);
	contents[0] = '\0';
	json_array_foreach(json_object_get(rrset, "records"), i, rec)
		o += (size_t)snprintf(contents + o, len - o, "%s%s", i ? "," : "",
		                      json_string_value(json_object_get(rec, "content")));
	*ttl = (long)json_integer_value(json_object_get(rrset, "ttl"));
	*type = strcmp(json_string_value(json_object_get(rrset, "changetype")), "REPLACE")
	        ? "DELETE" : "REPLACE";
	assert_string_equal(json_string_value(json_object_get(rrset, "name")), "x.v.test.");
	json_decref(j);
}

static void test_powerdns_merge(void **state)
{
	(void)state;
	char msg[TXT_MSG_MAX], contents[1024];
	char *payload = NULL;
	long ttl;
	const char *type;
	const char *zone = "{\"rrsets\": [{\"name\": \"X.v.test.\", \"type\": \"TXT\", \"ttl\": 300,"
	                   " \"records\": [{\"content\": \"\\\"other\\\"\"},"
	                   " {\"content\": \"\\\"a\\\" \\\"b\\\"\"}]},"
	                   " {\"name\": \"x.v.test.\", \"type\": \"A\", \"records\": []}]}";

	/* add: the other values stay, verbatim when not one quoted string */
	assert_int_equal(txt_powerdns_merge(zone, strlen(zone), "x.v.test.", "x.v.test", "tok",
	                                    true, 60, &payload, msg, sizeof msg), TXT_OK);
	assert_non_null(payload);
	payload_of(payload, contents, sizeof contents, &ttl, &type);
	assert_string_equal(contents, "\"other\",\"a\" \"b\",\"tok\"");
	assert_int_equal(ttl, 60);
	assert_string_equal(type, "REPLACE");
	free(payload);

	/* already there: nothing to send */
	assert_int_equal(txt_powerdns_merge(zone, strlen(zone), "x.v.test.", "x.v.test", "other",
	                                    true, 60, &payload, msg, sizeof msg), TXT_OK);
	assert_null(payload);
	/* remove keeps the RRset's TTL; the last value gone deletes it */
	assert_int_equal(txt_powerdns_merge(zone, strlen(zone), "x.v.test.", "x.v.test", "other",
	                                    false, 60, &payload, msg, sizeof msg), TXT_OK);
	payload_of(payload, contents, sizeof contents, &ttl, &type);
	assert_string_equal(contents, "\"a\" \"b\"");
	assert_int_equal(ttl, 300);
	free(payload);
	const char *one = "{\"rrsets\": [{\"name\": \"x.v.test.\", \"type\": \"TXT\", \"ttl\": 30,"
	                  " \"records\": [{\"content\": \"\\\"tok\\\"\"}]}]}";
	assert_int_equal(txt_powerdns_merge(one, strlen(one), "x.v.test.", "x.v.test", "tok",
	                                    false, 60, &payload, msg, sizeof msg), TXT_OK);
	payload_of(payload, contents, sizeof contents, &ttl, &type);
	assert_string_equal(contents, "");
	assert_string_equal(type, "DELETE");
	free(payload);
	assert_int_equal(txt_powerdns_merge(one, strlen(one), "x.v.test.", "x.v.test", "absent",
	                                    false, 60, &payload, msg, sizeof msg), TXT_OK);
	assert_null(payload);
	/* the value listed twice (here: the RRset twice) goes away whole
	 * (found by fuzz_powerdns: corpus/powerdns/crash-remove-twice) */
	const char *twice = "{\"rrsets\": [{\"name\": \"x.v.test.\", \"type\": \"TXT\","
	                    " \"records\": [{\"content\": \"\\\"tok\\\"\"},"
	                    " {\"content\": \"\\\"b\\\"\"}]},"
	                    " {\"name\": \"x.v.test.\", \"type\": \"TXT\","
	                    " \"records\": [{\"content\": \"\\\"tok\\\"\"}]}]}";
	assert_int_equal(txt_powerdns_merge(twice, strlen(twice), "x.v.test.", "x.v.test", "tok",
	                                    false, 60, &payload, msg, sizeof msg), TXT_OK);
	payload_of(payload, contents, sizeof contents, &ttl, &type);
	assert_string_equal(contents, "\"b\"");
	assert_string_equal(type, "REPLACE");
	free(payload);

	/* not the JSON expected: transient */
	assert_int_equal(txt_powerdns_merge("<html>", 6, "x.v.test.", "x.v.test", "t", true, 60,
	                                    &payload, msg, sizeof msg), TXT_TRANSIENT);
	assert_null(payload);
	assert_int_equal(txt_powerdns_merge(NULL, 0, "x.v.test.", "x.v.test", "t", true, 60,
	                                    &payload, msg, sizeof msg), TXT_TRANSIENT);

	/* more values than kept, and one too long to rewrite: permanent */
	char big[8192];
	size_t o = (size_t)snprintf(big, sizeof big, "{\"rrsets\": [{\"name\": \"x.v.test.\", "
	                            "\"type\": \"TXT\", \"records\": [");
	for (int i = 0; i <= PDNS_VALUES_MAX; i++)
		o += (size_t)snprintf(big + o, sizeof big - o, "%s{\"content\": \"\\\"v%d\\\"\"}",
		                      i ? "," : "", i);
	snprintf(big + o, sizeof big - o, "]}]}");
	assert_int_equal(txt_powerdns_merge(big, strlen(big), "x.v.test.", "x.v.test", "t", true,
	                                    60, &payload, msg, sizeof msg), TXT_PERMANENT);
	assert_non_null(strstr(msg, "more than 64 TXT values"));
	o = (size_t)snprintf(big, sizeof big, "{\"rrsets\": [{\"name\": \"x.v.test.\", "
	                     "\"type\": \"TXT\", \"records\": [{\"content\": \"");
	for (int i = 0; i < 300; i++)
		big[o++] = 'a';
	snprintf(big + o, sizeof big - o, "\"}]}]}");
	assert_int_equal(txt_powerdns_merge(big, strlen(big), "x.v.test.", "x.v.test", "t", true,
	                                    60, &payload, msg, sizeof msg), TXT_PERMANENT);
	assert_non_null(strstr(msg, "too long to preserve"));
}

/* One answer through txt_rfc2136_answer(). */
static enum txt_status answer(const struct test_update *u, int rcode, bool sign,
                              int tsig_error, uint16_t id, char *msg)
{
	uint8_t *wire;
	size_t len;
	assert_int_equal(test_answer(u, rcode, sign, tsig_error, id, &wire, &len), 0);
	enum txt_status st = txt_rfc2136_answer(wire, len, &u->req, msg, TXT_MSG_MAX);
	LDNS_FREE(wire);
	assert_null(strstr(msg, TEST_SECRET));
	return st;
}

static void test_rfc2136_answer(void **state)
{
	(void)state;
	static const char *const algs[] = { "hmac-sha256", "hmac-sha512" };
	char msg[TXT_MSG_MAX];
	struct test_update u;

	for (size_t k = 0; k < 2; k++) {
		assert_int_equal(test_update_new(&u, algs[k]), 0);
		msg[0] = '\0';
		assert_int_equal(answer(&u, LDNS_RCODE_NOERROR, true, 0, 0x4242, msg), TXT_OK);
		assert_int_equal(answer(&u, LDNS_RCODE_REFUSED, true, 0, 0x4242, msg), TXT_PERMANENT);
		assert_non_null(strstr(msg, "REFUSED the update of x.validation.test"));
		assert_int_equal(answer(&u, LDNS_RCODE_NOTZONE, true, 0, 0x4242, msg), TXT_PERMANENT);
		assert_non_null(strstr(msg, "NOTZONE"));
		assert_int_equal(answer(&u, LDNS_RCODE_SERVFAIL, true, 0, 0x4242, msg), TXT_TRANSIENT);
		assert_int_equal(answer(&u, LDNS_RCODE_FORMERR, true, 0, 0x4242, msg), TXT_PERMANENT);
		assert_non_null(strstr(msg, "rcode 1"));

		/* what BIND answers to a wrong secret, or an unknown key */
		assert_int_equal(answer(&u, LDNS_RCODE_NOTAUTH, false, 16, 0x4242, msg), TXT_PERMANENT);
		assert_non_null(strstr(msg, "BADSIG"));
		assert_int_equal(answer(&u, LDNS_RCODE_NOTAUTH, false, 17, 0x4242, msg), TXT_PERMANENT);
		assert_non_null(strstr(msg, "BADKEY"));
		assert_int_equal(answer(&u, LDNS_RCODE_NOTAUTH, false, 0, 0x4242, msg), TXT_PERMANENT);
		assert_non_null(strstr(msg, "NOTAUTH (not authoritative"));

		/* NOERROR without a signature, or signed with another key: not
		 * believed */
		assert_int_equal(answer(&u, LDNS_RCODE_NOERROR, false, 0, 0x4242, msg), TXT_PERMANENT);
		assert_non_null(strstr(msg, "TSIG"));
		struct test_update other = u;
		uint8_t mac[sizeof(u.mac)];
		memcpy(mac, u.mac, u.mac_len);
		mac[2] ^= 1; /* signed over another request's MAC */
		memcpy(other.mac, mac, u.mac_len);
		assert_int_equal(answer(&other, LDNS_RCODE_NOERROR, true, 0, 0x4242, msg),
		                 TXT_PERMANENT);

		/* an answer to another message, and bytes that are no answer */
		assert_int_equal(answer(&u, LDNS_RCODE_NOERROR, true, 0, 0x4243, msg), TXT_TRANSIENT);
		assert_non_null(strstr(msg, "not a response to our update"));
		assert_int_equal(txt_rfc2136_answer((const uint8_t *)"\x42\x42\x80", 3, &u.req, msg,
		                                    sizeof msg), TXT_TRANSIENT);
		assert_non_null(strstr(msg, "malformed answer"));
		test_update_free(&u);
	}
}

/* An answer whose TSIG names an algorithm ldns does not know: ldns's
 * verifier takes the TSIG out of the packet and does not put it back; the
 * reader must not lose it (a leak in ldns 1.8.3's tsig.c; the ASan build
 * shows it). */
static void test_rfc2136_unknown_algorithm(void **state)
{
	(void)state;
	char msg[TXT_MSG_MAX];
	struct test_update u;
	uint8_t *wire;
	size_t len;
	ldns_pkt *a = ldns_pkt_new();

	assert_int_equal(test_update_new(&u, "hmac-sha256"), 0);
	ldns_pkt_set_id(a, 0x4242);
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_opcode(a, LDNS_PACKET_UPDATE);
	ldns_pkt_set_tsig(a, test_tsig_error("hmac-nonesuch", 0, 0x4242));
	assert_int_equal(ldns_pkt2wire(&wire, a, &len), LDNS_STATUS_OK);
	assert_int_equal(txt_rfc2136_answer(wire, len, &u.req, msg, sizeof msg), TXT_PERMANENT);
	LDNS_FREE(wire);
	ldns_pkt_free(a);
	test_update_free(&u);
}

/* Two TSIG records: ldns keeps the last and leaks the first; the reader
 * refuses the answer before ldns sees it (found by fuzz_rfc2136; the
 * input is corpus/rfc2136/crash-two-tsig; ASan build). */
static void test_rfc2136_two_tsig(void **state)
{
	(void)state;
	char msg[TXT_MSG_MAX];
	struct test_update u;
	uint8_t *wire, twice[1024];
	size_t len, bare;
	ldns_pkt *a = ldns_pkt_new();

	assert_int_equal(test_update_new(&u, "hmac-sha256"), 0);
	ldns_pkt_set_id(a, 0x4242);
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_opcode(a, LDNS_PACKET_UPDATE);
	assert_int_equal(ldns_pkt2wire(&wire, a, &bare), LDNS_STATUS_OK); /* 12 octets */
	LDNS_FREE(wire);
	assert_int_equal(test_answer_sign(&u, a), 0);
	assert_int_equal(ldns_pkt2wire(&wire, a, &len), LDNS_STATUS_OK);
	assert_int_equal(txt_rfc2136_answer(wire, len, &u.req, msg, sizeof msg), TXT_OK);
	/* the same TSIG record once more at the end */
	assert_true(2 * len - bare <= sizeof twice);
	memcpy(twice, wire, len);
	memcpy(twice + len, wire + bare, len - bare);
	twice[11]++;
	assert_int_equal(txt_rfc2136_answer(twice, 2 * len - bare, &u.req, msg, sizeof msg),
	                 TXT_TRANSIENT);
	assert_non_null(strstr(msg, "malformed answer"));
	LDNS_FREE(wire);
	ldns_pkt_free(a);
	test_update_free(&u);
}

/* A question name whose octets need escapes (as text it is longer than 253
 * characters; on the wire it is a fine name) does not make a signed
 * NOERROR answer malformed (found by fuzz_rfc2136:
 * corpus/rfc2136/crash-escaped-name). */
static void test_rfc2136_binary_name(void **state)
{
	(void)state;
	char msg[TXT_MSG_MAX];
	struct test_update u;
	uint8_t *wire, name[2 * 64 + 1];
	size_t len;
	ldns_pkt *a = ldns_pkt_new();
	ldns_rr *q = ldns_rr_new();

	assert_int_equal(test_update_new(&u, "hmac-sha256"), 0);
	memset(name, 0, sizeof(name)); /* two labels of 63 NUL octets */
	name[0] = name[64] = 63;
	ldns_rr_set_owner(q, ldns_dname_new_frm_data(sizeof(name), name));
	ldns_rr_set_type(q, LDNS_RR_TYPE_SOA);
	ldns_rr_set_question(q, true);
	ldns_pkt_push_rr(a, LDNS_SECTION_QUESTION, q);
	ldns_pkt_set_id(a, 0x4242);
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_opcode(a, LDNS_PACKET_UPDATE);
	assert_int_equal(test_answer_sign(&u, a), 0);
	assert_int_equal(ldns_pkt2wire(&wire, a, &len), LDNS_STATUS_OK);
	assert_int_equal(txt_rfc2136_answer(wire, len, &u.req, msg, sizeof msg), TXT_OK);
	LDNS_FREE(wire);
	ldns_pkt_free(a);
	test_update_free(&u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_powerdns_status),
		cmocka_unit_test(test_powerdns_merge),
		cmocka_unit_test(test_rfc2136_answer),
		cmocka_unit_test(test_rfc2136_unknown_algorithm),
		cmocka_unit_test(test_rfc2136_two_tsig),
		cmocka_unit_test(test_rfc2136_binary_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
