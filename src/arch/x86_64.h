/* x86-64 side of the platform contract (see ../arch.h). */
#ifndef CHRONON_ARCH_X86_64_H
#define CHRONON_ARCH_X86_64_H

#include <stdint.h>

#define CHRONON_ARCH_HAS_COUNTER 1
#define CHRONON_ARCH_COUNTER_NAME "tsc"

/*
 * lfence waits for every earlier instruction to complete locally before
 * rdtsc starts, so the counter is read after the page's sequence count
 * (and after any timestamp another thread published and we loaded): a
 * time read causally after another is never smaller.  On Intel lfence is
 * dispatch-serialising; on AMD it is once the kernel sets
 * MSR_AMD64_DE_CFG[1], which every kernel since 4.15 does.  rdtscp orders
 * only against earlier loads' completion too but is slower on this
 * development VM (24-28 vs 25-33 ns back to back, and rdtscp also
 * writes ecx), and bench/ measures both.
 */
static inline uint64_t chronon__arch_counter_read(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t chronon__arch_counter_read_rdtscp(void)
{
	uint32_t lo, hi, aux;
	__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
	(void)aux;
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t chronon__arch_counter_read_unordered(void);

/* Variant 0 is lfence;rdtsc, variant 1 rdtscp: which is cheaper differs
 * between CPUs, so the timekeeper times both and the page records the
 * winner.  Variant 2, plain rdtsc, is never chosen by timing: only by
 * CHRONON_ORDER=relaxed, for programs that accept what abseil and tscns
 * give (see README, "ordering"). */
#define CHRONON_ARCH_READ_VARIANTS 2
#define CHRONON_ARCH_READ_RELAXED 2
#define CHRONON_ARCH_VARIANT_NAMES {"lfence;rdtsc", "rdtscp", "rdtsc (relaxed)"}
static inline uint64_t chronon__arch_counter_read_v(unsigned variant)
{
	if (__builtin_expect(variant == 0, 1))
		return chronon__arch_counter_read();
	if (variant == 1)
		return chronon__arch_counter_read_rdtscp();
	return chronon__arch_counter_read_unordered();
}

static inline uint64_t chronon__arch_counter_read_unordered(void)
{
	uint32_t lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void chronon__arch_cpu_relax(void)
{
	__asm__ __volatile__("pause" ::: "memory");
}

#endif
