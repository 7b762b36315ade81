/* Never backwards across a change of where the answers come from: from
 * the kernel's answers to the counter (the end of calibration) and from
 * one line to a re-based one, for every served clock, REALTIME and TAI
 * too.  A reader that answered from the kernel just before a snapshot's
 * write section opened must find the new snapshot at or above its answer;
 * and no signal handler may run inside the write section, where its
 * answer could come after the floors were read. */
#include <pthread.h>
#include <signal.h>

#include "sim.h"

static struct sim_tk s;
static int64_t nested[CHRONON__CK_COUNT];
static int nested_done, sections_seen, unblocked;

/* At the writer's pivot (its counter read inside the write section): a
 * reader on another thread that answered every clock from the kernel at
 * that very moment, just before the count went odd. */
static void at_counter_read(void)
{
	uint32_t seq = atomic_load(&s.page.seq);
	if (!(seq & 1) || nested_done)
		return;
	sections_seen++;
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	if (!sigismember(&cur, SIGALRM) || !sigismember(&cur, SIGUSR1) || !sigismember(&cur, SIGPROF))
		unblocked++;
	atomic_store(&s.page.seq, seq - 1);
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++)
		nested[ck] = chronon__tk_read_slow(&s.tk, (enum chronon__ck)ck);
	atomic_store(&s.page.seq, seq);
	nested_done = 1;
}

static int check_after(const char *what)
{
	int back = 0;
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++) {
		int64_t v = sim_read(&s, (enum chronon__ck)ck);
		if (v < nested[ck]) {
			printf("%s: clock %d back by %lld ns\n", what, ck, (long long)(nested[ck] - v));
			back++;
		}
	}
	return back;
}

/* The end of calibration, with the REALTIME offset's first samples
 * preempted on the way out of REALTIME's reads by stall ns (the offset's
 * interval then reaches that far below the true offset). */
static void calibration_end(double stall, uint64_t seed)
{
	sim_reset();
	sim.rng = seed;
	sim_tk_setup(&s);
	sim_read(&s, CHRONON__CK_MONO);
	sim_stall(CLOCK_REALTIME, 8, -stall);
	nested_done = 0;
	sim.on_counter_read = at_counter_read;
	for (int i = 0; i < 2000 && atomic_load(&s.tk.state) != CHRONON__TK_COUNTER; i++) {
		sim_advance_ns(10000);
		sim_read(&s, CHRONON__CK_MONO);
	}
	sim.on_counter_read = NULL;
	CHECK(nested_done, "no write section seen");
	char what[80];
	snprintf(what, sizeof what, "kernel to counter, offset samples preempted %.0f ns", stall);
	int back = check_after(what);
	CHECK(back == 0, "%s: %d clocks went back", what, back);
	sim_run(&s, 1e9, 1e5, 0);
	CHECK(sim_backwards == 0, "%s: %llu backward steps after", what,
	      (unsigned long long)sim_backwards);
}

/* A re-base (a suspend with the counter running) with the same reader
 * at its pivot. */
static void rebase(uint64_t seed)
{
	sim_reset();
	sim.rng = seed;
	sim_tk_setup(&s);
	sim_run(&s, 2e9, 1e6, 0);
	sim_suspend(5e9, 0);
	nested_done = 0;
	sim.on_counter_read = at_counter_read;
	sim_read(&s, CHRONON__CK_MONO);
	sim.on_counter_read = NULL;
	CHECK(nested_done, "no write section seen");
	int back = check_after("re-base");
	CHECK(back == 0, "re-base: %d clocks went back", back);
}

/* A write section left open by a writer that is gone (a fork copied the
 * page mid-update): no reader waits for it, every read answers within
 * the kernel's bracket, and none goes back. */
static void stuck_section(int calibrated)
{
	sim_reset();
	sim_tk_setup(&s);
	sim_read(&s, CHRONON__CK_MONO);
	if (calibrated)
		sim_run(&s, 1e9, 1e6, 0);
	uint32_t seq = atomic_load(&s.page.seq);
	atomic_store(&s.page.seq, seq | 1);
	for (int i = 0; i < 20; i++) {
		sim_advance_ns(1e6);
		for (int ck = 0; ck < CHRONON__CK_COUNT; ck++) {
			clockid_t id = chronon__ck_clockid((enum chronon__ck)ck);
			/* the offsets close in from below: up to ~20 ns low */
			int64_t lo = sim_kernel(id) - 100;
			int64_t v = sim_read(&s, (enum chronon__ck)ck);
			int64_t hi = sim_kernel(id) + 1000000;
			CHECK(v >= lo && v <= hi, "stuck section (%s): clock %d at %lld, kernel %lld",
			      calibrated ? "counter" : "calibrating", ck, (long long)v, (long long)lo);
		}
	}
	CHECK(sim_backwards == 0, "stuck section: %llu backward steps",
	      (unsigned long long)sim_backwards);
}

int main(void)
{
	stuck_section(0);
	stuck_section(1);
	for (uint64_t seed = 1; seed <= 20; seed++) {
		calibration_end(2000, seed);
		calibration_end(100, seed);
		rebase(seed);
	}
	CHECK(unblocked == 0, "signals not blocked in %d of %d write sections", unblocked,
	      sections_seen);
	printf("%d write sections: a reader at the pivot never saw time go back; signals blocked "
	       "in %d\n",
	       sections_seen, sections_seen - unblocked);
	return test_exit();
}
