/*
 * ns per traced LTTng-UST event: emits chronon_test:bench COUNT times
 * (default 10^6) and prints the mean cost of one.  The clock is whatever
 * LTTNG_UST_CLOCK_PLUGIN says; tests/lttng/bench.sh runs it with and
 * without libchronon-lttng.so in interleaved rounds against a snapshot
 * (overwrite mode, nothing written to disk) session.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chronon_test_tp.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned long count = 1000000;
	char *end;

	if (argc == 2) {
		errno = 0;
		count = strtoul(argv[1], &end, 10);
		if (errno || end == argv[1] || *end || count == 0)
			argc = 0;
	}
	if (argc > 2 || argc == 0) {
		fprintf(stderr, "usage: %s [COUNT > 0]\n", argv[0]);
		return 2;
	}
	if (!lttng_ust_tracepoint_enabled(chronon_test, bench)) {
		fprintf(stderr, "chronon_test:bench is not enabled in any session\n");
		return 1;
	}
	/* Warm the buffers and the caches so the first pages are not billed. */
	for (unsigned long i = 0; i < count / 10; i++)
		lttng_ust_tracepoint(chronon_test, bench, i);

	double t0 = now_ns();
	for (unsigned long i = 0; i < count; i++)
		lttng_ust_tracepoint(chronon_test, bench, i);
	double t1 = now_ns();

	printf("%.2f\n", (t1 - t0) / (double)count);
	return 0;
}
