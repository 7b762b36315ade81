/*
 * Driving a timekeeper from outside the read path: chronond's whole
 * contract with the timekeeper (tk_driver.c).  The driver owns the
 * storage (a struct chronon__tk, whose fields it does not touch) and the
 * page; it sets the timekeeper up with its window as configuration, steps
 * it on its own schedule, and reads back a report.  It never writes the
 * page: the timekeeper is the page's one writer, retiring included.
 */
#ifndef CHRONON_TK_DRIVER_H
#define CHRONON_TK_DRIVER_H

#include <stdint.h>

#include "timekeeper.h"

struct chronon__tk_drive_config {
	const struct chronon__counter *counter; /* the counter to serve from */
	int forced;            /* it was forced (CHRONON_COUNTER: chronon__choice.forced) */
	/* How often the driver checks the page against the kernel
	 * (chronon__tk_drive_next): a rate change or a clock step is
	 * followed within about this; the page's window is the interval's.
	 * 0: CHRONON__DRIVE_INTERVAL_NS. */
	int64_t interval_ns;
	/* The kernel's clocks: NULL for the real kernel (tests hand in a
	 * simulated one). */
	const struct chronon__kclock *kc;
};

/* The interval a driver checks at by default: the in-process
 * timekeeper's (its page expires this long after a check, and the next
 * reader does the next), so a driver's readers follow the kernel as fast
 * as in-process readers do. */
#define CHRONON__DRIVE_INTERVAL_NS (10 * 1000000LL)

/* A late wake-up the page's window absorbs (a busy 2-core VM deschedules
 * a process for tens of ms). */
#define CHRONON__DRIVE_LATE_NS (50 * 1000000LL)

/* How long readers may use a snapshot of a driver checking every
 * interval_ns: past its next check by an interval and the late margin
 * (the timekeeper cuts it while a fast slew runs: tk_publish.c).  The
 * timekeeper sizes the page's pad for this window, and it bounds how
 * long readers keep using the page of a driver that died or was
 * descheduled. */
int64_t chronon__tk_drive_window(int64_t interval_ns);

/* Sets tk up to keep page from the kernel's clocks, the page valid for
 * the interval's window; the page is in kernel mode (readers ask the
 * kernel) until calibration is done. */
void chronon__tk_drive_setup(struct chronon__tk *tk, struct chronon__page *page,
			     const struct chronon__tk_drive_config *cfg);

enum chronon__tk_drive {
	CHRONON__DRIVE_WAIT,    /* calibrating: step again at *due_ns */
	CHRONON__DRIVE_SERVING, /* the page serves from the counter */
	CHRONON__DRIVE_GAVE_UP, /* the counter cannot be used (the report says why) */
};

/* One step of calibration.  WAIT with *due_ns (MONOTONIC) the time of
 * the next step, or SERVING, or GAVE_UP. */
enum chronon__tk_drive chronon__tk_drive_calibrate(struct chronon__tk *tk, int64_t *due_ns);
/* The timekeeper's work now (a check, a resync, a re-base: whatever is
 * due), then SERVING, or GAVE_UP when the counter was given up. */
enum chronon__tk_drive chronon__tk_drive_update(struct chronon__tk *tk);
/* MONOTONIC of the next update after one at now_ns: an interval later,
 * sooner when the timekeeper's resync schedule (short while the rate is
 * young, or when a slew must end) asks; never sooner than 100 us. */
int64_t chronon__tk_drive_next(const struct chronon__tk *tk, int64_t interval_ns, int64_t now_ns);

/* The host's page that scales the counter (a paravirtual clock): -1 when
 * there is none, else 1 when the host rewrote it since the last snapshot
 * (the driver should update at once: readers leave the page meanwhile),
 * 0 when not.  A load; cheap enough to poll. */
int chronon__tk_drive_host(const struct chronon__tk *tk);

/* What a driver publishes about the timekeeper (chronond: beside its
 * page, for chronon_status) and schedules by. */
struct chronon__tk_report {
	int64_t next_resync_ns; /* MONOTONIC of the resync the timekeeper wants next */
	int64_t last_resync_ns; /* MONOTONIC of the last one */
	int64_t error_ns;       /* kernel minus page at the last resync */
	int64_t check_error_ns; /* kernel minus page at the last check or resync */
	int64_t width_ns;       /* that measurement's uncertainty */
	uint64_t resyncs, steps, realtime_steps, suspends;
	double counter_hz;      /* the counter's frequency on MONOTONIC_RAW */
	/* The rates (ns per tick, unslewed; 0 until the page serves) and
	 * their relative uncertainty: what a reader leaving the page resumes
	 * from (chronon__tk_seed). */
	double mono_rate, raw_rate, rate_unc;
	char reason[128];       /* why the counter was given up */
};
void chronon__tk_drive_report(const struct chronon__tk *tk, struct chronon__tk_report *r);

/* The page stops serving (kernel mode), in one write under its sequence
 * count: every reader leaves it at its next read. */
void chronon__tk_drive_retire(struct chronon__tk *tk);

#endif
