/* The kernel's MONOTONIC rate changed the way chrony's fast slews change
 * it (adjtimex ADJ_TICK 9000..11000 us: up to +-10 % for a second or two
 * at a time), and by ADJ_FREQUENCY's +-500 ppm; MONOTONIC_RAW untouched.
 * chronon's own 500 ppm slew cannot follow that: it must change its rate
 * at once when a check sees the kernel's move, never go back, be within
 * its bound again soon after each change, and keep the counter's
 * frequency (measured on MONOTONIC_RAW) unpolluted. */
#include <math.h>

#include "sim.h"

static struct sim_tk s;
static double prev_ppm;

/* After each change: the worst error over the first RECOVER_NS, and from
 * then until the next change. */
#define RECOVER_NS 100e6

static void start(void)
{
	sim_reset();
	sim_tk_setup(&s);
	sim_run(&s, 20e9, 1e6, 0);
	prev_ppm = 0;
}

/* The kernel's rate is seen to move at the next check (10 ms): the
 * error may reach the move times that, and a tenth more. */
static void hold(double ppm, double ns, int64_t *during, int64_t *after)
{
	double bound = fabs(ppm - prev_ppm) * 1e-6 * 11e6 + 10000;
	prev_ppm = ppm;
	sim_set_mono_ppm(ppm);
	int64_t d = sim_run(&s, RECOVER_NS, 1e5, 0);
	CHECK(d <= bound, "%+.0f ppm: %lld ns within %.0f ms of the change (bound %.0f)", ppm,
	      (long long)d, RECOVER_NS / 1e6, bound);
	int64_t a = sim_run(&s, ns - RECOVER_NS, 1e5, 0);
	if (d > *during)
		*during = d;
	if (a > *after)
		*after = a;
}

static void check_raw(const char *what)
{
	double hz = 1e9 / s.tk.raw.rate;
	CHECK(fabs(hz / sim.hz - 1) < 1e-6, "%s: counter frequency %.1f Hz, true %.1f", what, hz,
	      sim.hz);
}

/* chrony's tick slews: +-10 % (and +-8.3 %, its default maxslewrate) for
 * 1-2 s at a time, back to normal in between. */
static void tick_slews(void)
{
	start();
	static const double ppm[] = {-100000, 0, 100000, 0, -83333, 83333, -100000, 100000, 0};
	int64_t during = 0, after = 0;
	uint64_t rng = 7;
	for (int i = 0; i < (int)(sizeof ppm / sizeof ppm[0]); i++) {
		double len = 1e9 + (double)(test_rand(&rng) % 1000) * 1e6;
		hold(ppm[i], len, &during, &after);
	}
	printf("tick slews +-10 %%: worst %lld ns within %.0f ms of a change, %lld ns after\n",
	       (long long)during, RECOVER_NS / 1e6, (long long)after);
	CHECK(after <= 200, "after %lld ns", (long long)after);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
	check_raw("tick slews");
}

/* ADJ_FREQUENCY steps of +-100 and +-500 ppm. */
static void frequency_slews(void)
{
	start();
	static const double ppm[] = {500, -500, 100, -100, 0};
	int64_t during = 0, after = 0;
	for (int i = 0; i < (int)(sizeof ppm / sizeof ppm[0]); i++)
		hold(ppm[i], 1.5e9, &during, &after);
	printf("frequency +-500 ppm: worst %lld ns within %.0f ms of a change, %lld ns after\n",
	       (long long)during, RECOVER_NS / 1e6, (long long)after);
	CHECK(after <= 200, "after %lld ns", (long long)after);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
	check_raw("frequency slews");
}

/* Short bursts: the rate flips every 30-70 ms. */
static void bursts(void)
{
	start();
	uint64_t rng = 11;
	int64_t during = 0, after = 0;
	for (int i = 0; i < 60; i++) {
		/* two moves of at most 20 % within a check */
		sim_set_mono_ppm((double)((int)(test_rand(&rng) % 3) - 1) * 100000);
		int64_t w = sim_run(&s, 30e6 + (double)(test_rand(&rng) % 40) * 1e6, 1e5, 0);
		if (w > during)
			during = w;
	}
	sim_set_mono_ppm(0);
	sim_run(&s, RECOVER_NS, 1e5, 0);
	after = sim_run(&s, 2e9, 1e5, 0);
	printf("bursts of +-10 %%: worst %lld ns, %lld ns once they stop\n", (long long)during,
	       (long long)after);
	CHECK(during <= 2200000, "during %lld ns", (long long)during);
	CHECK(after <= 200, "after %lld ns", (long long)after);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
	check_raw("bursts");
}

int main(void)
{
	tick_slews();
	frequency_slews();
	bursts();
	return test_exit();
}
