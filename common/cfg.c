#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

enum node_kind { NODE_SCALAR, NODE_MAP, NODE_SEQ };

/* One node of the parsed document. */
struct node {
	enum node_kind kind;
	char *key;          /* key in the parent mapping, NULL in a sequence */
	char *value;        /* scalar text, NULL otherwise */
	int line;           /* 1-based line of the key (or item) */
	int used;           /* a getter read it or something below it */
	struct node *child; /* first child of a mapping or sequence */
	struct node *next;  /* next sibling */
	struct node *parent;
};

/* Arrays handed out by cfg_keys(), freed with the cfg. */
struct keylist {
	const char **keys;
	struct keylist *next;
};

/* Errors kept, in file order; more are counted, not kept. */
#define CFG_MAX_ERRORS 64
/* Paths the getters asked for, kept to suggest one for a misspelt key. */
#define CFG_MAX_ASKED 1024

/* One recorded error. */
struct cfg_msg {
	int line;              /* its line in the file, 0 when it has none */
	char *text;            /* "FILE:LINE: path: message", owned */
};

struct cfg {
	char *name;            /* file name for messages */
	struct node *root;     /* NULL for an empty configuration */
	struct cfg_msg errs[CFG_MAX_ERRORS]; /* sorted by line, lineless last */
	size_t nerr;
	size_t dropped;        /* errors past CFG_MAX_ERRORS */
	char *joined;          /* every error, one a line, for cfg_error() */
	bool nomem;            /* an error could not be recorded */
	char **asked;          /* distinct paths the getters looked up */
	size_t nasked;
	struct keylist *lists;
	char *env_items;       /* split copy of the last list read from env */
	const char **env_list;
};

static void node_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;
		node_free(n->child);
		free(n->key);
		free(n->value);
		free(n);
		n = next;
	}
}

void cfg_free(struct cfg *c)
{
	if (!c)
		return;
	node_free(c->root);
	while (c->lists) {
		struct keylist *k = c->lists;
		c->lists = k->next;
		free(k->keys);
		free(k);
	}
	for (size_t i = 0; i < c->nerr; i++)
		free(c->errs[i].text);
	free(c->joined);
	for (size_t i = 0; i < c->nasked; i++)
		free(c->asked[i]);
	free(c->asked);
	free(c->env_items);
	free(c->env_list);
	free(c->name);
	free(c);
}

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

static void set_err(struct cfg *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records an error about LINE (0: none, e.g. the environment).  Errors are
 * all kept, sorted by line so that they read in file order (lineless ones
 * after, in the order they came); the same text twice is kept once, since
 * several getters may trip on one bad node. */
static void set_err(struct cfg *c, int line, const char *fmt, ...)
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

/* Builds the tree from libyaml events.  Returns 0 or -1 with ERR set. */
static struct node *parse_node(yaml_parser_t *p, yaml_event_t *ev,
                               const char *name, char *err, size_t errlen,
                               int depth);

static int next_event(yaml_parser_t *p, yaml_event_t *ev, const char *name,
                      char *err, size_t errlen)
{
	if (!yaml_parser_parse(p, ev)) {
		snprintf(err, errlen, "%s:%zu: YAML syntax error: %s", name,
		         p->problem_mark.line + 1,
		         p->problem ? p->problem : "unknown");
		return -1;
	}
	return 0;
}

static struct node *new_node(enum node_kind kind, int line)
{
	struct node *n = calloc(1, sizeof(*n));
	if (n) {
		n->kind = kind;
		n->line = line;
	}
	return n;
}

static struct node *parse_node(yaml_parser_t *p, yaml_event_t *ev,
                               const char *name, char *err, size_t errlen,
                               int depth)
{
	struct node *n = NULL, **tail;
	int line = (int)ev->start_mark.line + 1;

	if (depth > 16) {
		snprintf(err, errlen, "%s:%d: nesting deeper than 16", name, line);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		n = new_node(NODE_SCALAR, line);
		if (n)
			n->value = strdup((const char *)ev->data.scalar.value);
		if (!n || !n->value)
			goto nomem;
		return n;
	case YAML_ALIAS_EVENT:
		snprintf(err, errlen, "%s:%d: YAML aliases are not supported", name, line);
		return NULL;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		break;
	default:
		snprintf(err, errlen, "%s:%d: unexpected YAML element", name, line);
		return NULL;
	}

	int is_map = ev->type == YAML_MAPPING_START_EVENT;
	n = new_node(is_map ? NODE_MAP : NODE_SEQ, line);
	if (!n)
		goto nomem;
	tail = &n->child;
	for (;;) {
		yaml_event_t e;
		char *key = NULL;
		int kline;

		if (next_event(p, &e, name, err, errlen) < 0)
			goto fail;
		if (e.type == YAML_MAPPING_END_EVENT || e.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&e);
			return n;
		}
		kline = (int)e.start_mark.line + 1;
		if (is_map) {
			if (e.type != YAML_SCALAR_EVENT) {
				snprintf(err, errlen, "%s:%d: a key must be a plain scalar", name, kline);
				yaml_event_delete(&e);
				goto fail;
			}
			key = strdup((const char *)e.data.scalar.value);
			yaml_event_delete(&e);
			if (!key)
				goto nomem;
			for (struct node *s = n->child; s; s = s->next) {
				if (strcmp(s->key, key) == 0) {
					snprintf(err, errlen, "%s:%d: duplicate key '%s'", name, kline, key);
					free(key);
					goto fail;
				}
			}
			if (next_event(p, &e, name, err, errlen) < 0) {
				free(key);
				goto fail;
			}
		}
		struct node *c = parse_node(p, &e, name, err, errlen, depth + 1);
		yaml_event_delete(&e);
		if (!c) {
			free(key);
			goto fail;
		}
		c->key = key;
		if (is_map)
			c->line = kline;
		c->parent = n;
		*tail = c;
		tail = &c->next;
	}
nomem:
	snprintf(err, errlen, "%s: out of memory", name);
fail:
	node_free(n);
	return NULL;
}

