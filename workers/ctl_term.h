/*
 * ctl_term: what dcvctl does differently on a terminal, and only there.
 *
 * Colour and progress are for a person watching: a pipe, a file or a
 * script gets the same bytes as before, without escape sequences.  Colour
 * follows the NO_COLOR convention (no-color.org: set and not empty turns
 * it off) and a TERM of "dumb".
 *
 * Values read from Redis are shown in text output through ctl_term_safe(),
 * so that whoever can write to Redis cannot put escape sequences on the
 * operator's terminal (JSON output is escaped by jansson).
 */
#ifndef DCV_CTL_TERM_H
#define DCV_CTL_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Whether F is a terminal that takes colour. */
bool ctl_term_colour(FILE *f);

/* The SGR sequence for a domain STATE by its kind (lifecycle_names.h):
 * green for issued (HELD), yellow for a pipeline at work (RUN), red for
 * failed and abandoned (END), dim for parked and offboarded (GONE); "" for
 * a value that is no state.  Static. */
const char *ctl_term_state(const char *state);

#define CTL_TERM_RED "\033[31m"
#define CTL_TERM_RESET "\033[0m"

/* IN (NULL: "") into OUT (LEN > 0 bytes, truncated to fit, always
 * terminated) with every byte below 0x20, 0x7f and every byte from 0x80
 * (so UTF-8 too, for simplicity) replaced by '?'.  Returns OUT. */
const char *ctl_term_safe(const char *in, char *out, size_t len);

/* Progress of a long input on stderr, redrawn in place at most every
 * 200 ms: a count, the rate and, when the input's size is known, the time
 * left.  Inert unless stderr is a terminal. */
struct ctl_progress {
	bool on;                 /* stderr is a terminal */
	long long start_ms, last_ms;
	long long size;          /* bytes of the input, 0: unknown */
	bool drawn;              /* a line is on the screen */
};

/* Starts P for input F (its size, when it is a regular file). */
void ctl_progress_start(struct ctl_progress *p, FILE *f);

/* Redraws P after COUNT items, the input being at byte OFFSET (-1:
 * unknown); FORCE draws whatever the time since the last line. */
void ctl_progress_step(struct ctl_progress *p, size_t count, long long offset, bool force);

/* Ends the line P drew, if any, so that what follows starts on its own. */
void ctl_progress_end(struct ctl_progress *p);

#endif
