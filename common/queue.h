/*
 * queue: the Redis contract (schemas/redis.md) as C calls.
 *
 * One struct queue is one Redis connection (hiredis, synchronous) with the
 * scripts of scripts.h loaded; it is used by one thread at a time.  The
 * worker gives each of its threads its own queue; dcvctl uses one.
 *
 * Failures are values: Q_E_IO means the connection is gone or timed out
 * (call queue_reconnect() and carry on; nothing acknowledged is lost),
 * Q_E_REPLY an answer of the wrong shape or an error reply (the message is
 * in queue_errstr()).
 */
#ifndef DCV_QUEUE_H
#define DCV_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dname.h"
#include "scripts.h"

enum stage {
	STAGE_VERIFY_CNAME,
	STAGE_CREATE_ORDER,
	STAGE_PROVISION_TXT,
	STAGE_FINALIZE,
	STAGE_OFFBOARD_CHECK,
	STAGE_COUNT
};

/* "verify-cname", ...; stage_parse() returns -1 for an unknown name. */
const char *stage_name(enum stage s);
int stage_parse(const char *name);

enum queue_status {
	Q_OK = 0,
	Q_E_IO,      /* connection lost, refused or timed out: transient */
	Q_E_REPLY,   /* error reply or unexpected shape */
	Q_E_NOMEM,
	Q_E_NOTFOUND,
};

const char *queue_strerror(enum queue_status s);

struct queue_opts {
	const char *url;          /* redis://[[user]:password@]host[:port][/db] */
	const char *prefix;       /* key prefix, e.g. "dcv" or "{dcv}" */
	const char *group;        /* consumer group of the stage streams */
	const char *consumer;     /* this connection's consumer name */
	int connect_timeout_ms;
	int io_timeout_ms;        /* must exceed any BLOCK time */
	long long events_maxlen;  /* MAXLEN ~ of <p>:events */
	long long dead_maxlen;    /* MAXLEN ~ of <p>:dead */
	int max_deliveries;       /* more deliveries than this: poison */
};

/* An entry read from a stage stream.  Strings point into the batch. */
struct queue_entry {
	enum stage stage;
	const char *id;        /* stream entry id */
	const char *job;       /* job bytes; NULL if the entry has no job field */
	size_t job_len;
	const char *domain;    /* the plain-text domain field, "" if absent */
};

/* Entries of one read; owns the reply they point into. */
struct queue_batch {
	struct queue_entry *e;
	size_t n, cap;
	void *replies[8];      /* redisReply objects kept alive */
	size_t nreplies;
};

enum commit_kind {
	COMMIT_FORWARD,  /* XADD to dst's stream now */
	COMMIT_LATER,    /* into <p>:delayed for dst, due at due_ms */
	COMMIT_DONE,     /* nothing further */
	COMMIT_DEAD,     /* to <p>:dead with last_error as the reason */
};

/* How to settle one entry.  Strings are borrowed for the call. */
struct queue_commit {
	enum stage src;
	const char *entry_id;
	enum commit_kind kind;
	enum stage dst;
	uint64_t due_ms;
	const char *job;
	size_t job_len;
	const char *domain;     /* normalised; "" for a job too broken to trust */
	const char *job_id;
	const char *state;      /* domain hash state; "" = leave the hash alone */
	unsigned attempts;
	const char *last_error; /* "" clears it */
	const char *event;      /* "" = no event */
	const char *detail;
	const char *event_fields; /* more fields of the event: "name\nvalue\n"
	                           pairs, no LF in either; "" or NULL none */
	uint64_t gen;           /* the job's generation (0: none); an older one
	                           than the domain's is acknowledged, not routed */
	const char *clear;      /* domain hash fields to delete with the state,
	                           space-separated; "" none */
};

/* A Redis URL taken apart: redis://[[user]:password@]host[:port][/db].
 * The credentials end at the LAST '@' (host, port and db never hold one),
 * so a password may contain '@', '/' and ':'; the user ends at the first
 * ':' of them.  Nothing is percent-decoded.  PASS is a secret: wipe it
 * with explicit_bzero() when done. */
