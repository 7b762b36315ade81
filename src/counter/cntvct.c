/*
 * The arm64 generic timer's virtual counter (CNTVCT_EL0) as a chronon
 * counter.
 *
 * The architecture promises one system-wide count at a constant rate, at
 * least 56 bits wide (64 from ARMv8.6), readable from user space under
 * Linux.  What it does not promise is that firmware told the truth in
 * CNTFRQ_EL0, the register that states the rate: so the stated figure is
 * reported with source CNTFRQ, which the timekeeper does not trust until
 * its calibration against the kernel agrees with it (tk_track.c).
 *
 * Usable unless
 *  - reading it traps to the kernel: Linux traps and emulates user reads
 *    of the counter on CPUs with a timer erratum (and disables its own
 *    vDSO there); a read then costs a system call, no faster than asking
 *    the kernel for the time;
 *  - the kernel keeps time with the memory-mapped timer instead of this
 *    one (its clocksource list has arch_mem_counter but not
 *    arch_sys_counter): the kernel had a reason not to use it.
 */
#if defined(__aarch64__)

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "counter.h"
#include "ns.h"
#include "sysfile.h"

#define CLOCKSOURCE_LIST "/sys/devices/system/clocksource/clocksource0/available_clocksource"
#define HWCAP2_ECV_BIT (1ul << 19) /* Linux uapi asm/hwcap.h; libc headers may predate it */

/* The architecture's minimum width.  Linux uses the same mask: a wider
 * counter read through it still gives exact deltas, since (c1 - c0) mod
 * 2^56 is the true delta for any delta below 2^56 ticks (27 days at the
 * fastest rate, 1 GHz, far beyond the page's validity). */
#define CNTVCT_MASK ((UINT64_C(1) << 56) - 1)

/* A trapped, emulated read costs an exception round trip: several
 * hundred ns at best.  A real one costs 5-40 ns (ISB included). */
#define TRAP_NS 250
#define COST_READS 128

int chronon__aarch64_ecv;

static uint64_t cntvct_read(unsigned variant)
{
	return chronon__arch_counter_read_v(variant);
}

static int64_t raw_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (int64_t)ts.tv_sec * CHRONON__NS + ts.tv_nsec;
}

/* Nanoseconds per ordered read, the best of three rounds (a preemption
 * inflates one round, not all three). */
static int64_t read_cost_ns(void)
{
	int64_t best = INT64_MAX;
	for (int round = 0; round < 3; round++) {
		int64_t t0 = raw_ns();
		for (int i = 0; i < COST_READS; i++)
			(void)chronon__arch_counter_read();
		int64_t t = (raw_ns() - t0) / COST_READS;
		if (t < best)
			best = t;
	}
	return best;
}

/* Which of the kernel's arm timers it lists: 2 arch_sys_counter (this
 * counter), 1 only arch_mem_counter, 0 neither or unreadable (no sysfs,
 * or a foreign kernel's list under user-mode emulation such as
 * qemu-aarch64 on an x86-64 host). */
static int kernel_timer(void)
{
	char list[256];
	if (chronon__read_small(CLOCKSOURCE_LIST, list, sizeof list) != 0)
		return 0;
	if (chronon__has_word(list, "arch_sys_counter"))
		return 2;
	return chronon__has_word(list, "arch_mem_counter") ? 1 : 0;
}

/* What never changes in a process, found once: the cost check takes a
 * few microseconds and the probe runs at every status call.  Racing first
 * callers compute the same answer. */
struct cpu_facts {
	uint64_t cntfrq;
	int ecv;
	int64_t cost_ns;
	int timer;
};

static void cpu_facts(struct cpu_facts *f)
{
	static struct cpu_facts cached;
	static int ready;
	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&cached.cntfrq, chronon__arch_counter_freq(), __ATOMIC_RELAXED);
		__atomic_store_n(&cached.ecv, (getauxval(AT_HWCAP2) & HWCAP2_ECV_BIT) != 0,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&chronon__aarch64_ecv, cached.ecv, __ATOMIC_RELAXED);
		__atomic_store_n(&cached.cost_ns, read_cost_ns(), __ATOMIC_RELAXED);
		__atomic_store_n(&cached.timer, kernel_timer(), __ATOMIC_RELAXED);
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	f->cntfrq = __atomic_load_n(&cached.cntfrq, __ATOMIC_RELAXED);
	f->ecv = __atomic_load_n(&cached.ecv, __ATOMIC_RELAXED);
	f->cost_ns = __atomic_load_n(&cached.cost_ns, __ATOMIC_RELAXED);
	f->timer = __atomic_load_n(&cached.timer, __ATOMIC_RELAXED);
}

static void cntvct_probe(struct chronon__probe *p)
{
	memset(p, 0, sizeof *p);
	struct cpu_facts f;
	cpu_facts(&f);
	p->read_variants = f.ecv ? 2 : 1;
	p->hz = f.cntfrq;
	p->source = f.cntfrq ? CHRONON__FREQ_CNTFRQ : CHRONON__FREQ_NONE;
	if (f.cost_ns > TRAP_NS) {
		snprintf(p->reason, sizeof p->reason,
			 "reading CNTVCT_EL0 traps to the kernel (%lld ns a read): timer erratum",
			 (long long)f.cost_ns);
		return;
	}
	p->forceable = 1;
	if (f.timer == 1) {
		strcpy(p->reason, "the kernel keeps time with arch_mem_counter, not this counter");
		return;
	}
	p->usable = 1;
	snprintf(p->reason, sizeof p->reason, "%s; CNTFRQ_EL0 %llu Hz%s%s",
		 f.timer == 2 ? "arch_sys_counter, trusted by the kernel"
			      : "no arm timer in the kernel's list (emulated?)",
		 (unsigned long long)f.cntfrq, f.cntfrq ? ", to be checked" : " (unset)",
		 f.ecv ? "; ECV" : "");
}

static const struct chronon__counter cntvct_counter = {
	.name = CHRONON_ARCH_COUNTER_NAME,
	.id = CHRONON__CTR_ARCH,
	.mask = CNTVCT_MASK,
	.quality = 100,
	.read = cntvct_read,
	.probe = cntvct_probe,
};

const struct chronon__counter *chronon__counter_arch(void)
{
	return &cntvct_counter;
}

#else
typedef int chronon__counter_cntvct_unused;
#endif
