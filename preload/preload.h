/*
 * libchronon-preload.so: the libc clock names answered by chronon, for
 * programs that were never built against it (LD_PRELOAD).
 *
 *   shim.c    the exported libc names: the served clocks go to chronon,
 *             everything else to the real implementation
 *   real.c    the real implementation, as glibc does it (vDSO entry, else
 *             the system call), reached without any libc clock symbol
 *   state.c   the switch (CHRONON_PRELOAD) and when it is thrown
 *   trace.c   CHRONON_PRELOAD_TRACE: how many calls each side answered
 *
 * What a clock call can reach: the fast path only loads memory and reads
 * the counter.  The slow path (the page is due) takes a try-lock, waits on
 * it at most about 2 ms, never allocates and holds it with signals blocked
 * (src/lock.h).  At most once a second while no shared page is in use, the
 * slow path also looks for chronond's page: socket, connect, recvmsg, mmap,
 * reads of /proc, and snprintf for its refusal reason; snprintf (and the
 * sscanf of /proc/self/timens_offsets, read only for a page from another
 * time namespace) are not on POSIX's async-signal-safe list, though
 * glibc's allocate nothing for the conversions used.  CHRONON_PAGE=off
 * removes the look-up.  chronon's own start-up runs in the constructor,
 * and until it finished every call takes the real path.
 */
#ifndef CHRONON_PRELOAD_H
#define CHRONON_PRELOAD_H

#include <stdatomic.h>
#include <sys/time.h>
#include <time.h>

/* The switch.  One acquire load per call decides the whole route; the
 * trace variants exist so that counting costs nothing when it is off. */
enum chronon__pl_state {
	CHRONON__PL_UNSET = 0,     /* constructor not finished: real path */
	CHRONON__PL_OFF = 1,       /* CHRONON_PRELOAD=off: real path */
	CHRONON__PL_OFF_TRACE = 2, /* ... and count */
	CHRONON__PL_ON = 3,        /* served clocks from chronon */
	CHRONON__PL_ON_TRACE = 4,  /* ... and count */
};

extern _Atomic int chronon__pl_state;

static inline int chronon__pl_load_state(void)
{
	return atomic_load_explicit(&chronon__pl_state, memory_order_acquire);
}

/* 1 for a value CHRONON_PRELOAD understands as "off" (off, 0, no, false,
 * any case); anything else, unset or unknown, means on. */
int chronon__pl_env_is_off(const char *value);

/* The real implementation, with glibc's exact results and errno. */
int chronon__pl_real_gettime(clockid_t clock, struct timespec *ts);
int chronon__pl_real_getres(clockid_t clock, struct timespec *res);
int chronon__pl_real_gettimeofday(struct timeval *tv, void *tz);
time_t chronon__pl_real_time(time_t *t);
/* Looks the vDSO entries up now (the constructor), so the first call in a
 * signal handler does not have to. Safe to call any number of times. */
void chronon__pl_real_init(void);

/* Counting for CHRONON_PRELOAD_TRACE (only called in the *_TRACE states). */
void chronon__pl_count_served(void);
void chronon__pl_count_passed(void);
/* Remembers the trace file and arranges for the counts to be written at
 * exit; 0 on success, -1 when tracing cannot work (the path too long). */
int chronon__pl_trace_start(const char *path);

#endif
