/*
 * cfg_internal: what cfg.c, cfg_get.c and cfg_check.c share, and nothing
 * outside them includes.
 *
 * cfg.c builds the tree (libyaml) and finds paths in it; cfg_get.c holds
 * the typed getters and the environment overrides; cfg_check.c records the
 * errors and finds the keys and variables nobody asked for.  The contract
 * every caller sees is cfg.h's.
 */
#ifndef DCV_CFG_INTERNAL_H
#define DCV_CFG_INTERNAL_H

#include "cfg.h"

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

/* Records an error about LINE (0: none, e.g. the environment), formatted
 * as the message reads ("FILE:LINE: path: message").  Errors are kept
 * sorted by line, each text once (cfg_check.c). */
void cfg_set_err(struct cfg *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The environment variable for PATH (DCV_ + upper-cased path, '.' and '-'
 * as '_') written into NAME (LEN bytes); returns its value, NULL when it
 * is not set (cfg_get.c). */
const char *cfg_env_for(const char *path, char *name, size_t len);

/* Remembers that a getter asked for PATH, for the suggestions of
 * cfg_check_unknown() and the names of cfg_check_env() (cfg.c). */
void cfg_remember(struct cfg *c, const char *path);

/* The deepest node of the tree on PATH (PATH itself when present), or NULL
 * when not even its first part is there; *REST gets what of PATH is left
 * below it ("" when PATH is there).  Marks nothing (cfg.c). */
struct node *cfg_deepest(const struct cfg *c, const char *path,
                         const char **rest);

/* Finds PATH in the tree and marks it (or the part of it that is there)
 * read; NULL when absent.  Remembers PATH as asked for (cfg.c). */
struct node *cfg_lookup(struct cfg *c, const char *path);

#endif
