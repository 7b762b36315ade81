/*
 * CHRONON_PRELOAD_TRACE=path: at exit, append one line per process
 *
 *   chronon-preload pid=<pid> state=on|off served=<n> passed=<n> mode=<m>
 *
 * served counts calls answered by chronon, passed those handed to the real
 * implementation, mode is chronon_status()'s mode_name ("-" when off).
 * It is how the tests prove that an unmodified program's calls really were
 * answered by chronon (a mapped .so proves nothing of the sort).
 *
 * The counters are relaxed atomics touched only in the tracing states, so
 * an untraced process pays nothing.  The line is built on the stack and
 * written with one write() to an O_APPEND file: processes of a fork/exec
 * chain can share one trace file without tearing each other's lines.
 * A child of fork starts from zero (pthread_atfork).  Calls made after
 * this destructor ran, or in a process that ends in _exit or exec, are not
 * written.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "chronon.h"
#include "preload.h"

static _Atomic uint64_t served, passed;
static char trace_path[4096];

void chronon__pl_count_served(void)
{
	atomic_fetch_add_explicit(&served, 1, memory_order_relaxed);
}

void chronon__pl_count_passed(void)
{
	atomic_fetch_add_explicit(&passed, 1, memory_order_relaxed);
}

static void child_restarts_counts(void)
{
	atomic_store_explicit(&served, 0, memory_order_relaxed);
	atomic_store_explicit(&passed, 0, memory_order_relaxed);
}

int chronon__pl_trace_start(const char *path)
{
	size_t n = strlen(path);
	if (n >= sizeof trace_path)
		return -1;
	memcpy(trace_path, path, n + 1);
	pthread_atfork(NULL, NULL, child_restarts_counts);
	return 0;
}

/* Appends s to buf (size cap) at *len, truncating; no stdio, no locale. */
static void put(char *buf, size_t cap, size_t *len, const char *s)
{
	while (*s && *len + 1 < cap)
		buf[(*len)++] = *s++;
	buf[*len] = '\0';
}

static void put_u64(char *buf, size_t cap, size_t *len, uint64_t v)
{
	char digits[24];
	size_t i = sizeof digits - 1;
	digits[i] = '\0';
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(buf, cap, len, digits + i);
}

__attribute__((destructor)) static void chronon__pl_trace_write(void)
{
	int state = chronon__pl_load_state();
	if (state != CHRONON__PL_ON_TRACE && state != CHRONON__PL_OFF_TRACE)
		return;
	const char *mode = "-";
	struct chronon_status st;
	if (state == CHRONON__PL_ON_TRACE && chronon_status(&st) == 0)
		mode = st.mode_name;
	char line[256];
	size_t len = 0;
	put(line, sizeof line, &len, "chronon-preload pid=");
	put_u64(line, sizeof line, &len, (uint64_t)getpid());
	put(line, sizeof line, &len, state == CHRONON__PL_ON_TRACE ? " state=on" : " state=off");
	put(line, sizeof line, &len, " served=");
	put_u64(line, sizeof line, &len, atomic_load_explicit(&served, memory_order_relaxed));
	put(line, sizeof line, &len, " passed=");
	put_u64(line, sizeof line, &len, atomic_load_explicit(&passed, memory_order_relaxed));
	put(line, sizeof line, &len, " mode=");
	put(line, sizeof line, &len, mode);
	put(line, sizeof line, &len, "\n");
	int saved = errno; /* exit handlers after us may still look at it */
	int fd = open(trace_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		ssize_t w = write(fd, line, len);
		(void)w;
		close(fd);
	}
	errno = saved;
}
