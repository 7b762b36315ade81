/* Nanoseconds per second: the one spelling of 10^9 in the tree (a rate in
 * Hz converts with (double)CHRONON__NS), and the one conversion of ns to
 * a timespec. */
#ifndef CHRONON_NS_H
#define CHRONON_NS_H

#include <stdint.h>
#include <time.h>

#define CHRONON__NS 1000000000LL

/* Every served clock is non-negative (the kernel refuses to set REALTIME
 * before 1970), and unsigned division by a constant is a shorter chain
 * than the signed one; a negative value still gets the floor (tv_nsec in
 * [0, 10^9), as the kernel writes it). */
static inline __attribute__((always_inline)) void chronon__ns_to_timespec(int64_t ns,
									  struct timespec *ts)
{
	if (__builtin_expect(ns >= 0, 1)) {
		uint64_t s = (uint64_t)ns / (uint64_t)CHRONON__NS;
		ts->tv_sec = (time_t)s;
		ts->tv_nsec = (long)((uint64_t)ns - s * (uint64_t)CHRONON__NS);
		return;
	}
	int64_t s = ns / CHRONON__NS, r = ns % CHRONON__NS;
	if (r < 0) {
		r += CHRONON__NS;
		s--;
	}
	ts->tv_sec = (time_t)s;
	ts->tv_nsec = (long)r;
}

#endif
