/*
 * The time page: what a reader needs to turn a counter value into every
 * served clock, like the kernel's vvar data.  This header is the only
 * place that knows the sequence count protocol.  Readers never write to
 * the page; its one writer is the timekeeper (tk_publish.c: in a process
 * under its work lock, in chronond driven through tk_driver.h).
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
 * (valid_cycles: at most 10 ms of counter in process, chronond's two update
 * intervals and a margin on its page) and readers beyond it leave for the
 * slow path, where the arithmetic is done in 128 bits.
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
#include <time.h>

#include "arch.h"
#include "counter.h"
#include "ns.h"

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

/* What a reader needs before it reads the counter, packed in one word so
 * that the counter read waits on as few loads as possible:
 * bits 0-7 mode, 8-15 counter id, 16-23 read variant, 24-31 shift,
 * 32-63 the guard: the value of the counter's guard word (counter.h: a
 * paravirtual clock page's version) when the page was published, 0 for a
 * counter without one.  A read whose guard word, loaded after the counter,
 * differs was taken after the host changed the counter's scale, and is
 * left to the slow path: no read ever combines the old scale with a
 * counter value taken under the new one. */
static inline uint64_t chronon__ctl(unsigned mode, unsigned id, unsigned variant, unsigned shift)
{
	return (uint64_t)(mode & 0xff) | (uint64_t)(id & 0xff) << 8 | (uint64_t)(variant & 0xff) << 16 |
	       (uint64_t)(shift & 0xff) << 24;
}
#define CHRONON__CTL_MODE(ctl) ((unsigned)(ctl)&0xff)
#define CHRONON__CTL_ID(ctl) ((unsigned)((ctl) >> 8) & 0xff)
#define CHRONON__CTL_VARIANT(ctl) ((unsigned)((ctl) >> 16) & 0xff)
#define CHRONON__CTL_SHIFT(ctl) ((unsigned)((ctl) >> 24) & 0xff)
#define CHRONON__CTL_GUARD(ctl) ((uint32_t)((ctl) >> 32))
static inline uint64_t chronon__ctl_guarded(uint64_t ctl, uint32_t guard)
{
	return (ctl & 0xffffffffu) | (uint64_t)guard << 32;
}

/*
 * What bounded time (bound.c) needs, written with the rest of the page
 * under its sequence count: the kernel's NTP state as read at the last
 * resync (kclock.h, struct chronon__ntp), and a bound on how far the
 * page's MONOTONIC may be from the kernel's, measured at the last check.
 */
struct chronon__page_ntp {
	_Atomic uint64_t info;          /* the kernel's STA_* flags | (uint32_t)TAI offset << 32 */
	_Atomic uint64_t flags;         /* CHRONON__NTP_*: the verdicts, made by the writer */
	_Atomic int64_t esterror_ns;
	/* Both bounds as of ref_mono_ns, the page's MONOTONIC base (at
	 * cycle_last): a reader grows them by 500 ppm of the ns it has
	 * just computed since the base, at no extra latency. */
	_Atomic int64_t ref_mono_ns;
	_Atomic int64_t kernel_ns;      /* the kernel's maxerror, in ns, plus one 500 us step */
	_Atomic int64_t track_ns;       /* |page REALTIME - kernel's| */
};

#define CHRONON__NTP_KNOWN 1u     /* the fields were read from the kernel */
#define CHRONON__NTP_UNSYNC 2u    /* STA_UNSYNC, STA_CLOCKERR or TIME_ERROR */
#define CHRONON__NTP_TAI_UNSET 4u /* the kernel's TAI offset is 0 */
#define CHRONON__NTP_INS 8u       /* a leap second insertion is pending */
#define CHRONON__NTP_DEL 16u      /* a leap second deletion is pending */

