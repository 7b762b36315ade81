/* What the timekeeper's files share; not for the read path. */
#ifndef CHRONON_TK_INTERNAL_H
#define CHRONON_TK_INTERNAL_H

#include "timekeeper.h"

/* A new snapshot to publish: kernel samples taken just before, and the
 * rates (ns per tick, already slewed) the page should run at. */
struct chronon__plan {
	int rebase;                       /* restart from the kernel, not from the old line */
	struct chronon__sample mono, raw; /* kernel MONOTONIC and MONOTONIC_RAW samples */
	double mono_rate, raw_rate;       /* rates to publish */
	double rate_unc;                  /* relative uncertainty of the rate estimate */
	int64_t valid_ns;                 /* how long readers may use it */
};

void chronon__tk_start(struct chronon__tk *tk);
void chronon__tk_probe(struct chronon__tk *tk);
void chronon__tk_calibrate(struct chronon__tk *tk);
void chronon__tk_update(struct chronon__tk *tk);
void chronon__tk_forget(struct chronon__tk *tk);
void chronon__tk_sample_offsets(struct chronon__tk *tk);
void chronon__tk_publish(struct chronon__tk *tk, const struct chronon__plan *plan);
void chronon__tk_publish_offsets(struct chronon__tk *tk);
/* The page stops serving from the counter (tk_publish.c); keep: the
 * counter's id, variant and shift stay in it. */
void chronon__tk_publish_kernel_mode(struct chronon__tk *tk, int keep);
uint32_t chronon__shift_for(double rate);
/* Follows the counter's paravirtual page (tk_trust.c), before any sample
 * is taken against the counter, and its trust at kernel time k, with the
 * lock held.  1 when the counter was given up. */
int chronon__tk_watch_host(struct chronon__tk *tk);
/* Whether the host rewrote the counter's page since the last snapshot:
 * 1 it did, 0 not, -1 the counter has no such page. */
int chronon__tk_host_moved(const struct chronon__tk *tk);
int chronon__tk_watch_counter(struct chronon__tk *tk, int64_t k);
void chronon__tk_give_up(struct chronon__tk *tk, const char *why);

#define CHRONON__NS 1000000000LL

#endif
