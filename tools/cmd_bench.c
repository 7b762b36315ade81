/*
 * chronon bench: ns per call, side by side, for one clock or all of them:
 * the bare counter (the floor), chronon_now_ns and chronon_gettime, the
 * vDSO through libc, and the raw system call; with absl when it was found
 * at build time.  Each figure is the median over rounds with the spread
 * (min..max) beside it, because on a shared VM a single run says little.
 * Every round times every reader once, one after another, so that a
 * stretch of host noise falls on all of them alike; the ratios are the
 * medians of each round's own ratio.  With --threads N, N readers run at
 * once, one pinned per CPU, and each reports its own figure.
 */
#include "json.h"
#include "stats.h"
#include "tool.h"

#include <arch.h>
#include <counter/paravirt.h>
#include <chronon.h>

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CMD "bench"
#define ROUNDS 7
#define MAX_THREADS 256

#ifdef CHRONON_HAVE_ABSL
int64_t chronon__absl_now_ns(void);
#endif

/* Where results go so the loops cannot be optimised away; atomic because every thread writes it. */
static _Atomic uint64_t sink;

static inline uint64_t ts_bits(const struct timespec *ts) { return (uint64_t)ts->tv_sec ^ (uint64_t)ts->tv_nsec; }

/*
 * One loop per reader, so the reader is inlined into it and only the loop
 * is timed; the stopwatch costs two vDSO reads per round.
 */
#define READER(fn, expr)                                                  \
	static int64_t fn(clockid_t c, long n)                            \
	{                                                                 \
		uint64_t acc = 0;                                         \
		struct timespec ts;                                       \
		(void)c;                                                  \
		(void)ts;                                                 \
		int64_t t0 = chronon__tool_mono_ns();                     \
		for (long i = 0; i < n; i++)                              \
			acc += (uint64_t)(expr);                          \
		int64_t t1 = chronon__tool_mono_ns();                     \
		atomic_store_explicit(&sink, acc, memory_order_relaxed); \
		return t1 - t0;                                           \
	}

READER(read_counter, chronon__arch_counter_read_v(0))
#if CHRONON_ARCH_READ_VARIANTS > 1
READER(read_counter_alt, chronon__arch_counter_read_v(1))
#endif
READER(read_counter_unordered, chronon__arch_counter_read_unordered())
READER(read_now_ns, chronon_now_ns(c))
READER(read_gettime, (chronon_gettime(c, &ts), ts_bits(&ts)))
READER(read_vdso, (clock_gettime(c, &ts), ts_bits(&ts)))
READER(read_syscall, (syscall(SYS_clock_gettime, c, &ts), ts_bits(&ts)))
#ifdef CHRONON_HAVE_ABSL
READER(read_absl, chronon__absl_now_ns())
#endif

/*
 * The other way to use a pvclock page: its arithmetic on every read, as
 * the kernel's vDSO does on kvm-clock (version loop, ordered counter,
 * shift, 64x32 multiply), rather than the counter alone with a check of
 * the page's version (chronon).  Shown where this process can read the
 * page, so the two are measured in one run.
 */
static const volatile struct {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t mul;
	int8_t shift;
	uint8_t flags, pad[2];
} *pvclock;

