/* Helpers shared by the subcommands: arguments, warm-up and CPUs (see tool.h). */
#include "tool.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int chronon__tool_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "chronon: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return TOOL_USAGE;
}

int chronon__tool_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		chronon__tool_usage(cmd, "%s needs a value", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

int chronon__tool_double(const char *cmd, const char *opt, const char *val, double min, double max, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(val, &end);
	if (errno || end == val || *end != '\0' || !isfinite(v) || v < min || v > max) {
		chronon__tool_usage(cmd, "bad %s value '%s' (want a number from %g to %g)", opt, val, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int chronon__tool_long(const char *cmd, const char *opt, const char *val, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(val, &end, 10);
	if (errno || end == val || *end != '\0' || v < min || v > max) {
		chronon__tool_usage(cmd, "bad %s value '%s' (want an integer from %ld to %ld)", opt, val, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int chronon__tool_opt_double(const char *cmd, int argc, char **argv, int *i, const char *name, double min,
			     double max, double *out)
{
	const char *v;
	int m = chronon__tool_opt(cmd, argc, argv, i, name, &v);
	if (m <= 0)
		return m;
	return chronon__tool_double(cmd, name, v, min, max, out) == 0 ? 1 : -1;
}

int chronon__tool_opt_long(const char *cmd, int argc, char **argv, int *i, const char *name, long min, long max,
			   long *out)
{
	const char *v;
	int m = chronon__tool_opt(cmd, argc, argv, i, name, &v);
	if (m <= 0)
		return m;
	return chronon__tool_long(cmd, name, v, min, max, out) == 0 ? 1 : -1;
}

int chronon__tool_is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int chronon__tool_asks_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (chronon__tool_is_help(argv[i]))
			return 1;
	return 0;
}

int chronon__tool_report_args(const char *cmd, int argc, char **argv, void (*help)(void), const char *flag,
			      int *flag_set, struct chronon__tool_report *r)
{
	r->json = 0;
	r->warmup_ms = 50;
	for (int i = 1; i < argc; i++) {
		int m;
		if (chronon__tool_is_help(argv[i]))
			return help(), TOOL_OK;
		if (strcmp(argv[i], "--json") == 0)
			r->json = 1;
		else if (flag && strcmp(argv[i], flag) == 0)
			*flag_set = 1;
		else if ((m = chronon__tool_opt_long(cmd, argc, argv, &i, "--warmup", 0, 60000, &r->warmup_ms)) != 0) {
			if (m < 0)
				return TOOL_USAGE;
		} else
			return chronon__tool_usage(cmd, "unknown option '%s'", argv[i]);
	}
	return -1;
}

void chronon__tool_warm_up(clockid_t clock, long ms)
{
	int64_t end = chronon__tool_mono_ns() + ms * 1000000;
	while (chronon__tool_mono_ns() < end)
		for (int i = 0; i < 1000; i++)
			(void)chronon_now_ns(clock);
}

int chronon__tool_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;
	if (sched_getaffinity(0, sizeof set, &set) == 0) {
		for (int c = 0; c < CPU_SETSIZE && n < max; c++)
			if (CPU_ISSET(c, &set))
				cpus[n++] = c;
	}
	if (n == 0)
		cpus[n++] = 0;
	return n;
}

int chronon__tool_pin(int cpu)
{
	cpu_set_t set;
	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return EINVAL;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}
