/* What the timekeeper's files share; not for the read path. */
#ifndef CHRONON_TK_INTERNAL_H
#define CHRONON_TK_INTERNAL_H

#include <stdio.h>

#include "timekeeper.h"

/*
 * The timekeeper's work is split as Linux splits timekeeping_advance from
 * update_vsyscall, and FreeBSD's tc_windup fills the next timehands before
 * publishing them: each step of work (start, probe, calibrate, update,
 * trust lost, forget) first decides, then one function applies.
 *
 * Deciding (tk_track.c, tk_trust.c) takes the samples, updates the
 * estimates it owns (the rate tracks, the offsets' intervals, the NTP
 * state, the counter's choice and its host page) and returns a
 * chronon__tk_plan.  It never writes the state, the schedule, the
 * counts or the page.  Two things are done where they are seen, not
 * planned: what the samples show is counted there (REALTIME steps,
 * suspends, host page changes), and a REALTIME step drops the floors it
 * made stale at the sample, because a kernel answer handed out after the
 * sample (and before the apply) must stay a floor.
 *
 * Applying (tk_apply.c, chronon__tk_apply) is the one place that does:
 * the state, the due time, the resync schedule, the counts, kernel mode's
 * bookkeeping, and the page through the publisher (tk_publish.c).
 */

/* A snapshot to publish: kernel samples taken just before, and the rates
 * (ns per tick, already slewed) the page should run at. */
struct chronon__snapshot {
	int rebase;                       /* restart from the kernel, not from the old line */
	struct chronon__sample mono, raw; /* kernel MONOTONIC and MONOTONIC_RAW samples */
	double mono_rate, raw_rate;       /* rates to publish */
	double rate_unc;                  /* relative uncertainty of the rate estimate */
	int64_t valid_ns;                 /* how long readers may use it */
};

/* What the page gets. */
enum chronon__tk_publish {
	CHRONON__PUB_NONE,
	CHRONON__PUB_OFFSETS, /* the offsets only (kernel modes: no line yet) */
	CHRONON__PUB_LINE,    /* a snapshot: plan.line */
	CHRONON__PUB_KERNEL,  /* readers leave the counter for the kernel, for good */
	CHRONON__PUB_RETIRE,  /* the same, the counter still named (chronond's page retired) */
};

/* Which of a plan's fields are to be written (the rest stay as they are). */
enum {
	CHRONON__PLAN_STATE = 1 << 0,    /* state, and reason */
	CHRONON__PLAN_DUE = 1 << 1,      /* due_ns */
	CHRONON__PLAN_SCHEDULE = 1 << 2, /* interval_ns, next_resync_k */
	CHRONON__PLAN_SHIFT = 1 << 3,    /* shift */
	CHRONON__PLAN_CHECK = 1 << 4,    /* check_err_ns */
	CHRONON__PLAN_REBASE = 1 << 5,   /* need_rebase */
	CHRONON__PLAN_RESYNC = 1 << 6,   /* a resync done at line.mono.k: count it */
};

struct chronon__tk_plan {
	unsigned set;                 /* CHRONON__PLAN_* */
	enum chronon__tk_state state; /* the next state */
	char reason[128];             /* with it: why the kernel answers ("" none) */
	int64_t due_ns;               /* kernel modes: MONOTONIC when work is next due */
	int64_t interval_ns, next_resync_k;
	uint32_t shift;
	int64_t check_err_ns;         /* kernel minus page, as measured */
	int need_rebase;
	int direct;                   /* kernel mode's bookkeeping (timekeeper.h's
				       * chronon__kernel_direct): 1 direct, 2 never, 0 leave */
	unsigned steps, skipped;      /* counts to bump */
	enum chronon__tk_publish publish;
	struct chronon__snapshot line;
};

/* A plan that changes nothing. */
static inline void chronon__tk_plan_init(struct chronon__tk_plan *p)
{
	*p = (struct chronon__tk_plan){.publish = CHRONON__PUB_NONE};
}

/* Plans to answer from the kernel, with the reason, for good: why is
 * cut to what the status can show. */
static inline void chronon__tk_plan_kernel(struct chronon__tk_plan *p, const char *why,
					   enum chronon__tk_publish publish)
{
	p->set |= CHRONON__PLAN_STATE;
	p->state = CHRONON__TK_KERNEL;
	snprintf(p->reason, sizeof p->reason, "%.*s", (int)sizeof p->reason - 1, why);
	p->publish = publish;
}

/* Deciding (tk_track.c), under the work lock. */
void chronon__tk_decide_start(struct chronon__tk *tk, struct chronon__tk_plan *p);
void chronon__tk_decide_probe(struct chronon__tk *tk, struct chronon__tk_plan *p);
void chronon__tk_decide_calibrate(struct chronon__tk *tk, struct chronon__tk_plan *p);
void chronon__tk_decide_update(struct chronon__tk *tk, struct chronon__tk_plan *p);
void chronon__tk_decide_forget(const struct chronon__tk *tk, struct chronon__tk_plan *p);
void chronon__tk_decide_seed(struct chronon__tk *tk, double mono_rate, double raw_rate, double unc,
			     struct chronon__tk_plan *p);
void chronon__tk_sample_offsets(struct chronon__tk *tk);

/* Applying (tk_apply.c): the one writer of the state, the schedule, the
 * counts and, through the publisher, the page. */
void chronon__tk_apply(struct chronon__tk *tk, const struct chronon__tk_plan *p);
/* The first read answered (timekeeper.c, without the lock): NEW becomes
 * STARTED, unless another thread's step moved the state already. */
void chronon__tk_apply_first_read(struct chronon__tk *tk);
/* Decide and apply, in one (timekeeper.c): an update (a check, a
 * resync, a re-base: whatever is due), and forgetting half-done work. */
void chronon__tk_update(struct chronon__tk *tk);
void chronon__tk_forget(struct chronon__tk *tk);

/* Publishing (tk_publish.c), called by chronon__tk_apply only.  What the
 * publisher settled at the pivot and gives back: the next resync, brought
 * forward when a re-base's catch-up slew must end sooner, and, per track
 * (mono, raw), the error and slew a restarted line begins with. */
struct chronon__restart {
	int restarted;
	int64_t err_ns;
	double corr;
};
struct chronon__published {
	int64_t next_resync_k;
	struct chronon__restart mono, raw;
};
void chronon__tk_publish(struct chronon__tk *tk, const struct chronon__snapshot *snap,
			 struct chronon__published *out);
void chronon__tk_publish_offsets(struct chronon__tk *tk);
/* The page stops serving from the counter (tk_publish.c); keep: the
 * counter's id, variant and shift stay in it. */
void chronon__tk_publish_kernel_mode(struct chronon__tk *tk, int keep);
uint32_t chronon__shift_for(double rate);
/* Follows the counter's paravirtual page (tk_trust.c), before any sample
 * is taken against the counter, and its trust at kernel time k, with the
 * lock held.  1 when the counter is to be given up: p says how.  A host
 * that moved the counter asks p for a re-base; the host's page as seen
 * and the trust check's own due time are kept in tk. */
int chronon__tk_watch_host(struct chronon__tk *tk, struct chronon__tk_plan *p);
/* Whether the host rewrote the counter's page since the last snapshot:
 * 1 it did, 0 not, -1 the counter has no such page. */
int chronon__tk_host_moved(const struct chronon__tk *tk);
int chronon__tk_watch_counter(struct chronon__tk *tk, int64_t k, struct chronon__tk_plan *p);

#endif
