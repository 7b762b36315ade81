/* Platforms with no user-readable counter: the kernel clock serves. */
#ifndef CHRONON_ARCH_GENERIC_H
#define CHRONON_ARCH_GENERIC_H

#include <stdint.h>

#define CHRONON_ARCH_HAS_COUNTER 0
#define CHRONON_ARCH_COUNTER_NAME "none"

static inline uint64_t chronon__arch_counter_read(void) { return 0; }
#define CHRONON_ARCH_READ_VARIANTS 1
static inline uint64_t chronon__arch_counter_read_v(unsigned v) { (void)v; return 0; }
static inline uint64_t chronon__arch_counter_read_unordered(void) { return 0; }
static inline void chronon__arch_cpu_relax(void) { __asm__ __volatile__("" ::: "memory"); }

#endif
