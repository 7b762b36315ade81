/*
 * Precise sleep (src/sleep.c).
 *
 * The public API is in include/chronon.h; these are the internals that
 * the tests and the benchmark use.
 */
#ifndef CHRONON_SLEEP_H
#define CHRONON_SLEEP_H

#include <stdint.h>
#include <time.h>

#include "chronon.h"


/* ---- internals (tests and bench link chronon_static and may use these) ---- */

#define CHRONON__SLEEP_MARGIN_CLASSES 3

/* What this thread's sleeps have learned and cost so far. */
struct chronon__sleep_stats {
	int64_t margin_ns[CHRONON__SLEEP_MARGIN_CLASSES]; /* per class of kernel-part
	                          * length (<1 ms, <8 ms, longer); 0 before used */
	uint64_t sleeps;          /* sleeps that ran the algorithm */
	uint64_t kernel_sleeps;   /* kernel parts that slept */
	uint64_t misses;          /* kernel wake-ups later than the margin */
	int64_t spin_ns;          /* total time spent spinning */
};

void chronon__sleep_stats(struct chronon__sleep_stats *out);
/* Tests: force this thread's margin for a class (clamped to the bounds). */
void chronon__sleep_set_margin(int cls, int64_t ns);

#define CHRONON__SLEEP_MARGIN_MIN_NS 2000LL
#define CHRONON__SLEEP_MARGIN_MAX_NS 1000000LL
#define CHRONON__SLEEP_MARGIN_INIT_NS 50000LL
#define CHRONON__SLEEP_DEFAULT_SPIN_NS 200000LL

#endif
