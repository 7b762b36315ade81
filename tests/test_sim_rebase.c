/* No backward step across a re-base, whatever the page's validity window
 * (in process 10 ms; chronond's 1.05 s), however long a suspend with the
 * counter running (shorter than the window too), whatever the kernel's
 * slew (up to 10 %) or a change of the counter's own rate.  A re-base
 * starts at least at the old line's value at the pivot (what readers may
 * have seen); when the kernel is behind that, chronon runs slower until
 * they meet: at most 10 % slower, so an error A is gone after A x 10, and
 * within 1 us in process 1 s later, with chronond's window 5 s later
 * (its slews may not be shorter than half its window, so that one left
 * running by a killed chronond cannot overshoot). */
#include "sim.h"
#include "tk_internal.h"

static struct sim_tk s;

#define DAEMON_WINDOW_NS 1050000000LL /* chronond: 2 x 500 ms + 50 ms */
#define DAEMON_EVERY_NS 500e6

static int daemon_mode;
static int64_t run(double ns);

static void start(int daemon)
{
	sim_reset();
	sim_tk_setup(&s);
	daemon_mode = daemon;
	sim_run(&s, 100e6, 1e6, 0); /* calibrated, in process */
	if (daemon)
		s.tk.cfg.page_valid_ns = DAEMON_WINDOW_NS;
	run(5e9);
}

/* Reads every clock every ms for ns; in daemon mode the page is updated
 * every 500 ms by the "daemon" (the readers never do the work). */
static double since_update;

/* As chronond: every 500 ms, sooner when the timekeeper's schedule asks. */
static double next_gap(void)
{
	double gap = (double)(s.tk.next_resync_k - sim_kernel(CLOCK_MONOTONIC));
	return gap > DAEMON_EVERY_NS ? DAEMON_EVERY_NS : gap;
}

static int64_t run(double ns)
{
	int64_t worst = 0;
	for (double t = 0; t < ns; t += 1e6) {
		int64_t w = sim_run(&s, 1e6, 1e6, 0);
		if (w > worst)
			worst = w;
		since_update += 1e6;
		if (daemon_mode && since_update >= next_gap()) {
			since_update = 0;
			chronon__tk_update(&s.tk);
		}
	}
	return worst;
}

static void report(const char *what, double recover_ns, int64_t bound)
{
	int64_t during = run(recover_ns);
	int64_t after = run(2e9);
	printf("%s: worst %lld ns over %.1f s, then %lld ns; %llu backward steps\n", what,
	       (long long)during, recover_ns / 1e9, (long long)after,
	       (unsigned long long)sim_backwards);
	CHECK(sim_backwards == 0, "%s: %llu backward steps", what, (unsigned long long)sim_backwards);
	CHECK(after <= bound, "%s: %lld ns after %.1f s", what, (long long)after, recover_ns / 1e9);
}

/* A suspend of ns with the counter running, `into` ns after an update. */
static void suspend_inside(int daemon, double into, double ns, double recover_ns)
{
	start(daemon);
	since_update = 0;
	if (daemon)
		chronon__tk_update(&s.tk);
	else
		sim_run(&s, 20e6, 20e6, 0); /* expire, re-base at the next read */
	run(into);
	sim_suspend(ns, 0);
	char what[96];
	snprintf(what, sizeof what, "%s: %.0f ms suspend %.0f ms into the window",
		 daemon ? "chronond window" : "in process", ns / 1e6, into / 1e6);
	report(what, recover_ns, 1000);
}

/* The kernel slewed by ppm for ns (chrony's tick slew). */
static void slew(int daemon, double ppm, double ns)
{
	start(daemon);
	sim_set_mono_ppm(ppm);
	run(ns);
	sim_set_mono_ppm(0);
	char what[96];
	snprintf(what, sizeof what, "%s: kernel slewed %+.0f ppm for %.1f s",
		 daemon ? "chronond window" : "in process", ppm, ns / 1e9);
	/* ahead by up to the slew times chronond's interval, caught up at
	 * 10 %, and the rest slewed away over a few updates */
	report(what, daemon ? 5e9 : 1e9, 1000);
}

/* The counter's own frequency changes by ppm (both kernel clocks keep
 * their ns rates). */
static void counter_rate(int daemon, double ppm)
{
	start(daemon);
	sim_set_counter_hz(sim.hz * (1 + ppm * 1e-6));
	char what[96];
	snprintf(what, sizeof what, "%s: counter rate %+.0f ppm",
		 daemon ? "chronond window" : "in process", ppm);
	report(what, daemon ? 5e9 : 1e9, 1000);
}

int main(void)
{
	suspend_inside(0, 2e6, 6e6, 1e9);
	suspend_inside(0, 1e6, 3e6, 1e9);
	suspend_inside(1, 100e6, 400e6, 4e9 + 5e9);
	suspend_inside(1, 300e6, 100e6, 1e9 + 5e9);
	slew(1, -83333, 0.5e9);
	slew(1, -100000, 1.0e9);
	slew(0, -100000, 1.0e9);
	counter_rate(1, 50000);
	counter_rate(1, -50000);
	counter_rate(0, 50000);
	return test_exit();
}
