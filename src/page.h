/*
 * The time page: what a reader needs to turn a counter value into every
 * served clock, like the kernel's vvar data.  This header is the only
 * place that knows the sequence count protocol.  Readers never write to
 * the page; one writer at a time (the timekeeper, under its lock, or
 * chronond) updates it.
 *
 * Fixed point.  Between two updates every clock is a linear function of
 * the counter c:
 *
 *     t(c) = base_ns + (base_frac + ((c - cycle_last) & mask) * mult) / 2^shift
 *
 * where the division truncates.  mult/2^shift is the clock's length of a
 * tick in ns.  shift is chosen per counter so that mult lands in
 * [2^30, 2^31): the rate is then known to 1 part in 2^30 (1 ns in 1.07 s),
 * and a 64-bit product delta * mult holds deltas up to 2^33 ticks (4.3 s at
 * 2 GHz, 99 h at 24 MHz).  The page promises readers a much shorter window
 * (valid_cycles, at most 10 ms of counter) and readers beyond it leave
 * for the slow path, where the arithmetic is done in 128 bits.
 *
 * The base is kept as integer ns plus a fraction in units of 2^-shift ns
 * (base_frac < 2^shift), never rounded.  Re-basing at a counter value c1
 * computes  s = base_frac + (c1 - cycle_last) * mult,  and sets
 * base_ns += s >> shift,  base_frac = s mod 2^shift:  then for every c
 * after c1 the formula gives exactly the old t(c), so a re-base never
 * loses the fraction and can never step time back by rounding (rule 3).
 *
 * REALTIME, BOOTTIME and TAI are MONOTONIC plus whole-ns offsets read in
 * the same snapshot (rule 6); MONOTONIC_RAW has its own base and mult
 * because the kernel does not slew it.
 */
#ifndef CHRONON_PAGE_H
#define CHRONON_PAGE_H

#include <stdatomic.h>
#include <stdint.h>

#include "arch.h"
#include "counter.h"

enum chronon__page_mode {
	CHRONON__PAGE_KERNEL = 0,  /* readers ask the kernel (plus pad_ns) */
	CHRONON__PAGE_COUNTER = 1, /* readers use the counter */
};

/* Which timescale and offset a served fine clock uses. */
enum chronon__ck {
	CHRONON__CK_MONO = 0,
	CHRONON__CK_REAL,
	CHRONON__CK_BOOT,
	CHRONON__CK_TAI,
	CHRONON__CK_RAW,
	CHRONON__CK_COUNT
};

struct chronon__scale {
	_Atomic int64_t base_ns;
	_Atomic uint64_t base_frac;
	_Atomic uint64_t mult;
};

struct chronon__page {
	_Atomic uint32_t seq;
	_Atomic uint32_t mode;        /* enum chronon__page_mode */
	_Atomic uint32_t counter;     /* enum chronon__counter_id */
	_Atomic uint32_t variant;     /* the counter's ordered-read variant */
	_Atomic uint32_t shift;
	uint32_t reserved0;
	_Atomic uint64_t cycle_last;  /* counter value the bases refer to */
	_Atomic uint64_t mask;
	_Atomic uint64_t valid_cycles;/* fast path only for deltas up to this */
	_Atomic uint64_t back_cycles; /* a delta this close below 0 clamps to 0 */
	struct chronon__scale mono;
	struct chronon__scale raw;
	_Atomic int64_t off[CHRONON__CK_COUNT]; /* added to mono (raw: 0) */
	/* An upper bound on how far the page's clocks may run ahead of the
	 * kernel's; kernel answers add it so that a reader switched from
	 * the counter to the kernel never sees time go back. */
	_Atomic int64_t pad_ns;
	/* The counter's read function for CHRONON__CTR_FN counters.  Only
	 * an in-process page may use it (a pointer means nothing in another
	 * address space). */
	_Atomic(const struct chronon__counter *) fn_counter;
};

enum chronon__read_result {
	CHRONON__READ_OK = 0,
	CHRONON__READ_SLOW = 1, /* kernel mode, delta out of range, or writer stuck */
};

/* How long a reader spins on an odd sequence count before it stops
 * waiting: a writer holds it odd for well under a microsecond, but one
 * that was preempted, killed (chronond), or interrupted by the very
 * signal handler now reading must not hang the reader. */
#define CHRONON__SEQ_SPINS 4096

