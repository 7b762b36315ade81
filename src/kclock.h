/*
 * The kernel's clocks, as the timekeeper sees them.  The timekeeper follows
 * the kernel through this contract only, so the deterministic tests can
 * hand it a simulated kernel (tests/sim/) that drifts, slews, steps and
 * suspends on command.
 */
#ifndef CHRONON_KCLOCK_H
#define CHRONON_KCLOCK_H

#include <stdint.h>
#include <time.h>

#include "ns.h"

/*
 * What adjtimex(2) says about the kernel's clock when asked without
 * changing anything (modes = 0).  maxerror is the NTP daemon's bound on
 * the REALTIME clock's error, which the kernel grows by 500 us each second
 * (MAXFREQ, 500 ppm) until the daemon sets it again; the kernel marks the
 * clock unsynchronised (STA_UNSYNC) when it passes 16 s (NTP_PHASE_LIMIT),
 * or when the clock is set.
 */
struct chronon__ntp {
	int state;           /* adjtimex's return: TIME_OK, TIME_INS, ..., TIME_ERROR */
	uint32_t status;     /* STA_* flags (STA_UNSYNC, STA_INS, STA_DEL, ...) */
	int64_t maxerror_us; /* the kernel's maximum error, as of the read */
	int64_t esterror_us; /* the daemon's estimated error (not a bound) */
	int32_t tai;         /* TAI - UTC in s; 0 when no daemon has set it */
	int64_t mono_ns;     /* kernel MONOTONIC taken just before the read */
};

struct chronon__kclock {
	/* Kernel time of `clock` in ns; must not fail for the served clocks. */
	int64_t (*now)(void *ctx, clockid_t clock);
	/* 1 when CLOCK_REALTIME was set since the last call, 0 when not,
	 * -1 when this kernel cannot tell (the caller then relies on
	 * sampling the REALTIME - MONOTONIC offset). */
	int (*realtime_was_set)(void *ctx);
	void *ctx;
	/* The kernel's NTP state, read-only (adjtimex with modes = 0: it
	 * never sets anything).  0, or -1 when it cannot be read.  May be
	 * NULL: the NTP state is then unknown. */
	int (*ntp)(void *ctx, struct chronon__ntp *out);
};

/* The real kernel: the vDSO's clock_gettime, else the system call. */
/* Hidden: read on the fast path, so reached PC-relative, not through
 * the GOT (-fvisibility=hidden covers definitions, not declarations). */
#pragma GCC visibility push(hidden)
extern const struct chronon__kclock chronon__kclock_real;
#pragma GCC visibility pop

/* clock_gettime with no libc symbol in between (see vdso.c); what the
 * library's fallback paths call for every clock it does not serve. */
int chronon__sys_gettime(clockid_t clock, struct timespec *ts);
int chronon__sys_getres(clockid_t clock, struct timespec *res);
/* clock_gettime(clock, NULL) as the system call answers it: the errno. */
int chronon__sys_gettime_nullsafe(clockid_t clock);
time_t chronon__sys_time(void);

static inline int64_t chronon__ts_to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * CHRONON__NS + ts->tv_nsec;
}

/* MONOTONIC_COARSE in ns: the kernel's tick, with no counter read. */
static inline int64_t chronon__coarse_ns(void)
{
	struct timespec ts;
	chronon__sys_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return chronon__ts_to_ns(&ts);
}

#endif
