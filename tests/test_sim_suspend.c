/* Suspend and resume, counter resets, long idle: BOOTTIME jumps by the
 * time suspended, MONOTONIC does not, nothing goes back, and the clock is
 * right again at once (absl #1460: time stuck at the pre-sleep value). */
#include "sim.h"

static struct sim_tk s;

static void settle(void)
{
	sim_reset();
	sim_tk_setup(&s);
	sim_run(&s, 10e9, 1e6, 0);
}

static void check_right_away(const char *what)
{
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++) {
		int64_t e;
		sim_measure(&s, (enum chronon__ck)ck, &e);
		CHECK(e >= -1000 && e <= 1000, "%s: clock %d off by %lld ns at the first read", what, ck,
		      (long long)e);
	}
	int64_t worst = sim_run(&s, 5e9, 1e6, 0);
	CHECK(worst <= 100, "%s: then %lld ns", what, (long long)worst);
	CHECK(sim_backwards == 0, "%s: %llu backward steps", what, (unsigned long long)sim_backwards);
	printf("%s: right from the first read, then within %lld ns\n", what, (long long)worst);
}

static void suspend(double ns, int resets)
{
	settle();
	sim_advance_ns(3e6); /* mid-way through a validity window */
	uint64_t n = s.tk.suspends;
	sim_suspend(ns, resets);
	char what[96];
	snprintf(what, sizeof what, "suspend %.3f s, counter %s", ns / 1e9, resets ? "reset" : "running");
	check_right_away(what);
	CHECK(s.tk.suspends == n + 1, "%s: suspend not counted", what);
}

static void long_idle(double ns)
{
	settle();
	sim_advance_ns(ns);
	char what[64];
	snprintf(what, sizeof what, "idle %.0f s", ns / 1e9);
	check_right_away(what);
}

/* A counter that is not quite what the kernel's clock runs on shows a
 * large error without any suspend: stepped forward, never back. */
static void counter_jump(void)
{
	settle();
	sim.ticks += 2000000000ull * 5; /* +5 s of counter, kernel unmoved */
	int64_t e;
	sim_measure(&s, CHRONON__CK_MONO, &e);
	CHECK(e <= 1000, "counter jump: first read %lld ns ahead", (long long)e);
	check_right_away("counter jumped 5 s ahead of the kernel");
}

int main(void)
{
	suspend(30e9, 0);
	suspend(30e9, 1);
	/* Shorter than the page's validity window (10 ms) would be seen
	 * late; a real suspend takes far longer than that to happen. */
	suspend(25e6, 0);
	suspend(3600e9, 0);
	long_idle(3600e9);
	long_idle(1.5e9);
	counter_jump();
	return test_exit();
}
