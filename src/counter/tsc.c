/*
 * The x86-64 time stamp counter as a chronon counter.
 *
 * Usable only when it ticks at a constant rate through P- and C-states
 * (invariant TSC) and the kernel, or the host's paravirtual clock page,
 * vouches for it (trust.c has the rules).  Where such a page exists it
 * also states the frequency exactly and guards every read (page.h).
 */
#if defined(__x86_64__)

#include <cpuid.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "arch.h"
#include "config.h"
#include "counter.h"
#include "paravirt.h"
#include "sysfile.h"
#include "trust.h"

static uint64_t tsc_read(unsigned variant)
{
	return chronon__arch_counter_read_v(variant);
}

/* Every x86-64 CPU implements the extended leaves up to 0x80000008, so
 * 0x80000007 is asked directly: each CPUID is a VM exit under a
 * hypervisor (about 20 us on the development VM). */
static int invariant(void)
{
	unsigned a = 0, b = 0, c = 0, d = 0;
	__cpuid(0x80000007u, a, b, c, d);
	return (d >> 8) & 1;
}

/*
 * CPUID 0x15 gives the TSC as crystal * ebx / eax.  Multiply before
 * dividing: ebx/eax first (as DPDK does) throws away the fraction of the
 * ratio, a loss of up to 1/eax of the frequency.
 */
static uint64_t hz_cpuid15(void)
{
	unsigned a = 0, b = 0, c = 0, d = 0;
	if (!__get_cpuid(0, &a, &b, &c, &d) || a < 0x15)
		return 0;
	__get_cpuid(0x15, &a, &b, &c, &d);
	if (!a || !b || !c)
		return 0;
	return ((uint64_t)c * b + a / 2) / a;
}

/* The hypervisor timing leaf (VMware's, also offered by some KVM setups):
 * eax = TSC kHz.  Only when the hypervisor's max leaf reaches it. */
static uint64_t hz_hypervisor(void)
{
	unsigned a = 0, b = 0, c = 0, d = 0;
	__get_cpuid(1, &a, &b, &c, &d);
	if (!((c >> 31) & 1))
		return 0;
	__cpuid(0x40000000u, a, b, c, d);
	if (a < 0x40000010u)
		return 0;
	__cpuid(0x40000010u, a, b, c, d);
	return (uint64_t)a * 1000;
}

/* CPUID 0x16 states the base frequency in whole MHz: rough, so reported
 * as nominal and never used without measuring. */
static uint64_t hz_nominal(void)
{
	unsigned a = 0, b = 0, c = 0, d = 0;
	if (!__get_cpuid(0, &a, &b, &c, &d) || a < 0x16)
		return 0;
	__get_cpuid(0x16, &a, &b, &c, &d);
	return (uint64_t)(a & 0xffff) * 1000000;
}

/*
 * Not asked: the kernel's own TSC scale in a perf event's user page
 * (time_mult/time_shift when cap_user_time is set).  Opening the first
 * perf event of the system patches the kernel's perf static keys, which
 * took 14.5 ms on the development VM, and closing it undoes that for the
 * next process: far beyond what a clock read may spend.
 */
static void tsc_frequency(struct chronon__probe *p)
{
	if ((p->hz = hz_cpuid15()) != 0)
		p->source = CHRONON__FREQ_CPUID;
	else if ((p->hz = hz_hypervisor()) != 0)
		p->source = CHRONON__FREQ_HYPERVISOR;
	else if ((p->hz = hz_nominal()) != 0)
		p->source = CHRONON__FREQ_NOMINAL;
	else
		p->source = CHRONON__FREQ_NONE;
}

/* What CPUID says never changes, and asking costs a VM exit per leaf:
 * ask once per process.  Racing first callers compute the same answer. */
struct cpu_facts {
	uint64_t hz;
	enum chronon__freq_source source;
	int invariant;
};

static void cpu_facts(struct cpu_facts *f)
{
	static struct cpu_facts cached;
	static int ready;
	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		struct chronon__probe p = {0};
		tsc_frequency(&p);
		__atomic_store_n(&cached.hz, p.hz, __ATOMIC_RELAXED);
		__atomic_store_n(&cached.source, p.source, __ATOMIC_RELAXED);
		__atomic_store_n(&cached.invariant, invariant(), __ATOMIC_RELAXED);
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	f->hz = __atomic_load_n(&cached.hz, __ATOMIC_RELAXED);
	f->source = __atomic_load_n(&cached.source, __ATOMIC_RELAXED);
	f->invariant = __atomic_load_n(&cached.invariant, __ATOMIC_RELAXED);
}

