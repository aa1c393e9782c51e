/* The choice of a CA for an order; see ca_choice.h. */
#include "ca_choice.h"

#include <stdio.h>
#include <string.h>

static bool usable(const struct ca_view *v)
{
	return v->allowed && v->account && v->healthy;
}

/* Why candidate V was passed over. */
static const char *skip_why(const struct ca_view *v)
{
	return !v->account ? "no-account" : !v->healthy ? "unhealthy" : "rate-limited";
}

/* OUT for CA K: preferred unless a candidate before it was skipped
 * (CHECK_BUDGET: for having no budget too). */
static int chose(const struct ca_view *v, const char *const *names, int k,
                 bool check_budget, struct ca_choice *out)
{
	out->ca = k;
	out->fallback = false;
	snprintf(out->why, sizeof(out->why), "preferred");
	for (int i = 0; i < k; i++) {
		if (!v[i].allowed)
			continue;
		if (usable(&v[i]) && (!check_budget || v[i].budget))
			continue;
		out->fallback = true;
		snprintf(out->why, sizeof(out->why), "fallback:%.32s-%s", names[i],
		         skip_why(&v[i]));
		break;
	}
	return k;
}

int ca_choose(const struct ca_view *v, const char *const *names, int n, int renewal,
              int held, struct ca_choice *out)
{
	bool any = false;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < n; i++)
		any = any || v[i].allowed;
	if (!any) {
		out->ca = CA_CHOICE_NONE_ALLOWED;
		snprintf(out->why, sizeof(out->why), "no configured CA is allowed by CAA");
		return out->ca;
	}
	if (renewal >= 0 && renewal < n && usable(&v[renewal])) {
		out->ca = renewal;
		snprintf(out->why, sizeof(out->why), "renewal");
		return renewal;
	}
	bool some_budget = false;
	for (int i = 0; i < n; i++)
		some_budget = some_budget || (usable(&v[i]) && v[i].budget);
	if (held >= 0 && held < n && usable(&v[held]) && (v[held].budget || !some_budget)) {
		chose(v, names, held, false, out);
		for (int i = 0; i < held && !out->fallback; i++)
			if (usable(&v[i])) {
				/* it had no budget when the place was taken */
				out->fallback = true;
				snprintf(out->why, sizeof(out->why), "fallback:in-line");
			}
		return held;
	}
	for (int i = 0; i < n; i++)
		if (usable(&v[i]) && v[i].budget)
			return chose(v, names, i, true, out);
	for (int i = 0; i < n; i++)
		if (usable(&v[i]))
			return chose(v, names, i, false, out);
	out->ca = CA_CHOICE_NONE_USABLE;
	for (int i = 0; i < n; i++)
		if (v[i].allowed) {
			snprintf(out->why, sizeof(out->why), "no allowed CA is usable (%.32s: %s)",
			         names[i], skip_why(&v[i]));
			break;
		}
	return out->ca;
}

void ca_allowed_parse(const struct ca_list *l, const char *list, bool *allowed)
{
	for (int i = 0; i < l->n; i++)
		allowed[i] = list == NULL;
	while (list && *list) {
		size_t len = strcspn(list, ",");
		for (int i = 0; i < l->n; i++)
			if (strlen(l->ca[i].name) == len && strncmp(l->ca[i].name, list, len) == 0)
				allowed[i] = true;
		list += len;
		if (*list == ',')
			list++;
	}
}

const char *ca_allowed_join(const struct ca_list *l, const bool *allowed, char *buf,
                            size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (int i = 0; i < l->n; i++) {
		if (!allowed[i])
			continue;
		int w = snprintf(buf + at, len - at, "%s%s", at ? "," : "", l->ca[i].name);
		if (w < 0 || (size_t)w >= len - at) {
			buf[at] = '\0';
			break;
		}
		at += (size_t)w;
	}
	return buf;
}
