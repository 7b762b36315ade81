/*
 * arm64 side of the platform contract (see ../arch.h): the generic
 * timer's virtual counter, CNTVCT_EL0, which Linux lets every process
 * read (it sets CNTKCTL_EL1.EL0VCTEN, or traps and emulates the read on
 * CPUs with a timer erratum).
 *
 * An MRS of the counter is not a memory access, so neither acquire loads
 * nor DMB barriers order it: the CPU may execute it early (speculatively)
 * or late relative to the page's loads.  Both directions matter to the
 * sequence-count reader in page.h:
 *
 *  - early: a counter value from before the seq load would be applied to
 *    a snapshot published after it, whose cycle_last may lie beyond the
 *    value; an ISB before the MRS makes the read wait until the earlier
 *    instructions (the seq load among them) are done, which the Arm ARM
 *    prescribes for exactly this ("read from memory, then the counter").
 *    CNTVCTSS_EL0 (FEAT_ECV) is the self-synchronised view that needs no
 *    ISB.
 *  - late: a counter value taken after the seq re-check could belong to
 *    the next snapshot's time while the loaded fields belong to this one
 *    (rule 5's pivot argument then no longer holds, and time can step
 *    back across CPUs).  The reader's acquire fence (DMB ISHLD) orders
 *    loads only, so after the MRS comes a dummy load whose address
 *    depends on the counter value: it cannot issue before the MRS has
 *    produced its value, and the fence orders it before the seq re-load.
 *    This is what Linux does after every counter read
 *    (arch_counter_enforce_ordering in arch/arm64/include/asm/barrier.h).
 *
 * So chronon__arch_counter_read() is ordered on both sides: after every
 * earlier load, and, together with the caller's acquire fence, before
 * every later one.
 */
#ifndef CHRONON_ARCH_AARCH64_H
#define CHRONON_ARCH_AARCH64_H

#include <stdint.h>

#define CHRONON_ARCH_HAS_COUNTER 1
#define CHRONON_ARCH_COUNTER_NAME "cntvct"

/* Loads from the stack at sp + (c ^ c): always sp itself, but the CPU
 * cannot know the address before c exists.  The result goes to xzr.  The
 * memory clobber keeps the compiler from moving the seq re-load above it. */
static inline void chronon__arch_after_counter(uint64_t c)
{
	uint64_t tmp;
	__asm__ __volatile__("eor %0, %1, %1\n\t"
			     "add %0, sp, %0\n\t"
			     "ldr xzr, [%0]"
			     : "=&r"(tmp)
			     : "r"(c)
			     : "memory");
}

/* Variant 0: ISB; MRS CNTVCT_EL0.  Every arm64 CPU has it. */
static inline uint64_t chronon__arch_counter_read(void)
{
	uint64_t c;
	__asm__ __volatile__("isb\n\tmrs %0, cntvct_el0" : "=r"(c) : : "memory");
	chronon__arch_after_counter(c);
	return c;
}

/* Variant 1: MRS CNTVCTSS_EL0 (FEAT_ECV, ARMv8.6), spelled by its encoding
 * so that assemblers predating the name accept it.  It faults (SIGILL) on
 * CPUs without ECV: the probe offers it only when the kernel says
 * HWCAP2_ECV. */
static inline uint64_t chronon__arch_counter_read_ss(void)
{
	uint64_t c;
	__asm__ __volatile__("mrs %0, s3_3_c14_c0_6" : "=r"(c) : : "memory");
	chronon__arch_after_counter(c);
	return c;
}

static inline uint64_t chronon__arch_counter_read_unordered(void)
{
	uint64_t c;
	__asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(c));
	return c;
}

/* The timekeeper times the variants the probe offers (read_variants) and
 * the page records the cheaper; variant 1 is offered only with ECV.
 * Variant 2, the bare MRS, only by CHRONON_ORDER=relaxed. */
#define CHRONON_ARCH_READ_VARIANTS 2
#define CHRONON_ARCH_READ_RELAXED 2
#define CHRONON_ARCH_VARIANT_NAMES {"isb;mrs cntvct", "mrs cntvctss", "mrs cntvct (relaxed)"}
/* Set by the probe (counter/cntvct.c) when the kernel says HWCAP2_ECV.
 * The variant comes from the page, which may be another process's or
 * corrupted: variant 1 without ECV would be SIGILL, so it falls back to
 * variant 0, as does any unknown number. */
extern int chronon__aarch64_ecv;
static inline uint64_t chronon__arch_counter_read_v(unsigned variant)
{
	if (__builtin_expect(variant == 0, 1))
		return chronon__arch_counter_read();
	if (variant == 1 && __atomic_load_n(&chronon__aarch64_ecv, __ATOMIC_RELAXED))
		return chronon__arch_counter_read_ss();
	if (variant == CHRONON_ARCH_READ_RELAXED)
		return chronon__arch_counter_read_unordered();
	return chronon__arch_counter_read();
}

/* The frequency register: what firmware wrote at boot, in Hz.  Readable
 * wherever the counter is (the kernel emulates it where it traps). */
static inline uint64_t chronon__arch_counter_freq(void)
{
	uint64_t f;
	__asm__ __volatile__("mrs %0, cntfrq_el0" : "=r"(f));
	return f & 0xffffffffu; /* the upper 32 bits are RES0 */
}

/* DSB, not DMB: a DMB orders memory accesses among themselves and says
 * nothing about the MRS of the counter that follows; a DSB completes only
 * once the earlier stores are observable by every CPU, and the ISB of the
 * counter read then keeps the MRS after it. */
#define CHRONON_ARCH_HAS_DRAIN 1
static inline void chronon__arch_drain_stores(void)
{
	__asm__ __volatile__("dsb ish" ::: "memory");
}

/*
 * Spin-wait hint.  YIELD is a NOP on most Arm cores (the Neoverse and
 * Cortex-A7x families among them), so a loop of it hammers the line it
 * polls; ISB stalls the pipeline for a few tens of cycles, which is the
 * pause a waiter wants.
 */
static inline void chronon__arch_cpu_relax(void)
{
	__asm__ __volatile__("isb" ::: "memory");
}

#endif
