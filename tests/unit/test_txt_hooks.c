/* The pure parts of the webhook and exec TXT providers: the body and its
 * signature (against the vectors of schemas/webhook-vectors.yaml), the URL
 * rule, the classification of answers and exit statuses, the program's
 * environment; then the exec provider itself with small /bin/sh programs
 * written here (the arguments arrive unsplit, the exit codes, the timeout
 * that kills the process group, the bounded stderr). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cfg.h"
#include "deadline.h"
#include "txt_answer.h"
#include "txt_provider.h"

#define SECRET "test-secret-0123456789abcdef"
#define NAME "www.example.com.validation.example.net"
#define VALUE "gfj9Xq-c3aY2OCmuU1RRtLTr6MUWrWW1xGGQxSvV5uI"

static void test_body_and_vectors(void **state)
{
	(void)state;
	char sig[65];
	char *b = txt_webhook_body("present", NAME, VALUE, "validation.example.net",
	                           60, "00112233445566778899aabbccddeeff");
	assert_non_null(b);
	assert_string_equal(b, "{\"action\":\"present\",\"name\":\"" NAME "\",\"value\":\""
	                    VALUE "\",\"zone\":\"validation.example.net\",\"ttl\":60,"
	                    "\"id\":\"00112233445566778899aabbccddeeff\"}");
	assert_int_equal(txt_webhook_sign(SECRET, strlen(SECRET), 1767225600LL, b,
	                                  strlen(b), sig), 0);
	assert_string_equal(sig, "6940b6fb1a062d77451f6e9439e5749886f155477fd91489c364c4691c2cbe3e");
	/* the timestamp is signed: another one, another signature */
	assert_int_equal(txt_webhook_sign(SECRET, strlen(SECRET), 1767225601LL, b,
	                                  strlen(b), sig), 0);
	assert_string_equal(sig, "60b1a81491aa7f184a2294053a558af04627f3265d3dca4fdec4c80cf71d194c");
	free(b);
	b = txt_webhook_body("cleanup", NAME, VALUE, "validation.example.net", 60,
	                     "ffeeddccbbaa99887766554433221100");
	assert_int_equal(txt_webhook_sign(SECRET, strlen(SECRET), 1767225660LL, b,
	                                  strlen(b), sig), 0);
	assert_string_equal(sig, "dc6a5a4a4d6e76a65c6bffad632386c5beb9a1621a569120a45cf15002a71dfc");
	free(b);
}

static void test_url_rule(void **state)
{
	(void)state;
	char origin[TXT_URL_MAX], err[200];

	assert_int_equal(txt_webhook_url_check("https://dns-hook.example.net:8443/v1/acme?t=x",
	                                       false, origin, err, sizeof err), 0);
	assert_string_equal(origin, "https://dns-hook.example.net:8443");
	assert_int_equal(txt_webhook_url_check("http://127.0.0.1:9000/hook", false, origin,
	                                       err, sizeof err), 0);
	assert_string_equal(origin, "http://127.0.0.1:9000");
	assert_int_equal(txt_webhook_url_check("http://[::1]:9000/", false, origin, err,
	                                       sizeof err), 0);
	assert_int_equal(txt_webhook_url_check("http://localhost/", false, origin, err,
	                                       sizeof err), 0);
	/* http:// elsewhere only when allowed */
	assert_int_equal(txt_webhook_url_check("http://10.0.0.5/hook", false, origin, err,
	                                       sizeof err), -1);
	assert_non_null(strstr(err, "allow_http"));
	assert_int_equal(txt_webhook_url_check("http://10.0.0.5/hook", true, origin, err,
	                                       sizeof err), 0);
	/* a host that starts like loopback is not loopback */
	assert_int_equal(txt_webhook_url_check("http://127.0.0.1.evil.example/", false,
	                                       origin, err, sizeof err), -1);
	assert_int_equal(txt_webhook_url_check("http://127.0.0.1./", false, origin, err,
	                                       sizeof err), -1);
	assert_int_equal(txt_webhook_url_check("http://127.9.8.7:1/", false, origin, err,
	                                       sizeof err), 0);
	assert_int_equal(txt_webhook_url_check("http://[0:0:0:0:0:0:0:1]/", false, origin, err,
	                                       sizeof err), 0);
	assert_int_equal(txt_webhook_url_check("http://[::2]/", false, origin, err,
	                                       sizeof err), -1);
	assert_int_equal(txt_webhook_url_check("http://127.0.0.1@evil.example/", false,
	                                       origin, err, sizeof err), -1);
	assert_int_equal(txt_webhook_url_check("https://user:pw@h.example/", false, origin,
	                                       err, sizeof err), -1);
	assert_null(strstr(err, "pw"));
	assert_int_equal(txt_webhook_url_check("ftp://h.example/", true, origin, err,
	                                       sizeof err), -1);
	assert_int_equal(txt_webhook_url_check("https:///x", false, origin, err,
	                                       sizeof err), -1);
	assert_int_equal(txt_webhook_url_check("https://h.example/a b", false, origin, err,
	                                       sizeof err), -1);
}

