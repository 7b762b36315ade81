/*
 * chronon check: proves the clock on this machine.  Runs the accuracy,
 * monotonicity and warp parts (check_*.c) one after another, prints what
 * they measured, and exits 1 naming the bound and the value when one is
 * exceeded.  The progress line goes to stderr, only when it is a terminal.
 */
#include "check.h"
#include "json.h"
#include "stats.h"
#include "tool.h"

#include <chronon.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "check"
#define MAX_FAILURES 32

struct opts {
	double seconds;
	long threads;
	double max_p99_ns, max_ns, max_warp_ns;
	int json;
};

struct verdict {
	int n;
	char text[MAX_FAILURES][160];
};

static void help(void)
{
	printf("usage: chronon check [--seconds S] [--threads N] [--max-p99-ns NS] [--max-ns NS]\n"
	       "                     [--max-warp-ns NS] [--json]\n\n"
	       "Proves the clock on this machine, in three parts sharing S seconds (40/40/20 %%):\n"
	       "  accuracy      chronon reads between two kernel reads of the same clock, for\n"
	       "                REALTIME, MONOTONIC, MONOTONIC_RAW, BOOTTIME, TAI and the two COARSE\n"
	       "                clocks: p50/p99/max of |chronon - kernel midpoint| and the bracket\n"
	       "                width; brackets wider than %d ns (interrupted) are dropped and counted\n"
	       "  monotonicity  one thread pinned to each CPU plus N free threads compare every\n"
	       "                read with the largest value any thread published\n"
	       "  warp          CPUs take turns under a lock reading the raw counter: the largest\n"
	       "                amount one CPU's counter was behind another's\n\n"
	       "  --seconds S       total time (default 5)\n"
	       "  --threads N       free (migrating) threads in the monotonicity part (default: CPUs)\n"
	       "  --max-p99-ns NS   accuracy bound on p99 (default 100)\n"
	       "  --max-ns NS       accuracy bound on the maximum (default 1000; samples whose\n"
	       "                    bracket exceeds 400 ns were interrupted and are not judged)\n"
	       "  --max-warp-ns NS  warp bound (default 0: any warp fails)\n"
	       "  --json            one JSON object instead of text\n"
	       "COARSE clocks must lie between the two kernel coarse readings (error 0).\n"
	       "Backwards steps are held to zero.  A progress line is written to stderr when it is a\n"
	       "terminal.\n\n"
	       "Exit status: 0 every bound held, 1 a bound was exceeded, 2 bad usage.\n",
	       CHECK_MAX_BRACKET_NS);
}

static void fail(struct verdict *v, const char *fmt, ...)
{
	if (v->n >= MAX_FAILURES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->text[v->n++], sizeof v->text[0], fmt, ap);
	va_end(ap);
}

void check_progress(const struct check_progress *p, const char *phase)
{
	if (!p->on)
		return;
	double t = (double)(chronon__tool_mono_ns() - p->start_ns) / (double)CHRONON__NS;
	fprintf(stderr, "\rchronon check: %-12s %5.1f / %.1f s ", phase, t, p->total_s);
}

void check_progress_wait(const struct check_progress *p, const char *phase, double seconds)
{
	int64_t end = chronon__tool_mono_ns() + (int64_t)(seconds * (double)CHRONON__NS);
	while (chronon__tool_mono_ns() < end) {
		check_progress(p, phase);
		usleep(100000);
	}
}

void check_progress_done(const struct check_progress *p)
{
	if (p->on)
		fprintf(stderr, "\r%60s\r", "");
}

