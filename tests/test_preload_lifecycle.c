/*
 * libchronon-preload.so through a process's life, on unmodified programs:
 *  - a fork/exec chain (tests/preload/chain.c) keeps working, time never
 *    goes back across fork, threads and exec, and every link is served:
 *    LD_PRELOAD and CHRONON_PRELOAD propagate, on and off alike;
 *  - constructors: every prog run checks that a library constructor and
 *    the program's constructor, which may run before the shim's own, got
 *    the time and were not ahead of main;
 *  - a SIGALRM handler reading the clocks while the main loop does.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "run.h"

#define LINKS 4

static struct pl_run r;

static void chain(const char *preload_value)
{
	char trace[128], tenv[160], penv[64];
	pl_trace_path(trace, sizeof trace, "chain");
	snprintf(tenv, sizeof tenv, "CHRONON_PRELOAD_TRACE=%s", trace);
	snprintf(penv, sizeof penv, "CHRONON_PRELOAD=%s", preload_value);
	const char *env[] = {tenv, penv, NULL};
	char links[8];
	snprintf(links, sizeof links, "%d", LINKS);
	char *argv[] = {CHRONON_PL_CHAIN, links, "0", NULL};
	CHECK(pl_run(&r, argv, 1, env) == 0 && r.status == 0, "chain (CHRONON_PRELOAD=%s): status %d",
	      preload_value, r.status);
	struct pl_trace t;
	int read = pl_trace_read(trace, &t);
	int on = strcmp(preload_value, "on") == 0;
	/* Each link reads the clock at least twice itself (main, thread). */
	if (on)
		CHECK(read == 0 && t.lines == LINKS + 1 && t.on == LINKS + 1 && t.min_served >= 2,
		      "chain on: lines %d on %d min served %llu", t.lines, t.on,
		      (unsigned long long)t.min_served);
	else
		CHECK(read == 0 && t.lines == LINKS + 1 && t.off == LINKS + 1 && t.served == 0 &&
			      t.passed >= 2 * (LINKS + 1),
		      "chain off: lines %d off %d served %llu passed %llu", t.lines, t.off,
		      (unsigned long long)t.served, (unsigned long long)t.passed);
	printf("chain of %d execs with CHRONON_PRELOAD=%s: %d processes traced, served %llu, "
	       "passed %llu\n", LINKS, preload_value, t.lines, (unsigned long long)t.served,
	       (unsigned long long)t.passed);
}

static void plain_chain(void)
{
	char links[8];
	snprintf(links, sizeof links, "%d", LINKS);
	char *argv[] = {CHRONON_PL_CHAIN, links, "0", NULL};
	CHECK(pl_run(&r, argv, 0, NULL) == 0 && r.status == 0, "plain chain: status %d", r.status);
}

static void signals(void)
{
	char trace[128], tenv[160];
	pl_trace_path(trace, sizeof trace, "sig");
	snprintf(tenv, sizeof tenv, "CHRONON_PRELOAD_TRACE=%s", trace);
	const char *env[] = {tenv, "CHRONON_PRELOAD", NULL};
	char *argv[] = {CHRONON_PL_PROG, "signals", "--seconds", "1", NULL};
	CHECK(pl_run(&r, argv, 1, env) == 0 && r.status == 0, "prog signals: status %d\n%s",
	      r.status, r.out);
	long long calls = pl_value(r.out, "libc_calls");
	struct pl_trace t;
	CHECK(pl_trace_read(trace, &t) == 0 && t.on == 1 && calls > 0 &&
		      t.served >= (unsigned long long)calls,
	      "signals: served %llu < libc calls %lld", (unsigned long long)t.served, calls);
	printf("signals: %s", r.out);
}

int main(void)
{
	plain_chain();
	chain("on");
	chain("off");
	signals();
	return test_exit();
}
