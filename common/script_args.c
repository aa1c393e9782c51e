#include "script_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One key or argument: borrowed bytes, or a number kept here. */
struct sa_item {
	const char *p;         /* NULL: the text is num */
	size_t len;
	char num[24];
};

const char *sa_strerror(enum sa_status s)
{
	switch (s) {
	case SA_OK: return "ok";
	case SA_E_NOMEM: return "out of memory";
	case SA_E_TOOBIG: return "too many script arguments";
	case SA_E_ORDER: return "a script key after an argument";
	}
	return "unknown script argument error";
}

void sa_init(struct script_args *a, size_t max)
{
	memset(a, 0, sizeof(*a));
	a->max = max ? max : SA_MAX_ARGS;
}

/* A new item at the end, or NULL (the failure recorded). */
static struct sa_item *push(struct script_args *a)
{
	if (a->err != SA_OK)
		return NULL;
	if (a->n == a->max) {
		a->err = SA_E_TOOBIG;
		return NULL;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		if (cap > a->max)
			cap = a->max;
		struct sa_item *it = realloc(a->it, cap * sizeof(*it));
		if (!it) {
			a->err = SA_E_NOMEM;
			return NULL;
		}
		a->it = it;
		a->cap = cap;
	}
	return &a->it[a->n++];
}

void sa_key(struct script_args *a, const char *key)
{
	if (a->err == SA_OK && a->n > a->nkeys) {
		a->err = SA_E_ORDER;
		return;
	}
	struct sa_item *i = push(a);
	if (i) {
		i->p = key ? key : "";
		i->len = strlen(i->p);
		a->nkeys++;
	}
}

void sa_argn(struct script_args *a, const void *s, size_t len)
{
	struct sa_item *i = push(a);
	if (i) {
		i->p = s ? s : "";
		i->len = s ? len : 0;
	}
}

void sa_arg(struct script_args *a, const char *s)
{
	sa_argn(a, s ? s : "", s ? strlen(s) : 0);
}

void sa_argu(struct script_args *a, unsigned long long v)
{
	struct sa_item *i = push(a);
	if (i) {
		i->p = NULL;
		i->len = (size_t)snprintf(i->num, sizeof(i->num), "%llu", v);
	}
}

void sa_argi(struct script_args *a, long long v)
{
	struct sa_item *i = push(a);
	if (i) {
		i->p = NULL;
		i->len = (size_t)snprintf(i->num, sizeof(i->num), "%lld", v);
	}
}

size_t sa_nargs(const struct script_args *a)
{
	return a->n - a->nkeys;
}

enum sa_status sa_command(struct script_args *a, const char *cmd, const char *script,
                          int *argc, const char ***argv, const size_t **lens)
{
	size_t n = 3 + a->n;

	if (a->err != SA_OK)
		return a->err;
	free(a->argv);
	free(a->lens);
	a->argv = malloc(n * sizeof(*a->argv));
	a->lens = malloc(n * sizeof(*a->lens));
	if (!a->argv || !a->lens) {
		a->err = SA_E_NOMEM;
		return a->err;
	}
	snprintf(a->nkeys_s, sizeof(a->nkeys_s), "%zu", a->nkeys);
	a->argv[0] = cmd;
	a->argv[1] = script;
	a->argv[2] = a->nkeys_s;
	for (size_t k = 0; k < 3; k++)
		a->lens[k] = strlen(a->argv[k]);
	for (size_t k = 0; k < a->n; k++) {
		const struct sa_item *i = &a->it[k];
		a->argv[3 + k] = i->p ? i->p : i->num;
		a->lens[3 + k] = i->len;
	}
	*argc = (int)n;
	*argv = a->argv;
	*lens = a->lens;
	return SA_OK;
}

void sa_free(struct script_args *a)
{
	free(a->it);
	free(a->argv);
	free(a->lens);
	a->it = NULL;
	a->argv = NULL;
	a->lens = NULL;
	a->n = a->cap = a->nkeys = 0;
	a->err = SA_OK;
}
