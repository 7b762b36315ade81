/* Bounded time (bound.c): the internals the tests drive on a simulated
 * timekeeper. */
#ifndef CHRONON_BOUND_H
#define CHRONON_BOUND_H

#include "chronon.h"
#include "timekeeper.h"

/* The kernel's maxerror grows by MAXFREQ, 500 ppm: 1 ns in 2000. */
#define CHRONON__BOUND_GROWTH_DIV 2000
/* The kernel grows maxerror in whole steps of 500 us, once a second. */
#define CHRONON__BOUND_STEP_NS 500000LL
/* NTP_PHASE_LIMIT: past 16 s of maxerror the kernel gives up. */
#define CHRONON__BOUND_PHASE_LIMIT_NS 16000000000LL
/* Truncation to whole ns, and one counter tick. */
#define CHRONON__BOUND_READ_NS 2
#define CHRONON__BOUND_LEAP_NS 1000000000LL

/* The kernel's NTP state k as the page keeps it (flags, ns), known or
 * not; kernel_ns is as of the read, the track fields are left 0. */
void chronon__bound_pack(const struct chronon__ntp *k, int known, struct chronon__ntp_snap *v);
/* Moves v's bounds to reference time ref (MONOTONIC): the kernel's
 * maxerror read at read_mono, the tracking bound `track` measured at
 * track_mono, both grown by 500 ppm up to ref. */
void chronon__bound_rebase(struct chronon__ntp_snap *v, int64_t read_mono, int64_t track,
			   int64_t track_mono, int64_t ref);

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
