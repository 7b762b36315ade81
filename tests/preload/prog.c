/*
 * An ordinary program, built WITHOUT chronon, that the preload tests run
 * with and without LD_PRELOAD=libchronon-preload.so.  Every clock read it
 * checks goes through libc's names; its references are the kernel's own
 * system calls (syscall(2) is never interposed).
 *
 *   prog semantics      prints one line per call with its return value and
 *                       errno (and the deterministic results: resolutions,
 *                       time zone); run with and without the preload, the
 *                       two outputs must be identical
 *   prog consistency [--threads N] [--seconds S] [--bound-ns B]
 *                       the timers-selftest idea: threads read every served
 *                       clock interleaved; no clock may go backwards, within
 *                       a thread or across threads, every value must lie in
 *                       the kernel's bracket [k1 - B, k2 + B], and REALTIME,
 *                       TAI, BOOTTIME must stay at MONOTONIC plus the
 *                       kernel's offset, within B
 *   prog signals [--seconds S]
 *                       a SIGALRM handler reads the clocks while the main
 *                       loop does; neither may see the other go backwards
 *
 * In every mode the readings taken by ctor_lib.c's constructor and by this
 * program's constructor must not be ahead of those taken in main.
 * Exit 0 pass, 1 fail, 2 usage, 77 skip (the kernel's REALTIME was set by
 * someone during the run, which would make the bounds meaningless).
 * The last line of consistency and signals is "libc_calls=N": how many
 * clock calls went through libc, for the driver to compare with the
 * preload's own count.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ctor_lib.h"

struct served {
	clockid_t id;
	const char *name;
	clockid_t kref;  /* the kernel clock its bracket is taken on */
	int passed;      /* the kernel's own answer: bracketed by the same clock, exactly */
	int offset;      /* checked as MONOTONIC + offset */
};

