/*
 * Publishing a snapshot.  The pivot, the counter value the new bases refer
 * to, is read after the sequence count went odd (rule 5): no reader can
 * then have used the old line at a later counter value, so changing the
 * rate at the pivot cannot make time go back.
 *
 * chronon__tk_apply (tk_apply.c) is the only caller: the publisher writes
 * the page, and its own memory of the last snapshot (snap_raw_k, whether
 * BOOTTIME's offset was published), nothing else of the timekeeper's.
 * What it settles at the pivot (a restarted line's catch-up slew, and the
 * resync that must end it) goes back to the caller in chronon__published.
 */
#include <pthread.h>
#include <signal.h>

#include "ntp_snap.h"
#include "tk_internal.h"
#include "ns.h"

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static uint64_t mult_for(double rate, uint32_t shift)
{
	double m = rate * (double)((uint64_t)1 << shift) + 0.5;
	return m < 1 ? 1 : (uint64_t)m;
}

/* The offsets as tk_track.c settled them (they move only forward
 * between steps, so BOOTTIME never goes back). */
void chronon__tk_publish_offsets(struct chronon__tk *tk)
{
	struct chronon__page *pg = tk->page;
	int64_t real = tk->real_off, boot = tk->boot_off;
	atomic_store_explicit(&pg->off[CHRONON__CK_MONO], 0, memory_order_relaxed);
	atomic_store_explicit(&pg->off[CHRONON__CK_RAW], 0, memory_order_relaxed);
	atomic_store_explicit(&pg->off[CHRONON__CK_REAL], real, memory_order_relaxed);
	atomic_store_explicit(&pg->off[CHRONON__CK_TAI], real + tk->tai_s * CHRONON__NS,
			      memory_order_relaxed);
	if (!tk->boot_published ||
	    boot > atomic_load_explicit(&pg->off[CHRONON__CK_BOOT], memory_order_relaxed)) {
		atomic_store_explicit(&pg->off[CHRONON__CK_BOOT], boot, memory_order_relaxed);
		tk->boot_published = 1;
	}
}

/* A snapshot's line for one timescale. */
struct line {
	int64_t base;
	uint64_t frac, mult;
};

static struct line line_of(const struct chronon__scale *sc)
{
	struct line l = {atomic_load_explicit(&sc->base_ns, memory_order_relaxed),
			 atomic_load_explicit(&sc->base_frac, memory_order_relaxed),
			 atomic_load_explicit(&sc->mult, memory_order_relaxed)};
	return l;
}

/*
 * How far past the old snapshot's pivot (in ticks, at most its validity)
 * readers may have read its line before the new pivot c: every counter
 * value up to c, unless the counter ran away from the kernel's
 * MONOTONIC_RAW (unslewed, stopped in suspend) by more than the window:
 * a suspend the counter ran through, a counter that jumped or was reset.
 * Then no reader can have been inside the window after the jump, and the
 * readers before it read no further than the kernel's RAW progress since
 * the old pivot, in ticks (with twice the rate's uncertainty and 1 ppm;
 * a change of
 * the counter's own rate cannot move it a window away within a window).
 */
static uint64_t seen_ticks(const struct chronon__tk *tk, uint64_t delta, int64_t raw_at)
{
	const struct chronon__page *pg = tk->page;
	uint64_t mask = atomic_load_explicit(&pg->mask, memory_order_relaxed);
	uint64_t valid = atomic_load_explicit(&pg->valid_cycles, memory_order_relaxed);
	int back = delta > mask - (mask >> 3);
	const struct chronon__track *t = &tk->raw;
	double rate = t->rate > 0 ? t->rate : 1;
	double unc = t->unc > 0 && t->unc < 1e-4 ? t->unc : 1e-4;
	double ran = raw_at > tk->snap_raw_k
			     ? (double)(raw_at - tk->snap_raw_k) / rate * (1 + 2 * unc + 1e-6) + 2
			     : 2;
	/* The host rewrote the counter's scale (tk_trust.c): readers left
	 * the old line at the rewrite, whose counter values ran with RAW in
	 * the old scale (rate is the new one already: host_ratio converts
	 * back, exactly, from the two pages), however far the counter has
	 * moved since. */
	if (tk->host_moved)
		ran *= tk->host_ratio;
	if (back || tk->host_moved || (double)delta > ran + (double)valid)
		delta = ran < (double)valid ? (uint64_t)ran : valid;
	return delta < valid ? delta : valid;
}

