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

static void write_page(uint32_t version, unsigned flags)
{
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
	write_page(2, 1);
}

uint32_t sim_pv_version(void)
{
	return __atomic_load_n(&page()->version, __ATOMIC_ACQUIRE);
}

void sim_pv_rewrite(int64_t jump_ticks, double new_hz, unsigned flags)
{
	sim.ticks += (uint64_t)jump_ticks;
	if (new_hz > 0) {
		/* The kernel's clocks keep their rates in ns; per tick they
		 * change with the counter's. */
		double r = sim.hz / new_hz;
		sim.mono_ns_per_tick *= r;
		sim.raw_ns_per_tick *= r;
		sim.hz = new_hz;
	}
	write_page(sim_pv_version() + 2, flags);
}

void sim_pv_probe(struct chronon__probe *p)
{
	if (chronon__pvclock_parse(sim.pv_page, &p->pv) != 0)
		return;
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
	return chronon__pvclock_parse(sim.pv_page, out);
}