static const struct served clocks[] = {
	{CLOCK_REALTIME, "REALTIME", CLOCK_REALTIME, 0, 1},
	{CLOCK_MONOTONIC, "MONOTONIC", CLOCK_MONOTONIC, 0, 0},
	{CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW", CLOCK_MONOTONIC_RAW, 0, 0},
	{CLOCK_BOOTTIME, "BOOTTIME", CLOCK_BOOTTIME, 0, 1},
	{CLOCK_TAI, "TAI", CLOCK_TAI, 0, 1},
	{CLOCK_REALTIME_COARSE, "REALTIME_COARSE", CLOCK_REALTIME_COARSE, 1, 0},
	{CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE", CLOCK_MONOTONIC_COARSE, 1, 0},
};
#define NCLOCKS ((int)(sizeof clocks / sizeof clocks[0]))

static _Atomic uint64_t libc_calls;

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int64_t libc_ns(clockid_t id)
{
	struct timespec ts;
	atomic_fetch_add_explicit(&libc_calls, 1, memory_order_relaxed);
	if (clock_gettime(id, &ts) != 0)
		return INT64_MIN;
	return ns_of(&ts);
}

static int64_t kernel_ns(clockid_t id)
{
	struct timespec ts;
	if (syscall(SYS_clock_gettime, id, &ts) != 0)
		return INT64_MIN;
	return ns_of(&ts);
}

/* ---- constructors ---------------------------------------------------- */

static struct timespec ctor_first[CTORLIB_NCLOCKS];
static int ctor_ok;

__attribute__((constructor)) static void prog_start(void)
{
	static const clockid_t ids[CTORLIB_NCLOCKS] = CTORLIB_CLOCKS;
	ctor_ok = 1;
	for (int i = 0; i < CTORLIB_NCLOCKS; i++)
		ctor_ok &= clock_gettime(ids[i], &ctor_first[i]) == 0;
}

/* Library constructor <= program constructor <= main, clock by clock. */
static int check_constructors(void)
{
	static const clockid_t ids[CTORLIB_NCLOCKS] = CTORLIB_CLOCKS;
	struct timespec lib[CTORLIB_NCLOCKS];
	int ok = ctorlib_first(lib) && ctor_ok;
	if (!ok)
		printf("FAIL: a clock read in a constructor failed\n");
	for (int i = 0; i < CTORLIB_NCLOCKS; i++) {
		int64_t now = libc_ns(ids[i]);
		if (ns_of(&lib[i]) > ns_of(&ctor_first[i]) || ns_of(&ctor_first[i]) > now) {
			printf("FAIL: clock %d: library ctor %lld, program ctor %lld, main %lld\n",
			       (int)ids[i], (long long)ns_of(&lib[i]),
			       (long long)ns_of(&ctor_first[i]), (long long)now);
			ok = 0;
		}
	}
	return ok;
}

/* ---- semantics ------------------------------------------------------- */

#if defined(__x86_64__) && defined(__GLIBC__)
/* What a program linked against glibc < 2.17 binds to. */
int old_clock_gettime(clockid_t, struct timespec *);
__asm__(".symver old_clock_gettime,clock_gettime@GLIBC_2.2.5");
#define HAVE_OLD_CLOCK_GETTIME 1
#endif

#define ERRNO_UNTOUCHED 12345

/* NULL, but not one the compiler can see: glibc declares these arguments
 * nonnull, and callers pass NULL anyway; the point is what happens then. */
static void *volatile hidden_null;
#define NO_TS ((struct timespec *)hidden_null)
#define NO_TV ((struct timeval *)hidden_null)

static void say(const char *what, const char *label, int ret)
{
	printf("%s %s ret=%d errno=%d\n", what, label, ret, errno);
}

static void semantics_of(clockid_t id, const char *label, int is_served)
{
	struct timespec ts, res = {-1, -1};
	errno = ERRNO_UNTOUCHED;
	say("gettime", label, clock_gettime(id, &ts));
	if (!is_served) {
		/* The vDSO dereferences a NULL ts for the clocks it serves. */
		errno = ERRNO_UNTOUCHED;
		say("gettime-null", label, clock_gettime(id, NO_TS));
	}
	errno = ERRNO_UNTOUCHED;
	int r = clock_getres(id, &res);
	printf("getres %s ret=%d errno=%d res=%lld.%09ld\n", label, r, errno,
	       (long long)res.tv_sec, res.tv_nsec);
	errno = ERRNO_UNTOUCHED;
	say("getres-null", label, clock_getres(id, NO_TS));
}

static int semantics(void)
{
	static const int other[] = {2, 3, 8, 9, 10, 12, 13, 14, 15, 16, 17, 23, 24, 31, 32, 100,
				    -1, -2, INT_MIN, INT_MAX};
	char label[64];
	for (int i = 0; i < NCLOCKS; i++)
		semantics_of(clocks[i].id, clocks[i].name, 1);
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
		snprintf(label, sizeof label, "id%d", other[i]);
		semantics_of(other[i], label, 0);
	}
	clockid_t cpu;
	if (pthread_getcpuclockid(pthread_self(), &cpu) == 0)
		semantics_of(cpu, "this-thread-cpu", 0);
	if (clock_getcpuclockid(getpid(), &cpu) == 0)
		semantics_of(cpu, "this-process-cpu", 0);
	/* A process CPU clock of a pid that cannot exist (above pid_max),
	 * made as the kernel's MAKE_PROCESS_CPUCLOCK does. */
	semantics_of((clockid_t)((~0x0ffffff0u) << 3 | 2u), "no-such-pid-cpu", 0);

	struct timeval tv;
	struct timezone tz = {-1, -1};
	errno = ERRNO_UNTOUCHED;
	say("gettimeofday", "tv", gettimeofday(&tv, NULL));
	errno = ERRNO_UNTOUCHED;
	say("gettimeofday", "null-null", gettimeofday(NO_TV, NULL));
	errno = ERRNO_UNTOUCHED;
	int r = gettimeofday(&tv, &tz);
	printf("gettimeofday tv-tz ret=%d errno=%d tz=%d,%d usec-ok=%d\n", r, errno,
	       tz.tz_minuteswest, tz.tz_dsttime, tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	errno = ERRNO_UNTOUCHED;
	say("gettimeofday", "null-tz", gettimeofday(NO_TV, &tz));

	time_t t = 0;
	errno = ERRNO_UNTOUCHED;
	time_t r1 = time(NULL);
	time_t r2 = time(&t);
	printf("time positive=%d stored=%d errno=%d\n", r1 > 0, r2 == t, errno);

	static const int bases[] = {TIME_UTC, 0, 2, 3, -1, 1000};
	for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
		struct timespec a = {-7, -7}, b = {-7, -7};
		int ra = timespec_get(&a, bases[i]);
		int rb = timespec_getres(&b, bases[i]);
		printf("timespec_get base=%d ret=%d touched=%d getres ret=%d res=%lld.%09ld\n",
		       bases[i], ra, a.tv_sec != -7, rb, (long long)b.tv_sec, b.tv_nsec);
	}
#ifdef HAVE_OLD_CLOCK_GETTIME
	struct timespec ts;
	errno = ERRNO_UNTOUCHED;
	atomic_fetch_add_explicit(&libc_calls, 1, memory_order_relaxed);
	say("gettime@GLIBC_2.2.5", "MONOTONIC", old_clock_gettime(CLOCK_MONOTONIC, &ts));
#endif
	return 0;
}

/* ---- consistency ----------------------------------------------------- */

struct stats {
	_Atomic uint64_t reads, backwards, out_of_bracket, off_offset;
	_Atomic int64_t worst_back, worst_out, worst_off;
	_Atomic int64_t max_seen;
};

static struct stats st[NCLOCKS];
static int64_t bound_ns = 10000, tick_ns;
static int64_t off_lo[NCLOCKS], off_hi[NCLOCKS];
static int64_t deadline;

static void atomic_max(_Atomic int64_t *p, int64_t v)
{
	int64_t cur = atomic_load_explicit(p, memory_order_relaxed);
	while (v > cur && !atomic_compare_exchange_weak_explicit(p, &cur, v, memory_order_release,
								 memory_order_relaxed))
		;
}

/* The kernel's clock minus its MONOTONIC, bracketed: the narrowest of a
 * few tries, as [x - m2, x - m1]. */
static void kernel_offset(clockid_t id, int64_t *lo, int64_t *hi)
{
	int64_t best = INT64_MAX;
	for (int i = 0; i < 50; i++) {
		int64_t m1 = kernel_ns(CLOCK_MONOTONIC), x = kernel_ns(id), m2 = kernel_ns(CLOCK_MONOTONIC);
		if (m2 - m1 < best) {
			best = m2 - m1;
			*lo = x - m2;
			*hi = x - m1;
		}
	}
}

/* Every served clock once, each checked against the largest value any
 * thread has seen; the load of that value comes before our read, so our
 * read must not be smaller. */
static void interleaved(int64_t *prev)
{
	for (int c = 0; c < NCLOCKS; c++) {
		int64_t seen = atomic_load_explicit(&st[c].max_seen, memory_order_acquire);
		int64_t v = libc_ns(clocks[c].id);
		atomic_fetch_add_explicit(&st[c].reads, 1, memory_order_relaxed);
		int64_t floor = seen > prev[c] ? seen : prev[c];
		if (v < floor) {
			atomic_fetch_add_explicit(&st[c].backwards, 1, memory_order_relaxed);
			atomic_max(&st[c].worst_back, floor - v);
		}
		prev[c] = v;
		atomic_max(&st[c].max_seen, v);
	}
}

static void bracketed(void)
{
	for (int c = 0; c < NCLOCKS; c++) {
		int64_t k1 = kernel_ns(clocks[c].kref);
		int64_t v = libc_ns(clocks[c].id);
		int64_t k2 = kernel_ns(clocks[c].kref);
		/* A coarse clock goes to the kernel: it must give the kernel's
		 * own value, between two system calls of the same clock.  (Not
		 * against the fine clock: it is the time of the last tick, and
		 * a loaded VM's ticks can come 100 ms late.) */
		int64_t slack = clocks[c].passed ? 0 : bound_ns;
		int64_t lo = k1 - slack, hi = k2 + slack;
		if (v < lo || v > hi) {
			atomic_fetch_add_explicit(&st[c].out_of_bracket, 1, memory_order_relaxed);
			atomic_max(&st[c].worst_out, v < lo ? lo - v : v - hi);
		}
		if (!clocks[c].offset)
			continue;
		int64_t m1 = libc_ns(CLOCK_MONOTONIC);
		v = libc_ns(clocks[c].id);
		int64_t m2 = libc_ns(CLOCK_MONOTONIC);
		int64_t below = (off_lo[c] - bound_ns) - (v - m1);
		int64_t above = (v - m2) - (off_hi[c] + bound_ns);
		if (below > 0 || above > 0) {
			atomic_fetch_add_explicit(&st[c].off_offset, 1, memory_order_relaxed);
			atomic_max(&st[c].worst_off, below > 0 ? below : above);
		}
	}
}

static void *worker(void *arg)
{
	(void)arg;
	int64_t prev[NCLOCKS];
	for (int c = 0; c < NCLOCKS; c++)
		prev[c] = INT64_MIN;
	for (unsigned long i = 0;; i++) {
		interleaved(prev);
		if (i % 64 == 0) {
			bracketed();
			if (kernel_ns(CLOCK_MONOTONIC) > deadline)
				break;
		}
	}
	return NULL;
}

static int consistency(int threads, double seconds)
{
	struct timespec res;
	if (syscall(SYS_clock_getres, CLOCK_MONOTONIC_COARSE, &res) != 0)
		return 1;
	tick_ns = ns_of(&res);
	int64_t start_lo[NCLOCKS] = {0}, start_hi[NCLOCKS] = {0};
	for (int c = 0; c < NCLOCKS; c++) {
		st[c].max_seen = INT64_MIN;
		if (clocks[c].offset)
			kernel_offset(clocks[c].id, &off_lo[c], &off_hi[c]);
		start_lo[c] = off_lo[c];
		start_hi[c] = off_hi[c];
	}
	deadline = kernel_ns(CLOCK_MONOTONIC) + (int64_t)(seconds * 1e9);
	pthread_t tid[256];
	if (threads < 1 || threads > 256)
		return 2;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&tid[i], NULL, worker, NULL) != 0)
			return 1;
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);

	int fail = 0, stepped = 0;
	for (int c = 0; c < NCLOCKS; c++) {
		struct stats *s = &st[c];
		printf("%-17s reads=%llu backwards=%llu (worst %lld ns) out_of_kernel_bracket=%llu "
		       "(worst %lld ns)", clocks[c].name, (unsigned long long)s->reads,
		       (unsigned long long)s->backwards, (long long)s->worst_back,
		       (unsigned long long)s->out_of_bracket, (long long)s->worst_out);
		if (clocks[c].offset) {
			int64_t lo, hi;
			kernel_offset(clocks[c].id, &lo, &hi);
			/* The kernel's own offset moved: someone set the clock
			 * (or the machine slept); no bound can hold across that. */
			if (hi < start_lo[c] - 1000000 || lo > start_hi[c] + 1000000)
				stepped = 1;
			printf(" off_offset=%llu (worst %lld ns)", (unsigned long long)s->off_offset,
			       (long long)s->worst_off);
		}
		printf("\n");
		fail |= s->backwards || s->out_of_bracket || s->off_offset || !s->reads;
	}
	printf("threads=%d seconds=%g bound_ns=%lld tick_ns=%lld\n", threads, seconds,
	       (long long)bound_ns, (long long)tick_ns);
	printf("libc_calls=%llu\n", (unsigned long long)libc_calls);
	if (fail && stepped) {
		printf("SKIP: the kernel's REALTIME/TAI/BOOTTIME offset moved during the run "
		       "(clock set or suspend)\n");
		return 77;
	}
	return fail;
}

