/* exploratory */
#include <math.h>
#include <stdlib.h>
#include "sim.h"

static struct sim_tk s;

static void run(unsigned jitter, const double *ppm, int n, double len)
{
	sim_reset();
	sim.jitter = jitter;
	sim_tk_setup(&s);
	sim_run(&s, 20e9, 1e6, 0);
	int64_t worst_after = 0;
	for (int i = 0; i < n; i++) {
		sim_set_mono_ppm(ppm[i]);
		sim_run(&s, 100e6, 1e5, 0);
		int64_t a = sim_run(&s, len - 100e6, 1e5, 0);
		printf("  jitter %u: %+.0f ppm: after 100 ms %lld ns\n", jitter, ppm[i], (long long)a);
		if (a > worst_after)
			worst_after = a;
	}
	printf("jitter %u ticks: worst after %lld ns\n", jitter, (long long)worst_after);
}

static void fresh(unsigned jitter)
{
	sim_reset();
	sim.jitter = jitter;
	sim_tk_setup(&s);
	sim_run(&s, 100e6, 1e5, 0);
	for (int i = 0; i < 10; i++) {
		int64_t a = sim_run(&s, 300e6, 1e5, 0);
		printf("  fresh jitter %u: %d00-%d00 ms: %lld ns\n", jitter, 1 + 3 * i, 4 + 3 * i, (long long)a);
	}
}

int main(void)
{
	fresh(getenv("J") ? (unsigned)atoi(getenv("J")) : 400);
	static const double f[] = {500, -500, 100, 0, 500, -500, 100, 0};
	unsigned j = getenv("J") ? (unsigned)atoi(getenv("J")) : 400;
	run(j, f, 8, 1.5e9);
	return test_exit();
}
