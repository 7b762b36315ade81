/*
 * The public clock API: clock id dispatch.  Served fine clocks go to the
 * time page (timekeeper.h: fast path inline, slow path out of line); the
 * coarse clocks and every other id go to the kernel exactly as
 * clock_gettime would take them.  errno is set here, at the boundary, and
 * nowhere below.
 */
#include <errno.h>
#include <string.h>

#include "chronon.h"
#include "clock.h"
#include "clocks.h"
#include "kclock.h"
#include "proc_page.h"
#include "ns.h"

static inline __attribute__((always_inline)) int served(clockid_t clock)
{
	return chronon__ck_served(clock);
}

/* The page in use (the process's own, or chronond's shared page: see
 * proc_page.h; one pointer load, about one cycle) with the slow path's
 * loops, and the slow path out of line.  The slow path's system calls may
 * fail harmlessly (a missing shared page, a timerfd with nothing to say, a
 * probe) and nothing below puts errno back: a read that succeeds leaves
 * it as it found it here (rule 15), the one place clock.c saves it. */
static inline __attribute__((always_inline)) int64_t read_ck(enum chronon__ck ck)
{
	int saved = errno;
	int64_t ns = chronon__read(ck);
	errno = saved;
	return ns;
}

/* Ids chronon does not serve (CPU-time clocks, alarm clocks, the coarse
 * clocks, invalid ids): the kernel's answer, errno and all.  A NULL
 * pointer goes to the system call, which returns EFAULT or, for an invalid
 * id, EINVAL, in the kernel's order; the vDSO would fault on it. */
static int kernel_gettime(clockid_t clock, struct timespec *ts)
{
	if (!ts)
		return chronon__sys_gettime_nullsafe(clock);
	return chronon__sys_gettime(clock, ts);
}

/* Kernel mode with nothing to keep (timekeeper.h): the kernel's answer as
 * it stands, with none of the slow path's bookkeeping. */
static inline __attribute__((always_inline)) int direct(void)
{
	return atomic_load_explicit(&chronon__kernel_direct, memory_order_relaxed) == 1 &&
	       chronon__page_now() == &chronon__proc_page;
}

/*
 * The public fast paths use only the page read and leave everything else
 * (other clock ids, the slow path, errors) to an out-of-line function
 * reached by a tail call: the fast path then needs no callee-saved
 * registers, which the compiler would otherwise save on every call.
 */
static __attribute__((noinline)) int gettime_slower(clockid_t clock, struct timespec *ts)
{
	int ck = served(clock);
	if (ck < 0)
		return kernel_gettime(clock, ts);
	if (!ts) {
		errno = EFAULT;
		return -1;
	}
	chronon__ns_to_timespec(read_ck((enum chronon__ck)ck), ts);
	return 0;
}

/* The ids the kernel answers, and kernel mode with nothing to keep: the
 * kernel's entry at once, before the slow path saves its registers. */
static __attribute__((noinline)) int gettime_slow(clockid_t clock, struct timespec *ts)
{
	if (ts && (served(clock) < 0 || direct()))
		return chronon__sys_gettime(clock, ts);
	return gettime_slower(clock, ts);
}

int chronon_gettime(clockid_t clock, struct timespec *ts)
{
	int ck = served(clock);
	if (__builtin_expect(ck >= 0 && ts != NULL, 1) &&
	    chronon__page_read_fast_ts(chronon__page_now(), (enum chronon__ck)ck, ts) ==
		    CHRONON__READ_OK)
		return 0;
	return gettime_slow(clock, ts);
}

/* A served clock (now_ns_slow takes every other id to the kernel). */
static __attribute__((noinline)) int64_t now_ns_slower(clockid_t clock)
{
	return read_ck((enum chronon__ck)served(clock));
}

static __attribute__((noinline)) int64_t now_ns_slow(clockid_t clock)
{
	if (served(clock) < 0 || direct()) {
		struct timespec ts;
		if (chronon__sys_gettime(clock, &ts) != 0)
			return -1;
		return chronon__ts_to_ns(&ts);
	}
	return now_ns_slower(clock);
}

int64_t chronon_now_ns(clockid_t clock)
{
	int64_t ns;
	int ck = served(clock);
	if (__builtin_expect(ck >= 0, 1) &&
	    chronon__page_read_fast(chronon__page_now(), (enum chronon__ck)ck, &ns) == CHRONON__READ_OK)
		return ns;
	return now_ns_slow(clock);
}

int chronon_getres(clockid_t clock, struct timespec *res)
{
	if (served(clock) < 0)
		return chronon__sys_getres(clock, res);
	if (res) {
		res->tv_sec = 0;
		res->tv_nsec = 1;
	}
	return 0;
}

int chronon_gettimeofday(struct timeval *tv, void *tz)
{
	/* glibc fills an old-style struct timezone with zeros. */
	if (tz)
		memset(tz, 0, sizeof(struct timezone));
	if (tv) {
		struct timespec ts;
		chronon__ns_to_timespec(read_ck(CHRONON__CK_REAL), &ts);
		tv->tv_sec = ts.tv_sec;
		tv->tv_usec = (suseconds_t)(ts.tv_nsec / 1000);
	}
	return 0;
}

/* The kernel's own seconds (its coarse REALTIME), as time(2) and the
 * vDSO give them: cheaper than any counter read. */
time_t chronon_time(time_t *t)
{
	time_t s = chronon__sys_time();
	if (t)
		*t = s;
	return s;
}
