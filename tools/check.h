/*
 * The three parts of chronon check, each in its own file, and what they
 * hand back to cmd_check.c for printing and judging.
 */
#ifndef CHRONON_TOOLS_CHECK_H
#define CHRONON_TOOLS_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* A bracket wider than this means the thread was interrupted between its reads. */
#define CHECK_MAX_BRACKET_NS 400
#define CHECK_MAX_CPUS 256

/* One accuracy sample: the kernel read k0, chronon c, the kernel k1.  The
 * error of c against the bracket's midpoint, or -1 when the bracket proves
 * nothing: wider than CHECK_MAX_BRACKET_NS (the thread was interrupted) or
 * reversed (the clock was set between the kernel's two reads: its
 * midpoint would be half a step away from both sides). */
static inline int64_t check_bracket_error(int64_t k0, int64_t c, int64_t k1)
{
	if (k1 < k0 || k1 - k0 > CHECK_MAX_BRACKET_NS)
		return -1;
	/* k0 + width / 2 rather than (k0 + k1) / 2: no overflow near 2^63. */
	int64_t d = c - (k0 + (k1 - k0) / 2);
	return d < 0 ? -d : d;
}

struct check_progress {
	int on;               /* stderr is a terminal */
	int64_t start_ns;
	double total_s;
};
void check_progress(const struct check_progress *p, const char *phase);
void check_progress_done(const struct check_progress *p);
/* Lets `seconds` pass while the threads work, updating the progress line. */
void check_progress_wait(const struct check_progress *p, const char *phase, double seconds);

struct accuracy {
	const char *name;
	clockid_t clock, kernel_clock;
	int coarse;           /* compared with the kernel's coarse clock: tick-sized bound */
	size_t n, dropped, errors;
	uint64_t seen;        /* samples judged; n of them kept for the percentiles */
	int64_t *err;         /* |chronon - kernel midpoint|, sorted after the run */
	int64_t *width;       /* bracket widths, sorted after the run */
	size_t cap;
	int64_t p50, p99, max, width_p50, width_p99;
	int64_t bound_p99, bound_max;
};
#define CHECK_NCLOCKS 7
/* Fills acc[CHECK_NCLOCKS]; the caller frees with check_accuracy_free. */
int check_accuracy(struct accuracy *acc, double seconds, const struct check_progress *p);
void check_accuracy_free(struct accuracy *acc);

struct monotonic {
	int pinned, free_threads;
	int refused[CHECK_MAX_CPUS];     /* CPUs whose pinning failed (errno), 0 when it worked */
	int ncpus, cpus[CHECK_MAX_CPUS];
	uint64_t reads, backwards, errors;
	int64_t worst_ns;                /* largest step back seen */
	const char *worst_clock;
};
int check_monotonic(struct monotonic *m, int free_threads, double seconds, const struct check_progress *p);

struct warp {
	int skipped;
	char why[128];
	int ncpus, cpus[CHECK_MAX_CPUS], refused[CHECK_MAX_CPUS];
	int used;                        /* CPUs that took part */
	uint64_t rounds, handoffs, warps;
	uint64_t max_cycles;
	double max_ns;                   /* with chronon's frequency; NaN when unknown */
};
int check_warp(struct warp *w, double seconds, uint64_t hz, const struct check_progress *p);

#endif
