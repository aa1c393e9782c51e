/*
 * txt_exec: TXT values through a program the operator gives
 * (provider.exec.program), run as
 *
 *     PROGRAM present|cleanup NAME VALUE
 *
 * with posix_spawn(): never through a shell, so NAME and VALUE are single
 * arguments whatever they hold (they are checked before: a name in the
 * zone, a value of printable ASCII).  The program gets stdin and stdout on
 * /dev/null, stderr on a pipe whose first EXEC_STDERR_MAX bytes are kept
 * for the message, no other open descriptor, the default signal
 * dispositions and an empty signal mask, and a minimal environment
 * (txt_exec_env(): PATH, LC_ALL=C, DCV_ZONE, DCV_TTL and
 * provider.exec.env).  It runs in its own process group, killed with
 * SIGKILL when the program ends (what it left in the background goes with
 * it) or when it outlasts provider.timeout_ms (cut by the job's deadline).
 *
 * Exit status: 0 ok; 75 (EX_TEMPFAIL) transient, as are a timeout and a
 * death by a signal; any other status permanent.  The program carries the
 * contract of txt_provider.h (add one value, remove one value, both
 * idempotent).  A transient result is tried again up to provider.tries
 * times.
 *
 * Thread-safe: nothing is shared between calls; the pipe is made
 * close-on-exec, so a program another thread starts meanwhile does not
 * hold it open, and the child is waited for by its own pid.
 */
#define _GNU_SOURCE
#include "txt_provider_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "txt_answer.h"

#define EXEC_ENV_BUF (TXT_EXEC_ENV_MAX * TXT_EXEC_ENV_LEN + 4 * 600)

struct execp {
	struct txt_provider base;     /* must be first */
};

int txt_exec_env(const struct txt_provider_opts *o, char **env, char *buf,
                 size_t buflen)
{
	size_t used = 0;
	int n = 0;
	char first[3][DNAME_MAX + 32];

	snprintf(first[0], sizeof first[0], "DCV_ZONE=%s", o->zone);
	snprintf(first[1], sizeof first[1], "DCV_TTL=%d", o->ttl);
	snprintf(first[2], sizeof first[2], "LC_ALL=C");
	const char *all[3 + TXT_EXEC_ENV_MAX + 1];
	all[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
	for (int i = 0; i < 3; i++)
		all[n++] = first[i];
	for (int i = 0; i < o->exec_nenv && i < TXT_EXEC_ENV_MAX; i++)
		all[n++] = o->exec_env[i];
	for (int i = 0; i < n; i++) {
		size_t l = strlen(all[i]) + 1;
		if (used + l > buflen)
			return -1;
		memcpy(buf + used, all[i], l);
		env[i] = buf + used;
		used += l;
	}
	env[n] = NULL;
	return 0;
}

/* The last non-empty line of TEXT (LEN octets), as printable text. */
static void last_line(const char *text, size_t len, char *out, size_t outlen)
{
	size_t end = len, start;

	while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && text[start - 1] != '\n' && text[start - 1] != '\r')
		start--;
	txt_printable(out, outlen, text + start, end - start);
}

enum txt_status txt_exec_status(int wstatus, bool timed_out,
                                const char *program, const char *action,
                                const char *name, const char *errtext,
                                size_t errlen, char *msg, size_t msglen)
{
	enum txt_status rc;
	char why[48], said[160] = "";

	if (timed_out) {
		snprintf(why, sizeof why, "timed out (process group killed)");
		rc = TXT_TRANSIENT;
	} else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
		return TXT_OK;
	} else if (WIFEXITED(wstatus)) {
		snprintf(why, sizeof why, "exit %d", WEXITSTATUS(wstatus));
		rc = WEXITSTATUS(wstatus) == EXEC_TEMPFAIL ? TXT_TRANSIENT
		                                            : TXT_PERMANENT;
	} else if (WIFSIGNALED(wstatus)) {
		snprintf(why, sizeof why, "killed by signal %d", WTERMSIG(wstatus));
		rc = TXT_TRANSIENT;
	} else {
		snprintf(why, sizeof why, "ended with status %d", wstatus);
		rc = TXT_TRANSIENT;
	}
	if (errtext && errlen)
		last_line(errtext, errlen, said, sizeof said);
	snprintf(msg, msglen, "exec: %s %s %s: %s%s%s%s", program, action, name,
	         why, said[0] ? " (" : "", said, said[0] ? ")" : "");
	return rc;
}

/* Starts the program with ARGV and ENV, stderr on ERRFD; *PID gets it.
 * 0, or an errno. */
static int spawn(const char *path, char **argv, char **env, int errfd,
                 pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int rc;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		return rc;
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) ||
	    (rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)) ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, errfd, 2)) ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) ||
	    (rc = posix_spawnattr_setpgroup(&at, 0)) ||
	    (rc = posix_spawnattr_setsigmask(&at, &none)) ||
	    (rc = posix_spawnattr_setsigdefault(&at, &all)) ||
	    (rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	                                   POSIX_SPAWN_SETSIGMASK |
	                                   POSIX_SPAWN_SETSIGDEF)))
		goto out;
	rc = posix_spawn(pid, path, &fa, &at, argv, env);
out:
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* What a running program left in its stderr pipe and how it ended. */
struct outcome {
	char errtext[EXEC_STDERR_MAX];  /* the first bytes of its stderr */
	size_t errlen;
	int wstatus;                    /* waitpid()'s */
	bool timed_out;                 /* killed by us at UNTIL */
};

/* Reads FD (the stderr pipe) into OUT, keeping the first bytes, until PID
 * ends or UNTIL (deadline_now_ms() time) passes; either way then kills its
 * process group, so that nothing it started outlives it.  0, or an errno when it cannot be waited for (ECHILD: SIGCHLD
 * ignored by someone, the status lost). */