struct chronon__page {
	_Atomic uint32_t seq;
	uint32_t reserved0;
	_Atomic uint64_t ctl;         /* chronon__ctl(mode, counter id, variant, shift) */
	_Atomic uint64_t cycle_last;  /* counter value the bases refer to */
	_Atomic uint64_t mask;
	_Atomic uint64_t valid_cycles;/* fast path only for deltas up to this */
	_Atomic uint64_t back_cycles; /* a delta this close below 0 clamps to 0 */
	struct chronon__scale mono;
	struct chronon__scale raw;
	_Atomic int64_t off[CHRONON__CK_COUNT]; /* added to mono (raw: 0) */
	/* Each clock's base + offset split into seconds and nanoseconds
	 * (0 <= nsec < 10^9), so that a timespec needs no 64-bit division:
	 * nsec plus the ns since the base stays under 2 s in any window. */
	_Atomic int64_t sec[CHRONON__CK_COUNT];
	_Atomic int64_t nsec[CHRONON__CK_COUNT];
	/* An upper bound on how far the page's clocks may run ahead of the
	 * kernel's; kernel answers add it so that a reader switched from
	 * the counter to the kernel never sees time go back. */
	_Atomic int64_t pad_ns;
	/* The counter's read function for CHRONON__CTR_FN counters.  Only
	 * an in-process page may use it (a pointer means nothing in another
	 * address space). */
	_Atomic(const struct chronon__counter *) fn_counter;
	/* The guard word of a CHRONON__CTR_FN counter (a simulated
	 * paravirtual page), in-process pages only, like fn_counter. */
	_Atomic(const _Atomic uint32_t *) fn_guard;
	/* The kernel's NTP state and the page's own error, for bounded time
	 * (bound.c); last, so that the fields above keep their places. */
	struct chronon__page_ntp ntp;
};

#define CHRONON__ALWAYS_INLINE inline __attribute__((always_inline))

/* Conversion beyond the fast path's window, in 128 bits (rule 4): base +
 * (delta * mult + frac) >> shift.  Unsigned: a delta from a reset counter
 * gives a meaningless number, which the caller discards, never undefined
 * behaviour. */
static inline int64_t chronon__scale128(int64_t base, uint64_t frac, uint64_t delta, uint64_t mult,
					uint32_t shift)
{
	unsigned __int128 p = (unsigned __int128)delta * mult + frac;
	return (int64_t)((uint64_t)base + (uint64_t)(p >> (shift & 127)));
}

enum chronon__read_result {
	CHRONON__READ_OK = 0,
	CHRONON__READ_SLOW = 1, /* kernel mode, delta out of range, or writer stuck */
};

/* How long a reader spins on an odd sequence count before it stops
 * waiting: a writer holds it odd for well under a microsecond, but one
 * that was preempted, killed (chronond), or interrupted by the very
 * signal handler now reading must not hang the reader. */
#define CHRONON__SEQ_SPINS 4096
/* What a slow path that may have interrupted its own writer spins. */
#define CHRONON__SEQ_SPINS_BRIEF 64

/*
 * The sequence count, reader's half (rule 1), written once; every reader
 * below is built on it.
 *
 *   seq = chronon__seq_begin(pg);      odd: a writer is at work
 *   ...relaxed loads of the fields, the counter read...
 *   if (chronon__seq_retry(pg, seq))   the copy may be torn: discard it
 *
 * The begin is an acquire load (arm64: LDAR): the field loads cannot be
 * satisfied before it, so an even count seen here covers them; a counter
 * read is kept after it by its own ordering (ISB, or LFENCE), rule 2.
 * The retry's acquire fence orders the loads before the re-check of seq
 * (arm64: DMB ISHLD; x86: a compiler barrier, loads are not reordered
 * with loads there).  The counter read is no load: on arm64 it ends with
 * a dummy load that depends on its value (arch/aarch64.h), which this
 * fence orders too, so the counter cannot be read after the re-check
 * either; on x86 RDTSC does not pass the later load's completion in
 * practice, as Linux's vDSO also assumes.  Torn values never reach a
 * loop, a division or a pointer: the arithmetic comes after the retry.
 */
static CHRONON__ALWAYS_INLINE uint32_t chronon__seq_begin(const struct chronon__page *pg)
{
	return atomic_load_explicit(&pg->seq, memory_order_acquire);
}

/* The same, sequentially consistent: one half of a Dekker check, where
 * the reader's own earlier seq_cst store (timekeeper.c's floors) must be
 * ordered before the count it reads. */
