/* The counter behind a host's paravirtual clock page, on the simulated
 * counter and kernel: the page states the rate (no calibration), and every
 * change the host makes to it is noticed by the very next read, without a
 * backward step and without a wrong time. */
#include <string.h>

#include "sim.h"

static int64_t run_checked(struct sim_tk *s, double ns, double every, const char *what)
{
	int64_t worst = sim_run(s, ns, every, 0);
	printf("  %s: worst error %lld ns\n", what, (long long)worst);
	return worst;
}

/* Two reads: the first is answered by the kernel, the second probes and
 * finds the page's exact rate, so the counter serves at once. */
static int hyperv;

static void start(struct sim_tk *s)
{
	sim_reset();
	if (hyperv)
		sim_hv_enable();
	else
		sim_pv_enable();
	sim_tk_setup(s);
	int64_t e;
	sim_measure(s, CHRONON__CK_MONO, &e);
	sim_advance_ns(1000);
	sim_measure(s, CHRONON__CK_MONO, &e);
}

static void stated_rate(void)
{
	struct sim_tk s;
	start(&s);
	CHECK(atomic_load(&s.tk.state) == CHRONON__TK_COUNTER, "state %d after two reads",
	      atomic_load(&s.tk.state));
	struct chronon_status st;
	chronon__status_of(&s.tk, &st);
	const char *name = hyperv ? "hvclock" : "pvclock";
	CHECK(strcmp(st.frequency_source, name) == 0, "source %s", st.frequency_source);
	CHECK(strcmp(st.paravirt, name) == 0 && st.paravirt_version == 2, "paravirt %s v%u",
	      st.paravirt, st.paravirt_version);
	CHECK(st.nominal_hz > 1999999000 && st.nominal_hz < 2000001000, "stated %llu Hz",
	      (unsigned long long)st.nominal_hz);
	int64_t w = run_checked(&s, 5e9, 1e5, "stated by the page, first 5 s");
	CHECK(w <= 60, "error %lld ns", (long long)w);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* The read path alone: once the host bumps the version, the page's fast
 * read refuses (before any timekeeper runs). */
static void guard_on_the_read_path(void)
{
	struct sim_tk s;
	start(&s);
	sim_run(&s, 1e8, 1e5, 0);
	int64_t ns;
	CHECK(chronon__page_read(&s.page, CHRONON__CK_MONO, &ns) == CHRONON__READ_OK,
	      "fast read before the rewrite");
	sim_pv_rewrite(0, 0, 1);
	CHECK(chronon__page_read(&s.page, CHRONON__CK_MONO, &ns) == CHRONON__READ_SLOW,
	      "a read after the host's rewrite still used the old scale");
	int expired;
	uint32_t count;
	CHECK(chronon__page_extrapolate(&s.page, CHRONON__CK_MONO, &ns, &expired, &count) ==
		      CHRONON__READ_SLOW,
	      "the slow path's extrapolation used the old scale");
}

/* A routine rewrite: same scale, same line.  Only the guard moves. */
static void routine_rewrite(void)
{
	struct sim_tk s;
	start(&s);
	sim_run(&s, 2e9, 1e5, 0);
	uint64_t steps = s.tk.steps;
	sim_pv_rewrite(0, 0, 1);
	int64_t e;
	sim_measure(&s, CHRONON__CK_MONO, &e);
	CHECK(e == 0 || (e < 100 && e > -100), "first read after rewrite off by %lld", (long long)e);
	int64_t w = run_checked(&s, 2e9, 1e5, "after a routine rewrite");
	CHECK(w <= 60, "error %lld ns", (long long)w);
	CHECK(s.tk.steps == steps, "a routine rewrite re-based (%llu steps)",
	      (unsigned long long)(s.tk.steps - steps));
	CHECK(s.tk.pv_changes == 1 && s.tk.pv.guard == sim_pv_version(), "changes %llu guard %u",
	      (unsigned long long)s.tk.pv_changes, s.tk.pv.guard);
	int64_t ns;
	CHECK(chronon__page_read(&s.page, CHRONON__CK_MONO, &ns) == CHRONON__READ_OK,
	      "fast path not back after the rewrite");
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* Live migration: the counter jumps 2 ms (inside the fast path's window,
 * so only the guard can catch it), or back by 2 ms, while the kernel's
 * clocks run on. */
static void migration(int64_t jump_ns)
{
	struct sim_tk s;
	start(&s);
	sim_run(&s, 2e9, 1e5, 0);
	sim_pv_rewrite(jump_ns * 2, 0, 1);
	int64_t e, worst = 0;
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++) {
		sim_measure(&s, (enum chronon__ck)ck, &e);
		if ((e < 0 ? -e : e) > worst)
			worst = e < 0 ? -e : e;
	}
	printf("  migration, counter %+lld ns: first reads off by at most %lld ns\n",
	       (long long)jump_ns, (long long)worst);
	/* A forward jump is followed at once; a backward one holds the
	 * clocks at the highest value handed out until the kernel passes it:
	 * never more behind than the line ran ahead (the pad, a few us). */
	CHECK(worst <= 20000, "first reads after migration off by %lld ns", (long long)worst);
	int64_t w = run_checked(&s, 3e9, 1e5, "after migration");
	CHECK(w <= 20000, "error after migration %lld ns", (long long)w);
	int64_t late = run_checked(&s, 5e9, 1e5, "then");
	CHECK(late <= 100, "error later %lld ns", (long long)late);
	CHECK(s.tk.steps >= 1, "no re-base after the counter jumped");
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* TSC scaling changed: the counter runs 5 % faster from now on, the page
 * says so, and the next snapshot runs at the new rate. */
static void new_rate(void)
{
	struct sim_tk s;
	start(&s);
	sim_run(&s, 2e9, 1e5, 0);
	sim_pv_rewrite(0, 2.1e9, 1);
	int64_t e;
	sim_measure(&s, CHRONON__CK_MONO, &e);
	CHECK(e < 1000 && e > -1000, "first read at the new rate off by %lld ns", (long long)e);
	int64_t w = run_checked(&s, 3e9, 1e5, "after the rate change");
	CHECK(w <= 1000, "error %lld ns", (long long)w);
	struct chronon_status st;
	chronon__status_of(&s.tk, &st);
	CHECK(st.frequency_hz > 2099990000 && st.frequency_hz < 2100010000, "rate %llu Hz",
	      (unsigned long long)st.frequency_hz);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* Long after a host's rate change was taken up, a short suspend inside
 * the page's window (the counter runs on, the kernel's MONOTONIC does
 * not): the re-base must bound what readers saw by the line's own
 * extent, not by the rate change's old scale, which a flag left set from
 * the change would apply again (5 % short of what was handed out). */
static void rate_then_suspend(void)
{
	int64_t worst = 0;
	for (int into = 0; into < 10; into++) {
		struct sim_tk s;
		start(&s);
		sim_run(&s, 2e9, 1e5, 0);
		sim_pv_rewrite(0, 2.1e9, 1);
		sim_run(&s, 3e9 + into * 1e6, 1e5, 0);
		sim_suspend(3e6, 0);
		/* The line ran through the suspend, which MONOTONIC does
		 * not count: held until the kernel catches up, then within
		 * bound. */
		sim_run(&s, 2e9, 1e5, 0);
		int64_t w = sim_run(&s, 2e9, 1e5, 0);
		worst = w > worst ? w : worst;
		CHECK(sim_backwards == 0, "%llu backward steps (suspend %d ms later)",
		      (unsigned long long)sim_backwards, into);
	}
	printf("  rate change, then a 3 ms suspend at 10 points of the window: worst error %lld ns 2 s after\n",
	       (long long)worst);
	CHECK(worst <= 1000, "error %lld ns", (long long)worst);
}

/* The host stops vouching (stable bit cleared): the next read is the
 * kernel's, plus the pad, and nothing goes back. */
static void unstable(void)
{
	struct sim_tk s;
	start(&s);
	sim_run(&s, 2e9, 1e5, 0);
	sim_pv_rewrite(0, 0, 0);
	int64_t e;
	sim_measure(&s, CHRONON__CK_MONO, &e);
	CHECK(atomic_load(&s.tk.state) == CHRONON__TK_KERNEL, "state %d after the stable bit went",
	      atomic_load(&s.tk.state));
	int64_t w = run_checked(&s, 1e9, 1e5, "kernel mode after the stable bit went");
	int64_t pad = atomic_load(&s.page.pad_ns);
	CHECK(w <= pad + 1, "error %lld ns with pad %lld", (long long)w, (long long)pad);
	CHECK(strstr(s.tk.reason, hyperv ? "hvclock" : "pvclock") != NULL, "reason '%s'",
	      s.tk.reason);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* The kernel stops vouching at run time (watchdog, administrator): within
 * one resync interval, without a backward step. */
static void trust_lost(void)
{
	struct sim_tk s;
	start(&s);
	sim_run(&s, 3e9, 1e5, 0);
	sim.untrusted = 1;
	double t = 0;
	int64_t e;
	while (atomic_load(&s.tk.state) == CHRONON__TK_COUNTER && t < 5e9) {
		sim_advance_ns(1e5);
		t += 1e5;
		for (int ck = 0; ck < CHRONON__CK_COUNT; ck++)
			sim_measure(&s, (enum chronon__ck)ck, &e);
	}
	printf("  trust lost: kernel mode after %.0f ms\n", t / 1e6);
	CHECK(atomic_load(&s.tk.state) == CHRONON__TK_KERNEL, "still on the counter after %.0f ms",
	      t / 1e6);
	CHECK(t <= 1.1e9, "took %.0f ms (one resync interval is 1 s)", t / 1e6);
	sim_run(&s, 1e9, 1e5, 0);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* The host paused the guest and says so (GUEST_STOPPED): re-based. */
static void paused(void)
{
	struct sim_tk s;
	start(&s);
	sim_run(&s, 2e9, 1e5, 0);
	uint64_t steps = s.tk.steps;
	sim_advance_ns(3e9);
	sim_pv_rewrite(0, 0, 3);
	int64_t w = run_checked(&s, 2e9, 1e5, "after a pause the page reports");
	CHECK(w <= 100, "error %lld ns", (long long)w);
	CHECK(s.tk.steps > steps, "no re-base after the pause");
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

int main(void)
{
	printf("KVM pvclock page:\n");
	stated_rate();
	guard_on_the_read_path();
	routine_rewrite();
	migration(2000000);
	migration(-2000000);
	new_rate();
	rate_then_suspend();
	unstable();
	trust_lost();
	paused();
	/* Hyper-V's TSC page: the same promises; sequence 0 is its way of
	 * withdrawing the page. */
	hyperv = 1;
	printf("Hyper-V TSC page:\n");
	stated_rate();
	guard_on_the_read_path();
	routine_rewrite();
	migration(2000000);
	migration(-2000000);
	new_rate();
	unstable();
	return test_exit();
}
