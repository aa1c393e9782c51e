/*
 * ctl_term: colour and progress on a terminal only (ctl_term.h).
 */
#include "ctl_term.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadline.h"
#include "lifecycle_names.h"

bool ctl_term_colour(FILE *f)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
	if (no && *no)
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(f)) == 1;
}

const char *ctl_term_state(const char *state)
{
	int s = state ? domain_state_parse(state) : -1;
	if (s < 0)
		return "";
	switch (domain_state_kind((enum domain_state)s)) {
	case STATE_KIND_HELD: return "\033[32m";
	case STATE_KIND_RUN: return "\033[33m";
	case STATE_KIND_END: return CTL_TERM_RED;
	case STATE_KIND_GONE: return "\033[2m";
	}
	return "";
}

const char *ctl_term_safe(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p && o + 1 < len; p++)
		out[o++] = *p < 0x20 || *p >= 0x7f ? '?' : (char)*p;
	out[o] = '\0';
	return out;
}

void ctl_progress_start(struct ctl_progress *p, FILE *f)
{
	struct stat st;

	memset(p, 0, sizeof(*p));
	p->on = isatty(STDERR_FILENO) == 1;
	p->start_ms = p->last_ms = deadline_now_ms();
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
		p->size = (long long)st.st_size;
}

void ctl_progress_step(struct ctl_progress *p, size_t count, long long offset, bool force)
{
	long long now = deadline_now_ms();
	char left[48] = "";

	if (!p->on || (!force && now - p->last_ms < 200))
		return;
	p->last_ms = now;
	double secs = (double)(now - p->start_ms) / 1000.0;
	double rate = secs > 0 ? (double)count / secs : 0;
	if (p->size > 0 && offset > 0 && offset < p->size && secs > 0) {
		long long rest = (long long)(secs * (double)(p->size - offset) / (double)offset + 0.5);
		snprintf(left, sizeof(left), ", about %lld:%02lld left", rest / 60, rest % 60);
	}
	fprintf(stderr, "\r\033[K%zu queued, %.0f/s%s", count, rate, left);
	fflush(stderr);
	p->drawn = true;
}

void ctl_progress_end(struct ctl_progress *p)
{
	if (p->on && p->drawn) {
		fputc('\n', stderr);
		fflush(stderr);
	}
	p->drawn = false;
}
