/*
 * chronon: the kernel's clocks read straight from the CPU's counter.
 *
 * The one public header.  Every function mirrors its POSIX namesake: the
 * same arguments, the same return values, the same errno.  Clocks that
 * chronon does not serve from its time page (CPU-time clocks, alarm
 * clocks, ids it does not know) are passed to the kernel unchanged.
 */
#ifndef CHRONON_H
#define CHRONON_H

#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CHRONON_API __attribute__((visibility("default")))
#else
#define CHRONON_API
#endif

#define CHRONON_VERSION_MAJOR 0
#define CHRONON_VERSION_MINOR 1

/* clock_gettime(2): 0, or -1 with errno EINVAL (bad id) or EFAULT (NULL). */
CHRONON_API int chronon_gettime(clockid_t clock, struct timespec *ts);
/* clock_getres(2): res may be NULL, as POSIX allows. */
CHRONON_API int chronon_getres(clockid_t clock, struct timespec *res);
/* Nanoseconds since the clock's epoch; -1 with errno set on error. */
CHRONON_API int64_t chronon_now_ns(clockid_t clock);
/* gettimeofday(2): tz must be NULL or is ignored as glibc does. */
CHRONON_API int chronon_gettimeofday(struct timeval *tv, void *tz);
/* time(2). */
CHRONON_API time_t chronon_time(time_t *t);

/* What the clock runs on. */
enum chronon_mode {
	CHRONON_MODE_COUNTER = 0,     /* served from the counter */
	CHRONON_MODE_CALIBRATING = 1, /* served by the kernel until the rate is known */
	CHRONON_MODE_KERNEL = 2,      /* served by the kernel: see fallback_reason */
};

#define CHRONON_MAX_COUNTERS 8

struct chronon_counter_info {
	char name[16];
	int quality;       /* higher is better; < 0 when not usable */
	int usable;
	int chosen;
	char reason[96];   /* why it is or is not usable */
};

struct chronon_status {
	char counter[16];            /* counter in use: "tsc", "kernel", "sim", ... */
	uint64_t frequency_hz;       /* current estimate of the counter's rate */
	uint64_t nominal_hz;         /* what the machine said, 0 when it said nothing */
	char frequency_source[16];   /* "cpuid", "hypervisor", "pvclock", "hvclock", "calibrated",
	                              * "cntfrq-verified", "none" */
	char counter_read[24];       /* the instruction sequence: "lfence;rdtsc", "rdtscp", ... */
	uint32_t mult;               /* ns = (delta * mult) >> shift, MONOTONIC */
	uint32_t shift;
	enum chronon_mode mode;
	char mode_name[16];          /* "counter", "calibrating", "kernel" */
	char fallback_reason[128];   /* why not the counter, "" when it is */
	char page[128];              /* "process" or the shared page's path */
	char page_reason[128];       /* why a shared page was not used, "" if it was */
	int64_t resync_age_ns;       /* since the last resync against the kernel; -1 never */
	int64_t resync_error_ns;     /* kernel minus chronon at the last resync */
	int64_t resync_width_ns;     /* uncertainty of that measurement (bracket width) */
	uint64_t resyncs;            /* resyncs so far */
	uint64_t steps;              /* MONOTONIC steps (forward only) so far */
	uint64_t realtime_steps;     /* CLOCK_REALTIME steps seen so far */
	uint64_t suspends;           /* suspends (BOOTTIME jumps) seen so far */
	int ncounters;
	struct chronon_counter_info counters[CHRONON_MAX_COUNTERS];
	/* The host's paravirtual clock page behind the counter ("pvclock",
	 * "hvclock"; "" when none), its version as last seen, and how many
	 * times the host rewrote it while this process watched. */
	char paravirt[16];
	uint32_t paravirt_version;
	uint64_t paravirt_changes;
};

/* 0, or -1 with errno EFAULT when st is NULL. */
CHRONON_API int chronon_status(struct chronon_status *st);

