/*
 * metrics: the registry (families of series, atomics for values) and its
 * exposition in the text format.  The HTTP server in front of it and the
 * configuration section are metrics_http.c.  See metrics.h for the
 * contract.
 */
#include "metrics.h"

#include "log.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double metrics_handler_buckets[] = {
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};
const size_t metrics_handler_nbuckets =
	sizeof(metrics_handler_buckets) / sizeof(metrics_handler_buckets[0]);

#define DROPPED_NAME "dcv_metrics_series_dropped_total"
#define DROPPED_HELP "Series not created because the registry was full."

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

static const char *const type_names[] = { "counter", "gauge", "histogram" };

struct family;

/* One time series.  Never moves once created (handles point at it). */
struct series {
	struct family *fam;        /* the family it belongs to */
	char *labels;              /* label text, "" for none */
	_Atomic double value;      /* counter/gauge value; histogram _sum */
	_Atomic uint64_t *buckets; /* histogram: per-bucket counts, nbounds+1
	                              (the last is +Inf); NULL otherwise */
};

struct family {
	char *name;                         /* metric name */
	char *help;                         /* help text, unescaped */
	enum mtype type;                    /* counter, gauge or histogram */
	double bounds[METRICS_MAX_BUCKETS]; /* histogram upper bounds */
	size_t nbounds;                     /* number of bounds used */
	struct series **series;             /* series, in creation order */
	size_t nseries, cap;                /* used and allocated slots */
};

/* The process's registry.  LOCK guards the arrays, not the values. */
static struct {
	pthread_mutex_t lock;
	struct family *fams[METRICS_MAX_FAMILIES];
	size_t nfams;
	size_t nseries;           /* series over all families */
	struct series *dropped;   /* dcv_metrics_series_dropped_total */
} reg = { .lock = PTHREAD_MUTEX_INITIALIZER };

const char *metrics_strerror(enum metrics_status st)
{
	switch (st) {
	case METRICS_OK: return "ok";
	case METRICS_EINVAL: return "invalid name, labels, bounds or address";
	case METRICS_ETYPE: return "metric exists with another type or buckets";
	case METRICS_EFULL: return "metrics registry full";
	case METRICS_ENOMEM: return "out of memory";
	case METRICS_ETOOBIG: return "labels or exposition too large";
	case METRICS_EHTTP: return "cannot start the metrics HTTP server";
	case METRICS_EBUSY: return "metrics server already running";
	}
	return "unknown metrics status";
}

/* ---- validation ---------------------------------------------------- */

static bool name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	if (colon && c == ':')
		return true;
	return !first && c >= '0' && c <= '9';
}

/* Metric names: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static bool valid_metric_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (size_t i = 0; s[i]; i++)
		if (!name_char(s[i], i == 0, true))
			return false;
	return true;
}

/* Label text: name="value" pairs separated by commas; values escaped (only
 * \\, \" and \n after a backslash; no raw quote or newline).  Label names
 * starting with "__" are reserved, and "le" is reserved for histograms. */
static bool valid_labels(const char *s, bool histogram)
{
	const char *p = s;

	if (strlen(s) > METRICS_MAX_LABELS_LEN)
		return false;
	while (*p) {
		const char *n = p;
		while (name_char(*p, p == n, false))
			p++;
		if (p == n || (p - n >= 2 && n[0] == '_' && n[1] == '_'))
			return false;
		if (histogram && p - n == 2 && n[0] == 'l' && n[1] == 'e')
			return false;
		if (p[0] != '=' || p[1] != '"')
			return false;
		for (p += 2; *p != '"'; p++) {
			if (*p == '\0' || *p == '\n')
				return false;
			if (*p == '\\') {
				p++;
				if (*p != '\\' && *p != '"' && *p != 'n')
					return false;
			}
		}
		p++;
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			return false;
	}
	return true;
}

enum metrics_status metrics_labels(char *buf, size_t len, ...)
{
	enum metrics_status st = METRICS_OK;
	size_t o = 0;
	const char *name;
	va_list ap;

