/*
 * Bounded time: an interval that contains true time (TrueTime for one
 * machine), and commit wait.
 *
 * The model.  True time t lies within E of chronon's reading r, where
 *
 *   E = kernel maxerror (as of now) + tracking bound + read uncertainty,
 *   earliest = r - E,  latest = r + E.
 *
 * 1. The kernel's maxerror.  The NTP daemon (chrony, ntpd) sets the
 *    kernel's maxerror, its bound on how far CLOCK_REALTIME is from true
 *    time, at each of its updates; between updates the kernel grows it by
 *    MAXFREQ, 500 ppm, the most its clock is assumed to drift (500 us
 *    added once a second, in second_overflow()).  chronon reads it with
 *    adjtimex in read-only mode (modes = 0) at each resync (every second
 *    or so, never per call) and at a REALTIME step, and then grows it the
 *    same way itself: value read + 500 ppm of the MONOTONIC time since the
 *    read.  One more step of 500 us is added, because the kernel grows in
 *    whole steps: a value read just before a step is already 500 us short
 *    an instant later.  So the figure is never below what the kernel
 *    would say if asked now, without asking it.
 * 2. The tracking bound: how far chronon's reading may be from the
 *    kernel's.  At each check (every 10 ms at most) the timekeeper
 *    measures kernel minus page with a bracketed read; the page runs at
 *    most pad_ns ahead of the kernel (tk_publish.c) and at most that
 *    measured error (not yet slewed away) plus the bracket's width behind
 *    it.  From that measurement on, the bound grows by 500 ppm of the time
 *    since, which covers the kernel's rate being changed by its daemon in
 *    between (the timekeeper notices at its next check and resyncs).
 *    REALTIME and TAI add the distance from the published REALTIME offset
 *    to either end of what its bracketed samples prove (a few tens of ns;
 *    more while a preempted first sample is being narrowed), so true time
 *    stays inside whatever the preemption.
 * 3. The read uncertainty: the reading is truncated to a whole ns and is
 *    one counter tick wide: 2 ns.
 * 4. A leap second pending (STA_INS / STA_DEL, set by the daemon on the
 *    day of a leap) widens REALTIME by 1 s on the side the kernel's clock
 *    will jump, because chronon sees the jump only at its next check.
 *    TAI does not jump and is not widened.
 *
 * Unsynchronised.  When the kernel says its clock is not synchronised
 * (STA_UNSYNC or STA_CLOCKERR set, adjtimex returning TIME_ERROR, or the
 * grown maxerror at NTP_PHASE_LIMIT, 16 s, where the kernel gives up),
 * no interval is claimed: status CHRONON_BOUND_UNSYNCHRONISED, earliest
 * INT64_MIN and latest INT64_MAX.  The same holds, with status
 * CHRONON_BOUND_UNKNOWN, when the NTP state cannot be read (adjtimex
 * refused, as a sandbox may) and, for CLOCK_TAI, when the kernel's TAI
 * offset is 0: no daemon set it, so CLOCK_TAI is UTC and 37 s off.  The
 * parts of the error are filled in all the same, for people to read.
 *
 * Assumptions.  The daemon's maxerror is honest and the kernel's clock
 * drifts no faster than 500 ppm between its updates (the kernel's own
 * model); the kernel's rate is not slewed faster than 500 ppm relative to
 * the page between two of chronon's checks (chrony's fast slews after a
 * large offset can exceed this for up to one check, 10 ms); a REALTIME
 * step resets the kernel's state to unsynchronised (the kernel does so
 * for clock_settime and ADJ_SETOFFSET), so a step is never paired with
 * the previous clock's maxerror once chronon has seen it, and before it
 * has, chronon still serves the old clock, which the old maxerror covers.
 *
 * Cost.  The NTP state lives in the time page and is read in the same
 * snapshot as the clock, so a bounded read is a page read plus a few
 * loads and multiplications: no system call.  In the kernel modes
 * (calibrating, no usable counter) the page holds no NTP state yet and
 * each call asks adjtimex itself.
 */
#include <errno.h>
#include <string.h>
#include <sys/timex.h>

#include "bound.h"
#include "proc_page.h"
#include "clock.h"
#include "sleep.h"
#include "ns.h"

/* No interval: unsynchronised or unknown, as the flags say. */
static __attribute__((noinline)) void no_interval(struct chronon_bound *b, uint64_t fl)
{
	b->status = !(fl & CHRONON__NTP_KNOWN)                           ? CHRONON_BOUND_UNKNOWN
		    : fl & CHRONON__NTP_UNSYNC                            ? CHRONON_BOUND_UNSYNCHRONISED
		    : b->kernel_maxerror_ns - CHRONON__BOUND_STEP_NS >=
				    CHRONON__BOUND_PHASE_LIMIT_NS ? CHRONON_BOUND_UNSYNCHRONISED
								  : CHRONON_BOUND_UNKNOWN;
	b->earliest_ns = INT64_MIN;
	b->latest_ns = INT64_MAX;
}

