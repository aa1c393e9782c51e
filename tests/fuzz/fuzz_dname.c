/*
 * fuzz_dname: the name functions (common/dname.c) and the tenant check
 * (job.c): what a backend's domain, names and tenant become.
 *
 * The input is five fields separated by newlines: a domain, a target
 * template (an empty one picks one of the documented templates), a
 * validation zone, a tenant and a comma-separated list of names.
 * Checked beyond the sanitizers:
 *   - a normalised name is valid again and the same (idempotent), at most
 *     253 octets, lower case;
 *   - its challenge name is "_acme-challenge." plus the base name;
 *   - a target fits DNAME_MAX; built from a valid name, zone and tenant by
 *     a documented template it is a valid name;
 *   - an accepted list of names holds at most 16 valid names, the domain
 *     among them, and fits the buffer it was given;
 *   - nothing writes past a short output buffer.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "fuzz.h"
#include "job.h"

#define FIELD_MAX 2048

static const char *const templates[] = {
	"{domain}.{zone}", "{token}.{zone}", "{tenant}.{domain}.{zone}",
	"{tenant}-{token}.{zone}",
};

static void check_valid(const char *name)
{
	char again[DNAME_MAX + 1];
	FUZZ_CHECK(strlen(name) <= DNAME_MAX);
	FUZZ_CHECK(dname_normalize(name, again, sizeof(again)) == NULL);
	FUZZ_CHECK(strcmp(again, name) == 0);
	for (const char *p = name; *p; p++)
		FUZZ_CHECK(!(*p >= 'A' && *p <= 'Z'));
}

static void check_names(const char *domain, const char *in)
{
	static const size_t sizes[] = { 1, 40, 300, 4200 };
	char *out = malloc(4200);

	if (!out)
		return;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		/* exactly SIZES[k] bytes, so that ASan sees a write past them */
		char *o = malloc(sizes[k]);
		if (!o)
			break;
		if (dname_names(domain, in, o, sizes[k]) == NULL) {
			size_t n = 0;
			bool has = false;
			FUZZ_CHECK(strlen(o) < sizes[k]);
			snprintf(out, 4200, "%s", o);
			for (char *save = NULL, *t = strtok_r(out, ",", &save); t;
			     t = strtok_r(NULL, ",", &save)) {
				check_valid(t);
				has |= strcmp(t, domain) == 0;
				n++;
			}
			FUZZ_CHECK(n >= 1 && n <= DNAME_NAMES_MAX && has);
		}
		free(o);
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char domain[FIELD_MAX], tmpl[FIELD_MAX], zone[FIELD_MAX],
	            tenant[FIELD_MAX], names[FIELD_MAX];
	char norm[DNAME_MAX + 1], zn[DNAME_MAX + 1], out[DNAME_MAX + 1], small[8];
	struct fuzz_in in = { data, size };

	fuzz_str(&in, '\n', domain, sizeof(domain));
	fuzz_str(&in, '\n', tmpl, sizeof(tmpl));
	fuzz_str(&in, '\n', zone, sizeof(zone));
	fuzz_str(&in, '\n', tenant, sizeof(tenant));
	fuzz_str(&in, '\n', names, sizeof(names));
	bool documented = tmpl[0] == '\0';
	const char *t = documented ? templates[size % 4] : tmpl;
	bool tenant_ok = tenant[0] == '\0' || job_tenant_check(tenant) == NULL;

	/* a short buffer: refused, never overrun */
	(void)dname_normalize(domain, small, sizeof(small));
	if (dname_normalize(domain, norm, sizeof(norm)) != NULL) {
		/* the stages never see such a name; the functions still cope */
		(void)dname_target(t, domain, zone, tenant, out, sizeof(out));
		(void)dname_challenge(domain, out, sizeof(out));
		check_names(domain, names);
		return 0;
	}
	check_valid(norm);
	const char *base = dname_base(norm);
	FUZZ_CHECK(base == norm || (strncmp(norm, "*.", 2) == 0 && base == norm + 2));

	if (dname_challenge(norm, out, sizeof(out)) == NULL) {
		FUZZ_CHECK(strlen(out) <= DNAME_MAX);
		FUZZ_CHECK(strncmp(out, "_acme-challenge.", 16) == 0);
		FUZZ_CHECK(strcmp(out + 16, base) == 0);
	} else {
		FUZZ_CHECK(16 + strlen(base) > DNAME_MAX);
	}
	(void)dname_challenge(norm, small, sizeof(small));

	if (dname_target(t, norm, zone, tenant[0] ? tenant : NULL, out,
	                 sizeof(out)) == NULL) {
		FUZZ_CHECK(strlen(out) <= DNAME_MAX);
		if (documented && tenant_ok &&
		    dname_normalize(zone, zn, sizeof(zn)) == NULL &&
		    strcmp(zn, zone) == 0 && zone[0] != '*')
			check_valid(out);
	}
	(void)dname_target(t, norm, zone, tenant, small, sizeof(small));
	check_names(norm, names);
	return 0;
}
