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
	/* How long readers may use a snapshot: the driver updates the page
	 * itself, so past its next update by a margin; the timekeeper sizes
	 * the page's pad for this window. */
	int64_t page_valid_ns;
};

/* Sets tk up to keep page from the real kernel's clocks; the page is in
 * kernel mode (readers ask the kernel) until calibration is done. */
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
	int64_t width_ns;       /* that measurement's uncertainty */
	uint64_t resyncs, steps, realtime_steps, suspends;
	double counter_hz;      /* the counter's frequency on MONOTONIC_RAW */
	char reason[128];       /* why the counter was given up */
};
void chronon__tk_drive_report(const struct chronon__tk *tk, struct chronon__tk_report *r);

/* The page stops serving (kernel mode), in one write under its sequence
 * count: every reader leaves it at its next read. */
void chronon__tk_drive_retire(struct chronon__tk *tk);

#endif
