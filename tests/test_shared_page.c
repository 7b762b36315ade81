/*
 * The shared page: chronond's command line and lock, and the library's
 * checks.  Pages that must be refused (unsealed, served by another user,
 * another boot's, the wrong size, retired, garbage, every byte corrupted
 * in turn; a regular file, FIFO, directory or link where the socket should
 * be, a server that does not answer) are refused with their reason, never
 * crash or hang a reader, and a page that passes gives time within the
 * bound of its checks.  The planted pages are served by this test's own
 * socket server, as chronond serves its page: a sealed memory file.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>

#include "chronon.h"
#include "shared_page.h"
#include "shared_page_util.h"

static char dir[128], live[192];

static int run_status(const char *env, char *page, size_t plen, char *reason, size_t rlen)
{
	int p[2];
	if (pipe(p) != 0)
		FAIL("pipe");
	pid_t pid = fork();
	if (pid == 0) {
		test_child();
		close(p[0]);
		if (env)
			setenv("CHRONON_PAGE", env, 1);
		else
			unsetenv("CHRONON_PAGE");
		struct chronon_status st;
		for (int i = 0; i < 3; i++)
			chronon_now_ns(CLOCK_MONOTONIC);
		chronon_status(&st);
		dprintf(p[1], "%s\n%s\n", st.page, st.page_reason);
		_exit(0);
	}
	close(p[1]);
	char buf[512] = "";
	ssize_t n = read(p[0], buf, sizeof buf - 1);
	close(p[0]);
	waitpid(pid, NULL, 0);
	buf[n > 0 ? n : 0] = 0;
	char *nl = strchr(buf, '\n');
	if (!nl)
		FAIL("no status from child");
	*nl = 0;
	snprintf(page, plen, "%s", buf);
	snprintf(reason, rlen, "%s", nl + 1);
	reason[strcspn(reason, "\n")] = 0;
	return 0;
}

static void expect_status(const char *env, const char *page_want, const char *reason_has)
{
	char page[256], reason[256];
	run_status(env, page, sizeof page, reason, sizeof reason);
	if (strcmp(page, page_want) != 0 || !strstr(reason, reason_has))
		FAIL("CHRONON_PAGE=%s: page '%s' reason '%s', wanted '%s' / '%s'", env ? env : "(unset)",
		     page, reason, page_want, reason_has);
	printf("ok   CHRONON_PAGE=%s -> %s %s\n", env ? env : "(unset)", page, reason);
}

static int run_daemon_args(const char *a1, const char *a2, const char *a3, char *err, size_t len)
{
	char path[256];
	snprintf(path, sizeof path, "%s/err", dir);
	pid_t pid = fork();
	if (pid == 0) {
		test_child();
		if (!freopen(path, "w", stderr))
			_exit(127);
		execl(CHRONOND_PATH, "chronond", "--foreground", a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(err, 1, len - 1, f) : 0;
	err[n] = 0;
	if (f)
		fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_args(void)
{
	static const char *bad[][3] = {
		{"--interval", "0", NULL},        {"--interval", "5s", NULL},
		{"--interval", "abc", NULL},      {"--interval", "10parsecs", NULL},
		{"--interval", NULL, NULL},       {"--page", "relative/page", NULL},
		{"--page", NULL, NULL},           {"--bogus", NULL, NULL},
	};
	char err[1024];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = run_daemon_args(bad[i][0], bad[i][1], bad[i][2], err, sizeof err);
		if (rc != 2 || !strstr(err, "usage"))
			FAIL("chronond %s %s: exit %d, stderr '%s'", bad[i][0], bad[i][1] ? bad[i][1] : "",
			     rc, err);
	}
	if (run_daemon_args("--help", NULL, NULL, err, sizeof err) != 0)
		FAIL("chronond --help failed");
	/* A path a socket cannot have: refused before calibrating. */
	char longpath[256];
	snprintf(longpath, sizeof longpath, "%s/%0120d", dir, 0);
	if (run_daemon_args("--page", longpath, NULL, err, sizeof err) != 1 ||
	    !strstr(err, "too long for a socket"))
		FAIL("chronond --page <%zu bytes>: '%s'", strlen(longpath), err);
	char lockpath[300];
	snprintf(lockpath, sizeof lockpath, "%s.lock", longpath);
	unlink(lockpath);
	printf("ok   chronond refuses %zu bad command lines with usage, exit 2\n",
	       sizeof bad / sizeof bad[0]);
}

