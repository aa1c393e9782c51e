/*
 * fuzz_cfg: the configuration loader (common/cfg.c) and every module
 * loader dcv-worker and dcvctl run over it: worker_cfg_load (redis,
 * worker, log, streams, metrics, validation, stages), then, as dcvctl and
 * the stages read them, lifecycle, ratelimit, acme, dns and provider
 * (modules_cfg_check), then the unknown-key check.
 *
 * The input is a YAML file, optionally followed by a line "#ENV" (a YAML
 * comment, so the whole input is still a file) and lines NAME=VALUE set in
 * the environment for the run (DCV_ is put in front of a NAME without it),
 * since every key can be overridden from there.  Checked beyond the
 * sanitizers: a file refused at load has a message naming it; every error
 * recorded names the file (and line) or the variable, sits on its own line
 * (no control character inside), and there are at most as many as the cap
 * says.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "fuzz.h"
#include "modules_cfg.h"
#include "worker.h"

#define ENV_MAX 16
#define NAME "fuzz.yaml"

/* The variables set for this input, unset afterwards. */
static char env_names[ENV_MAX][128];
static int n_env;

static void set_env(char *lines)
{
	for (char *save = NULL, *l = strtok_r(lines, "\n", &save); l && n_env < ENV_MAX;
	     l = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(l, '=');
		if (!eq || eq == l)
			continue;
		*eq = '\0';
		snprintf(env_names[n_env], sizeof(env_names[0]), "%s%s",
		         strncmp(l, "DCV_", 4) == 0 ? "" : "DCV_", l);
		if (setenv(env_names[n_env], eq + 1, 1) == 0)
			n_env++;
	}
}

static void clear_env(void)
{
	while (n_env > 0)
		unsetenv(env_names[--n_env]);
}

static void check_errors(const char *e)
{
	size_t lines = 0;

	while (e && *e) {
		size_t n = strcspn(e, "\n");
		FUZZ_CHECK(strncmp(e, NAME, strlen(NAME)) == 0 ||
		           strncmp(e, "DCV_", 4) == 0 ||
		           strncmp(e, "out of memory", 13) == 0 ||
		           strncmp(e, "(", 1) == 0 /* "(N more errors not shown)" */);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK((unsigned char)e[i] >= 0x20 && e[i] != 0x7f);
		lines++;
		e += n + (e[n] == '\n');
	}
	FUZZ_CHECK(lines <= 65);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct worker_cfg wc;
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char *env = strstr(text, "\n#ENV\n");
	if (env) {
		*env = '\0';
		set_env(env + 6);
	}
	err[0] = '\0';
	struct cfg *c = cfg_load_string(text, NAME, err, sizeof(err));
	if (!c) {
		FUZZ_CHECK(strncmp(err, NAME, strlen(NAME)) == 0);
		goto out;
	}
	worker_cfg_load(c, &wc);
	if (strcmp(wc.handlers, "noop") == 0) {
		static const char *const modules[] = { "acme", "dns", "provider",
		                                       "lifecycle", "ratelimit" };
		for (size_t k = 0; k < sizeof(modules) / sizeof(*modules); k++)
			cfg_skip(c, modules[k]);
	} else {
		modules_cfg_check(c, cfg_has(c, "provider"));
	}
	cfg_check_unknown(c);
	check_errors(cfg_error(c));
	cfg_free(c);
out:
	clear_env();
	free(text);
	return 0;
}
