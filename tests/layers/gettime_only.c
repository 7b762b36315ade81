/* A program that reads one clock and nothing else: what it links from
 * libchronon.a is the read path and its slow path, never precise sleep or
 * bounded time (tests/layers/gettime_only.sh checks the link map). */
#include <stdio.h>

#include "chronon.h"

int main(void)
{
	struct timespec ts;
	if (chronon_gettime(CLOCK_MONOTONIC, &ts) != 0 || chronon_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("chronon_gettime");
		return 1;
	}
	printf("%lld.%09ld\n", (long long)ts.tv_sec, ts.tv_nsec);
	return 0;
}
