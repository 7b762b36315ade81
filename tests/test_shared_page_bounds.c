/*
 * What a reader leaving chronond's page takes as the most the page can
 * have handed out (chronon__shm_bounds, src/shared_page.c), on pages made
 * here against this machine's own counter and kernel:
 *  - a line running ahead of the kernel's MONOTONIC_RAW by more than its
 *    pad (the kernel's clocks lose time against the counter at every
 *    clocksource switch: 19-59 ms beside the kernel's clocksource-switch
 *    selftest in the real-kernel rig, where a reader then went back by
 *    9.4 ms): the bound is never below the line at the counter now;
 *  - a counter that ran away from RAW by more than the window (a suspend
 *    it ran through), or a host that rewrote the counter's scale (the
 *    paravirtual page's guard moved): the bound is RAW's progress, not
 *    the window's end;
 *  - a page whose writer is inside its section (seq odd: killed there,
 *    or preempted longer than a reader spins): no whole snapshot, and the
 *    bound is the kernel plus the page's pad (and 1 us of slack), not the
 *    kernel plus the largest pad a page may have (1 ms: readers that
 *    left such a page in the real-kernel rig ran 0.5-0.9 ms ahead of the
 *    kernel for a second).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "arch.h"
#include "check.h"
#include "clocks.h"
#include "counter.h"
#include "page.h"
#include "shared_page.h"
#include "shm_page.h"

#define MS 1000000LL

static int64_t kns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The counter's ns per tick against MONOTONIC_RAW over 50 ms. */
static double ns_per_tick(void)
{
	int64_t r0 = kns(CLOCK_MONOTONIC_RAW);
	uint64_t c0 = chronon__arch_counter_read();
	struct timespec nap = {0, 50 * MS};
	nanosleep(&nap, NULL);
	int64_t r1 = kns(CLOCK_MONOTONIC_RAW);
	uint64_t c1 = chronon__arch_counter_read();
	return (double)(r1 - r0) / (double)(c1 - c0);
}

static struct chronon__page pg;
static double per_tick;
static uint32_t shift;

/* A page whose pivot was age_ns ago, its lines ahead_ns ahead of the
 * kernel's MONOTONIC and MONOTONIC_RAW there, valid for valid_ns,
 * published under the host's present guard (stale: an older one). */
static void make_page(int64_t age_ns, int64_t ahead_ns, int64_t valid_ns, int stale)
{
	memset(&pg, 0, sizeof pg);
	uint64_t mult = (uint64_t)(per_tick * (double)((uint64_t)1 << shift) + 0.5);
	uint64_t c = chronon__arch_counter_read();
	int64_t m = kns(CLOCK_MONOTONIC), r = kns(CLOCK_MONOTONIC_RAW);
	atomic_store(&pg.cycle_last, c - (uint64_t)((double)age_ns / per_tick));
	atomic_store(&pg.mask, ~(uint64_t)0);
	atomic_store(&pg.valid_cycles, (uint64_t)((double)valid_ns / per_tick));
	atomic_store(&pg.mono.base_ns, m - age_ns + ahead_ns);
	atomic_store(&pg.mono.mult, mult);
	atomic_store(&pg.raw.base_ns, r - age_ns + ahead_ns);
	atomic_store(&pg.raw.mult, mult);
	atomic_store(&pg.pad_ns, 1000);
	uint32_t guard = atomic_load(atomic_load(&chronon__arch_guard)) - (stale ? 2 : 0);
	atomic_store(&pg.ctl, chronon__ctl_guarded(chronon__ctl(CHRONON__PAGE_COUNTER, 0, 0, shift), guard));
}

/* The line of scale sc at the counter now. */
static int64_t line_now(const struct chronon__scale *sc)
{
	uint64_t d = chronon__arch_counter_read() - atomic_load(&pg.cycle_last);
	uint64_t v = atomic_load(&pg.valid_cycles);
	return chronon__scale128(atomic_load(&sc->base_ns), 0, d < v ? d : v, atomic_load(&sc->mult), shift);
}