/* ---- Precise sleep ---- */

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
 *           raw and dynamic clocks included: where the kernel would answer
 *           ENOTSUP or sleep on a process CPU clock, chronon refuses), or
 *           deadline->tv_nsec is outside 0..999999999, or deadline->tv_sec
 *           is negative
 *   EFAULT  deadline is NULL, as the kernel answers glibc's clock_nanosleep
 *           (a bad clock is reported first)
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


/*
 * Bounded time: an interval [earliest, latest] that contains true time,
 * as Spanner's TrueTime or AWS ClockBound give, at counter speed and with
 * no daemon to ask.  The error is the kernel's own bound (adjtimex's
 * maxerror, which chrony or ntpd keep up to date), grown by the kernel's
 * 500 ppm tolerance since chronon last read it, plus how far chronon's
 * reading may be from the kernel's.  The model and its assumptions are in
 * src/bound.c and the README.
 */
enum chronon_bound_status {
	CHRONON_BOUND_SYNCHRONISED = 0,   /* [earliest, latest] contains true time */
	CHRONON_BOUND_UNSYNCHRONISED = 1, /* the kernel says its clock is not synchronised */
	CHRONON_BOUND_UNKNOWN = 2,        /* the NTP state cannot be read, or (CLOCK_TAI) no
					   * daemon has set the kernel's TAI offset */
};

struct chronon_bound {
	/* Only SYNCHRONISED gives a finite interval.  Otherwise earliest is
	 * INT64_MIN and latest INT64_MAX: nothing is claimed. */
	int64_t earliest_ns;
	int64_t latest_ns;
	int64_t now_ns;               /* the clock's reading, as chronon_now_ns gives it */
	clockid_t clock;              /* CLOCK_REALTIME or CLOCK_TAI */
	enum chronon_bound_status status;
	/* The parts of the error, ns; latest = now + maxerror + tracking +
	 * read (+ leap for a pending leap second deletion), earliest the same
	 * below (leap for an insertion). */
	int64_t kernel_maxerror_ns;   /* the kernel's maxerror as of now */
	int64_t tracking_ns;          /* how far chronon's reading may be from the kernel's */
	int64_t read_ns;              /* the reading's own uncertainty (rounding, one tick) */
	int64_t leap_ns;              /* 1 s on a day with a leap second pending (REALTIME) */
	int64_t kernel_esterror_ns;   /* the daemon's estimate: shown, not used (not a bound) */
	uint32_t kernel_status;       /* adjtimex's STA_* flags as last read */
	int32_t tai_offset_s;         /* TAI - UTC as the kernel has it (0: never set) */
};

/*
 * The current bounded time of CLOCK_REALTIME or CLOCK_TAI.  0, or -1 with
 * errno EINVAL (any other clock) or EFAULT (b NULL).  Success does not
 * mean synchronised: check b->status.
 */
CHRONON_API int chronon_now_bounded(clockid_t clock, struct chronon_bound *b);

/*
 * Commit wait: returns 0 once chronon_now_bounded(ts->clock) has an
 * earliest later than ts->latest, i.e. once true time has certainly
 * passed every instant ts may stand for.  Sleeps (chronon_sleep_until)
 * rather than spins; signals do not end the wait.  -1 with errno:
 *   EFAULT  ts is NULL
 *   EINVAL  ts is not a synchronised bound (its status is not
 *           CHRONON_BOUND_SYNCHRONISED, its clock is not CLOCK_REALTIME or
 *           CLOCK_TAI, or earliest > latest): nothing to wait for
 *   EAGAIN  the clock is (or became, while waiting) unsynchronised or
 *           unknown: true time cannot be known to have passed; retry once
 *           the clock is synchronised again
 */
CHRONON_API int chronon_wait_until_after(const struct chronon_bound *ts);

#ifdef __cplusplus
}
#endif
#endif
