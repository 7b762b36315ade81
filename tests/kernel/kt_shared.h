/*
 * The real-kernel rig's shared state: one file in the guest's /run that the
 * event driver (kt_events) and every reader process (kt_reader) map.  The
 * driver numbers its events (phases); each reader thread owns one slot,
 * keeps its figures for the phase it is in, and on seeing a new phase
 * flushes them into its slot and acknowledges.  Only the slot's owner
 * writes it, so the figures need no atomics: the acknowledgement's release
 * store publishes them.
 */
#ifndef CHRONON_KT_SHARED_H
#define CHRONON_KT_SHARED_H

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#define KT_MAGIC 0x6b74737461746531ULL
#define KT_MAX_PHASES 512
#define KT_MAX_SLOTS 12
/* The five served clocks, then the bounded-time check. */
#define KT_CLOCKS 5
#define KT_BOUND KT_CLOCKS
#define KT_KINDS (KT_CLOCKS + 1)

static const clockid_t kt_clock_id[KT_CLOCKS] = {
	CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME, CLOCK_TAI,
};
static const char *const kt_kind_name[KT_KINDS] = {
	"REALTIME", "MONOTONIC", "MONOTONIC_RAW", "BOOTTIME", "TAI", "BOUND",
};

/* One reader thread's figures for one phase and one clock.  err: how far
 * chronon's reading lay outside the kernel's bracket [k1, k2] (0 inside).
 * over: readings whose err exceeded the bound; last_over_ns: the kernel's
 * MONOTONIC at the last of them, to tell how long after the phase's event
 * the error stayed out.  back: readings earlier than the same thread's
 * previous one while the kernel's clock did not go back; excused: REALTIME
 * or TAI going back within a second of the kernel's own step back.  For
 * BOUND, err is how far the kernel's REALTIME lay outside a synchronised
 * interval (over counts those), excused the misses within settle_ns of a
 * setting of the kernel's clock (chronon sees a set at its next check;
 * until then its interval is the one from before), status_wrong the readings whose status
 * disagreed with the kernel's (synchronised while the kernel says
 * unsynchronised, or the reverse) and status_lag_ns how long after the
 * kernel's own change the last of them came. */
struct kt_stat {
	int64_t samples;
	int64_t err_max_ns;
	int64_t over;
	int64_t last_over_ns;
	int64_t back;
	int64_t back_max_ns;
	int64_t excused;
	int64_t status_wrong;
	int64_t status_lag_ns; /* BOUND: longest a wrong status lasted after the kernel's changed */
	/* Clocks: the longest an out-of-bound reading came after the later of
	 * its event and the last change of the kernel's rate the reader saw
	 * (a change of adjtimex's tick, frequency, PLL offset or mode, an
	 * adjtime slew starting or ending, or of the clocksource: chrony and ntpd change it every
	 * second or so, and chronon is judged on how soon it follows each). */
	int64_t over_age_ns;
	int64_t rate_changes;  /* such changes the reader saw in the phase */
};

/* Adds one set of figures into another: counts add up, extremes keep the
 * larger.  rate_changes is what one reader saw, so its extreme is kept:
 * the readers of one kind see the same changes. */
static inline void kt_stat_merge(struct kt_stat *d, const struct kt_stat *s)
{
	d->samples += s->samples;
	d->over += s->over;
	d->back += s->back;
	d->excused += s->excused;
	d->status_wrong += s->status_wrong;
#define KT_KEEP_MAX(f) if (s->f > d->f) d->f = s->f
	KT_KEEP_MAX(err_max_ns);
	KT_KEEP_MAX(last_over_ns);
	KT_KEEP_MAX(back_max_ns);
	KT_KEEP_MAX(status_lag_ns);
	KT_KEEP_MAX(over_age_ns);
	KT_KEEP_MAX(rate_changes);
#undef KT_KEEP_MAX
}

struct kt_slot {
	char name[24];                  /* reader kind: inproc, page, preload, bound */
	int32_t pid;
	_Atomic uint32_t used;
	_Atomic uint32_t ack;           /* last phase whose figures are flushed */
	struct kt_stat st[KT_MAX_PHASES][KT_KINDS];
};

struct kt_state {
	uint64_t magic;
	int64_t bound_ns;               /* the error a reading may have (outside the bracket) */
	int64_t settle_ns;              /* how soon after an event it must be back within bound */
	_Atomic uint32_t phase;         /* the driver's current event */
	_Atomic uint32_t stop;          /* readers flush and exit */
	int64_t phase_start_ns[KT_MAX_PHASES]; /* kernel MONOTONIC at each event */
	char phase_name[KT_MAX_PHASES][72];
	_Atomic int64_t chronond_start_ns; /* kernel MONOTONIC of chronond's last (re)start, 0 never */
	struct kt_slot slot[KT_MAX_SLOTS];
};

#define KT_STATE_PATH "/run/kt/state"

#endif