static void test_second_instance(void)
{
	char err[1024];
	int rc = run_daemon_args("--page", live, NULL, err, sizeof err);
	if (rc != 1 || !strstr(err, "already published"))
		FAIL("a second chronond on %s: exit %d, stderr '%s'", live, rc, err);
	printf("ok   second instance refused: %s", err);
}

/* A copy of the live page (read whole, retrying a torn copy). */
static void snapshot(struct chronon__shm *s)
{
	for (int i = 0; i < 100; i++) {
		int fd = util_page_fd(live);
		ssize_t n = fd >= 0 ? pread(fd, s, sizeof *s, 0) : -1;
		if (fd >= 0)
			close(fd);
		if (n == (ssize_t)sizeof *s && !(atomic_load(&s->page.seq) & 1))
			return;
	}
	FAIL("cannot copy %s", live);
}

/* ---- a server of planted pages ------------------------------------ */

static _Atomic int planted = -1; /* the memory file it hands out; -1: none */

static int listen_at(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof a.sun_path)
		FAIL("%s: too long for a socket", path);
	memcpy(a.sun_path, path, strlen(path) + 1);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0)
		FAIL("listen on %s: %s", path, strerror(errno));
	return fd;
}

static void send_fd(int c, int fd)
{
	char byte = 'p';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof u);
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof u.buf;
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	}
	if (sendmsg(c, &msg, MSG_NOSIGNAL) < 0) {
		/* the reader gave up */
	}
}

static void *plant_server(void *arg)
{
	int lfd = (int)(intptr_t)arg;
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		send_fd(c, atomic_load(&planted));
		close(c);
	}
	return NULL;
}

/* A memory file holding buf, with the given seals. */
static int memfd_with(const void *buf, size_t len, unsigned seals)
{
	int fd = memfd_create("planted", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len || (seals && fcntl(fd, F_ADD_SEALS, seals) != 0))
		FAIL("memfd: %s", strerror(errno));
	return fd;
}

/* From now on the server hands out buf (len bytes, these seals). */
static void plant(const void *buf, size_t len, unsigned seals)
{
	int old = atomic_exchange(&planted, memfd_with(buf, len, seals));
	if (old >= 0)
		close(old);
}

static void plant_fd(int fd)
{
	int old = atomic_exchange(&planted, fd);
	if (old >= 0)
		close(old);
}

static void expect_refused(const char *path, const char *has, const char *what)
{
	char why[128];
	const struct chronon__shm *s = chronon__shm_map(path, why, sizeof why);
	if (s || !strstr(why, has))
		FAIL("%s: %s, reason '%s' (wanted '%s')", what, s ? "accepted" : "refused", why, has);
	printf("ok   %s refused: %s\n", what, why);
}

/* Another user's server (root only): a child that drops to uid 65534. */
static void refused_other_user(const struct chronon__shm *s)
{
	char path[256];
	snprintf(path, sizeof path, "%s/other-user", dir);
	int fd = memfd_with(s, sizeof *s, CHRONON__SHM_SEALS);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	memcpy(a.sun_path, path, strlen(path) + 1);
	/* The child says when it listens: the socket's name exists from
	 * bind(), and a reader connecting before listen() is refused (seen
	 * on a loaded VM). */
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) != 0)
		FAIL("pipe: %s", strerror(errno));
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		/* Bound as root (the directory is root's), listening as 65534:
		 * a reader is told the credentials of listen(). */
		int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || setgid(65534) != 0 ||
		    setuid(65534) != 0 || listen(lfd, 4) != 0)
			_exit(1);
		if (write(ready[1], "l", 1) != 1)
			_exit(1);
		close(ready[1]);
		for (;;) {
			int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (c >= 0) {
				send_fd(c, fd);
				close(c);
			}
		}
	}
	close(fd);
	close(ready[1]);
	char l;
	ssize_t got;
	while ((got = read(ready[0], &l, 1)) < 0 && errno == EINTR)
		;
	close(ready[0]);
	if (got != 1)
		FAIL("the other user's server did not start (fork %d)", (int)p);
	expect_refused(path, "served by uid 65534", "a page served by another user");
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	unlink(path);
}