	if (len == 0)
		return METRICS_ETOOBIG;
	va_start(ap, len);
	while ((name = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);
		size_t nl = strlen(name);

		for (size_t i = 0; i < nl; i++)
			if (!name_char(name[i], i == 0, false))
				st = METRICS_EINVAL;
		if (nl == 0)
			st = METRICS_EINVAL;
		if (st != METRICS_OK)
			goto out;
		/* worst case: comma, name, =", value doubled, " */
		if (o + 1 + nl + 2 + 1 >= len)
			goto toobig;
		if (o > 0)
			buf[o++] = ',';
		memcpy(buf + o, name, nl);
		o += nl;
		buf[o++] = '=';
		buf[o++] = '"';
		for (; v && *v; v++) {
			const char *esc = NULL;
			if (*v == '\\')
				esc = "\\\\";
			else if (*v == '"')
				esc = "\\\"";
			else if (*v == '\n')
				esc = "\\n";
			if (o + (esc ? 2 : 1) + 1 >= len)
				goto toobig;
			if (esc) {
				buf[o++] = esc[0];
				buf[o++] = esc[1];
			} else {
				buf[o++] = *v;
			}
		}
		if (o + 1 >= len)
			goto toobig;
		buf[o++] = '"';
	}
	buf[o] = '\0';
	goto out;
toobig:
	st = METRICS_ETOOBIG;
out:
	va_end(ap);
	if (st != METRICS_OK)
		buf[0] = '\0';
	return st;
}

/* ---- registry ------------------------------------------------------ */

static void atomic_add_double(_Atomic double *p, double v)
{
	double old = atomic_load_explicit(p, memory_order_relaxed);
	while (!atomic_compare_exchange_weak_explicit(p, &old, old + v,
	                                              memory_order_relaxed,
	                                              memory_order_relaxed))
		;
}

static void series_free(struct series *s)
{
	if (!s)
		return;
	free(s->labels);
	free((void *)s->buckets);
	free(s);
}

static void family_free(struct family *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nseries; i++)
		series_free(f->series[i]);
	free(f->series);
	free(f->name);
	free(f->help);
	free(f);
}

static struct family *family_find(const char *name)
{
	for (size_t i = 0; i < reg.nfams; i++)
		if (strcmp(reg.fams[i]->name, name) == 0)
			return reg.fams[i];
	return NULL;
}

static bool same_bounds(const struct family *f, const double *b, size_t n)
{
	if (f->nbounds != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (f->bounds[i] != b[i])
			return false;
	return true;
}

/* Finds or creates the family; caller holds the lock. */
static enum metrics_status family_get(const char *name, const char *help,
                                      enum mtype t, const double *bounds,
                                      size_t nbounds, struct family **out)
{
	struct family *f = family_find(name);

	if (f) {
		if (f->type != t || (t == M_HISTOGRAM && !same_bounds(f, bounds, nbounds)))
			return METRICS_ETYPE;
		*out = f;
		return METRICS_OK;
	}
	if (reg.nfams >= METRICS_MAX_FAMILIES)
		return METRICS_EFULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return METRICS_ENOMEM;
	f->name = strdup(name);
	f->help = strdup(help ? help : "");
	if (!f->name || !f->help) {
		family_free(f);
		return METRICS_ENOMEM;
	}
	f->type = t;
	if (t == M_HISTOGRAM) {
		memcpy(f->bounds, bounds, nbounds * sizeof(*bounds));
		f->nbounds = nbounds;
	}
	reg.fams[reg.nfams++] = f;
	*out = f;
	return METRICS_OK;
}

/* Finds or creates the series LABELS of family F; caller holds the lock.
 * UNCAPPED lets the dropped-series counter itself exist when full. */
static enum metrics_status series_get(struct family *f, const char *labels,
                                      bool uncapped, struct series **out)
{
	struct series *s = NULL;

	for (size_t i = 0; i < f->nseries; i++)
		if (strcmp(f->series[i]->labels, labels) == 0) {
			*out = f->series[i];
			return METRICS_OK;
		}
	if (!uncapped && reg.nseries >= METRICS_MAX_SERIES)
		return METRICS_EFULL;
	if (f->nseries == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 8;
		struct series **n = realloc(f->series, ncap * sizeof(*n));
		if (!n)
			return METRICS_ENOMEM;
		f->series = n;
		f->cap = ncap;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return METRICS_ENOMEM;
	s->fam = f;
	s->labels = strdup(labels);
	if (f->type == M_HISTOGRAM)
		s->buckets = calloc(f->nbounds + 1, sizeof(*s->buckets));
	if (!s->labels || (f->type == M_HISTOGRAM && !s->buckets)) {
		series_free(s);
		return METRICS_ENOMEM;
	}
	atomic_init(&s->value, 0.0);
	f->series[f->nseries++] = s;
	reg.nseries++;
	*out = s;
	return METRICS_OK;
}

/* Counts a refused series in the dropped counter; caller holds the lock.
 * Returns true for the first drop only, so a flood of new label values is
 * logged once, not once per value. */
static bool note_dropped(void)
{
	struct family *f = NULL;
	bool first = !reg.dropped;

	if (!reg.dropped &&
	    family_get(DROPPED_NAME, DROPPED_HELP, M_COUNTER, NULL, 0, &f) == METRICS_OK)
		series_get(f, "", true, &reg.dropped);
	if (reg.dropped)
		atomic_add_double(&reg.dropped->value, 1);
	return first;
}

static enum metrics_status lookup(const char *name, const char *help,
                                  const char *labels, enum mtype t,
                                  const double *bounds, size_t nbounds,
                                  struct series **out)
{
	enum metrics_status st = METRICS_EINVAL;
	struct family *f = NULL;
	bool quiet = false;

	*out = NULL;
	if (!labels)
		labels = "";
	if (!valid_metric_name(name) || !valid_labels(labels, t == M_HISTOGRAM))
		goto fail;
	if (t == M_HISTOGRAM) {
		if (!bounds || nbounds == 0 || nbounds > METRICS_MAX_BUCKETS)
			goto fail;
		for (size_t i = 0; i < nbounds; i++)
			if (!isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1]))
				goto fail;
	}
	pthread_mutex_lock(&reg.lock);
	st = family_get(name, help, t, bounds, nbounds, &f);
	if (st == METRICS_OK)
		st = series_get(f, labels, false, out);
	if (st == METRICS_EFULL)
		quiet = !note_dropped();
	pthread_mutex_unlock(&reg.lock);
	if (st == METRICS_OK || quiet)
		return st;
fail:
	log_msg(LOG_WARN, "metrics: cannot register %s{%.200s}: %s",
	        name ? name : "(null)", labels, metrics_strerror(st));
	return st;
}