static inline uint64_t chronon__page_counter(const struct chronon__page *pg, uint32_t id,
					     uint32_t variant)
{
	if (__builtin_expect(id == CHRONON__CTR_ARCH, 1))
		return chronon__arch_counter_read_v(variant);
	const struct chronon__counter *c =
		atomic_load_explicit(&pg->fn_counter, memory_order_relaxed);
	return c ? c->read(variant) : 0;
}

/* Converts a counter delta with the 64-bit product; the caller has
 * checked delta <= valid_cycles, which the writer keeps small enough. */
static inline int64_t chronon__scale64(int64_t base, uint64_t frac, uint64_t delta, uint64_t mult,
				       uint32_t shift)
{
	return base + (int64_t)((frac + delta * mult) >> shift);
}

/*
 * The reader.  Every field is loaded relaxed inside the loop (a torn or
 * stale value is harmless there because the sequence check discards it),
 * the counter is read last, and the arithmetic happens only after the
 * snapshot is known to be whole.
 */
static inline int chronon__page_read(const struct chronon__page *pg, enum chronon__ck ck,
				     int64_t *out)
{
	const struct chronon__scale *sc = ck == CHRONON__CK_RAW ? &pg->raw : &pg->mono;
	uint32_t seq, shift, id, variant;
	uint64_t last, mask, valid, back, mult, frac, c;
	int64_t base, off;
	unsigned spins = 0;

	for (;;) {
		seq = atomic_load_explicit(&pg->seq, memory_order_acquire);
		if (__builtin_expect(seq & 1, 0)) {
			if (++spins > CHRONON__SEQ_SPINS)
				return CHRONON__READ_SLOW;
			chronon__arch_cpu_relax();
			continue;
		}
		if (atomic_load_explicit(&pg->mode, memory_order_relaxed) != CHRONON__PAGE_COUNTER)
			return CHRONON__READ_SLOW;
		id = atomic_load_explicit(&pg->counter, memory_order_relaxed);
		variant = atomic_load_explicit(&pg->variant, memory_order_relaxed);
		shift = atomic_load_explicit(&pg->shift, memory_order_relaxed);
		last = atomic_load_explicit(&pg->cycle_last, memory_order_relaxed);
		mask = atomic_load_explicit(&pg->mask, memory_order_relaxed);
		valid = atomic_load_explicit(&pg->valid_cycles, memory_order_relaxed);
		back = atomic_load_explicit(&pg->back_cycles, memory_order_relaxed);
		mult = atomic_load_explicit(&sc->mult, memory_order_relaxed);
		frac = atomic_load_explicit(&sc->base_frac, memory_order_relaxed);
		base = atomic_load_explicit(&sc->base_ns, memory_order_relaxed);
		off = atomic_load_explicit(&pg->off[ck], memory_order_relaxed);
		c = chronon__page_counter(pg, id, variant);
		/* Orders the loads above before the re-check of seq (rule 1). */
		atomic_thread_fence(memory_order_acquire);
		if (__builtin_expect(atomic_load_explicit(&pg->seq, memory_order_relaxed) == seq, 1))
			break;
		if (++spins > CHRONON__SEQ_SPINS)
			return CHRONON__READ_SLOW;
	}

	uint64_t delta = (c - last) & mask;
	if (__builtin_expect(delta > valid, 0)) {
		/* Just behind the base: another CPU's counter a few ticks
		 * behind this one's, or a counter read that raced a re-base.
		 * Clamp to the base rather than go back (rule 4).  Anything
		 * else (a counter reset by suspend, a long idle) is the slow
		 * path's to judge. */
		if (delta < mask - back)
			return CHRONON__READ_SLOW;
		delta = 0;
	}
	if (__builtin_expect(shift >= 64, 0))
		return CHRONON__READ_SLOW; /* a corrupted page must not reach a shift */
	*out = chronon__scale64(base, frac, delta, mult, shift) + off;
	return CHRONON__READ_OK;
}

/* The writer's side: one writer at a time, serialised by the caller. */
static inline void chronon__page_write_begin(struct chronon__page *pg)
{
	uint32_t s = atomic_load_explicit(&pg->seq, memory_order_relaxed);
	/* A page left odd (a writer died mid-update, or fork copied it
	 * mid-update) stays odd: the rewrite that follows makes it whole. */
	if (!(s & 1))
		atomic_store_explicit(&pg->seq, s + 1, memory_order_relaxed);
	/* The odd count must be visible before any field changes. */
	atomic_thread_fence(memory_order_release);
}

static inline void chronon__page_write_end(struct chronon__page *pg)
{
	uint32_t s = atomic_load_explicit(&pg->seq, memory_order_relaxed);
	atomic_store_explicit(&pg->seq, s + 1, memory_order_release);
}

#endif
