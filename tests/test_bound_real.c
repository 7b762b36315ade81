/*
 * Bounded time on the real clock.  The machine's NTP state is only read
 * (adjtimex with modes = 0), never changed.  Where the kernel is not
 * synchronised (the development VM runs no NTP daemon: STA_UNSYNC) the
 * answer must be unsynchronised with an infinite interval; where it is,
 * the interval must contain the kernel's own clock and be at least as wide
 * as the kernel's maxerror.  Every error path is exercised.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

#include "check.h"
#include "chronon.h"
#include "clock.h"
#include "fake_ntp.h"
#include "kclock.h"

static int kernel_synced(struct timex *tx)
{
	memset(tx, 0, sizeof *tx);
	tx->modes = 0; /* a query: changes nothing */
	int st = adjtimex(tx);
	return st != -1 && st != TIME_ERROR && !(tx->status & STA_UNSYNC);
}

/* Let the process's timekeeper reach the counter and its first resync. */
static void warm_up(void)
{
	int64_t end = test_kernel_ns(CLOCK_MONOTONIC) + 50000000;
	while (test_kernel_ns(CLOCK_MONOTONIC) < end)
		for (int i = 0; i < 1000; i++)
			(void)chronon_now_ns(CLOCK_REALTIME);
}

static void check_clock(clockid_t clock, int synced, const struct timex *tx)
{
	const char *name = clock == CLOCK_TAI ? "TAI" : "REALTIME";
	for (int i = 0; i < 1000; i++) {
		struct chronon_bound b;
		int64_t k0 = test_kernel_ns(clock);
		int r = chronon_now_bounded(clock, &b);
		int64_t k1 = test_kernel_ns(clock);
		CHECK(r == 0, "%s: %d errno %d", name, r, errno);
		CHECK(b.clock == clock, "%s: clock %d", name, (int)b.clock);
		/* The reading itself is chronon's clock: within a ms of the kernel. */
		CHECK(b.now_ns >= k0 - 1000000 && b.now_ns <= k1 + 1000000, "%s: now %lld, kernel %lld..%lld",
		      name, (long long)b.now_ns, (long long)k0, (long long)k1);
		if (!synced || (clock == CLOCK_TAI && tx->tai == 0)) {
			CHECK(b.status != CHRONON_BOUND_SYNCHRONISED, "%s: synchronised on an unsynchronised kernel",
			      name);
			CHECK(b.earliest_ns == INT64_MIN && b.latest_ns == INT64_MAX,
			      "%s: finite interval [%lld, %lld] while status %d", name,
			      (long long)b.earliest_ns, (long long)b.latest_ns, (int)b.status);
			if (clock == CLOCK_REALTIME)
				CHECK(b.status == CHRONON_BOUND_UNSYNCHRONISED && (b.kernel_status & STA_UNSYNC),
				      "%s: status %d kernel status %#x", name, (int)b.status,
				      (unsigned)b.kernel_status);
			continue;
		}
		/* The machine may lose synchronisation while we run: then only
		 * the infinite interval is checked. */
		if (b.status != CHRONON_BOUND_SYNCHRONISED) {
			CHECK(b.earliest_ns == INT64_MIN && b.latest_ns == INT64_MAX, "%s: finite", name);
			continue;
		}
		CHECK(b.earliest_ns <= k1 && k0 <= b.latest_ns, "%s: kernel %lld..%lld outside [%lld, %lld]",
		      name, (long long)k0, (long long)k1, (long long)b.earliest_ns, (long long)b.latest_ns);
		CHECK(b.now_ns - b.earliest_ns >= (int64_t)tx->maxerror * 1000,
		      "%s: half-width %lld below the kernel's maxerror %ld us", name,
		      (long long)(b.now_ns - b.earliest_ns), (long)tx->maxerror);
	}
}

static void errors(void)
{
	struct chronon_bound b;
	static const clockid_t bad[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME,
					CLOCK_REALTIME_COARSE, CLOCK_PROCESS_CPUTIME_ID, -1, 12345};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		CHECK(chronon_now_bounded(bad[i], &b) == -1 && errno == EINVAL, "clock %d: errno %d",
		      (int)bad[i], errno);
		errno = 0;
		CHECK(chronon_now_bounded(bad[i], NULL) == -1 && errno == EINVAL,
		      "clock %d, NULL: errno %d", (int)bad[i], errno);
	}
	errno = 0;
	CHECK(chronon_now_bounded(CLOCK_REALTIME, NULL) == -1 && errno == EFAULT, "NULL: errno %d", errno);
	errno = 0;
	CHECK(chronon_now_bounded(CLOCK_TAI, NULL) == -1 && errno == EFAULT, "TAI NULL: errno %d", errno);

	errno = 0;
	CHECK(chronon_wait_until_after(NULL) == -1 && errno == EFAULT, "wait NULL: errno %d", errno);
	chronon_now_bounded(CLOCK_REALTIME, &b);
	struct chronon_bound w = b;
	w.status = CHRONON_BOUND_UNSYNCHRONISED;
	w.earliest_ns = INT64_MIN;
	w.latest_ns = INT64_MAX;
	errno = 0;
	CHECK(chronon_wait_until_after(&w) == -1 && errno == EINVAL, "wait unsynchronised: errno %d", errno);
	w = b;
	w.status = CHRONON_BOUND_SYNCHRONISED;
	w.earliest_ns = w.latest_ns = b.now_ns;
	w.clock = CLOCK_MONOTONIC;
	errno = 0;
	CHECK(chronon_wait_until_after(&w) == -1 && errno == EINVAL, "wait MONOTONIC: errno %d", errno);
	w.clock = CLOCK_REALTIME;
	w.earliest_ns = w.latest_ns + 1;
	errno = 0;
	CHECK(chronon_wait_until_after(&w) == -1 && errno == EINVAL, "wait earliest > latest: errno %d",
	      errno);
	w.status = (enum chronon_bound_status)7;
	w.earliest_ns = w.latest_ns;
	errno = 0;
	CHECK(chronon_wait_until_after(&w) == -1 && errno == EINVAL, "wait bad status: errno %d", errno);

	/* A synchronised stamp 1 ms wide, taken now. */
	w.status = CHRONON_BOUND_SYNCHRONISED;
	w.earliest_ns = b.now_ns - 500000;
	w.latest_ns = b.now_ns + 500000;
	struct timex tx;
	errno = 0;
	int64_t t0 = test_kernel_ns(CLOCK_MONOTONIC);
	int r = chronon_wait_until_after(&w);
	int64_t waited = test_kernel_ns(CLOCK_MONOTONIC) - t0;
	if (!kernel_synced(&tx)) {
		CHECK(r == -1 && errno == EAGAIN, "wait on an unsynchronised clock: %d errno %d", r, errno);
		CHECK(waited < 100000000, "EAGAIN after %lld ns", (long long)waited);
	} else if (r == 0) {
		struct chronon_bound after;
		chronon_now_bounded(CLOCK_REALTIME, &after);
		CHECK(after.status != CHRONON_BOUND_SYNCHRONISED || after.earliest_ns > w.latest_ns,
		      "after the wait: earliest %lld, latest waited for %lld", (long long)after.earliest_ns,
		      (long long)w.latest_ns);
		printf("commit wait on the real clock: %.3f ms for a 1 ms stamp (maxerror %ld us)\n",
		       (double)waited / 1e6, (long)tx.maxerror);
	}
}

