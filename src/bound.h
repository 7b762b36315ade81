/* Bounded time (bound.c): the internals the tests drive on a simulated
 * timekeeper. */
#ifndef CHRONON_BOUND_H
#define CHRONON_BOUND_H

#include "chronon.h"
#include "ntp_snap.h"
#include "timekeeper.h"
#include "ns.h"

/* NTP_PHASE_LIMIT: past 16 s of maxerror the kernel gives up. */
#define CHRONON__BOUND_PHASE_LIMIT_NS 16000000000LL
/* Truncation to whole ns, and one counter tick. */
#define CHRONON__BOUND_READ_NS 2
#define CHRONON__BOUND_LEAP_NS CHRONON__NS

/* chronon_now_bounded on timekeeper tk; ck is CHRONON__CK_REAL or _TAI. */
void chronon__bound_of(struct chronon__tk *tk, enum chronon__ck ck, struct chronon_bound *b);

/* chronon_wait_until_after on any clock and sleep (tests: simulated). */
struct chronon__bound_ops {
	void (*now)(void *ctx, enum chronon__ck ck, struct chronon_bound *b);
	int (*sleep_until)(void *ctx, clockid_t clock, const struct timespec *deadline);
	void *ctx;
};
/* 0 once the clock's earliest is past ts->latest, or an error number
 * (EFAULT, EINVAL, EAGAIN, or the sleep's own). */
int chronon__bound_wait(const struct chronon_bound *ts, const struct chronon__bound_ops *ops);

#endif