static void test_webhook_status(void **state)
{
	(void)state;
	char msg[TXT_MSG_MAX];
	const char *o = "https://h.example";
	const char *js = "{\"error\":\"zone\\u001b not \\nours\"}";

	assert_int_equal(txt_webhook_status(200, NULL, 0, o, "present", msg, sizeof msg), TXT_OK);
	assert_int_equal(txt_webhook_status(204, "x", 1, o, "present", msg, sizeof msg), TXT_OK);
	long transient[] = {0, 408, 429, 500, 502, 503, 504, 599};
	for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
		assert_int_equal(txt_webhook_status(transient[i], NULL, 0, o, "present", msg,
		                                    sizeof msg), TXT_TRANSIENT);
	long permanent[] = {100, 301, 302, 400, 401, 403, 404, 409, 413, 422, 600};
	for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++)
		assert_int_equal(txt_webhook_status(permanent[i], NULL, 0, o, "present", msg,
		                                    sizeof msg), TXT_PERMANENT);
	assert_int_equal(txt_webhook_status(403, js, strlen(js), o, "cleanup", msg, sizeof msg),
	                 TXT_PERMANENT);
	assert_string_equal(msg, "webhook: https://h.example: cleanup: HTTP 403 (zone? not ?ours)");
	/* a text body: its first line, printable */
	assert_int_equal(txt_webhook_status(502, "Bad\x01 gateway\nmore", 17, o, "present", msg,
	                                    sizeof msg), TXT_TRANSIENT);
	assert_string_equal(msg, "webhook: https://h.example: present: HTTP 502 (Bad? gateway)");
}

static void test_exec_status(void **state)
{
	(void)state;
	char msg[TXT_MSG_MAX];

	assert_int_equal(txt_exec_status(0, false, "/p", "present", "n", NULL, 0, msg,
	                                 sizeof msg), TXT_OK);
	assert_int_equal(txt_exec_status(75 << 8, false, "/p", "present", "n", "a\nlast\n", 7,
	                                 msg, sizeof msg), TXT_TRANSIENT);
	assert_string_equal(msg, "exec: /p present n: exit 75 (last)");
	assert_int_equal(txt_exec_status(1 << 8, false, "/p", "cleanup", "n", "", 0, msg,
	                                 sizeof msg), TXT_PERMANENT);
	assert_string_equal(msg, "exec: /p cleanup n: exit 1");
	assert_int_equal(txt_exec_status(64 << 8, false, "/p", "present", "n", NULL, 0, msg,
	                                 sizeof msg), TXT_PERMANENT);
	assert_int_equal(txt_exec_status(9, false, "/p", "present", "n", NULL, 0, msg,
	                                 sizeof msg), TXT_TRANSIENT); /* SIGKILL */
	assert_int_equal(txt_exec_status(0, true, "/p", "present", "n", NULL, 0, msg,
	                                 sizeof msg), TXT_TRANSIENT);
	assert_non_null(strstr(msg, "timed out"));
}