static void ahead_of_the_kernel(void)
{
	/* 20 ms ahead, pad 1 us, pivot 100 ms ago, window 1.05 s (chronond's). */
	make_page(100 * MS, 20 * MS, 1050 * MS, 0);
	int64_t mono = line_now(&pg.mono), raw = line_now(&pg.raw);
	int64_t h[CHRONON__CK_COUNT];
	chronon__shm_bounds(&pg, h);
	printf("line ahead 20 ms: bound - line = %+.3f ms (MONOTONIC), %+.3f ms (RAW)\n",
	       (double)(h[CHRONON__CK_MONO] - mono) / 1e6, (double)(h[CHRONON__CK_RAW] - raw) / 1e6);
	CHECK(h[CHRONON__CK_MONO] >= mono, "MONOTONIC bound %lld below the line %lld", (long long)h[CHRONON__CK_MONO],
	      (long long)mono);
	CHECK(h[CHRONON__CK_RAW] >= raw, "RAW bound %lld below the line %lld", (long long)h[CHRONON__CK_RAW],
	      (long long)raw);
}

/* Where no reader can have read past RAW's progress, the page's bound
 * is that progress (within 2 ms of the kernel's RAW now). */
static void expect_raw_progress(const char *what)
{
	int64_t h[CHRONON__CK_COUNT];
	chronon__shm_bounds(&pg, h);
	int64_t r = kns(CLOCK_MONOTONIC_RAW);
	printf("%s: bound - kernel RAW = %+.3f ms\n", what, (double)(h[CHRONON__CK_RAW] - r) / 1e6);
	CHECK(h[CHRONON__CK_RAW] <= r + 2 * MS, "%s: RAW bound %lld beyond RAW's progress %lld", what,
	      (long long)h[CHRONON__CK_RAW], (long long)r);
}

static void ran_away(void)
{
	/* Pivot 300 ms ago by the counter, 5 ms ago by RAW (the counter ran
	 * through a 295 ms suspend), window 10 ms: the window's end lies 5 ms
	 * beyond the kernel's time, where no reader can have been. */
	make_page(300 * MS, 295 * MS, 10 * MS, 0);
	expect_raw_progress("counter ran 295 ms away");
}

static void host_rewrote(void)
{
	/* The host rewrote the counter's scale since the page (its guard
	 * moved): readers left at the rewrite, so RAW's progress bounds the
	 * line even inside the window.  Only where a guard exists. */
	if (atomic_load(atomic_load(&chronon__arch_guard)) == 0) {
		printf("no paravirtual guard here: the host's rewrite is not checked\n");
		return;
	}
	make_page(100 * MS, 20 * MS, 1050 * MS, 1);
	expect_raw_progress("host rewrote the scale");
}

static void left_mid_update(void)
{
	make_page(5 * MS, 0, 70 * MS, 0);
	atomic_store(&pg.seq, 7); /* odd: the writer is inside its section */
	int64_t before[CHRONON__CK_COUNT], after[CHRONON__CK_COUNT], h[CHRONON__CK_COUNT];
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++)
		before[ck] = kns(chronon__ck_clockid((enum chronon__ck)ck));
	chronon__shm_bounds(&pg, h);
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++)
		after[ck] = kns(chronon__ck_clockid((enum chronon__ck)ck));
	int64_t pad = atomic_load(&pg.pad_ns);
	printf("left mid-update, pad %lld ns: bound - kernel after = %+lld ns (MONOTONIC)\n", (long long)pad,
	       (long long)(h[CHRONON__CK_MONO] - after[CHRONON__CK_MONO]));
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++) {
		/* The kernel read inside lies between the two read here. */
		CHECK(h[ck] >= before[ck], "clock %d: bound %lld below the kernel's %lld", ck, (long long)h[ck],
		      (long long)before[ck]);
		CHECK(h[ck] <= after[ck] + pad + 1000, "clock %d: bound %lld ns beyond the kernel plus the pad", ck,
		      (long long)(h[ck] - after[ck]));
	}
	/* A corrupt pad counts as the largest a page may have. */
	atomic_store(&pg.pad_ns, INT64_MAX);
	chronon__shm_bounds(&pg, h);
	int64_t k = kns(CLOCK_MONOTONIC);
	CHECK(h[CHRONON__CK_MONO] <= k + CHRONON__SHM_PAD_MAX_NS + 1000 && h[CHRONON__CK_MONO] > k - MS,
	      "a corrupt pad: bound %+lld ns from the kernel", (long long)(h[CHRONON__CK_MONO] - k));
}

int main(void)
{
	per_tick = ns_per_tick();
	/* mult in [2^30, 2^31), as the timekeeper chooses it */
	while (shift < 62 && per_tick * (double)((uint64_t)1 << shift) < (double)(1u << 30))
		shift++;
	ahead_of_the_kernel();
	ran_away();
	host_rewrote();
	left_mid_update();
	return test_exit();
}
