/* Cold start on the simulated counter: the first reads come from the
 * kernel at once, the counter takes over after the calibration baseline
 * without a jump, and the error is within bound from then on. */
#include "sim.h"

static void cold_start(void)
{
	struct sim_tk s;
	sim_reset();
	sim_tk_setup(&s);
	int64_t e;
	uint64_t kr = sim.kernel_reads;
	sim_measure(&s, CHRONON__CK_MONO, &e);
	CHECK(e == 0, "first read off the kernel by %lld", (long long)e);
	CHECK(sim.kernel_reads - kr <= 2, "first read made %llu kernel reads",
	      (unsigned long long)(sim.kernel_reads - kr));
	CHECK(atomic_load(&s.tk.state) == CHRONON__TK_STARTED, "state %d", atomic_load(&s.tk.state));
	double t = 0;
	while (atomic_load(&s.tk.state) != CHRONON__TK_COUNTER && t < 50e6) {
		sim_advance_ns(10000);
		t += 10000;
		sim_measure(&s, CHRONON__CK_MONO, &e);
		CHECK(e == 0, "calibrating read off the kernel by %lld at %.0f ns", (long long)e, t);
	}
	CHECK(atomic_load(&s.tk.state) == CHRONON__TK_COUNTER, "no counter mode after %.0f ns", t);
	CHECK(t <= 5e6, "calibration took %.0f ns", t);
	int64_t worst = sim_run(&s, 5e9, 1e5, 0);
	CHECK(worst <= 150, "worst error right after calibration %lld ns", (long long)worst);
	worst = sim_run(&s, 60e9, 1e6, 0);
	CHECK(worst <= 60, "worst error in steady state %lld ns", (long long)worst);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
	struct chronon_status st;
	chronon__status_of(&s.tk, &st);
	CHECK(st.frequency_hz > 1999990000 && st.frequency_hz < 2000010000, "frequency %llu",
	      (unsigned long long)st.frequency_hz);
	printf("cold start: counter after %.2f ms, worst steady error %lld ns, freq %llu Hz\n", t / 1e6,
	       (long long)worst, (unsigned long long)st.frequency_hz);
}

/* A stated frequency that is exact (CPUID 0x15): the counter serves at
 * once, and a kernel running 500 ppm off it is still followed. */
static void stated_frequency(double kernel_ppm)
{
	struct sim_tk s;
	sim_reset();
	sim.stated_hz = 2000000000;
	sim.exact = 1;
	sim_set_mono_ppm(kernel_ppm);
	sim_tk_setup(&s);
	int64_t e;
	sim_measure(&s, CHRONON__CK_MONO, &e);
	sim_advance_ns(1000);
	sim_measure(&s, CHRONON__CK_MONO, &e);
	CHECK(atomic_load(&s.tk.state) == CHRONON__TK_COUNTER, "stated frequency: state %d",
	      atomic_load(&s.tk.state));
	int64_t early = sim_run(&s, 1e9, 1e5, 0);
	int64_t late = sim_run(&s, 30e9, 1e6, 0);
	printf("stated frequency, kernel %+.0f ppm: worst first second %lld ns, then %lld ns\n",
	       kernel_ppm, (long long)early, (long long)late);
	/* 500 ppm over the first 1 ms interval is 500 ns, halved each time */
	CHECK(early <= 600, "first second %lld ns", (long long)early);
	CHECK(late <= 60, "steady %lld ns", (long long)late);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* Neither counter nor kernel: the calibrated path with the kernel's
 * MONOTONIC 500 ppm off the counter's true rate. */
static void calibrated_off_rate(double ppm)
{
	struct sim_tk s;
	sim_reset();
	sim_set_mono_ppm(ppm);
	sim_tk_setup(&s);
	int64_t worst = sim_run(&s, 2e9, 1e5, 10e6);
	int64_t late = sim_run(&s, 30e9, 1e6, 0);
	printf("calibrated, kernel %+.0f ppm: worst %lld ns then %lld ns\n", ppm, (long long)worst,
	       (long long)late);
	CHECK(worst <= 150, "%+.0f ppm: %lld ns", ppm, (long long)worst);
	CHECK(late <= 60, "%+.0f ppm steady: %lld ns", ppm, (long long)late);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

int main(void)
{
	cold_start();
	stated_frequency(500);
	stated_frequency(-500);
	calibrated_off_rate(500);
	calibrated_off_rate(-500);
	return test_exit();
}