/*
 * The interval from one snapshot: now is the clock's reading, since the
 * MONOTONIC ns from the snapshot's reference time to it (growth is
 * counted on MONOTONIC, so a REALTIME step cannot shrink it; never
 * negative).
 */
static inline __attribute__((always_inline)) void compute(const struct chronon__ntp_snap *n,
							  enum chronon__ck ck, int64_t now,
							  int64_t since, struct chronon_bound *b)
{
	uint64_t fl = n->flags;
	int64_t g = (int64_t)((uint64_t)since / CHRONON__BOUND_GROWTH_DIV);
	int64_t kernel = n->kernel_ns + g;
	int64_t track = n->track_ns + g;
	int real = ck == CHRONON__CK_REAL;
	int64_t leap = real && (fl & (CHRONON__NTP_INS | CHRONON__NTP_DEL)) ? CHRONON__BOUND_LEAP_NS : 0;
	b->now_ns = now;
	b->clock = chronon__ck_clockid(ck);
	b->kernel_maxerror_ns = kernel;
	b->tracking_ns = track;
	b->read_ns = CHRONON__BOUND_READ_NS;
	b->leap_ns = leap;
	b->kernel_esterror_ns = n->esterror_ns;
	b->kernel_status = (uint32_t)n->info;
	b->tai_offset_s = (int32_t)(uint32_t)(n->info >> 32);
	/* Known, synchronised, below the phase limit, and for TAI its
	 * offset set: one test for the common case. */
	uint64_t bad = (fl ^ CHRONON__NTP_KNOWN) &
		       (CHRONON__NTP_KNOWN | CHRONON__NTP_UNSYNC | (real ? 0 : CHRONON__NTP_TAI_UNSET));
	if (__builtin_expect(bad != 0 || kernel >= CHRONON__BOUND_PHASE_LIMIT_NS + CHRONON__BOUND_STEP_NS,
			     0)) {
		no_interval(b, fl);
		return;
	}
	int64_t e = kernel + track + CHRONON__BOUND_READ_NS;
	b->status = CHRONON_BOUND_SYNCHRONISED;
	b->earliest_ns = now - e - (fl & CHRONON__NTP_INS ? leap : 0);
	b->latest_ns = now + e + (fl & CHRONON__NTP_DEL ? leap : 0);
}

static int64_t since(int64_t mono, int64_t ref)
{
	return mono > ref ? mono - ref : 0;
}

/* The kernel modes have no NTP state in the page: ask the kernel now.
 * The reading came from the kernel itself (raised by the pad), so there
 * is no offset to doubt, only the pad. */
static void direct(struct chronon__tk *tk, struct chronon__ntp_snap *n, int64_t mono)
{
	struct chronon__ntp k;
	int64_t pad = atomic_load_explicit(&tk->page->pad_ns, memory_order_relaxed);
	int known = tk->kc->ntp && tk->kc->ntp(tk->kc->ctx, &k) == 0;
	chronon__ntp_pack(&k, known, n);
	chronon__ntp_rebase(n, known ? k.mono_ns : mono, (pad > 0 ? pad : 0) + 1, mono,
			      known ? k.mono_ns : mono);
}

/*
 * Off the fast path: a whole snapshot if the page has one (a writer was
 * at work, or the counter is not the arch one); else the time from the
 * timekeeper's slow path (which may do its due work, and so refresh the
 * NTP state), then the NTP state of the page as it stands after that, or
 * from the kernel directly when the timekeeper is not serving from the
 * counter.
 */
static int serving(const struct chronon__page *pg)
{
	return CHRONON__CTL_MODE(atomic_load_explicit(&pg->ctl, memory_order_relaxed)) ==
	       CHRONON__PAGE_COUNTER;
}

/* pg is the page the process reads (its own, or chronond's shared one,
 * whose NTP fields chronond's timekeeper publishes); tk the process's
 * own timekeeper, whose slow path serves when pg is its page. */