/* Offsets as published in the page, and a floor of clock ck in MONOTONIC
 * terms.  A floor that lies beyond limit ahead of the kernel belongs to an
 * offset that has changed since (a REALTIME step back, an unnoticed
 * suspend) and is no bound on this line. */
static int64_t floor_as_mono(struct chronon__tk *tk, enum chronon__ck ck, int64_t k_at, int64_t limit)
{
	int64_t f = atomic_load_explicit(&tk->floor[ck], memory_order_relaxed);
	if (f == INT64_MIN)
		return INT64_MIN;
	int64_t m = f - atomic_load_explicit(&tk->page->off[ck], memory_order_relaxed);
	return ck == CHRONON__CK_MONO || m <= k_at + limit ? m : INT64_MIN;
}

/*
 * The one place a snapshot's line is decided, for one timescale at pivot
 * c (the MONOTONIC one carries REALTIME, BOOTTIME and TAI through their
 * offsets, which publish_offsets has already stored).  A check or resync
 * continues the old line exactly.  A re-base starts from the kernel's
 * value at the pivot, but never below what the old snapshot can have
 * handed out up to the pivot (its line at seen_ticks) nor below any
 * floor: when that leaves the new line ahead of the kernel, the line runs
 * slower than the kernel (catch_max at most) until they meet, rather
 * than stepping back.  Sets *ahead (new base minus the kernel's value),
 * brings *resync_k forward to the end of such a slew, says in *rs the
 * error and slew the restarted line begins with, and returns the rate to
 * run at.
 */
static double decide_line(const struct chronon__tk *tk, const struct chronon__scale *sc,
			  const struct chronon__track *t, const struct chronon__sample *s, double rate,
			  int keep_line, uint64_t c, int64_t floor, int64_t raw_at, int64_t *resync_k,
			  struct line *out, int64_t *ahead, struct chronon__restart *rs)
{
	const struct chronon__page *pg = tk->page;
	uint64_t mask = tk->choice.counter->mask;
	int64_t k_at = s->k + (int64_t)((double)((c - s->c) & mask) * rate);
	struct line old = line_of(sc);
	uint64_t last = atomic_load_explicit(&pg->cycle_last, memory_order_relaxed);
	int was_counter = CHRONON__CTL_MODE(atomic_load_explicit(&pg->ctl, memory_order_relaxed)) ==
			  CHRONON__PAGE_COUNTER;
	uint64_t delta = (c - last) & mask;
	struct line nl = {k_at, 0, 0};
	/* A catch-up slew was planned to end by the window's end: past it
	 * (nobody read there), the line is restarted, not extrapolated. */
	uint64_t valid = atomic_load_explicit(&pg->valid_cycles, memory_order_relaxed);
	if (delta > valid && (t->corr > tk->cfg.slew_max || t->corr < -tk->cfg.slew_max))
		keep_line = 0;
	if (was_counter && keep_line && delta <= mask - (mask >> 3)) {
		unsigned __int128 p = (unsigned __int128)delta * old.mult + old.frac;
		nl.base = old.base + (int64_t)(p >> tk->shift);
		nl.frac = (uint64_t)(p & (((unsigned __int128)1 << tk->shift) - 1));
	} else if (was_counter) {
		int64_t seen = chronon__scale128(old.base, old.frac, seen_ticks(tk, delta, raw_at),
						 old.mult, tk->shift);
		nl.base = max64(k_at, seen);
	}
	if (floor != INT64_MIN && nl.base <= floor) {
		nl.base = floor + 1;
		nl.frac = 0;
	}
	*ahead = nl.base - k_at;
	if (!keep_line) {
		/* A re-base has nothing of the old error left to slew but
		 * this: remove it as fast as catch_max allows. */
		double corr = 0;
		if (*ahead > 0) {
			double h = (double)*ahead / tk->cfg.catch_max;
			/* as tk_track.c's slewed() */
			double least = (double)tk->cfg.check_ns;
			if (h < least)
				h = least;
			corr = -(double)*ahead / h;
			/* the slew ends at a resync */
			if (*resync_k > k_at + (int64_t)h)
				*resync_k = k_at + (int64_t)h;
		}
		rs->restarted = 1;
		rs->err_ns = -*ahead;
		rs->corr = corr;
		rate = (t->rate > 0 ? t->rate : rate) * (1 + corr);
	}
	nl.mult = mult_for(rate, tk->shift);
	*out = nl;
	return rate;
}