static CHRONON__ALWAYS_INLINE uint32_t chronon__seq_begin_sc(const struct chronon__page *pg)
{
	return atomic_load_explicit(&pg->seq, memory_order_seq_cst);
}

/* Non-zero when a writer came by since chronon__seq_begin gave seq (a
 * value, not a flag, so that a fast path can fold it into one test). */
static CHRONON__ALWAYS_INLINE uint32_t chronon__seq_retry(const struct chronon__page *pg,
							  uint32_t seq)
{
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&pg->seq, memory_order_relaxed) ^ seq;
}

/* For the readers that loop: an even count in *seq, spinning (counted in
 * *spins) while it is odd; 0, or -1 once *spins passes budget. */
static CHRONON__ALWAYS_INLINE int chronon__seq_begin_wait(const struct chronon__page *pg,
							  unsigned *spins, unsigned budget,
							  uint32_t *seq)
{
	for (;;) {
		*seq = chronon__seq_begin(pg);
		if (__builtin_expect(!(*seq & 1), 1))
			return 0;
		if (++*spins > budget)
			return -1;
		chronon__arch_cpu_relax();
	}
}

/* Reads the page's counter, then its guard word (page.h, ctl): 0 when the
 * guard moved, or the counter cannot be read here.  Only an in-process
 * page (own_process) may name a counter by function pointer: in a shared
 * page that pointer would come from another address space, or from
 * corruption. */
static inline __attribute__((always_inline)) int chronon__page_counter(const struct chronon__page *pg, uint64_t ctl,
					int own_process, uint64_t *c)
{
	uint32_t id = CHRONON__CTL_ID(ctl);
	const _Atomic uint32_t *guard;
	if (__builtin_expect(id == CHRONON__CTR_ARCH, 1)) {
		*c = chronon__arch_counter_read_v(CHRONON__CTL_VARIANT(ctl));
		guard = atomic_load_explicit(&chronon__arch_guard, memory_order_relaxed);
	} else {
		const struct chronon__counter *fn =
			own_process ? atomic_load_explicit(&pg->fn_counter, memory_order_relaxed) : NULL;
		if (id != CHRONON__CTR_FN || !fn)
			return 0;
		*c = fn->read(CHRONON__CTL_VARIANT(ctl));
		guard = atomic_load_explicit(&pg->fn_guard, memory_order_relaxed);
		if (!guard)
			return CHRONON__CTL_GUARD(ctl) == 0;
	}
	return atomic_load_explicit(guard, memory_order_relaxed) == CHRONON__CTL_GUARD(ctl);
}

/*
 * The reader.  Every field is loaded relaxed inside the loop (a torn or
 * stale value is harmless there because the sequence check discards it),
 * the counter is read last, and the arithmetic happens only after the
 * snapshot is known to be whole.
 */
