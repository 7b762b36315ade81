/*
 * Applying the timekeeper's plans: the one place that writes its state,
 * its due time, the resync schedule and the counts, decides kernel mode's
 * bookkeeping, and has the page published (tk_internal.h has the split:
 * tk_track.c and tk_trust.c decide, this file applies).
 *
 * The order is the one readers rely on: everything a new state implies
 * (the schedule, the page) is in place before the state is stored with
 * release, the last write; the check's error before the page, which
 * publishes it for bounded time.
 */
#include <stdio.h>

#include "tk_internal.h"

/* The first decision on kernel mode's bookkeeping stands (timekeeper.h). */
static void decide_direct(struct chronon__tk *tk, int direct)
{
	int undecided = 0;
	if (tk->direct && direct)
		atomic_compare_exchange_strong_explicit(tk->direct, &undecided, direct,
							memory_order_release, memory_order_relaxed);
}

/* A restarted line begins with the error its catch-up slew removes. */
static void restart_track(struct chronon__track *t, const struct chronon__restart *r)
{
	if (!r->restarted)
		return;
	t->err_ns = r->err_ns;
	t->corr = r->corr;
}

static void publish_line(struct chronon__tk *tk, const struct chronon__snapshot *line)
{
	struct chronon__published out;
	chronon__tk_publish(tk, line, &out);
	/* A host's new scale bounds what readers saw of the line before it,
	 * once: the line published now runs in the new scale. */
	if (line->rebase)
		tk->host_moved = 0;
	tk->next_resync_k = out.next_resync_k;
	restart_track(&tk->mono, &out.mono);
	restart_track(&tk->raw, &out.raw);
}

static void publish(struct chronon__tk *tk, const struct chronon__tk_plan *p)
{
	switch (p->publish) {
	case CHRONON__PUB_OFFSETS:
		chronon__tk_publish_offsets(tk);
		break;
	case CHRONON__PUB_LINE:
		publish_line(tk, &p->line);
		break;
	case CHRONON__PUB_KERNEL:
		chronon__tk_publish_kernel_mode(tk, 0);
		break;
	case CHRONON__PUB_RETIRE:
		chronon__tk_publish_kernel_mode(tk, 1);
		break;
	case CHRONON__PUB_NONE:
		break;
	}
}

void chronon__tk_apply(struct chronon__tk *tk, const struct chronon__tk_plan *p)
{
	if (p->set & CHRONON__PLAN_SHIFT)
		tk->shift = p->shift;
	if (p->set & CHRONON__PLAN_SCHEDULE) {
		tk->interval_ns = p->interval_ns;
		tk->next_resync_k = p->next_resync_k;
	}
	if (p->set & CHRONON__PLAN_CHECK)
		tk->check_err_ns = p->check_err_ns;
	if (p->set & CHRONON__PLAN_REBASE)
		tk->need_rebase = p->need_rebase;
	tk->steps += p->steps;
	tk->skipped += p->skipped;
	decide_direct(tk, p->direct);
	publish(tk, p);
	if (p->set & CHRONON__PLAN_RESYNC) {
		tk->last_resync_k = p->line.mono.k;
		tk->resyncs++;
	}
	if (p->set & CHRONON__PLAN_DUE)
		atomic_store_explicit(&tk->due_ns, p->due_ns, memory_order_relaxed);
	if (p->set & CHRONON__PLAN_STATE) {
		snprintf(tk->reason, sizeof tk->reason, "%s", p->reason);
		atomic_store_explicit(&tk->state, (int)p->state, memory_order_release);
	}
}

void chronon__tk_apply_first_read(struct chronon__tk *tk)
{
	int expect = CHRONON__TK_NEW;
	atomic_compare_exchange_strong_explicit(&tk->state, &expect, CHRONON__TK_STARTED,
						memory_order_relaxed, memory_order_relaxed);
}
