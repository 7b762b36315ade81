/*
 * libchronon-preload.so keeps libc's semantics and really answers the
 * calls, on unmodified programs:
 *  - tests/preload/prog semantics prints the return value and errno of
 *    every clock call (served clocks, CPU-time clocks, bad ids, NULL
 *    pointers, gettimeofday with a time zone, timespec_get bases, the old
 *    clock_gettime@GLIBC_2.2.5); with and without the preload the outputs
 *    must be identical, and the trace must show the calls were served;
 *  - `date +%s.%N` under the preload lies between two plain runs;
 *  - CHRONON_PRELOAD: off, 0, no, false (any case) make a pass-through,
 *    anything else (on, 1, empty, unknown words) leaves it on.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "run.h"

/* The preloaded date may differ from the kernel by chronon's error; the
 * plain runs bracket it, so scheduling noise only widens the bracket. */
#define DATE_BOUND_NS 200000LL

static struct pl_run plain_run, pre_run;

static void first_difference(const char *a, const char *b)
{
	int line = 1;
	while (*a && *a == *b) {
		line += *a == '\n';
		a++;
		b++;
	}
	const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
	printf("  line %d without: %.*s\n  line %d with:    %.*s\n", line,
	       (int)(ea ? ea - a : (long)strlen(a)), a, line, (int)(eb ? eb - b : (long)strlen(b)), b);
}

static void semantics(void)
{
	char trace[128], tenv[160];
	pl_trace_path(trace, sizeof trace, "sem");
	snprintf(tenv, sizeof tenv, "CHRONON_PRELOAD_TRACE=%s", trace);
	const char *env[] = {tenv, "CHRONON_PRELOAD", NULL};
	char *argv[] = {CHRONON_PL_PROG, "semantics", NULL};
	CHECK(pl_run(&plain_run, argv, 0, env) == 0 && plain_run.status == 0,
	      "plain prog semantics: status %d", plain_run.status);
	CHECK(access(trace, F_OK) != 0, "a trace file appeared without the preload");
	CHECK(pl_run(&pre_run, argv, 1, env) == 0 && pre_run.status == 0,
	      "preloaded prog semantics: status %d", pre_run.status);
	if (strcmp(plain_run.out, pre_run.out) != 0) {
		CHECK(0, "prog semantics differs with the preload");
		first_difference(plain_run.out, pre_run.out);
	}
	struct pl_trace t;
	CHECK(pl_trace_read(trace, &t) == 0 && t.lines == 1 && t.on == 1 && t.served >= 20 &&
		      t.passed >= 20,
	      "trace: lines %d on %d served %llu passed %llu", t.lines, t.on,
	      (unsigned long long)t.served, (unsigned long long)t.passed);
	printf("semantics: %zu bytes of output identical with and without; served %llu passed %llu\n",
	       strlen(pre_run.out), (unsigned long long)t.served, (unsigned long long)t.passed);
}

static long long date_ns(int preload, const char *const env[])
{
	static struct pl_run r;
	char *argv[] = {"date", "+%s %N", NULL};
	long long s, ns;
	if (pl_run(&r, argv, preload, env) != 0 || r.status != 0 ||
	    sscanf(r.out, "%lld %lld", &s, &ns) != 2)
		return -1;
	return s * 1000000000LL + ns;
}

static void date(void)
{
	char trace[128], tenv[160];
	pl_trace_path(trace, sizeof trace, "date");
	snprintf(tenv, sizeof tenv, "CHRONON_PRELOAD_TRACE=%s", trace);
	const char *env[] = {tenv, "CHRONON_PRELOAD", NULL};
	long long a = date_ns(0, env), b = date_ns(1, env), c = date_ns(0, env);
	CHECK(a > 0 && b > 0 && c > 0, "date failed: %lld %lld %lld", a, b, c);
	CHECK(a - DATE_BOUND_NS <= b && b <= c + DATE_BOUND_NS,
	      "preloaded date %lld not within [%lld, %lld] +- %lld ns", b, a, c, DATE_BOUND_NS);
	struct pl_trace t;
	CHECK(pl_trace_read(trace, &t) == 0 && t.lines == 1 && t.on == 1 && t.served >= 1,
	      "date trace: lines %d on %d served %llu", t.lines, t.on, (unsigned long long)t.served);
	printf("date: plain %lld, preloaded %lld (%+lld ns), plain %lld (%+lld ns); served %llu "
	       "mode %s\n", a, b, b - a, c, c - b, (unsigned long long)t.served, t.mode);
}

/* CHRONON_PRELOAD=value: on (1) or off (0), as the trace reports it. */
static void switch_value(const char *value, int want_on)
{
	char trace[128], tenv[160], penv[64];
	pl_trace_path(trace, sizeof trace, "env");
	snprintf(tenv, sizeof tenv, "CHRONON_PRELOAD_TRACE=%s", trace);
	snprintf(penv, sizeof penv, "CHRONON_PRELOAD=%s", value);
	const char *env[] = {tenv, penv, NULL};
	long long v = date_ns(1, env);
	struct pl_trace t;
	int ok = v > 0 && pl_trace_read(trace, &t) == 0 && t.lines == 1;
	if (want_on)
		CHECK(ok && t.on == 1 && t.served >= 1 && t.passed == 0,
		      "CHRONON_PRELOAD=\"%s\" should leave it on: on %d served %llu passed %llu", value,
		      t.on, (unsigned long long)t.served, (unsigned long long)t.passed);
	else
		CHECK(ok && t.off == 1 && t.served == 0 && t.passed >= 1,
		      "CHRONON_PRELOAD=\"%s\" should be a pass-through: off %d served %llu passed %llu",
		      value, t.off, (unsigned long long)t.served, (unsigned long long)t.passed);
}

int main(void)
{
	semantics();
	date();
	static const char *const off[] = {"off", "0", "no", "false", "OFF", "False", "No"};
	static const char *const on[] = {"on", "1", "yes", "true", "", "bogus", "offf", "of", "0 "};
	for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
		switch_value(off[i], 0);
	for (size_t i = 0; i < sizeof on / sizeof on[0]; i++)
		switch_value(on[i], 1);
	printf("CHRONON_PRELOAD: %zu off spellings, %zu on/unknown spellings checked\n",
	       sizeof off / sizeof off[0], sizeof on / sizeof on[0]);
	return test_exit();
}