static CHRONON__ALWAYS_INLINE int chronon__page_read_from(const struct chronon__page *pg,
							  enum chronon__ck ck, int own_process,
							  int clamp, unsigned budget, int64_t *out)
{
	if ((unsigned)ck >= CHRONON__CK_COUNT)
		return CHRONON__READ_SLOW;
	const struct chronon__scale *sc = ck == CHRONON__CK_RAW ? &pg->raw : &pg->mono;
	uint32_t seq, shift;
	uint64_t ctl, last, mask, valid, back, mult, frac, c;
	int64_t base, off;
	unsigned spins = 0;

	for (;;) {
		if (chronon__seq_begin_wait(pg, &spins, budget, &seq) != 0)
			return CHRONON__READ_SLOW;
		ctl = atomic_load_explicit(&pg->ctl, memory_order_relaxed);
		if (CHRONON__CTL_MODE(ctl) != CHRONON__PAGE_COUNTER)
			return CHRONON__READ_SLOW;
		/* The counter first, as Linux's vDSO does: its ordering then
		 * waits only on the two loads above, and the loads below run
		 * in the shadow of its latency. */
		if (__builtin_expect(!chronon__page_counter(pg, ctl, own_process, &c), 0))
			return CHRONON__READ_SLOW;
		shift = CHRONON__CTL_SHIFT(ctl);
		last = atomic_load_explicit(&pg->cycle_last, memory_order_relaxed);
		mask = atomic_load_explicit(&pg->mask, memory_order_relaxed);
		valid = atomic_load_explicit(&pg->valid_cycles, memory_order_relaxed);
		back = clamp ? atomic_load_explicit(&pg->back_cycles, memory_order_relaxed) : 0;
		mult = atomic_load_explicit(&sc->mult, memory_order_relaxed);
		frac = atomic_load_explicit(&sc->base_frac, memory_order_relaxed);
		base = atomic_load_explicit(&sc->base_ns, memory_order_relaxed);
		off = atomic_load_explicit(&pg->off[ck], memory_order_relaxed);
		if (__builtin_expect(!chronon__seq_retry(pg, seq), 1))
			break;
		if (++spins > budget)
			return CHRONON__READ_SLOW;
	}

	uint64_t delta = (c - last) & mask;
	/* Beyond the window: a long idle, a counter reset by suspend, or
	 * just a read a few ticks behind the base (another CPU's counter,
	 * or one that raced a re-base).  The fast path leaves them all to
	 * the slow path, which reads again with clamp set: a read just
	 * behind is then clamped to the base rather than going back
	 * (rule 4); the rest are the timekeeper's to judge. */
	if (__builtin_expect(delta > valid, 0)) {
		if (!clamp || delta < mask - back)
			return CHRONON__READ_SLOW;
		delta = 0;
	}
	/* x86 masks a shift count to 6 bits anyway: the mask costs nothing
	 * and keeps a corrupted shift from being undefined behaviour. */
	*out = (int64_t)((uint64_t)base + ((frac + delta * mult) >> (shift & 63)) + (uint64_t)off);
	return CHRONON__READ_OK;
}

/*
 * The slow path's last resort while another thread re-bases: the most the
 * snapshot's line can have handed out by now, its value at the counter's
 * value clamped to the end of its validity window.  *expired says the
 * clamp was needed (the caller then remembers its answer as a floor);
 * *seq_out is the count the snapshot was read under.  SLOW when no whole snapshot can be had, or the counter
 * went backwards (a reset).
 */
static inline int chronon__page_extrapolate(const struct chronon__page *pg, enum chronon__ck ck,
					    int64_t *out, int *expired, uint32_t *seq_out)
{
	if ((unsigned)ck >= CHRONON__CK_COUNT)
		return CHRONON__READ_SLOW;
	const struct chronon__scale *sc = ck == CHRONON__CK_RAW ? &pg->raw : &pg->mono;
	for (unsigned spins = 0; spins < CHRONON__SEQ_SPINS_BRIEF; spins++) {
		uint32_t seq = chronon__seq_begin_sc(pg);
		if (seq & 1) {
			chronon__arch_cpu_relax();
			continue;
		}
		uint64_t ctl = atomic_load_explicit(&pg->ctl, memory_order_relaxed), c;
		if (CHRONON__CTL_MODE(ctl) != CHRONON__PAGE_COUNTER ||
		    !chronon__page_counter(pg, ctl, 1, &c))
			return CHRONON__READ_SLOW;
		uint64_t last = atomic_load_explicit(&pg->cycle_last, memory_order_relaxed);
		uint64_t mask = atomic_load_explicit(&pg->mask, memory_order_relaxed);
		uint64_t valid = atomic_load_explicit(&pg->valid_cycles, memory_order_relaxed);
		uint64_t back = atomic_load_explicit(&pg->back_cycles, memory_order_relaxed);
		uint64_t mult = atomic_load_explicit(&sc->mult, memory_order_relaxed);
		uint64_t frac = atomic_load_explicit(&sc->base_frac, memory_order_relaxed);
		int64_t base = atomic_load_explicit(&sc->base_ns, memory_order_relaxed);
		int64_t off = atomic_load_explicit(&pg->off[ck], memory_order_relaxed);
		if (chronon__seq_retry(pg, seq))
			continue;
		uint64_t delta = (c - last) & mask;
		if (delta > mask - (mask >> 3)) {
			if (delta < mask - back)
				return CHRONON__READ_SLOW; /* a counter reset */
			delta = 0;
		}
		*expired = delta > valid;
		if (*expired)
			delta = valid;
		unsigned __int128 p = (unsigned __int128)delta * mult + frac;
		*out = (int64_t)((uint64_t)base + (uint64_t)(p >> (CHRONON__CTL_SHIFT(ctl) & 63)) +
				 (uint64_t)off);
		*seq_out = seq;
		return CHRONON__READ_OK;
	}
	return CHRONON__READ_SLOW;
}

