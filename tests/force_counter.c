/*
 * Linked into every test program: real-clock tests exercise the counter
 * path wherever the CPU can run it.  On a machine whose kernel (or host)
 * does not vouch for the counter although it ticks steadily, the counter
 * is forced with CHRONON_COUNTER before main, so the suite proves the
 * counter's path there too, and children inherit the choice.  Tests of
 * the default choice itself call test_unforce() first.
 */
#include <stdlib.h>

#include "counter.h"
#include "force_counter.h"

__attribute__((constructor)) static void force_counter(void)
{
	const struct chronon__counter *c = chronon__counter_arch();
	if (!c || getenv("CHRONON_COUNTER"))
		return;
	struct chronon__probe p;
	c->probe(&p);
	if (p.usable || !p.forceable)
		return;
	setenv("CHRONON_COUNTER", c->name, 1);
	setenv("CHRONON_TEST_FORCED", c->name, 1);
}

void test_unforce(void)
{
	if (getenv("CHRONON_TEST_FORCED")) {
		unsetenv("CHRONON_COUNTER");
		unsetenv("CHRONON_TEST_FORCED");
	}
}
