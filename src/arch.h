/*
 * The platform contract.  Portable code (page.h, timekeeper.c, clock.c,
 * sleep.c) names no CPU: it calls only what is listed here, and each
 * architecture supplies it in arch/<cpu>.h, as Linux's vDSO asks each
 * architecture for __arch_get_hw_counter() and friends.
 *
 *   CHRONON_ARCH_HAS_COUNTER        1 when the CPU has a user-readable counter
 *   CHRONON_ARCH_COUNTER_NAME       its name in the registry ("tsc", "cntvct")
 *   uint64_t chronon__arch_counter_read(void)
 *                                   an ordered read: it cannot be executed
 *                                   before loads that precede it in program
 *                                   order (rule 2, doc/DESIGN.md), so a reader
 *                                   that saw the page's sequence count can
 *                                   never read a counter value from before it
 *   CHRONON_ARCH_READ_VARIANTS       how many ordered-read sequences exist
 *   uint64_t chronon__arch_counter_read_v(unsigned v)
 *                                   ordered read with sequence v (the
 *                                   timekeeper measures them and keeps the
 *                                   cheapest)
 *   CHRONON_ARCH_READ_RELAXED        the unordered variant, or -1 (optional)
 *   CHRONON_ARCH_VARIANT_NAMES       their names, for status (optional)
 *   uint64_t chronon__arch_counter_read_unordered(void)
 *                                   the bare instruction, for benchmarks only
 *   void chronon__arch_cpu_relax(void)
 *                                   spin-wait hint (pause / yield)
 *   void chronon__arch_drain_stores(void)
 *                                   returns once every earlier store is
 *                                   visible to all CPUs, so that a counter
 *                                   read after it is later than them (the
 *                                   writer's pivot, page.h); an arch header
 *                                   that defines CHRONON_ARCH_HAS_DRAIN
 *                                   supplies its own, else a sequentially
 *                                   consistent fence serves (x86: MFENCE
 *                                   or a locked instruction, which drain
 *                                   the store buffer; Intel documents
 *                                   MFENCE;LFENCE;RDTSC for exactly this)
 *   const struct chronon__counter *chronon__counter_arch(void)
 *                                   the registry entry (counter/<cpu>.c), or
 *                                   NULL; declared in counter.h
 */
#ifndef CHRONON_ARCH_H
#define CHRONON_ARCH_H

#include <stdint.h>

#if defined(__x86_64__)
#include "arch/x86_64.h"
#elif defined(__aarch64__)
#include "arch/aarch64.h"
#else
#include "arch/generic.h"
#endif

#ifndef CHRONON_ARCH_HAS_DRAIN
#include <stdatomic.h>
static inline void chronon__arch_drain_stores(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}
#endif

/* Defaults for what an architecture need not provide. */
#ifndef CHRONON_ARCH_READ_RELAXED
#define CHRONON_ARCH_READ_RELAXED (-1) /* no unordered variant */
#endif
#ifndef CHRONON_ARCH_VARIANT_NAMES
#define CHRONON_ARCH_VARIANT_NAMES {"ordered", "ordered (alternative)"}
#endif

#endif