struct queue_url {
	char host[256];
	int port;                 /* default 6379 */
	int db;                   /* default 0 */
	char user[128];           /* "" for none (AUTH password) */
	char pass[256];           /* "" for no AUTH */
	char where[270];          /* how messages name the server: "host:port",
	                             or "the server of redis.url" when the URL
	                             holds a password: in a URL whose "@host"
	                             was forgotten, host and port are the
	                             password's own tail */
};

/* Parses URL into OUT (pure).  Returns 0, or -1 with a reason in ERR that
 * never quotes any part of the URL: a malformed URL may hold its password
 * anywhere (a missing '@' turns it into the host or the port). */
int queue_url_parse(const char *url, struct queue_url *out, char *err, size_t errlen);

struct queue;

/* Connects and loads the scripts.  Returns NULL with ERR filled on failure;
 * the options' strings are copied. */
struct queue *queue_open(const struct queue_opts *o, char *err, size_t errlen);
void queue_close(struct queue *q);

/* Reconnects with exponential backoff (100 ms doubling to 5 s, jittered)
 * until it succeeds or *STOP becomes nonzero.  Returns Q_OK or Q_E_IO. */
enum queue_status queue_reconnect(struct queue *q, const atomic_int *stop);

/* Reconnections made so far by this queue. */
unsigned long queue_reconnects(const struct queue *q);

const char *queue_errstr(const struct queue *q);

/* Creates the consumer group on every stage stream (MKSTREAM), ignoring
 * the ones that exist. */
enum queue_status queue_ensure_groups(struct queue *q);

/* The server's maxmemory-policy into BUF (from INFO memory). */
enum queue_status queue_eviction_policy(struct queue *q, char *buf, size_t len);

/* Settles N entries (if any), then reads up to COUNT new entries per stream
 * of the stages in MASK (bit 1 << stage), blocking up to BLOCK_MS, into B
 * (which may be NULL when COUNT is 0); both in one round trip.  HISTORY nonzero reads this consumer's own pending
 * entries instead of new ones (after a reconnect).  *APPLIED gets the number
 * of commits that took effect (the others had been settled by whoever
 * reclaimed them).  COUNT 0 only commits.  B is reset first. */
enum queue_status queue_exchange(struct queue *q, const struct queue_commit *c,
                                 size_t n, size_t *applied, unsigned mask,
                                 size_t count, int block_ms, int history,
                                 struct queue_batch *b);

/* Claims up to COUNT entries of STAGE idle longer than MIN_IDLE_MS into B
 * (poison entries go to the dead letters instead). */
enum queue_status queue_reclaim(struct queue *q, enum stage stage,
                                long long min_idle_ms, size_t count,
                                struct queue_batch *b);

/* Moves up to MAX due delayed jobs to their streams; *MOVED gets how many. */
enum queue_status queue_promote(struct queue *q, uint64_t now_ms, size_t max,
                                long long *moved);

/* Trims STAGE's stream below its oldest pending entry and forgets
 * consumers idle longer than CONSUMER_IDLE_MS with nothing pending. */
enum queue_status queue_trim(struct queue *q, enum stage stage,
                             long long consumer_idle_ms, long long *trimmed);

/* XADDs a job to STAGE's stream, or (DUE_MS > 0) schedules it in the delayed
 * set.  Used by dcvctl and tests. */
enum queue_status queue_enqueue(struct queue *q, enum stage stage,
                                const char *job, size_t len,
                                const char *domain, const char *job_id,
                                uint64_t due_ms);

/* What SCRIPT_ONBOARD did with one domain. */
enum onboard_result {
	ONBOARD_QUEUED,   /* a new generation, its job in verify-cname */
	ONBOARD_NUDGED,   /* its pipeline runs already: nudged */
	ONBOARD_REFUSED,  /* a name is held by another tenant: nothing done */
};

/* The reason of a refusal: two names and some words. */
#define ONBOARD_WHY_MAX (2 * DNAME_MAX + 160)

/* A new domain for the pipeline (dcvctl onboard).  The inputs are borrowed
 * for the call; queue_onboard() sets the outputs. */
