/* CLOCK_REALTIME set forwards and backwards: REALTIME and TAI follow
 * within one check interval (10 ms, at once with the timerfd notice);
 * MONOTONIC, BOOTTIME and MONOTONIC_RAW do not move. */
#include "sim.h"

static struct sim_tk s;

static int64_t read_err(enum chronon__ck ck)
{
	int64_t e;
	sim_measure(&s, ck, &e);
	return e < 0 ? -e : e;
}

static void step(int64_t by, int notify)
{
	sim_reset();
	sim_tk_setup(&s);
	sim_run(&s, 5e9, 1e6, 0);
	uint64_t steps = s.tk.realtime_steps;
	int64_t mono_before = sim_read(&s, CHRONON__CK_MONO);
	sim_step_realtime(by);
	if (!notify)
		sim.realtime_set = 0;
	double seen_after = -1;
	for (double t = 0; t < 50e6; t += 1e5) {
		sim_advance_ns(1e5);
		if (read_err(CHRONON__CK_REAL) <= 100 && read_err(CHRONON__CK_TAI) <= 100) {
			seen_after = t;
			break;
		}
	}
	int64_t mono_after = sim_read(&s, CHRONON__CK_MONO);
	printf("REALTIME step %+lld ns (%s): seen after %.1f ms\n", (long long)by,
	       notify ? "timerfd notice" : "sampling only", seen_after / 1e6);
	CHECK(seen_after >= 0 && seen_after <= 10.5e6, "step seen after %.0f ns", seen_after);
	CHECK(s.tk.realtime_steps == steps + 1, "steps counted %llu",
	      (unsigned long long)(s.tk.realtime_steps - steps));
	CHECK(mono_after - mono_before < 20000000, "MONOTONIC moved by %lld",
	      (long long)(mono_after - mono_before));
	int64_t worst = sim_run(&s, 5e9, 1e6, 0);
	CHECK(worst <= 60, "after the step %lld ns", (long long)worst);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* A leap of the TAI offset (the kernel's tai field changes). */
static void tai_change(void)
{
	sim_reset();
	sim_tk_setup(&s);
	sim_run(&s, 2e9, 1e6, 0);
	sim.tai_s = 38;
	sim_run(&s, 20e6, 1e6, 0);
	CHECK(read_err(CHRONON__CK_TAI) <= 100, "TAI after offset change off by %lld",
	      (long long)read_err(CHRONON__CK_TAI));
}

int main(void)
{
	step(3600LL * 1000000000, 1);
	step(-3600LL * 1000000000, 1);
	step(1500, 1);
	step(-250000, 0);
	step(86400LL * 1000000000, 0);
	tai_change();
	return test_exit();
}
