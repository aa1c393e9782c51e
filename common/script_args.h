/*
 * script_args: the argument list of one Lua script call, built by name.
 *
 * A script's KEYS and ARGV are positional.  Their order is written once in
 * the header comment of its common/lua/<name>.lua and once on the C side,
 * as one sequence of sa_key() / sa_arg*() calls per script (a "layout"),
 * so no caller counts offsets or sizes a buffer by hand.  The builder
 * counts the keys, formats numbers itself, grows as needed and never
 * beyond its cap: after a failure every further call is a no-op and
 * sa_command() reports the first failure, so a layout needs no check per
 * argument.
 *
 * Strings are borrowed: they must stay valid until the list has been sent
 * (sa_command()'s arrays point into them).  One list is used by one thread.
 */
#ifndef DCV_SCRIPT_ARGS_H
#define DCV_SCRIPT_ARGS_H

#include <stddef.h>

/* The default cap of one list (keys and arguments): a COMMIT of a batch of
 * 1024 entries takes about 15k. */
#define SA_MAX_ARGS 65536

enum sa_status {
	SA_OK = 0,
	SA_E_NOMEM,
	SA_E_TOOBIG,   /* more arguments than the cap */
	SA_E_ORDER,    /* sa_key() after an argument: KEYS come first */
};

const char *sa_strerror(enum sa_status s);

struct sa_item;

struct script_args {
	struct sa_item *it;    /* keys, then arguments */
	size_t n, cap, max;
	size_t nkeys;
	enum sa_status err;    /* the first failure, SA_OK none */
	const char **argv;     /* sa_command()'s arrays, freed by sa_free() */
	size_t *lens;
	char nkeys_s[24];
};

/* An empty list of at most MAX keys and arguments (0: SA_MAX_ARGS). */
void sa_init(struct script_args *a, size_t max);

/* Appends a key (KEYS[i]); all keys come before the first argument. */
void sa_key(struct script_args *a, const char *key);

/* Appends an argument: a string (NULL reads as ""), LEN bytes of binary
 * data (NULL with LEN 0 reads as ""), or a number in decimal. */
void sa_arg(struct script_args *a, const char *s);
void sa_argn(struct script_args *a, const void *s, size_t len);
void sa_argu(struct script_args *a, unsigned long long v);
void sa_argi(struct script_args *a, long long v);

/* The number of arguments (ARGV) so far, keys not counted. */
size_t sa_nargs(const struct script_args *a);

/* The command "CMD SCRIPT NKEYS KEYS... ARGV..." (CMD "EVALSHA" with a
 * SHA, or "EVAL" with the source) as hiredis's argv form in *ARGC, *ARGV,
 * *LENS, owned by A (valid until sa_free() or the next sa_command()).
 * Returns SA_OK or the first failure of the list. */
enum sa_status sa_command(struct script_args *a, const char *cmd, const char *script,
                          int *argc, const char ***argv, const size_t **lens);

/* Frees what A holds; A may be initialised again.  Borrowed strings are
 * not touched. */
void sa_free(struct script_args *a);

#endif
