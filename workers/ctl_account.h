/*
 * ctl_account: "dcvctl account ..." — the fleet's ACME account at one CA.
 *
 *   dcvctl account register [--ca NAME] --email E [--eab-kid K --eab-hmac-file F]
 *                           [--key-type T] [--force]
 *   dcvctl account show [--ca NAME]
 *   dcvctl account rotate-key [--ca NAME] [--key-type T]
 *   dcvctl account deactivate [--ca NAME] --yes
 *
 * NAME is a CA of acme.cas (ca_cfg.h), default "default" (the single CA of
 * a configuration without acme.cas).  The ACME settings are that CA's;
 * the key-encryption key from acme.kek_file or the environment variable
 * DCV_ACME_KEK.  register --force replaces a stored account (one the CA
 * refuses) once the CA accepted the new one, and marks the CA healthy
 * (ca_health.h).  The private key is never printed.
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