static void judge_accuracy(struct accuracy *acc, const struct opts *o, struct verdict *v)
{
	for (int i = 0; i < CHECK_NCLOCKS; i++) {
		struct accuracy *a = &acc[i];
		a->bound_p99 = a->coarse ? 0 : (int64_t)o->max_p99_ns;
		a->bound_max = a->coarse ? 0 : (int64_t)o->max_ns;
		if (a->errors)
			fail(v, "accuracy %s: %zu chronon reads failed", a->name, a->errors);
		if (a->n == 0)
			fail(v, "accuracy %s: no sample with a bracket under %d ns", a->name, CHECK_MAX_BRACKET_NS);
		if (a->p99 > a->bound_p99)
			fail(v, "accuracy %s: p99 %lld ns exceeds the bound %lld ns%s", a->name, (long long)a->p99,
			     (long long)a->bound_p99, a->coarse ? " (between the kernel's readings)" : " (--max-p99-ns)");
		if (a->max > a->bound_max)
			fail(v, "accuracy %s: max %lld ns exceeds the bound %lld ns%s", a->name, (long long)a->max,
			     (long long)a->bound_max, a->coarse ? " (between the kernel's readings)" : " (--max-ns)");
	}
}

static void judge_rest(const struct monotonic *m, const struct warp *w, const struct opts *o, struct verdict *v)
{
	if (m->backwards)
		fail(v, "monotonicity: %llu backwards steps (bound 0), the largest %lld ns on %s",
		     (unsigned long long)m->backwards, (long long)m->worst_ns, m->worst_clock);
	if (m->errors)
		fail(v, "monotonicity: %llu chronon reads failed", (unsigned long long)m->errors);
	if (w->skipped || w->warps == 0)
		return;
	/* Without a frequency a warp has no size in ns: any warp then fails. */
	double ns = isnan(w->max_ns) ? INFINITY : w->max_ns;
	if (ns > o->max_warp_ns)
		fail(v, "warp: counter %llu cycles (%.1f ns) behind another CPU's, bound %.0f ns (--max-warp-ns)",
		     (unsigned long long)w->max_cycles, w->max_ns, o->max_warp_ns);
}

static void print_pins(const int *cpus, const int *refused, int n)
{
	for (int i = 0; i < n; i++)
		if (refused[i])
			printf("  CPU %d: pinning refused (%s); going on without it\n", cpus[i],
			       refused[i] == EINVAL ? "EINVAL" : strerror(refused[i]));
}

static void print_text(const struct accuracy *acc, const struct monotonic *m, const struct warp *w,
		       const struct chronon_status *st, const struct opts *o, const struct verdict *v)
{
	printf("chronon check: %.1f s on %d CPU(s); counter %s, mode %s, %.6f MHz (%s)\n\n", o->seconds, m->ncpus,
	       st->counter, st->mode_name, (double)st->frequency_hz / 1e6, st->frequency_source);
	printf("accuracy: |chronon - kernel midpoint| per clock, bracket = the two kernel reads' distance\n");
	printf("%-17s %9s %8s %7s %7s %9s %9s %14s\n", "clock", "samples", "dropped", "p50 ns", "p99 ns", "max ns",
	       "bracket", "bound p99/max");
	for (int i = 0; i < CHECK_NCLOCKS; i++) {
		const struct accuracy *a = &acc[i];
		int ok = a->n && !a->errors && a->p99 <= a->bound_p99 && a->max <= a->bound_max;
		printf("%-17s %9llu %8zu %7lld %7lld %9lld %4lld/%-4lld %6lld/%-8lld %s\n", a->name,
		       (unsigned long long)a->seen, a->dropped, (long long)a->p50, (long long)a->p99,
		       (long long)a->max, (long long)a->width_p50, (long long)a->width_p99, (long long)a->bound_p99,
		       (long long)a->bound_max, ok ? "ok" : "FAIL");
	}
	printf("(bracket: p50/p99 ns; samples with brackets over %d ns are dropped; percentiles from\n"
	       " a uniform sample of up to 200000 reads per clock, max over all)\n",
	       CHECK_MAX_BRACKET_NS);
	printf("\n|error| histogram, MONOTONIC:\n");
	chronon__stats_histogram(stdout, acc[1].err, acc[1].n, 40, "  ");

	printf("\nmonotonicity: %d pinned + %d free threads, %llu reads of MONOTONIC, MONOTONIC_RAW, BOOTTIME\n",
	       m->pinned, m->free_threads, (unsigned long long)m->reads);
	print_pins(m->cpus, m->refused, m->pinned);
	printf("  backwards steps: %llu%s\n", (unsigned long long)m->backwards, m->backwards ? "" : " (ok)");
	if (m->backwards)
		printf("  largest step back: %lld ns on %s\n", (long long)m->worst_ns, m->worst_clock);

	printf("\nwarp (raw counter across CPUs, under a shared lock):\n");
	print_pins(w->cpus, w->refused, w->ncpus);
	if (w->skipped) {
		printf("  skipped: %s\n", w->why);
	} else {
		printf("  %llu turns on %d CPUs, %llu handoffs between CPUs, %llu warps\n", (unsigned long long)w->rounds,
		       w->used, (unsigned long long)w->handoffs, (unsigned long long)w->warps);
		printf("  largest warp: %llu cycles (%.1f ns)\n", (unsigned long long)w->max_cycles,
		       isnan(w->max_ns) ? 0.0 : w->max_ns);
	}
	printf("\n");
	for (int i = 0; i < v->n; i++)
		printf("FAIL %s\n", v->text[i]);
	printf("%s\n", v->n ? "check failed" : "check passed: every bound held");
}

