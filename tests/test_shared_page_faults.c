/*
 * The shared page under faults, across processes:
 *  - chronond killed with SIGKILL at random moments, sometimes with its
 *    page's sequence count left odd (as if killed mid-update), and
 *    restarted: readers in other processes never hang, never see MONOTONIC,
 *    MONOTONIC_RAW or BOOTTIME go back, stay within bound of the kernel,
 *    and are back on the shared page after the last restart;
 *  - two processes exchanging timestamps through shared memory: the
 *    reader's clock is never earlier than the timestamp it received;
 *  - a reader in another time namespace refuses the page and its clocks
 *    include the namespace's offsets (root only);
 *  - the page truncated (by path, through a descriptor readers get, through
 *    /proc), grown, written, replaced and deleted under two readers: every
 *    attempt to change its size or write it fails, no reader dies;
 *  - 1000 stale/fresh cycles of one page (chronond stopped with the page
 *    left mid-update, then resumed): the reader leaves and comes back to
 *    it each time, always through the one mapping it has of it;
 *  - a fresh reader while chronond is stopped: no read waits for its
 *    answer, and the reader is on the page once chronond resumes;
 *  - chronond held inside its write section for 0.4 ms (as a writer
 *    preempted there, or a vCPU its host descheduled): a reader that meets
 *    the open section waits for it and stays on the page.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "chronon.h"
#include "proc_page.h"
#include "shared_page.h"
#include "shared_page_util.h"

#define NREADERS 2
#define BOUND_NS (CHRONON__SHM_PAD_MAX_NS + 1000000) /* pad, and a preempted bracket's slack */

struct board {
	_Atomic int stop;
	_Atomic int64_t reads[NREADERS], shared_reads[NREADERS], worst_back[NREADERS];
	_Atomic int64_t last_active_ns[NREADERS]; /* kernel MONOTONIC when last seen on the page */
	_Atomic uint64_t ping, pong;
	_Atomic int64_t stamp;
};

static char dir[128], live[192];

/* A reader: checks every read against its predecessors and the kernel. */
static int reader(struct board *b, int id)
{
	static const clockid_t ids[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
					CLOCK_REALTIME};
	int64_t last[4] = {0};
	for (uint64_t n = 0; !atomic_load(&b->stop); n++) {
		int i = (int)(n & 3);
		int64_t lo = test_kernel_ns(ids[i]);
		int64_t v = chronon_now_ns(ids[i]);
		int64_t hi = test_kernel_ns(ids[i]);
		if (i < 3 && v < last[i]) {
			printf("FAIL reader %d: clock %d went back by %lld ns\n", id, (int)ids[i],
			       (long long)(last[i] - v));
			return 1;
		}
		/* REALTIME may only be compared with the kernel: it may be set. */
		if (v < lo - BOUND_NS || v > hi + BOUND_NS) {
			printf("FAIL reader %d: clock %d is %lld ns off the kernel's\n", id, (int)ids[i],
			       (long long)(v < lo ? v - lo : v - hi));
			return 1;
		}
		last[i] = v > last[i] ? v : last[i];
		atomic_fetch_add(&b->reads[id], 1);
		if (chronon__shm_active()) {
			atomic_fetch_add(&b->shared_reads[id], 1);
			if ((n & 255) == 0)
				atomic_store(&b->last_active_ns[id], hi);
		}
	}
	return 0;
}

/* Where chronond pid keeps its page (its only writable memfd mapping). */
static uint64_t page_address(pid_t pid)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	uint64_t at = 0;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "memfd:chronon-page") && strstr(line, "rw-s"))
			at = strtoull(line, NULL, 16);
	if (f)
		fclose(f);
	return at;
}

/* The page is sealed against writes by anyone but its chronond: the test
 * writes its sequence count the way a debugger would, through
 * /proc/PID/mem (the test is the daemon's parent).  A seq_pen keeps the
 * file open, so that a write costs two system calls (a section held open
 * for a measured while must not be dominated by the pen's own cost). */
struct seq_pen {
	int fd;
	off_t off;
};

static int pen_open(struct seq_pen *pen, pid_t pid)
{
	uint64_t at = page_address(pid);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	pen->fd = at ? open(path, O_RDWR | O_CLOEXEC) : -1;
	pen->off = (off_t)(at + offsetof(struct chronon__shm, page) + offsetof(struct chronon__page, seq));
	return pen->fd >= 0 ? 0 : -1;
}

