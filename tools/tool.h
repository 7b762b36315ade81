/*
 * What the chronon command's files share: the subcommands, the exit
 * codes, and the argument helpers that turn a bad value into the one-line
 * "chronon: <cmd>: bad --opt value 'x'" error and exit status 2.
 */
#ifndef CHRONON_TOOLS_TOOL_H
#define CHRONON_TOOLS_TOOL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <chronon.h>

#include "ns.h"

enum { TOOL_OK = 0, TOOL_FAILED = 1, TOOL_USAGE = 2 };

int chronon__cmd_status(int argc, char **argv);
int chronon__cmd_bench(int argc, char **argv);
int chronon__cmd_check(int argc, char **argv);
int chronon__cmd_vdso(int argc, char **argv);
int chronon__cmd_bound(int argc, char **argv);

/* Prints "chronon: <cmd>: <message>" to stderr and returns TOOL_USAGE. */
int chronon__tool_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Option matching for argv[*i]: "--name value" or "--name=value".
 * Returns 1 and sets *val (advancing *i past a separate value), 0 when
 * argv[*i] is another option, -1 (after printing the usage error) when
 * the value is missing.
 */
int chronon__tool_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val);

/* Strict number parsing within [min, max]; -1 after printing the usage error. */
int chronon__tool_double(const char *cmd, const char *opt, const char *val, double min, double max, double *out);
int chronon__tool_long(const char *cmd, const char *opt, const char *val, long min, long max, long *out);

/*
 * chronon__tool_opt and the strict parse above in one: 1 when argv[*i] was
 * the option and *out holds its value, 0 when argv[*i] is another option,
 * -1 after printing the usage error (missing or bad value).
 */
int chronon__tool_opt_double(const char *cmd, int argc, char **argv, int *i, const char *name, double min,
			     double max, double *out);
int chronon__tool_opt_long(const char *cmd, int argc, char **argv, int *i, const char *name, long min, long max,
			   long *out);

/* "--help" or "-h". */
int chronon__tool_is_help(const char *arg);
/* Any argument asks for help: it wins over every other argument, bad ones included. */
int chronon__tool_asks_help(int argc, char **argv);

/* A kernel clock in ns, through libc (the vDSO). */
static inline int64_t chronon__tool_kernel_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * CHRONON__NS + ts.tv_nsec;
}

/* Kernel MONOTONIC in ns: the tool's stopwatch. */
static inline int64_t chronon__tool_mono_ns(void)
{
	return chronon__tool_kernel_ns(CLOCK_MONOTONIC);
}

/*
 * The command line of a one-shot report (status, bound): --help/-h, --json,
 * --warmup MS (default 50) and `flag` (NULL: none), which sets *flag_set.
 * Arguments are taken in order, so help after a bad one is not reached.
 * Returns -1 to go on with *r filled, else the exit status: TOOL_OK after
 * help() printed, TOOL_USAGE after the one-line usage error.
 */
struct chronon__tool_report {
	int json;
	long warmup_ms;
};
int chronon__tool_report_args(const char *cmd, int argc, char **argv, void (*help)(void), const char *flag,
			      int *flag_set, struct chronon__tool_report *r);

/* Reads `clock` through chronon for `ms` milliseconds, 1000 reads between
 * looks at the stopwatch: what is then reported is the state a running
 * program sees, not the first reads' (served by the kernel while the
 * counter's rate is measured). */
void chronon__tool_warm_up(clockid_t clock, long ms);

/* Zeroed memory on its own cache lines, for structures shared between spinning threads. */
static inline void *zalloc_aligned(size_t size)
{
	size_t rounded = (size + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, rounded);
	if (p)
		memset(p, 0, rounded);
	return p;
}

/* CPUs this process may run on (sched_getaffinity), at least 1. */
int chronon__tool_cpus(int *cpus, int max);
/* Pin the calling thread to cpu: 0, or the error number (EINVAL in a restricted cpuset). */
int chronon__tool_pin(int cpu);

/* "synchronised", "unsynchronised" or "unknown" (cmd_bound.c). */
const char *chronon__bound_status_name(enum chronon_bound_status s);

#endif
