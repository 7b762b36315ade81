/*
 * Precise sleep: the kernel sleeps for the bulk of the wait and chronon's
 * clock, read with no system call, times the last stretch.
 *
 * Why: clock_nanosleep's hrtimer may fire as late as the thread's timer
 * slack (50 us by default) and the wake-up itself costs more (tens of us in
 * a VM), so an absolute deadline is met tens of microseconds late.  Pure
 * spinning is on time but burns a core for the whole wait.
 *
 * How (SPIN mode):
 *   1. While more than the margin is left by the kernel's clock (vDSO, a
 *      few tens of ns, read once per kernel part), sleep in the kernel with
 *      clock_nanosleep(clock, TIMER_ABSTIME, deadline - margin), the
 *      thread's timer slack trimmed to 1 ns for just that call.  Sleeping
 *      on the caller's clock, absolute, is what makes a CLOCK_REALTIME
 *      deadline follow clock_settime as TIMER_ABSTIME does: the kernel
 *      re-arms the timer when the clock is set.
 *   2. Spin with the CPU's pause hint until chronon's clock, read with no
 *      system call and no vDSO, has passed the deadline; then confirm with
 *      the kernel's clock and keep spinning while the kernel disagrees: a
 *      sleep never ends early by either clock.
 *   3. The spin is bounded per sleep (max_spin_ns): if it runs out (a
 *      REALTIME clock set backwards mid-spin, a stalled chronon clock), the
 *      rest is slept in the kernel to the deadline itself, whose own timer
 *      cannot fire early.
 *
 * Signals: a handler that runs during the kernel part makes the sleep
 * return EINTR, as clock_nanosleep does.  A handler that runs during the
 * spin cannot be noticed without a system call per iteration: it runs, the
 * spin resumes, and the sleep returns 0 at the deadline, exactly as if the
 * signal had arrived just after the sleep.  The spin is short and bounded,
 * so this delays nobody's EINTR by more than max_spin_ns.
 *
 * All learned state is thread-local; the only shared data is the settings
 * word, written by chronon_sleep_config and read with relaxed atomics.
 */
#include "sleep.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "arch.h"
#include "clocks.h"
#include "config.h"
#include "kclock.h"
#include "proc_page.h"
#include "ns.h"


/*
 * Deadlines past this second (year 2255) are left to the kernel as they
 * are: in nanoseconds they would come close to overflowing int64_t, and
 * being a microsecond late in 2255 does not matter.
 */
#define FAR_SEC ((int64_t)9000000000LL)

/* ------------------------------------------------------------------ */
/* Settings: one word so a reader never sees a mode from one call and a
 * spin bound from another.  Low 32 bits: max_spin_ns (<= 1e9 < 2^30);
 * high bits: the mode. */

static _Atomic uint64_t settings;
static pthread_once_t settings_once = PTHREAD_ONCE_INIT;

static uint64_t settings_pack(enum chronon_sleep_mode mode, int64_t spin)
{
	return ((uint64_t)mode << 32) | (uint64_t)spin;
}

static void settings_unpack(uint64_t word, enum chronon_sleep_mode *mode, int64_t *spin)
{
	*mode = (enum chronon_sleep_mode)(word >> 32);
	*spin = (int64_t)(word & 0xffffffffu);
}

static int mode_valid(int mode)
{
	return mode == CHRONON_SLEEP_SPIN || mode == CHRONON_SLEEP_SLACK ||
	       mode == CHRONON_SLEEP_KERNEL;
}

static int spin_valid(int64_t spin)
{
	return spin >= 0 && spin <= CHRONON_SLEEP_MAX_SPIN_LIMIT_NS;
}

/* Runs once per process, before the first sleep or config call, so an
 * explicit chronon_sleep_config always wins over the environment.  The one
 * place the library prints: a sleep setting it cannot use (README). */
static void settings_load_env(void)
{
	enum chronon_sleep_mode mode = CHRONON_SLEEP_SPIN;
	int64_t spin = CHRONON__SLEEP_DEFAULT_SPIN_NS;
	char bad_mode[160], bad_spin[160];

	/* Parsing and printing may set errno; the public functions that
	 * get here succeed without touching it (rule 15). */
	int saved = errno;
	chronon__config_sleep(&mode, &spin, bad_mode, bad_spin, sizeof bad_mode);
	if (bad_mode[0])
		fprintf(stderr, "chronon: %s\n", bad_mode);
	if (bad_spin[0])
		fprintf(stderr, "chronon: %s\n", bad_spin);
	errno = saved;
	atomic_store_explicit(&settings, settings_pack(mode, spin), memory_order_relaxed);
}

