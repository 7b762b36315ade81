/*
 * The tracepoint provider of the LTTng tests and benchmark: provider
 * chronon_test, events tick (the end-to-end test) and bench.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER chronon_test

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "chronon_test_tp.h"

#if !defined(CHRONON_TEST_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define CHRONON_TEST_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

/* realtime_ns is the program's own clock_gettime(CLOCK_REALTIME), taken
 * just before the event: the test checks the trace's wall-clock
 * conversion against it. */
LTTNG_UST_TRACEPOINT_EVENT(chronon_test, tick,
	LTTNG_UST_TP_ARGS(uint64_t, seq, int64_t, realtime_ns),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, seq, seq)
		lttng_ust_field_integer(int64_t, realtime_ns, realtime_ns)))

LTTNG_UST_TRACEPOINT_EVENT(chronon_test, bench,
	LTTNG_UST_TP_ARGS(uint64_t, seq),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, seq, seq)))

#endif

#include <lttng/tracepoint-event.h>