/* The process's own page. */
static CHRONON__ALWAYS_INLINE int chronon__page_read(const struct chronon__page *pg,
						     enum chronon__ck ck, int64_t *out)
{
	return chronon__page_read_from(pg, ck, 1, 0, CHRONON__SEQ_SPINS, out);
}

struct chronon__ntp_snap;
static CHRONON__ALWAYS_INLINE void chronon__page_ntp_load(const struct chronon__page *pg,
							  enum chronon__ck ck,
							  struct chronon__ntp_snap *n);

/* The fast read, and with n the NTP fields of the same snapshot too
 * (bound.c): loaded after the counter read, in the shadow of its
 * latency.  n is a constant NULL for the plain read, so that code
 * vanishes there. */
static CHRONON__ALWAYS_INLINE int chronon__page_read_fast_ntp(const struct chronon__page *pg,
							      enum chronon__ck ck, int64_t *out,
							      struct chronon__ntp_snap *n,
							      int64_t *since_out,
							      struct timespec *ts)
{
	const struct chronon__scale *sc = ck == CHRONON__CK_RAW ? &pg->raw : &pg->mono;
	uint32_t seq = chronon__seq_begin(pg);
	uint64_t ctl = atomic_load_explicit(&pg->ctl, memory_order_relaxed);
	/* even seq, counter mode and the arch counter, in one test */
	if (__builtin_expect(((seq & 1) | ((ctl & 0xffff) ^ (CHRONON__PAGE_COUNTER |
							     CHRONON__CTR_ARCH << 8))) != 0,
			     0))
		return CHRONON__READ_SLOW;
	uint64_t c = chronon__arch_counter_read_v(CHRONON__CTL_VARIANT(ctl));
	/* The guard after the counter (ctl above): a host that changed the
	 * counter's scale did so in a VM exit, and the guest resumes with the
	 * page already updated, so a counter value read under the new scale
	 * is always followed by a load that sees the new guard. */
	uint32_t guard = atomic_load_explicit(
		atomic_load_explicit(&chronon__arch_guard, memory_order_relaxed), memory_order_relaxed);
	uint64_t last = atomic_load_explicit(&pg->cycle_last, memory_order_relaxed);
	uint64_t mask = atomic_load_explicit(&pg->mask, memory_order_relaxed);
	uint64_t valid = atomic_load_explicit(&pg->valid_cycles, memory_order_relaxed);
	uint64_t mult = atomic_load_explicit(&sc->mult, memory_order_relaxed);
	uint64_t frac = atomic_load_explicit(&sc->base_frac, memory_order_relaxed);
	int64_t base = 0, off = 0, sec = 0, nsec = 0;
	if (ts) {
		sec = atomic_load_explicit(&pg->sec[ck], memory_order_relaxed);
		nsec = atomic_load_explicit(&pg->nsec[ck], memory_order_relaxed);
	} else {
		base = atomic_load_explicit(&sc->base_ns, memory_order_relaxed);
		off = atomic_load_explicit(&pg->off[ck], memory_order_relaxed);
	}
	if (n)
		chronon__page_ntp_load(pg, ck, n);
	uint32_t torn = chronon__seq_retry(pg, seq);
	uint64_t delta = (c - last) & mask;
	/* One test for a writer that came by and a host that rewrote its
	 * page, then one for the window. */
	if (__builtin_expect((torn | (guard ^ CHRONON__CTL_GUARD(ctl))) != 0 || delta > valid, 0))
		return CHRONON__READ_SLOW;
	/* x86 masks a shift count to 6 bits anyway: the mask costs nothing
	 * and keeps a corrupted shift from being undefined behaviour. */
	uint64_t since = (frac + delta * mult) >> (CHRONON__CTL_SHIFT(ctl) & 63);
	if (since_out)
		*since_out = (int64_t)since;
	if (ts) {
		/* Unsigned: a corrupted nsec fails the test, it cannot loop. */
		uint64_t ns = (uint64_t)nsec + since;
		if (__builtin_expect(ns >= (uint64_t)CHRONON__NS, 0)) {
			ns -= (uint64_t)CHRONON__NS;
			sec++;
			if (ns >= (uint64_t)CHRONON__NS)
				return CHRONON__READ_SLOW;
		}
		ts->tv_sec = (time_t)sec;
		ts->tv_nsec = (long)ns;
		return CHRONON__READ_OK;
	}
	*out = (int64_t)((uint64_t)base + since + (uint64_t)off);
	return CHRONON__READ_OK;
}

