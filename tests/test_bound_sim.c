/*
 * Bounded time on the simulated counter and kernel, with a simulated NTP
 * daemon behind adjtimex.  At every read: when chronon says synchronised,
 * the interval contains the simulated true time; when it does not, the
 * interval is infinite; and while chronon's copy of the kernel's state is
 * current, the interval is no narrower than the kernel's maxerror says it
 * must be (the inputs), and not much wider.
 */
#include <errno.h>
#include <string.h>
#include <sys/timex.h>

#include "bound.h"
#include "sim.h"

/* The kernel's MONOTONIC when the test last changed the daemon's state:
 * until chronon has read the state after that, its width is judged only
 * by containment. */
static int64_t changed_mono;

struct tally {
	int synced, unsynced, unknown;
};

static void note_change(void)
{
	changed_mono = sim_kernel(CLOCK_MONOTONIC);
}

static clockid_t id_of(enum chronon__ck ck)
{
	return ck == CHRONON__CK_TAI ? CLOCK_TAI : CLOCK_REALTIME;
}

static struct chronon_bound check(struct sim_tk *s, enum chronon__ck ck, struct tally *t,
				  const char *what)
{
	clockid_t id = id_of(ck);
	struct chronon_bound b;
	int64_t t0 = sim_true(id);
	chronon__bound_of(&s->tk, ck, &b);
	int64_t t1 = sim_true(id);
	CHECK(b.clock == id, "%s: clock %d", what, (int)b.clock);
	if (b.status != CHRONON_BOUND_SYNCHRONISED) {
		CHECK(b.earliest_ns == INT64_MIN && b.latest_ns == INT64_MAX,
		      "%s: status %d with a finite interval", what, (int)b.status);
		if (b.status == CHRONON_BOUND_UNKNOWN)
			t->unknown++;
		else
			t->unsynced++;
		return b;
	}
	t->synced++;
	CHECK(b.earliest_ns <= t0 && t1 <= b.latest_ns,
	      "%s: true time %lld..%lld outside [%lld, %lld] (now %lld)", what, (long long)t0,
	      (long long)t1, (long long)b.earliest_ns, (long long)b.latest_ns, (long long)b.now_ns);
	struct chronon__ntp k;
	sim_ntp_now(&k);
	if (s->tk.ntp_read == 1 && s->tk.ntp.mono_ns >= changed_mono) {
		int64_t need = k.maxerror_us * 1000;
		int64_t below = b.now_ns - b.earliest_ns, above = b.latest_ns - b.now_ns;
		CHECK(below >= need && above >= need,
		      "%s: half-widths %lld / %lld ns below the kernel's maxerror %lld ns", what,
		      (long long)below, (long long)above, (long long)need);
		CHECK(below <= need + 1100000 + b.leap_ns && above <= need + 1100000 + b.leap_ns,
		      "%s: half-widths %lld / %lld ns, kernel's maxerror %lld ns", what,
		      (long long)below, (long long)above, (long long)need);
	}
	CHECK(b.tracking_ns > 0 && b.tracking_ns < 20000, "%s: tracking %lld ns", what,
	      (long long)b.tracking_ns);
	return b;
}

/* An application's life: the clock read every `every` ns (which drives
 * the timekeeper), both bounded clocks checked each time. */
static void run(struct sim_tk *s, double ns, double every, struct tally *t, const char *what)
{
	for (double x = 0; x < ns; x += every) {
		sim_advance_ns(every);
		sim_read(s, CHRONON__CK_MONO);
		check(s, CHRONON__CK_REAL, t, what);
		check(s, CHRONON__CK_TAI, t, what);
	}
}

/* A timekeeper serving from the counter. */
static void start(struct sim_tk *s)
{
	/* Resyncs then fall well inside the kernel's seconds, not just after
	 * its once-a-second maxerror step, where the step would not show. */
	sim_advance_ns(637e6);
	sim_tk_setup(s);
	for (int i = 0; i < 2000 && atomic_load(&s->tk.state) != CHRONON__TK_COUNTER; i++) {
		sim_advance_ns(10000);
		sim_read(s, CHRONON__CK_MONO);
	}
	CHECK(atomic_load(&s->tk.state) == CHRONON__TK_COUNTER, "no counter mode");
}

