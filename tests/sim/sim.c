#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

#include "sim.h"

struct sim sim;

static uint64_t next_rand(void)
{
	return test_rand(&sim.rng);
}

static void tick(uint64_t n)
{
	sim.ticks += n;
	sim.mono += (double)n * sim.mono_ns_per_tick;
	sim.raw += (double)n * sim.raw_ns_per_tick;
	sim.true_run += (double)n * 1e9 / sim.hz;
}

void sim_reset(void)
{
	memset(&sim, 0, sizeof sim);
	sim.mask = ~(uint64_t)0;
	sim.hz = 2e9;
	sim.mono_ns_per_tick = sim.raw_ns_per_tick = 1e9 / sim.hz;
	sim.ticks = 123456789012ull;
	sim.mono = sim.raw = 5e12; /* 5000 s after boot */
	sim.off_real = 1795000000LL * 1000000000LL;
	sim.tai_s = 37;
	sim.read_cost = 50;
	sim.counter_cost = 40;
	sim.jitter = 30;
	sim.rng = 0x9e3779b97f4a7c15ull;
	sim.ntp_phase = (double)(sim.off_real % 1000000000);
	sim_ntp_clear(); /* no daemon, like the development VM */
	sim.true_run = sim.mono;
	sim.true_off = sim.off_real;
	sim.true_tai_s = 37;
}

void sim_advance_ns(double ns)
{
	tick((uint64_t)(ns * sim.hz / 1e9));
}

void sim_set_mono_ppm(double ppm)
{
	sim.mono_ns_per_tick = 1e9 / sim.hz * (1 + ppm * 1e-6);
}

void sim_set_counter_hz(double hz)
{
	double f = hz / sim.hz;
	sim.hz = hz;
	sim.mono_ns_per_tick /= f;
	sim.raw_ns_per_tick /= f;
}

void sim_stall(clockid_t clock, unsigned n, double ns)
{
	sim.stall_reads[clock] = n;
	sim.stall_ns[clock] = ns;
}

void sim_step_realtime(int64_t ns)
{
	sim.off_real += ns;
	sim.real_step_mono = sim.mono;
	sim.realtime_set = 1;
	sim_ntp_clear();
}

void sim_suspend(double ns, int counter_resets)
{
	sim.off_boot += (int64_t)ns;
	sim.true_run += ns;
	if (counter_resets)
		sim.ticks = 1000;
	else
		sim.ticks += (uint64_t)(ns * sim.hz / 1e9);
}

int64_t sim_kernel(clockid_t clock)
{
	int64_t mono = (int64_t)sim.mono;
	switch (clock) {
	case CLOCK_MONOTONIC: return mono;
	case CLOCK_MONOTONIC_RAW: return (int64_t)sim.raw;
	case CLOCK_REALTIME: return mono + sim.off_real;
	case CLOCK_TAI: return mono + sim.off_real + sim.tai_s * 1000000000LL;
	case CLOCK_BOOTTIME: return mono + sim.off_boot;
	default: return 0;
	}
}

/* A kernel read: some ticks pass before the kernel reads the counter and
 * some after, as inside a real clock_gettime. */
static int64_t kc_now(void *ctx, clockid_t clock)
{
	(void)ctx;
	uint64_t cost = sim.read_cost + (sim.jitter ? next_rand() % (sim.jitter + 1) : 0);
	uint64_t before = sim.skew ? next_rand() % (cost + 1) : cost / 2;
	tick(before);
	double after = 0;
	if ((unsigned)clock < 12 && sim.stall_reads[clock]) {
		sim.stall_reads[clock]--;
		if (sim.stall_ns[clock] >= 0)
			sim_advance_ns(sim.stall_ns[clock]);
		else
			after = -sim.stall_ns[clock];
	}
	int64_t v = sim_kernel(clock);
	sim_advance_ns(after);
	tick(cost - before);
	sim.kernel_reads++;
	return v;
}

/* The kernel's second count, as its once-a-second NTP work sees it: on
 * MONOTONIC, so that a step (which resets the state anyway) or a leap
 * does not count seconds twice. */
static int64_t ntp_second(void)
{
	return (int64_t)((sim.mono + sim.ntp_phase) / 1e9);
}

void sim_ntp_sync(int64_t maxerror_us, int64_t esterror_us)
{
	sim.ntp_status &= ~(uint32_t)STA_UNSYNC;
	sim.ntp_maxerror_us = maxerror_us;
	sim.ntp_esterror_us = esterror_us;
	sim.ntp_set_s = ntp_second();
}

void sim_ntp_clear(void)
{
	sim.ntp_status |= STA_UNSYNC;
	sim.ntp_maxerror_us = 16000000;
	sim.ntp_esterror_us = 16000000;
	sim.ntp_set_s = ntp_second();
}

/* As kernel/time/ntp.c: maxerror grows 500 us at each second boundary
 * and, past 16 s (NTP_PHASE_LIMIT), stops there and marks the clock
 * unsynchronised; adjtimex returns TIME_ERROR while unsynchronised. */
