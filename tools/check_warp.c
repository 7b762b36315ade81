/*
 * chronon check, part 3: cross-CPU counter synchronisation, the "warp
 * test".  One thread pinned to each CPU; they take turns under a lock,
 * and each reads the raw counter and compares it with the last value read
 * on another CPU.  The lock orders the two reads in time, so a smaller
 * value means this CPU's counter is behind the other's: a warp.  This is
 * what broke quanta (issue 111) and what makes per-CPU TSC offsets matter.
 */
#include "check.h"
#include "tool.h"

#include <arch.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct table {
	_Alignas(64) atomic_int lock;
	atomic_int stop;
	/* Guarded by lock. */
	uint64_t last;
	int last_cpu;
	uint64_t rounds, handoffs, warps, max_cycles;
};

struct seat {
	pthread_t tid;
	struct table *t;
	int cpu, pin_error;
};

static void take(atomic_int *lock)
{
	int expected = 0;
	while (!atomic_compare_exchange_weak_explicit(lock, &expected, 1, memory_order_acquire,
						      memory_order_relaxed)) {
		expected = 0;
		chronon__arch_cpu_relax();
	}
}

static void turn(struct seat *s)
{
	struct table *t = s->t;
	take(&t->lock);
	uint64_t now = chronon__arch_counter_read();
	if (t->rounds > 0 && t->last_cpu != s->cpu) {
		t->handoffs++;
		if (now < t->last) {
			t->warps++;
			if (t->last - now > t->max_cycles)
				t->max_cycles = t->last - now;
		}
	}
	t->last = now;
	t->last_cpu = s->cpu;
	t->rounds++;
	atomic_store_explicit(&t->lock, 0, memory_order_release);
}

static void *sit(void *arg)
{
	struct seat *s = arg;
	s->pin_error = chronon__tool_pin(s->cpu);
	/* An unpinned seat would not know its CPU: it only reports the refusal. */
	if (s->pin_error)
		return NULL;
	while (!atomic_load_explicit(&s->t->stop, memory_order_relaxed)) {
		turn(s);
		/* Give the other CPUs a chance at the lock. */
		for (int i = 0; i < 8; i++)
			chronon__arch_cpu_relax();
	}
	return NULL;
}

static void skip(struct warp *w, const char *why)
{
	w->skipped = 1;
	snprintf(w->why, sizeof w->why, "%s", why);
}

int check_warp(struct warp *w, double seconds, uint64_t hz, const struct check_progress *p)
{
	w->max_ns = NAN;
	w->ncpus = chronon__tool_cpus(w->cpus, CHECK_MAX_CPUS);
	if (!CHRONON_ARCH_HAS_COUNTER)
		return skip(w, "this CPU has no user-readable counter"), 0;
	if (w->ncpus < 2)
		return skip(w, "only one CPU is available to this process"), 0;
	struct table *t = zalloc_aligned(sizeof *t);
	struct seat *seats = calloc((size_t)w->ncpus, sizeof *seats);
	if (!t || !seats) {
		free(t);
		free(seats);
		return -1;
	}
	int started = 0;
	for (int i = 0; i < w->ncpus; i++) {
		seats[i].t = t;
		seats[i].cpu = w->cpus[i];
		if (pthread_create(&seats[i].tid, NULL, sit, &seats[i]) != 0)
			break;
		started++;
	}
	check_progress_wait(p, "warp", seconds);
	atomic_store(&t->stop, 1);
	for (int i = 0; i < started; i++) {
		pthread_join(seats[i].tid, NULL);
		w->refused[i] = seats[i].pin_error;
		w->used += seats[i].pin_error == 0;
	}
	w->rounds = t->rounds;
	w->handoffs = t->handoffs;
	w->warps = t->warps;
	w->max_cycles = t->max_cycles;
	if (hz)
		w->max_ns = (double)w->max_cycles * (double)CHRONON__NS / (double)hz;
	if (w->used < 2)
		skip(w, "fewer than two CPUs accepted pinning");
	free(seats);
	free(t);
	return started == w->ncpus ? 0 : -1;
}
