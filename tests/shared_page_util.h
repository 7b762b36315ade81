/* Helpers for the shared page's tests: run chronond, wait for its page. */
#ifndef CHRONON_TEST_SHARED_PAGE_UTIL_H
#define CHRONON_TEST_SHARED_PAGE_UTIL_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "shm_page.h"

/* The chronond this process started, stopped on any exit of this process
 * (not of its children), so a failing test leaves no daemon behind. */
static pid_t util_daemon, util_owner;
static void util_cleanup(void)
{
	if (util_daemon > 0 && getpid() == util_owner)
		kill(util_daemon, SIGKILL);
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		printf("FAIL %s:%d: ", __FILE__, __LINE__);                                        \
		printf(__VA_ARGS__);                                                               \
		printf("\n");                                                                      \
		fflush(stdout);                                                                    \
		exit(1);                                                                           \
	} while (0)

/* The end of a passing run: the test's directory removed, the verdict. */
static inline int util_pass(const char *dir)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("note: could not remove %s\n", dir);
	printf("PASS\n");
	return 0;
}

static inline void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* chronond --foreground --page PAGE, then up to two more arguments (a
 * NULL ends them), its standard error into errpath when given.  Returns
 * its pid. */
static inline pid_t start_daemon_with(const char *page, const char *a1, const char *a2,
				      const char *errpath)
{
	pid_t pid = fork();
	if (pid < 0)
		FAIL("fork: %s", strerror(errno));
	if (!util_owner) {
		util_owner = getpid();
		atexit(util_cleanup);
	}
	if (pid == 0) {
		test_child();
		if (errpath && !freopen(errpath, "w", stderr))
			_exit(127);
		execl(CHRONOND_PATH, "chronond", "--foreground", "--page", page, a1, a2, (char *)NULL);
		_exit(127);
	}
	util_daemon = pid;
	return pid;
}

/* Starts chronond in the foreground on page, at interval (NULL: its
 * default); its stderr goes to errpath when given.  Returns its pid. */
static inline pid_t start_daemon(const char *page, const char *interval, const char *errpath)
{
	return start_daemon_with(page, interval ? "--interval" : NULL, interval, errpath);
}

/* The page's descriptor from the chronond serving path, as a reader gets
 * it (waiting up to 1 s for the answer), or -1. */
static inline int util_page_fd(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof a.sun_path)
		return -1;
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), got = -1;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0 || poll(&p, 1, 1000) != 1) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof u.buf};
	if (recvmsg(fd, &msg, MSG_CMSG_CLOEXEC) == 1 && CMSG_FIRSTHDR(&msg))
		memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof got);
	close(fd);
	return got;
}

/* Waits until a page written by pid is served at page (up to 10 s). */
static inline void wait_page(const char *page, pid_t pid)
{
	for (int i = 0; i < 10000; i++) {
		int fd = util_page_fd(page);
		if (fd >= 0) {
			struct chronon__shm s;
			ssize_t n = pread(fd, &s, sizeof s, 0);
			close(fd);
			if (n == (ssize_t)sizeof s && s.writer_pid == pid)
				return;
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			FAIL("chronond exited (status %d) before publishing %s", st, page);
		sleep_ns(1000000);
	}
	FAIL("chronond pid %d did not publish %s in 10 s", (int)pid, page);
}

static inline void stop_daemon(pid_t pid, int sig)
{
	int st;
	kill(pid, sig);
	waitpid(pid, &st, 0);
	if (pid == util_daemon)
		util_daemon = 0;
}

/* A private directory for the test's pages. */
static inline void make_dir(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "/tmp/chronon-%s-%d", name, (int)getpid());
	mkdir(dir, 0755);
}

#endif
