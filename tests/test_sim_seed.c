/* A process leaving chronond's page resumes its own timekeeper from
 * chronond's rates (chronon__tk_seed), not from the rates it had when it
 * joined the page: the kernel's rate may have moved by a tick slew since.
 * Unseeded (a process nobody read in for seconds), the rates it wakes
 * with are checked after cal_ns / 2 (1 ms), not a whole check (10 ms).
 * Simulated: the process's timekeeper sleeps (nobody reads it) while the
 * kernel's rate moves, then it is seeded, or not, and read; a timekeeper
 * that never ran starts from a seed without calibrating; implausible seeds
 * change nothing; a seed that is slightly wrong, or that the kernel's
 * rate leaves, is replaced by what the timekeeper learns itself. */
#include <math.h>

#include "sim.h"

static struct sim_tk s;

static double mono_rate(void)
{
	return sim.mono_ns_per_tick;
}

static double raw_rate(void)
{
	return sim.raw_ns_per_tick;
}

static int state(void)
{
	return atomic_load(&s.tk.state);
}

/* Serving at the kernel's rate of 0 ppm, then asleep for 5 s while the
 * kernel moves to ppm. */
static void asleep_through(double ppm, int noisy)
{
	sim_reset();
	sim.jitter = noisy ? 400 : sim.jitter;
	sim.skew = noisy;
	sim_tk_setup(&s);
	sim_run(&s, 3e9, 1e6, 0);
	CHECK(state() == CHRONON__TK_COUNTER, "state %d", state());
	sim_set_mono_ppm(ppm);
	sim_advance_ns(5e9);
}

static void resumes_at_the_kernels_rate(void)
{
	static const double moves[] = {1000, -500, 100000, -83333};
	for (unsigned i = 0; i < sizeof moves / sizeof moves[0]; i++) {
		asleep_through(moves[i], 0);
		int64_t stale = sim_run(&s, 100e6, 1e5, 0);
		asleep_through(moves[i], 0);
		CHECK(chronon__tk_seed(&s.tk, mono_rate(), raw_rate(), 0) == 0, "seed");
		int64_t seeded = sim_run(&s, 100e6, 1e5, 0);
		int64_t later = sim_run(&s, 2e9, 1e5, 0);
		printf("asleep through %+.0f ppm: %lld ns off from its own rates, %lld ns seeded, %lld ns after\n",
		       moves[i], (long long)stale, (long long)seeded, (long long)later);
		/* unseeded: the move for the first 1 ms (it was for a whole
		 * check, 10 ms); seeded: nothing */
		CHECK(stale <= fabs(moves[i]) * 1e-6 * 1.1e6 + 200, "%+.0f ppm: own rates %lld ns off",
		      moves[i], (long long)stale);
		CHECK(seeded <= 100, "%+.0f ppm seeded: %lld ns", moves[i], (long long)seeded);
		CHECK(later <= 100, "%+.0f ppm seeded, later: %lld ns", moves[i], (long long)later);
		CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
		/* A young chronond's rates (killed right after the move): 20 ppm
		 * off, and saying so. */
		asleep_through(moves[i], 0);
		chronon__tk_seed(&s.tk, mono_rate() * (1 + 20e-6), raw_rate() * (1 + 20e-6), 5e-5);
		int64_t young = sim_run(&s, 100e6, 1e5, 0);
		later = sim_run(&s, 2e9, 1e5, 0);
		printf("  seeded with a young rate 20 ppm off: %lld ns in 100 ms, %lld ns after\n",
		       (long long)young, (long long)later);
		CHECK(young <= 500 && later <= 100, "%+.0f ppm, young seed: %lld, then %lld ns", moves[i],
		      (long long)young, (long long)later);
	}
}

/* Asleep while nothing moved, noisy brackets: the rates it wakes with
 * are kept, not replaced by the first secant over 1 ms. */
