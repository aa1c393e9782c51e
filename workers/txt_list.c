/* The record's "txt" list; see txt_list.h. */
#include "txt_list.h"

#include <stdio.h>
#include <string.h>


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