static inline uint64_t pvclock_ns(void)
{
	uint32_t v;
	uint64_t ns;
	do {
		v = pvclock->version;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		uint64_t d = chronon__arch_counter_read_v(0) - pvclock->tsc_timestamp;
		int8_t sh = pvclock->shift;
		d = sh < 0 ? d >> -sh : d << sh;
		ns = pvclock->system_time + (uint64_t)(((unsigned __int128)d * pvclock->mul) >> 32);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((v & 1) || v != pvclock->version);
	return ns;
}
READER(read_pvclock, pvclock_ns())

static int have_pvclock(void)
{
	struct chronon__pv pv;
	const void *pg = chronon__pvclock_page();
	if (!pg || chronon__pvclock_parse(pg, &pv) != 0)
		return 0;
	pvclock = pg;
	return 1;
}

enum { R_COUNTER, R_COUNTER_ALT, R_UNORDERED, R_NOW_NS, R_GETTIME, R_VDSO, R_SYSCALL, R_ABSL,
       R_PVCLOCK, NREADERS };
static const char *const variant_names[] = CHRONON_ARCH_VARIANT_NAMES;

static const struct {
	const char *name;
	const char *key;
	int64_t (*run)(clockid_t, long);
	int clock_free;      /* reads no clock: measured once, shown in every table */
	int realtime_only;   /* absl::GetCurrentTimeNanos is CLOCK_REALTIME */
} readers[NREADERS] = {
	{ "counter (ordered)", "counter", read_counter, 1, 0 },
#if CHRONON_ARCH_READ_VARIANTS > 1
	{ "counter (ordered, alt)", "counter_alt", read_counter_alt, 1, 0 },
#else
	{ NULL, "counter_alt", NULL, 1, 0 },
#endif
	{ "counter (unordered)", "counter_unordered", read_counter_unordered, 1, 0 },
	{ "chronon_now_ns", "chronon_now_ns", read_now_ns, 0, 0 },
	{ "chronon_gettime", "chronon_gettime", read_gettime, 0, 0 },
	{ "vDSO clock_gettime", "vdso", read_vdso, 0, 0 },
	{ "syscall", "syscall", read_syscall, 0, 0 },
#ifdef CHRONON_HAVE_ABSL
	{ "absl GetCurrentTimeNanos", "absl", read_absl, 0, 1 },
#else
	{ NULL, "absl", NULL, 0, 1 },
#endif
	{ "pvclock arithmetic", "pvclock", read_pvclock, 1, 0 },
};

static const struct {
	const char *name;
	clockid_t id;
} clocks[] = {
	{ "REALTIME", CLOCK_REALTIME }, { "MONOTONIC", CLOCK_MONOTONIC }, { "MONOTONIC_RAW", CLOCK_MONOTONIC_RAW },
	{ "BOOTTIME", CLOCK_BOOTTIME }, { "TAI", CLOCK_TAI }, { "REALTIME_COARSE", CLOCK_REALTIME_COARSE },
	{ "MONOTONIC_COARSE", CLOCK_MONOTONIC_COARSE },
};
#define NCLOCKS (int)(sizeof clocks / sizeof clocks[0])

struct opts {
	int clock;           /* index in clocks[], -1 for all */
	long threads;
	double seconds;
	int json;
};

/* One reader's figures on one thread. */
struct figure {
	double median, min, max;
};

struct job {
	pthread_t tid;
	pthread_barrier_t *start;
	int cpu, pin_error;
	int reader;
	clockid_t clock;
	long calls;
	double ns[ROUNDS];
};

static void help(void)
{
	printf("usage: chronon bench [--clock NAME|all] [--threads N] [--seconds S] [--json]\n\n"
	       "ns per call, median of %d rounds with the spread (min..max), for: the bare counter\n"
	       "read (ordered and unordered), chronon_now_ns, chronon_gettime, the vDSO through\n"
	       "libc clock_gettime, the raw system call%s.  Ratios: chronon_now_ns over the\n"
	       "ordered counter read and over the vDSO.\n\n"
	       "  --clock NAME  REALTIME, MONOTONIC (default), MONOTONIC_RAW, BOOTTIME, TAI,\n"
	       "                REALTIME_COARSE, MONOTONIC_COARSE, or all (CLOCK_ prefix allowed)\n"
	       "  --threads N   N readers at once, one pinned per CPU in turn (default 1);\n"
	       "                each thread's figure is shown\n"
	       "  --seconds S   total time to spend (default 2)\n"
	       "  --json        one JSON object instead of text\n\n"
	       "Exit status: 0 ok, 2 bad usage.\n",
	       ROUNDS,
#ifdef CHRONON_HAVE_ABSL
	       ", and absl::GetCurrentTimeNanos (REALTIME)"
#else
	       " (absl::GetCurrentTimeNanos too when libabsl-dev is found at build time)"
#endif
	);
}

static int find_clock(const char *name)
{
	if (strncmp(name, "CLOCK_", 6) == 0)
		name += 6;
	for (int i = 0; i < NCLOCKS; i++)
		if (strcasecmp(name, clocks[i].name) == 0)
			return i;
	return -2;
}

static void *run_job(void *arg)
{
	struct job *j = arg;
	if (j->cpu >= 0)
		j->pin_error = chronon__tool_pin(j->cpu);
	readers[j->reader].run(j->clock, j->calls / 10); /* warm caches and branch predictors */
	pthread_barrier_wait(j->start);
	j->ns[0] = (double)readers[j->reader].run(j->clock, j->calls) / (double)j->calls;
	return NULL;
}

static struct figure summarise(const double *ns)
{
	double v[ROUNDS];
	memcpy(v, ns, sizeof v);
	struct figure f = { .min = v[0], .max = v[0] };
	for (int r = 1; r < ROUNDS; r++) {
		f.min = v[r] < f.min ? v[r] : f.min;
		f.max = v[r] > f.max ? v[r] : f.max;
	}
	f.median = chronon__stats_median(v, ROUNDS);
	return f;
}

/* Calls per round so that every round of every row fits the time budget. */
static long calls_for(int reader, clockid_t c, double round_ns)
{
	long probe = 2000;
	double per = (double)readers[reader].run(c, probe) / (double)probe;
	double n = round_ns / (per > 0.5 ? per : 0.5);
	return n < 1000 ? 1000 : n > 1e8 ? 100000000L : (long)n;
}

/* One round of one reader on `threads` threads: ns per call of each
 * thread into ns[thread][round]. */
static int measure(int reader, clockid_t c, long threads, const int *cpus, int ncpus, long calls,
		   int round, double (*ns)[ROUNDS], int *pin_refused)
{
	struct job *jobs = calloc((size_t)threads, sizeof *jobs);
	pthread_barrier_t start;
	if (!jobs || pthread_barrier_init(&start, NULL, (unsigned)threads) != 0) {
		free(jobs);
		return -1;
	}
	long started = 0;
	for (long t = 0; t < threads; t++) {
		jobs[t] = (struct job){ .start = &start, .reader = reader, .clock = c, .calls = calls,
					.cpu = threads > 1 ? cpus[t % ncpus] : -1 };
		if (pthread_create(&jobs[t].tid, NULL, run_job, &jobs[t]) != 0)
			break;
		started++;
	}
	/* A thread that could not start would leave the others at the barrier. */
	if (started < threads) {
		fprintf(stderr, "chronon: bench: could only start %ld of %ld threads\n", started, threads);
		exit(TOOL_FAILED);
	}
	for (long t = 0; t < threads; t++) {
		pthread_join(jobs[t].tid, NULL);
		ns[t][round] = jobs[t].ns[0];
		*pin_refused |= jobs[t].pin_error != 0;
	}
	pthread_barrier_destroy(&start);
	free(jobs);
	return 0;
}

struct table {
	int clock;
	int present[NREADERS];
	double ns[NREADERS][MAX_THREADS][ROUNDS];
	struct figure fig[NREADERS][MAX_THREADS];
};

/* The median of each round's ratio a / b (thread 0). */
static double ratio(const struct table *t, int a, int b)
{
	if (!t->present[a] || !t->present[b])
		return NAN;
	double v[ROUNDS];
	for (int r = 0; r < ROUNDS; r++)
		v[r] = t->ns[b][0][r] > 0 ? t->ns[a][0][r] / t->ns[b][0][r] : NAN;
	return chronon__stats_median(v, ROUNDS);
}

/* The ordered counter read chronon would pick: the cheaper variant. */
static int bare(const struct table *t)
{
	if (t->present[R_COUNTER_ALT] && t->fig[R_COUNTER_ALT][0].median < t->fig[R_COUNTER][0].median)
		return R_COUNTER_ALT;
	return R_COUNTER;
}

static int relaxed(void)
{
	const char *v = getenv("CHRONON_ORDER");
	return v && strcmp(v, "relaxed") == 0;
}

/* The counter rows are named after the instruction sequences. */
static const char *row_name(int r)
{
	static char buf[48];
	if (r != R_COUNTER && r != R_COUNTER_ALT)
		return readers[r].name;
	snprintf(buf, sizeof buf, "counter (%s)", variant_names[r == R_COUNTER ? 0 : 1]);
	return buf;
}

static void print_table(const struct table *t, long threads)
{
	printf("\nCLOCK_%s, ns per call (median of %d rounds, min..max)%s\n", clocks[t->clock].name, ROUNDS,
	       threads > 1 ? ", one column per thread" : "");
	for (int r = 0; r < NREADERS; r++) {
		if (!t->present[r])
			continue;
		printf("  %-26s", row_name(r));
		for (long k = 0; k < threads; k++) {
			const struct figure *f = &t->fig[r][k];
			char spread[48];
			snprintf(spread, sizeof spread, "(%.1f..%.1f)", f->min, f->max);
			printf(" %8.1f %-16s", f->median, spread);
		}
		printf("\n");
	}
	printf("  ratios (median of the rounds' own)%s:\n", threads > 1 ? ", thread 0" : "");
	printf("    chronon_now_ns / bare ordered counter  %.2f x\n", ratio(t, R_NOW_NS, bare(t)));
	printf("    chronon_now_ns / vDSO                  %.2f x\n", ratio(t, R_NOW_NS, R_VDSO));
	printf("    chronon_gettime / vDSO                 %.2f x\n", ratio(t, R_GETTIME, R_VDSO));
	printf("    chronon_now_ns / bare unordered counter %.2f x%s\n", ratio(t, R_NOW_NS, R_UNORDERED),
	       relaxed() ? "" : " (CHRONON_ORDER=relaxed compares with this)");
	if (t->present[R_PVCLOCK])
		printf("    chronon_now_ns / pvclock arithmetic    %.2f x\n", ratio(t, R_NOW_NS, R_PVCLOCK));
}

static void json_table(struct chronon__json *j, const struct table *t, long threads)
{
	chronon__json_object(j, NULL);
	chronon__json_str(j, "clock", clocks[t->clock].name);
	chronon__json_object(j, "readers");
	for (int r = 0; r < NREADERS; r++) {
		if (!t->present[r])
			continue;
		chronon__json_array(j, readers[r].key);
		for (long k = 0; k < threads; k++) {
			chronon__json_object(j, NULL);
			chronon__json_double(j, "median_ns", t->fig[r][k].median);
			chronon__json_double(j, "min_ns", t->fig[r][k].min);
			chronon__json_double(j, "max_ns", t->fig[r][k].max);
			chronon__json_close(j);
		}
		chronon__json_close(j);
	}
	chronon__json_close(j);
	chronon__json_double(j, "ratio_chronon_counter", ratio(t, R_NOW_NS, bare(t)));
	chronon__json_double(j, "ratio_chronon_vdso", ratio(t, R_NOW_NS, R_VDSO));
	chronon__json_double(j, "ratio_gettime_vdso", ratio(t, R_GETTIME, R_VDSO));
	chronon__json_double(j, "ratio_chronon_unordered", ratio(t, R_NOW_NS, R_UNORDERED));
	if (t->present[R_PVCLOCK])
		chronon__json_double(j, "ratio_chronon_pvclock", ratio(t, R_NOW_NS, R_PVCLOCK));
	chronon__json_close(j);
}

static int parse(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *v;
		int m;
		if (strcmp(argv[i], "--json") == 0) {
			o->json = 1;
		} else if ((m = chronon__tool_opt(CMD, argc, argv, &i, "--clock", &v)) != 0) {
			if (m < 0)
				return -1;
			o->clock = strcasecmp(v, "all") == 0 ? -1 : find_clock(v);
			if (o->clock == -2) {
				chronon__tool_usage(CMD, "bad --clock value '%s' (try --help for the names)", v);
				return -1;
			}
		} else if ((m = chronon__tool_opt_long(CMD, argc, argv, &i, "--threads", 1, MAX_THREADS, &o->threads)) ||
			   (m = chronon__tool_opt_double(CMD, argc, argv, &i, "--seconds", 0.01, 3600, &o->seconds))) {
			if (m < 0)
				return -1;
		} else {
			chronon__tool_usage(CMD, "unknown option '%s'", argv[i]);
			return -1;
		}
	}
	return 0;
}

