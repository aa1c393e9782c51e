#include "modules_cfg.h"

#include <stdlib.h>
#include <string.h>

#include "acme.h"
#include "ca_cfg.h"
#include "dns.h"
#include "lifecycle_cfg.h"
#include "txt_provider.h"

void modules_cfg_check(struct cfg *c, int with_provider)
{
	struct acme_opts ao = { 0 };
	struct dns_opts *dno = calloc(1, sizeof(*dno));
	struct txt_provider_opts *po = calloc(1, sizeof(*po));

	struct lifecycle_opts lo;

	lifecycle_cfg_load(c, &lo);
	/* on error too, it may have allocated */
	if (acme_cfg_load(c, &ao) == 0) {
		struct ca_list *cas = calloc(1, sizeof(*cas));
		if (cas) {
			ca_list_load(c, &lo.new_orders, cas);
			ca_list_free(cas);
			free(cas);
		}
	}
	acme_opts_free(&ao);
	if (dno)
		dns_cfg_load(c, dno);
	if (!with_provider) {
		cfg_skip(c, "provider");
	} else if (po && cfg_has(c, "provider")) {
		txt_provider_cfg_load(c, po);
		explicit_bzero(po, sizeof(*po));
	}
	free(dno);
	free(po);
}
