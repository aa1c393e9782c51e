/*
 * fuzz: what the harnesses share: libFuzzer's entry points and a reader of
 * the fuzzer's bytes that splits one input into the several arguments a
 * function under test takes.
 */
#ifndef DCV_FUZZ_H
#define DCV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* Aborts with a message when an invariant of the code under test breaks:
 * the fuzzer records the input as a crash.  (assert() would vanish under
 * NDEBUG, which RelWithDebInfo does not set but a packager might.) */
#define FUZZ_CHECK(cond)                                                      \
	do {                                                                  \
		if (!(cond))                                                  \
			fuzz_fail(__FILE__, __LINE__, #cond);                 \
	} while (0)

__attribute__((noreturn)) static inline void fuzz_fail(const char *file,
                                                      int line,
                                                      const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

/* The input, read from the front. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/* One byte, 0 when the input is used up. */
static inline uint8_t fuzz_byte(struct fuzz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

/* Two bytes, big-endian. */
static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t hi = fuzz_byte(in);
	return (uint16_t)(hi << 8 | fuzz_byte(in));
}

/* The bytes up to the next SEP (or the end) as a NUL-terminated string in
 * OUT (CAP bytes, cut to fit; NUL bytes inside end it early, as a C caller
 * would see them).  Skips the separator. */
static inline const char *fuzz_str(struct fuzz_in *in, char sep, char *out,
                                   size_t cap)
{
	const uint8_t *e = memchr(in->p, sep, in->n);
	size_t len = e ? (size_t)(e - in->p) : in->n;
	size_t k = len < cap - 1 ? len : cap - 1;

	memcpy(out, in->p, k);
	out[k] = '\0';
	in->p += len;
	in->n -= len;
	if (e) {
		in->p++;
		in->n--;
	}
	return out;
}

#endif
