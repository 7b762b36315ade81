/*
 * When the shim starts answering from chronon.
 *
 * Until the constructor below has finished, every call takes the real
 * path: other libraries' constructors, IFUNC resolvers and the loader may
 * call the clock before chronon could start, and chronon's start-up
 * (reading the environment, probing the counter, maybe opening files)
 * must run in an ordinary context, never inside a signal handler or an
 * allocator that happened to ask for the time.  The constructor runs it
 * once by asking chronon for the time, then throws the switch with a
 * release store; the clock functions read it with one acquire load.
 *
 * The first chronon answer comes from the kernel (chronon starts by
 * serving the kernel's time while it measures the counter), so switching
 * from the real path to chronon cannot make time jump.
 */
#include <stddef.h>
#include <stdlib.h>

#include "chronon.h"
#include "preload.h"

_Atomic int chronon__pl_state = CHRONON__PL_UNSET;

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ASCII only: the locale is not set up yet, and must not matter. */
static int same_word(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower(*a) != lower(*b))
			return 0;
	return *a == *b;
}

int chronon__pl_env_is_off(const char *value)
{
	static const char *const off[] = {"off", "0", "no", "false"};
	if (!value)
		return 0;
	for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
		if (same_word(value, off[i]))
			return 1;
	return 0;
}

__attribute__((constructor)) static void chronon__pl_start(void)
{
	chronon__pl_real_init();
	const char *trace = getenv("CHRONON_PRELOAD_TRACE");
	int tracing = trace && *trace && chronon__pl_trace_start(trace) == 0;
	int on = !chronon__pl_env_is_off(getenv("CHRONON_PRELOAD"));
	if (on) {
		/* chronon starts here, in the constructor's ordinary context:
		 * its first reads carry its start-up (the first is answered by
		 * the kernel, the next probes the counters and takes the first
		 * calibration sample).  Should it fail even for MONOTONIC, stay
		 * a pass-through. */
		struct timespec ts;
		on = chronon_gettime(CLOCK_MONOTONIC, &ts) == 0 &&
		     chronon_gettime(CLOCK_MONOTONIC, &ts) == 0;
	}
	int state = on ? (tracing ? CHRONON__PL_ON_TRACE : CHRONON__PL_ON)
		       : (tracing ? CHRONON__PL_OFF_TRACE : CHRONON__PL_OFF);
	atomic_store_explicit(&chronon__pl_state, state, memory_order_release);
}
