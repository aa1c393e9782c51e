/*
 * fuzz_caa: the CAA check's pure half (common/caa.c): RDATA parsing,
 * reading the CAA records of an answer, the presentation of a record and
 * the evaluation of an RRset against every shape of our policy.
 *
 * The first byte chooses what the rest is:
 *   even: a DNS answer, as the resolver returns it for a CAA question; the
 *         owner looked for is the question's name;
 *   odd:  CAA RDATAs, each behind one length octet, forming one RRset
 *         (this reaches the issue-value grammar faster).
 * Checked: a verdict is one of allowed, forbidden, or error exactly when
 * records were dropped; the texts fit their buffers; a record formats into
 * any buffer without overflow; a malformed RDATA is never "allowed".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caa.h"
#include "dns.h"
#include "dns_internal.h"
#include "fuzz.h"

static void check_format(const char *owner, const struct caa_rr *rr)
{
	static const size_t sizes[] = { 1, 2, 17, 64, CAA_RECORD_MAX };
	char buf[CAA_RECORD_MAX + 8];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		caa_rr_format(owner, rr, buf, sizes[i]);
		FUZZ_CHECK(memchr(buf, '\0', sizes[i]) != NULL);
		FUZZ_CHECK(buf[sizes[i]] == 'x');
	}
}

static void evaluate_all(const struct caa_rrset *set)
{
	static const char *const issuers[] = { "letsencrypt.org", "ca.example" };
	struct caa_result r;
	bool malformed = false;

	for (int i = 0; i < set->n; i++)
		malformed |= set->rr[i].malformed;
	for (int k = 0; k < 16; k++) {
		struct caa_policy p = {
			.issuers = issuers,
			.n_issuers = (k & 8) ? 2 : 1,
			.account_uri = (k & 2) ? "https://acme.example/acct/1" : NULL,
			.method = (k & 4) ? "dns-01" : NULL,
		};
		caa_evaluate(set, k & 1, &p, &r);
		FUZZ_CHECK(r.verdict == CAA_ALLOWED || r.verdict == CAA_FORBIDDEN ||
		           r.verdict == CAA_ERROR);
		FUZZ_CHECK((r.verdict == CAA_ERROR) == (set->too_many && set->n > 0));
		FUZZ_CHECK(!(malformed && r.verdict == CAA_ALLOWED && !set->too_many));
		FUZZ_CHECK(strlen(r.record) < sizeof(r.record));
		FUZZ_CHECK(strlen(r.detail) < sizeof(r.detail));
		FUZZ_CHECK(strlen(r.owner) <= DNAME_MAX);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct caa_rrset set;
	struct fuzz_in in = { data, size };
	uint8_t mode = fuzz_byte(&in);
	uint8_t *buf = malloc(in.n ? in.n : 1);

	if (!buf)
		return 0;
	memcpy(buf, in.p, in.n);
	if (mode % 2 == 0) {
		char owner[DNAME_MAX + 1] = "example.com";
		size_t off = 12;
		if (in.n > 12 && dns_wire_name(buf, in.n, &off, owner) != 0)
			strcpy(owner, "example.com");
		if (caa_answer_parse(buf, in.n, owner, &set) == 0) {
			FUZZ_CHECK(set.n >= 0 && set.n <= CAA_MAX_RR);
			evaluate_all(&set);
		}
	} else {
		size_t off = 0;
		memset(&set, 0, sizeof(set));
		strcpy(set.owner, "shop.example.com");
		while (off < in.n) {
			size_t len = buf[off++];
			if (len > in.n - off)
				len = in.n - off;
			if (set.n == CAA_MAX_RR) {
				set.too_many = true;
				break;
			}
			/* the RDATA alone in its own buffer: reads past it show */
			uint8_t *rd = malloc(len ? len : 1);
			if (!rd)
				break;
			memcpy(rd, buf + off, len);
			struct caa_rr *rr = &set.rr[set.n++];
			int rc = caa_rdata_parse(rd, len, rr);
			FUZZ_CHECK((rc != 0) == rr->malformed);
			FUZZ_CHECK(rr->value_len <= CAA_VALUE_MAX);
			FUZZ_CHECK(strlen(rr->tag) <= CAA_TAG_MAX);
			check_format(set.owner, rr);
			free(rd);
			off += len;
		}
		evaluate_all(&set);
	}
	free(buf);
	return 0;
}
