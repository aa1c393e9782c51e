/*
 * ctl: what dcvctl's commands share.  dcvctl.c parses the global options,
 * loads the configuration, connects and dispatches to one command:
 *
 *   ctl_onboard.c  onboard, nudge
 *   ctl_release.c  offboard, release
 *   ctl_status.c   status, stats
 *   ctl_dead.c     dead list|replay|purge
 *   ctl_account.c  account ... (its own arguments; see ctl_account.h)
 *   ctl_cert.c     cert get|list (the stored certificates); reindex
 *   ctl_rewrap.c   cert rewrap (certificate keys moved to the certificate KEK)
 *   ctl_revoke.c   revoke (the stored certificate, at the CA)
 *   ctl_console.c  console (the web console; console_page.h, console_html.h)
 *
 * A command gets the arguments after its name, writes results to stdout and
 * messages to stderr, and returns one of the exit codes below.
 */
#ifndef DCV_CTL_H
#define DCV_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "cfg.h"
#include "queue.h"
#include "script_args.h"
#include "scripts.h"
#include "worker.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NOTFOUND = 3, EXIT_REFUSED = 4 };

/* One dcvctl run.  CFG and Q are dcvctl.c's (a command borrows them). */
struct ctl {
	struct cfg *cfg;
	struct worker_cfg wc;
	struct queue *q;
	int json;              /* --json: results as JSON */
};

/* dcvctl's usage text into F. */
void ctl_usage(FILE *f);

/* Runs a fixed command, FMT with %s substitutions split at spaces (keys
 * and ids, never a space in them).  Returns the reply (queue_reply_free)
 * or NULL, after saying why on stderr, when Redis is unreachable or
 * refused the command (an error reply: NOPERM from an ACL, a wrong type):
 * a refusal is a failure of the command, never a value. */
struct queue_reply *ctl_run(struct ctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The same with the arguments as given (for keys read back from Redis,
 * which may hold anything, spaces included). */
struct queue_reply *ctl_run_argv(struct ctl *c, int argc, const char **argv);

struct acme_opts;
struct account_kek;

/* The configuration's acme section into O (acme_opts_free()) and the
 * certificate KEK (acme.cert_kek_file, else DCV_CERT_KEK) into KEK
 * (account_kek_wipe()); unset when neither is given.  0, or -1 after
 * printing the configuration's errors behind CMD (an unreadable KEK names
 * its file and line, or the variable). */
int ctl_cert_kek(struct ctl *c, const char *cmd, struct acme_opts *o,
                 struct account_kek *kek);

/* A SCAN MATCH pattern: PREFIX with its glob characters escaped, then
 * TAIL as it is (":cert:*"), into OUT (LEN bytes, truncated to fit). */
void ctl_key_pattern(const char *prefix, const char *tail, char *out, size_t len);

/* "dcvctl reindex" (ctl_cert.c): ARGV after "reindex" (none). */
int ctl_reindex(struct ctl *c, int argc, char **argv);

/* "dcvctl cert rewrap" (ctl_rewrap.c): ARGV after "rewrap". */
int ctl_cert_rewrap(struct ctl *c, int argc, char **argv);

/* Prints J (indented, keys sorted) and releases it (takes the reference). */
void ctl_print_json(json_t *j);

/* The one DOMAIN argument of CMD (nudge, offboard, release), normalised
 * into NAME (DNAME_MAX + 1 bytes).  Returns EXIT_OK, or the exit code
 * after saying why. */
int ctl_one_domain(const char *cmd, int argc, char **argv, char *name);

/* Runs lifecycle script ID with A (built in the layout of its .lua file;
 * freed) and returns its integer answer, or INT_MIN after printing the
 * error. */
long long ctl_lifecycle(struct ctl *c, enum script_id id, struct script_args *a);

/* The domain record of NAME (normalised) as a JSON object of strings,
 * the secret fields (pending_key) left out; an empty object when the
 * domain is not known; NULL after saying why it cannot be read.  The
 * caller owns the reference. */
json_t *ctl_status_record(struct ctl *c, const char *name);

/* What "dcvctl stats --json" prints: {"stages": {stage: {length, lag,
 * pending, oldest_pending_age_s}}, dead, events, delayed, delayed_due,
 * counters}; NULL after saying why.  The caller owns it. */
json_t *ctl_stats_collect(struct ctl *c);

/* The newest COUNT dead letters as "dcvctl dead list --json" prints them
 * (id, domain, stage, reason, time, job_hex); NULL after saying why. */
json_t *ctl_dead_fetch(struct ctl *c, long count);

/* The same, the newest COUNT of those with an id <= MAX_ID (a stream id,
 * or "+": no bound). */
json_t *ctl_dead_fetch_upto(struct ctl *c, const char *max_id, long count);

/* Walks the keys "<prefix>:<KIND>:*" with SCAN (KIND has no glob
 * character), about 100 at a time, calling FN with each key and its tail
 * (after "<prefix>:<KIND>:") until FN returns non-zero or MAX keys were
 * seen (0: no cap).  With DOMAINS, a tail that is no normalised domain
 * name is skipped (it was not written by the fleet).  Returns 0, 1 when
 * FN or the cap stopped it, -1 after saying why. */
int ctl_scan(struct ctl *c, const char *kind, int domains, size_t max,
             int (*fn)(struct ctl *c, const char *key, const char *tail, void *arg),
             void *arg);

/* The commands: ARGV are the arguments after the command's name. */
int ctl_onboard(struct ctl *c, int argc, char **argv);
int ctl_nudge(struct ctl *c, int argc, char **argv);
int ctl_offboard(struct ctl *c, int argc, char **argv);
int ctl_release(struct ctl *c, int argc, char **argv);
int ctl_status(struct ctl *c, int argc, char **argv);
int ctl_stats(struct ctl *c, int argc, char **argv);
int ctl_dead(struct ctl *c, int argc, char **argv);
int ctl_cert(struct ctl *c, int argc, char **argv);
int ctl_revoke(struct ctl *c, int argc, char **argv);
int ctl_console(struct ctl *c, int argc, char **argv);

/* Reads the console's configuration keys (console.listen,
 * console.write_token_file, console.auth_file): called for every command
 * before cfg_check_unknown(), so that they are known keys. */
void ctl_console_cfg(struct cfg *cfg);

#endif