static void store_line(struct chronon__scale *sc, const struct line *l)
{
	atomic_store_explicit(&sc->base_ns, l->base, memory_order_relaxed);
	atomic_store_explicit(&sc->base_frac, l->frac, memory_order_relaxed);
	atomic_store_explicit(&sc->mult, l->mult, memory_order_relaxed);
}

/*
 * Bounded time's inputs (bound.c), inside the writer's section.  The page
 * runs at most pad ahead of the kernel; behind it, at most the error the
 * last check measured (kernel minus page, not yet slewed away) plus that
 * measurement's width.  The sum, plus the REALTIME offset's uncertainty,
 * bounds |page REALTIME - kernel REALTIME| as of the sample's kernel time,
 * both ways (TAI differs from REALTIME by whole seconds only).
 */
static void publish_ntp(struct chronon__tk *tk, int64_t pad, int64_t width, int64_t at_k)
{
	struct chronon__page_ntp *n = &tk->page->ntp;
	struct chronon__ntp_snap v;
	int64_t err = tk->check_err_ns < 0 ? -tk->check_err_ns : tk->check_err_ns;
	/* The published REALTIME offset may sit anywhere the samples allow:
	 * its distance from either end of their intersection counts. */
	int64_t off_unc = max64(tk->real_off - tk->real.lo, tk->real.hi - tk->real_off);
	int64_t track = pad + err + width + 1 + max64(off_unc, 0);
	int64_t ref = atomic_load_explicit(&tk->page->mono.base_ns, memory_order_relaxed);
	chronon__ntp_pack(&tk->ntp, tk->ntp_read == 1, &v);
	chronon__ntp_rebase(&v, tk->ntp.mono_ns, track, at_k, ref);
	atomic_store_explicit(&n->info, v.info, memory_order_relaxed);
	atomic_store_explicit(&n->flags, v.flags, memory_order_relaxed);
	atomic_store_explicit(&n->esterror_ns, v.esterror_ns, memory_order_relaxed);
	atomic_store_explicit(&n->ref_mono_ns, v.ref_mono_ns, memory_order_relaxed);
	atomic_store_explicit(&n->kernel_ns, v.kernel_ns, memory_order_relaxed);
	atomic_store_explicit(&n->track_ns, v.track_ns, memory_order_relaxed);
}

static uint64_t cycles_for(double ns, double rate)
{
	double c = ns / rate;
	return c < 1 ? 1 : (uint64_t)c;
}

/* How long past k a timescale's slew may run on: to its planned end (the
 * next resync) and as long again, where it has overshot by the error it
 * was removing (or by SLEW_OVERRUN_NS, for the small slews of a young
 * rate).  A driver's window can outlast a short slew (a killed or late
 * chronond leaves it running); no slew, no limit.  The error and slew are
 * the track's, or the restarted line's (rs) when this snapshot restarts
 * it, as chronon__tk_apply will leave them. */
#define SLEW_OVERRUN_NS 1000.0

static int64_t slew_room(const struct chronon__track *t, const struct chronon__restart *rs,
			 int64_t resync_k, int64_t k)
{
	double err = (double)(rs->restarted ? rs->err_ns : t->err_ns);
	double corr = rs->restarted ? rs->corr : t->corr;
	if (corr == 0)
		return INT64_MAX;
	if (corr < 0)
		corr = -corr;
	if (err < 0)
		err = -err;
	double len = (err > SLEW_OVERRUN_NS ? err : SLEW_OVERRUN_NS) / corr;
	int64_t left = resync_k > k ? resync_k - k : 0;
	return len < 1e15 ? left + (int64_t)len : INT64_MAX;
}

