/*
 * ctl_account: "dcvctl account ..." — the fleet's shared ACME account.
 *
 *   dcvctl account register --email E [--eab-kid K --eab-hmac H] [--key-type T]
 *   dcvctl account show
 *   dcvctl account rotate-key [--key-type T]
 *   dcvctl account deactivate --yes
 *
 * The ACME settings come from the "acme:" section of the configuration
 * (acme_cfg_load); the key-encryption key from acme.kek_file or the
 * environment variable DCV_ACME_KEK.  The private key is never printed.
 */
#ifndef DCV_CTL_ACCOUNT_H
#define DCV_CTL_ACCOUNT_H

struct redisContext;   /* hiredis, behind queue_redis() (account.h) */

struct cfg;

/* ARGV[0] is "account", ARGV[1] the subcommand.  CFG and REDIS (connected)
 * are borrowed; PREFIX is the Redis key prefix ("dcv" when NULL).  Messages
 * go to stderr, results to stdout.  Returns 0 on success, 1 on a runtime
 * failure, 2 on a usage error. */
int ctl_account_main(int argc, char **argv, struct cfg *cfg,
                     struct redisContext *redis, const char *prefix);

#endif
