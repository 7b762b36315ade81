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
};

struct chronon__probe {
	int usable;
	char reason[96];          /* why (not) usable, for chronon_status */
	uint64_t hz;              /* stated frequency, 0 when the machine said nothing */
	enum chronon__freq_source source;
	unsigned read_variants;   /* ordered-read variants to measure (>= 1) */
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
};

/* Picks the best usable counter, honouring CHRONON_COUNTER=name. */
void chronon__counter_choose(struct chronon__choice *out);

/* Read variant v of the counter with the given id (slow paths, sampling). */
uint64_t chronon__counter_read(const struct chronon__counter *c, unsigned variant);

#endif
