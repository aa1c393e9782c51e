/*
 * fuzz_rfc2136: the RFC 2136 provider's reading of an UPDATE answer with
 * its TSIG (common/txt_rfc2136.c through txt_answer.h), against a request
 * signed here with a known key (tests/unit/tsig_answer.h).
 *
 * The input: one flag byte, then the answer's octets.  A random answer's
 * MAC never verifies, so with bit 0 set the answer is parsed, given the
 * request's id (bit 1) and signed with the key over the request's MAC
 * before it is read, as the server would sign it; bit 2 picks hmac-sha512.
 * This way the code past the verification is fuzzed too.  Checked beyond
 * the sanitizers: the secret never reaches the message; an answer the
 * verification could not have passed is never TXT_OK; one signed here that
 * is a NOERROR response to the request, with no other TSIG record, is
 * TXT_OK.
 */
#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tsig_answer.h"
#include "txt_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct test_update u[2];
	static bool ready;
	struct fuzz_in in = { data, size };
	uint8_t flags = fuzz_byte(&in);
	struct test_update *up;
	uint8_t *wire = NULL, *signed_wire = NULL;
	size_t len = in.n;
	bool signed_here = false, is_noerror_answer = false;
	char msg[TXT_MSG_MAX] = "";

	if (!ready) {
		if (test_update_new(&u[0], "hmac-sha256") != 0 ||
		    test_update_new(&u[1], "hmac-sha512") != 0)
			abort();
		ready = true;
	}
	up = &u[(flags >> 2) & 1];
	wire = malloc(len ? len : 1);
	if (!wire)
		return 0;
	memcpy(wire, in.p, len);
	if (flags & 1) {
		ldns_pkt *a = NULL;
		/* ldns leaks all but the last of several TSIG records */
		if (txt_rfc2136_tsig_placement_ok(wire, len) &&
		    ldns_wire2pkt(&a, wire, len) == LDNS_STATUS_OK) {
			if (flags & 2)
				ldns_pkt_set_id(a, up->req.id);
			/* the counts of what ldns read (it keeps the header's
			 * ARCOUNT when a TSIG ends the input early), so that the
			 * answer written again says what it holds */
			ldns_pkt_set_qdcount(a, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_question(a)));
			ldns_pkt_set_ancount(a, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(a)));
			ldns_pkt_set_nscount(a, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(a)));
			ldns_pkt_set_arcount(a, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_additional(a)));
			if (test_answer_sign(up, a) == 0 &&
			    ldns_pkt2wire(&signed_wire, a, &len) == LDNS_STATUS_OK) {
				/* a TSIG record anywhere but last makes it malformed
				 * (RFC 8945 section 5.1) */
				ldns_rr_list *other = ldns_pkt_rr_list_by_type(
					a, LDNS_RR_TYPE_TSIG, LDNS_SECTION_ANY_NOQUESTION);
				signed_here = true;
				is_noerror_answer = ldns_pkt_qr(a) && ldns_pkt_id(a) == up->req.id &&
				                    ldns_pkt_get_opcode(a) == LDNS_PACKET_UPDATE &&
				                    ldns_pkt_get_rcode(a) == LDNS_RCODE_NOERROR &&
				                    !other;
				ldns_rr_list_deep_free(other);
			}
		}
		ldns_pkt_free(a);
		if (!signed_here)
			len = in.n;
	}
	enum txt_status st = txt_rfc2136_answer(signed_here ? signed_wire : wire, len,
	                                        &up->req, msg, sizeof(msg));
	FUZZ_CHECK(st == TXT_OK || st == TXT_TRANSIENT || st == TXT_PERMANENT);
	FUZZ_CHECK(strstr(msg, TEST_SECRET) == NULL);
	if (st == TXT_OK)
		FUZZ_CHECK(signed_here);
	/* ldns re-reads what it wrote, so a signed NOERROR answer verifies
	 * (unless its wire came out over a DNS message's size) */
	if (signed_here && is_noerror_answer && len <= LDNS_MAX_PACKETLEN)
		FUZZ_CHECK(st == TXT_OK);
	LDNS_FREE(signed_wire);
	free(wire);
	return 0;
}