/*
 * The public API's fast path: one attempt, the arch counter only.  A
 * writer at work, another counter, a delta out of the window: all go to
 * the slow path, which loops, spins and clamps.  With no loop and no call
 * the compiler needs no saved registers, which is a third of the cost of
 * the read beyond the counter instruction itself.
 */
static CHRONON__ALWAYS_INLINE int chronon__page_read_fast(const struct chronon__page *pg,
							  enum chronon__ck ck, int64_t *out)
{
	return chronon__page_read_fast_ntp(pg, ck, out, NULL, NULL, NULL);
}

/* The same into a timespec, from the split bases: no division. */
static CHRONON__ALWAYS_INLINE int chronon__page_read_fast_ts(const struct chronon__page *pg,
							     enum chronon__ck ck, struct timespec *ts)
{
	int64_t unused;
	return chronon__page_read_fast_ntp(pg, ck, &unused, NULL, NULL, ts);
}

/* The writer's side of the split; the caller holds the count odd. */
static inline void chronon__page_split(struct chronon__page *pg)
{
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++) {
		const struct chronon__scale *sc = ck == CHRONON__CK_RAW ? &pg->raw : &pg->mono;
		int64_t t = (int64_t)((uint64_t)atomic_load_explicit(&sc->base_ns, memory_order_relaxed) +
				      (uint64_t)atomic_load_explicit(&pg->off[ck], memory_order_relaxed));
		int64_t s = t / CHRONON__NS, r = t % CHRONON__NS;
		if (r < 0) {
			r += CHRONON__NS;
			s--;
		}
		atomic_store_explicit(&pg->sec[ck], s, memory_order_relaxed);
		atomic_store_explicit(&pg->nsec[ck], r, memory_order_relaxed);
	}
}

/* The same, clamping a read just behind the base: the in-process slow
 * path's first try.  It spins only briefly on a writer: the writer may be
 * this very thread, interrupted by the signal handler now reading, and
 * the slow path finds that out from the lock before it waits any longer. */
static inline int chronon__page_read_clamped(const struct chronon__page *pg, enum chronon__ck ck,
					     int64_t *out)
{
	return chronon__page_read_from(pg, ck, 1, 1, CHRONON__SEQ_SPINS_BRIEF, out);
}

/* A page mapped from another process (chronond): counters by id only. */
static CHRONON__ALWAYS_INLINE int chronon__page_read_shared(const struct chronon__page *pg,
							    enum chronon__ck ck, int64_t *out)
{
	return chronon__page_read_from(pg, ck, 0, 1, CHRONON__SEQ_SPINS, out);
}

/* One consistent copy of the page's NTP fields, with the offset of
 * clock ck. */
struct chronon__ntp_snap {
	uint64_t info, flags;
	int64_t esterror_ns, ref_mono_ns, kernel_ns, track_ns;
	int64_t off;
};

static CHRONON__ALWAYS_INLINE void chronon__page_ntp_load(const struct chronon__page *pg,
							  enum chronon__ck ck,
							  struct chronon__ntp_snap *n)
{
	const struct chronon__page_ntp *p = &pg->ntp;
	n->info = atomic_load_explicit(&p->info, memory_order_relaxed);
	n->flags = atomic_load_explicit(&p->flags, memory_order_relaxed);
	n->esterror_ns = atomic_load_explicit(&p->esterror_ns, memory_order_relaxed);
	n->ref_mono_ns = atomic_load_explicit(&p->ref_mono_ns, memory_order_relaxed);
	n->kernel_ns = atomic_load_explicit(&p->kernel_ns, memory_order_relaxed);
	n->track_ns = atomic_load_explicit(&p->track_ns, memory_order_relaxed);
	n->off = atomic_load_explicit(&pg->off[ck], memory_order_relaxed);
}

