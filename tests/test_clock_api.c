/* The public API against the real kernel: every served clock agrees with
 * clock_gettime, and every other id, every NULL and every bad id gives
 * exactly what the kernel gives. */
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chronon.h"
#include "check.h"

/* Bracketed against the kernel: the smallest distance over a few tries
 * (a preempted bracket on a noisy VM says nothing about the clock). */
static int64_t distance(clockid_t c)
{
	int64_t best = INT64_MAX;
	for (int i = 0; i < 200; i++) {
		int64_t a = test_kernel_ns(c), v = chronon_now_ns(c), b = test_kernel_ns(c);
		int64_t d = v < a ? a - v : v > b ? v - b : 0;
		if (b - a < 5000 && d < best)
			best = d;
	}
	return best;
}

static void served_clocks_agree(void)
{
	static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW,
					CLOCK_BOOTTIME, CLOCK_TAI};
	/* Let the calibration finish (2 ms) and a few resyncs pass. */
	int64_t until = test_kernel_ns(CLOCK_MONOTONIC) + 100000000;
	while (test_kernel_ns(CLOCK_MONOTONIC) < until)
		chronon_now_ns(CLOCK_MONOTONIC);
	struct chronon_status st;
	CHECK(chronon_status(&st) == 0, "status");
	printf("mode %s, counter %s, %s\n", st.mode_name, st.counter, st.fallback_reason);
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		int64_t d = distance(ids[i]);
		printf("clock %d: %lld ns outside the kernel's bracket\n", (int)ids[i], (long long)d);
		CHECK(d <= 2000, "clock %d off the kernel by %lld ns", (int)ids[i], (long long)d);
		struct timespec ts;
		int64_t a = test_kernel_ns(ids[i]);
		CHECK(chronon_gettime(ids[i], &ts) == 0, "gettime %d", (int)ids[i]);
		CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000, "tv_nsec %ld", ts.tv_nsec);
		int64_t v = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		CHECK(v >= a - 2000 && v <= test_kernel_ns(ids[i]) + 2000, "gettime %d off", (int)ids[i]);
	}
	/* Coarse clocks: the kernel's own. */
	struct timespec k, c;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &k);
	CHECK(chronon_gettime(CLOCK_MONOTONIC_COARSE, &c) == 0, "coarse");
	int64_t dc = (int64_t)(c.tv_sec - k.tv_sec) * 1000000000 + (c.tv_nsec - k.tv_nsec);
	CHECK(dc >= 0 && dc < 50000000, "coarse off by %lld", (long long)dc);
	/* gettimeofday and time */
	struct timeval tv;
	struct timezone tz = {123, 456};
	CHECK(chronon_gettimeofday(&tv, &tz) == 0, "gettimeofday");
	CHECK(tz.tz_minuteswest == 0 && tz.tz_dsttime == 0, "tz not zeroed");
	CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000, "usec %ld", (long)tv.tv_usec);
	int64_t dtv = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec - test_kernel_ns(CLOCK_REALTIME) / 1000;
	CHECK(dtv <= 10 && dtv >= -1000, "gettimeofday off by %lld us", (long long)dtv);
	CHECK(chronon_gettimeofday(NULL, NULL) == 0, "gettimeofday(NULL)");
	time_t t1 = 0, t0 = time(NULL);
	time_t r = chronon_time(&t1);
	CHECK(r == t1 && r >= t0 && r <= t0 + 1, "time %lld vs %lld", (long long)r, (long long)t0);
	CHECK(chronon_time(NULL) >= t0, "time(NULL)");
}

/* What the system call says for (clock, buffer): return and errno. */
static void kernel_says(clockid_t c, int null, int *ret, int *err)
{
	struct timespec ts;
	errno = 0;
	*ret = (int)syscall(SYS_clock_gettime, c, null ? NULL : &ts);
	*err = *ret ? errno : 0;
}

static void same_as_kernel(clockid_t c, int null)
{
	int kr, ke;
	kernel_says(c, null, &kr, &ke);
	struct timespec ts;
	errno = 0;
	int r = chronon_gettime(c, null ? NULL : &ts);
	int e = r ? errno : 0;
	CHECK(r == kr && e == ke, "gettime(%d, %s): %d/%s, kernel %d/%s", (int)c, null ? "NULL" : "buf",
	      r, strerror(e), kr, strerror(ke));
	errno = 0;
	int64_t ns = chronon_now_ns(c);
	if (!null) {
		CHECK((ns == -1) == (kr != 0), "now_ns(%d) = %lld, kernel %d", (int)c, (long long)ns, kr);
		if (kr)
			CHECK(errno == ke, "now_ns(%d) errno %s, kernel %s", (int)c, strerror(errno),
			      strerror(ke));
	}
}

