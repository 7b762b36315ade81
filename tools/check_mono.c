/*
 * chronon check, part 2: monotonicity across threads.  One thread pinned
 * to each CPU and some left free to migrate read the clocks that must
 * never go back.  Each read is compared with the largest value any thread
 * has published: that value was loaded (acquire) before our read, and the
 * library's counter read is ordered after earlier loads, so our read is
 * causally later and must not be smaller.
 */
#include "check.h"
#include "tool.h"

#include <chronon.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NMONO 3
static const struct {
	const char *name;
	clockid_t id;
} mono_clocks[NMONO] = {
	{ "MONOTONIC", CLOCK_MONOTONIC },
	{ "MONOTONIC_RAW", CLOCK_MONOTONIC_RAW },
	{ "BOOTTIME", CLOCK_BOOTTIME },
};

struct shared {
	_Alignas(64) _Atomic int64_t last[NMONO];
	_Alignas(64) atomic_int stop;
};

struct worker {
	pthread_t tid;
	struct shared *sh;
	int cpu;              /* -1: free to migrate */
	int pin_error;
	uint64_t reads, backwards, errors;
	int64_t worst_ns;
	int worst_clock;
};

static void publish_max(_Atomic int64_t *slot, int64_t seen, int64_t v)
{
	int64_t cur = seen;
	while (cur < v && !atomic_compare_exchange_weak_explicit(slot, &cur, v, memory_order_release,
								  memory_order_relaxed))
		;
}

static void read_one(struct worker *w, int k)
{
	int64_t seen = atomic_load_explicit(&w->sh->last[k], memory_order_acquire);
	int64_t v = chronon_now_ns(mono_clocks[k].id);
	w->reads++;
	if (v < 0) {
		w->errors++;
		return;
	}
	if (v < seen) {
		w->backwards++;
		if (seen - v > w->worst_ns) {
			w->worst_ns = seen - v;
			w->worst_clock = k;
		}
		return;
	}
	publish_max(&w->sh->last[k], seen, v);
}

static void *run(void *arg)
{
	struct worker *w = arg;
	if (w->cpu >= 0)
		w->pin_error = chronon__tool_pin(w->cpu);
	while (!atomic_load_explicit(&w->sh->stop, memory_order_relaxed))
		for (int i = 0; i < 64; i++)
			read_one(w, i % NMONO);
	return NULL;
}

static void gather(struct monotonic *m, struct worker *ws, int n)
{
	for (int i = 0; i < n; i++) {
		struct worker *w = &ws[i];
		if (w->cpu >= 0 && w->pin_error)
			m->refused[i] = w->pin_error;
		m->reads += w->reads;
		m->backwards += w->backwards;
		m->errors += w->errors;
		if (w->worst_ns > m->worst_ns) {
			m->worst_ns = w->worst_ns;
			m->worst_clock = mono_clocks[w->worst_clock].name;
		}
	}
}

int check_monotonic(struct monotonic *m, int free_threads, double seconds, const struct check_progress *p)
{
	m->ncpus = chronon__tool_cpus(m->cpus, CHECK_MAX_CPUS);
	m->pinned = m->ncpus;
	m->free_threads = free_threads;
	m->worst_clock = "";
	int n = m->pinned + free_threads;
	struct shared *sh = zalloc_aligned(sizeof *sh);
	struct worker *ws = calloc((size_t)n, sizeof *ws);
	if (!sh || !ws) {
		free(sh);
		free(ws);
		return -1;
	}
	int started = 0;
	for (int i = 0; i < n; i++) {
		ws[i].sh = sh;
		ws[i].cpu = i < m->pinned ? m->cpus[i] : -1;
		if (pthread_create(&ws[i].tid, NULL, run, &ws[i]) != 0)
			break;
		started++;
	}
	check_progress_wait(p, "monotonicity", seconds);
	atomic_store(&sh->stop, 1);
	for (int i = 0; i < started; i++)
		pthread_join(ws[i].tid, NULL);
	gather(m, ws, started);
	free(ws);
	free(sh);
	return started == n ? 0 : -1;
}