/*
 * Clock ck and the NTP fields from one snapshot: the sequence count taken
 * before the time read must still stand after the NTP loads, so no writer
 * ran in between.  The NTP loads come after the time read, in the shadow
 * of the counter's latency.  Returns CHRONON__READ_SLOW, with *n unset,
 * when the time must come from the slow path or the writer is stuck; ck
 * must be a valid clock.
 */
static inline int chronon__page_read_ntp(const struct chronon__page *pg, enum chronon__ck ck,
					 int own_process, int64_t *out, struct chronon__ntp_snap *n)
{
	unsigned spins = 0;
	for (;;) {
		uint32_t seq;
		if (chronon__seq_begin_wait(pg, &spins, CHRONON__SEQ_SPINS, &seq) != 0)
			return CHRONON__READ_SLOW;
		if (chronon__page_read_from(pg, ck, own_process, 1, CHRONON__SEQ_SPINS, out) !=
		    CHRONON__READ_OK)
			return CHRONON__READ_SLOW;
		chronon__page_ntp_load(pg, ck, n);
		if (__builtin_expect(!chronon__seq_retry(pg, seq), 1))
			return CHRONON__READ_OK;
		if (++spins > CHRONON__SEQ_SPINS)
			return CHRONON__READ_SLOW;
	}
}

/* The NTP fields alone (after a slow-path read): 0, or -1 when the
 * writer is stuck. */
static inline int chronon__page_ntp_snapshot(const struct chronon__page *pg, enum chronon__ck ck,
					     struct chronon__ntp_snap *n)
{
	unsigned spins = 0;
	for (;;) {
		uint32_t seq;
		if (chronon__seq_begin_wait(pg, &spins, CHRONON__SEQ_SPINS, &seq) != 0)
			return -1;
		chronon__page_ntp_load(pg, ck, n);
		if (!chronon__seq_retry(pg, seq))
			return 0;
		if (++spins > CHRONON__SEQ_SPINS)
			return -1;
	}
}

/* The writer's side: one writer at a time, serialised by the caller. */
static inline void chronon__page_write_begin(struct chronon__page *pg)
{
	uint32_t s = atomic_load_explicit(&pg->seq, memory_order_relaxed);
	/* A page left odd (a writer died mid-update, or fork copied it
	 * mid-update) stays odd: the rewrite that follows makes it whole. */
	if (!(s & 1))
		atomic_store_explicit(&pg->seq, s + 1, memory_order_relaxed);
	/* Two jobs.  The odd count must be visible before any field
	 * changes: the release fence does that in C11's terms (a reader that
	 * loads a new field re-loads seq after its acquire fence and finds
	 * it odd; arm64: DMB ISH).  And the writer's next step reads the
	 * pivot (rule 5, tk_publish.c), which must be later than the moment
	 * every CPU can see the odd count: a reader whose counter value lies
	 * beyond the pivot must fail its re-check, or it extends the old
	 * line past the point where the new one starts with another rate.
	 * A store can linger in the store buffer past a later counter read
	 * on x86 and arm64 alike, so the drain waits for it: a full barrier
	 * on x86 (MFENCE or a locked instruction; Intel documents
	 * MFENCE;LFENCE;RDTSC for "after every earlier store is globally
	 * visible"), DSB ISH on arm64, where a DMB orders memory accesses
	 * only and not the MRS.  Writers are rare: tens of ns are nothing. */
	atomic_thread_fence(memory_order_release);
	chronon__arch_drain_stores();
}

static inline void chronon__page_write_end(struct chronon__page *pg)
{
	uint32_t s = atomic_load_explicit(&pg->seq, memory_order_relaxed);
	/* Release (arm64: STLR; x86: a plain store, stores are not
	 * reordered with stores): every field store is visible before the
	 * even count, so a reader whose acquire load sees it sees them all. */
	atomic_store_explicit(&pg->seq, s + 1, memory_order_release);
}

#endif
