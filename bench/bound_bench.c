/*
 * chronon-bound-bench: what a bounded read costs next to a plain one.
 *
 * chronon_now_bounded(CLOCK_REALTIME) against chronon_now_ns(CLOCK_REALTIME)
 * (and the vDSO's clock_gettime for scale), interleaved round by round so
 * that a noisy spell of the machine hits them all alike; the figure is the
 * median over rounds of ns per call, and the ratio is of the medians.
 * Target: bounded <= 1.3 x chronon_now_ns.
 *
 * Two runs.  "machine": the process's NTP state as the kernel has it (on
 * the development VM unsynchronised, which takes the infinite-interval
 * branch).  "synchronised": the process's timekeeper is given an NTP source
 * that reports a synchronised clock with 1 ms maxerror (only this
 * process's page is affected: the machine's state is never touched), so
 * the finite-interval arithmetic is what is timed.
 *
 * usage: chronon-bound-bench [--rounds N] [--calls N]
 * Exit status: 0, 1 when a bounded read failed, 2 bad usage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chronon.h"
#include "fake_ntp.h"

enum { M_NOW, M_BOUNDED, M_VDSO, M_COUNT };
static const char *const names[M_COUNT] = {"chronon_now_ns", "chronon_now_bounded", "clock_gettime"};

static volatile int64_t sink;

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ns per call of method m over n calls. */
static double batch(int m, long n, int *bad)
{
	int64_t acc = 0;
	int64_t t0 = mono_ns();
	switch (m) {
	case M_NOW:
		for (long i = 0; i < n; i++)
			acc += chronon_now_ns(CLOCK_REALTIME);
		break;
	case M_BOUNDED:
		for (long i = 0; i < n; i++) {
			struct chronon_bound b;
			if (chronon_now_bounded(CLOCK_REALTIME, &b) != 0)
				(*bad)++;
			acc += b.earliest_ns ^ b.latest_ns;
		}
		break;
	default:
		for (long i = 0; i < n; i++) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			acc += ts.tv_nsec;
		}
		break;
	}
	int64_t t1 = mono_ns();
	sink = acc;
	return (double)(t1 - t0) / (double)n;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int run(const char *label, int rounds, long calls)
{
	double *t[M_COUNT];
	int bad = 0;
	for (int m = 0; m < M_COUNT; m++)
		t[m] = calloc((size_t)rounds, sizeof(double));
	/* Warm: the timekeeper reaches the counter and reads the NTP state. */
	int64_t end = mono_ns() + 100000000;
	while (mono_ns() < end)
		for (int m = 0; m < M_COUNT; m++)
			batch(m, 1000, &bad);
	for (int r = 0; r < rounds; r++)
		for (int k = 0; k < M_COUNT; k++) {
			int m = (r + k) % M_COUNT; /* rotate the order too */
			t[m][r] = batch(m, calls, &bad);
		}
	struct chronon_bound b;
	chronon_now_bounded(CLOCK_REALTIME, &b);
	printf("%s (status %s, half-width %s):\n", label,
	       b.status == CHRONON_BOUND_SYNCHRONISED     ? "synchronised"
	       : b.status == CHRONON_BOUND_UNSYNCHRONISED ? "unsynchronised"
							  : "unknown",
	       b.status == CHRONON_BOUND_SYNCHRONISED ? "finite" : "infinite");
	double med[M_COUNT];
	for (int m = 0; m < M_COUNT; m++) {
		med[m] = median(t[m], rounds);
		printf("  %-22s %7.2f ns/call (median of %d rounds of %ld; min %.2f, max %.2f)\n", names[m],
		       med[m], rounds, calls, t[m][0], t[m][rounds - 1]);
		free(t[m]);
	}
	printf("  bounded / now_ns       %7.3f x   (target <= 1.3)\n", med[M_BOUNDED] / med[M_NOW]);
	return bad;
}

int main(int argc, char **argv)
{
	int rounds = 31;
	long calls = 200000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
			calls = atol(argv[++i]);
		else {
			fprintf(stderr, "usage: chronon-bound-bench [--rounds N] [--calls N]\n");
			return 2;
		}
	}
	if (rounds < 1 || rounds > 100000 || calls < 1) {
		fprintf(stderr, "chronon-bound-bench: bad --rounds or --calls\n");
		return 2;
	}
	int bad = run("machine", rounds, calls);
	/* Waits for the next resync to pick the fake source up. */
	test_fake_synchronised();
	bad += run("synchronised (this process's page only)", rounds, calls);
	if (bad)
		printf("%d bounded reads failed\n", bad);
	return bad ? 1 : 0;
}