static void test_refusals(void)
{
	struct chronon__shm s;
	char path[256];
	snprintf(path, sizeof path, "%s/planted", dir);
	int lfd = listen_at(path);
	pthread_t t;
	pthread_create(&t, NULL, plant_server, (void *)(intptr_t)lfd);

	snapshot(&s);
	plant(&s, sizeof s, CHRONON__SHM_SEALS);
	char why[128];
	const struct chronon__shm *m = chronon__shm_map(path, why, sizeof why);
	if (!m)
		FAIL("a fresh copy of the live page was refused: %s", why);
	munmap((void *)m, sizeof *m);
	printf("ok   a fresh copy of the live page is accepted\n");

	plant(&s, sizeof s, 0);
	expect_refused(path, "not sealed", "an unsealed page");
	plant(&s, sizeof s, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	expect_refused(path, "not sealed", "a page others may write");
	plant(&s, sizeof s, F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL);
	expect_refused(path, "not sealed", "a page that may be truncated");
	int tmp = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	if (tmp >= 0 && write(tmp, &s, sizeof s) == (ssize_t)sizeof s) {
		plant_fd(tmp);
		expect_refused(path, "not sealed", "a regular file's descriptor");
	}
	if (geteuid() == 0)
		refused_other_user(&s);
	else
		printf("skip a page served by another user: needs root (running as uid %d)\n",
		       (int)geteuid());
	plant(&s, 100, CHRONON__SHM_SEALS);
	expect_refused(path, "size 100", "a truncated page");
	plant(&s, sizeof s - 1, CHRONON__SHM_SEALS);
	expect_refused(path, "size", "a page one byte short");
	plant_fd(-1);
	expect_refused(path, "no page", "an answer without a page");
	struct chronon__shm other = s;
	other.boot_id[0] = other.boot_id[0] == 'a' ? 'b' : 'a';
	plant(&other, sizeof other, CHRONON__SHM_SEALS);
	expect_refused(path, "another boot", "a page from another boot");
	other = s;
	other.abi++;
	plant(&other, sizeof other, CHRONON__SHM_SEALS);
	expect_refused(path, "layout", "a page of another ABI");
	other = s;
	atomic_store(&other.page.seq, atomic_load(&s.page.seq) | 1);
	plant(&other, sizeof other, CHRONON__SHM_SEALS);
	expect_refused(path, "middle of an update", "a page left mid-update");
	other = s;
	atomic_store(&other.updated_ns, test_kernel_ns(CLOCK_MONOTONIC) - 20000000000LL);
	plant(&other, sizeof other, CHRONON__SHM_SEALS);
	expect_refused(path, "stale", "a stale page");
	other = s;
	atomic_store(&other.page.fn_counter, (const struct chronon__counter *)&other);
	plant(&other, sizeof other, CHRONON__SHM_SEALS);
	expect_refused(path, "counter", "a page naming a function pointer");
	other = s;
	atomic_store(&other.retired, 1);
	plant(&other, sizeof other, CHRONON__SHM_SEALS);
	expect_refused(path, "retired", "a retired page");
	/* A page whose counter is vouched for by something this process
	 * cannot read itself (another paravirtual page, or none named). */
	other = s;
	snprintf(other.counter_source, sizeof other.counter_source, "%s",
		 strcmp(s.counter_source, "hvclock") == 0 ? "pvclock" : "hvclock");
	plant(&other, sizeof other, CHRONON__SHM_SEALS);
	expect_refused(path, "scaled by", "a page scaled by another paravirtual clock");
	other = s;
	memset(other.counter_source, 0, sizeof other.counter_source);
	plant(&other, sizeof other, CHRONON__SHM_SEALS);
	expect_refused(path, "scaled by (nothing)", "a page that names no counter source");

	char mute[256];
	snprintf(mute, sizeof mute, "%s/mute", dir);
	int quiet = listen_at(mute);
	expect_refused(mute, "did not answer", "a server that never answers");
	close(quiet);
	expect_refused(mute, "connection refused", "a socket nobody listens on");
	unlink(mute);
	int f = open(mute, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (f < 0 || write(f, &s, sizeof s) != (ssize_t)sizeof s)
		FAIL("write %s", mute);
	close(f);
	expect_refused(mute, "a regular file", "a page file where the socket should be");
	unlink(mute);
	mkfifo(mute, 0644);
	expect_refused(mute, "a FIFO", "a FIFO");
	unlink(mute);
	mkdir(mute, 0755);
	expect_refused(mute, "a directory", "a directory");
	rmdir(mute);
	if (symlink(live, mute) != 0)
		FAIL("symlink");
	expect_refused(mute, "a symbolic link", "a symbolic link");
	unlink(mute);
	expect_refused(mute, "no page", "a missing page");
}

/* A page that passes must read within the checks' bound. */
static void check_reads(const struct chronon__shm *m, const char *what)
{
	static const clockid_t ids[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_TAI,
					CLOCK_MONOTONIC_RAW};
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++) {
		int64_t lo = test_kernel_ns(ids[ck]), v;
		int r = chronon__page_read_shared(&m->page, (enum chronon__ck)ck, &v);
		int64_t hi = test_kernel_ns(ids[ck]);
		if (r == CHRONON__READ_OK &&
		    (v < lo - CHRONON__SHM_CHECK_NS - 100000 || v > hi + CHRONON__SHM_CHECK_NS + 100000))
			FAIL("%s: accepted, but clock %d is %lld ns off", what, ck,
			     (long long)(v < lo ? v - lo : v - hi));
	}
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void)
{
	return test_rand(&rng);
}

static void test_corruption(void)
{
	char path[256], why[128];
	snprintf(path, sizeof path, "%s/planted", dir); /* test_refusals' server */
	static const unsigned char flips[] = {0xff, 0x01, 0x80, 0x10};
	unsigned accepted = 0, refused = 0;
	for (size_t i = 0; i < sizeof(struct chronon__shm); i++) {
		for (size_t f = 0; f < sizeof flips; f++) {
			struct chronon__shm s;
			snapshot(&s);
			((unsigned char *)&s)[i] ^= flips[f];
			plant(&s, sizeof s, CHRONON__SHM_SEALS);
			const struct chronon__shm *m = chronon__shm_map(path, why, sizeof why);
			if (m) {
				accepted++;
				check_reads(m, "a corrupted page");
				munmap((void *)m, sizeof *m);
			} else {
				refused++;
			}
		}
	}
	printf("ok   every byte flipped 4 ways: %u accepted (read within bound), %u refused\n",
	       accepted, refused);
	accepted = refused = 0;
	for (int i = 0; i < 3000; i++) {
		struct chronon__shm s;
		snapshot(&s);
		/* Garbage everywhere, or behind a good header, or in the page. */
		size_t from = i % 3 == 0 ? 0 : i % 3 == 1 ? offsetof(struct chronon__shm, updated_ns)
							  : offsetof(struct chronon__shm, page);
		for (size_t b = from; b < sizeof s; b++)
			if (i % 3 != 2 || rnd() % 8 == 0)
				((unsigned char *)&s)[b] = (unsigned char)rnd();
		plant(&s, sizeof s, CHRONON__SHM_SEALS);
		const struct chronon__shm *m = chronon__shm_map(path, why, sizeof why);
		if (m) {
			accepted++;
			check_reads(m, "a garbage page");
			munmap((void *)m, sizeof *m);
		} else {
			refused++;
		}
	}
	printf("ok   3000 garbage pages: %u accepted (read within bound), %u refused\n", accepted,
	       refused);
}

/* A reader that holds the page sees it retired; the socket is gone. */
static void test_retire(pid_t pid)
{
	char why[128];
	const struct chronon__shm *m = chronon__shm_map(live, why, sizeof why);
	if (!m)
		FAIL("the live page was refused: %s", why);
	stop_daemon(pid, SIGTERM);
	if (chronon__shm_check(m, why, sizeof why) == 0 || !strstr(why, "retired"))
		FAIL("a page whose chronond stopped by SIGTERM: '%s'", why);
	printf("ok   the page of a chronond stopped by SIGTERM is retired: %s\n", why);
	munmap((void *)m, sizeof *m);
	expect_refused(live, "no page", "the path of a chronond stopped by SIGTERM");
}

/* chronond's default schedule: its page checked every 10 ms, as a
 * process checks its own, and trusted two intervals and 50 ms (before:
 * an update every 500 ms, trusted 1.05 s).  Counted over a second of a
 * busy machine: at least 10 updates where 100 are due. */
static void test_default_schedule(void)
{
	char page[sizeof dir + 16], why[128];
	snprintf(page, sizeof page, "%s/dflt", dir);
	pid_t pid = start_daemon(page, NULL, NULL);
	wait_page(page, pid);
	const struct chronon__shm *m = chronon__shm_map(page, why, sizeof why);
	if (!m)
		FAIL("the default chronond's page was refused: %s", why);
	int64_t trust = atomic_load(&m->trust_ns);
	CHECK(trust == 70000000, "trust window %lld ns, want 70 ms", (long long)trust);
	double valid_s = (double)atomic_load(&m->page.valid_cycles) / (double)m->counter_hz;
	CHECK(valid_s > 0 && valid_s <= 0.0701, "the page's window %.4f s, want at most 70 ms", valid_s);
	int updates = 0;
	int64_t last = atomic_load(&m->updated_ns), end = test_kernel_ns(CLOCK_MONOTONIC) + 1000000000;
	while (test_kernel_ns(CLOCK_MONOTONIC) < end) {
		sleep_ns(1000000);
		int64_t u = atomic_load(&m->updated_ns);
		updates += u != last;
		last = u;
	}
	CHECK(updates >= 10, "%d updates in 1 s, want 100 (at least 10 on a busy machine)", updates);
	printf("ok   chronond's default schedule: trusted %.1f ms, window %.1f ms, %d updates in 1 s\n",
	       (double)trust / 1e6, valid_s * 1e3, updates);
	munmap((void *)m, sizeof *m);
	stop_daemon(pid, SIGTERM);
}

/* --trace: a line per resync (and per check found off), on stderr.  In
 * its first 600 ms a chronond resyncs at least five times (its young
 * rate's schedule doubles from at most a few ms); each line names the
 * resyncs so far, more than the line before (one more, but where
 * calibrating's own resync and the first update's fall together). */
static void test_trace(void)
{
	char page[sizeof dir + 16], err[sizeof dir + 16];
	snprintf(page, sizeof page, "%s/trace", dir);
	snprintf(err, sizeof err, "%s/trace.err", dir);
	pid_t pid = start_daemon_with(page, "--trace", NULL, err);
	wait_page(page, pid);
	sleep_ns(600000000);
	stop_daemon(pid, SIGTERM);
	FILE *f = fopen(err, "r");
	if (!f)
		FAIL("chronond --trace: no standard error file");
	char line[512];
	int resyncs = 0, other = 0;
	unsigned long long prev = 0, n;
	while (fgets(line, sizeof line, f)) {
		const char *r = strstr(line, "; ");
		if (strncmp(line, "chronond: trace ", 16) != 0)
			continue;
		if (!strstr(line, " resync, kernel - page ") || !r || sscanf(r, "; %llu resyncs", &n) != 1 ||
		    !strstr(line, " MHz +- ")) {
			other++;
			continue;
		}
		CHECK(n > prev && n <= prev + 2, "resync %llu told after %llu: %s", n, prev, line);
		prev = n;
		resyncs++;
	}
	fclose(f);
	CHECK(resyncs >= 5, "chronond --trace told %d resyncs in its first 600 ms", resyncs);
	printf("ok   chronond --trace: %d resyncs told in 600 ms, in order (%d check lines)\n", resyncs,
	       other);
}

int main(void)
{
#ifndef CHRONOND_PATH
	printf("skip: built without chronond (tests/cmake/daemon.cmake sets CHRONOND_PATH)\n");
	return 77;
#else
	make_dir(dir, sizeof dir, "sp");
	snprintf(live, sizeof live, "%s/page", dir);
	/* Statuses come from fresh children: this process reads no clock
	 * through chronon before forking them. */
	expect_status("off", "process", "disabled by CHRONON_PAGE=off");
	expect_status("relative/page", "process", "not an absolute path");
	expect_status(live, "process", "no page");
	test_args();
	test_default_schedule();
	test_trace();
	pid_t pid = start_daemon(live, "1s", NULL);
	wait_page(live, pid);
	expect_status(live, live, "");
	test_second_instance();
	test_refusals();
	test_corruption();
	test_retire(pid);
	expect_status(live, "process", "no page");
	return util_pass(dir);
#endif
}
