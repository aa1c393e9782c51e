#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static enum log_level log_min = LOG_INFO;
static enum log_format log_fmt = LOG_FMT_LOGFMT;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_setup(enum log_level min, enum log_format fmt)
{
	log_min = min;
	log_fmt = fmt;
}

int log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

int log_format_parse(const char *s)
{
	if (strcmp(s, "logfmt") == 0)
		return LOG_FMT_LOGFMT;
	if (strcmp(s, "json") == 0)
		return LOG_FMT_JSON;
	return -1;
}

/* A bounded line under construction.  Pieces are written whole or not at
 * all, and LINE_TAIL bytes stay free for what closes the line (a JSON
 * string's quote, "}", "\n"), so a line cut short is still one valid line. */
#define LINE_TAIL 4

struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
	int full;          /* a piece did not fit: nothing more but the tail */
};

static void put(struct line *l, const char *s, size_t n)
{
	if (l->full || n > sizeof(l->buf) - LINE_TAIL - l->len) {
		l->full = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* The closing bytes, which always fit (LINE_TAIL). */
static void put_tail(struct line *l, const char *s)
{
	size_t n = strlen(s);
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Whether V needs quotes in the format: always in JSON; in logfmt when
 * empty or holding spaces, quotes or '='. */
static int needs_quotes(const char *v)
{
	return log_fmt == LOG_FMT_JSON || *v == '\0' || strpbrk(v, " \"=\t") != NULL;
}

/* Appends the characters of a value, escaped for the format: control bytes
 * become '?' in logfmt and \u00XX in JSON, so one event is always one line;
 * bytes that are not ASCII (names and answers from outside are not always
 * UTF-8) become the text \xNN in both, so a JSON line is always valid. */
static void put_escaped(struct line *l, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p && !l->full; p++) {
		char esc[8];
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put(l, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			if (log_fmt == LOG_FMT_JSON) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				puts_(l, esc);
			} else {
				put(l, "?", 1);
			}
		} else if (*p >= 0x80) {
			snprintf(esc, sizeof(esc), log_fmt == LOG_FMT_JSON ? "\\\\x%02x" : "\\x%02x", *p);
			puts_(l, esc);
		} else {
			put(l, (const char *)p, 1);
		}
	}
}

/* A field; NUMBER nonzero writes V bare in JSON (it is a number).  The key
 * and the value's opening quote go in as one piece, so a line that fills up
 * is cut inside a value, which the tail then closes. */
static void put_field_as(struct line *l, const char *key, const char *v, int number)
{
	char head[96];
	int quote = !number && needs_quotes(v);

	if (log_fmt == LOG_FMT_JSON)
		snprintf(head, sizeof(head), "%s\"%s\":%s", l->len > 1 ? "," : "", key,
		         quote ? "\"" : "");
	else
		snprintf(head, sizeof(head), "%s%s=%s", l->len > 0 ? " " : "", key,
		         quote ? "\"" : "");
	if (number) {
		char both[128];
		snprintf(both, sizeof(both), "%s%s", head, v);
		puts_(l, both);
		return;
	}
	size_t before = l->len;
	puts_(l, head);
	if (l->len == before)
		return;           /* not even the key fitted: the field is left out */
	put_escaped(l, v);
	if (quote) {
		if (l->full)
			put_tail(l, "\"");
		else
			put(l, "\"", 1);
	}
}

static void put_field(struct line *l, const char *key, const char *v)
{
	put_field_as(l, key, v, 0);
}

static void emit(enum log_level lvl, const struct log_job *ctx,
                 const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void emit(enum log_level lvl, const struct log_job *ctx,
                 const char *fmt, va_list ap)
{
	struct line l = { .len = 0, .full = 0 };
	char ts[40], msg[LOG_LINE_MAX], num[32];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);
	vsnprintf(msg, sizeof(msg), fmt, ap);

	if (log_fmt == LOG_FMT_JSON)
		put(&l, "{", 1);
	put_field(&l, "time", ts);
	put_field(&l, "level", level_names[lvl]);
	if (ctx) {
		if (ctx->stage)
			put_field(&l, "stage", ctx->stage);
		if (ctx->job_id)
			put_field(&l, "job", ctx->job_id);
		if (ctx->domain)
			put_field(&l, "domain", ctx->domain);
		if (ctx->outcome)
			put_field(&l, "outcome", ctx->outcome);
		if (ctx->duration_ms >= 0) {
			snprintf(num, sizeof(num), "%ld", ctx->duration_ms);
			put_field_as(&l, "duration_ms", num, 1);
		}
	}
	put_field(&l, "msg", msg);
	if (log_fmt == LOG_FMT_JSON)
		put_tail(&l, "}");
	put_tail(&l, "\n");
	ssize_t w = write(STDERR_FILENO, l.buf, l.len);
	(void)w;
}

int log_enabled(enum log_level lvl)
{
	return lvl >= log_min;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	emit(lvl, NULL, fmt, ap);
	va_end(ap);
}

void log_jobmsg(enum log_level lvl, const struct log_job *ctx,
                const char *fmt, ...)
{
	va_list ap;
	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	emit(lvl, ctx, fmt, ap);
	va_end(ap);
}
