/*
 * The traced program of the LTTng end-to-end test: emits chronon_test:tick
 * COUNT times (default 1000), each carrying its sequence number and the
 * CLOCK_REALTIME value read just before it.  Run with
 * LTTNG_UST_REGISTER_TIMEOUT=-1 so the session is attached before main().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chronon_test_tp.h"

static int parse_count(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return (errno || end == s || *end || *out == 0) ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long count = 1000;

	if (argc > 2 || (argc == 2 && parse_count(argv[1], &count) != 0)) {
		fprintf(stderr, "usage: %s [COUNT > 0]\n", argv[0]);
		return 2;
	}
	for (unsigned long i = 0; i < count; i++) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		lttng_ust_tracepoint(chronon_test, tick, i,
			(int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
	}
	return 0;
}
