/*
 * replay: the main of a harness outside libFuzzer.  Runs every file named
 * on the command line, or found in a directory named there, through
 * LLVMFuzzerTestOneInput once, so that the plain and the sanitizer builds
 * replay each seed corpus (ctest fuzz_replay_NAME).  A harness that finds a
 * bug aborts (assert, sanitizer), which fails the test.  No file at all is
 * an error too: an empty corpus would test nothing.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Largest input replayed (libFuzzer's -max_len is smaller still). */
#define REPLAY_MAX (1024 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* The custom mutators call libFuzzer's own; never called when replaying. */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size)
{
	(void)data;
	(void)max_size;
	return size;
}

/* Runs the file PATH; 0, or -1 when it cannot be read. */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(REPLAY_MAX);
	size_t n = 0;
	int rc = -1;

	if (!f || !buf) {
		fprintf(stderr, "replay: %s: cannot read\n", path);
		goto out;
	}
	n = fread(buf, 1, REPLAY_MAX, f);
	if (ferror(f) || !feof(f)) {
		fprintf(stderr, "replay: %s: unreadable or over %d bytes\n", path, REPLAY_MAX);
		goto out;
	}
	LLVMFuzzerTestOneInput(buf, n);
	rc = 0;
out:
	if (f)
		fclose(f);
	free(buf);
	return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	long files = 0;
	int rc = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **ents = NULL;
		int n;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: not found\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc |= run_file(argv[i]);
			files++;
			continue;
		}
		n = scandir(argv[i], &ents, NULL, by_name);
		for (int k = 0; k < n; k++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], ents[k]->d_name);
			if (ents[k]->d_name[0] != '.' && stat(path, &st) == 0 &&
			    S_ISREG(st.st_mode)) {
				rc |= run_file(path);
				files++;
			}
			free(ents[k]);
		}
		free(ents);
	}
	if (files == 0) {
		fprintf(stderr, "replay: no input files\n");
		return 1;
	}
	printf("replay: %ld inputs, no crash\n", files);
	return rc ? 1 : 0;
}
