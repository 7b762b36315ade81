/*
 * The work locks under adversity (src/lock.h):
 *  - a SIGALRM every 200 us whose handler leaves with siglongjmp, landing
 *    wherever the reads were, the timekeeper's work included: afterwards
 *    the lock is free and the work still runs;
 *  - a thread cancelled at its first cancellation point, which inside the
 *    library is an open() or read() of the timekeeper's work or of the
 *    page look-up: neither lock stays held, the process calibrates and
 *    looks for its page;
 *  - a lock left by a thread that no longer exists is recovered;
 *  - vfork and clone(CLONE_VM) children reading while a thread of the
 *    parent does the work: never two writers (a spy kernel clock, called
 *    by the work, checks that the lock stays its caller's all along).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chronon.h"
#include "check.h"
#include "clock.h"
#include "kclock.h"
#include "shared_page.h"
#include "timekeeper.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

static int quick(void)
{
	return getenv("CHRONON_TEST_QUICK") || test_emulated();
}

static uint32_t tid(void)
{
	return (uint32_t)syscall(SYS_gettid);
}

/* Reads from another thread until the timekeeper has resynced again (it
 * does at least once a second), or 3 s passed; the resyncs gained. */
static void *reader_thread(void *arg)
{
	int64_t *gained = arg;
	struct chronon_status st;
	chronon_status(&st);
	uint64_t before = st.resyncs;
	int64_t end = test_kernel_ns(CLOCK_MONOTONIC) + 3000000000LL;
	do {
		for (int i = 0; i < 1000; i++)
			chronon_now_ns(CLOCK_MONOTONIC);
		chronon_status(&st);
	} while (st.resyncs == before && test_kernel_ns(CLOCK_MONOTONIC) < end);
	*gained = (int64_t)(st.resyncs - before);
	return NULL;
}

static int64_t resyncs_from_another_thread(void)
{
	pthread_t t;
	int64_t gained = 0;
	pthread_create(&t, NULL, reader_thread, &gained);
	pthread_join(t, NULL);
	return gained;
}

/* ---- siglongjmp out of a handler ------------------------------------ */

static sigjmp_buf jump_to;
static volatile sig_atomic_t jumps;

static void jump_out(int sig)
{
	(void)sig;
	jumps++;
	siglongjmp(jump_to, 1);
}

static void longjmp_out_of_reads(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = jump_out;
	sigaction(SIGALRM, &sa, NULL);
	int us = test_emulated() ? 2000 : 200;
	struct itimerval it = {{0, us}, {0, us}};
	volatile int64_t end = test_kernel_ns(CLOCK_MONOTONIC) + (quick() ? 1000000000 : 3000000000);
	sigsetjmp(jump_to, 1);
	if (jumps == 0)
		setitimer(ITIMER_REAL, &it, NULL);
	while (test_kernel_ns(CLOCK_MONOTONIC) < end)
		for (int i = 0; i < 64; i++)
			chronon_now_ns(i & 1 ? CLOCK_MONOTONIC : CLOCK_REALTIME);
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	uint64_t held = atomic_load(&chronon__proc_tk.lock);
	int64_t gained = resyncs_from_another_thread();
	printf("siglongjmp: %d jumps out of reads; lock afterwards %#llx, %lld resyncs since\n",
	       (int)jumps, (unsigned long long)held, (long long)gained);
	CHECK(jumps > 100, "only %d jumps", (int)jumps);
	CHECK(held == 0, "the timekeeper's lock is still held (%#llx)", (unsigned long long)held);
	CHECK(gained >= 1, "the work no longer runs (no resync in 3 s)");
}

/* ---- pthread_cancel ------------------------------------------------- */

static void *read_until_cancelled(void *arg)
{
	(void)arg;
	/* 100 ms of reads first: the library's own cancellation points
	 * (start-up, calibration, the page look-up) come in them; this one
	 * is where the thread is meant to go. */
	int64_t until = test_kernel_ns(CLOCK_MONOTONIC) + 100000000;
	for (;;) {
		for (int i = 0; i < 256; i++)
			chronon_now_ns(CLOCK_MONOTONIC);
		if (test_kernel_ns(CLOCK_MONOTONIC) > until)
			pthread_testcancel();
	}
	return NULL;
}

