/*
 * The shared page: chronond's command line and lock, and the library's
 * checks.  Pages that must be refused (writable by others, another user's,
 * another boot's, truncated, retired, garbage, every byte corrupted in
 * turn) are refused with their reason, never crash or hang a reader, and
 * a page that passes gives time within the bound of its checks.
 */
#include <fcntl.h>
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
		int fd = open(live, O_RDONLY);
		ssize_t n = read(fd, s, sizeof *s);
		close(fd);
		if (n == (ssize_t)sizeof *s && !(atomic_load(&s->page.seq) & 1))
			return;
	}
	FAIL("cannot copy %s", live);
}

static void write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		FAIL("write %s: %s", path, strerror(errno));
	fchmod(fd, mode);
	close(fd);
}

static void expect_refused(const char *path, const char *has, const char *what)
{
	char why[128];
	const struct chronon__shm *s = chronon__shm_map(path, why, sizeof why);
	if (s || !strstr(why, has))
		FAIL("%s: %s, reason '%s' (wanted '%s')", what, s ? "accepted" : "refused", why, has);
	printf("ok   %s refused: %s\n", what, why);
}

static void test_refusals(void)
{
	struct chronon__shm s;
	char path[256];
	snprintf(path, sizeof path, "%s/planted", dir);

	snapshot(&s);
	write_file(path, &s, sizeof s, 0644);
	char why[128];
	const struct chronon__shm *m = chronon__shm_map(path, why, sizeof why);
	if (!m)
		FAIL("a fresh copy of the live page was refused: %s", why);
	munmap((void *)m, sizeof *m);
	printf("ok   a fresh copy of the live page is accepted\n");

	write_file(path, &s, sizeof s, 0666);
	expect_refused(path, "writable by group or others", "a page writable by others");
	write_file(path, &s, sizeof s, 0664);
	expect_refused(path, "writable by group or others", "a page writable by its group");
	if (geteuid() == 0) {
		write_file(path, &s, sizeof s, 0644);
		if (chown(path, 65534, 65534) != 0)
			FAIL("chown: %s", strerror(errno));
		expect_refused(path, "owned by uid 65534", "a page planted by another user");
	} else {
		printf("skip a page planted by another user: needs root to chown (running as uid %d)\n",
		       (int)geteuid());
	}
	write_file(path, &s, 100, 0644);
	expect_refused(path, "size 100", "a truncated page");
	write_file(path, &s, sizeof s - 1, 0644);
	expect_refused(path, "size", "a page one byte short");
	struct chronon__shm other = s;
	other.boot_id[0] = other.boot_id[0] == 'a' ? 'b' : 'a';
	write_file(path, &other, sizeof other, 0644);
	expect_refused(path, "another boot", "a page from another boot");
	other = s;
	other.abi++;
	write_file(path, &other, sizeof other, 0644);
	expect_refused(path, "layout", "a page of another ABI");
	other = s;
	atomic_store(&other.page.seq, atomic_load(&s.page.seq) | 1);
	write_file(path, &other, sizeof other, 0644);
	expect_refused(path, "middle of an update", "a page left mid-update");
	other = s;
	atomic_store(&other.updated_ns, test_kernel_ns(CLOCK_MONOTONIC) - 20000000000LL);
	write_file(path, &other, sizeof other, 0644);
	expect_refused(path, "stale", "a stale page");
	other = s;
	atomic_store(&other.page.fn_counter, (const struct chronon__counter *)&other);
	write_file(path, &other, sizeof other, 0644);
	expect_refused(path, "counter", "a page naming a function pointer");
	other = s;
	atomic_store(&other.retired, 1);
	write_file(path, &other, sizeof other, 0644);
	expect_refused(path, "retired", "a retired page");
	/* A page whose counter is vouched for by something this process
	 * cannot read itself (another paravirtual page, or none named). */
	other = s;
	snprintf(other.counter_source, sizeof other.counter_source, "%s",
		 strcmp(s.counter_source, "hvclock") == 0 ? "pvclock" : "hvclock");
	write_file(path, &other, sizeof other, 0644);
	expect_refused(path, "scaled by", "a page scaled by another paravirtual clock");
	other = s;
	memset(other.counter_source, 0, sizeof other.counter_source);
	write_file(path, &other, sizeof other, 0644);
	expect_refused(path, "scaled by (nothing)", "a page that names no counter source");

	unlink(path);
	mkfifo(path, 0644);
	expect_refused(path, "not a regular file", "a FIFO");
	unlink(path);
	mkdir(path, 0755);
	expect_refused(path, "not a regular file", "a directory");
	rmdir(path);
	if (symlink(live, path) != 0)
		FAIL("symlink");
	expect_refused(path, "", "a symbolic link");
	unlink(path);
	expect_refused(path, "no page", "a missing page");
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
	snprintf(path, sizeof path, "%s/corrupt", dir);
	static const unsigned char flips[] = {0xff, 0x01, 0x80, 0x10};
	unsigned accepted = 0, refused = 0;
	for (size_t i = 0; i < sizeof(struct chronon__shm); i++) {
		for (size_t f = 0; f < sizeof flips; f++) {
			struct chronon__shm s;
			snapshot(&s);
			((unsigned char *)&s)[i] ^= flips[f];
			write_file(path, &s, sizeof s, 0644);
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
		write_file(path, &s, sizeof s, 0644);
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
	unlink(path);
}

static void test_retire(pid_t pid)
{
	stop_daemon(pid, SIGTERM);
	expect_refused(live, "retired", "the page of a chronond stopped by SIGTERM");
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
	pid_t pid = start_daemon(live, "1s", NULL);
	wait_page(live, pid);
	expect_status(live, live, "");
	test_second_instance();
	test_refusals();
	test_corruption();
	test_retire(pid);
	expect_status(live, "process", "retired");
	return util_pass(dir);
#endif
}