static void test_exec_env(void **state)
{
	(void)state;
	struct txt_provider_opts o;
	char *env[TXT_EXEC_ENV_MAX + 5], buf[4096];

	memset(&o, 0, sizeof o);
	snprintf(o.zone, sizeof o.zone, "validation.test");
	o.ttl = 30;
	snprintf(o.exec_env[0], sizeof o.exec_env[0], "KEYFILE=/etc/k");
	o.exec_nenv = 1;
	assert_int_equal(txt_exec_env(&o, env, buf, sizeof buf), 0);
	assert_string_equal(env[0], "PATH=/usr/local/bin:/usr/bin:/bin");
	assert_string_equal(env[1], "DCV_ZONE=validation.test");
	assert_string_equal(env[2], "DCV_TTL=30");
	assert_string_equal(env[3], "LC_ALL=C");
	assert_string_equal(env[4], "KEYFILE=/etc/k");
	assert_null(env[5]);
	assert_int_equal(txt_exec_env(&o, env, buf, 20), -1);
}

static struct cfg *load(const char *y, struct txt_provider_opts *o, int want)
{
	char err[256];
	struct cfg *c = cfg_load_string(y, "t.yaml", err, sizeof err);
	assert_non_null(c);
	assert_int_equal(txt_provider_cfg_load(c, o), want);
	return c;
}

static void test_config(void **state)
{
	(void)state;
	struct txt_provider_opts o;
	struct cfg *c;

	c = load("provider:\n  type: webhook\n  zone: validation.test\n"
	         "  webhook:\n    url: https://hook.example/dns\n"
	         "    secret: 0123456789abcdef-x\n", &o, 0);
	assert_int_equal(o.type, TXT_WEBHOOK);
	assert_string_equal(o.hook_url, "https://hook.example/dns");
	assert_string_equal(o.hook_secret, "0123456789abcdef-x");
	assert_false(o.hook_allow_http);
	cfg_free(c);
	/* from the environment, without the newline a Secret made from a
	 * file has */
	setenv("DCV_PROVIDER_WEBHOOK_SECRET", "0123456789abcdef-env\n", 1);
	c = load("provider:\n  type: webhook\n  zone: validation.test\n"
	         "  webhook:\n    url: https://hook.example/dns\n", &o, 0);
	assert_string_equal(o.hook_secret, "0123456789abcdef-env");
	cfg_free(c);
	/* from the environment; too short a secret is refused, unprinted */
	setenv("DCV_PROVIDER_WEBHOOK_SECRET", "shortsecret", 1);
	c = load("provider:\n  type: webhook\n  zone: validation.test\n"
	         "  webhook:\n    url: https://hook.example/dns\n", &o, -1);
	assert_non_null(strstr(cfg_error(c), "at least 16"));
	assert_null(strstr(cfg_error(c), "shortsecret"));
	cfg_free(c);
	unsetenv("DCV_PROVIDER_WEBHOOK_SECRET");
	/* a CA bundle that cannot be read, named with file and line */
	c = load("provider:\n  type: webhook\n  zone: validation.test\n"
	         "  webhook:\n    url: https://hook.example/dns\n"
	         "    secret: 0123456789abcdef-x\n"
	         "    ca_bundle: /nonexistent/ca.pem\n", &o, -1);
	assert_non_null(strstr(cfg_error(c), "t.yaml:7"));
	assert_non_null(strstr(cfg_error(c), "/nonexistent/ca.pem"));
	cfg_free(c);
	/* http:// to a non-loopback host, named with file and line */
	c = load("provider:\n  type: webhook\n  zone: validation.test\n"
	         "  webhook:\n    url: http://10.1.2.3/dns\n"
	         "    secret: 0123456789abcdef-x\n", &o, -1);
	assert_non_null(strstr(cfg_error(c), "t.yaml:5"));
	cfg_free(c);
	c = load("provider:\n  type: webhook\n  zone: validation.test\n"
	         "  webhook:\n    url: http://10.1.2.3/dns\n    allow_http: true\n"
	         "    secret: 0123456789abcdef-x\n", &o, 0);
	assert_true(o.hook_allow_http);
	cfg_free(c);

	c = load("provider:\n  type: exec\n  zone: validation.test\n"
	         "  exec:\n    program: /bin/true\n    env:\n      - KEYFILE=/k\n", &o, 0);
	assert_int_equal(o.type, TXT_EXEC);
	assert_int_equal(o.exec_nenv, 1);
	assert_string_equal(o.exec_env[0], "KEYFILE=/k");
	cfg_free(c);
	c = load("provider:\n  type: exec\n  zone: validation.test\n"
	         "  exec:\n    program: true\n", &o, -1);
	assert_non_null(strstr(cfg_error(c), "absolute"));
	cfg_free(c);
	c = load("provider:\n  type: exec\n  zone: validation.test\n"
	         "  exec:\n    program: /bin/true\n    env:\n      - PATH=/tmp\n", &o, -1);
	cfg_free(c);
}

