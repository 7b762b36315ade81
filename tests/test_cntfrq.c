/*
 * A counter whose frequency register may lie (arm64 CNTFRQ_EL0): the
 * stated figure is used only once calibration agrees with it, and a wrong
 * one is replaced by the measurement with a note that says by how much.
 * Driven on the simulated counter and kernel, so it runs on every
 * architecture; on arm64 the real CNTVCT counter is checked too.
 */
#include <string.h>

#include "sim.h"

/* The simulated counter, but stating its rate as a register would. */
static uint64_t register_hz;
static struct chronon__counter reg_counter;

static void reg_probe(struct chronon__probe *p)
{
	sim_counter.probe(p);
	p->hz = register_hz;
	p->source = register_hz ? CHRONON__FREQ_CNTFRQ : CHRONON__FREQ_NONE;
}

/* Runs a timekeeper on the register counter until it serves from the
 * counter, then for a while; returns the status. */
static void run(uint64_t stated_hz, double kernel_ppm, struct chronon_status *st, double *took_ns)
{
	static struct sim_tk s;
	sim_reset();
	sim_set_mono_ppm(kernel_ppm);
	sim_tk_setup(&s);
	register_hz = stated_hz;
	reg_counter = *s.tk.forced;
	reg_counter.probe = reg_probe;
	s.tk.forced = &reg_counter;
	int64_t e;
	double t = 0;
	sim_measure(&s, CHRONON__CK_MONO, &e);
	while (atomic_load(&s.tk.state) != CHRONON__TK_COUNTER && t < 1e9) {
		sim_advance_ns(10000);
		t += 10000;
		sim_measure(&s, CHRONON__CK_MONO, &e);
		CHECK(e == 0, "%llu Hz: calibrating read off the kernel by %lld ns",
		      (unsigned long long)stated_hz, (long long)e);
	}
	*took_ns = t;
	CHECK(atomic_load(&s.tk.state) == CHRONON__TK_COUNTER, "%llu Hz: no counter mode after %.0f ns",
	      (unsigned long long)stated_hz, t);
	int64_t worst = sim_run(&s, 5e9, 1e5, 0);
	int64_t raw_worst = 0;
	for (int i = 0; i < 1000; i++) {
		sim_advance_ns(1e6);
		sim_measure(&s, CHRONON__CK_RAW, &e);
		if ((e < 0 ? -e : e) > raw_worst)
			raw_worst = e < 0 ? -e : e;
	}
	CHECK(worst <= 150, "%llu Hz: worst error %lld ns", (unsigned long long)stated_hz,
	      (long long)worst);
	CHECK(raw_worst <= 150, "%llu Hz: worst MONOTONIC_RAW error %lld ns",
	      (unsigned long long)stated_hz, (long long)raw_worst);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
	chronon__status_of(&s.tk, st);
	printf("CNTFRQ %llu Hz, kernel %+.0f ppm: counter after %.1f ms, source %s, %llu Hz, "
	       "worst %lld ns; note '%s'\n",
	       (unsigned long long)stated_hz, kernel_ppm, t / 1e6, st->frequency_source,
	       (unsigned long long)st->frequency_hz, (long long)worst, st->fallback_reason);
}

static void right_register(double kernel_ppm)
{
	struct chronon_status st;
	double t;
	run(2000000000, kernel_ppm, &st, &t);
	CHECK(strcmp(st.frequency_source, "cntfrq-verified") == 0, "source '%s'", st.frequency_source);
	CHECK(st.fallback_reason[0] == 0, "note '%s'", st.fallback_reason);
	CHECK(st.nominal_hz == 2000000000, "nominal %llu", (unsigned long long)st.nominal_hz);
}

/* Wrong by 4 %, by 0.1 % (beyond the measurement's doubt), and by a
 * factor of 200 (10 MHz stated for a 2 GHz counter: had the stated rate
 * judged the brackets, each would look 200 times too wide, about 20 us,
 * and the counter would never be used). */
static void wrong_register(uint64_t hz, const char *pct)
{
	struct chronon_status st;
	double t;
	run(hz, 0, &st, &t);
	CHECK(strcmp(st.frequency_source, "calibrated") == 0, "%llu Hz: source '%s'",
	      (unsigned long long)hz, st.frequency_source);
	CHECK(strstr(st.fallback_reason, "CNTFRQ_EL0 wrong by") != NULL &&
		      strstr(st.fallback_reason, pct) != NULL,
	      "%llu Hz: note '%s', want '%s'", (unsigned long long)hz, st.fallback_reason, pct);
	CHECK(st.frequency_hz > 1999900000 && st.frequency_hz < 2000100000, "%llu Hz: measured %llu",
	      (unsigned long long)hz, (unsigned long long)st.frequency_hz);
	CHECK(st.mode == CHRONON_MODE_COUNTER, "%llu Hz: mode %s", (unsigned long long)hz,
	      st.mode_name);
	CHECK(t <= 50e6, "%llu Hz: counter mode took %.0f ns", (unsigned long long)hz, t);
}

static void no_register(void)
{
	struct chronon_status st;
	double t;
	run(0, 0, &st, &t);
	CHECK(strcmp(st.frequency_source, "calibrated") == 0, "unset: source '%s'",
	      st.frequency_source);
	CHECK(st.fallback_reason[0] == 0, "unset: note '%s'", st.fallback_reason);
}

#if defined(__aarch64__)
#include "arch.h"
/* The real counter: a plausible register, reads that never go back, and
 * the registry entry's promises. */
static void real_cntvct(void)
{
	const struct chronon__counter *c = chronon__counter_arch();
	CHECK(c && strcmp(c->name, "cntvct") == 0, "arch counter %s", c ? c->name : "(none)");
	if (!c)
		return;
	CHECK(c->mask == (UINT64_C(1) << 56) - 1, "mask %#llx", (unsigned long long)c->mask);
	struct chronon__probe p;
	c->probe(&p);
	printf("cntvct: usable %d, CNTFRQ_EL0 %llu Hz, %u read variant(s): %s\n", p.usable,
	       (unsigned long long)p.hz, p.read_variants, p.reason);
	CHECK(p.read_variants == 1 || p.read_variants == 2, "variants %u", p.read_variants);
	CHECK(p.hz == 0 || p.source == CHRONON__FREQ_CNTFRQ, "source %d", (int)p.source);
	for (unsigned v = 0; v < p.read_variants; v++) {
		uint64_t prev = c->read(v);
		for (int i = 0; i < 100000; i++) {
			uint64_t now = c->read(v);
			CHECK(((now - prev) & c->mask) < c->mask / 2, "variant %u went back: %llu then %llu",
			      v, (unsigned long long)prev, (unsigned long long)now);
			prev = now;
		}
	}
	CHECK(chronon__arch_counter_freq() == p.hz, "CNTFRQ_EL0 %llu vs probe %llu",
	      (unsigned long long)chronon__arch_counter_freq(), (unsigned long long)p.hz);
}
#endif

int main(void)
{
	right_register(0);
	right_register(300);
	wrong_register(1920000000, "-4%");
	wrong_register(2002000000, "+0.1%");
	wrong_register(10000000, "-99.5%");
	no_register();
#if defined(__aarch64__)
	real_cntvct();
#endif
	return test_exit();
}