/* In a fresh child: a thread whose cancellation is pending from its first
 * read.  Its wait status: 0 when the locks survived. */
static int cancel_child(const char *page)
{
	setenv("CHRONON_PAGE", page, 1);
	pthread_t t;
	pthread_create(&t, NULL, read_until_cancelled, NULL);
	pthread_cancel(t);
	pthread_join(t, NULL);
	int64_t end = test_kernel_ns(CLOCK_MONOTONIC) + 3000000000LL;
	struct chronon_status st;
	do {
		for (int i = 0; i < 1000; i++)
			chronon_now_ns(CLOCK_MONOTONIC);
		chronon__shm_look_now();
		chronon_now_ns(CLOCK_MONOTONIC);
		chronon_status(&st);
	} while (st.mode != CHRONON_MODE_COUNTER && test_kernel_ns(CLOCK_MONOTONIC) < end);
	int bad = 0;
	if (atomic_load(&chronon__proc_tk.lock) != 0) {
		printf("  CHRONON_PAGE=%s: the timekeeper's lock is still held\n", page);
		bad = 1;
	}
	if (st.mode != CHRONON_MODE_COUNTER && st.mode != CHRONON_MODE_KERNEL) {
		printf("  CHRONON_PAGE=%s: still %s after 3 s\n", page, st.mode_name);
		bad = 1;
	}
	/* The page look-up ran again (its lock was free): it says why. */
	if (strcmp(page, "off") != 0 && !strstr(st.page_reason, page)) {
		printf("  CHRONON_PAGE=%s: the look-up did not run again (reason '%s')\n", page,
		       st.page_reason);
		bad = 1;
	}
	fflush(stdout);
	return bad;
}

/* A socket that never answers: the look-up's connect() and poll() are
 * cancellation points. */
static void mute_socket(char *path, size_t len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(path, len, "/tmp/chronon-locks-%d.sock", (int)getpid());
	memcpy(a.sun_path, path, strlen(path) + 1);
	unlink(path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
		perror("mute socket");
		exit(2);
	}
}

static void cancelled_inside(void)
{
	/* "off": the first cancellation point is the timekeeper's start-up
	 * (under its lock); a chronond that never answers: the look-up's
	 * connect() (under the switch lock). */
	char mute[64];
	mute_socket(mute, sizeof mute);
	const char *pages[] = {"off", mute};
	for (int i = 0; i < 2; i++) {
		fflush(stdout);
		pid_t p = fork();
		if (p == 0) {
			test_child();
			_exit(cancel_child(pages[i]));
		}
		int st;
		waitpid(p, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "a thread cancelled in the library (CHRONON_PAGE=%s) left a lock behind (status %d)",
		      pages[i], st);
	}
	unlink(mute);
	if (!test_failures())
		printf("pthread_cancel: neither lock left behind\n");
}

/* ---- a holder that no longer exists ----------------------------------- */

static void *note_tid(void *arg)
{
	*(uint32_t *)arg = tid();
	return NULL;
}

static void dead_holder(void)
{
	uint32_t gone = 0;
	pthread_t t;
	pthread_create(&t, NULL, note_tid, &gone);
	pthread_join(t, NULL);
	/* Its tid, in the lock word this process's image writes. */
	atomic_store(&chronon__proc_tk.lock, (uint64_t)(uint32_t)getpid() << 32 | gone);
	int64_t gained = resyncs_from_another_thread();
	uint64_t held = atomic_load(&chronon__proc_tk.lock);
	printf("dead holder: lock %#llx afterwards, %lld resyncs\n", (unsigned long long)held,
	       (long long)gained);
	CHECK(held == 0 && gained >= 1, "a lock left by a dead thread was not recovered");
}

/* ---- vfork and CLONE_VM ----------------------------------------------- */