void sim_ntp_now(struct chronon__ntp *out)
{
	int64_t grown = sim.ntp_maxerror_us + 500 * (ntp_second() - sim.ntp_set_s);
	if (grown > 16000000) {
		grown = 16000000;
		sim.ntp_status |= STA_UNSYNC;
	}
	memset(out, 0, sizeof *out);
	out->status = sim.ntp_status;
	out->state = sim.ntp_status & STA_UNSYNC ? TIME_ERROR
		     : sim.ntp_status & STA_INS  ? TIME_INS
		     : sim.ntp_status & STA_DEL  ? TIME_DEL
						 : TIME_OK;
	out->maxerror_us = grown;
	out->esterror_us = sim.ntp_esterror_us;
	out->tai = (int32_t)sim.tai_s;
	out->mono_ns = sim_kernel(CLOCK_MONOTONIC);
}

int64_t sim_true(clockid_t clock)
{
	int64_t real = sim.true_off + (int64_t)sim.true_run;
	return clock == CLOCK_TAI ? real + sim.true_tai_s * 1000000000LL : real;
}

/* A system call's worth of ticks, the state read in the middle. */
static int kc_ntp(void *ctx, struct chronon__ntp *out)
{
	int64_t mono = kc_now(ctx, CLOCK_MONOTONIC);
	sim.ntp_reads++;
	if (sim.ntp_fails)
		return -1;
	tick(sim.read_cost / 2);
	sim_ntp_now(out);
	tick(sim.read_cost - sim.read_cost / 2);
	out->mono_ns = mono;
	return 0;
}

static int kc_realtime_was_set(void *ctx)
{
	(void)ctx;
	int r = sim.realtime_set;
	sim.realtime_set = 0;
	return r;
}

const struct chronon__kclock sim_kclock = {
	.now = kc_now,
	.realtime_was_set = kc_realtime_was_set,
	.ntp = kc_ntp,
};

static uint64_t sim_counter_read(unsigned variant)
{
	(void)variant;
	uint64_t v = sim.ticks & sim.mask;
	tick(sim.counter_cost);
	if (sim.on_counter_read) {
		void (*f)(void) = sim.on_counter_read;
		sim.on_counter_read = NULL; /* no recursion */
		f();
		sim.on_counter_read = f;
	}
	return v;
}

static void sim_probe(struct chronon__probe *p)
{
	memset(p, 0, sizeof *p);
	p->usable = 1;
	strcpy(p->reason, "simulated");
	p->read_variants = 1;
	p->hz = sim.stated_hz;
	p->source = sim.exact ? CHRONON__FREQ_CPUID : sim.stated_hz ? CHRONON__FREQ_NOMINAL
								 : CHRONON__FREQ_NONE;
	if (sim.pv_on)
		sim_pv_probe(p);
	if (sim.untrusted) {
		p->usable = 0;
		strcpy(p->reason, "simulated: no longer trusted");
	}
}

/* The mask is read from sim at probe time through sim_tk_setup. */
const struct chronon__counter sim_counter = {
	.name = "sim",
	.id = CHRONON__CTR_FN,
	.mask = ~(uint64_t)0,
	.quality = 1,
	.read = sim_counter_read,
	.probe = sim_probe,
	.pv_read = sim_pv_read,
};

static struct chronon__counter sim_counter_masked;
static int64_t last_value[CHRONON__CK_COUNT];

void sim_tk_setup(struct sim_tk *s)
{
	memset(last_value, 0, sizeof last_value);
	memset(s, 0, sizeof *s);
	sim_counter_masked = sim_counter;
	sim_counter_masked.mask = sim.mask;
	chronon__tk_setup(&s->tk, &s->page, &sim_kclock, &sim_counter_masked);
}

int64_t sim_read(struct sim_tk *s, enum chronon__ck ck)
{
	return chronon__tk_read(&s->tk, ck);
}

uint64_t sim_backwards;

int64_t sim_measure(struct sim_tk *s, enum chronon__ck ck, int64_t *err)
{
	clockid_t id = chronon__ck_clockid(ck);
	int64_t before = sim_kernel(id);
	int64_t v = sim_read(s, ck);
	int64_t after = sim_kernel(id);
	*err = v < before ? v - before : v > after ? v - after : 0;
	/* REALTIME and TAI may go back when the kernel's did, until chronon
	 * has seen it (one check, 10 ms). */
	int real = ck == CHRONON__CK_REAL || ck == CHRONON__CK_TAI;
	if (real && sim.real_step_mono && sim.mono - sim.real_step_mono < 20e6)
		last_value[ck] = 0;
	if (last_value[ck] && v < last_value[ck]) {
		sim_backwards++;
		printf("backwards: clock %d by %lld ns\n", (int)ck, (long long)(last_value[ck] - v));
	}
	last_value[ck] = v;
	return v;
}

int64_t sim_run(struct sim_tk *s, double ns, double every_ns, double settle_ns)
{
	int64_t worst = 0;
	for (double t = 0; t < ns; t += every_ns) {
		sim_advance_ns(every_ns);
		for (int ck = 0; ck < CHRONON__CK_COUNT; ck++) {
			int64_t e;
			sim_measure(s, (enum chronon__ck)ck, &e);
			if (e < 0)
				e = -e;
			if (t >= settle_ns && e > worst)
				worst = e;
		}
	}
	return worst;
}