struct cfg *cfg_load_string(const char *text, const char *name,
                            char *err, size_t errlen)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct cfg *c = NULL;
	struct node *root = NULL;
	int ok = 0;

	if (strlen(text) > CFG_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", name, CFG_MAX_BYTES);
		return NULL;
	}
	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "%s: cannot initialise the YAML parser", name);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
	/* stream start, document start (or stream end for an empty file) */
	for (;;) {
		if (next_event(&p, &ev, name, err, errlen) < 0)
			goto out;
		yaml_event_type_t t = ev.type;
		if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (t == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (t == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (root) {
			snprintf(err, errlen, "%s:%zu: only one YAML document is allowed",
			         name, ev.start_mark.line + 1);
			yaml_event_delete(&ev);
			goto out;
		}
		root = parse_node(&p, &ev, name, err, errlen, 0);
		yaml_event_delete(&ev);
		if (!root)
			goto out;
		if (root->kind == NODE_SCALAR && root->value[0] == '\0') {
			node_free(root); /* an empty document */
			root = NULL;
		} else if (root->kind != NODE_MAP) {
			snprintf(err, errlen, "%s:%d: the top level must be a mapping",
			         name, root->line);
			goto out;
		}
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->name = strdup(name))) {
		snprintf(err, errlen, "%s: out of memory", name);
		free(c);
		c = NULL;
		goto out;
	}
	c->root = root;
	root = NULL;
	ok = 1;
out:
	yaml_parser_delete(&p);
	node_free(root);
	return ok ? c : NULL;
}

struct cfg *cfg_load_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	struct cfg *c = NULL;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CFG_MAX_BYTES + 2);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	n = fread(buf, 1, CFG_MAX_BYTES + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	if (n > CFG_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, CFG_MAX_BYTES);
		goto out;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n)) {
		snprintf(err, errlen, "%s: contains a NUL byte", path);
		goto out;
	}
	c = cfg_load_string(buf, path, err, errlen);
out:
	free(buf);
	fclose(f);
	return c;
}

struct cfg *cfg_new_empty(void)
{
	struct cfg *c = calloc(1, sizeof(*c));
	if (c && !(c->name = strdup("(defaults)"))) {
		free(c);
		c = NULL;
	}
	return c;
}

/* The environment variable for PATH: DCV_ + upper-cased path. */
static const char *env_for(const char *path, char *name, size_t len)
{
	size_t i = 4;
	memcpy(name, "DCV_", 4);
	for (const char *p = path; *p && i + 1 < len; p++)
		name[i++] = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
	name[i] = '\0';
	const char *v = getenv(name);
	return v;
}

static void mark_used(struct node *n)
{
	for (; n; n = n->parent)
		n->used = 1;
}

/* Remembers that a getter asked for PATH, for the suggestions of
 * cfg_check_unknown(). */
static void remember(struct cfg *c, const char *path)
{
	char *copy, **grown;

	for (size_t i = 0; i < c->nasked; i++)
		if (strcmp(c->asked[i], path) == 0)
			return;
	if (c->nasked == CFG_MAX_ASKED)
		return;
	if (c->nasked % 64 == 0) {
		grown = realloc(c->asked, (c->nasked + 64) * sizeof(*grown));
		if (!grown)
			return;
		c->asked = grown;
	}
	if ((copy = strdup(path)) != NULL)
		c->asked[c->nasked++] = copy;
}

/* Whether a scalar stands for "nothing": a section written with every key
 * commented out ("metrics:") is null in YAML, an empty section here. */
static bool empty_scalar(const struct node *n)
{
	return n->kind == NODE_SCALAR &&
	       (n->value[0] == '\0' || strcmp(n->value, "~") == 0 ||
	        strcmp(n->value, "null") == 0);
}

/* The deepest node of the tree on PATH (PATH itself when present), or NULL
 * when not even its first part is there; *REST gets what of PATH is left
 * below it ("" when PATH is there).  Marks nothing. */
