/*
 * log: one line per event on stderr, as logfmt (default) or JSON lines.
 *
 * Every line carries the time, the level and the message; lines about a job
 * also carry its stage, id and domain, and where known the outcome and the
 * handler's duration.  Callers never pass secrets (keys, JWS, TSIG secrets,
 * key authorizations) to these functions: there is no redaction here.
 * Thread-safe: a line is formatted into a local buffer and written with one
 * write(2).
 */
#ifndef DCV_LOG_H
#define DCV_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_FMT_LOGFMT, LOG_FMT_JSON };

/* The context of a line about a job; any field may be NULL (or -1). */
struct log_job {
	const char *stage;    /* stage name, e.g. "verify-cname" */
	const char *job_id;   /* the job's id */
	const char *domain;   /* the job's domain */
	const char *outcome;  /* "advance", "retry", "done", "fail" */
	long duration_ms;     /* handler time, -1 when not measured */
};

/* Sets the threshold and format; call once at start (defaults: info, logfmt). */
void log_setup(enum log_level min, enum log_format fmt);

/* Parses "debug"/"info"/"warn"/"error"; returns -1 if unknown. */
int log_level_parse(const char *s);

/* Parses "logfmt"/"json"; returns -1 if unknown. */
int log_format_parse(const char *s);

/* Nonzero when a line at LVL is written (LVL is at or above the threshold
 * of log_setup()): for callers that would build a message only to see it
 * dropped. */
int log_enabled(enum log_level lvl);

/* Writes one line; lines longer than 4 KiB are truncated. */
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes one line with the job's context. */
void log_jobmsg(enum log_level lvl, const struct log_job *ctx,
                const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