static void no_daemon(void)
{
	struct sim_tk s;
	struct tally t = {0};
	sim_reset();
	/* The first reads come from the kernel: adjtimex is asked directly. */
	sim_tk_setup(&s);
	struct chronon_bound b = check(&s, CHRONON__CK_REAL, &t, "cold");
	CHECK(b.status == CHRONON_BOUND_UNSYNCHRONISED, "cold: status %d", (int)b.status);
	start(&s);
	run(&s, 3e9, 1e6, &t, "no daemon");
	b = check(&s, CHRONON__CK_REAL, &t, "no daemon");
	CHECK(b.status == CHRONON_BOUND_UNSYNCHRONISED, "status %d", (int)b.status);
	CHECK(b.kernel_status & STA_UNSYNC, "kernel status %#x", (unsigned)b.kernel_status);
	CHECK(b.kernel_maxerror_ns >= 16000000000LL, "maxerror %lld", (long long)b.kernel_maxerror_ns);
	CHECK(t.synced == 0 && t.unknown == 0, "synced %d unknown %d", t.synced, t.unknown);
	printf("no daemon: unsynchronised at all %d reads\n", t.unsynced);
}

/* Synchronised with a given maxerror: the width follows the kernel's
 * figure; the NTP state is read at resyncs, not per read nor per check. */
static void synchronised(void)
{
	struct sim_tk s;
	struct tally t = {0};
	sim_reset();
	sim_ntp_sync(1000, 200);
	note_change();
	start(&s);
	uint64_t reads0 = sim.ntp_reads, resyncs0 = s.tk.resyncs;
	run(&s, 10e9, 1e6, &t, "synchronised");
	uint64_t reads = sim.ntp_reads - reads0, resyncs = s.tk.resyncs - resyncs0;
	CHECK(reads <= resyncs + 1, "%llu NTP reads for %llu resyncs and %d bounded reads",
	      (unsigned long long)reads, (unsigned long long)resyncs, t.synced);
	CHECK(t.synced > 0 && t.unsynced == 0 && t.unknown == 0, "synced %d unsynced %d unknown %d",
	      t.synced, t.unsynced, t.unknown);
	struct chronon_bound b = check(&s, CHRONON__CK_REAL, &t, "synchronised");
	CHECK(b.kernel_esterror_ns == 200000, "esterror %lld", (long long)b.kernel_esterror_ns);
	CHECK(b.tai_offset_s == 37, "tai %d", (int)b.tai_offset_s);
	CHECK(b.read_ns > 0 && b.leap_ns == 0, "read %lld leap %lld", (long long)b.read_ns,
	      (long long)b.leap_ns);
	printf("synchronised, maxerror 1 ms: %d reads, %llu adjtimex for %llu resyncs, "
	       "half-width %.3f ms (kernel part %.3f ms, tracking %lld ns)\n",
	       t.synced, (unsigned long long)reads, (unsigned long long)resyncs,
	       (double)(b.latest_ns - b.now_ns) / 1e6, (double)b.kernel_maxerror_ns / 1e6,
	       (long long)b.tracking_ns);
}

/* No update from the daemon for a minute while the kernel drifts at
 * `ppm` from true time: the bound grows with the kernel's maxerror and
 * keeps containing true time. */
static void growing(double ppm)
{
	struct sim_tk s;
	struct tally t = {0};
	sim_reset();
	sim_set_mono_ppm(ppm);
	sim_ntp_sync(300, 100);
	note_change();
	start(&s);
	struct chronon_bound b0 = check(&s, CHRONON__CK_REAL, &t, "growing");
	run(&s, 60e9, 5e6, &t, "growing");
	struct chronon_bound b1 = check(&s, CHRONON__CK_REAL, &t, "growing");
	int64_t w0 = b0.latest_ns - b0.now_ns, w1 = b1.latest_ns - b1.now_ns;
	CHECK(w1 - w0 >= 29000000 && w1 - w0 <= 31500000, "grew %lld ns in 60 s", (long long)(w1 - w0));
	CHECK(t.unsynced == 0 && t.unknown == 0, "unsynced %d unknown %d", t.unsynced, t.unknown);
	printf("kernel %+.0f ppm, no update for 60 s: half-width %.3f -> %.3f ms, kernel off true "
	       "by %.3f ms\n",
	       ppm, (double)w0 / 1e6, (double)w1 / 1e6,
	       (double)(sim_kernel(CLOCK_REALTIME) - sim_true(CLOCK_REALTIME)) / 1e6);
}