static uint64_t settings_get(void)
{
	pthread_once(&settings_once, settings_load_env);
	return atomic_load_explicit(&settings, memory_order_relaxed);
}

CHRONON_API int chronon_sleep_config(const struct chronon_sleep_config *cfg)
{
	if (!cfg) {
		errno = EFAULT;
		return -1;
	}
	if (!mode_valid((int)cfg->mode) || !spin_valid(cfg->max_spin_ns)) {
		errno = EINVAL;
		return -1;
	}
	pthread_once(&settings_once, settings_load_env);
	atomic_store_explicit(&settings, settings_pack(cfg->mode, cfg->max_spin_ns),
	                      memory_order_relaxed);
	return 0;
}

CHRONON_API int chronon_sleep_get_config(struct chronon_sleep_config *cfg)
{
	if (!cfg) {
		errno = EFAULT;
		return -1;
	}
	memset(cfg, 0, sizeof *cfg);
	settings_unpack(settings_get(), &cfg->mode, &cfg->max_spin_ns);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Per-thread learned state. */

static _Thread_local struct chronon__sleep_stats state;

void chronon__sleep_stats(struct chronon__sleep_stats *out)
{
	*out = state;
}

/*
 * The margin: how long before the deadline the kernel part ends.
 *
 * Each kernel part that slept gives one sample of wake-up lateness L (woke
 * minus asked, by the kernel's clock).  A wake later than the margin makes
 * the whole sleep late by L - margin; an earlier one costs margin - L of
 * spinning.  The margin tracks a high quantile of L with a stochastic
 * (Robbins-Monro) quantile estimator in the log domain:
 *     L >  margin:  margin *= 1 + 1/2        (a miss)
 *     L <= margin:  margin *= 1 - 1/512      (a hit)
 * It settles where misses balance hits, ln(1.5) * p = (1 - p) / 512, i.e.
 * p = 0.48 %: about the 99.5th percentile, so the p99 of lateness stays
 * at the spin's resolution.  Only the sign of L - margin counts, so one
 * pathological wake (a VM descheduled for milliseconds, a REALTIME clock
 * set forward) moves the margin by one step of 1.5x, and 80 hits undo it;
 * old samples' weight decays geometrically, so the margin follows the
 * machine when its latency changes.
 *
 * Bounds: it starts at 50 us (a VM's typical latency with 1 ns slack; a
 * bare-metal machine walks it down to its few us within about a thousand
 * sleeps) and stays within [2 us, 1 ms] and within the spin budget, so a
 * run of misses the budget could not cover anyway cannot wind it up.
 *
 * One estimate per class of kernel-part length (under 1 ms, under 8 ms,
 * longer): a vCPU that halted for milliseconds wakes later than one that
 * halted for microseconds (on the development VM the p99 doubles from
 * 100 us to 10 ms sleeps), and a loop mixing both must not pay the long
 * sleeps' margin on its short ones.  All of it is per thread: threads on
 * busy and idle CPUs see different latencies, and no thread writes
 * another's state.
 */
void chronon__sleep_set_margin(int cls, int64_t ns)
{
	if (cls < 0 || cls >= CHRONON__SLEEP_MARGIN_CLASSES)
		return;
	if (ns < CHRONON__SLEEP_MARGIN_MIN_NS)
		ns = CHRONON__SLEEP_MARGIN_MIN_NS;
	if (ns > CHRONON__SLEEP_MARGIN_MAX_NS)
		ns = CHRONON__SLEEP_MARGIN_MAX_NS;
	state.margin_ns[cls] = ns;
}

static int margin_class(int64_t left)
{
	if (left < 1000000)
		return 0;
	return left < 8000000 ? 1 : 2;
}

static void margin_learn(int cls, int64_t lateness, int64_t budget)
{
	int64_t m = state.margin_ns[cls];
	int64_t hi = budget < CHRONON__SLEEP_MARGIN_MAX_NS ? budget : CHRONON__SLEEP_MARGIN_MAX_NS;

	if (lateness > m) {
		m += m >> 1;
		state.misses++;
	} else {
		m -= m >> 9;
	}
	if (m > hi)
		m = hi;
	if (m < CHRONON__SLEEP_MARGIN_MIN_NS)
		m = CHRONON__SLEEP_MARGIN_MIN_NS;
	state.margin_ns[cls] = m;
}

/* ------------------------------------------------------------------ */
/* Time helpers. */

static int clock_supported(clockid_t clock)
{
	return clock == CLOCK_MONOTONIC || clock == CLOCK_REALTIME ||
	       clock == CLOCK_BOOTTIME || clock == CLOCK_TAI;
}

static int timespec_valid(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < CHRONON__NS;
}

static int64_t timespec_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * CHRONON__NS + ts->tv_nsec;
}