struct metrics_counter *metrics_counter(const char *name, const char *help,
                                        const char *labels)
{
	struct series *s;
	lookup(name, help, labels, M_COUNTER, NULL, 0, &s);
	return (struct metrics_counter *)s;
}

void metrics_counter_incby(struct metrics_counter *c, double v)
{
	if (c && v >= 0) /* also rejects NaN */
		atomic_add_double(&((struct series *)c)->value, v);
}

void metrics_counter_inc(struct metrics_counter *c)
{
	metrics_counter_incby(c, 1);
}

enum metrics_status metrics_counter_add(const char *name, const char *help,
                                        const char *labels, double v)
{
	struct series *s;
	enum metrics_status st = lookup(name, help, labels, M_COUNTER, NULL, 0, &s);
	if (st == METRICS_OK)
		metrics_counter_incby((struct metrics_counter *)s, v);
	return st;
}

struct metrics_gauge *metrics_gauge(const char *name, const char *help,
                                    const char *labels)
{
	struct series *s;
	lookup(name, help, labels, M_GAUGE, NULL, 0, &s);
	return (struct metrics_gauge *)s;
}

void metrics_gauge_set(struct metrics_gauge *g, double v)
{
	if (g)
		atomic_store_explicit(&((struct series *)g)->value, v,
		                      memory_order_relaxed);
}

void metrics_gauge_add(struct metrics_gauge *g, double v)
{
	if (g)
		atomic_add_double(&((struct series *)g)->value, v);
}

struct metrics_histogram *metrics_histogram(const char *name, const char *help,
                                            const char *labels,
                                            const double *bounds, size_t nbounds)
{
	struct series *s;
	lookup(name, help, labels, M_HISTOGRAM, bounds, nbounds, &s);
	return (struct metrics_histogram *)s;
}

void metrics_observe(struct metrics_histogram *h, double v)
{
	struct series *s = (struct series *)h;
	size_t i = 0;

	if (!s || isnan(v))
		return;
	/* bounds are few (<= METRICS_MAX_BUCKETS): a linear scan is cheapest */
	while (i < s->fam->nbounds && v > s->fam->bounds[i])
		i++;
	atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
	atomic_add_double(&s->value, v);
}

void metrics_reset(void)
{
	pthread_mutex_lock(&reg.lock);
	for (size_t i = 0; i < reg.nfams; i++)
		family_free(reg.fams[i]);
	reg.nfams = 0;
	reg.nseries = 0;
	reg.dropped = NULL;
	pthread_mutex_unlock(&reg.lock);
}

/* ---- exposition ---------------------------------------------------- */

/* A growing output buffer capped at METRICS_MAX_RENDER. */
struct out {
	char *buf;
	size_t len, cap;
	bool failed;  /* out of memory or over the cap: result is dropped */
};

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t ncap = o->cap ? o->cap : 4096;
		char *nb;
		while (o->len + n + 1 > ncap)
			ncap *= 2;
		if (ncap > METRICS_MAX_RENDER || !(nb = realloc(o->buf, ncap))) {
			o->failed = true;
			return;
		}
		o->buf = nb;
		o->cap = ncap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

