/* The record's "txt" list; see txt_list.h. */
#include "txt_list.h"

#include <stdio.h>
#include <string.h>

#include "pipeline.h"

void txt_list_parse(struct txt_list *l, const char *s)
{
	l->n = 0;
	snprintf(l->buf, sizeof(l->buf), "%s", s ? s : "");
	for (char *save = NULL, *t = strtok_r(l->buf, ";", &save);
	     t && l->n < TXT_LIST_ENTRIES; t = strtok_r(NULL, ";", &save)) {
		char *sp = strchr(t, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		l->e[l->n].name = t;
		l->e[l->n].value = sp + 1;
		l->n++;
	}
}

int txt_list_format(const char *const *names, const char *const *values, int n,
                    char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		int w = snprintf(out + o, len - o, "%s%s %s", o ? ";" : "", names[i], values[i]);
		if (w < 0 || (size_t)w >= len - o)
			return -1;
		o += (size_t)w;
	}
	return 0;
}

int txt_cleanup(struct stage_env *env, const struct job *job,
                const struct domain_rec *rec, char *why, size_t whylen)
{
	struct txt_list l;
	char msg[TXT_MSG_MAX];
	const char *list = rec_str(rec, "txt", "");
	struct txt_provider *txt;

	if (!list[0])
		return 0;
	if (!(txt = pipeline_txt(env))) {
		snprintf(why, whylen, "this worker has no TXT provider");
		return -1;
	}
	txt_list_parse(&l, list);
	for (int i = 0; i < l.n; i++) {
		if (txt_remove(txt, l.e[i].name, l.e[i].value, msg, sizeof(msg)) == TXT_TRANSIENT) {
			snprintf(why, whylen, "removing the TXT at %s: %s", l.e[i].name, msg);
			return -1;
		}
	}
	return domain_set(env, job, "txt", (const char *)NULL, (const char *)NULL);
}