/* Every round times every reader of the table once, in turn. */
static int run_tables(const struct opts *o, struct table *tables, int ntables, int *pin_refused)
{
	int cpus[MAX_THREADS];
	int ncpus = chronon__tool_cpus(cpus, MAX_THREADS);
	int rows = ntables * NREADERS;
	double round_ns = o->seconds * (double)CHRONON__NS / ((double)rows * (ROUNDS + 1));
	for (int k = 0; k < ntables; k++) {
		struct table *t = &tables[k];
		clockid_t c = clocks[t->clock].id;
		long calls[NREADERS] = { 0 };
		for (int r = 0; r < NREADERS; r++) {
			t->present[r] = readers[r].run && !(readers[r].realtime_only && c != CLOCK_REALTIME) &&
					(r != R_PVCLOCK || have_pvclock());
			if (t->present[r])
				calls[r] = calls_for(r, c, round_ns);
		}
		for (int round = 0; round < ROUNDS; round++)
			for (int r = 0; r < NREADERS; r++)
				if (t->present[r] && measure(r, c, o->threads, cpus, ncpus, calls[r], round,
							     t->ns[r], pin_refused) != 0)
					return -1;
		for (int r = 0; r < NREADERS; r++)
			for (long th = 0; t->present[r] && th < o->threads; th++)
				t->fig[r][th] = summarise(t->ns[r][th]);
	}
	return 0;
}

