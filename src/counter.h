/*
 * The counter contract, after FreeBSD's struct timecounter: the timekeeper
 * and the read path know a counter only through this.  A counter is
 * something that ticks at a steady rate and can be read cheaply from user
 * space; probe() says whether it is usable on this machine and what
 * frequency the machine states for it, without waiting.
 */
#ifndef CHRONON_COUNTER_H
#define CHRONON_COUNTER_H

#include <stdint.h>

/* How the read path reaches a counter; stored in the time page. */
enum chronon__counter_id {
	CHRONON__CTR_KERNEL = 0, /* no counter: every read asks the kernel */
	CHRONON__CTR_ARCH = 1,   /* the CPU's counter, read inline (arch.h) */
	CHRONON__CTR_FN = 2,     /* through counter->read (simulated counters) */
};

enum chronon__freq_source {
	CHRONON__FREQ_NONE = 0,
	CHRONON__FREQ_CPUID,      /* exact: CPUID 0x15 crystal ratio */
	CHRONON__FREQ_HYPERVISOR, /* exact to 1 kHz: hypervisor timing leaf */
	CHRONON__FREQ_NOMINAL,    /* a rough figure (CPUID 0x16): reported, never trusted */
	CHRONON__FREQ_CALIBRATED, /* measured against the kernel */
	/* A register firmware sets (arm64 CNTFRQ_EL0): exact when right, and
	 * sometimes wrong.  Not trusted until calibration's measurement
	 * agrees; then kept as the source, else replaced by CALIBRATED. */
	CHRONON__FREQ_CNTFRQ,
	/* Exact: the host's paravirtual clock page (pvclock, Hyper-V's TSC
	 * page) states how the counter turns into time, and its guard word
	 * (below) says when that changes. */
	CHRONON__FREQ_PARAVIRT,
};

/*
 * What a paravirtual clock page says of the counter: the host-guest ABIs
 * the kernel's own vDSO reads (KVM's pvclock, Hyper-V's TSC reference
 * page; counter/paravirt.c).  Both describe a clock that is a linear
 * function of the counter, ns0 + (c - c0) * ns_per_tick, and both carry a
 * word the host changes whenever it changes that function (live
 * migration, snapshot restore, a TSC scaling change, a pause).
 */
struct chronon__pv {
	const char *name;         /* "pvclock", "hvclock"; NULL when there is none */
	const char *clocksource;  /* the kernel clocksource built on it */
	uint32_t guard;           /* the page's version or sequence */
	int stable;               /* the host vouches for the counter on every CPU */
	int stopped;              /* the host paused the guest (pvclock) */
	uint64_t hz;              /* the counter's rate as the page scales it */
	uint64_t c0;
	int64_t ns0;
	double ns_per_tick;
};

/* The page's clock at counter value c, to well under a ns over hours:
 * for telling a host's benign update from a counter that jumped. */
static inline double chronon__pv_ns(const struct chronon__pv *pv, uint64_t c)
{
	return (double)pv->ns0 + (double)(int64_t)(c - pv->c0) * pv->ns_per_tick;
}

struct chronon__probe {
	int usable;
	char reason[96];          /* why (not) usable, for chronon_status */
	uint64_t hz;              /* stated frequency, 0 when the machine said nothing */
	enum chronon__freq_source source;
	unsigned read_variants;   /* ordered-read variants to measure (>= 1) */
	int cannot_read;          /* reading it would fault: never used, even when forced */
	int forceable;            /* reads work and it ticks steadily: only the kernel's or
	                           * the host's word is missing (CHRONON_COUNTER may force it) */
	/* A word in read-only memory that the host changes whenever it
	 * changes how the counter relates to time (pv.guard as read now);
	 * NULL when the counter has no paravirtual page.  Readers compare it
	 * after every counter read (page.h). */
	const _Atomic uint32_t *guard;
	struct chronon__pv pv;    /* the page as the probe read it */
};

struct chronon__counter {
	const char *name;
	enum chronon__counter_id id;
	uint64_t mask;            /* width: deltas are (now - then) & mask */
	int quality;              /* the best usable counter wins */
	/* Ordered read in variant v; only CHRONON__CTR_FN counters are read
	 * through this pointer on the fast path. */
	uint64_t (*read)(unsigned variant);
	void (*probe)(struct chronon__probe *p);
	/* The paravirtual page as it is now: 0, or -1 when it cannot be
	 * read whole.  NULL for counters that never have one. */
	int (*pv_read)(struct chronon__pv *out);
};

#define CHRONON__NCOUNTERS_MAX 4

/* The counters this build knows, best first; NULL-terminated. */
const struct chronon__counter *const *chronon__counters(void);
/* The kernel counter: always usable, the universal fallback. */
/* Hidden: read on the fast path, so reached PC-relative, not through
 * the GOT (-fvisibility=hidden covers definitions, not declarations). */
#pragma GCC visibility push(hidden)
extern const struct chronon__counter chronon__counter_kernel;
#pragma GCC visibility pop
/* The CPU's counter for this architecture, or NULL (counter/<cpu>.c). */
const struct chronon__counter *chronon__counter_arch(void);

struct chronon__choice {
	const struct chronon__counter *counter;
	struct chronon__probe probe;
	char note[128];           /* e.g. why CHRONON_COUNTER was ignored */
	int forced;               /* chosen by CHRONON_COUNTER: kept whatever trust says */
};

/* Picks the best usable counter, honouring CHRONON_COUNTER=name. */
void chronon__counter_choose(struct chronon__choice *out);

/*
 * The process's guard word for the CPU counter (probe.guard of the arch
 * counter, set once by its probe), or a constant 0 where there is none:
 * the fast path compares it with the guard the page was published with.
 */
#pragma GCC visibility push(hidden)
extern const _Atomic uint32_t *_Atomic chronon__arch_guard;
#pragma GCC visibility pop
/* Points it at the page's guard, the first time only (counter/guard.c). */
void chronon__arch_guard_set(const _Atomic uint32_t *guard);

/* Read variant v of the counter with the given id (slow paths, sampling). */
uint64_t chronon__counter_read(const struct chronon__counter *c, unsigned variant);

#endif