/*
 * The synchronised path on the real counter: this process's timekeeper is
 * handed an NTP source that says "synchronised, maxerror 1 ms" (the
 * machine's state is not touched).  The interval must then contain the
 * kernel's REALTIME, be at least 1 ms + its growth wide each side, and at
 * most a few ms.
 */
static void fake_synchronised(void)
{
	struct chronon_bound b;
	int synced_now = test_fake_synchronised();
	chronon_now_bounded(CLOCK_REALTIME, &b);
	CHECK(synced_now && b.status == CHRONON_BOUND_SYNCHRONISED, "fake source: status %d after 3 s",
	      (int)b.status);
	int synced = 0;
	for (int i = 0; i < 200000; i++) {
		clockid_t c = i & 1 ? CLOCK_TAI : CLOCK_REALTIME;
		int64_t k0 = test_kernel_ns(c);
		chronon_now_bounded(c, &b);
		int64_t k1 = test_kernel_ns(c);
		if (b.status != CHRONON_BOUND_SYNCHRONISED)
			continue; /* TAI: the kernel's offset is 0 here */
		synced++;
		/* The reading was taken at some instant between k0 and k1 (a
		 * preemption may separate them by more than the width). */
		CHECK(b.earliest_ns <= k1 && k0 <= b.latest_ns,
		      "clock %d: kernel %lld..%lld outside [%lld, %lld]", (int)c, (long long)k0,
		      (long long)k1, (long long)b.earliest_ns, (long long)b.latest_ns);
		CHECK(b.now_ns - b.earliest_ns >= 1500000 && b.latest_ns - b.now_ns <= 3000000,
		      "half-widths %lld / %lld", (long long)(b.now_ns - b.earliest_ns),
		      (long long)(b.latest_ns - b.now_ns));
		CHECK(b.tracking_ns > 0 && b.tracking_ns < 100000, "tracking %lld", (long long)b.tracking_ns);
		if (test_failures() > 10)
			break;
	}
	CHECK(synced >= 100000, "%d synchronised reads", synced);
	printf("fake synchronised source: %d reads contain the kernel's clock; half-width %.3f ms "
	       "(kernel part %.3f ms, tracking %lld ns)\n",
	       synced, (double)(b.latest_ns - b.now_ns) / 1e6, (double)b.kernel_maxerror_ns / 1e6,
	       (long long)b.tracking_ns);
	chronon__proc_tk.kc = &chronon__kclock_real;
}

int main(void)
{
	struct timex before, after;
	int synced = kernel_synced(&before);
	warm_up();
	check_clock(CLOCK_REALTIME, synced, &before);
	check_clock(CLOCK_TAI, synced, &before);
	errors();
	struct chronon_bound b;
	chronon_now_bounded(CLOCK_REALTIME, &b);
	printf("kernel %s (status %#x, maxerror %ld us): chronon says %s, [%lld, %lld], kernel part "
	       "%lld ns, tracking %lld ns\n",
	       synced ? "synchronised" : "unsynchronised", (unsigned)before.status, (long)before.maxerror,
	       b.status == CHRONON_BOUND_SYNCHRONISED     ? "synchronised"
	       : b.status == CHRONON_BOUND_UNSYNCHRONISED ? "unsynchronised"
							  : "unknown",
	       (long long)b.earliest_ns, (long long)b.latest_ns, (long long)b.kernel_maxerror_ns,
	       (long long)b.tracking_ns);
	/* Read-only: the state is as we found it (a daemon may have moved
	 * maxerror meanwhile, but nothing of ours changes the flags). */
	fake_synchronised();
	kernel_synced(&after);
	CHECK((after.status & STA_UNSYNC) == (before.status & STA_UNSYNC) || synced,
	      "STA_UNSYNC changed: %#x -> %#x", (unsigned)before.status, (unsigned)after.status);
	return test_exit();
}
