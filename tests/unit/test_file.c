/* Unit tests for lib/file.c: bounded whole-file reads and maps, in a
 * temporary folder.
 *   - a regular file: content, length, NUL terminator; the bound exactly
 *     (max_bytes reads, max_bytes + 1 is -EFBIG); an empty file
 *   - what is not a regular file: a directory, a FIFO without FILE_STREAM
 *     (refused at once, with no writer ever opened: alarm() guards against
 *     a block), /dev/zero
 *   - streams with FILE_STREAM: a FIFO fed by a child process, standard
 *     input as a pipe and as a socket ("-"), and their bound
 *   - FILE_PRIVATE against the mode bits; a missing file
 *   - file_map: mapped regular files, empty files, streams read in
 *   - each failure logged once, as "[what: ]path: why" */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/file.h"

static char dir[64];
static char messages[8192];
static unsigned n_messages;

static void capture(int level, const char *msg, void *ctx)
{
	(void)level; (void)ctx;
	size_t n = strlen(messages);
	snprintf(messages + n, sizeof(messages) - n, "%s\n", msg);
	n_messages++;
}

static void clear_messages(void)
{
	messages[0] = 0;
	n_messages = 0;
}

/* A file or FIFO operation that blocks ends the run here, loudly. */
static void on_alarm(int sig)
{
	static const char msg[] = "test_file: timed out: a call blocked\n";
	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(98);
	_exit(99);
}

static int setup(void **state)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	(void)state;

	clear_messages();
	log_open("test", LOG_TO_STDERR, LOG_EMERG);
	log_set_level(LOG_DEBUG);
	log_set_hook(capture, NULL);
	sigaction(SIGALRM, &sa, NULL);
	snprintf(dir, sizeof(dir), "/tmp/eco2-file-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[sizeof(dir) + sizeof(e->d_name) + 1];
	(void)state;

	alarm(0);
	/* cppcheck-suppress readdirCalled ; single-threaded test */
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) < 0)
			rmdir(p);
	}
	if (d)
		closedir(d);
	log_set_hook(NULL, NULL);
	return rmdir(dir);
}

static void path_of(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

/* Deterministic test bytes, NULs included. */
static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1664525u + 1013904223u;
		p[i] = (uint8_t)(x >> 24);
	}
}

static void write_file(const char *path, const void *data, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);   /* whatever the umask */
}

/* The last failure was logged exactly once, as "what: path: ..." (or
 * "path: ..." without what). */
static void expect_one_message(const char *what, const char *path)
{
	char want[256];

	snprintf(want, sizeof(want), "%s%s%s: ", what ? what : "", what ? ": " : "", path);
	if (n_messages != 1 || strncmp(messages, want, strlen(want)))
		fail_msg("expected one message starting \"%s\", got %u: %s", want, n_messages,
			 messages);
	clear_messages();
}

/* ---- regular files --------------------------------------------------------------- */

static void test_regular(void **state)
{
	char path[128];
	uint8_t data[5000];
	char *out;
	size_t len;
	(void)state;

	path_of(path, sizeof(path), "data.bin");
	pattern(data, sizeof(data), 1);
	data[0] = 0;                       /* NULs are data too */
	data[sizeof(data) - 1] = 0xff;
	write_file(path, data, sizeof(data), 0644);

	assert_int_equal(file_read(path, 1 << 20, 0, "data", &out, &len), 0);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	assert_int_equal(out[len], 0);     /* NUL-terminated after the data */
	free(out);
	assert_int_equal(n_messages, 0);

	/* Text, as loaders use it: a C string of the file. */
	write_file(path, "key = value\n", 12, 0644);
	assert_int_equal(file_read(path, 100, 0, NULL, &out, &len), 0);
	assert_int_equal(len, 12);
	assert_string_equal(out, "key = value\n");
	free(out);
}

