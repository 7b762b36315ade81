/* The kernel's NTP state as the page keeps it (ntp_snap.c): the writer's
 * side of bounded time. */
#ifndef CHRONON_NTP_SNAP_H
#define CHRONON_NTP_SNAP_H

#include "kclock.h"
#include "page.h"

/* The kernel's maxerror grows by MAXFREQ, 500 ppm: 1 ns in 2000. */
#define CHRONON__BOUND_GROWTH_DIV 2000
/* The kernel grows maxerror in whole steps of 500 us, once a second. */
#define CHRONON__BOUND_STEP_NS 500000LL

/* The kernel's NTP state k as the page keeps it (flags, ns), known or
 * not; kernel_ns is as of the read, the track fields are left 0. */
void chronon__ntp_pack(const struct chronon__ntp *k, int known, struct chronon__ntp_snap *v);
/* Moves v's bounds to reference time ref (MONOTONIC): the kernel's
 * maxerror read at read_mono, the tracking bound `track` measured at
 * track_mono, both grown by 500 ppm up to ref. */
void chronon__ntp_rebase(struct chronon__ntp_snap *v, int64_t read_mono, int64_t track,
			 int64_t track_mono, int64_t ref);

#endif