static __attribute__((noinline)) void bound_slow(const struct chronon__page *pg,
						 struct chronon__tk *tk, enum chronon__ck ck,
						 struct chronon_bound *b)
{
	struct chronon__ntp_snap n;
	int64_t now;
	int own = pg == tk->page;
	int saved = errno; /* the slow path's system calls leave errno alone */
	if (chronon__page_read_ntp(pg, ck, own, &now, &n) == CHRONON__READ_OK) {
		compute(&n, ck, now, since(now - n.off, n.ref_mono_ns), b);
		errno = saved;
		return;
	}
	now = own ? chronon__tk_read_slow(tk, ck) : chronon__read(ck);
	int64_t mono = tk->kc->now(tk->kc->ctx, CLOCK_MONOTONIC);
	if (!own)
		pg = chronon__page_now(); /* the read may have switched pages */
	if (!serving(pg) || chronon__page_ntp_snapshot(pg, ck, &n) != 0)
		direct(tk, &n, mono);
	compute(&n, ck, now, since(mono, n.ref_mono_ns), b);
	errno = saved;
}

static inline __attribute__((always_inline)) void bound_read(const struct chronon__page *pg,
							     struct chronon__tk *tk,
							     enum chronon__ck ck,
							     struct chronon_bound *b)
{
	struct chronon__ntp_snap n;
	int64_t now;
	int64_t since_ns;
	if (__builtin_expect(chronon__page_read_fast_ntp(pg, ck, &now, &n, &since_ns, NULL) ==
				     CHRONON__READ_OK,
			     1)) {
		compute(&n, ck, now, since_ns, b);
		return;
	}
	bound_slow(pg, tk, ck, b);
}

void chronon__bound_of(struct chronon__tk *tk, enum chronon__ck ck, struct chronon_bound *b)
{
	bound_read(tk->page, tk, ck, b);
}

int chronon_now_bounded(clockid_t clock, struct chronon_bound *b)
{
	/* REALTIME and TAI: the clocks an NTP daemon's error bounds. */
	if (clock != CLOCK_REALTIME && clock != CLOCK_TAI) {
		errno = EINVAL;
		return -1;
	}
	enum chronon__ck ck = (enum chronon__ck)chronon__ck_served(clock);
	if (!b) {
		errno = EFAULT;
		return -1;
	}
	bound_read(chronon__page_now(), &chronon__proc_tk, ck, b);
	return 0;
}

static int valid_wait(const struct chronon_bound *ts)
{
	return (ts->clock == CLOCK_REALTIME || ts->clock == CLOCK_TAI) &&
	       ts->status == CHRONON_BOUND_SYNCHRONISED && ts->earliest_ns <= ts->latest_ns &&
	       ts->latest_ns != INT64_MAX;
}

/*
 * Commit wait.  earliest = reading - E passes ts->latest when the clock
 * reads ts->latest + E, so that is the deadline to sleep to; E grows while
 * sleeping (by 1000 ppm of the sleep at most: the kernel's growth and the
 * tracking bound's), so the next round sleeps that little more, and the
 * rounds shrink a thousandfold each.  An absolute deadline on the clock
 * itself follows REALTIME steps, as clock_nanosleep's TIMER_ABSTIME does.
 * Returns 0 or an error number.
 */
int chronon__bound_wait(const struct chronon_bound *ts, const struct chronon__bound_ops *ops)
{
	if (!ts)
		return EFAULT;
	if (!valid_wait(ts))
		return EINVAL;
	enum chronon__ck ck = (enum chronon__ck)chronon__ck_served(ts->clock);
	for (;;) {
		struct chronon_bound b;
		ops->now(ops->ctx, ck, &b);
		if (b.status != CHRONON_BOUND_SYNCHRONISED)
			return EAGAIN;
		if (b.earliest_ns > ts->latest_ns)
			return 0;
		int64_t deadline = ts->latest_ns + (b.now_ns - b.earliest_ns) + 1;
		struct timespec d;
		chronon__ns_to_timespec(deadline, &d);
		int r = ops->sleep_until(ops->ctx, ts->clock, &d);
		if (r != 0 && r != EINTR)
			return r;
	}
}

static void proc_now(void *ctx, enum chronon__ck ck, struct chronon_bound *b)
{
	(void)ctx;
	bound_read(&chronon__proc_page, &chronon__proc_tk, ck, b);
}

/* chronon_sleep_until: the kernel sleeps to a learned margin before the
 * deadline and the rest is spun, so the wait ends within about a
 * microsecond of when it may, not the kernel's 50 us timer slack late. */
static int proc_sleep(void *ctx, clockid_t clock, const struct timespec *deadline)
{
	(void)ctx;
	return chronon_sleep_until(clock, deadline);
}

int chronon_wait_until_after(const struct chronon_bound *ts)
{
	static const struct chronon__bound_ops ops = {.now = proc_now, .sleep_until = proc_sleep};
	int r = chronon__bound_wait(ts, &ops);
	if (r == 0)
		return 0;
	errno = r;
	return -1;
}