/* The paravirtual page that speaks for the TSC here, pvclock first (the
 * kernel's own vDSO prefers it too): 1 and *pv when one vouches, -1 when
 * one exists and says the TSC is not stable, 0 when there is none. */
static int tsc_pv(struct chronon__pv *pv, const _Atomic uint32_t **guard)
{
	*guard = NULL;
	/* CHRONON_PARAVIRT=off: the host's pages are not asked (and the
	 * TSC stands on the kernel's word alone). */
	if (chronon__config_paravirt_off())
		return 0;
	const void *page = chronon__pvclock_page();
	if (page && chronon__pvclock_parse(page, pv) == 0) {
		*guard = (const _Atomic uint32_t *)page;
		return pv->stable ? 1 : -1;
	}
	page = chronon__hvclock_page();
	if (page && chronon__hvclock_parse(page, pv) == 0) {
		*guard = (const _Atomic uint32_t *)page;
		return 1;
	}
	return 0;
}

/* The page the read path guards with, and no other: a pvclock page that
 * cannot be read whole must not be answered for by the Hyper-V one. */
static int tsc_pv_read(struct chronon__pv *out)
{
	const void *g = (const void *)atomic_load_explicit(&chronon__arch_guard, memory_order_acquire);
	if (g == chronon__pvclock_page())
		return chronon__pvclock_parse(g, out);
	if (g == chronon__hvclock_page())
		return chronon__hvclock_parse(g, out);
	return -1;
}

/* What the kernel said at earlier looks in this process (trust.h). */
static int seen_listed, seen_current;

static void kernel_verdict(struct chronon__trust_facts *f, char *current, size_t len)
{
	char list[256], path[256];
	const char *dir = chronon__clocksource_dir();
	snprintf(path, sizeof path, "%s/available_clocksource", dir);
	f->listed = chronon__read_small(path, list, sizeof list) != 0 ? -1
		    : chronon__has_word(list, "tsc")                  ? 1
								       : 0;
	snprintf(path, sizeof path, "%s/current_clocksource", dir);
	if (chronon__read_small(path, current, len) != 0)
		current[0] = 0;
	current[strcspn(current, " \n")] = 0;
	f->was_listed = __atomic_load_n(&seen_listed, __ATOMIC_RELAXED);
	f->was_current = __atomic_load_n(&seen_current, __ATOMIC_RELAXED);
	if (f->listed == 1)
		__atomic_store_n(&seen_listed, 1, __ATOMIC_RELAXED);
	if (strcmp(current, "tsc") == 0)
		__atomic_store_n(&seen_current, 1, __ATOMIC_RELAXED);
}

static void tsc_probe(struct chronon__probe *p)
{
	memset(p, 0, sizeof *p);
	p->read_variants = CHRONON_ARCH_READ_VARIANTS;
	int mode = 0;
	if (prctl(PR_GET_TSC, &mode, 0, 0, 0) == 0 && mode == PR_TSC_SIGSEGV) {
		strcpy(p->reason, "rdtsc faults in this process (prctl PR_SET_TSC)");
		p->cannot_read = 1;
		return;
	}
	struct cpu_facts f;
	cpu_facts(&f);
	p->hz = f.hz;
	p->source = f.source;
	struct chronon__trust_facts t = {.name = "tsc"};
	t.pv = tsc_pv(&p->pv, &p->guard);
	if (p->guard) {
		/* The page states the rate exactly, and its guard tells the
		 * read path when that stops being true. */
		chronon__arch_guard_set(p->guard);
		p->hz = p->pv.hz;
		p->source = CHRONON__FREQ_PARAVIRT;
		t.pv_name = p->pv.name;
		t.pv_source = p->pv.clocksource;
	}
	if (!f.invariant) {
		strcpy(p->reason, "TSC not invariant (CPUID 0x80000007 EDX bit 8 clear)");
		return;
	}
	p->forceable = 1;
	char current[64];
	kernel_verdict(&t, current, sizeof current);
	t.current = current;
	p->usable = chronon__trust(&t, p->reason, sizeof p->reason);
}

static const struct chronon__counter tsc_counter = {
	.name = CHRONON_ARCH_COUNTER_NAME,
	.id = CHRONON__CTR_ARCH,
	.mask = ~(uint64_t)0,
	.quality = 100,
	.read = tsc_read,
	.probe = tsc_probe,
	.pv_read = tsc_pv_read,
};

const struct chronon__counter *chronon__counter_arch(void)
{
	return &tsc_counter;
}

#endif
