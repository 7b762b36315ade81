/*
 * chronon check, part 1: accuracy.  Each sample is a chronon read between
 * two kernel reads of the same clock; the kernel's time at the chronon
 * read is somewhere in that bracket, so |chronon - midpoint| is the error
 * give or take half the bracket.  Brackets wider than CHECK_MAX_BRACKET_NS
 * (the thread was interrupted) or reversed (the clock was set between the
 * two kernel reads) are dropped and counted, not judged.
 * The sampling runs for the whole time given, so rare outliers get their
 * chance: the maximum is over every sample, the percentiles over a
 * uniform reservoir of CAP of them.
 */
#include "check.h"
#include "stats.h"
#include "tool.h"

#include <chronon.h>

#include <stdlib.h>

#define BATCH 256
#define CAP 200000

static const struct {
	const char *name;
	clockid_t id;
	int coarse;
} clocks[CHECK_NCLOCKS] = {
	{ "REALTIME", CLOCK_REALTIME, 0 },
	{ "MONOTONIC", CLOCK_MONOTONIC, 0 },
	{ "MONOTONIC_RAW", CLOCK_MONOTONIC_RAW, 0 },
	{ "BOOTTIME", CLOCK_BOOTTIME, 0 },
	{ "TAI", CLOCK_TAI, 0 },
	{ "REALTIME_COARSE", CLOCK_REALTIME_COARSE, 1 },
	{ "MONOTONIC_COARSE", CLOCK_MONOTONIC_COARSE, 1 },
};

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Reservoir sampling (Vitter's algorithm R) plus the exact maximum. */
static void keep(struct accuracy *a, int64_t err, int64_t width)
{
	a->seen++;
	if (err > a->max)
		a->max = err;
	size_t at = a->n < a->cap ? a->n++ : (size_t)(rng() % a->seen);
	if (at < a->cap) {
		a->err[at] = err;
		a->width[at] = width;
	}
}

/* A coarse clock moves a tick at a time, so its bracket says nothing of
 * an interruption: a MONOTONIC pair around it does.  Its error is how far
 * the reading lies outside the two kernel readings (a midpoint between
 * two ticks means nothing). */
static void sample_coarse(struct accuracy *a)
{
	int64_t f0 = chronon__tool_kernel_ns(CLOCK_MONOTONIC);
	int64_t k0 = chronon__tool_kernel_ns(a->kernel_clock);
	int64_t c = chronon_now_ns(a->clock);
	int64_t k1 = chronon__tool_kernel_ns(a->kernel_clock);
	int64_t f1 = chronon__tool_kernel_ns(CLOCK_MONOTONIC);
	if (c < 0) {
		a->errors++;
		return;
	}
	if (f1 - f0 > CHECK_MAX_BRACKET_NS || k1 < k0) {
		a->dropped++;
		return;
	}
	keep(a, c < k0 ? k0 - c : c > k1 ? c - k1 : 0, k1 - k0);
}

static void sample_batch(struct accuracy *a)
{
	for (int i = 0; i < BATCH; i++) {
		if (a->coarse) {
			sample_coarse(a);
			continue;
		}
		int64_t k0 = chronon__tool_kernel_ns(a->kernel_clock);
		int64_t c = chronon_now_ns(a->clock);
		int64_t k1 = chronon__tool_kernel_ns(a->kernel_clock);
		if (c < 0) {
			a->errors++;
			continue;
		}
		int64_t err = check_bracket_error(k0, c, k1);
		if (err < 0) {
			a->dropped++;
			continue;
		}
		keep(a, err, k1 - k0);
	}
}

static void summarise(struct accuracy *a)
{
	chronon__stats_sort(a->err, a->n);
	chronon__stats_sort(a->width, a->n);
	a->p50 = chronon__stats_pct(a->err, a->n, 50);
	a->p99 = chronon__stats_pct(a->err, a->n, 99);
	a->width_p50 = chronon__stats_pct(a->width, a->n, 50);
	a->width_p99 = chronon__stats_pct(a->width, a->n, 99);
}

int check_accuracy(struct accuracy *acc, double seconds, const struct check_progress *p)
{
	for (int i = 0; i < CHECK_NCLOCKS; i++) {
		struct accuracy *a = &acc[i];
		a->name = clocks[i].name;
		a->clock = a->kernel_clock = clocks[i].id;
		a->coarse = clocks[i].coarse;
		a->cap = CAP;
		a->err = malloc(CAP * sizeof *a->err);
		a->width = malloc(CAP * sizeof *a->width);
		if (!a->err || !a->width)
			return -1;
	}
	int64_t end = chronon__tool_mono_ns() + (int64_t)(seconds * (double)CHRONON__NS);
	int64_t next_progress = 0;
	do {
		/* Round robin, so every clock sees the same stretch of time. */
		for (int i = 0; i < CHECK_NCLOCKS; i++)
			sample_batch(&acc[i]);
		int64_t now = chronon__tool_mono_ns();
		if (now >= next_progress) {
			check_progress(p, "accuracy");
			next_progress = now + 200000000;
		}
	} while (chronon__tool_mono_ns() < end);
	for (int i = 0; i < CHECK_NCLOCKS; i++)
		summarise(&acc[i]);
	return 0;
}

void check_accuracy_free(struct accuracy *acc)
{
	for (int i = 0; i < CHECK_NCLOCKS; i++) {
		free(acc[i].err);
		free(acc[i].width);
		acc[i].err = acc[i].width = NULL;
	}
}
