/*
 * cfg: the YAML configuration, loaded once, read through typed getters.
 *
 * A file is parsed (libyaml) into a tree that remembers the line of every
 * key.  Modules read their own section with the getters below, by dotted
 * path ("worker.concurrency", "acme.directory", "stages.verify-cname.base_ms").
 * Every getter first looks at the environment: the path upper-cased, with
 * '.' and '-' turned into '_', behind "DCV_" (DCV_REDIS_URL overrides
 * redis.url); a list is given there comma-separated.
 *
 * Errors do not abort: each is kept as "FILE:LINE: path: message" (or
 * "DCV_X: message" for the environment), all of them, in file order, so that
 * one run shows everything to fix; cfg_error() returns them one a line.
 * After every module has read its keys, cfg_check_unknown() turns every key
 * that no getter asked for into an error, so a typo never goes unnoticed:
 * a section a getter looked into is known, and the key in it that nobody
 * asked for is the one named ("dcv.yaml:2: unknown key 'worker.concurency'
 * (did you mean 'worker.concurrency'?)").
 *
 * A cfg made by cfg_new_empty() (no file) gives the embedded defaults plus the
 * environment.  Strings returned are borrowed from the cfg and live until
 * cfg_free().  Not thread-safe: read everything at start, then keep the values
 * in the module's own immutable struct.
 */
#ifndef DCV_CFG_H
#define DCV_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct cfg;

/* Largest configuration file accepted. */
#define CFG_MAX_BYTES (1024 * 1024)

/* Loads and parses PATH.  Returns NULL with a message in ERR (file and line)
 * if the file cannot be read or is not YAML of the expected shape (mappings,
 * sequences and scalars; no anchors).  The caller frees with cfg_free(). */
struct cfg *cfg_load_file(const char *path, char *err, size_t errlen);

/* Same, from a string; NAME stands in for the file name in messages. */
struct cfg *cfg_load_string(const char *text, const char *name,
                            char *err, size_t errlen);

/* A configuration with no file: only defaults and the environment. */
struct cfg *cfg_new_empty(void);

void cfg_free(struct cfg *c);

/* The value at PATH as a string, or DEF when absent.  An error if the node
 * is a mapping or a sequence. */
const char *cfg_str(struct cfg *c, const char *path, const char *def);

/* The value at PATH as an integer within [MIN, MAX], or DEF when absent.
 * Accepts an optional unit suffix for durations in milliseconds when the
 * key ends in "_ms": "250", "250ms", "30s", "5m", "2h", "7d".  The bounds
 * are checked on the milliseconds; a value whose product does not fit is
 * out of range, never wrapped. */
long long cfg_int(struct cfg *c, const char *path, long long def,
                  long long min, long long max);

/* true/false/yes/no/on/off, or DEF when absent. */
bool cfg_bool(struct cfg *c, const char *path, bool def);

/* A finite double within [MIN, MAX], or DEF when absent ("nan" and "inf"
 * are out of range). */
double cfg_double(struct cfg *c, const char *path, double def,
                  double min, double max);

/* The number of scalars in the sequence at PATH (0 when absent). */
size_t cfg_list_len(struct cfg *c, const char *path);

/* Item I of the sequence at PATH, or NULL when out of range. */
const char *cfg_list_str(struct cfg *c, const char *path, size_t i);

/* Whether PATH is present (in the file or the environment); marks it read. */
bool cfg_has(struct cfg *c, const char *path);

/* The keys of the mapping at PATH, for sections keyed by name (e.g. the
 * stages); *N gets their number.  Borrowed array; NULL when absent. */
const char *const *cfg_keys(struct cfg *c, const char *path, size_t *n);

/* Records an error about PATH from a caller that found a value of the right
 * type but wrong meaning, or a key missing: at PATH's line when the file has
 * it, else at the line of the section that should hold it. */
void cfg_fail(struct cfg *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Marks every key under PATH as read without checking it: for a section
 * that belongs to stages this process does not serve. */
void cfg_skip(struct cfg *c, const char *path);

/* Records an error for each key of the file that no getter read. */
void cfg_check_unknown(struct cfg *c);

/* Calls WARN(ARG, VAR, HINT) for each DCV_* variable of ENV (an environ-
 * style array) that overrides no key a getter asked for and lies in no
 * section skipped: a misspelt override would otherwise be ignored in
 * silence.  ALSO (NULL-terminated, may be NULL) names the variables the
 * program reads itself, outside the configuration (DCV_ACME_KEK).  HINT
 * is the closest known variable (two edits at most) or NULL.
 * Only names are passed, never values (they may be secrets).  A warning,
 * not an error: the environment also holds variables meant for other
 * programs.  Returns how many were reported.  Call it after every module
 * has read its keys. */
size_t cfg_check_env(const struct cfg *c, char *const *env, const char *const *also,
                     void (*warn)(void *arg, const char *var, const char *hint),
                     void *arg);

/* Every error recorded, one a line (sorted by line; the environment's and
 * those without a line last), or NULL when there is none.  Borrowed until
 * the next call on C. */
const char *cfg_error(const struct cfg *c);

/* Prints every error to F, each on its own line behind "PREFIX: " (the
 * program's name), so that a terminal or a log shows them one by one. */
void cfg_print_errors(const struct cfg *c, FILE *f, const char *prefix);

#endif