/* Makes the count odd or even; the count before, or -1. */
static int64_t pen_write(const struct seq_pen *pen, int odd)
{
	uint32_t seq, want;
	if (pread(pen->fd, &seq, sizeof seq, pen->off) != (ssize_t)sizeof seq)
		return -1;
	want = odd ? seq | 1 : seq & ~1u;
	return pwrite(pen->fd, &want, sizeof want, pen->off) == (ssize_t)sizeof want ? (int64_t)seq : -1;
}

static int64_t poke_seq(pid_t pid, int odd)
{
	struct seq_pen pen;
	if (pen_open(&pen, pid) != 0)
		return -1;
	int64_t r = pen_write(&pen, odd);
	close(pen.fd);
	return r;
}

static void mark_odd(pid_t pid)
{
	poke_seq(pid, 1);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	return test_rand(&rng);
}

static void start_readers(struct board *b, pid_t readers[NREADERS])
{
	atomic_store(&b->stop, 0);
	for (int i = 0; i < NREADERS; i++) {
		atomic_store(&b->reads[i], 0);
		atomic_store(&b->shared_reads[i], 0);
		readers[i] = fork();
		if (readers[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			_exit(reader(b, i));
		}
	}
}

static void test_kill(struct board *b)
{
	pid_t readers[NREADERS];
	start_readers(b, readers);
	pid_t d = start_daemon(live, "20ms", "/dev/null");
	wait_page(live, d);
	int kills = 30, odd = 0;
	for (int k = 0; k < kills; k++) {
		sleep_ns((int64_t)(rnd() % 300) * 1000000);
		if (k % 3 == 1) {
			mark_odd(d); /* as if killed in the middle of an update */
			odd++;
		}
		stop_daemon(d, SIGKILL);
		if (k % 4 == 0)
			sleep_ns(400000000); /* let readers fall back before the restart */
		d = start_daemon(live, "20ms", "/dev/null");
		wait_page(live, d);
	}
	int64_t restarted = test_kernel_ns(CLOCK_MONOTONIC);
	/* Readers look again at most once a second, after the old page's
	 * validity (at most 2 x 20 ms + 50 ms) ran out. */
	sleep_ns(2500000000LL);
	atomic_store(&b->stop, 1);
	for (int i = 0; i < NREADERS; i++) {
		int st;
		waitpid(readers[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			FAIL("reader %d failed (status %d)", i, st);
		int64_t seen = atomic_load(&b->last_active_ns[i]);
		printf("ok   reader %d: %lld reads, %lld from the shared page, back on it %.2f s after "
		       "the last restart\n",
		       i, (long long)atomic_load(&b->reads[i]), (long long)atomic_load(&b->shared_reads[i]),
		       (double)(seen - restarted) * 1e-9);
		if (seen <= restarted)
			FAIL("reader %d did not return to the shared page after the last restart", i);
	}
	stop_daemon(d, SIGTERM);
	printf("ok   %d SIGKILLs (%d with the page left mid-update): no reader hung, went back or "
	       "strayed beyond %lld ns\n",
	       kills, odd, (long long)BOUND_NS);
}

/* What a failed exchanger leaves in ping: no turn has that number. */
#define EXCHANGE_ABORT UINT64_MAX

/* A publishes its clock, B reads its own after seeing it (and back). */
static int exchanger(struct board *b, int me, long rounds)
{
	for (long r = 0; r < rounds; r++) {
		uint64_t turn = (uint64_t)r * 2 + (uint64_t)me;
		unsigned spins = 0;
		uint64_t at;
		while ((at = atomic_load_explicit(&b->ping, memory_order_acquire)) != turn) {
			if (at == EXCHANGE_ABORT)
				return 2; /* the other one failed */
			if (++spins > 2000)
				sched_yield();
		}
		if (r > 0 || me == 1) {
			int64_t mine = chronon_now_ns(CLOCK_MONOTONIC);
			int64_t theirs = atomic_load_explicit(&b->stamp, memory_order_relaxed);
			if (mine < theirs) {
				printf("FAIL exchange %ld: read %lld after seeing %lld\n", r, (long long)mine,
				       (long long)theirs);
				/* The other one must not wait for its turn forever. */
				atomic_store_explicit(&b->ping, EXCHANGE_ABORT, memory_order_release);
				return 1;
			}
		}
		atomic_store_explicit(&b->stamp, chronon_now_ns(CLOCK_MONOTONIC), memory_order_relaxed);
		atomic_store_explicit(&b->ping, turn + 1, memory_order_release);
	}
	return 0;
}

static void test_exchange(struct board *b)
{
	pid_t d = start_daemon(live, "100ms", "/dev/null");
	wait_page(live, d);
	long rounds = 500000; /* each round is two exchanges: 10^6 in all */
	atomic_store(&b->ping, 0);
	pid_t p[2];
	for (int i = 0; i < 2; i++) {
		p[i] = fork();
		if (p[i] == 0) {
			test_child();
			/* The second read maps the page; a slow (sanitised) build
			 * may need another look. */
			for (int t = 0; t < 30 && !chronon__shm_active(); t++) {
				chronon__shm_look_now();
				chronon_now_ns(CLOCK_MONOTONIC);
				chronon_now_ns(CLOCK_MONOTONIC);
				if (!chronon__shm_active())
					sleep_ns(100000000);
			}
			if (!chronon__shm_active()) {
				struct chronon_status st;
				chronon_status(&st);
				printf("exchanger %d: no page: %s\n", i, st.page_reason);
				_exit(3);
			}
			_exit(exchanger(b, i, rounds));
		}
	}
	for (int i = 0; i < 2; i++) {
		int st;
		waitpid(p[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			FAIL("exchanger %d failed (status %d%s)", i, st,
			     WIFEXITED(st) && WEXITSTATUS(st) == 3 ? ": not on the shared page" : "");
	}
	stop_daemon(d, SIGTERM);
	printf("ok   %ld timestamps exchanged between two processes on the shared page: none "
	       "earlier than the one it followed\n",
	       rounds * 2);
}

/* ---- the page truncated, replaced, deleted --------------------------- */

/* An attempt that must fail; says how it failed. */
static void refused(int r, const char *what)
{
	CHECK(r != 0, "%s succeeded", what);
	printf("ok   %s: refused (%s)\n", what, strerror(errno));
}

static void attack(pid_t d)
{
	/* By path: the path is chronond's socket, not the page. */
	refused(truncate(live, 0), "truncate(page path, 0)");
	int fd = open(live, O_RDWR | O_TRUNC);
	refused(fd < 0 ? -1 : 0, "open(page path, O_TRUNC)");
	if (fd >= 0)
		close(fd);
	/* Through the descriptor every reader is handed. */
	fd = util_page_fd(live);
	CHECK(fd >= 0, "no descriptor from chronond");
	if (fd >= 0) {
		refused(ftruncate(fd, 0), "ftruncate(page, 0)");
		refused(ftruncate(fd, 100), "ftruncate(page, 100)");
		refused(ftruncate(fd, 1 << 20), "ftruncate(page, 1 MiB)");
		refused(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096),
			"fallocate(page, punch a hole)");
		char zero[64] = {0};
		refused(pwrite(fd, zero, sizeof zero, 256) == (ssize_t)sizeof zero ? 0 : -1,
			"pwrite(page)");
		void *m = mmap(NULL, sizeof(struct chronon__shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		refused(m == MAP_FAILED ? -1 : 0, "mmap(page, PROT_WRITE, MAP_SHARED)");
		if (m != MAP_FAILED)
			munmap(m, sizeof(struct chronon__shm));
		close(fd);
	}
	/* Through chronond's own descriptor, as its owner could. */
	for (int n = 3; n < 64; n++) {
		char path[64], target[128];
		snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)d, n);
		ssize_t len = readlink(path, target, sizeof target - 1);
		if (len <= 0)
			continue;
		target[len] = 0;
		if (!strstr(target, "memfd:chronon-page"))
			continue;
		int own = open(path, O_RDWR);
		if (own >= 0) {
			refused(ftruncate(own, 0), "ftruncate(/proc/chronond/fd/N, 0)");
			close(own);
		}
	}
}

static void test_truncate(struct board *b)
{
	pid_t readers[NREADERS];
	start_readers(b, readers);
	pid_t d = start_daemon(live, "20ms", "/dev/null");
	wait_page(live, d);
	sleep_ns(1500000000LL); /* the readers are on the page (they look once a second) */
	attack(d);
	sleep_ns(200000000);
	/* Replaced: a new chronond, a new page. */
	stop_daemon(d, SIGKILL);
	d = start_daemon(live, "20ms", "/dev/null");
	wait_page(live, d);
	sleep_ns(1500000000LL);
	attack(d);
	/* Deleted: the socket gone, then its chronond. */
	unlink(live);
	sleep_ns(200000000);
	stop_daemon(d, SIGKILL);
	sleep_ns(300000000);
	atomic_store(&b->stop, 1);
	for (int i = 0; i < NREADERS; i++) {
		int st;
		waitpid(readers[i], &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reader %d: %s %d", i,
		      WIFSIGNALED(st) ? "killed by signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		printf("ok   reader %d lived through it all: %lld reads, %lld from the shared page\n", i,
		       (long long)atomic_load(&b->reads[i]), (long long)atomic_load(&b->shared_reads[i]));
	}
}

/* ---- one mapping per page ------------------------------------------ */

static int page_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	while (f && fgets(line, sizeof line, f))
		n += strstr(line, "memfd:chronon-page") != NULL;
	if (f)
		fclose(f);
	return n;
}

static int stopped(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && (p[2] == 'T' || p[2] == 't');
}

/* Read until the reader is on a page (want 1) or off it (want 0). */
static int settle(int want)
{
	for (int i = 0; i < 2000; i++) {
		if (want)
			chronon__shm_look_now();
		chronon_now_ns(CLOCK_MONOTONIC);
		if ((chronon__shm_active() != NULL) == want)
			return 1;
		sleep_ns(100000);
	}
	return 0;
}

static int cycles_child(pid_t d, int cycles)
{
	if (!settle(1)) {
		printf("FAIL the reader never got on the page\n");
		return 1;
	}
	const struct chronon__shm *first = chronon__shm_active();
	for (int c = 0; c < cycles; c++) {
		kill(d, SIGSTOP);
		while (!stopped(d))
			sleep_ns(50000);
		int64_t seq = poke_seq(d, 1); /* stale: left mid-update */
		int left = seq >= 0 && settle(0);
		poke_seq(d, 0);
		kill(d, SIGCONT);
		if (!left || !settle(1)) {
			printf("FAIL cycle %d: the reader did not %s the page\n", c, left ? "come back to" : "leave");
			return 1;
		}
		if (chronon__shm_active() != first || page_mappings() != 1) {
			printf("FAIL cycle %d: page %p (first %p), %d mappings of it\n", c,
			       (const void *)chronon__shm_active(), (const void *)first, page_mappings());
			return 1;
		}
	}
	printf("ok   %d stale/fresh cycles: the reader left and came back each time, through %d "
	       "mapping of the page\n",
	       cycles, page_mappings());
	return 0;
}

/* A reader process against chronond d, which is stopped or not: the
 * child's exit status, with d continued and stopped afterwards. */
static int child_against(pid_t d, int (*child)(pid_t d, int arg), int arg)
{
	pid_t p = fork();
	if (p == 0) {
		test_child();
		_exit(child(d, arg));
	}
	int st;
	waitpid(p, &st, 0);
	kill(d, SIGCONT);
	stop_daemon(d, SIGTERM);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_cycles(void)
{
	pid_t d = start_daemon(live, "1s", "/dev/null");
	wait_page(live, d);
	int cycles = getenv("CHRONON_TEST_QUICK") ? 100 : 1000;
	CHECK(child_against(d, cycles_child, cycles) == 0, "the cycling reader failed");
}

/* ---- a writer held inside its section ------------------------------------ */

struct held {
	_Atomic int stop, left;
	_Atomic int64_t reads, longest_ns;
};

static void *held_reader(void *arg)
{
	struct held *h = arg;
	while (!atomic_load(&h->stop)) {
		int64_t a = test_kernel_ns(CLOCK_MONOTONIC);
		chronon_now_ns(CLOCK_MONOTONIC);
		int64_t d = test_kernel_ns(CLOCK_MONOTONIC) - a;
		if (d > atomic_load(&h->longest_ns))
			atomic_store(&h->longest_ns, d);
		if (!chronon__shm_active())
			atomic_store(&h->left, 1);
		atomic_fetch_add(&h->reads, 1);
	}
	return NULL;
}

/* A trial counts when the section was open no longer than HELD_MAX_NS
 * (well inside the 2 ms a reader waits) and a read waited on it (a
 * reader thread descheduled all along proves nothing). */
#define HELD_NS 400000
#define HELD_MAX_NS 1200000
#define HELD_WAITED_NS 100000

static int held_trial(pid_t d, struct held *h, int *counted)
{
	kill(d, SIGSTOP);
	while (!stopped(d))
		sleep_ns(50000);
	atomic_store(&h->left, 0);
	atomic_store(&h->longest_ns, 0);
	struct seq_pen pen;
	int opened = pen_open(&pen, d) == 0;
	int64_t a = test_kernel_ns(CLOCK_MONOTONIC);
	int written = opened && pen_write(&pen, 1) >= 0;
	sleep_ns(HELD_NS);
	if (written)
		pen_write(&pen, 0);
	int64_t held = test_kernel_ns(CLOCK_MONOTONIC) - a;
	if (opened)
		close(pen.fd);
	kill(d, SIGCONT);
	int64_t n = atomic_load(&h->reads);
	while (atomic_load(&h->reads) < n + 2)
		sleep_ns(20000);
	if (!written) {
		printf("FAIL could not write chronond's sequence count\n");
		return 1;
	}
	int64_t longest = atomic_load(&h->longest_ns);
	*counted = held <= HELD_MAX_NS && longest >= HELD_WAITED_NS;
	if (*counted && atomic_load(&h->left)) {
		printf("FAIL the reader left the page while its section was open %.3f ms (longest read %.3f ms)\n",
		       (double)held / 1e6, (double)longest / 1e6);
		return 1;
	}
	return 0;
}

static int held_child(pid_t d, int unused)
{
	(void)unused;
	if (!settle(1)) {
		printf("FAIL the reader never got on the page\n");
		return 1;
	}
	struct held h = {0};
	pthread_t t;
	if (pthread_create(&t, NULL, held_reader, &h) != 0)
		return 1;
	int counted = 0, failed = 0, trials = 0;
	while (!failed && counted < 6 && trials++ < 60) {
		int c = 0;
		failed = held_trial(d, &h, &c);
		counted += c;
		if (!settle(1))
			failed = 1;
	}
	atomic_store(&h.stop, 1);
	pthread_join(t, NULL);
	if (!failed && counted < 6) {
		printf("FAIL only %d of %d trials counted (this machine too busy to tell)\n", counted, trials);
		return 1;
	}
	if (!failed)
		printf("ok   chronond held inside its section %d times (%d trials): the reader waited for it "
		       "and stayed on the page\n",
		       counted, trials);
	return failed;
}

static void test_held(void)
{
	pid_t d = start_daemon(live, "1s", "/dev/null");
	wait_page(live, d);
	CHECK(child_against(d, held_child, 0) == 0, "the reader of a held section failed");
}

/* ---- a stopped chronond ------------------------------------------------ */

/* A fresh reader while chronond is stopped (it cannot answer): no read
 * waits for the answer (the slowest read stays far below the 500 ms a
 * look gives chronond), the reader serves itself; once chronond resumes,
 * the reader is on its page. */
static int stopped_child(pid_t d, int unused)
{
	(void)unused;
	int64_t slowest = 0, end = test_kernel_ns(CLOCK_MONOTONIC) + 300000000;
	while (test_kernel_ns(CLOCK_MONOTONIC) < end) {
		int64_t a = test_kernel_ns(CLOCK_MONOTONIC);
		chronon_now_ns(CLOCK_MONOTONIC);
		int64_t b = test_kernel_ns(CLOCK_MONOTONIC);
		if (b - a > slowest)
			slowest = b - a;
	}
	int on_early = chronon__shm_active() != NULL;
	/* The program closes every descriptor it does not know, the
	 * library's pending socket included, and reuses the numbers: the
	 * library must not close or read them as its own. */
	int reused = -1;
	for (int fd = 3; fd < 64; fd++) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
			int null = open("/dev/null", O_RDONLY);
			if (null >= 0 && dup2(null, fd) == fd)
				reused = fd;
			if (null >= 0 && null != fd)
				close(null);
		}
	}
	kill(d, SIGCONT);
	end = test_kernel_ns(CLOCK_MONOTONIC) + 3000000000LL;
	while (!chronon__shm_active() && test_kernel_ns(CLOCK_MONOTONIC) < end) {
		chronon_now_ns(CLOCK_MONOTONIC);
		sleep_ns(100000);
	}
	int kept = reused < 0 || fcntl(reused, F_GETFD) != -1;
	int good = slowest < 250000000 && !on_early && chronon__shm_active() && kept;
	printf("%s   chronond stopped: slowest read %.3f ms, %s; resumed: %s; the program's "
	       "descriptor %d in place of the library's socket %s\n",
	       good ? "ok" : "FAIL", (double)slowest * 1e-6,
	       on_early ? "on its page (?)" : "served by the process",
	       chronon__shm_active() ? "on its page" : "never on its page", reused,
	       kept ? "left alone" : "closed by the library");
	return good ? 0 : 1;
}

static void test_stopped(void)
{
	pid_t d = start_daemon(live, "100ms", "/dev/null");
	wait_page(live, d);
	kill(d, SIGSTOP);
	CHECK(child_against(d, stopped_child, 0) == 0, "a reader of a stopped chronond failed");
}

/* Run inside `unshare --time --monotonic 1000 --boottime 2000`. */
static int timens_child(const char *page, int64_t parent_mono, int64_t parent_boot)
{
	setenv("CHRONON_PAGE", page, 1);
	struct chronon_status st;
	chronon_now_ns(CLOCK_MONOTONIC);
	chronon_status(&st);
	if (strcmp(st.page, "process") != 0 || !strstr(st.page_reason, "another time namespace")) {
		printf("FAIL in a time namespace: page '%s' reason '%s'\n", st.page, st.page_reason);
		return 1;
	}
	int64_t m = chronon_now_ns(CLOCK_MONOTONIC), bt = chronon_now_ns(CLOCK_BOOTTIME);
	int64_t dm = m - parent_mono, db = bt - parent_boot;
	/* The parent read its clocks less than 30 s before. */
	if (dm < 1000000000000LL || dm > 1030000000000LL || db < 2000000000000LL ||
	    db > 2030000000000LL) {
		printf("FAIL in a time namespace: MONOTONIC +%lld ns, BOOTTIME +%lld ns over the "
		       "parent's\n",
		       (long long)dm, (long long)db);
		return 1;
	}
	printf("ok   in a time namespace: page refused (%s); MONOTONIC +%.3f s, BOOTTIME +%.3f s\n",
	       st.page_reason, (double)dm * 1e-9, (double)db * 1e-9);
	return 0;
}

static void test_timens(const char *self)
{
	if (geteuid() != 0) {
		printf("skip time namespace: unshare --time needs root (running as uid %d)\n",
		       (int)geteuid());
		return;
	}
	if (access("/proc/self/ns/time", F_OK) != 0) {
		printf("skip time namespace: this kernel has none\n");
		return;
	}
	pid_t d = start_daemon(live, "100ms", "/dev/null");
	wait_page(live, d);
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "unshare --time --monotonic 1000 --boottime 2000 %s --timens-child %s %lld %lld", self,
		 live, (long long)test_kernel_ns(CLOCK_MONOTONIC), (long long)test_kernel_ns(CLOCK_BOOTTIME));
	int rc = system(cmd);
	stop_daemon(d, SIGTERM);
	if (rc != 0) {
		/* unshare itself failing (a container without the privilege)
		 * is a skip; the child's own failure is a failure. */
		snprintf(cmd, sizeof cmd, "unshare --time --monotonic 1 true 2>/dev/null");
		if (system(cmd) != 0) {
			printf("skip time namespace: unshare --time is not allowed here\n");
			return;
		}
		FAIL("the reader in a time namespace failed (status %d)", rc);
	}
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--timens-child") == 0)
		return timens_child(argv[2], atoll(argv[3]), atoll(argv[4]));
#ifndef CHRONOND_PATH
	printf("skip: built without chronond (tests/cmake/daemon.cmake sets CHRONOND_PATH)\n");
	return 77;
#else
	setvbuf(stdout, NULL, _IONBF, 0);
	make_dir(dir, sizeof dir, "spf");
	snprintf(live, sizeof live, "%s/page", dir);
	setenv("CHRONON_PAGE", live, 1);
	struct board *b = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		FAIL("mmap");
	memset(b, 0, sizeof *b);
	/* Children start from fresh library state: this process never reads
	 * a clock through chronon. */
	test_kill(b);
	test_exchange(b);
	test_truncate(b);
	test_cycles();
	test_held();
	test_stopped();
	test_timens(argv[0]);
	if (test_failures())
		return test_exit();
	return util_pass(dir);
#endif
}
