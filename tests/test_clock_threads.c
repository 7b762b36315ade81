/* Readers on several threads: no backward step within a thread, and none
 * across threads either (each read is compared with the largest value
 * any thread published before it began). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "chronon.h"
#include "check.h"

#define READS 10000000L

static _Atomic int64_t published[3];
static _Atomic long backwards, cross;
static const clockid_t ids[3] = {CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW};

static void *reader(void *arg)
{
	long n = (long)(intptr_t)arg;
	int64_t last[3] = {0, 0, 0};
	for (long i = 0; i < n; i++) {
		int k = (int)(i % 3);
		int64_t seen = atomic_load_explicit(&published[k], memory_order_acquire);
		int64_t v = chronon_now_ns(ids[k]);
		if (v < last[k])
			atomic_fetch_add(&backwards, 1);
		if (v < seen)
			atomic_fetch_add(&cross, 1);
		last[k] = v;
		int64_t cur = atomic_load_explicit(&published[k], memory_order_relaxed);
		while (v > cur && !atomic_compare_exchange_weak_explicit(
					  &published[k], &cur, v, memory_order_release, memory_order_relaxed))
			;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long reads = argc > 1 ? atol(argv[1]) : READS;
	/* Sanitizers slow every read a hundredfold: fewer reads, same logic. */
	if (getenv("CHRONON_TEST_QUICK"))
		reads /= 20;
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, reader, (void *)(intptr_t)reads);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	printf("2 threads x %ld reads: %ld backward steps within a thread, %ld across threads\n", reads,
	       atomic_load(&backwards), atomic_load(&cross));
	CHECK(atomic_load(&backwards) == 0, "backward steps within a thread");
	CHECK(atomic_load(&cross) == 0, "backward steps across threads");
	return test_exit();
}
