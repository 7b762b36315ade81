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
 *    include the namespace's offsets (root only).
 */
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "chronon.h"
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

static void mark_odd(void)
{
	int fd = open(live, O_RDWR);
	if (fd < 0)
		return;
	struct chronon__shm *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (s == MAP_FAILED)
		return;
	atomic_fetch_or(&s->page.seq, 1);
	munmap(s, sizeof *s);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	return test_rand(&rng);
}

static void test_kill(struct board *b)
{
	pid_t readers[NREADERS];
	for (int i = 0; i < NREADERS; i++) {
		readers[i] = fork();
		if (readers[i] == 0)
			_exit(reader(b, i));
	}
	pid_t d = start_daemon(live, "20ms", "/dev/null");
	wait_page(live, d);
	int kills = 30, odd = 0;
	for (int k = 0; k < kills; k++) {
		sleep_ns((int64_t)(rnd() % 300) * 1000000);
		if (k % 3 == 1) {
			mark_odd(); /* as if killed in the middle of an update */
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

/* A publishes its clock, B reads its own after seeing it (and back). */
static int exchanger(struct board *b, int me, long rounds)
{
	for (long r = 0; r < rounds; r++) {
		uint64_t turn = (uint64_t)r * 2 + (uint64_t)me;
		unsigned spins = 0;
		while (atomic_load_explicit(&b->ping, memory_order_acquire) != turn) {
			if (++spins > 2000)
				sched_yield();
		}
		if (r > 0 || me == 1) {
			int64_t mine = chronon_now_ns(CLOCK_MONOTONIC);
			int64_t theirs = atomic_load_explicit(&b->stamp, memory_order_relaxed);
			if (mine < theirs) {
				printf("FAIL exchange %ld: read %lld after seeing %lld\n", r, (long long)mine,
				       (long long)theirs);
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
	test_timens(argv[0]);
	return util_pass(dir);
#endif
}
