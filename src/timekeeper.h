/*
 * The timekeeper: keeps a time page in step with the kernel's clocks, as
 * kernel/time/timekeeping.c keeps the vvar data.  It runs lazily inside
 * whichever reader finds the page due (no thread), under a try-lock, and
 * it is written against two contracts only, the counter (counter.h) and
 * the kernel's clocks (kclock.h), so tests drive it deterministically on a
 * simulated counter and kernel.
 *
 * The life of a process's clock:
 *   NEW          first read: answered by the kernel at once
 *   STARTED      next read: probe the counters, take the first sample
 *   CALIBRATING  reads answered by the kernel until the rate is measured
 *                (cal_ns after the first sample; at once when the machine
 *                states an exact frequency)
 *   COUNTER      reads answered from the counter; checks every check_ns,
 *                resyncs at growing intervals up to resync_max_ns
 *   KERNEL       no usable counter: every read asks the kernel
 */
#ifndef CHRONON_TIMEKEEPER_H
#define CHRONON_TIMEKEEPER_H

#include <stdatomic.h>
#include <stdint.h>

#include "counter.h"
#include "kclock.h"
#include "lock.h"
#include "clocks.h"
#include "page.h"
#include "ns.h"

enum chronon__tk_state {
	CHRONON__TK_NEW = 0,
	CHRONON__TK_STARTED,
	CHRONON__TK_CALIBRATING,
	CHRONON__TK_COUNTER,
	CHRONON__TK_KERNEL,
};

struct chronon__tk_config {
	int64_t check_ns;       /* page validity: offsets/suspend checked this often */
	int64_t cal_ns;         /* first calibration baseline */
	int64_t resync_max_ns;  /* steady-state resync interval */
	int64_t window_ns;      /* rate baseline kept within [window/2, window] */
	int64_t step_ns;        /* an error beyond this is stepped, not slewed */
	int64_t max_width_ns;   /* a sample wider than this is not trusted */
	double slew_max;        /* relative rate correction for small errors (500 ppm) */
	double catch_max;       /* for errors beyond what slew_max removes in time (10 %) */
	/* How long readers may use a snapshot.  0: until the next check or
	 * resync (at most check_ns), the in-process way, where readers do
	 * the work when it expires; chronond, which does the work itself,
	 * sets its own (two update intervals and a margin). */
	int64_t page_valid_ns;
};

/* One bracketed kernel reading: the kernel said k while the counter read
 * between c - w/2 and c + w/2. */
struct chronon__sample {
	uint64_t c;
	int64_t k;
	uint64_t w;
	uint64_t x;             /* c unwrapped: ticks counted across wraps */
};

/* An offset known to lie in [lo, hi]; narrowed by intersecting samples. */
struct chronon__ival {
	int64_t lo, hi;
	int set;
};

struct chronon__track {
	struct chronon__sample ref, cand, last;
	struct chronon__sample chk;  /* the latest sample, a check's or a resync's */
	double rate;            /* ns per counter tick, as estimated */
	double unc;             /* its relative uncertainty, from the last baseline */
	int64_t err_ns;         /* kernel minus chronon at the last resync */
	double corr;            /* relative slew applied since then */
	int64_t width_ns;       /* that measurement's uncertainty */
	/* The rate came from elsewhere (a seed: chronond's page being left)
	 * with this relative uncertainty; the track's own secant replaces it
	 * once surer, or a move of the kernel's rate does.  0: its own. */
	double prior;
};

struct chronon__tk {
	struct chronon__page *page;
	const struct chronon__kclock *kc;
	struct chronon__tk_config cfg;
	/* One cache line of its own: the try-lock is the only thing readers
	 * ever write, and only on the slow path. */
	_Alignas(64) _Atomic uint64_t lock; /* lock.h: holder's image << 32 | tid, 0 when free */
	_Atomic int state;
	_Atomic int64_t due_ns;            /* kernel modes: MONOTONIC when work is due */
	/* Per clock, the highest value handed out other than from the
	 * page's line (kernel answers): the next snapshot starts above. */
	_Atomic int64_t floor[CHRONON__CK_COUNT];
	_Alignas(64) struct chronon__choice choice;
	const struct chronon__counter *forced; /* tests: use this counter */
	unsigned variant;       /* ordered read: the timekeeper's own reads */
	unsigned page_variant;  /* what readers use (CHRONON_ORDER=relaxed: unordered) */
	uint64_t step;           /* counter granularity when reads repeat, else 0 (ticks) */
	uint32_t shift;
	struct chronon__track mono, raw;
	int64_t interval_ns;
	int64_t next_resync_k;
	struct chronon__ival real, boot;
	int64_t real_off, boot_off;      /* what the page publishes */
	int64_t tai_s;
	int64_t last_resync_k;
	int64_t snap_raw_k;      /* the kernel's MONOTONIC_RAW at the last snapshot's pivot */
	uint64_t resyncs, steps, realtime_steps, suspends, skipped;
	int need_rebase;
	/* Rates handed in by chronon__tk_seed before the counter was
	 * probed, ns per tick (0: none): the probe starts from them. */
	double seed_mono, seed_raw, seed_unc;
	/* The counter unwrapped: a narrow counter wraps (a 32-bit one every
	 * 2 s at 2 GHz) well within the rate baseline, so samples also carry
	 * a 64-bit tick count, extended at every sample (they are never a
	 * wrap apart while the clock is read). */
	uint64_t ext_x, ext_c;
	int boot_published;
	char reason[128];
	/* The kernel's NTP state, read at each resync and after a REALTIME
	 * step (never per read), published in the page for bound.c. */
	struct chronon__ntp ntp;
	int ntp_read;           /* 0 never read, 1 read, -1 the kernel would not say */
	int64_t check_err_ns;   /* kernel minus page at the last check or resync */
	/* The counter's paravirtual page as last published (its guard is
	 * in the page's ctl), and when trust is next looked at again. */
	struct chronon__pv pv;
	uint64_t pv_changes;
	int64_t trust_due_k;
	/* The host moved the counter (a jump, a new rate, a pause) since the
	 * last snapshot; host_ratio is the new ns per tick over the old. */
	int host_moved;
	double host_ratio;
	/* The process's timekeeper only: where to say that kernel mode
	 * needs no bookkeeping (chronon__kernel_direct), else NULL. */
	_Atomic int *direct;
};