static void getres_same_as_kernel(clockid_t c)
{
	struct timespec a = {0, 0}, b = {0, 0};
	errno = 0;
	int kr = (int)syscall(SYS_clock_getres, c, &a);
	int ke = kr ? errno : 0;
	errno = 0;
	int r = chronon_getres(c, &b);
	int e = r ? errno : 0;
	CHECK(r == kr && e == ke, "getres(%d): %d/%s, kernel %d/%s", (int)c, r, strerror(e), kr,
	      strerror(ke));
	if (!r && !kr)
		CHECK(a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec, "getres(%d) %ld vs kernel %ld",
		      (int)c, b.tv_nsec, a.tv_nsec);
	CHECK(chronon_getres(c, NULL) == (int)syscall(SYS_clock_getres, c, NULL),
	      "getres(%d, NULL)", (int)c);
}

/* The kernel's CPU-clock ids: ~pid << 3 | type, thread clocks with bit 2. */
static clockid_t cpu_clock(pid_t pid, int type, int thread)
{
	return (clockid_t)((~(unsigned)pid << 3) | (unsigned)type | (thread ? 4u : 0u));
}

static void errno_semantics(void)
{
	for (clockid_t c = -3; c < 40; c++) {
		same_as_kernel(c, 0);
		same_as_kernel(c, 1);
		getres_same_as_kernel(c);
	}
	const clockid_t odd[] = {
		cpu_clock(getpid(), 0, 0), cpu_clock(getpid(), 2, 0), cpu_clock(0, 2, 1),
		cpu_clock(1, 2, 0),       cpu_clock(999999, 2, 0),   cpu_clock(getpid(), 3, 0),
		(clockid_t)0x7fffffff,    (clockid_t)-2147483647 - 1, -100,
	};
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		same_as_kernel(odd[i], 0);
		same_as_kernel(odd[i], 1);
		getres_same_as_kernel(odd[i]);
	}
	/* A served clock with NULL: EFAULT, never a crash. */
	errno = 0;
	CHECK(chronon_gettime(CLOCK_MONOTONIC, NULL) == -1 && errno == EFAULT, "NULL ts");
	errno = 0;
	CHECK(chronon_status(NULL) == -1 && errno == EFAULT, "NULL status");
	struct timespec r;
	CHECK(chronon_getres(CLOCK_MONOTONIC, &r) == 0 && r.tv_sec == 0 && r.tv_nsec == 1, "getres");
	CHECK(chronon_getres(CLOCK_REALTIME, NULL) == 0, "getres NULL");
}

/* chronon_gettime builds its timespec from split bases (no division):
 * it must agree exactly with chronon_now_ns read just before and after,
 * across second boundaries too (1.5 s of reads crosses one). */
static void gettime_matches_now_ns(void)
{
	static const clockid_t ids[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW,
					CLOCK_BOOTTIME, CLOCK_TAI};
	int64_t end = test_kernel_ns(CLOCK_MONOTONIC) + 1500000000;
	long n = 0, bad = 0;
	while (test_kernel_ns(CLOCK_MONOTONIC) < end) {
		for (int i = 0; i < 1000; i++, n++) {
			clockid_t c = ids[i % 5];
			struct timespec ts;
			int64_t a = chronon_now_ns(c);
			chronon_gettime(c, &ts);
			int64_t b = chronon_now_ns(c);
			int64_t v = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
			if (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000 || v < a || v > b) {
				if (bad++ < 5)
					printf("clock %d: now_ns %lld, gettime %lld.%09ld, now_ns %lld\n",
					       (int)c, (long long)a, (long long)ts.tv_sec, ts.tv_nsec,
					       (long long)b);
			}
		}
	}
	printf("gettime between two now_ns reads: %ld of %ld out of order\n", bad, n);
	CHECK(bad == 0, "%ld of %ld gettime readings outside their now_ns bracket", bad, n);
}

int main(void)
{
	served_clocks_agree();
	gettime_matches_now_ns();
	errno_semantics();
	return test_exit();
}
