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

struct chronon__kclock {
	/* Kernel time of `clock` in ns; must not fail for the served clocks. */
	int64_t (*now)(void *ctx, clockid_t clock);
	/* 1 when CLOCK_REALTIME was set since the last call, 0 when not,
	 * -1 when this kernel cannot tell (the caller then relies on
	 * sampling the REALTIME - MONOTONIC offset). */
	int (*realtime_was_set)(void *ctx);
	void *ctx;
};

/* The real kernel: the vDSO's clock_gettime, else the system call. */
extern const struct chronon__kclock chronon__kclock_real;

/* clock_gettime with no libc symbol in between (see vdso.c); what the
 * library's fallback paths call for every clock it does not serve. */
int chronon__sys_gettime(clockid_t clock, struct timespec *ts);
int chronon__sys_getres(clockid_t clock, struct timespec *res);
/* clock_gettime(clock, NULL) as the system call answers it: the errno. */
int chronon__sys_gettime_nullsafe(clockid_t clock);
time_t chronon__sys_time(void);

static inline int64_t chronon__ts_to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

#endif
