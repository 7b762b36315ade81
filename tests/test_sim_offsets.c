/* The REALTIME, BOOTTIME (and so TAI) offsets after a bad first sample:
 * the first offset samples are taken at the process's second clock read,
 * and a preemption inside them must not leave the offsets off for good.
 * They converge into what the samples prove, BOOTTIME never going back,
 * and bounded time always contains true time. */
#include "bound.h"
#include "sim.h"

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

/* clock: the kernel clock whose reads inside the first samples stall. */
static void bad_first_sample(clockid_t clock, double stall_ns)
{
	struct sim_tk s;
	sim_reset();
	sim_ntp_sync(1000, 100); /* a synchronised kernel, maxerror 1 ms */
	sim_tk_setup(&s);
	sim_read(&s, CHRONON__CK_MONO); /* NEW: the kernel answers */
	sim_advance_ns(1000);
	sim_stall(clock, 2, stall_ns); /* both tries of the first sample */
	sim_read(&s, CHRONON__CK_MONO); /* STARTED: the first samples */
	int64_t worst_in = 0;
	int64_t worst_real = 0, worst_boot = 0;
	for (int i = 0; i < 3000; i++) {
		sim_advance_ns(1e6);
		int64_t e;
		for (int ck = 0; ck < CHRONON__CK_COUNT; ck++)
			sim_measure(&s, (enum chronon__ck)ck, &e);
		if (atomic_load(&s.tk.state) != CHRONON__TK_COUNTER)
			continue;
		struct chronon_bound b;
		int64_t t0 = sim_true(CLOCK_REALTIME);
		chronon__bound_of(&s.tk, CHRONON__CK_REAL, &b);
		int64_t t1 = sim_true(CLOCK_REALTIME);
		if (b.status == CHRONON_BOUND_SYNCHRONISED) {
			int64_t out = b.earliest_ns > t0 ? b.earliest_ns - t0
				      : t1 > b.latest_ns ? t1 - b.latest_ns
							 : 0;
			if (out > worst_in)
				worst_in = out;
		}
		if (i >= 1000) { /* after a second */
			sim_measure(&s, CHRONON__CK_REAL, &e);
			if (abs64(e) > worst_real)
				worst_real = abs64(e);
			sim_measure(&s, CHRONON__CK_BOOT, &e);
			if (abs64(e) > worst_boot)
				worst_boot = abs64(e);
		}
	}
	printf("first %s sample preempted %.0f us: REALTIME within %lld ns, BOOTTIME %lld ns after "
	       "1 s; true time outside the bounded interval by %lld ns\n",
	       clock == CLOCK_REALTIME ? "REALTIME" : clock == CLOCK_BOOTTIME ? "BOOTTIME" : "MONOTONIC",
	       stall_ns / 1e3, (long long)worst_real, (long long)worst_boot, (long long)worst_in);
	CHECK(worst_real <= 100, "REALTIME off by %lld ns", (long long)worst_real);
	CHECK(worst_boot <= 100, "BOOTTIME off by %lld ns", (long long)worst_boot);
	CHECK(worst_in == 0, "true time outside the interval by %lld ns", (long long)worst_in);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

int main(void)
{
	bad_first_sample(CLOCK_REALTIME, 20e3);
	bad_first_sample(CLOCK_BOOTTIME, 20e3);
	bad_first_sample(CLOCK_REALTIME, 4e6);
	bad_first_sample(CLOCK_BOOTTIME, 4e6);
	bad_first_sample(CLOCK_MONOTONIC, 20e3);
	return test_exit();
}
