/*
 * The consistency test, in the spirit of the kernel's timers selftests
 * (inconsistency-check): an unmodified multithreaded program
 * (tests/preload/prog consistency) reads every served clock through libc,
 * interleaved, in several threads, under the preload.  No clock may go
 * backwards within a thread or across threads; every value must lie in
 * the bracket of two kernel system calls widened by the bound (the coarse
 * clocks, which the kernel answers, exactly in their own); REALTIME,
 * TAI and BOOTTIME must stay at MONOTONIC plus the kernel's offsets.
 *
 *   test_preload_consistency [--seconds S] [--threads N] [--bound-ns B]
 *
 * 20 s and 4 threads by default (ctest); run it for minutes by hand.
 * A 1 s run without the preload and with a zero bound checks the checker:
 * the kernel must pass it exactly.
 */
#include <stdio.h>
#include <string.h>

#include "run.h"

static struct pl_run r;

int main(int argc, char **argv)
{
	const char *seconds = "20", *threads = "4", *bound = "10000";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seconds") == 0)
			seconds = argv[i + 1];
		else if (strcmp(argv[i], "--threads") == 0)
			threads = argv[i + 1];
		else if (strcmp(argv[i], "--bound-ns") == 0)
			bound = argv[i + 1];
	}
	if (argc % 2 == 0) {
		printf("usage: %s [--seconds S] [--threads N] [--bound-ns B]\n", argv[0]);
		return 2;
	}

	char *control[] = {CHRONON_PL_PROG, "consistency", "--seconds", "1", "--threads", (char *)threads,
			   "--bound-ns", "0", NULL};
	if (pl_run(&r, control, 0, NULL) != 0 || (r.status != 0 && r.status != 77)) {
		printf("FAIL: the kernel itself fails the checker (status %d):\n%s", r.status, r.out);
		return 1;
	}
	printf("control run, kernel only, bound 0:\n%s", r.out);

	char trace[128], tenv[160];
	pl_trace_path(trace, sizeof trace, "cons");
	snprintf(tenv, sizeof tenv, "CHRONON_PRELOAD_TRACE=%s", trace);
	const char *env[] = {tenv, "CHRONON_PRELOAD", NULL};
	char *run[] = {CHRONON_PL_PROG, "consistency", "--seconds", (char *)seconds, "--threads",
		       (char *)threads, "--bound-ns", (char *)bound, NULL};
	if (pl_run(&r, run, 1, env) != 0) {
		printf("FAIL: could not run %s\n", CHRONON_PL_PROG);
		return 1;
	}
	printf("preloaded run:\n%s", r.out);
	struct pl_trace t;
	int traced = pl_trace_read(trace, &t) == 0;
	if (r.status == 77) {
		printf("SKIP: the kernel's clock offsets moved during the run (see above)\n");
		return 77;
	}
	long long calls = pl_value(r.out, "libc_calls");
	if (!traced || t.on != 1 || calls <= 0 || t.served < (unsigned long long)calls) {
		printf("FAIL: the preload did not answer the calls: served %llu, libc calls %lld\n",
		       (unsigned long long)t.served, calls);
		return 1;
	}
	printf("served by chronon: %llu (libc calls %lld), chronon mode at exit: %s\n",
	       (unsigned long long)t.served, calls, t.mode);
	return r.status == 0 ? 0 : 1;
}