static void test_bound(void **state)
{
	char path[128];
	static uint8_t data[200001];
	char *out;
	size_t len;
	(void)state;

	path_of(path, sizeof(path), "bound.bin");
	pattern(data, sizeof(data), 2);
	/* around the bound, small and beyond the module's stream chunk */
	static const size_t maxes[] = { 1, 10, 4096, 65535, 65536, 65537, 200000 };
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		size_t max = maxes[i];

		write_file(path, data, max, 0600);
		out = NULL;
		assert_int_equal(file_read(path, max, 0, "bound", &out, &len), 0);
		assert_int_equal(len, max);
		assert_memory_equal(out, data, max);
		assert_int_equal(out[max], 0);
		free(out);

		write_file(path, data, max + 1, 0600);
		out = (char *)1;
		assert_int_equal(file_read(path, max, 0, "bound", &out, &len), -EFBIG);
		assert_null(out);
		expect_one_message("bound", path);
		/* a larger bound reads it */
		assert_int_equal(file_read(path, max + 1, 0, "bound", &out, &len), 0);
		assert_int_equal(len, max + 1);
		free(out);
	}
}

static void test_empty_and_missing(void **state)
{
	char path[128];
	char *out;
	size_t len = 99;
	(void)state;

	path_of(path, sizeof(path), "empty");
	write_file(path, "", 0, 0600);
	assert_int_equal(file_read(path, 100, FILE_PRIVATE, "empty", &out, &len), 0);
	assert_int_equal(len, 0);
	assert_non_null(out);
	assert_int_equal(out[0], 0);
	free(out);

	path_of(path, sizeof(path), "missing");
	assert_int_equal(file_read(path, 100, 0, "cfg", &out, &len), -ENOENT);
	expect_one_message("cfg", path);
	assert_int_equal(file_read(path, 100, FILE_STREAM, NULL, &out, &len), -ENOENT);
	expect_one_message(NULL, path);

	/* a folder in the way */
	path_of(path, sizeof(path), "missing/x");
	assert_int_equal(file_read(path, 100, 0, NULL, &out, &len), -ENOENT);
	expect_one_message(NULL, path);
}

/* An empty file is not more than 0 bytes. */
static void test_empty_max0(void **state)
{
	char path[128];
	char *out = NULL;
	size_t len = 99;
	(void)state;

	path_of(path, sizeof(path), "empty");
	write_file(path, "", 0, 0600);
	int ret = file_read(path, 0, 0, "empty", &out, &len);
	if (ret)
		fail_msg("an empty file with max_bytes 0: file_read = %d, expected 0 (%s)", ret,
			 messages);
	assert_int_equal(len, 0);
	assert_non_null(out);
	assert_int_equal(out[0], 0);
	free(out);
}

static void test_private(void **state)
{
	static const struct {
		mode_t mode;
		int ret;
	} modes[] = {
		{ 0600, 0 }, { 0400, 0 }, { 0700, 0 },
		{ 0644, -EACCES }, { 0640, -EACCES }, { 0604, -EACCES }, { 0660, -EACCES },
		{ 0610, -EACCES }, { 0601, -EACCES }, { 0602, -EACCES }, { 0620, -EACCES },
	};
	char path[128];
	char *out;
	size_t len;
	(void)state;

	path_of(path, sizeof(path), "device.key");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		write_file(path, "secret", 6, modes[i].mode);
		int ret = file_read(path, 100, FILE_PRIVATE, "key", &out, &len);
		if (ret != modes[i].ret)
			fail_msg("mode %04o: file_read = %d, expected %d", (unsigned)modes[i].mode, ret,
				 modes[i].ret);
		if (ret == 0) {
			assert_int_equal(len, 6);
			assert_string_equal(out, "secret");
			free(out);
			assert_int_equal(n_messages, 0);
		} else {
			expect_one_message("key", path);
		}
		/* without FILE_PRIVATE any mode reads */
		assert_int_equal(file_read(path, 100, 0, "key", &out, &len), 0);
		free(out);
	}
}

/* ---- what is not a regular file ------------------------------------------------- */