/* ---- the exec provider with real programs ---- */

static char dir[] = "/tmp/dcv-exec-XXXXXX";

static const char *script(const char *name, const char *body)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s\n", body);
	fclose(f);
	chmod(path, 0700);
	return path;
}

static struct txt_provider *exec_provider(const char *program, int timeout_ms, int tries)
{
	struct txt_provider_opts o;
	char err[256];
	struct txt_provider *p;

	memset(&o, 0, sizeof o);
	o.type = TXT_EXEC;
	snprintf(o.zone, sizeof o.zone, "validation.test");
	o.ttl = 30;
	o.timeout_ms = timeout_ms;
	o.tries = tries;
	snprintf(o.exec_program, sizeof o.exec_program, "%s", program);
	snprintf(o.exec_env[0], sizeof o.exec_env[0], "OUT=%s/out", dir);
	o.exec_nenv = 1;
	p = txt_provider_new(&o, err, sizeof err);
	assert_non_null(p);
	return p;
}

static char *slurp(const char *name)
{
	static char text[4096];
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* Whether the process whose pid a script wrote in file NAME is gone (or a
 * zombie waiting for init) within 2 s. */
static bool gone_soon(const char *name)
{
	char *pid = slurp(name);
	pid_t gc;

	if (!pid)
		return false;
	gc = (pid_t)atoi(pid);
	for (int i = 0; i < 200; i++) {
		char proc[64], buf[512] = "";
		bool gone = false;
		FILE *f;
		snprintf(proc, sizeof proc, "/proc/%d/stat", (int)gc);
		f = fopen(proc, "r");
		if (!f)
			gone = true;
		else if (fgets(buf, sizeof buf, f) && strstr(buf, ") Z "))
			gone = true;
		if (f)
			fclose(f);
		if (gone)
			return true;
		usleep(10000);
	}
	return false;
}

static void test_exec_runs(void **state)
{
	(void)state;
	char msg[TXT_MSG_MAX];
	assert_non_null(mkdtemp(dir));

	/* every argument whole, the clean environment, stdin empty */
	struct txt_provider *p = exec_provider(script("args", "printf '%s|' \"$#\" \"$@\" "
	                                              "\"$DCV_ZONE\" \"$DCV_TTL\" \"$HOME\" > $OUT; "
	                                              "cat >> $OUT"), 2000, 1);
	assert_int_equal(txt_add(p, "a.b.validation.test", "v a;$(x)`y` *", msg, sizeof msg),
	                 TXT_OK);
	assert_string_equal(slurp("out"), "3|present|a.b.validation.test|v a;$(x)`y` *|"
	                    "validation.test|30||");
	assert_int_equal(txt_remove(p, "a.b.validation.test", "v", msg, sizeof msg), TXT_OK);
	assert_string_equal(slurp("out"), "3|cleanup|a.b.validation.test|v|validation.test|30||");
	txt_provider_free(p);

	/* 75 transient, tried TRIES times; 1 permanent, once; stderr's last line */
	p = exec_provider(script("temp", "echo x >> $OUT.n; echo 'first' >&2; "
	                         "echo 'server busy' >&2; exit 75"), 2000, 3);
	assert_int_equal(txt_add(p, "a.validation.test", "v", msg, sizeof msg), TXT_TRANSIENT);
	assert_non_null(strstr(msg, "exit 75 (server busy)"));
	assert_string_equal(slurp("out.n"), "x\nx\nx\n");
	txt_provider_free(p);
	p = exec_provider(script("perm", "echo y >> $OUT.p; echo 'REFUSED' >&2; exit 1"), 2000, 3);
	assert_int_equal(txt_add(p, "a.validation.test", "v", msg, sizeof msg), TXT_PERMANENT);
	assert_string_equal(slurp("out.p"), "y\n");
	assert_non_null(strstr(msg, "exit 1 (REFUSED)"));
	txt_provider_free(p);

	/* much stderr: bounded, and the program is not blocked by it */
	p = exec_provider(script("loud", "i=0; while [ $i -lt 2000 ]; do "
	                         "echo 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' >&2; "
	                         "i=$((i+1)); done; exit 0"), 5000, 1);
	assert_int_equal(txt_add(p, "a.validation.test", "v", msg, sizeof msg), TXT_OK);
	txt_provider_free(p);

	/* the timeout kills the whole group: the child's own child too */
	p = exec_provider(script("slow", "sleep 30 & echo $! > $OUT.pid; wait"), 300, 1);
	long long t0 = deadline_now_ms();
	assert_int_equal(txt_add(p, "a.validation.test", "v", msg, sizeof msg), TXT_TRANSIENT);
	assert_true(deadline_now_ms() - t0 < 2000);
	assert_non_null(strstr(msg, "timed out"));
	assert_true(gone_soon("out.pid"));
	txt_provider_free(p);

	/* what a program leaves in the background when it ends goes too */
	p = exec_provider(script("bg", "sleep 30 & echo $! > $OUT.bg; exit 0"), 2000, 1);
	assert_int_equal(txt_add(p, "a.validation.test", "v", msg, sizeof msg), TXT_OK);
	assert_true(gone_soon("out.bg"));
	txt_provider_free(p);

	/* the job's deadline cuts the timeout */
	p = exec_provider(script("slow2", "sleep 30"), 10000, 1);
	txt_set_deadline(p, deadline_now_ms() + 300);
	t0 = deadline_now_ms();
	assert_int_equal(txt_add(p, "a.validation.test", "v", msg, sizeof msg), TXT_TRANSIENT);
	assert_true(deadline_now_ms() - t0 < 2000);
	txt_provider_free(p);

	/* a descriptor of ours (not close-on-exec) is not the program's */
	int mine = open("/dev/null", O_RDONLY);
	assert_true(mine > 2);
	p = exec_provider(script("fds", "ls /proc/$$/fd > $OUT.fd"), 2000, 1);
	assert_int_equal(txt_add(p, "a.validation.test", "v", msg, sizeof msg), TXT_OK);
	char want[16];
	snprintf(want, sizeof want, "\n%d\n", mine);
	char fds[4096];
	snprintf(fds, sizeof fds, "\n%s", slurp("out.fd"));
	assert_null(strstr(fds, want));
	assert_non_null(strstr(fds, "\n2\n"));
	close(mine);
	txt_provider_free(p);

	/* a program that is not there */
	p = exec_provider("/nonexistent/prog", 1000, 2);
	assert_int_equal(txt_add(p, "a.validation.test", "v", msg, sizeof msg), TXT_PERMANENT);
	txt_provider_free(p);
}

/* Many threads at once, as a worker runs them: every run its own result. */
static struct txt_provider *shared;

static void *one_thread(void *arg)
{
	char msg[TXT_MSG_MAX], value[32];
	long ok = 0;

	for (int i = 0; i < 5; i++) {
		snprintf(value, sizeof value, "t%ld-%d", (long)(intptr_t)arg, i);
		if (txt_add(shared, "a.validation.test", value, msg, sizeof msg) == TXT_OK)
			ok++;
	}
	return (void *)ok;
}

static void test_exec_threads(void **state)
{
	(void)state;
	pthread_t t[8];
	long total = 0;

	shared = exec_provider(script("echo", "echo \"$3\" > \"$OUT.$3\""), 5000, 1);
	for (intptr_t i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, one_thread, (void *)i), 0);
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		total += (long)(intptr_t)r;
	}
	assert_int_equal(total, 40);
	/* each run had its own arguments */
	for (int i = 0; i < 8; i++)
		for (int k = 0; k < 5; k++) {
			char f[32], want[40];
			snprintf(f, sizeof f, "out.t%d-%d", i, k);
			snprintf(want, sizeof want, "t%d-%d\n", i, k);
			assert_non_null(slurp(f));
			assert_string_equal(slurp(f), want);
		}
	txt_provider_free(shared);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st; (void)flag; (void)f;
	return remove(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_and_vectors),
		cmocka_unit_test(test_url_rule),
		cmocka_unit_test(test_webhook_status),
		cmocka_unit_test(test_exec_status),
		cmocka_unit_test(test_exec_env),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_exec_runs),
		cmocka_unit_test(test_exec_threads),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (strstr(dir, "XXXXXX") == NULL)
		nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	return rc;
}
