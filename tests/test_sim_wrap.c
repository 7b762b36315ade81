/* A 32-bit counter that wraps every 2.1 s at 2 GHz: deltas are taken
 * modulo the mask, and time runs straight through every wrap. */
#include "sim.h"

int main(void)
{
	struct sim_tk s;
	sim_reset();
	sim.mask = 0xffffffffull;
	sim.ticks = 0xffffffffull - 2000000; /* wraps in the first millisecond */
	sim_tk_setup(&s);
	int64_t worst = sim_run(&s, 60e9, 1e6, 20e6); /* ~28 wraps */
	printf("32-bit counter, ~28 wraps: worst %lld ns\n", (long long)worst);
	CHECK(worst <= 100, "worst %lld ns", (long long)worst);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
	CHECK(atomic_load(&s.tk.state) == CHRONON__TK_COUNTER, "state %d", atomic_load(&s.tk.state));
	/* Idle across several wraps: the delta is ambiguous modulo 2^32, so
	 * this is exactly what a narrow counter cannot survive unread; the
	 * documented limit is that it is read at least once per 7/8 wrap.
	 * A gap of less than that is fine: */
	sim_advance_ns(1.5e9);
	worst = sim_run(&s, 2e9, 1e6, 0);
	CHECK(worst <= 1000, "after 1.5 s unread: %lld ns", (long long)worst);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
	return test_exit();
}
