/* secret: the one reader of secret files (secret.h). */
#include "secret.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *secret_strerror(enum secret_status st)
{
	switch (st) {
	case SECRET_OK: return "ok";
	case SECRET_EOPEN: return "cannot open";
	case SECRET_EREAD: return "cannot read";
	case SECRET_ETOOBIG: return "too big";
	case SECRET_ENOMEM: return "out of memory";
	case SECRET_EINVAL: return "invalid argument";
	}
	return "unknown";
}

/* Reads FD to its end into BUF (CAP bytes); *N gets the count.  Stops at
 * CAP, so *N == CAP means the file may be longer. */
static int read_all(int fd, char *buf, size_t cap, size_t *n)
{
	*n = 0;
	while (*n < cap) {
		ssize_t r = read(fd, buf + *n, cap - *n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		*n += (size_t)r;
	}
	return 0;
}

enum secret_status secret_read_file(const char *path, size_t max, char **out,
                                    size_t *len)
{
	if (out)
		*out = NULL;
	if (len)
		*len = 0;
	if (!path || !out || max == 0 || max >= (size_t)-2)
		return SECRET_EINVAL;
	/* one byte more than MAX tells a file of MAX bytes from a longer one */
	char *buf = malloc(max + 2);
	if (!buf)
		return SECRET_ENOMEM;
	enum secret_status st = SECRET_OK;
	size_t n = 0;
	int rc, saved;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		st = SECRET_EOPEN;
		goto out;
	}
	rc = read_all(fd, buf, max + 1, &n);
	saved = errno;
	close(fd);
	errno = saved;
	if (rc != 0)
		st = SECRET_EREAD;
	else if (n > max)
		st = SECRET_ETOOBIG;
out:
	if (st != SECRET_OK) {
		saved = errno;
		explicit_bzero(buf, max + 2);
		free(buf);
		errno = saved;
		return st;
	}
	while (n > 0 && isspace((unsigned char)buf[n - 1]))
		n--;
	explicit_bzero(buf + n, max + 2 - n);
	*out = buf;
	if (len)
		*len = n;
	return SECRET_OK;
}

void secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
