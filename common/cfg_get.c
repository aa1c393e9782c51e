/* The typed getters, each looking at the environment first. */
#include "cfg_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The environment variable for PATH: DCV_ + upper-cased path. */
const char *cfg_env_for(const char *path, char *name, size_t len)
{
	size_t i = 4;
	memcpy(name, "DCV_", 4);
	for (const char *p = path; *p && i + 1 < len; p++)
		name[i++] = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
	name[i] = '\0';
	const char *v = getenv(name);
	return v;
}

/* Writes V into OUT (LEN bytes) for a message: at most 64 characters,
 * control and non-ASCII bytes as \xHH, so that a value can neither split
 * an error line nor flood it. */
static const char *shown(const char *v, char *out, size_t len)
{
	size_t o = 0, i;

	for (i = 0; v[i] && i < 64 && o + 5 < len; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch < 0x20 || ch >= 0x7f || ch == '\\')
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	if (v[i] && o + 4 < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* The scalar text for PATH, from the environment or the file; *LINE gets the
 * line (0 for the environment). */
static const char *scalar(struct cfg *c, const char *path, int *line,
                          char *envname, size_t envlen)
{
	const char *v = cfg_env_for(path, envname, envlen);
	struct node *n;

	*line = -1;
	if (v) {
		cfg_lookup(c, path); /* overridden keys still count as known */
		*line = 0;
		return v;
	}
	n = cfg_lookup(c, path);
	if (!n)
		return NULL;
	*line = n->line;
	if (n->kind != NODE_SCALAR) {
		cfg_set_err(c, n->line, "%s:%d: %s: expected a single value", c->name,
		        n->line, path);
		return NULL;
	}
	return n->value;
}

/* Records "where: path: message ('value')" for a value read from LINE. */
static void bad_value(struct cfg *c, const char *path, int line,
                      const char *envname, const char *msg, const char *v)
{
	char sv[300];

	shown(v, sv, sizeof(sv));
	if (line == 0)
		cfg_set_err(c, 0, "%s: %s ('%s')", envname, msg, sv);
	else
		cfg_set_err(c, line, "%s:%d: %s: %s ('%s')", c->name, line, path, msg, sv);
}

const char *cfg_str(struct cfg *c, const char *path, const char *def)
{
	char envname[128];
	int line;
	const char *v = scalar(c, path, &line, envname, sizeof(envname));
	return v ? v : def;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Records that the value of PATH is outside [MIN, MAX]. */
static void out_of_range(struct cfg *c, const char *path, int line,
                         const char *envname, long long min, long long max,
                         const char *v)
{
	char msg[96];
	snprintf(msg, sizeof(msg), "out of range [%lld, %lld]", min, max);
	bad_value(c, path, line, envname, msg, v);
}

long long cfg_int(struct cfg *c, const char *path, long long def,
                  long long min, long long max)
{
	char envname[128];
	int line;
	const char *v = scalar(c, path, &line, envname, sizeof(envname));
	char *end;
	long long x;

	if (!v)
		return def;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (end == v || (errno && errno != ERANGE)) {
		bad_value(c, path, line, envname, "not an integer", v);
		return def;
	}
	bool wrapped = errno == ERANGE;
	if (*end && ends_with(path, "_ms")) {
		static const struct { const char *unit; long long mul; } units[] = {
			{ "ms", 1 }, { "s", 1000 }, { "m", 60000 },
			{ "h", 3600000 }, { "d", 86400000 },
		};
		size_t i;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strcmp(end, units[i].unit) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0])) {
			bad_value(c, path, line, envname,
			          "unknown duration unit (use ms, s, m, h or d)", v);
			return def;
		}
		/* the bound is checked on the product, which must not wrap:
		 * 2305843009213693954s is not 1 ms later than 4611686018427387908ms */
		wrapped |= __builtin_mul_overflow(x, units[i].mul, &x);
		end += strlen(end);
	}
	if (*end) {
		bad_value(c, path, line, envname, "not an integer", v);
		return def;
	}
	if (wrapped || x < min || x > max) {
		out_of_range(c, path, line, envname, min, max, v);
		return def;
	}
	return x;
}