/* Grown to NTP_PHASE_LIMIT: unsynchronised, as the kernel decides, and
 * chronon decides it by itself from the growth (no read needed). */
static void phase_limit(void)
{
	struct sim_tk s;
	struct tally t = {0};
	sim_reset();
	sim_ntp_sync(15998000, 1000);
	note_change();
	start(&s);
	struct chronon_bound b = check(&s, CHRONON__CK_REAL, &t, "phase limit");
	CHECK(b.status == CHRONON_BOUND_SYNCHRONISED, "15.998 s: status %d", (int)b.status);
	run(&s, 5e9, 1e6, &t, "phase limit");
	b = check(&s, CHRONON__CK_REAL, &t, "phase limit");
	CHECK(b.status == CHRONON_BOUND_UNSYNCHRONISED, "past 16 s: status %d", (int)b.status);
	CHECK(t.synced > 0 && t.unsynced > 0, "synced %d unsynced %d", t.synced, t.unsynced);
}

/* The state cannot be read, or there is no way to read it. */
static void unknown(void)
{
	struct sim_tk s;
	struct tally t = {0};
	sim_reset();
	sim_ntp_sync(1000, 100);
	sim.ntp_fails = 1;
	start(&s);
	run(&s, 2e9, 1e6, &t, "adjtimex fails");
	CHECK(t.unknown > 0 && t.synced == 0 && t.unsynced == 0, "synced %d unsynced %d unknown %d",
	      t.synced, t.unsynced, t.unknown);
	/* It answers again: known at the next resync. */
	sim.ntp_fails = 0;
	note_change();
	run(&s, 2e9, 1e6, &t, "adjtimex back");
	struct chronon_bound b = check(&s, CHRONON__CK_REAL, &t, "adjtimex back");
	CHECK(b.status == CHRONON_BOUND_SYNCHRONISED, "adjtimex back: status %d", (int)b.status);

	static struct chronon__kclock no_ntp;
	no_ntp = sim_kclock;
	no_ntp.ntp = NULL;
	sim_reset();
	sim_ntp_sync(1000, 100);
	sim_tk_setup(&s);
	s.tk.kc = &no_ntp;
	memset(&t, 0, sizeof t);
	for (int i = 0; i < 300; i++) {
		sim_advance_ns(1e6);
		sim_read(&s, CHRONON__CK_MONO);
		check(&s, CHRONON__CK_REAL, &t, "no ntp op");
	}
	CHECK(t.unknown == 300, "no ntp op: unknown %d of 300", t.unknown);
}

/* The kernel's TAI offset: unset (0) means CLOCK_TAI is UTC, so nothing
 * is claimed for TAI; once the daemon sets it, TAI is bounded like
 * REALTIME.  Then a leap second: REALTIME goes back 1 s (true UTC with
 * it), TAI runs on; the pending leap widens REALTIME until it is seen. */