static void json_accuracy(struct chronon__json *j, const struct accuracy *acc)
{
	chronon__json_array(j, "accuracy");
	for (int i = 0; i < CHECK_NCLOCKS; i++) {
		const struct accuracy *a = &acc[i];
		chronon__json_object(j, NULL);
		chronon__json_str(j, "clock", a->name);
		chronon__json_bool(j, "coarse", a->coarse);
		chronon__json_uint(j, "samples", a->seen);
		chronon__json_uint(j, "dropped", a->dropped);
		chronon__json_uint(j, "errors", a->errors);
		chronon__json_int(j, "p50_ns", a->p50);
		chronon__json_int(j, "p99_ns", a->p99);
		chronon__json_int(j, "max_ns", a->max);
		chronon__json_int(j, "bracket_p50_ns", a->width_p50);
		chronon__json_int(j, "bracket_p99_ns", a->width_p99);
		chronon__json_int(j, "bound_p99_ns", a->bound_p99);
		chronon__json_int(j, "bound_max_ns", a->bound_max);
		chronon__json_close(j);
	}
	chronon__json_close(j);
}

static void json_refused(struct chronon__json *j, const int *cpus, const int *refused, int n)
{
	chronon__json_array(j, "pin_refused");
	for (int i = 0; i < n; i++)
		if (refused[i])
			chronon__json_int(j, NULL, cpus[i]);
	chronon__json_close(j);
}

static void print_json(const struct accuracy *acc, const struct monotonic *m, const struct warp *w,
		       const struct chronon_status *st, const struct opts *o, const struct verdict *v)
{
	struct chronon__json j;
	chronon__json_begin(&j, stdout);
	chronon__json_bool(&j, "ok", v->n == 0);
	chronon__json_double(&j, "seconds", o->seconds);
	chronon__json_str(&j, "counter", st->counter);
	chronon__json_str(&j, "mode", st->mode_name);
	chronon__json_uint(&j, "frequency_hz", st->frequency_hz);
	json_accuracy(&j, acc);
	chronon__json_object(&j, "monotonicity");
	chronon__json_int(&j, "pinned_threads", m->pinned);
	chronon__json_int(&j, "free_threads", m->free_threads);
	chronon__json_uint(&j, "reads", m->reads);
	chronon__json_uint(&j, "backwards", m->backwards);
	chronon__json_int(&j, "largest_backwards_ns", m->worst_ns);
	json_refused(&j, m->cpus, m->refused, m->pinned);
	chronon__json_close(&j);
	chronon__json_object(&j, "warp");
	chronon__json_bool(&j, "skipped", w->skipped);
	chronon__json_str(&j, "skipped_reason", w->why);
	chronon__json_int(&j, "cpus", w->used);
	chronon__json_uint(&j, "turns", w->rounds);
	chronon__json_uint(&j, "handoffs", w->handoffs);
	chronon__json_uint(&j, "warps", w->warps);
	chronon__json_uint(&j, "max_warp_cycles", w->max_cycles);
	chronon__json_double(&j, "max_warp_ns", w->max_ns);
	chronon__json_double(&j, "bound_warp_ns", o->max_warp_ns);
	json_refused(&j, w->cpus, w->refused, w->ncpus);
	chronon__json_close(&j);
	chronon__json_array(&j, "failures");
	for (int i = 0; i < v->n; i++)
		chronon__json_str(&j, NULL, v->text[i]);
	chronon__json_close(&j);
	chronon__json_end(&j);
}

