/*
 * A simulated counter and a simulated kernel, for deterministic tests of
 * the timekeeper.  Time is driven by the test: sim_advance() moves the
 * counter, and the kernel's clocks follow it at rates the test sets (the
 * kernel's NTP frequency, a counter that is not what it states), with
 * steps of REALTIME, suspends, counter resets and a narrow wrapping
 * counter on command.  Every read costs a few counter ticks, with
 * deterministic jitter, so brackets have widths as on a real machine.
 */
#ifndef CHRONON_TEST_SIM_H
#define CHRONON_TEST_SIM_H

#include <stdint.h>

#include "check.h"
#include "counter.h"
#include "kclock.h"
#include "timekeeper.h"
#include "chronon.h"
#include "clock.h"

struct sim {
	uint64_t ticks;            /* the counter, unmasked */
	uint64_t mask;             /* what a read keeps */
	double hz;                 /* true ticks per second */
	double mono_ns_per_tick;   /* the kernel's MONOTONIC rate against the counter */
	double raw_ns_per_tick;    /* the kernel's MONOTONIC_RAW rate */
	double mono, raw;          /* kernel clocks, ns (double: sub-ns kept) */
	int64_t off_real, off_boot, tai_s;
	int realtime_set;          /* pending CANCEL_ON_SET notice */
	double real_step_mono;     /* MONOTONIC at the last REALTIME step (0: none) */
	unsigned read_cost;        /* ticks each kernel read takes */
	unsigned counter_cost;     /* ticks each counter read takes */
	unsigned jitter;           /* up to this many extra ticks per kernel read */
	int skew;                  /* the kernel reads the counter anywhere within its
	                            * read's cost, not in the middle: a bracket's
	                            * midpoint is then off by up to half its width */
	uint64_t rng;
	uint64_t stated_hz;        /* what the counter's probe claims (0: nothing) */
	int exact;                 /* the claim is exact (like CPUID 0x15) */
	uint64_t kernel_reads;
	/* The kernel's NTP state as adjtimex (modes = 0) reports it, and
	 * true time, which the kernel's clocks only approximate: true UTC
	 * runs at the counter's true rate (hz) from where REALTIME started;
	 * the kernel's MONOTONIC ppm and REALTIME steps move away from it. */
	int ntp_fails;             /* adjtimex fails (as under a sandbox) */
	uint32_t ntp_status;       /* STA_* as the daemon left them */
	int64_t ntp_maxerror_us;   /* as the daemon set it, at ntp_set_s */
	int64_t ntp_esterror_us;
	int64_t ntp_set_s;         /* the kernel's second when set: it adds 500 us a second */
	double ntp_phase;          /* where the kernel's seconds fall on MONOTONIC */
	uint64_t ntp_reads;
	int64_t true_off;          /* true UTC = true_off + true_run, ns (the run */
	double true_run;           /* kept small: a double near 2^60 loses 256 ns a tick) */
	int64_t true_tai_s;        /* true TAI - UTC */
	/* A host's paravirtual clock page (sim_pv.c), in KVM's pvclock
	 * layout, and whether the counter's probe still vouches for it. */
	int pv_on;
	int pv_hv;                 /* the page is Hyper-V's TSC page instead */
	int untrusted;             /* the probe says "not usable" from now on */
	_Alignas(8) unsigned char pv_page[32];
	/* A preempted kernel read: the next stall_reads[i] reads of clock i
	 * (CLOCK_* ids up to CLOCK_TAI) each stall stall_ns[i] before the
	 * kernel reads the counter, as a read preempted inside the system
	 * call does. */
	unsigned stall_reads[12];
	double stall_ns[12];
	/* Called at every counter read (after it is taken): a test's stand-in
	 * for another thread or a signal handler reading at that moment. */
	void (*on_counter_read)(void);
};

extern struct sim sim;
extern const struct chronon__counter sim_counter;
extern const struct chronon__kclock sim_kclock;

/* A 2 GHz 64-bit counter, kernel at the counter's rate, REALTIME in 2026. */
void sim_reset(void);
void sim_advance_ns(double ns);
void sim_set_mono_ppm(double ppm);   /* kernel's MONOTONIC rate vs true */
/* The counter's own frequency changes (a migration, a TSC rate change):
 * the kernel's clocks keep their rates in ns, so both change per tick. */
void sim_set_counter_hz(double hz);
/* The next n reads of clock each stall ns before the kernel's read (after
 * it when ns < 0: preempted on the way out of the system call). */
void sim_stall(clockid_t clock, unsigned n, double ns);
void sim_step_realtime(int64_t ns);
void sim_suspend(double ns, int counter_resets);
int64_t sim_kernel(clockid_t clock); /* exact kernel value now, no cost */
/* A daemon's update (adjtimex ADJ_MAXERROR | ADJ_ESTERROR | ADJ_STATUS):
 * synchronised, with this maxerror from now on.  sim_step_realtime does
 * what the kernel does when the clock is set: sim_ntp_clear(). */
void sim_ntp_sync(int64_t maxerror_us, int64_t esterror_us);
void sim_ntp_clear(void);            /* STA_UNSYNC, maxerror 16 s */
void sim_ntp_now(struct chronon__ntp *out); /* what adjtimex says now, no cost */
int64_t sim_true(clockid_t clock);   /* true REALTIME or TAI now */

/* The host's pvclock page (sim_pv.c): enabled, describing the counter at
 * its true rate, version 2 and stable.  sim_pv_rewrite() is the host
 * updating it: the counter jumps by jump_ticks with the kernel's clocks
 * continuous (a TSC offset changed by migration), runs at new_hz from now
 * on (0: unchanged), with these flags (bit 0 stable, bit 1 stopped); the
 * version moves by two. */
void sim_pv_enable(void);
/* The same with Hyper-V's TSC reference page; flags bit 0 clear writes
 * sequence 0 (the host's "do not use"). */
void sim_hv_enable(void);
void sim_pv_rewrite(int64_t jump_ticks, double new_hz, unsigned flags);
uint32_t sim_pv_version(void);
void sim_pv_probe(struct chronon__probe *p);
int sim_pv_read(struct chronon__pv *out);

/* A timekeeper on its own page, driven by the simulation. */
struct sim_tk {
	struct chronon__page page;
	struct chronon__tk tk;
};
void sim_tk_setup(struct sim_tk *s);
int64_t sim_read(struct sim_tk *s, enum chronon__ck ck);

/* Reads ck through the timekeeper and measures it against the simulated
 * kernel: *err is how far the value lies outside the kernel's values just
 * before and after the read (0 inside).  Counts backward steps in
 * sim_backwards: of every clock, REALTIME and TAI between steps only. */
int64_t sim_measure(struct sim_tk *s, enum chronon__ck ck, int64_t *err);
extern uint64_t sim_backwards;
/* Runs for `ns` of simulated time, reading every clock every `every_ns`;
 * returns the largest |err| seen after `settle_ns` into the run. */
int64_t sim_run(struct sim_tk *s, double ns, double every_ns, double settle_ns);

#endif
