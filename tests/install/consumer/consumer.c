/*
 * A user's program: reads chronon's clocks and checks them against the
 * kernel's, and that chronon came from where it should (the installed
 * libchronon.so under PREFIX, or linked in when built static).
 *   consumer PREFIX
 */
#define _GNU_SOURCE
#include <chronon.h>

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long kernel_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: consumer PREFIX\n");
		return 2;
	}
	int fail = 0;
	Dl_info info;
	char exe[PATH_MAX], lib[PATH_MAX], prefix[PATH_MAX];
	if (!dladdr((void *)chronon_now_ns, &info) || !realpath(info.dli_fname, lib) ||
	    !realpath("/proc/self/exe", exe) || !realpath(argv[1], prefix)) {
		fprintf(stderr, "consumer: cannot find where chronon_now_ns lives\n");
		return 1;
	}
#ifdef CONSUMER_STATIC
	if (strcmp(lib, exe) != 0) {
		printf("FAIL: chronon_now_ns is in %s, not linked into %s\n", lib, exe);
		fail = 1;
	}
#else
	if (strncmp(lib, prefix, strlen(prefix)) != 0 || !strstr(lib, "/libchronon.so")) {
		printf("FAIL: chronon_now_ns comes from %s, not a libchronon.so under %s\n", lib, prefix);
		fail = 1;
	}
#endif
	printf("chronon_now_ns from %s\n", lib);

	static const clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_TAI};
	for (int round = 0; round < 1000; round++) {
		for (size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
			long long a = kernel_ns(clocks[i]);
			long long c = chronon_now_ns(clocks[i]);
			long long b = kernel_ns(clocks[i]);
			/* chronon is within 1 us of the kernel; a wrong clock is
			 * off by far more than this allowance for a preempted vCPU. */
			if (c < a - 2000000 || c > b + 2000000) {
				printf("FAIL: clock %d: chronon %lld outside the kernel's [%lld, %lld]\n",
				       (int)clocks[i], c, a, b);
				return 1;
			}
		}
	}
	struct timespec ts;
	if (chronon_gettime(CLOCK_MONOTONIC, &ts) != 0 || chronon_getres(CLOCK_MONOTONIC, NULL) != 0) {
		printf("FAIL: chronon_gettime or chronon_getres failed\n");
		fail = 1;
	}
	struct chronon_status st;
	if (chronon_status(&st) != 0) {
		printf("FAIL: chronon_status\n");
		fail = 1;
	} else {
		printf("counter %s, mode %s\n", st.counter, st.mode_name);
	}
	printf("%s\n", fail ? "FAILED" : "consumer ok");
	return fail;
}