static struct node *deepest(const struct cfg *c, const char *path,
                            const char **rest)
{
	struct node *n = c->root, *found = NULL;
	const char *p = path;

	while (n && n->kind == NODE_MAP && *p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		struct node *s;
		for (s = n->child; s; s = s->next)
			if (strlen(s->key) == len && strncmp(s->key, p, len) == 0)
				break;
		if (!s)
			break;
		found = n = s;
		p = dot ? dot + 1 : p + len;
	}
	*rest = p;
	return found;
}

/* Finds PATH in the tree; NULL when absent.  Marks it read, and when only
 * a part of it is there, that part: a section a getter asked into is a
 * known section, so a misspelt key in it is reported as that key
 * ("worker.concurency"), not as the whole section.  A scalar where PATH
 * needs a section is an error. */
static struct node *lookup(struct cfg *c, const char *path)
{
	const char *rest;
	struct node *n = deepest(c, path, &rest);

	remember(c, path);
	if (n)
		mark_used(n);
	if (!*rest)
		return n;
	if (n && n->kind != NODE_MAP && !empty_scalar(n))
		set_err(c, n->line, "%s:%d: %.*s: expected a mapping (a section), "
		        "not a single value", c->name, n->line,
		        (int)(rest - path - 1), path);
	return NULL;
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
	const char *v = env_for(path, envname, envlen);
	struct node *n;

	*line = -1;
	if (v) {
		lookup(c, path); /* overridden keys still count as known */
		*line = 0;
		return v;
	}
	n = lookup(c, path);
	if (!n)
		return NULL;
	*line = n->line;
	if (n->kind != NODE_SCALAR) {
		set_err(c, n->line, "%s:%d: %s: expected a single value", c->name,
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
		set_err(c, 0, "%s: %s ('%s')", envname, msg, sv);
	else
		set_err(c, line, "%s:%d: %s: %s ('%s')", c->name, line, path, msg, sv);
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
	if (env_for(path, envname, sizeof(envname))) {
		lookup(c, path);
		return true;
	}
	return lookup(c, path) != NULL;
}

/* Splits the environment list for PATH into c->env_list; returns its length
 * or -1 when the variable is not set. */
static long env_list(struct cfg *c, const char *path)
{
	char envname[128];
	const char *v = env_for(path, envname, sizeof(envname));
	size_t n = 0;

	if (!v)
		return -1;
	lookup(c, path);
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
	struct node *n = lookup(c, path);
	if (!n)
		return NULL;
	if (n->kind != NODE_SEQ) {
		set_err(c, n->line, "%s:%d: %s: expected a list", c->name, n->line, path);
		return NULL;
	}
	for (struct node *s = n->child; s; s = s->next) {
		if (s->kind != NODE_SCALAR) {
			set_err(c, s->line, "%s:%d: %s: list items must be single values",
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
	struct node *m = lookup(c, path);
	struct keylist *kl;
	size_t count = 0, i = 0;

	*n = 0;
	if (!m)
		return NULL;
	if (m->kind != NODE_MAP) {
		set_err(c, m->line, "%s:%d: %s: expected a mapping", c->name, m->line, path);
		return NULL;
	}
	for (struct node *s = m->child; s; s = s->next)
		count++;
	kl = calloc(1, sizeof(*kl));
	if (!kl || !(kl->keys = calloc(count + 1, sizeof(char *)))) {
		free(kl);
		set_err(c, 0, "%s: out of memory", c->name);
		return NULL;
	}
	for (struct node *s = m->child; s; s = s->next)
		kl->keys[i++] = s->key;
	kl->next = c->lists;
	c->lists = kl;
	*n = count;
	return kl->keys;
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
	if (env_for(path, envname, sizeof(envname))) {
		set_err(c, 0, "%s: %s", envname, msg);
	} else if ((n = lookup(c, path)) != NULL) {
		set_err(c, n->line, "%s:%d: %s: %s", c->name, n->line, path, msg);
	} else if ((near = deepest(c, path, &rest)) != NULL) {
		/* the key is missing: the section that should hold it says where */
		set_err(c, near->line, "%s:%d: %s: %s", c->name, near->line, path, msg);
	} else {
		set_err(c, 0, "%s: %s: %s", c->name, path, msg);
	}
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
	remember(c, path);    /* its variables are known too (cfg_check_env) */
	struct node *n = lookup(c, path);
	if (n)
		mark_tree(n->child);
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
				set_err(c, s->line, "%s:%d: unknown key '%s' (did you mean '%s'?)",
				        c->name, s->line, path, hint);
			else
				set_err(c, s->line, "%s:%d: unknown key '%s'", c->name,
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
		env_for(c->asked[i], name, sizeof(name));
		size_t n = strlen(name);
		if (strncmp(var, name, n) == 0 && (var[n] == '\0' || var[n] == '_'))
			return true;
	}
	return false;
}

size_t cfg_check_env(const struct cfg *c, char *const *env,
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
		if (env_known(c, var))
			continue;
		for (size_t i = 0; i < c->nasked; i++) {
			env_for(c->asked[i], name, sizeof(name));
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