static struct timespec ns_timespec(int64_t ns)
{
	struct timespec ts;

	if (ns < 0)
		ns = 0;
	ts.tv_sec = (time_t)(ns / CHRONON__NS);
	ts.tv_nsec = (long)(ns % CHRONON__NS);
	return ts;
}

/* The kernel's clock with no libc symbol in between, so that a preloaded
 * clock_gettime (which would be chronon itself) cannot stand in for it. */
static int64_t kernel_ns(clockid_t clock)
{
	struct timespec ts;

	if (chronon__sys_gettime(clock, &ts) != 0)
		return INT64_MAX; /* cannot happen for the four clocks; never early */
	return timespec_ns(&ts);
}

/* chronon's clock, the kernel's if chronon cannot answer. */
static int64_t now_ns(clockid_t clock)
{
	int64_t ns = chronon_now_ns(clock);

	return ns >= 0 ? ns : kernel_ns(clock);
}

/*
 * chronon's clock as the spin reads it: the page's one-attempt fast path
 * only.  When the page is due for the timekeeper's work (a check every
 * 10 ms, a resync), chronon_now_ns would do that work inline, 5-30 us on
 * the development VM, and a spin whose deadline falls inside it wakes that
 * late; a periodic sleep even lines its deadlines up with the work.  Here
 * the kernel's clock answers that iteration instead, and the work waits
 * for the next ordinary read; the spin's first read (now_ns, at the
 * kernel wake-up, while the margin still has slack) is one.
 */
static int64_t spin_read(clockid_t clock)
{
	/* One of clock_supported()'s, all of which the page serves. */
	enum chronon__ck ck = (enum chronon__ck)chronon__ck_served(clock);
	int64_t ns;

	if (chronon__page_read_fast(chronon__page_now(), ck, &ns) == CHRONON__READ_OK)
		return ns;
	return kernel_ns(clock);
}

/* ------------------------------------------------------------------ */
/* The kernel part. */

/* Trims this thread's timer slack to 1 ns; returns the old value to put
 * back, or -1 when there is nothing to restore (already <= 1 ns, or prctl
 * refused, e.g. by seccomp: then the margin simply learns a larger L). */
static long slack_trim(void)
{
	int old = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);

	if (old <= 1)
		return -1;
	if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) != 0)
		return -1;
	return old;
}

static void slack_restore(long old)
{
	if (old > 1)
		(void)prctl(PR_SET_TIMERSLACK, (unsigned long)old, 0UL, 0UL, 0UL);
}

/*
 * Sleeps in the kernel until target on clock.  cls >= 0: target is in the
 * future and ahead of the deadline by that class's margin, so the wake-up
 * lateness is a fair sample for it.  Returns clock_nanosleep's result (0 or
 * an error number).
 */