/* Formats V as the text format expects: shortest of %.15g / %.17g that
 * reads back exactly, and +Inf, -Inf, NaN. */
static void fmt_double(char *buf, size_t n, double v)
{
	if (isnan(v))
		snprintf(buf, n, "NaN");
	else if (isinf(v))
		snprintf(buf, n, "%s", v > 0 ? "+Inf" : "-Inf");
	else if (snprintf(buf, n, "%.15g", v), strtod(buf, NULL) != v)
		snprintf(buf, n, "%.17g", v);
}

static void out_double(struct out *o, double v)
{
	char b[40];
	fmt_double(b, sizeof(b), v);
	out_str(o, b);
}

/* NAME SUFFIX {LABELS[,EXTRA]} */
static void out_sample_name(struct out *o, const struct family *f,
                            const char *suffix, const char *labels,
                            const char *extra)
{
	out_str(o, f->name);
	out_str(o, suffix);
	if (*labels || extra) {
		out_str(o, "{");
		out_str(o, labels);
		if (*labels && extra)
			out_str(o, ",");
		if (extra)
			out_str(o, extra);
		out_str(o, "}");
	}
	out_str(o, " ");
}

static void out_help(struct out *o, const char *h)
{
	for (; *h; h++) {
		if (*h == '\\')
			out_str(o, "\\\\");
		else if (*h == '\n')
			out_str(o, "\\n");
		else
			out_put(o, h, 1);
	}
}

static void out_series(struct out *o, const struct series *s)
{
	const struct family *f = s->fam;
	double v = atomic_load_explicit(&s->value, memory_order_relaxed);

	if (f->type != M_HISTOGRAM) {
		out_sample_name(o, f, "", s->labels, NULL);
		out_double(o, v);
		out_str(o, "\n");
		return;
	}
	uint64_t cum = 0;
	for (size_t i = 0; i <= f->nbounds; i++) {
		char le[48], n[24];
		cum += atomic_load_explicit(&s->buckets[i], memory_order_relaxed);
		if (i < f->nbounds) {
			char b[40];
			fmt_double(b, sizeof(b), f->bounds[i]);
			snprintf(le, sizeof(le), "le=\"%s\"", b);
		} else {
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		}
		out_sample_name(o, f, "_bucket", s->labels, le);
		snprintf(n, sizeof(n), "%llu\n", (unsigned long long)cum);
		out_str(o, n);
	}
	out_sample_name(o, f, "_sum", s->labels, NULL);
	out_double(o, v);
	out_str(o, "\n");
	out_sample_name(o, f, "_count", s->labels, NULL);
	char n[24];
	snprintf(n, sizeof(n), "%llu\n", (unsigned long long)cum);
	out_str(o, n);
}

static int cmp_family(const void *a, const void *b)
{
	return strcmp((*(struct family *const *)a)->name,
	              (*(struct family *const *)b)->name);
}

static int cmp_series(const void *a, const void *b)
{
	return strcmp((*(struct series *const *)a)->labels,
	              (*(struct series *const *)b)->labels);
}

char *metrics_render(size_t *len)
{
	struct out o = { 0 };
	struct family *fams[METRICS_MAX_FAMILIES];
	struct series **ser = NULL;
	size_t nfams;

	pthread_mutex_lock(&reg.lock);
	nfams = reg.nfams;
	memcpy(fams, reg.fams, nfams * sizeof(fams[0]));
	qsort(fams, nfams, sizeof(fams[0]), cmp_family);
	out_put(&o, "", 0); /* an empty registry renders as "" */
	for (size_t i = 0; i < nfams && !o.failed; i++) {
		struct family *f = fams[i];
		struct series **n = realloc(ser, (f->nseries + 1) * sizeof(*ser));
		if (!n) {
			o.failed = true;
			break;
		}
		ser = n;
		memcpy(ser, f->series, f->nseries * sizeof(*ser));
		qsort(ser, f->nseries, sizeof(*ser), cmp_series);
		out_str(&o, "# HELP ");
		out_str(&o, f->name);
		out_str(&o, " ");
		out_help(&o, f->help);
		out_str(&o, "\n# TYPE ");
		out_str(&o, f->name);
		out_str(&o, " ");
		out_str(&o, type_names[f->type]);
		out_str(&o, "\n");
		for (size_t j = 0; j < f->nseries; j++)
			out_series(&o, ser[j]);
	}
	pthread_mutex_unlock(&reg.lock);
	free(ser);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	if (len)
		*len = o.len;
	return o.buf;
}
