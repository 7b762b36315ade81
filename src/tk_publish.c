/*
 * Publishing a snapshot.  The pivot, the counter value the new bases refer
 * to, is read after the sequence count went odd (rule 5): no reader can
 * then have used the old line at a later counter value, so changing the
 * rate at the pivot cannot make time go back.
 */
#include "bound.h"
#include "tk_internal.h"

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

/*
 * The new base of one timescale at pivot c.  Continuing the old line keeps
 * the clock continuous; a re-base starts from the kernel's value at the
 * pivot, raised to the highest value the old snapshot can have handed
 * out, and to any kernel answer's floor, so no reader ever sees time go
 * back.  The old snapshot handed out at most its line at the end of its
 * validity, and at most the kernel's time then plus the pad it published
 * (the bound on how far ahead it ran): the smaller of the two counts.
 * The pad's bound is what keeps a counter that jumped (a suspend that the
 * counter ran through) from dragging the clock forward with it.  Returns
 * how far ahead of the kernel the new base is.
 */
static int64_t rebase_scale(struct chronon__tk *tk, struct chronon__scale *sc,
			    const struct chronon__sample *s, double rate, int keep_line, uint64_t c,
			    int64_t floor)
{
	struct chronon__page *pg = tk->page;
	uint64_t mask = tk->choice.counter->mask;
	int64_t k_at = s->k + (int64_t)((double)((c - s->c) & mask) * rate);
	int64_t base = atomic_load_explicit(&sc->base_ns, memory_order_relaxed);
	uint64_t frac = atomic_load_explicit(&sc->base_frac, memory_order_relaxed);
	uint64_t mult = atomic_load_explicit(&sc->mult, memory_order_relaxed);
	uint64_t last = atomic_load_explicit(&pg->cycle_last, memory_order_relaxed);
	uint64_t valid = atomic_load_explicit(&pg->valid_cycles, memory_order_relaxed);
	int was_counter = CHRONON__CTL_MODE(atomic_load_explicit(&pg->ctl, memory_order_relaxed)) ==
			  CHRONON__PAGE_COUNTER;
	uint64_t delta = (c - last) & mask;
	int64_t nb;
	uint64_t nf;
	if (was_counter && keep_line && delta <= mask - (mask >> 3)) {
		unsigned __int128 t = (unsigned __int128)delta * mult + frac;
		nb = base + (int64_t)(t >> tk->shift);
		nf = (uint64_t)(t & (((unsigned __int128)1 << tk->shift) - 1));
	} else {
		nb = k_at;
		nf = 0;
		if (was_counter) {
			int64_t line = chronon__scale128(base, frac, valid, mult, tk->shift) + 1;
			int64_t pad = atomic_load_explicit(&pg->pad_ns, memory_order_relaxed);
			nb = max64(nb, line < k_at + pad ? line : k_at + pad);
		}
	}
	if (floor != INT64_MIN && nb <= floor) {
		nb = floor + 1;
		nf = 0;
	}
	atomic_store_explicit(&sc->base_ns, nb, memory_order_relaxed);
	atomic_store_explicit(&sc->base_frac, nf, memory_order_relaxed);
	atomic_store_explicit(&sc->mult, mult_for(rate, tk->shift), memory_order_relaxed);
	return nb - k_at;
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
	int64_t track = pad + err + width + 1 + (tk->real.hi - tk->real.lo);
	int64_t ref = atomic_load_explicit(&tk->page->mono.base_ns, memory_order_relaxed);
	chronon__bound_pack(&tk->ntp, tk->ntp_read == 1, &v);
	chronon__bound_rebase(&v, tk->ntp.mono_ns, track, at_k, ref);
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

void chronon__tk_publish(struct chronon__tk *tk, const struct chronon__plan *plan)
{
	struct chronon__page *pg = tk->page;
	const struct chronon__counter *ctr = tk->choice.counter;
	int64_t valid_ns = plan->valid_ns < tk->cfg.check_ns ? plan->valid_ns : tk->cfg.check_ns;
	if (valid_ns < 100000)
		valid_ns = 100000;
	uint64_t mult_max = mult_for(plan->mono_rate > plan->raw_rate ? plan->mono_rate : plan->raw_rate,
				     tk->shift);
	uint64_t valid = cycles_for((double)valid_ns, plan->mono_rate);
	uint64_t room = (~(uint64_t)0 - ((uint64_t)1 << tk->shift)) / mult_max;
	if (valid > room)
		valid = room;
	uint64_t back = cycles_for(1e6, plan->mono_rate);
	if (back > ctr->mask >> 3)
		back = ctr->mask >> 3;

	chronon__page_write_begin(pg);
	/* The pivot: an ordered read after write_begin drained the odd count
	 * to every CPU, so no reader can have used the old line at a counter
	 * value beyond it and still pass its re-check (page.h). */
	uint64_t c = chronon__counter_read(ctr, tk->variant);
	/* The floors once the count is odd: a reader that gave up waiting
	 * for this update answered before now, or reads this snapshot. */
	int64_t floor_m = atomic_load_explicit(&tk->floor_mono, memory_order_acquire);
	int64_t floor_r = atomic_load_explicit(&tk->floor_raw, memory_order_acquire);
	int keep = !plan->rebase;
	int64_t ahead_m = rebase_scale(tk, &pg->mono, &plan->mono, plan->mono_rate, keep, c, floor_m);
	int64_t ahead_r = rebase_scale(tk, &pg->raw, &plan->raw, plan->raw_rate, keep, c, floor_r);
	int64_t width = (int64_t)((double)(plan->mono.w > plan->raw.w ? plan->mono.w : plan->raw.w) *
				  plan->mono_rate);
	/* How far ahead of the kernel the page may get before it expires:
	 * ahead now, the pivot's uncertainty, and the rate's error over the
	 * validity window (plus 0.1 ppm for the kernel's rate moving). */
	int64_t pad = max64(0, max64(ahead_m, ahead_r)) + width / 2 + 1 +
		      (int64_t)((plan->rate_unc + 1e-7) * (double)valid_ns);
	chronon__tk_publish_offsets(tk);
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
}