#ifdef UNDER_TSAN
static void shared_memory_children(void)
{
	printf("skip vfork/CLONE_VM: ThreadSanitizer does not follow tasks that share memory\n");
}
#else

static struct chronon__tk tk;
static struct chronon__page page;
static _Atomic long overlaps, worked;

/* The kernel's clock, and, when the caller holds the lock, a check that
 * nobody takes it from under it while it works. */
static int64_t spy_now(void *ctx, clockid_t clock)
{
	(void)ctx;
	uint32_t me = tid();
	if ((uint32_t)atomic_load(&tk.lock) == me) {
		atomic_fetch_add(&worked, 1);
		int64_t until = test_kernel_ns(CLOCK_MONOTONIC) + 2000;
		while (test_kernel_ns(CLOCK_MONOTONIC) < until)
			;
		if ((uint32_t)atomic_load(&tk.lock) != me)
			atomic_fetch_add(&overlaps, 1);
	}
	return chronon__kclock_real.now(chronon__kclock_real.ctx, clock);
}

static int spy_set(void *ctx)
{
	(void)ctx;
	return chronon__kclock_real.realtime_was_set(chronon__kclock_real.ctx);
}

static int spy_ntp(void *ctx, struct chronon__ntp *out)
{
	(void)ctx;
	return chronon__kclock_real.ntp ? chronon__kclock_real.ntp(chronon__kclock_real.ctx, out) : -1;
}

static const struct chronon__kclock spy = {.now = spy_now, .realtime_was_set = spy_set, .ntp = spy_ntp};

static _Atomic int stop;

static void *hammer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		chronon__tk_read(&tk, CHRONON__CK_MONO);
	return NULL;
}

static int child_reads(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		chronon__tk_read(&tk, CHRONON__CK_MONO);
	return 0;
}

static void shared_memory_children(void)
{
	chronon__tk_setup(&tk, &page, &spy, NULL);
	tk.cfg.check_ns = 100000; /* the page expires every 100 us: the work runs nonstop */
	int64_t end = test_kernel_ns(CLOCK_MONOTONIC) + 2000000000;
	while (atomic_load(&tk.state) != CHRONON__TK_COUNTER && test_kernel_ns(CLOCK_MONOTONIC) < end)
		chronon__tk_read(&tk, CHRONON__CK_MONO);
	if (atomic_load(&tk.state) != CHRONON__TK_COUNTER) {
		printf("skip vfork/CLONE_VM: the timekeeper does not reach counter mode here (%s)\n",
		       tk.reason);
		return;
	}
	pthread_t t;
	pthread_create(&t, NULL, hammer, NULL);
	int n = quick() ? 2000 : 15000;
	static char stack[64 * 1024] __attribute__((aligned(16)));
	long vforks = 0, clones = 0;
	for (int i = 0; i < n; i++) {
		pid_t p;
		if (i & 1) {
			p = vfork();
			if (p == 0) {
				child_reads(NULL);
				_exit(0);
			}
			vforks++;
		} else {
			p = clone(child_reads, stack + sizeof stack, CLONE_VM | SIGCHLD, NULL);
			clones++;
		}
		if (p > 0)
			waitpid(p, NULL, 0);
		if (i % 64 == 0)
			chronon__tk_read(&tk, CHRONON__CK_MONO);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("vfork/CLONE_VM: %ld vforks, %ld clones, %ld locked kernel reads, %ld taken from "
	       "under their holder\n",
	       vforks, clones, (long)atomic_load(&worked), (long)atomic_load(&overlaps));
	CHECK(atomic_load(&worked) > 1000, "the work hardly ran (%ld)", (long)atomic_load(&worked));
	CHECK(atomic_load(&overlaps) == 0, "two writers at once %ld times", (long)atomic_load(&overlaps));
}
#endif

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	cancelled_inside(); /* first: its children must start from fresh state */
	chronon_now_ns(CLOCK_MONOTONIC);
	longjmp_out_of_reads();
	dead_holder();
	shared_memory_children();
	return test_exit();
}