int chronon__cmd_bench(int argc, char **argv)
{
	struct opts o = { .clock = 1, .threads = 1, .seconds = 2 };
	if (chronon__tool_asks_help(argc, argv))
		return help(), TOOL_OK;
	if (parse(argc, argv, &o) != 0)
		return TOOL_USAGE;

	/* Calibrate first: the steady state is what a running program pays. */
	int64_t warm_end = chronon__tool_mono_ns() + 50000000;
	while (chronon__tool_mono_ns() < warm_end)
		(void)chronon_now_ns(CLOCK_MONOTONIC);

	int ntables = o.clock < 0 ? NCLOCKS : 1;
	struct table *tables = calloc((size_t)ntables, sizeof *tables);
	if (!tables)
		return TOOL_FAILED;
	for (int k = 0; k < ntables; k++)
		tables[k].clock = o.clock < 0 ? k : o.clock;
	int pin_refused = 0;
	if (run_tables(&o, tables, ntables, &pin_refused) != 0) {
		fprintf(stderr, "chronon: bench: could not start the reader threads\n");
		free(tables);
		return TOOL_FAILED;
	}
	struct chronon_status st;
	memset(&st, 0, sizeof st);
	chronon_status(&st);
	if (o.json) {
		struct chronon__json j;
		chronon__json_begin(&j, stdout);
		chronon__json_str(&j, "counter", st.counter);
		chronon__json_str(&j, "mode", st.mode_name);
		chronon__json_int(&j, "threads", o.threads);
		chronon__json_int(&j, "rounds", ROUNDS);
		chronon__json_bool(&j, "pin_refused", pin_refused);
		chronon__json_array(&j, "clocks");
		for (int k = 0; k < ntables; k++)
			json_table(&j, &tables[k], o.threads);
		chronon__json_close(&j);
		chronon__json_end(&j);
	} else {
		printf("chronon bench: counter %s, mode %s, %ld thread(s)%s\n", st.counter, st.mode_name, o.threads,
		       pin_refused ? " (pinning refused on some CPUs: those threads ran unpinned)" : "");
		for (int k = 0; k < ntables; k++)
			print_table(&tables[k], o.threads);
	}
	free(tables);
	return TOOL_OK;
}