double cfg_double(struct cfg *c, const char *path, double def,
                  double min, double max)
{
	char envname[128];
	int line;
	const char *v = scalar(c, path, &line, envname, sizeof(envname));
	char *end;
	double x;

	if (!v)
		return def;
	errno = 0;
	x = strtod(v, &end);
	if (end == v || *end) {
		bad_value(c, path, line, envname, "not a number", v);
		return def;
	}
	/* "nan" compares false with both bounds, "inf" and 1e999 are no
	 * fraction either: only a finite number within the bounds passes */
	if (errno || !isfinite(x) || x < min || x > max) {
		char msg[96];
		snprintf(msg, sizeof(msg), "out of range [%g, %g]", min, max);
		bad_value(c, path, line, envname, msg, v);
		return def;
	}
	return x;
}

bool cfg_bool(struct cfg *c, const char *path, bool def)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	char envname[128];
	int line;
	const char *v = scalar(c, path, &line, envname, sizeof(envname));

	if (!v)
		return def;
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return true;
		if (strcasecmp(v, no[i]) == 0)
			return false;
	}
	bad_value(c, path, line, envname, "not a boolean (true or false)", v);
	return def;
}

bool cfg_has(struct cfg *c, const char *path)
{
	char envname[128];
	if (cfg_env_for(path, envname, sizeof(envname))) {
		cfg_lookup(c, path);
		return true;
	}
	return cfg_lookup(c, path) != NULL;
}

/* Splits the environment list for PATH into c->env_list; returns its length
 * or -1 when the variable is not set. */
static long env_list(struct cfg *c, const char *path)
{
	char envname[128];
	const char *v = cfg_env_for(path, envname, sizeof(envname));
	size_t n = 0;

	if (!v)
		return -1;
	cfg_lookup(c, path);
	free(c->env_items);
	free(c->env_list);
	c->env_list = NULL;
	c->env_items = strdup(v);
	if (!c->env_items)
		return 0;
	for (const char *p = v; *p; p++)
		n += *p == ',';
	c->env_list = calloc(n + 2, sizeof(char *));
	if (!c->env_list)
		return 0;
	n = 0;
	for (char *save = NULL, *t = strtok_r(c->env_items, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (*t)
			c->env_list[n++] = t;
	}
	return (long)n;
}

static struct node *seq_node(struct cfg *c, const char *path)
{
	struct node *n = cfg_lookup(c, path);
	if (!n)
		return NULL;
	if (n->kind != NODE_SEQ) {
		cfg_set_err(c, n->line, "%s:%d: %s: expected a list", c->name, n->line, path);
		return NULL;
	}
	for (struct node *s = n->child; s; s = s->next) {
		if (s->kind != NODE_SCALAR) {
			cfg_set_err(c, s->line, "%s:%d: %s: list items must be single values",
			        c->name, s->line, path);
			return NULL;
		}
		s->used = 1;
	}
	return n;
}

size_t cfg_list_len(struct cfg *c, const char *path)
{
	long e = env_list(c, path);
	size_t n = 0;
	if (e >= 0)
		return (size_t)e;
	struct node *s = seq_node(c, path);
	for (s = s ? s->child : NULL; s; s = s->next)
		n++;
	return n;
}

const char *cfg_list_str(struct cfg *c, const char *path, size_t i)
{
	long e = env_list(c, path);
	if (e >= 0)
		return i < (size_t)e ? c->env_list[i] : NULL;
	struct node *s = seq_node(c, path);
	for (s = s ? s->child : NULL; s && i > 0; s = s->next)
		i--;
	return s ? s->value : NULL;
}

const char *const *cfg_keys(struct cfg *c, const char *path, size_t *n)
{
	struct node *m = cfg_lookup(c, path);
	struct keylist *kl;
	size_t count = 0, i = 0;

	*n = 0;
	if (!m)
		return NULL;
	if (m->kind != NODE_MAP) {
		cfg_set_err(c, m->line, "%s:%d: %s: expected a mapping", c->name, m->line, path);
		return NULL;
	}
	for (struct node *s = m->child; s; s = s->next)
		count++;
	kl = calloc(1, sizeof(*kl));
	if (!kl || !(kl->keys = calloc(count + 1, sizeof(char *)))) {
		free(kl);
		cfg_set_err(c, 0, "%s: out of memory", c->name);
		return NULL;
	}
	for (struct node *s = m->child; s; s = s->next)
		kl->keys[i++] = s->key;
	kl->next = c->lists;
	c->lists = kl;
	*n = count;
	return kl->keys;
}

static void mark_tree(struct node *n)
{
	for (; n; n = n->next) {
		n->used = 1;
		mark_tree(n->child);
	}
}

void cfg_skip(struct cfg *c, const char *path)
{
	cfg_remember(c, path);    /* its variables are known too (cfg_check_env) */
	struct node *n = cfg_lookup(c, path);
	if (n)
		mark_tree(n->child);
}