/*
 * Kernel mode that never ran on the counter has nothing to keep: no pad,
 * no floor.  The public API then calls the kernel directly (clock.c).
 * 0 undecided, 1 direct, 2 never (a shared page was used, or the counter
 * was): set once by compare-and-swap, so the first decision stands.
 */
#pragma GCC visibility push(hidden)
extern _Atomic int chronon__kernel_direct;
#pragma GCC visibility pop

/* Prepare tk to keep `page` with the given kernel; counter NULL = choose. */
void chronon__tk_setup(struct chronon__tk *tk, struct chronon__page *page,
		       const struct chronon__kclock *kc, const struct chronon__counter *counter);
void chronon__tk_default_config(struct chronon__tk_config *cfg);

#define CHRONON__TK_CONFIG_DEFAULT                                                             \
	{                                                                                      \
		.check_ns = 10000000, .cal_ns = 2000000, .resync_max_ns = CHRONON__NS,         \
		.window_ns = 32000000000LL, .step_ns = 1000000, .max_width_ns = 5000,          \
		.slew_max = 500e-6, .catch_max = 0.1,                                          \
	}

/* Raises clock ck's floor (what was handed out other than from the
 * page's line) to v, if below: the next snapshot starts above it. */
void chronon__tk_raise_floor(struct chronon__tk *tk, enum chronon__ck ck, int64_t v);

/* Another source (chronond's page, being left) handed out values up to
 * the floors just raised: re-base the page now, so that its next read
 * starts above them.  0, or -1 when the work lock could not be had. */
int chronon__tk_rebase_now(struct chronon__tk *tk);

/*
 * Rates learnt elsewhere (ns per counter tick, MONOTONIC's and
 * MONOTONIC_RAW's, unslewed, known to within the relative uncertainty
 * unc): chronond's, handed over by a process that leaves chronond's page.
 * The process's own timekeeper slept while the page served, and its
 * rates are those of when it last ran (the kernel's may have moved by a
 * tick slew since); chronond's are the kernel's of now, even young ones.
 * From them it resumes, or starts without calibrating.  Implausible rates
 * (not finite, MONOTONIC beyond +-11 % of MONOTONIC_RAW, MONOTONIC_RAW
 * 1 % off the timekeeper's own, unc not in [0, 1 %]) are ignored.  0, or
 * -1 when the work lock could not be had.
 */
int chronon__tk_seed(struct chronon__tk *tk, double mono_rate, double raw_rate, double unc);

/* Read clock ck: the page's fast path, else the slow path (which may do
 * the timekeeper's due work, or answer from the kernel). */
static inline int64_t chronon__tk_read(struct chronon__tk *tk, enum chronon__ck ck);
int64_t chronon__tk_read_slow(struct chronon__tk *tk, enum chronon__ck ck);

/* Hold the timekeeper still to read its state (bounded wait); 1 if held. */
int chronon__tk_hold(struct chronon__tk *tk, struct chronon__lock_held *h);
void chronon__tk_release(struct chronon__tk *tk, struct chronon__lock_held *h);

static inline int64_t chronon__tk_read(struct chronon__tk *tk, enum chronon__ck ck)
{
	int64_t ns;
	if (__builtin_expect(chronon__page_read(tk->page, ck, &ns) == CHRONON__READ_OK, 1))
		return ns;
	return chronon__tk_read_slow(tk, ck);
}

/* Sampling (tk_sample.c). */
struct chronon__sample chronon__tk_bracket(struct chronon__tk *tk, clockid_t clock, int tries);
int chronon__ival_update(struct chronon__ival *iv, int64_t lo, int64_t hi);
void chronon__tk_offset_sample(struct chronon__tk *tk, clockid_t ref, clockid_t other, int tries,
			       int64_t *lo, int64_t *hi);

#endif
