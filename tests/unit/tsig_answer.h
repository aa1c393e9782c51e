/* Building signed RFC 2136 updates and their answers with ldns, as BIND
 * sends them, for the tests of txt_rfc2136_answer() (test_txt_answer.c)
 * and its fuzzer (tests/fuzz/fuzz_rfc2136.c). */
#ifndef DCV_TEST_TSIG_ANSWER_H
#define DCV_TEST_TSIG_ANSWER_H

#include <ldns/ldns.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "txt_answer.h"

#define TEST_KEY "upd.key."
/* base64 of 32 octets; the same for hmac-sha256 and hmac-sha512 */
#define TEST_SECRET "3q2+7wEjRWeJq83vASNFZ4mrze8BI0VniavN7wEjRWc="
#define TEST_ZONE "validation.test"

/* An update as txt_rfc2136.c sends it, and what its answer is read
 * against. */
struct test_update {
	ldns_pkt *pkt;
	uint8_t mac[2 + 64];      /* the request's MAC field, length first */
	size_t mac_len;
	char alg[16];             /* "hmac-sha256" */
	struct txt_rfc2136_req req;
};

/* Builds and signs an update of "x.validation.test TXT v" with ALG
 * ("hmac-sha256" or "hmac-sha512").  0 or -1. */
static inline int test_update_new(struct test_update *u, const char *alg)
{
	char ldns_alg[24];
	ldns_rr *rr = NULL;
	ldns_rr_list *up = ldns_rr_list_new();
	ldns_rdf *zone = ldns_dname_new_frm_str(TEST_ZONE);

	memset(u, 0, sizeof(*u));
	snprintf(u->alg, sizeof(u->alg), "%s", alg);
	snprintf(ldns_alg, sizeof(ldns_alg), "%s.", alg);
	if (!up || !zone || ldns_rr_new_frm_str(&rr, "x.validation.test. 60 IN TXT v",
	                                        0, NULL, NULL) != LDNS_STATUS_OK)
		goto fail;
	ldns_rr_list_push_rr(up, rr);
	u->pkt = ldns_update_pkt_new(zone, LDNS_RR_CLASS_IN, NULL, up, NULL);
	zone = NULL;
	ldns_rr_list_deep_free(up);
	up = NULL;
	if (!u->pkt)
		goto fail;
	ldns_pkt_set_id(u->pkt, 0x4242);
	if (ldns_pkt_tsig_sign(u->pkt, TEST_KEY, TEST_SECRET, 300, ldns_alg, NULL) !=
	    LDNS_STATUS_OK)
		goto fail;
	const ldns_rdf *mac = ldns_rr_rdf(ldns_pkt_tsig(u->pkt), 3);
	if (!mac || ldns_rdf_size(mac) > sizeof(u->mac))
		goto fail;
	u->mac_len = ldns_rdf_size(mac);
	memcpy(u->mac, ldns_rdf_data(mac), u->mac_len);
	u->req = (struct txt_rfc2136_req){
		.id = 0x4242, .mac = u->mac, .mac_len = u->mac_len,
		.key_name = TEST_KEY, .key_label = "upd.key", .algorithm = u->alg,
		.secret = TEST_SECRET, .server = "127.0.0.1:53", .zone = TEST_ZONE,
		.name = "x.validation.test",
	};
	return 0;
fail:
	ldns_rr_list_deep_free(up);
	ldns_rdf_deep_free(zone);
	ldns_pkt_free(u->pkt);
	u->pkt = NULL;
	return -1;
}

static inline void test_update_free(struct test_update *u)
{
	ldns_pkt_free(u->pkt);
	u->pkt = NULL;
}

/* Signs ANSWER over U's request MAC, as the server does (a TSIG it had is
 * replaced).  0 or -1. */
static inline int test_answer_sign(const struct test_update *u, ldns_pkt *answer)
{
	char ldns_alg[24];
	ldns_rdf *mac = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, u->mac_len, u->mac);
	int rc = -1;

	snprintf(ldns_alg, sizeof(ldns_alg), "%s.", u->alg);
	ldns_rr_free(ldns_pkt_tsig(answer));
	ldns_pkt_set_tsig(answer, NULL);
	if (mac && ldns_pkt_tsig_sign(answer, TEST_KEY, TEST_SECRET, 300, ldns_alg, mac) ==
	           LDNS_STATUS_OK)
		rc = 0;
	ldns_rdf_deep_free(mac);
	return rc;
}

/* A TSIG RR that only carries ERROR (16 BADSIG, 17 BADKEY), with no MAC:
 * what BIND puts on an answer to a request it could not verify. */
static inline ldns_rr *test_tsig_error(const char *alg, uint16_t error, uint16_t id)
{
	char ldns_alg[24];
	uint8_t t[6] = { 0, 0, 0x65, 0x53, 0xf1, 0x00 }; /* 2023-11-14 */
	uint8_t empty[2] = { 0, 0 };
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *owner = ldns_dname_new_frm_str(TEST_KEY);

	snprintf(ldns_alg, sizeof(ldns_alg), "%s.", alg);
	if (!rr || !owner) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(owner);
		return NULL;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TSIG);
	ldns_rr_set_class(rr, LDNS_RR_CLASS_ANY);
	ldns_rr_set_ttl(rr, 0);
	ldns_rr_push_rdf(rr, ldns_dname_new_frm_str(ldns_alg));
	ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_TSIGTIME, 6, t));
	ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 300));
	ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 2, empty));
	ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, id));
	ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, error));
	ldns_rr_push_rdf(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 2, empty));
	return rr;
}

/* The answer to U with RCODE: signed (SIGN), or with a TSIG that carries
 * TSIG_ERROR, or neither; ID is its message id.  Its octets in *WIRE (free
 * with LDNS_FREE).  0 or -1. */
static inline int test_answer(const struct test_update *u, int rcode, bool sign,
                              int tsig_error, uint16_t id, uint8_t **wire,
                              size_t *len)
{
	ldns_pkt *a = ldns_pkt_new();
	int rc = -1;

	*wire = NULL;
	if (!a)
		return -1;
	ldns_pkt_set_id(a, id);
	ldns_pkt_set_qr(a, true);
	ldns_pkt_set_opcode(a, LDNS_PACKET_UPDATE);
	ldns_pkt_set_rcode(a, (uint8_t)rcode);
	if (sign && test_answer_sign(u, a) != 0)
		goto out;
	if (tsig_error)
		ldns_pkt_set_tsig(a, test_tsig_error(u->alg, (uint16_t)tsig_error, id));
	if (ldns_pkt2wire(wire, a, len) == LDNS_STATUS_OK)
		rc = 0;
out:
	ldns_pkt_free(a);
	return rc;
}

#endif
