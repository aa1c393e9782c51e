/*
 * dcv-script NAME: prints the Lua source of script NAME (scripts.h, e.g.
 * "onboard", "claim", "release"), so that a test can run each script
 * directly against a real redis-server (test_tenant.py).  Exits 2 for an
 * unknown name, listing the known ones.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "scripts.h"

int main(int argc, char **argv)
{
	char name[32];
	size_t n = 0;

	if (argc != 2 || strlen(argv[1]) >= sizeof(name)) {
		fprintf(stderr, "usage: %s NAME\n", argv[0]);
		return 2;
	}
	for (; argv[1][n]; n++)
		name[n] = (char)tolower((unsigned char)argv[1][n]);
	name[n] = '\0';
	for (int id = 0; id < SCRIPT_COUNT; id++) {
		if (strcmp(script_name((enum script_id)id), name) == 0) {
			printf("%s", script_source((enum script_id)id));
			return 0;
		}
	}
	fprintf(stderr, "%s: unknown script '%s'; known:", argv[0], name);
	for (int id = 0; id < SCRIPT_COUNT; id++)
		fprintf(stderr, " %s", script_name((enum script_id)id));
	fprintf(stderr, "\n");
	return 2;
}