static void tai_and_leap(void)
{
	struct sim_tk s;
	struct tally t = {0};
	sim_reset();
	sim.tai_s = 0;
	sim_ntp_sync(500, 100);
	note_change();
	start(&s);
	run(&s, 2e9, 1e6, &t, "tai unset");
	struct chronon_bound r = check(&s, CHRONON__CK_REAL, &t, "tai unset");
	struct chronon_bound a = check(&s, CHRONON__CK_TAI, &t, "tai unset");
	CHECK(r.status == CHRONON_BOUND_SYNCHRONISED, "tai unset: REALTIME status %d", (int)r.status);
	CHECK(a.status == CHRONON_BOUND_UNKNOWN, "tai unset: TAI status %d", (int)a.status);

	sim.tai_s = 37; /* the daemon sets it (ADJ_TAI) */
	note_change();
	run(&s, 2e9, 1e6, &t, "tai set");
	a = check(&s, CHRONON__CK_TAI, &t, "tai set");
	CHECK(a.status == CHRONON_BOUND_SYNCHRONISED && a.tai_offset_s == 37,
	      "tai set: TAI status %d offset %d", (int)a.status, (int)a.tai_offset_s);

	sim.ntp_status |= STA_INS; /* leap second tonight */
	note_change();
	run(&s, 2e9, 1e6, &t, "leap pending");
	r = check(&s, CHRONON__CK_REAL, &t, "leap pending");
	CHECK(r.leap_ns == 1000000000 && r.now_ns - r.earliest_ns > 1000000000,
	      "leap pending: leap %lld, below %lld", (long long)r.leap_ns,
	      (long long)(r.now_ns - r.earliest_ns));
	a = check(&s, CHRONON__CK_TAI, &t, "leap pending");
	CHECK(a.leap_ns == 0, "TAI leap %lld", (long long)a.leap_ns);

	/* 23:59:60: the kernel's REALTIME repeats a second, TAI - UTC
	 * becomes 38; no clock_settime, so the NTP state stays. */
	sim.off_real -= 1000000000;
	sim.tai_s = 38;
	sim.realtime_set = 1;
	sim.true_off -= 1000000000;
	sim.true_tai_s = 38;
	int before = t.synced;
	run(&s, 1e9, 1e5, &t, "leap");
	sim.ntp_status &= ~(uint32_t)STA_INS; /* the daemon clears it */
	note_change();
	run(&s, 2e9, 1e6, &t, "after leap");
	r = check(&s, CHRONON__CK_REAL, &t, "after leap");
	CHECK(r.status == CHRONON_BOUND_SYNCHRONISED && r.leap_ns == 0 && r.tai_offset_s == 38,
	      "after leap: status %d leap %lld tai %d", (int)r.status, (long long)r.leap_ns,
	      (int)r.tai_offset_s);
	printf("TAI unset, set, leap second: %d synchronised reads (%d across the leap), all "
	       "containing true time\n",
	       t.synced, t.synced - before);
}

/* REALTIME steps: the daemon corrects its clock by a step, and an admin
 * sets it an hour wrong.  The kernel resets its NTP state on a step;
 * until chronon sees the step it serves the old clock with the old
 * bound, which holds; after, it says unsynchronised until the daemon
 * speaks again. */
static void steps(void)
{
	struct sim_tk s;
	struct tally t = {0};
	sim_reset();
	sim.true_off -= 300000; /* the kernel is 300 us ahead of true time */
	sim_ntp_sync(1000, 300);
	note_change();
	start(&s);
	run(&s, 2e9, 1e6, &t, "before step");
	CHECK(t.synced > 0 && t.unsynced == 0, "before step: synced %d unsynced %d", t.synced,
	      t.unsynced);

	sim_step_realtime(-300000);
	note_change();
	int64_t step_at = sim_kernel(CLOCK_MONOTONIC);
	int64_t seen = -1;
	for (int i = 0; i < 1000; i++) {
		sim_advance_ns(1e5);
		sim_read(&s, CHRONON__CK_MONO);
		struct chronon_bound b = check(&s, CHRONON__CK_REAL, &t, "after step");
		check(&s, CHRONON__CK_TAI, &t, "after step");
		if (seen < 0 && b.status == CHRONON_BOUND_UNSYNCHRONISED)
			seen = sim_kernel(CLOCK_MONOTONIC) - step_at;
	}
	CHECK(seen >= 0 && seen <= 11000000, "step seen after %lld ns", (long long)seen);

	sim_ntp_sync(100, 20); /* the daemon, after its step */
	note_change();
	run(&s, 3e9, 1e6, &t, "resynchronised");
	struct chronon_bound b = check(&s, CHRONON__CK_REAL, &t, "resynchronised");
	/* 100 us, grown 500 us a second for about 3 s, and the step allowance */
	CHECK(b.status == CHRONON_BOUND_SYNCHRONISED && b.latest_ns - b.now_ns < 2700000,
	      "resynchronised: status %d half-width %lld", (int)b.status,
	      (long long)(b.latest_ns - b.now_ns));

	sim_step_realtime(3600LL * 1000000000); /* an admin's date -s */
	note_change();
	run(&s, 2e9, 1e5, &t, "admin step");
	b = check(&s, CHRONON__CK_REAL, &t, "admin step");
	CHECK(b.status == CHRONON_BOUND_UNSYNCHRONISED, "admin step: status %d", (int)b.status);
	printf("steps: daemon's step seen after %.3f ms; %d synchronised reads, all containing true "
	       "time\n",
	       (double)seen / 1e6, t.synced);
}

/* Commit wait on the simulation: sleeping advances simulated time. */
struct wait_ctx {
	struct sim_tk *s;
	int sleeps;
};

