/*
 * Reading the kernel's clocks against the counter.  A bracket (counter,
 * kernel, counter) pins the kernel's reading to the counter within the
 * bracket's width; the narrowest of a few is kept, because a wide one
 * means an interrupt, a preemption or a cache miss landed inside it.
 * Offsets between two kernel clocks are bracketed the same way by reading
 * the reference clock on both sides of the other one.
 */
#include "timekeeper.h"

struct chronon__sample chronon__tk_bracket(struct chronon__tk *tk, clockid_t clock, int tries)
{
	const struct chronon__counter *ctr = tk->choice.counter;
	struct chronon__sample best = {0, 0, ~(uint64_t)0, 0};
	for (int i = 0; i < tries; i++) {
		uint64_t a = chronon__counter_read(ctr, tk->variant);
		int64_t k = tk->kc->now(tk->kc->ctx, clock);
		uint64_t b = chronon__counter_read(ctr, tk->variant);
		/* a coarse counter (tk->step) hides up to a step inside */
		uint64_t w = ((b - a) & ctr->mask) + tk->step;
		if (w < best.w) {
			best.c = (a + w / 2) & ctr->mask;
			best.k = k;
			best.w = w;
		}
	}
	tk->ext_x += (best.c - tk->ext_c) & ctr->mask;
	tk->ext_c = best.c;
	best.x = tk->ext_x;
	return best;
}

void chronon__tk_offset_sample(struct chronon__tk *tk, clockid_t ref, clockid_t other, int tries,
			       int64_t *lo, int64_t *hi)
{
	int64_t best_w = INT64_MAX;
	for (int i = 0; i < tries; i++) {
		int64_t m1 = tk->kc->now(tk->kc->ctx, ref);
		int64_t o = tk->kc->now(tk->kc->ctx, other);
		int64_t m2 = tk->kc->now(tk->kc->ctx, ref);
		if (m2 - m1 < best_w) {
			best_w = m2 - m1;
			*lo = o - m2;
			*hi = o - m1;
		}
	}
}

/*
 * The kernel's REALTIME - MONOTONIC and BOOTTIME - MONOTONIC offsets are
 * exact whole nanoseconds that change only when the clock is set or the
 * machine resumes, so every sample's interval contains the same value and
 * their intersection closes in on it.  A sample that does not meet the
 * intersection means the offset changed.  Returns 1 then (the interval
 * restarts from the sample), 0 otherwise.
 */
int chronon__ival_update(struct chronon__ival *iv, int64_t lo, int64_t hi)
{
	if (!iv->set || hi < iv->lo || lo > iv->hi) {
		int changed = iv->set;
		iv->lo = lo;
		iv->hi = hi;
		iv->set = 1;
		return changed;
	}
	if (lo > iv->lo)
		iv->lo = lo;
	if (hi < iv->hi)
		iv->hi = hi;
	return 0;
}
