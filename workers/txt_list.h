/*
 * txt_list: the domain record's "txt" field, the TXT values that may be
 * published for the domain: "<target> <value>" pairs separated by ';'
 * (schemas/lifecycle.md, "The domain record").  Parsed here only; the
 * parse and the format are pure; pipeline_txt_cleanup() (pipeline.h)
 * removes what a list names.
 */
#ifndef DCV_TXT_LIST_H
#define DCV_TXT_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define TXT_LIST_MAX 8192      /* one list: 16 names' targets and values */
#define TXT_LIST_ENTRIES 128

struct txt_entry {
	const char *name;      /* the target (borrowed from the list's buf) */
	const char *value;
};

struct txt_list {
	char buf[2 * TXT_LIST_MAX + 2];  /* the old and the new values together */
	struct txt_entry e[TXT_LIST_ENTRIES];
	int n;
};

/* Parses S (NULL or "": empty) into L.  Entries without a space are
 * skipped; past TXT_LIST_ENTRIES, or past the buffer, the rest is
 * ignored. */
void txt_list_parse(struct txt_list *l, const char *s);

/* The N pairs NAMES[i] VALUES[i], as the record holds them, into OUT (LEN
 * bytes).  0, or -1 when they do not fit. */
int txt_list_format(const char *const *names, const char *const *values, int n,
                    char *out, size_t len);

#endif