struct queue_onboard {
	const char *domain;   /* normalised */
	const char *tenant;   /* "" for none */
	const char *target;   /* delegation target the customer must create */
	const char *names;    /* the certificate's names, comma-separated;
	                         NULL: the domain alone */
	const char *job;      /* encoded job */
	size_t job_len;
	const char *job_id;
	enum onboard_result result;     /* out */
	char why[ONBOARD_WHY_MAX];      /* out: ONBOARD_REFUSED's reason */
};

/* Starts the pipeline of N domains (one script call, SCRIPT_ONBOARD), in
 * order: one naming a name that another tenant holds is refused (why says
 * which); one whose pipeline is running already is only nudged; every
 * other gets a new generation, its names claimed for its tenant, state
 * "queued" and its job in verify-cname.  Sets each item's result. */
enum queue_status queue_onboard(struct queue *q, struct queue_onboard *d, size_t n);

struct script_args;

/* A reply from the server, opaque: read it only through the accessors
 * below.  A reply is input from the server and may have any shape, so
 * every accessor accepts NULL and a reply of the wrong kind and then
 * answers "nothing" (QR_NONE, 0, NULL, false); a caller checks the one
 * answer it uses and needs no check of the kind first.  Elements of an
 * array are borrowed from it (valid until queue_reply_free() of the
 * outermost reply); only a reply a function returned is freed. */
struct queue_reply;

enum queue_reply_kind {
	QR_NONE = 0,   /* no reply (NULL) or a kind none of the others names */
	QR_NIL,
	QR_INT,
	QR_STRING,     /* a bulk string or a status ("OK") */
	QR_ARRAY,
	QR_ERROR,
};

enum queue_reply_kind queue_reply_kind(const struct queue_reply *r);

/* The number of elements of an array; 0 for anything else. */
size_t queue_reply_len(const struct queue_reply *r);

/* Element I of an array (borrowed); NULL past the end or not an array. */
const struct queue_reply *queue_reply_at(const struct queue_reply *r, size_t i);

/* An integer reply into *V; false (V untouched) unless R is one. */
bool queue_reply_int(const struct queue_reply *r, long long *v);

/* The bytes of a string or status reply (NUL-terminated; *LEN, if LEN is
 * not NULL, gets their number, which counts any NUL inside); NULL for
 * anything else, nil and errors included. */
const char *queue_reply_str(const struct queue_reply *r, size_t *len);

/* The message of an error reply; NULL unless R is one. */
const char *queue_reply_error(const struct queue_reply *r);

/* Frees a reply a function of this module returned; NULL is a no-op. */
void queue_reply_free(struct queue_reply *r);

/* The one reply LEN bytes of RESP hold (pure: for tests and fuzzing);
 * NULL when they are malformed, incomplete or hold more than one. */
struct queue_reply *queue_reply_parse(const void *buf, size_t len);

/* Runs script ID with the keys and arguments of A (script_args.h, built in
 * the order of the script's common/lua/<name>.lua) and frees A.  Returns
 * the reply (queue_reply_free), NULL on I/O error or when A could not be
 * built (out of memory, over its cap); an error reply and those failures
 * are also in queue_errstr(). */
struct queue_reply *queue_eval(struct queue *q, enum script_id id,
                               struct script_args *a);

/* Runs a command through this queue's connection (argv form; ARGVLEN may
 * be NULL for text arguments) and returns the reply (queue_reply_free) or
 * NULL on I/O error (an error reply is returned, for the caller to read
 * with queue_reply_error()).  For dcvctl's views, the stages' reads and
 * the writes outside the scripts (certstore.c's MULTI). */
struct queue_reply *queue_command(struct queue *q, int argc, const char **argv,
                                  const size_t *argvlen);

/* The hiredis context (a redisContext *) for modules that keep their own
 * keys (the ACME account); borrowed, valid until queue_close(). */
void *queue_redis(struct queue *q);

/* The key prefix ("dcv"). */
const char *queue_prefix(const struct queue *q);

/* Builds "<prefix>:<suffix>" into BUF. */
const char *queue_key(const struct queue *q, char *buf, size_t len,
                      const char *suffix);

/* Frees the replies behind B and empties it (keeps the array). */
void queue_batch_reset(struct queue_batch *b);
void queue_batch_free(struct queue_batch *b);

/* The current time in unix milliseconds. */
uint64_t queue_now_ms(void);

#endif
