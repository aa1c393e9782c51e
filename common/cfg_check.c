/* Errors: recording them, the keys and variables nobody asked for (with a
 * suggestion), and handing them to the caller. */
#include "cfg_internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rebuilds c->joined from the list: one error a line, then how many were
 * left out. */
static void join_errors(struct cfg *c)
{
	size_t len = 64;
	char *j, *p;

	for (size_t i = 0; i < c->nerr; i++)
		len += strlen(c->errs[i].text) + 1;
	j = malloc(len);
	if (!j) {
		c->nomem = true;
		return;
	}
	p = j;
	for (size_t i = 0; i < c->nerr; i++)
		p += sprintf(p, "%s%s", i ? "\n" : "", c->errs[i].text);
	if (c->dropped)
		sprintf(p, "\n(%zu more errors not shown)", c->dropped);
	free(c->joined);
	c->joined = j;
}

/* Records an error about LINE (0: none, e.g. the environment).  Errors are
 * all kept, sorted by line so that they read in file order (lineless ones
 * after, in the order they came); the same text twice is kept once, since
 * several getters may trip on one bad node. */
void cfg_set_err(struct cfg *c, int line, const char *fmt, ...)
{
	char buf[640];
	va_list ap;
	size_t at;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* keys and values from the file may hold anything: an error stays one
	 * line of text */
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	for (size_t i = 0; i < c->nerr; i++)
		if (strcmp(c->errs[i].text, buf) == 0)
			return;
	if (c->nerr == CFG_MAX_ERRORS) {
		c->dropped++;
		join_errors(c);
		return;
	}
	char *text = strdup(buf);
	if (!text) {
		c->nomem = true;
		return;
	}
	for (at = c->nerr; at > 0; at--) {
		int prev = c->errs[at - 1].line;
		if (line == 0 || (prev != 0 && prev <= line))
			break;
	}
	memmove(&c->errs[at + 1], &c->errs[at], (c->nerr - at) * sizeof(c->errs[0]));
	c->errs[at].line = line;
	c->errs[at].text = text;
	c->nerr++;
	join_errors(c);
}

void cfg_fail(struct cfg *c, const char *path, const char *fmt, ...)
{
	char msg[384], envname[128];
	va_list ap;
	struct node *n, *near;
	const char *rest;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cfg_env_for(path, envname, sizeof(envname))) {
		cfg_set_err(c, 0, "%s: %s", envname, msg);
	} else if ((n = cfg_lookup(c, path)) != NULL) {
		cfg_set_err(c, n->line, "%s:%d: %s: %s", c->name, n->line, path, msg);
	} else if ((near = cfg_deepest(c, path, &rest)) != NULL) {
		/* the key is missing: the section that should hold it says where */
		cfg_set_err(c, near->line, "%s:%d: %s: %s", c->name, near->line, path, msg);
	} else {
		cfg_set_err(c, 0, "%s: %s: %s", c->name, path, msg);
	}
}

/* Edit distance of A and B (at most 64 characters each, else a large
 * number), for suggestions. */
static size_t distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t row[65], prev, cur;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* The known key closest to the unknown PATH: the same section, a last part
 * at most two edits away (and less than half of it).  Writes it into OUT
 * (LEN bytes); false when there is none. */
static bool suggest(const struct cfg *c, const char *path, char *out, size_t len)
{
	const char *last = strrchr(path, '.');
	size_t plen = last ? (size_t)(last - path) + 1 : 0; /* parent and dot */
	size_t llen = strlen(path) - plen, best = SIZE_MAX;

	for (size_t i = 0; i < c->nasked; i++) {
		const char *a = c->asked[i];
		if (strncmp(a, path, plen) != 0)
			continue;
		size_t alen = strcspn(a + plen, ".");
		size_t d = distance(path + plen, llen, a + plen, alen);
		if (d < best && d > 0 && d <= 2 && 2 * d < llen) {
			best = d;
			snprintf(out, len, "%.*s", (int)(plen + alen), a);
		}
	}
	return best != SIZE_MAX;
}

static void check_map(struct cfg *c, struct node *m, char *path, size_t plen)
{
	for (struct node *s = m->child; s; s = s->next) {
		size_t len = strlen(path);
		char hint[300];
		snprintf(path + len, plen - len, "%s%s", len ? "." : "", s->key);
		if (!s->used) {
			if (suggest(c, path, hint, sizeof(hint)))
				cfg_set_err(c, s->line, "%s:%d: unknown key '%s' (did you mean '%s'?)",
				        c->name, s->line, path, hint);
			else
				cfg_set_err(c, s->line, "%s:%d: unknown key '%s'", c->name,
				        s->line, path);
		} else if (s->kind == NODE_MAP) {
			check_map(c, s, path, plen);
		}
		path[len] = '\0';
	}
}

void cfg_check_unknown(struct cfg *c)
{
	char path[512] = "";
	if (c->root)
		check_map(c, c->root, path, sizeof(path));
}

/* Whether the variable VAR (NUL-terminated, "DCV_...") overrides a key a
 * getter asked for, or lies below a section asked for or skipped. */
static bool env_known(const struct cfg *c, const char *var)
{
	char name[300];
	for (size_t i = 0; i < c->nasked; i++) {
		cfg_env_for(c->asked[i], name, sizeof(name));
		size_t n = strlen(name);
		if (strncmp(var, name, n) == 0 && (var[n] == '\0' || var[n] == '_'))
			return true;
	}
	return false;
}

size_t cfg_check_env(const struct cfg *c, char *const *env, const char *const *also,
                     void (*warn)(void *arg, const char *var, const char *hint),
                     void *arg)
{
	size_t unknown = 0;

	for (; env && *env; env++) {
		char var[128], name[300], hint[300] = "";
		size_t len = strcspn(*env, "="), best = SIZE_MAX;
		if (strncmp(*env, "DCV_", 4) != 0)
			continue;
		/* a name too long for any key is shown cut short, never its value */
		snprintf(var, sizeof(var), "%.*s", (int)(len < sizeof(var) ? len : sizeof(var) - 1),
		         *env);
		bool known = env_known(c, var);
		for (const char *const *a = also; a && *a && !known; a++)
			known = strcmp(var, *a) == 0 && len == strlen(*a);
		if (known)
			continue;
		for (size_t i = 0; i < c->nasked; i++) {
			cfg_env_for(c->asked[i], name, sizeof(name));
			size_t d = distance(var + 4, strlen(var + 4), name + 4, strlen(name + 4));
			if (d < best && d <= 2) {
				best = d;
				snprintf(hint, sizeof(hint), "%s", name);
			}
		}
		warn(arg, var, hint[0] ? hint : NULL);
		unknown++;
	}
	return unknown;
}

const char *cfg_error(const struct cfg *c)
{
	if (c->joined)
		return c->joined;
	return c->nerr || c->nomem ? "out of memory while recording a "
	                             "configuration error" : NULL;
}

void cfg_print_errors(const struct cfg *c, FILE *f, const char *prefix)
{
	const char *e = cfg_error(c);

	while (e && *e) {
		size_t n = strcspn(e, "\n");
		fprintf(f, "%s: %.*s\n", prefix, (int)n, e);
		e += n + (e[n] == '\n');
	}
}
