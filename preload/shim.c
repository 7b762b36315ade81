/*
 * The libc names.  Each one is a single acquire load of the switch and,
 * on the common path, a tail call into chronon; everything chronon does not
 * serve (CPU-time clocks with their negative ids, alarm clocks, unknown
 * ids, gettimeofday with a time zone) goes to the real implementation so
 * that its result and errno are libc's own.
 *
 * The C names here are chronon__pl_*; the exported symbol names are set by
 * asm labels.  That is on purpose: glibc declares some arguments nonnull
 * (gettimeofday's tv, clock_gettime's tp), and a definition under that
 * declaration would let the compiler delete the NULL checks the kernel's
 * behaviour asks for.  The symbols carry no version, so they satisfy a
 * program's reference to any version of the name (clock_gettime@GLIBC_2.17
 * and the old clock_gettime@GLIBC_2.2.5 alike).
 */
#include <errno.h>

#include "chronon.h"
#include "preload.h"

#define EXPORT(name) __asm__(#name) __attribute__((visibility("default")))

int chronon__pl_clock_gettime(clockid_t clock, struct timespec *ts) EXPORT(clock_gettime);
int chronon__pl_clock_getres(clockid_t clock, struct timespec *res) EXPORT(clock_getres);
int chronon__pl_gettimeofday(struct timeval *tv, void *tz) EXPORT(gettimeofday);
time_t chronon__pl_time(time_t *t) EXPORT(time);
int chronon__pl_timespec_get(struct timespec *ts, int base) EXPORT(timespec_get);
int chronon__pl_timespec_getres(struct timespec *ts, int base) EXPORT(timespec_getres);

/* The clocks chronon answers from its time page. */
#define SERVED ((1u << CLOCK_REALTIME) | (1u << CLOCK_MONOTONIC) |                 \
		(1u << CLOCK_MONOTONIC_RAW) | (1u << CLOCK_REALTIME_COARSE) |      \
		(1u << CLOCK_MONOTONIC_COARSE) | (1u << CLOCK_BOOTTIME) |          \
		(1u << CLOCK_TAI))

static inline int served(clockid_t clock)
{
	/* Negative ids (CPU-time clocks of other processes and threads)
	 * become huge here and are not served. */
	return (unsigned)clock < 32 && ((SERVED >> (unsigned)clock) & 1u);
}

/* Whether a call in state s is answered by chronon; counts it if tracing. */
static int by_chronon(int s, int servable)
{
	int on = (s == CHRONON__PL_ON || s == CHRONON__PL_ON_TRACE) && servable;
	if (s == CHRONON__PL_ON_TRACE && on)
		chronon__pl_count_served();
	else if (s == CHRONON__PL_ON_TRACE || s == CHRONON__PL_OFF_TRACE)
		chronon__pl_count_passed();
	return on;
}

static int gettime_slow(int s, clockid_t clock, struct timespec *ts)
{
	if (by_chronon(s, served(clock)))
		return chronon_gettime(clock, ts);
	return chronon__pl_real_gettime(clock, ts);
}

int chronon__pl_clock_gettime(clockid_t clock, struct timespec *ts)
{
	int s = chronon__pl_load_state();
	if (__builtin_expect(s == CHRONON__PL_ON, 1) && served(clock))
		return chronon_gettime(clock, ts);
	return gettime_slow(s, clock, ts);
}

int chronon__pl_clock_getres(clockid_t clock, struct timespec *res)
{
	if (by_chronon(chronon__pl_load_state(), served(clock)))
		return chronon_getres(clock, res);
	return chronon__pl_real_getres(clock, res);
}

/* A time zone is the kernel's business (the vDSO copies it from the
 * kernel's sys_tz); only tz == NULL calls, all of them in practice, are
 * served.  tv == NULL is a valid no-op, as it is in the vDSO. */
int chronon__pl_gettimeofday(struct timeval *tv, void *tz)
{
	if (by_chronon(chronon__pl_load_state(), tz == NULL))
		return tv ? chronon_gettimeofday(tv, NULL) : 0;
	return chronon__pl_real_gettimeofday(tv, tz);
}

time_t chronon__pl_time(time_t *t)
{
	if (by_chronon(chronon__pl_load_state(), 1))
		return chronon_time(t);
	return chronon__pl_real_time(t);
}

/* glibc: TIME_UTC reads CLOCK_REALTIME and returns base whatever the read
 * did; any other base returns 0 and leaves ts alone. */
int chronon__pl_timespec_get(struct timespec *ts, int base)
{
	if (base != TIME_UTC)
		return 0;
	chronon__pl_clock_gettime(CLOCK_REALTIME, ts);
	return base;
}

int chronon__pl_timespec_getres(struct timespec *ts, int base)
{
	if (base != TIME_UTC)
		return 0;
	chronon__pl_clock_getres(CLOCK_REALTIME, ts);
	return base;
}