static void w_now(void *ctx, enum chronon__ck ck, struct chronon_bound *b)
{
	struct wait_ctx *w = ctx;
	sim_read(w->s, CHRONON__CK_MONO);
	chronon__bound_of(&w->s->tk, ck, b);
}

static int w_sleep(void *ctx, clockid_t clock, const struct timespec *d)
{
	struct wait_ctx *w = ctx;
	w->sleeps++;
	int64_t to = (int64_t)d->tv_sec * 1000000000 + d->tv_nsec;
	int64_t now = sim_kernel(clock);
	/* Wakes a little late, as a kernel does, in steps the timekeeper
	 * keeps up with. */
	for (int64_t left = to - now + 2000; left > 0; left -= 1000000) {
		sim_advance_ns(left < 1000000 ? (double)left : 1e6);
		sim_read(w->s, CHRONON__CK_MONO);
	}
	return 0;
}

static void commit_wait(void)
{
	struct sim_tk s;
	sim_reset();
	sim_set_mono_ppm(-300); /* the kernel runs slow: true time is ahead */
	sim_ntp_sync(2000, 500);
	start(&s);
	struct wait_ctx w = {.s = &s};
	struct chronon__bound_ops ops = {.now = w_now, .sleep_until = w_sleep, .ctx = &w};
	for (int round = 0; round < 5; round++) {
		enum chronon__ck ck = round & 1 ? CHRONON__CK_TAI : CHRONON__CK_REAL;
		struct chronon_bound ts;
		chronon__bound_of(&s.tk, ck, &ts);
		int64_t k0 = sim_kernel(CLOCK_MONOTONIC);
		int r = chronon__bound_wait(&ts, &ops);
		struct chronon_bound after;
		chronon__bound_of(&s.tk, ck, &after);
		CHECK(r == 0, "wait: %d", r);
		CHECK(sim_true(id_of(ck)) > ts.latest_ns, "true time %lld not past latest %lld",
		      (long long)sim_true(id_of(ck)), (long long)ts.latest_ns);
		CHECK(after.earliest_ns > ts.latest_ns, "earliest %lld not past latest %lld",
		      (long long)after.earliest_ns, (long long)ts.latest_ns);
		int64_t waited = sim_kernel(CLOCK_MONOTONIC) - k0;
		int64_t width = ts.latest_ns - ts.earliest_ns;
		CHECK(waited >= width && waited <= width + width / 50 + 100000,
		      "waited %lld ns for a width of %lld", (long long)waited, (long long)width);
		if (round == 0)
			printf("commit wait: width %.3f ms, waited %.3f ms in %d sleeps\n",
			       (double)width / 1e6, (double)waited / 1e6, w.sleeps);
	}

	/* Errors. */
	struct chronon_bound ts;
	chronon__bound_of(&s.tk, CHRONON__CK_REAL, &ts);
	CHECK(chronon__bound_wait(NULL, &ops) == EFAULT, "NULL");
	struct chronon_bound bad = ts;
	bad.status = CHRONON_BOUND_UNSYNCHRONISED;
	CHECK(chronon__bound_wait(&bad, &ops) == EINVAL, "unsynchronised ts");
	bad = ts;
	bad.status = CHRONON_BOUND_UNKNOWN;
	CHECK(chronon__bound_wait(&bad, &ops) == EINVAL, "unknown ts");
	bad = ts;
	bad.clock = CLOCK_MONOTONIC;
	CHECK(chronon__bound_wait(&bad, &ops) == EINVAL, "MONOTONIC ts");
	bad = ts;
	bad.earliest_ns = bad.latest_ns + 1;
	CHECK(chronon__bound_wait(&bad, &ops) == EINVAL, "earliest > latest");
	bad = ts;
	bad.latest_ns = INT64_MAX;
	CHECK(chronon__bound_wait(&bad, &ops) == EINVAL, "infinite latest");
	/* The clock loses synchronisation: EAGAIN, not a wait forever. */
	sim_step_realtime(1000);
	for (int i = 0; i < 30; i++) {
		sim_advance_ns(1e6);
		sim_read(&s, CHRONON__CK_MONO);
	}
	CHECK(chronon__bound_wait(&ts, &ops) == EAGAIN, "unsynchronised clock");
}

int main(void)
{
	no_daemon();
	synchronised();
	growing(400);
	growing(-400);
	phase_limit();
	unknown();
	tai_and_leap();
	steps();
	commit_wait();
	return test_exit();
}