static int collect(pid_t pid, int fd, long long until, struct outcome *out)
{
	bool open_pipe = true;

	for (;;) {
		long long left = until - deadline_now_ms();
		siginfo_t si;
		if (left <= 0) {
			out->timed_out = true;
			kill(-pid, SIGKILL);
			while (waitpid(pid, &out->wstatus, 0) < 0 && errno == EINTR)
				;
			return 0;
		}
		if (open_pipe) {
			struct pollfd pf = {.fd = fd, .events = POLLIN};
			if (poll(&pf, 1, (int)(left < 50 ? left : 50)) > 0) {
				char chunk[512];
				ssize_t r = read(fd, chunk, sizeof chunk);
				size_t take = r > 0 ? (size_t)r : 0;
				if (r <= 0)
					open_pipe = false; /* EOF: wait for the exit */
				if (take > sizeof out->errtext - out->errlen)
					take = sizeof out->errtext - out->errlen;
				memcpy(out->errtext + out->errlen, chunk, take);
				out->errlen += take;
			}
		} else {
			struct timespec ts = {0, 5 * 1000000L};
			nanosleep(&ts, NULL);
		}
		/* ended: seen without reaping it, so that its process group
		 * (what it left running, as "cmd &") is still ours to kill */
		si.si_pid = 0;
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (si.si_pid == pid) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &out->wstatus, 0) < 0 && errno == EINTR)
				;
			break;
		}
	}
	while (open_pipe && out->errlen < sizeof out->errtext) {
		/* what it wrote just before it ended (its own children may
		 * still hold the pipe: nothing more is waited for) */
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t r;
		if (poll(&pf, 1, 0) <= 0)
			break;
		r = read(fd, out->errtext + out->errlen,
		         sizeof out->errtext - out->errlen);
		if (r <= 0)
			break;
		out->errlen += (size_t)r;
	}
	return 0;
}

/* One run of the program for ACTION.  TXT_TRANSIENT when it could not be
 * started (MSG says why). */
static enum txt_status run(struct execp *x, const char *action,
                           const char *name, const char *value, char *msg,
                           size_t msglen)
{
	const struct txt_provider_opts *o = &x->base.o;
	long long limit = deadline_left(x->base.deadline, o->timeout_ms);
	char envbuf[EXEC_ENV_BUF];
	char *env[TXT_EXEC_ENV_MAX + 5];
	char *argv[] = {(char *)o->exec_program, (char *)action, (char *)name,
	                (char *)value, NULL};
	struct outcome out = {.errlen = 0};
	int fds[2], err;
	pid_t pid;

	if (limit <= 0) {
		snprintf(msg, msglen, "exec: %s %s %s: not run: the job's deadline "
		         "had passed", o->exec_program, action, name);
		return TXT_TRANSIENT;
	}
	if (txt_exec_env(o, env, envbuf, sizeof envbuf) != 0) {
		snprintf(msg, msglen, "exec: environment too large");
		return TXT_PERMANENT;
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(msg, msglen, "exec: pipe: %s", strerror(errno));
		return TXT_TRANSIENT;
	}
	err = spawn(o->exec_program, argv, env, fds[1], &pid);
	close(fds[1]);
	if (err != 0) {
		close(fds[0]);
		snprintf(msg, msglen, "exec: %s: cannot start: %s", o->exec_program,
		         strerror(err));
		return err == ENOENT || err == EACCES || err == ENOEXEC
		       ? TXT_PERMANENT : TXT_TRANSIENT;
	}
	err = collect(pid, fds[0], deadline_now_ms() + limit, &out);
	close(fds[0]);
	if (err != 0) {
		snprintf(msg, msglen, "exec: %s %s %s: cannot wait for it: %s",
		         o->exec_program, action, name, strerror(err));
		return TXT_TRANSIENT;
	}
	return txt_exec_status(out.wstatus, out.timed_out, o->exec_program,
	                       action, name, out.errtext, out.errlen, msg, msglen);
}

static enum txt_status call(struct execp *x, const char *action,
                            const char *name, const char *value, char *msg,
                            size_t msglen)
{
	enum txt_status rc = TXT_TRANSIENT;

	for (int t = 0; t < x->base.o.tries; t++) {
		if (t > 0 && txt_pause(&x->base, 200 * t) != 0)
			break;
		rc = run(x, action, name, value, msg, msglen);
		if (rc != TXT_TRANSIENT)
			break;
	}
	return rc;
}

static enum txt_status exec_add(struct txt_provider *base, const char *name,
                                const char *value, char *msg, size_t msglen)
{
	return call((struct execp *)base, "present", name, value, msg, msglen);
}

static enum txt_status exec_remove(struct txt_provider *base,
                                   const char *name, const char *value,
                                   char *msg, size_t msglen)
{
	return call((struct execp *)base, "cleanup", name, value, msg, msglen);
}

static void exec_free(struct txt_provider *base)
{
	free(base);
}

static const struct txt_provider_ops exec_ops = {
	.name = "exec",
	.add = exec_add,
	.remove = exec_remove,
	.free = exec_free,
};

struct txt_provider *txt_exec_new(const struct txt_provider_opts *o,
                                  char *err, size_t errlen)
{
	struct execp *x;

	if (!o->zone[0] || o->exec_program[0] != '/') {
		snprintf(err, errlen, "exec: need zone and the program's absolute "
		         "path");
		return NULL;
	}
	x = calloc(1, sizeof *x);
	if (!x) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->base.ops = &exec_ops;
	x->base.o = *o;
	return &x->base;
}