/* ---- signals --------------------------------------------------------- */

static _Atomic int64_t main_last, handler_last;
static _Atomic uint64_t handler_calls, handler_bad;

static void on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	int64_t before = atomic_load_explicit(&main_last, memory_order_relaxed);
	int64_t v = libc_ns(CLOCK_MONOTONIC);
	struct timeval tv;
	if (v < before || gettimeofday(&tv, NULL) != 0 || time(NULL) <= 0 ||
	    libc_ns(CLOCK_REALTIME) == INT64_MIN)
		atomic_fetch_add_explicit(&handler_bad, 1, memory_order_relaxed);
	atomic_store_explicit(&handler_last, v, memory_order_relaxed);
	atomic_fetch_add_explicit(&handler_calls, 1, memory_order_relaxed);
	errno = saved;
}

static int signals(double seconds)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 200}, {0, 200}};
	setitimer(ITIMER_REAL, &it, NULL);
	int64_t end = kernel_ns(CLOCK_MONOTONIC) + (int64_t)(seconds * 1e9);
	uint64_t bad = 0, loops = 0;
	while (kernel_ns(CLOCK_MONOTONIC) < end)
		for (int i = 0; i < 1000; i++, loops++) {
			int64_t h = atomic_load_explicit(&handler_last, memory_order_relaxed);
			int64_t v = libc_ns(CLOCK_MONOTONIC);
			bad += v < h;
			atomic_store_explicit(&main_last, v, memory_order_relaxed);
		}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	uint64_t calls = atomic_load(&handler_calls), hbad = atomic_load(&handler_bad);
	printf("main_loops=%llu backwards_in_main=%llu handler_calls=%llu handler_failures=%llu\n",
	       (unsigned long long)loops, (unsigned long long)bad, (unsigned long long)calls,
	       (unsigned long long)hbad);
	printf("libc_calls=%llu\n", (unsigned long long)libc_calls);
	return bad || hbad || calls < 10;
}

/* ---- main ------------------------------------------------------------ */

int main(int argc, char **argv)
{
	int threads = 4;
	double seconds = 2;
	if (argc < 2)
		goto usage;
	for (int i = 2; i < argc; i++) {
		if (i + 1 >= argc)
			goto usage;
		if (strcmp(argv[i], "--threads") == 0)
			threads = atoi(argv[++i]);
		else if (strcmp(argv[i], "--seconds") == 0)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--bound-ns") == 0)
			bound_ns = atoll(argv[++i]);
		else
			goto usage;
	}
	if (threads < 1 || threads > 256 || !(seconds > 0) || bound_ns < 0)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!check_constructors())
		return 1;
	if (strcmp(argv[1], "semantics") == 0)
		return semantics();
	if (strcmp(argv[1], "consistency") == 0)
		return consistency(threads, seconds);
	if (strcmp(argv[1], "signals") == 0)
		return signals(seconds);
usage:
	fprintf(stderr, "usage: prog semantics | consistency [--threads N] [--seconds S] "
			"[--bound-ns B] | signals [--seconds S]\n");
	return 2;
}