static void wakes_to_a_quiet_kernel(void)
{
	asleep_through(0, 1);
	double before = s.tk.mono.rate;
	int64_t worst = sim_run(&s, 2e9, 1e5, 0);
	printf("asleep, nothing moved, brackets up to 225 ns: worst %lld ns over 2 s, rate moved %+.2f ppm\n",
	       (long long)worst, (s.tk.mono.rate / before - 1) * 1e6);
	CHECK(worst <= 150, "%lld ns", (long long)worst);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* A process that joined the page at its second read never calibrated:
 * seeded, its first work serves from the counter. */
static void noisy_start(void)
{
	sim_reset();
	sim.jitter = 400;
	sim.skew = 1;
	sim_set_mono_ppm(250);
	sim_tk_setup(&s);
}

static void starts_without_calibrating(void)
{
	noisy_start();
	int64_t own = sim_run(&s, 3e9, 1e5, 100e6);
	noisy_start();
	CHECK(chronon__tk_seed(&s.tk, mono_rate(), raw_rate(), 0) == 0, "seed");
	sim_measure(&s, CHRONON__CK_MONO, &(int64_t){0});
	sim_advance_ns(1e5);
	sim_measure(&s, CHRONON__CK_MONO, &(int64_t){0});
	CHECK(state() == CHRONON__TK_COUNTER, "seeded: state %d after the first work", state());
	int64_t worst = sim_run(&s, 3e9, 1e5, 0);
	printf("seeded from the start (brackets up to 225 ns, skewed): worst %lld ns over 3 s "
	       "(calibrating itself: %lld ns after its first 100 ms)\n", (long long)worst, (long long)own);
	CHECK(worst <= 150, "seeded start: %lld ns", (long long)worst);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* Rates that cannot be chronond's for this counter and kernel. */
static void implausible_ignored(void)
{
	static const struct {
		double mono, raw, unc;
		const char *what;
	} bad[] = {
		{0, 0, 0, "none"},
		{NAN, 0.5, 0, "not a number"},
		{0.5, -0.5, 0, "negative"},
		{0.5 * 1.2, 0.5, 0, "MONOTONIC 20 % off MONOTONIC_RAW"},
		{0.5, 0.5 * 1.02, 0, "MONOTONIC_RAW 2 % off the timekeeper's"},
		{INFINITY, INFINITY, 0, "infinite"},
		{0.5, 0.5, NAN, "uncertainty not a number"},
		{0.5, 0.5, 0.05, "uncertainty 5 %"},
		{0.5, 0.5, -1e-6, "negative uncertainty"},
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sim_reset();
		sim_tk_setup(&s);
		sim_run(&s, 3e9, 1e6, 0);
		double m = s.tk.mono.rate, r = s.tk.raw.rate;
		CHECK(chronon__tk_seed(&s.tk, bad[i].mono, bad[i].raw, bad[i].unc) == 0, "seed");
		CHECK(s.tk.mono.rate == m && s.tk.raw.rate == r && s.tk.mono.prior == 0 && !s.tk.need_rebase,
		      "%s: taken (rates %.9f %.9f)", bad[i].what, s.tk.mono.rate, s.tk.raw.rate);
		if (i == 4)
			continue; /* a timekeeper with no rate of its own cannot tell */
		sim_reset();
		sim_tk_setup(&s);
		CHECK(chronon__tk_seed(&s.tk, bad[i].mono, bad[i].raw, bad[i].unc) == 0, "seed");
		CHECK(s.tk.seed_raw == 0, "%s: kept for the probe", bad[i].what);
	}
}

/* A seed 3 ppm off (chronond's estimate a while ago), then the kernel's
 * rate moving away from it: the timekeeper's own learning takes over. */
static void replaced_by_what_it_learns(void)
{
	sim_reset();
	sim.jitter = 400;
	sim.skew = 1;
	sim_tk_setup(&s);
	chronon__tk_seed(&s.tk, mono_rate() * (1 + 3e-6), raw_rate() * (1 + 3e-6), 1e-6);
	sim_run(&s, 5e9, 1e5, 0);
	double off = s.tk.raw.rate / raw_rate() - 1;
	CHECK(fabs(off) < 0.5e-6 && s.tk.raw.prior == 0, "after 5 s the rate is %+.2f ppm off (prior %g)",
	      off * 1e6, s.tk.raw.prior);
	int64_t w = sim_run(&s, 1e9, 1e5, 0);
	sim_set_mono_ppm(500);
	sim_run(&s, 100e6, 1e5, 0);
	int64_t after = sim_run(&s, 2e9, 1e5, 0);
	printf("seed 3 ppm off: %+.2f ppm after 5 s, worst %lld ns; then +500 ppm: %lld ns after 100 ms\n",
	       off * 1e6, (long long)w, (long long)after);
	CHECK(w <= 150, "steady %lld ns", (long long)w);
	CHECK(after <= 200, "after the kernel's move %lld ns", (long long)after);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

int main(void)
{
	resumes_at_the_kernels_rate();
	wakes_to_a_quiet_kernel();
	starts_without_calibrating();
	implausible_ignored();
	replaced_by_what_it_learns();
	return test_exit();
}