static int kernel_part(clockid_t clock, int64_t target, enum chronon_sleep_mode mode,
                       int cls, int64_t budget)
{
	struct timespec ts = ns_timespec(target);
	long old = mode == CHRONON_SLEEP_KERNEL ? -1 : slack_trim();
	int rc = clock_nanosleep(clock, TIMER_ABSTIME, &ts, NULL);
	int64_t woke = kernel_ns(clock);

	slack_restore(old);
	state.kernel_sleeps++;
	if (rc == 0 && cls >= 0)
		margin_learn(cls, woke - target, budget);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The spin. */

/*
 * Spins until the deadline has passed by chronon's clock and then by the
 * kernel's, or until budget ns (on MONOTONIC, so a REALTIME step cannot
 * stretch it) have gone.  Adds the time spun to *spun.  Returns 1 when the
 * deadline has passed.
 */
static int spin_until(clockid_t clock, int64_t deadline, int64_t budget, int64_t *spun)
{
	int64_t start = now_ns(CLOCK_MONOTONIC);
	int64_t t = start;
	int done = 0;

	for (;;) {
		int64_t now = clock == CLOCK_MONOTONIC ? t : spin_read(clock);

		if (now >= deadline && kernel_ns(clock) >= deadline) {
			done = 1;
			break;
		}
		if (t - start >= budget)
			break;
		chronon__arch_cpu_relax();
		t = spin_read(CLOCK_MONOTONIC);
	}
	*spun += t - start;
	state.spin_ns += t - start;
	return done;
}

/* ------------------------------------------------------------------ */
/* The sleep. */

static int sleep_abs(clockid_t clock, int64_t deadline)
{
	enum chronon_sleep_mode mode;
	int64_t budget, spun = 0;

	settings_unpack(settings_get(), &mode, &budget);
	if (mode != CHRONON_SLEEP_SPIN)
		budget = 0;
	state.sleeps++;

	for (;;) {
		int64_t left_budget = budget - spun;
		/* The kernel part is planned on the kernel's clock: if
		 * chronon's lagged a REALTIME step the kernel has already
		 * acted on, asking the kernel again would return at once,
		 * over and over. */
		int64_t left = deadline - kernel_ns(clock);
		int cls = margin_class(left);
		int64_t margin;
		int rc;

		if (left_budget <= 0) {
			/* No spin allowed (any more): the kernel's own absolute
			 * timer ends the sleep, and it never fires early. */
			if (left <= 0)
				return 0;
			return kernel_part(clock, deadline, mode, -1, budget);
		}
		if (state.margin_ns[cls] == 0)
			state.margin_ns[cls] = CHRONON__SLEEP_MARGIN_INIT_NS;
		margin = state.margin_ns[cls] < left_budget ? state.margin_ns[cls] : left_budget;
		if (left > margin) {
			rc = kernel_part(clock, deadline - margin, mode, cls, budget);
			if (rc != 0)
				return rc;
			continue;
		}
		if (spin_until(clock, deadline, left_budget, &spun))
			return 0;
	}
}

CHRONON_API int chronon_sleep_until(clockid_t clock, const struct timespec *deadline)
{
	int saved_errno = errno;
	int rc;

	if (!clock_supported(clock))
		return EINVAL;
	if (!deadline)
		return EFAULT;
	if (!timespec_valid(deadline))
		return EINVAL;
	if (deadline->tv_sec >= FAR_SEC)
		return clock_nanosleep(clock, TIMER_ABSTIME, deadline, NULL);
	rc = sleep_abs(clock, timespec_ns(deadline));
	/* clock_nanosleep leaves errno alone; the clocks read on the way
	 * (a first REALTIME read may probe files) must not show through. */
	errno = saved_errno;
	return rc;
}

CHRONON_API int chronon_nanosleep(const struct timespec *req, struct timespec *rem)
{
	int saved_errno = errno;
	int64_t deadline;
	int rc;

	if (!req) {
		errno = EFAULT;
		return -1;
	}
	if (!timespec_valid(req)) {
		errno = EINVAL;
		return -1;
	}
	/* A request of centuries: the kernel's relative sleep, whose
	 * remainder arithmetic cannot overflow. */
	if (req->tv_sec >= FAR_SEC / 2)
		return nanosleep(req, rem);
	/* From the kernel's clock, not chronon's: a relative sleep must not
	 * come out short by the kernel's measure when chronon's clock runs a
	 * little behind it (the sleep ends by both clocks anyway). */
	deadline = kernel_ns(CLOCK_MONOTONIC) + timespec_ns(req);
	rc = sleep_abs(CLOCK_MONOTONIC, deadline);
	if (rc == 0) {
		errno = saved_errno;
		return 0;
	}
	if (rc == EINTR && rem)
		*rem = ns_timespec(deadline - now_ns(CLOCK_MONOTONIC));
	errno = rc;
	return -1;
}