/* The snapshot's validity: chronond's window, cut to what a slew may
 * overrun, or until the next check or resync, at most check_ns; pub: what
 * the pivot settled (the next resync, restarted lines). */
static int64_t valid_ns_of(const struct chronon__tk *tk, const struct chronon__snapshot *plan,
			   const struct chronon__published *pub)
{
	int64_t v = plan->valid_ns < tk->cfg.check_ns ? plan->valid_ns : tk->cfg.check_ns;
	if (tk->cfg.page_valid_ns > 0) {
		int64_t rm = slew_room(&tk->mono, &pub->mono, pub->next_resync_k, plan->mono.k);
		int64_t rr = slew_room(&tk->raw, &pub->raw, pub->next_resync_k, plan->mono.k);
		v = tk->cfg.page_valid_ns;
		if (rm < v)
			v = rm;
		if (rr < v)
			v = rr;
	}
	return v < 100000 ? 100000 : v;
}

/* The MONOTONIC line's floor: every clock it carries must start above
 * what the kernel answered for that clock (REALTIME and TAI too, or the
 * switch from the kernel's answers to the counter could set them back by
 * the offset's uncertainty).  limit: how far ahead of the kernel an
 * answer can legitimately be (its pad, and the offset's uncertainty). */
static int64_t mono_floor(struct chronon__tk *tk, int64_t k_at)
{
	int64_t pad = atomic_load_explicit(&tk->page->pad_ns, memory_order_relaxed);
	int64_t limit = max64(pad, 0) + max64(tk->real.hi - tk->real.lo, tk->boot.hi - tk->boot.lo) + 1000;
	int64_t f = INT64_MIN;
	static const enum chronon__ck carried[] = {CHRONON__CK_MONO, CHRONON__CK_REAL, CHRONON__CK_BOOT,
						   CHRONON__CK_TAI};
	for (unsigned i = 0; i < sizeof carried / sizeof carried[0]; i++)
		f = max64(f, floor_as_mono(tk, carried[i], k_at, limit));
	return f;
}

void chronon__tk_publish(struct chronon__tk *tk, const struct chronon__snapshot *plan,
			 struct chronon__published *out)
{
	struct chronon__page *pg = tk->page;
	const struct chronon__counter *ctr = tk->choice.counter;
	uint64_t mult_max = mult_for((plan->mono_rate > plan->raw_rate ? plan->mono_rate : plan->raw_rate) *
					     (1 + tk->cfg.catch_max),
				     tk->shift);
	uint64_t room = (~(uint64_t)0 - ((uint64_t)1 << tk->shift)) / mult_max;
	uint64_t back = cycles_for(1e6, plan->mono_rate);
	if (back > ctr->mask >> 3)
		back = ctr->mask >> 3;

