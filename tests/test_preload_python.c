/*
 * An unmodified interpreter under libchronon-preload.so: `python3 -c`
 * reads time.time(), time.monotonic() and time.clock_gettime_ns() of every
 * served clock, then reads each of them READS times checking they never go
 * backwards.  Run plain, preloaded, plain: every preloaded value must lie
 * between the two plain ones (widened by the bound, and by a tick for the
 * coarse clocks), and the trace must show chronon served the reads.
 * Skips (77) when python3 is not installed.
 */
#include <stdio.h>
#include <string.h>

#include "run.h"

#define BOUND_NS 200000LL
#define READS 20000

static const char script[] =
	"import time\n"
	"names = ['REALTIME', 'MONOTONIC', 'MONOTONIC_RAW', 'BOOTTIME', 'TAI',\n"
	"         'REALTIME_COARSE', 'MONOTONIC_COARSE']\n"
	"linux_ids = [0, 1, 4, 7, 11, 5, 6]\n"
	"ids = [getattr(time, 'CLOCK_' + n, i) for n, i in zip(names, linux_ids)]\n"
	"print('time.time', int(time.time() * 1e9))\n"
	"print('time.monotonic', int(time.monotonic() * 1e9))\n"
	"for n, c in zip(names, ids):\n"
	"    print(n, time.clock_gettime_ns(c))\n"
	"print('tick', time.clock_getres(ids[6]) * 1e9)\n"
	"back = 0\n"
	"for c in ids:\n"
	"    last = time.clock_gettime_ns(c)\n"
	"    for _ in range(20000):\n"
	"        v = time.clock_gettime_ns(c)\n"
	"        back += v < last\n"
	"        last = v\n"
	"last = time.monotonic()\n"
	"for _ in range(20000):\n"
	"    v = time.monotonic()\n"
	"    back += v < last\n"
	"    last = v\n"
	"print('backwards', back)\n";

static const char *const keys[] = {"time.time", "time.monotonic", "REALTIME", "MONOTONIC",
				   "MONOTONIC_RAW", "BOOTTIME", "TAI", "REALTIME_COARSE",
				   "MONOTONIC_COARSE"};
#define NKEYS (sizeof keys / sizeof keys[0])

struct reading {
	long long v[NKEYS];
	double tick;
	long long backwards;
};

/* "key value" lines of one run. */
static int parse(const char *out, struct reading *rd)
{
	memset(rd, 0, sizeof *rd);
	rd->backwards = -1;
	char name[64];
	double v;
	int found = 0;
	for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (sscanf(p, "%63s %lf", name, &v) != 2)
			continue;
		for (size_t k = 0; k < NKEYS; k++)
			if (strcmp(name, keys[k]) == 0) {
				long long iv;
				sscanf(p, "%*s %lld", &iv);
				rd->v[k] = iv;
				found++;
			}
		if (strcmp(name, "tick") == 0)
			rd->tick = v;
		if (strcmp(name, "backwards") == 0)
			rd->backwards = (long long)v;
	}
	return found == (int)NKEYS && rd->backwards >= 0 ? 0 : -1;
}

static struct pl_run r;

static int run(int preload, const char *const env[], struct reading *rd)
{
	char *argv[] = {"python3", "-c", (char *)script, NULL};
	if (pl_run(&r, argv, preload, env) != 0 || r.status != 0 || parse(r.out, rd) != 0) {
		printf("python3 run (%s) failed: status %d\n%s", preload ? "preloaded" : "plain",
		       r.status, r.out);
		return -1;
	}
	return 0;
}

int main(void)
{
	char *probe[] = {"python3", "-c", "import time", NULL};
	if (pl_run(&r, probe, 0, NULL) != 0 || r.status != 0) {
		printf("SKIP: python3 is not installed (or cannot import time): status %d\n", r.status);
		return 77;
	}
	char trace[128], tenv[160];
	pl_trace_path(trace, sizeof trace, "py");
	snprintf(tenv, sizeof tenv, "CHRONON_PRELOAD_TRACE=%s", trace);
	const char *env[] = {tenv, "CHRONON_PRELOAD", NULL};
	struct reading a, b, c;
	if (run(0, env, &a) || run(1, env, &b) || run(0, env, &c))
		return 1;
	int fail = 0;
	for (size_t k = 0; k < NKEYS; k++) {
		long long slack = BOUND_NS + (strstr(keys[k], "COARSE") ? (long long)a.tick : 0);
		int ok = a.v[k] - slack <= b.v[k] && b.v[k] <= c.v[k] + slack;
		printf("%-17s plain %lld  preloaded %+lld ns  plain %+lld ns  %s\n", keys[k], a.v[k],
		       b.v[k] - a.v[k], c.v[k] - b.v[k], ok ? "ok" : "FAIL (outside the bracket)");
		fail |= !ok;
	}
	printf("backwards steps in %d reads of each clock: plain %lld, preloaded %lld, plain %lld\n",
	       READS, a.backwards, b.backwards, c.backwards);
	fail |= b.backwards != 0;
	struct pl_trace t;
	/* One line per process: python3 may be a wrapper (pyenv) that runs
	 * others, and all of them must have been served. */
	if (pl_trace_read(trace, &t) != 0 || t.on != t.lines || t.served < 8 * READS) {
		printf("FAIL: the preload did not answer python's calls: served %llu\n",
		       (unsigned long long)t.served);
		return 1;
	}
	printf("served by chronon: %llu, passed on: %llu, mode at exit: %s\n",
	       (unsigned long long)t.served, (unsigned long long)t.passed, t.mode);
	return fail;
}
