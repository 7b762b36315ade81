/* The kernel's rate moving under the counter, as NTP moves it: a step in
 * frequency mid-run, and a slow wander; chronon must follow within bound
 * and never go back. */
#include <math.h>

#include "sim.h"

static struct sim_tk s;

static void start(double ppm)
{
	sim_reset();
	sim_set_mono_ppm(ppm);
	sim_tk_setup(&s);
	sim_run(&s, 40e9, 1e6, 0); /* calibrated, long baseline */
}

static void frequency_step(double from, double to)
{
	start(from);
	sim_set_mono_ppm(to);
	/* The change shows at a check (every 10 ms) once the error passes
	 * ~0.6 us, or at the next resync (<= 1 s), whichever is first; the
	 * rate is then corrected at once and the error slewed away. */
	int64_t first = sim_run(&s, 3e9, 1e6, 0);
	int64_t after = sim_run(&s, 60e9, 1e6, 0);
	double bound = 700 + fabs(to - from) * 1e-6 * 20e6;
	printf("frequency step %+.1f -> %+.1f ppm: worst %lld ns in the first 3 s (bound %.0f), "
	       "%lld ns after\n",
	       from, to, (long long)first, bound, (long long)after);
	CHECK(first <= bound, "first seconds %lld ns", (long long)first);
	CHECK(after <= 100, "after the step %lld ns", (long long)after);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* chrony-like slewing: the kernel's frequency wanders by +-2 ppm with a
 * 64 s period (changes of at most 0.2 ppm/s). */
static void slow_wander(void)
{
	start(0);
	int64_t worst = 0;
	for (int i = 0; i < 300; i++) {
		sim_set_mono_ppm(2 * sin(i * 2 * M_PI / 64));
		int64_t w = sim_run(&s, 1e9, 1e6, 0);
		if (w > worst)
			worst = w;
	}
	printf("NTP wander +-2 ppm: worst %lld ns over 300 s\n", (long long)worst);
	CHECK(worst <= 300, "wander %lld ns", (long long)worst);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* Noisy reads: every kernel read may take up to 2 us (a preempted vCPU). */
static void noisy_kernel(void)
{
	sim_reset();
	sim.jitter = 4000;
	sim_tk_setup(&s);
	int64_t worst = sim_run(&s, 60e9, 1e6, 1e9);
	printf("kernel reads jittering up to 2 us: worst %lld ns\n", (long long)worst);
	CHECK(worst <= 2000, "noisy %lld ns", (long long)worst);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

int main(void)
{
	frequency_step(0, 20);
	frequency_step(0, -20);
	frequency_step(3, 3.5);
	slow_wander();
	noisy_kernel();
	return test_exit();
}