	/* No signal handler may run inside the write section: one that read
	 * the clock there would answer from the kernel after the floors were
	 * read, and could hand out a value the new line starts below.
	 * Readers on other threads that find the section open wait for it
	 * (timekeeper.c). */
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	chronon__page_write_begin(pg);
	/* The pivot: an ordered read after write_begin drained the odd count
	 * to every CPU, so no reader can have used the old line at a counter
	 * value beyond it and still pass its re-check (page.h). */
	uint64_t c = chronon__counter_read(ctr, tk->variant);
	/* The floors once the count is odd (a full fence: a reader raises a
	 * floor, then re-loads the count, and answers its value only if no
	 * write section opened in between; timekeeper.c). */
	atomic_thread_fence(memory_order_seq_cst);
	chronon__tk_publish_offsets(tk);
	int64_t k_at = plan->mono.k + (int64_t)((double)((c - plan->mono.c) & ctr->mask) * plan->mono_rate);
	int64_t floor_m = mono_floor(tk, k_at);
	int64_t floor_r = atomic_load_explicit(&tk->floor[CHRONON__CK_RAW], memory_order_relaxed);
	int64_t raw_at = plan->raw.k + (int64_t)((double)((c - plan->raw.c) & ctr->mask) * plan->raw_rate);
	int keep = !plan->rebase;
	struct line lm, lr;
	int64_t ahead_m, ahead_r, resync_k = tk->next_resync_k;
	*out = (struct chronon__published){0};
	decide_line(tk, &pg->mono, &tk->mono, &plan->mono, plan->mono_rate, keep, c, floor_m, raw_at,
		    &resync_k, &lm, &ahead_m, &out->mono);
	decide_line(tk, &pg->raw, &tk->raw, &plan->raw, plan->raw_rate, keep, c, floor_r, raw_at,
		    &resync_k, &lr, &ahead_r, &out->raw);
	/* after decide_line: a re-base's catch-up may have brought the next
	 * resync forward */
	struct chronon__snapshot p2 = *plan;
	if (resync_k - plan->mono.k < p2.valid_ns)
		p2.valid_ns = resync_k - plan->mono.k;
	out->next_resync_k = resync_k;
	int64_t valid_ns = valid_ns_of(tk, &p2, out);
	uint64_t valid = cycles_for((double)valid_ns, plan->mono_rate);
	if (valid > room)
		valid = room;
	store_line(&pg->mono, &lm);
	store_line(&pg->raw, &lr);
	int64_t width = (int64_t)((double)(plan->mono.w > plan->raw.w ? plan->mono.w : plan->raw.w) *
				  plan->mono_rate);
	/* How far ahead of the kernel the page may get before it expires:
	 * ahead now, the pivot's uncertainty, and the rate's error over the
	 * validity window (plus 0.1 ppm for the kernel's rate moving).
	 * Stored only once the new lines are decided: until then the word
	 * holds the old snapshot's pad, after it one that bounds the old
	 * line up to the pivot too, so a reader that finds this section open
	 * (its writer killed or preempted here) can bound the page by it
	 * (shared_page.c). */
	int64_t pad = max64(0, max64(ahead_m, ahead_r)) + width / 2 + 1 +
		      (int64_t)((plan->rate_unc + 1e-7) * (double)valid_ns);
	atomic_store_explicit(&pg->pad_ns, pad, memory_order_relaxed);
	publish_ntp(tk, pad, width, plan->mono.k);
	atomic_store_explicit(&pg->cycle_last, c, memory_order_relaxed);
	atomic_store_explicit(&pg->mask, ctr->mask, memory_order_relaxed);
	atomic_store_explicit(&pg->valid_cycles, valid, memory_order_relaxed);
	atomic_store_explicit(&pg->back_cycles, back, memory_order_relaxed);
	atomic_store_explicit(&pg->fn_counter, ctr->id == CHRONON__CTR_FN ? ctr : NULL,
			      memory_order_relaxed);
	const _Atomic uint32_t *guard = tk->choice.probe.guard;
	atomic_store_explicit(&pg->fn_guard, ctr->id == CHRONON__CTR_FN ? guard : NULL,
			      memory_order_relaxed);
	chronon__page_split(pg);
	atomic_store_explicit(
		&pg->ctl,
		chronon__ctl_guarded(chronon__ctl(CHRONON__PAGE_COUNTER, ctr->id, tk->page_variant, tk->shift),
				     guard ? tk->pv.guard : 0),
		memory_order_relaxed);
	chronon__page_write_end(pg);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	tk->snap_raw_k = raw_at;
}

/* Readers leave the counter for the kernel, in one write under the
 * sequence count.  keep: the counter's id, variant and shift stay for
 * whoever looks at the page (a retired chronond page); else they are
 * cleared (a counter given up). */
void chronon__tk_publish_kernel_mode(struct chronon__tk *tk, int keep)
{
	struct chronon__page *pg = tk->page;
	uint64_t ctl = atomic_load_explicit(&pg->ctl, memory_order_relaxed);
	uint64_t to = keep ? chronon__ctl(CHRONON__PAGE_KERNEL, CHRONON__CTL_ID(ctl),
					  CHRONON__CTL_VARIANT(ctl), CHRONON__CTL_SHIFT(ctl))
			   : chronon__ctl(CHRONON__PAGE_KERNEL, 0, 0, 0);
	chronon__page_write_begin(pg);
	atomic_store_explicit(&pg->ctl, to, memory_order_relaxed);
	chronon__page_write_end(pg);
}
