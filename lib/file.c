/* file — bounded whole-file reads that never block on a FIFO. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "lib/file.h"
#include "lib/log.h"

#define STREAM_CHUNK (64u << 10)

static void fail(const char *what, const char *path, const char *why)
{
	log_err("%s%s%s: %s", what ? what : "", what ? ": " : "", path, why);
}

/* Open and check the type, mode and size. *is_reg says which kind it is.
 * Returns the fd or -errno (reported). */
static int open_checked(const char *path, size_t max_bytes, unsigned flags, const char *what,
			struct stat *st)
{
	int fd, ret;

	if ((flags & FILE_STREAM) && !strcmp(path, "-"))
		fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		log_err("%s%s%s: cannot open: %s", what ? what : "", what ? ": " : "", path,
			strerror(errno));
		return ret;
	}
	if (fstat(fd, st) < 0) {
		ret = -errno;
		fail(what, path, strerror(errno));
		goto bad;
	}
	if (S_ISREG(st->st_mode)) {
		if ((uint64_t)st->st_size > max_bytes) {
			ret = -EFBIG;
			log_err("%s%s%s: larger than %zu bytes", what ? what : "", what ? ": " : "",
				path, max_bytes);
			goto bad;
		}
	} else if (S_ISDIR(st->st_mode)) {
		ret = -EISDIR;
		log_err("%s%s%s: cannot read: %s", what ? what : "", what ? ": " : "", path,
			strerror(EISDIR));
		goto bad;
	} else if (!((flags & FILE_STREAM) && (S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode)))) {
		ret = -EINVAL;
		fail(what, path, "not a regular file");
		goto bad;
	}
	if ((flags & FILE_PRIVATE) && (st->st_mode & 077)) {
		log_err("%s%s%s: mode %04o lets group or others access it; expected 0600 (chmod 600 %s)",
			what ? what : "", what ? ": " : "", path, (unsigned)(st->st_mode & 07777), path);
		ret = -EACCES;
		goto bad;
	}
	/* A stream is read to its end: wait for its data. */
	if (!S_ISREG(st->st_mode) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		ret = -errno;
		fail(what, path, strerror(errno));
		goto bad;
	}
	return fd;
bad:
	close(fd);
	return ret;
}

/* Read all of fd, at most max_bytes, keeping one byte for a NUL. A
 * regular file's size is known: one allocation, no copies left behind (key
 * material). A stream grows its buffer up to the bound; at the bound one
 * more byte is asked for, to tell "exactly max_bytes" from "more". */
static int read_fd(int fd, const struct stat *st, size_t max_bytes, const char *what,
		   const char *path, char **out, size_t *len)
{
	size_t want = S_ISREG(st->st_mode) && st->st_size > 0 ? (size_t)st->st_size :
		      max_bytes < STREAM_CHUNK ? max_bytes : STREAM_CHUNK;
	size_t cap = want + 1, got = 0;
	char *buf = malloc(cap);
	ssize_t n;
	int ret;

	if (!buf) {
		fail(what, path, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		if (S_ISREG(st->st_mode) && st->st_size > 0 && got == (size_t)st->st_size)
			break;   /* all of it: no read() just to see the end */
		if (got + 1 == cap) {
			char *nb;

			if (got >= max_bytes) {
				char probe;

				do
					n = read(fd, &probe, 1);
				while (n < 0 && errno == EINTR);
				if (n == 0)
					break;
				ret = n < 0 ? -errno : -EFBIG;
				if (n < 0)
					log_err("%s%s%s: cannot read: %s", what ? what : "",
						what ? ": " : "", path, strerror(errno));
				else
					log_err("%s%s%s: larger than %zu bytes", what ? what : "",
						what ? ": " : "", path, max_bytes);
				goto bad;
			}
			cap = cap - 1 > max_bytes / 2 ? max_bytes + 1 : 2 * (cap - 1) + 1;
			nb = realloc(buf, cap);
			if (!nb) {
				ret = -ENOMEM;
				fail(what, path, "out of memory");
				goto bad;
			}
			buf = nb;
		}
		n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			log_err("%s%s%s: cannot read: %s", what ? what : "", what ? ": " : "", path,
				strerror(errno));
			goto bad;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
bad:
	free(buf);
	return ret;
}

int file_read(const char *path, size_t max_bytes, unsigned flags, const char *what,
	      char **out, size_t *len)
{
	struct stat st;
	int fd, ret;

	*out = NULL;
	*len = 0;
	fd = open_checked(path, max_bytes, flags, what, &st);
	if (fd < 0)
		return fd;
	ret = read_fd(fd, &st, max_bytes, what, path, out, len);
	close(fd);
	return ret;
}

int file_check(const char *path, unsigned flags, const char *what)
{
	struct stat st;
	int fd = open_checked(path, SIZE_MAX, flags, what, &st);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int file_map(const char *path, size_t max_bytes, unsigned flags, const char *what,
	     struct file_map *m)
{
	struct stat st;
	char *buf;
	size_t len;
	int fd, ret;

	memset(m, 0, sizeof(*m));
	fd = open_checked(path, max_bytes, flags, what, &st);
	if (fd < 0)
		return fd;
	if (S_ISREG(st.st_mode)) {
		ret = 0;
		if (st.st_size > 0) {
			void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

			if (p == MAP_FAILED) {
				ret = -errno;
				fail(what, path, strerror(errno));
			} else {
				m->p = p;
				m->len = (size_t)st.st_size;
				m->mapped = true;
			}
		}
		close(fd);
		return ret;
	}
	ret = read_fd(fd, &st, max_bytes, what, path, &buf, &len);
	close(fd);
	if (!ret) {
		m->p = (const uint8_t *)buf;
		m->len = len;
	}
	return ret;
}

void file_unmap(struct file_map *m)
{
	if (m->mapped)
		munmap((void *)m->p, m->len);
	else
		free((void *)m->p);
	memset(m, 0, sizeof(*m));
}
