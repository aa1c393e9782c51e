/* The YAML tree: loading a file into it, and finding a path in it. */
#include "cfg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

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

/* Builds the tree from libyaml events.  Returns the node, or NULL with ERR
 * set. */
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

static void mark_used(struct node *n)
{
	for (; n; n = n->parent)
		n->used = 1;
}

/* Remembers that a getter asked for PATH, for the suggestions of
 * cfg_check_unknown(). */
void cfg_remember(struct cfg *c, const char *path)
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
struct node *cfg_deepest(const struct cfg *c, const char *path,
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
struct node *cfg_lookup(struct cfg *c, const char *path)
{
	const char *rest;
	struct node *n = cfg_deepest(c, path, &rest);

	cfg_remember(c, path);
	if (n)
		mark_used(n);
	if (!*rest)
		return n;
	if (n && n->kind != NODE_MAP && !empty_scalar(n))
		cfg_set_err(c, n->line, "%s:%d: %.*s: expected a mapping (a section), "
		        "not a single value", c->name, n->line,
		        (int)(rest - path - 1), path);
	return NULL;
}