static int parse(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		int m;
		if (strcmp(argv[i], "--json") == 0) {
			o->json = 1;
		} else if ((m = chronon__tool_opt_double(CMD, argc, argv, &i, "--seconds", 0.1, 86400, &o->seconds)) ||
			   (m = chronon__tool_opt_long(CMD, argc, argv, &i, "--threads", 0, 256, &o->threads)) ||
			   (m = chronon__tool_opt_double(CMD, argc, argv, &i, "--max-p99-ns", 0, 1e12, &o->max_p99_ns)) ||
			   (m = chronon__tool_opt_double(CMD, argc, argv, &i, "--max-ns", 0, 1e12, &o->max_ns)) ||
			   (m = chronon__tool_opt_double(CMD, argc, argv, &i, "--max-warp-ns", 0, 1e12, &o->max_warp_ns))) {
			/* The first of them that matched has set its field, or said why not. */
			if (m < 0)
				return -1;
		} else {
			chronon__tool_usage(CMD, "unknown option '%s'", argv[i]);
			return -1;
		}
	}
	return 0;
}

int chronon__cmd_check(int argc, char **argv)
{
	int cpus[CHECK_MAX_CPUS];
	struct opts o = { .seconds = 5, .threads = chronon__tool_cpus(cpus, CHECK_MAX_CPUS), .max_p99_ns = 100,
			  .max_ns = 1000, .max_warp_ns = 0 };
	if (chronon__tool_asks_help(argc, argv))
		return help(), TOOL_OK;
	if (parse(argc, argv, &o) != 0)
		return TOOL_USAGE;

	struct check_progress p = { .on = isatty(STDERR_FILENO), .start_ns = chronon__tool_mono_ns(),
				    .total_s = o.seconds };
	/* Let the library finish calibrating: a running program's clock is the one to check. */
	int64_t warm_end = chronon__tool_mono_ns() + 50000000;
	while (chronon__tool_mono_ns() < warm_end)
		(void)chronon_now_ns(CLOCK_MONOTONIC);

	struct accuracy acc[CHECK_NCLOCKS];
	static struct monotonic m;
	static struct warp w;
	memset(acc, 0, sizeof acc);
	struct chronon_status st;
	memset(&st, 0, sizeof st);
	chronon_status(&st);
	int rc = check_accuracy(acc, o.seconds * 0.4, &p);
	rc |= check_monotonic(&m, (int)o.threads, o.seconds * 0.4, &p);
	rc |= check_warp(&w, o.seconds * 0.2, st.frequency_hz, &p);
	check_progress_done(&p);
	if (rc != 0) {
		fprintf(stderr, "chronon: check: could not allocate memory or start threads\n");
		check_accuracy_free(acc);
		return TOOL_FAILED;
	}
	/* The status after the run: the mode it ended in is the one that was checked. */
	chronon_status(&st);
	struct verdict v = { 0 };
	judge_accuracy(acc, &o, &v);
	judge_rest(&m, &w, &o, &v);
	if (o.json)
		print_json(acc, &m, &w, &st, &o, &v);
	else
		print_text(acc, &m, &w, &st, &o, &v);
	check_accuracy_free(acc);
	return v.n ? TOOL_FAILED : TOOL_OK;
}
