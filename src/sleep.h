/*
 * Precise sleep (src/sleep.c).
 *
 * The block guarded by CHRONON_HAS_SLEEP is the public API: it belongs in
 * include/chronon.h, which then defines CHRONON_HAS_SLEEP so that this
 * header adds only the chronon__ internals below it.
 */
#ifndef CHRONON_SLEEP_H
#define CHRONON_SLEEP_H

#include <stdint.h>
#include <time.h>

#include "chronon.h"

#ifndef CHRONON_HAS_SLEEP
#define CHRONON_HAS_SLEEP 1

/*
 * Sleep until an absolute deadline on CLOCK_MONOTONIC, CLOCK_REALTIME,
 * CLOCK_BOOTTIME or CLOCK_TAI, as clock_nanosleep(clock, TIMER_ABSTIME,
 * deadline, NULL) does, but waking within about a microsecond of the
 * deadline instead of the kernel's tens: the kernel sleeps until a learned
 * margin before the deadline and the rest is a bounded spin on chronon's
 * clock (see chronon_sleep_config).  Never returns 0 before the deadline
 * has passed by the kernel's clock.
 *
 * Like clock_nanosleep it RETURNS the error number and leaves errno alone:
 *   0       the deadline has passed
 *   EINTR   a signal handler interrupted the kernel part of the sleep (a
 *           signal during the final spin runs its handler and the sleep
 *           still ends at the deadline with 0)
 *   EINVAL  clock is not one of the four above (CPU-time, alarm, coarse,
 *           raw and dynamic clocks included), or deadline->tv_nsec is
 *           outside 0..999999999, or deadline->tv_sec is negative
 *   EFAULT  deadline is NULL
 * A CLOCK_REALTIME deadline follows clock changes made while sleeping, as
 * TIMER_ABSTIME does.  Not async-signal-safe.
 */
CHRONON_API int chronon_sleep_until(clockid_t clock, const struct timespec *deadline);

/*
 * nanosleep(2) with chronon_sleep_until's precision: req is measured on
 * CLOCK_MONOTONIC, as Linux does.  Returns 0, or -1 with errno set:
 *   EINTR   a signal handler interrupted the sleep; when rem is not NULL it
 *           receives the time left (rem may be req)
 *   EINVAL  req->tv_nsec outside 0..999999999 or req->tv_sec negative
 *   EFAULT  req is NULL
 * rem is written only on EINTR.
 */
CHRONON_API int chronon_nanosleep(const struct timespec *req, struct timespec *rem);

/*
 * How a sleep ends.  The trade-off is CPU for punctuality:
 *   SPIN    (default) the kernel part runs with the thread's timer slack
 *           trimmed to 1 ns and ends a learned margin early; the rest is
 *           spun with the CPU's pause instruction.  Costs up to
 *           max_spin_ns of CPU per sleep; lateness is the spin's (well
 *           under a microsecond) except when the kernel wakes later than
 *           the margin allowed for.
 *   SLACK   never spins: the kernel sleeps to the deadline itself with the
 *           slack trimmed to 1 ns.  No CPU spent, lateness is the kernel's
 *           wake-up latency (a few us on bare metal, tens in a VM).
 *   KERNEL  plain clock_nanosleep: no spin, the slack untouched (50 us by
 *           default), as if chronon were not there.
 * The slack is restored as soon as the kernel part returns, so the rest of
 * the thread's timers (poll, futex timeouts) keep theirs.
 */
enum chronon_sleep_mode {
	CHRONON_SLEEP_SPIN = 0,
	CHRONON_SLEEP_SLACK = 1,
	CHRONON_SLEEP_KERNEL = 2,
};

#define CHRONON_SLEEP_MAX_SPIN_LIMIT_NS 1000000000LL /* 1 s */

struct chronon_sleep_config {
	enum chronon_sleep_mode mode;
	/* Most CPU time one sleep may spin, 0..CHRONON_SLEEP_MAX_SPIN_LIMIT_NS
	 * (default 200000).  The margin never exceeds it; 0 makes SPIN behave
	 * as SLACK. */
	int64_t max_spin_ns;
};

/*
 * Process-wide settings for every later sleep.  Until this is called they
 * come from the environment, read once: CHRONON_SLEEP_MODE=spin|slack|kernel
 * and CHRONON_SLEEP_SPIN_NS=<integer ns>; a bad value is reported on stderr
 * and ignored (the default stays).  Returns 0, or -1 with errno EFAULT (cfg
 * NULL) or EINVAL (unknown mode, max_spin_ns out of range; nothing changes).
 */
CHRONON_API int chronon_sleep_config(const struct chronon_sleep_config *cfg);
/* The settings in force: 0, or -1 with errno EFAULT when cfg is NULL. */
CHRONON_API int chronon_sleep_get_config(struct chronon_sleep_config *cfg);

#endif /* CHRONON_HAS_SLEEP */

/* ---- internals (tests and bench link chronon_static and may use these) ---- */

#define CHRONON__SLEEP_MARGIN_CLASSES 3

/* What this thread's sleeps have learned and cost so far. */
struct chronon__sleep_stats {
	int64_t margin_ns[CHRONON__SLEEP_MARGIN_CLASSES]; /* per class of kernel-part
	                          * length (<1 ms, <8 ms, longer); 0 before used */
	uint64_t sleeps;          /* sleeps that ran the algorithm */
	uint64_t kernel_sleeps;   /* kernel parts that slept */
	uint64_t misses;          /* kernel wake-ups later than the margin */
	int64_t spin_ns;          /* total time spent spinning */
};

void chronon__sleep_stats(struct chronon__sleep_stats *out);

#define CHRONON__SLEEP_MARGIN_MIN_NS 2000LL
#define CHRONON__SLEEP_MARGIN_MAX_NS 1000000LL
#define CHRONON__SLEEP_MARGIN_INIT_NS 50000LL
#define CHRONON__SLEEP_DEFAULT_SPIN_NS 200000LL

#endif