static void test_not_regular(void **state)
{
	char path[128];
	char *out;
	size_t len;
	(void)state;

	alarm(5);
	path_of(path, sizeof(path), "sub");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(file_read(path, 100, 0, "dbc", &out, &len), -EISDIR);
	expect_one_message("dbc", path);
	assert_int_equal(file_read(path, 100, FILE_STREAM, "dbc", &out, &len), -EISDIR);
	expect_one_message("dbc", path);

	/* A FIFO nobody writes to: refused at once, without waiting for a
	 * writer (the alarm ends the run if it waits). */
	path_of(path, sizeof(path), "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(file_read(path, 100, 0, "cycle", &out, &len), -EINVAL);
	expect_one_message("cycle", path);
	struct file_map m;
	assert_int_equal(file_map(path, 100, FILE_PRIVATE, "cycle", &m), -EINVAL);
	expect_one_message("cycle", path);

	/* A character device, with or without FILE_STREAM. */
	assert_int_equal(file_read("/dev/zero", 100, 0, NULL, &out, &len), -EINVAL);
	expect_one_message(NULL, "/dev/zero");
	assert_int_equal(file_read("/dev/zero", 100, FILE_STREAM, NULL, &out, &len), -EINVAL);
	expect_one_message(NULL, "/dev/zero");
	assert_int_equal(file_read("/dev/null", 100, FILE_STREAM, "x", &out, &len), -EINVAL);
	expect_one_message("x", "/dev/null");
	alarm(0);
}

/* ---- streams --------------------------------------------------------------------- */

/* A child writing n bytes into a FIFO. The test keeps a read end open
 * (hold) from before the child opens its write end until the end, so the
 * child's open does not wait and the FIFO never loses its data; file_read
 * is called once the child has the write end (otherwise a read finds no
 * writer and sees end-of-file at once). The child ends when it has
 * written everything (exit 0) or when every reader is gone (EPIPE, 3). */
struct writer {
	pid_t pid;
	int hold;
};

static void writer_start(struct writer *w, const char *fifo, const uint8_t *data, size_t n)
{
	int ready[2];
	char c = 0;

	w->hold = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(w->hold >= 0);
	assert_int_equal(pipe(ready), 0);
	w->pid = fork();
	assert_true(w->pid >= 0);
	if (w->pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		close(w->hold);
		close(ready[0]);
		int fd = open(fifo, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(ready[1], &c, 1) != 1)
			_exit(2);
		close(ready[1]);
		for (size_t off = 0; off < n;) {
			ssize_t k = write(fd, data + off, n - off < 4093 ? n - off : 4093);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				_exit(errno == EPIPE ? 3 : 4);
			off += (size_t)k;
		}
		close(fd);
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
}

/* The child's exit status. */
static int writer_end(struct writer *w)
{
	int st;

	close(w->hold);
	assert_int_equal(waitpid(w->pid, &st, 0), w->pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void test_fifo_stream(void **state)
{
	char path[128];
	static uint8_t data[300000];
	struct writer w;
	char *out;
	size_t len;
	(void)state;

	alarm(10);
	path_of(path, sizeof(path), "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	pattern(data, sizeof(data), 3);

	/* Small, and larger than the pipe's buffer and the read chunk. */
	static const size_t sizes[] = { 0, 1, 100, 70000, 300000 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		writer_start(&w, path, data, sizes[i]);
		assert_int_equal(file_read(path, 1 << 20, FILE_STREAM, "log", &out, &len), 0);
		assert_int_equal(writer_end(&w), 0);
		assert_int_equal(len, sizes[i]);
		assert_memory_equal(out, data, sizes[i]);
		assert_int_equal(out[len], 0);
		free(out);
		assert_int_equal(n_messages, 0);
	}

	/* file_map reads a stream into memory: not mapped. */
	writer_start(&w, path, data, 5000);
	struct file_map m;
	assert_int_equal(file_map(path, 1 << 20, FILE_STREAM, "log", &m), 0);
	assert_int_equal(writer_end(&w), 0);
	assert_false(m.mapped);
	assert_int_equal(m.len, 5000);
	assert_memory_equal(m.p, data, 5000);
	file_unmap(&m);
	alarm(0);
}

/* A stream longer than max_bytes is refused; one of exactly max_bytes is
 * read. Bounds below and above the module's 64 KiB read chunk; every
 * case is tried and the wrong ones listed together. */
static void test_fifo_bound(void **state)
{
	char path[128];
	static uint8_t data[150001];
	static const size_t maxes[] = { 10, 1000, 100000, 150000 };
	char problems[1024] = "";
	struct writer w;
	char *out;
	size_t len, n;
	int ret, child;
	(void)state;

	alarm(10);
	path_of(path, sizeof(path), "fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	pattern(data, sizeof(data), 4);

	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		size_t max = maxes[i];

		/* over the bound by one byte, and by as much again: the reader
		 * stops, the writer may see EPIPE */
		for (int twice = 0; twice < 2; twice++) {
			n = twice ? (max * 2 < sizeof(data) ? max * 2 : sizeof(data)) : max + 1;
			writer_start(&w, path, data, n);
			out = NULL;
			len = 0;
			clear_messages();
			ret = file_read(path, max, FILE_STREAM, "log", &out, &len);
			child = writer_end(&w);
			assert_true(child == 0 || child == 3);
			if (ret != -EFBIG || out) {
				size_t o = strlen(problems);
				snprintf(problems + o, sizeof(problems) - o,
					 "\n  %zu-byte stream, max_bytes %zu: %d (%zu bytes held), expected -EFBIG",
					 n, max, ret, len);
				free(out);
			} else {
				expect_one_message("log", path);
			}
		}

		/* exactly the bound */
		writer_start(&w, path, data, max);
		out = NULL;
		clear_messages();
		ret = file_read(path, max, FILE_STREAM, "log", &out, &len);
		assert_int_equal(writer_end(&w), 0);
		if (ret || len != max || memcmp(out, data, max)) {
			size_t o = strlen(problems);
			snprintf(problems + o, sizeof(problems) - o,
				 "\n  %zu-byte stream, max_bytes %zu: %d, expected 0 and the data", max,
				 max, ret);
		}
		free(out);
	}
	alarm(0);
	if (problems[0])
		fail_msg("streams against their bound:%s", problems);
}

/* "-" is standard input with FILE_STREAM: a pipe and a socket. */
static void test_stdin(void **state)
{
	int saved = dup(STDIN_FILENO), p[2];
	static const char text[] = "(1.000000) can0 123#00\n(2.000000) can0 123#01\n";
	char *out;
	size_t len;
	(void)state;

	alarm(5);
	assert_true(saved >= 0);

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(p[1]);
	assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	close(p[0]);
	assert_int_equal(file_read("-", 1000, FILE_STREAM, "log", &out, &len), 0);
	assert_int_equal(len, sizeof(text) - 1);
	assert_string_equal(out, text);
	free(out);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p), 0);
	assert_int_equal(write(p[1], text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(p[1]);
	assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	close(p[0]);
	struct file_map m;
	assert_int_equal(file_map("-", 1000, FILE_STREAM, "log", &m), 0);
	assert_false(m.mapped);
	assert_int_equal(m.len, sizeof(text) - 1);
	assert_memory_equal(m.p, text, m.len);
	file_unmap(&m);

	/* stdin stays open for whoever reads it next */
	assert_true(fcntl(STDIN_FILENO, F_GETFD) >= 0);
	assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
	close(saved);
	assert_int_equal(n_messages, 0);
	alarm(0);
}

/* ---- file_map -------------------------------------------------------------------- */

static void test_map(void **state)
{
	char path[128];
	static uint8_t data[100000];
	struct file_map m;
	(void)state;

	path_of(path, sizeof(path), "export.cbor");
	pattern(data, sizeof(data), 5);
	write_file(path, data, sizeof(data), 0644);
	assert_int_equal(file_map(path, sizeof(data), 0, "export", &m), 0);
	assert_true(m.mapped);
	assert_int_equal(m.len, sizeof(data));
	assert_memory_equal(m.p, data, sizeof(data));
	file_unmap(&m);

	/* the bound and the checks are file_read's */
	assert_int_equal(file_map(path, sizeof(data) - 1, 0, "export", &m), -EFBIG);
	expect_one_message("export", path);
	assert_int_equal(file_map(path, sizeof(data), FILE_PRIVATE, "export", &m), -EACCES);
	expect_one_message("export", path);
	assert_int_equal(file_map(dir, sizeof(data), 0, "export", &m), -EISDIR);
	expect_one_message("export", dir);
	assert_int_equal(file_map("/dev/zero", 10, FILE_STREAM, NULL, &m), -EINVAL);
	expect_one_message(NULL, "/dev/zero");
	path_of(path, sizeof(path), "nothing");
	assert_int_equal(file_map(path, 10, 0, NULL, &m), -ENOENT);
	expect_one_message(NULL, path);

	/* an empty file: p NULL, len 0, and file_unmap takes it */
	path_of(path, sizeof(path), "empty");
	write_file(path, "", 0, 0600);
	memset(&m, 0xa5, sizeof(m));
	assert_int_equal(file_map(path, 10, FILE_PRIVATE, NULL, &m), 0);
	assert_null(m.p);
	assert_int_equal(m.len, 0);
	file_unmap(&m);
	assert_int_equal(n_messages, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_max0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map, setup, teardown),
	};
	return cmocka_run_group_tests_name("file", tests, NULL, NULL);
}
