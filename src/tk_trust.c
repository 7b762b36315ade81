/*
 * Following the counter's trust while running, not only at start.  The
 * kernel may drop the counter (its watchdog), an administrator may move
 * the clocksource off it, and a host may change how it relates to time
 * (live migration, snapshot restore, a TSC scaling change, a pause): the
 * first two are looked at once per resync interval, the last on the very
 * next read, because the read path compares the paravirtual page's guard
 * word after every counter read and leaves for here when it moved.
 *
 * Deciding only (tk_internal.h): what the host's page says is kept here
 * (the page as last seen, the rates rescaled, a re-base asked for), but a
 * counter given up is a plan, CHRONON__PUB_KERNEL, that chronon__tk_apply
 * carries out.  Readers then move to the kernel; the page's pad stays:
 * every value the old line handed out is at most the kernel's time plus
 * the pad, so kernel answers raised by it (timekeeper.c) never go back.
 */
#include <stdio.h>
#include <string.h>

#include "tk_internal.h"

static double absd(double v)
{
	return v < 0 ? -v : v;
}

/*
 * The host rewrote the page.  Most rewrites are routine (KVM refreshes
 * its page now and then) and leave the counter's line where it was: then
 * only the guard moves.  A counter that jumped against the page's clock
 * (a TSC offset changed by migration), a new rate, or a pause the page
 * reports make the next snapshot restart from the kernel, at the new
 * rate.  A page that no longer vouches for the counter ends its use.
 */
static int pv_moved(struct chronon__tk *tk, struct chronon__tk_plan *plan)
{
	const struct chronon__counter *c = tk->choice.counter;
	struct chronon__pv now;
	if (c->pv_read(&now) != 0) {
		char why[128];
		snprintf(why, sizeof why, "the host's %s page can no longer be read whole",
			 tk->pv.name ? tk->pv.name : "paravirtual");
		chronon__tk_plan_kernel(plan, why, CHRONON__PUB_KERNEL);
		return 1;
	}
	if (!now.stable && !tk->choice.forced) {
		/* Whether the kernel still vouches on its own (it keeps time
		 * with the counter itself) is the trust rules' to say. */
		struct chronon__probe p;
		c->probe(&p);
		if (!p.usable) {
			char why[160];
			snprintf(why, sizeof why, "the host's %s page stopped vouching: %s",
				 now.name ? now.name : "paravirtual", p.reason);
			chronon__tk_plan_kernel(plan, why, CHRONON__PUB_KERNEL);
			return 1;
		}
	}
	uint64_t cnow = chronon__counter_read(c, tk->variant);
	double jump = chronon__pv_ns(&now, cnow) - chronon__pv_ns(&tk->pv, cnow);
	double ratio = now.ns_per_tick / tk->pv.ns_per_tick;
	if (now.stopped || absd(jump) > 1000 || absd(ratio - 1) > 1e-6) {
		tk->mono.rate *= ratio;
		tk->raw.rate *= ratio;
		tk->choice.probe.hz = now.hz;
		plan->set |= CHRONON__PLAN_REBASE; /* the line restarts from the kernel */
		plan->need_rebase = 1;
		tk->host_moved = 1;
		tk->host_ratio = ratio;
	}
	tk->pv = now;
	tk->pv_changes++;
	return 0;
}

int chronon__tk_host_moved(const struct chronon__tk *tk)
{
	const _Atomic uint32_t *g = tk->choice.probe.guard;
	if (!g)
		return -1;
	return atomic_load_explicit(g, memory_order_acquire) != tk->pv.guard;
}

int chronon__tk_watch_host(struct chronon__tk *tk, struct chronon__tk_plan *p)
{
	return chronon__tk_host_moved(tk) == 1 && pv_moved(tk, p);
}

int chronon__tk_watch_counter(struct chronon__tk *tk, int64_t k, struct chronon__tk_plan *plan)
{
	if (k < tk->trust_due_k || tk->choice.forced)
		return 0;
	tk->trust_due_k = k + tk->cfg.resync_max_ns;
	struct chronon__probe p;
	tk->choice.counter->probe(&p);
	if (p.usable)
		return 0;
	chronon__tk_plan_kernel(plan, p.reason, CHRONON__PUB_KERNEL);
	return 1;
}
