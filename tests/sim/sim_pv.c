/* The simulated host's pvclock page (sim.h), read by the same parser as
 * the real one (counter/paravirt.c). */
#include <string.h>

#include "counter/paravirt.h"
#include "sim.h"

struct pv_layout {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t mul;
	int8_t shift;
	uint8_t flags, pad[2];
};

static struct pv_layout *page(void)
{
	return (struct pv_layout *)(void *)sim.pv_page;
}

/* mul/shift for a rate: mul in [2^31, 2^32), as KVM chooses them. */
static void scale_for(double hz, uint32_t *mul, int8_t *shift)
{
	double npt = 1e9 / hz, m = npt * 4294967296.0;
	int s = 0;
	while (m >= 4294967296.0) {
		m /= 2;
		s++;
	}
	while (m < 2147483648.0) {
		m *= 2;
		s--;
	}
	*mul = (uint32_t)(m + 0.5);
	*shift = (int8_t)s;
}

struct hv_layout {
	uint32_t sequence, reserved;
	uint64_t scale;
	int64_t offset;
};

/* Hyper-V: t(100 ns) = (tsc * scale >> 64) + offset, continuous with the
 * kernel's MONOTONIC_RAW at the counter's value now. */
static void write_hv(uint32_t seq, unsigned flags)
{
	struct hv_layout *h = (struct hv_layout *)(void *)sim.pv_page;
	__atomic_store_n(&h->sequence, 0, __ATOMIC_RELEASE);
	double per_tick = 1e7 / sim.hz; /* 100 ns units */
	h->scale = (uint64_t)(per_tick * 18446744073709551616.0);
	double at = (double)sim.ticks * per_tick;
	h->offset = (int64_t)(sim.raw / 100.0 - at);
	__atomic_store_n(&h->sequence, flags & 1 ? seq : 0, __ATOMIC_RELEASE);
}

static void write_page(uint32_t version, unsigned flags)
{
	if (sim.pv_hv) {
		write_hv(version, flags);
		return;
	}
	struct pv_layout *p = page();
	__atomic_store_n(&p->version, version | 1, __ATOMIC_RELEASE);
	p->tsc_timestamp = sim.ticks;
	p->system_time = (uint64_t)sim.raw;
	scale_for(sim.hz, &p->mul, &p->shift);
	p->flags = (uint8_t)flags;
	__atomic_store_n(&p->version, version, __ATOMIC_RELEASE);
}

void sim_pv_enable(void)
{
	sim.pv_on = 1;
	sim.pv_hv = 0;
	write_page(2, 1);
}

void sim_hv_enable(void)
{
	sim.pv_on = 1;
	sim.pv_hv = 1;
	write_page(2, 1);
}

uint32_t sim_pv_version(void)
{
	return __atomic_load_n(&page()->version, __ATOMIC_ACQUIRE);
}

static uint32_t last_version;

void sim_pv_rewrite(int64_t jump_ticks, double new_hz, unsigned flags)
{
	if (sim_pv_version())
		last_version = sim_pv_version();
	sim.ticks += (uint64_t)jump_ticks;
	if (new_hz > 0) {
		/* The kernel's clocks keep their rates in ns; per tick they
		 * change with the counter's. */
		double r = sim.hz / new_hz;
		sim.mono_ns_per_tick *= r;
		sim.raw_ns_per_tick *= r;
		sim.hz = new_hz;
	}
	write_page(last_version + 2, flags);
	last_version += 2;
}

static int parse(struct chronon__pv *out)
{
	return sim.pv_hv ? chronon__hvclock_parse(sim.pv_page, out)
			 : chronon__pvclock_parse(sim.pv_page, out);
}

void sim_pv_probe(struct chronon__probe *p)
{
	if (parse(&p->pv) != 0) {
		p->usable = 0;
		strcpy(p->reason, "simulated paravirtual page: unreadable");
		return;
	}
	p->guard = (const _Atomic uint32_t *)(const void *)sim.pv_page;
	p->hz = p->pv.hz;
	p->source = CHRONON__FREQ_PARAVIRT;
	if (!p->pv.stable) {
		p->usable = 0;
		strcpy(p->reason, "simulated pvclock: not stable");
	}
}

int sim_pv_read(struct chronon__pv *out)
{
	if (!sim.pv_on)
		return -1;
	return parse(out);
}
