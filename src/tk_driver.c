/* Driving a timekeeper from outside the read path (tk_driver.h). */
#include <stdio.h>

#include "tk_driver.h"
#include "tk_internal.h"

int64_t chronon__tk_drive_window(int64_t interval_ns)
{
	return 2 * interval_ns + CHRONON__DRIVE_LATE_NS;
}

void chronon__tk_drive_setup(struct chronon__tk *tk, struct chronon__page *page,
			     const struct chronon__tk_drive_config *cfg)
{
	chronon__tk_setup(tk, page, cfg->kc ? cfg->kc : &chronon__kclock_real, cfg->counter);
	tk->choice.forced = cfg->forced;
	tk->cfg.page_valid_ns = chronon__tk_drive_window(cfg->interval_ns > 0 ? cfg->interval_ns
									: CHRONON__DRIVE_INTERVAL_NS);
}

static enum chronon__tk_drive verdict(const struct chronon__tk *tk)
{
	switch (atomic_load_explicit(&tk->state, memory_order_acquire)) {
	case CHRONON__TK_COUNTER: return CHRONON__DRIVE_SERVING;
	case CHRONON__TK_KERNEL: return CHRONON__DRIVE_GAVE_UP;
	default: return CHRONON__DRIVE_WAIT;
	}
}

enum chronon__tk_drive chronon__tk_drive_calibrate(struct chronon__tk *tk, int64_t *due_ns)
{
	/* The slow path does the due step (start, probe, calibrate). */
	chronon__tk_read_slow(tk, CHRONON__CK_MONO);
	*due_ns = atomic_load_explicit(&tk->due_ns, memory_order_relaxed);
	return verdict(tk);
}

enum chronon__tk_drive chronon__tk_drive_update(struct chronon__tk *tk)
{
	/* Not chronon__tk_read_slow(): that works only when the page has
	 * expired, and a driver's page never should. */
	chronon__tk_update(tk);
	return verdict(tk) == CHRONON__DRIVE_GAVE_UP ? CHRONON__DRIVE_GAVE_UP
						      : CHRONON__DRIVE_SERVING;
}

int64_t chronon__tk_drive_next(const struct chronon__tk *tk, int64_t interval_ns, int64_t now_ns)
{
	int64_t next = now_ns + interval_ns;
	if (tk->next_resync_k < next)
		next = tk->next_resync_k;
	return next < now_ns + 100000 ? now_ns + 100000 : next;
}

int chronon__tk_drive_host(const struct chronon__tk *tk)
{
	return chronon__tk_host_moved(tk);
}

void chronon__tk_drive_report(const struct chronon__tk *tk, struct chronon__tk_report *r)
{
	r->next_resync_ns = tk->next_resync_k;
	r->last_resync_ns = tk->last_resync_k;
	r->error_ns = tk->mono.err_ns;
	r->check_error_ns = tk->check_err_ns;
	r->width_ns = tk->mono.width_ns;
	r->resyncs = tk->resyncs;
	r->steps = tk->steps;
	r->realtime_steps = tk->realtime_steps;
	r->suspends = tk->suspends;
	r->counter_hz = tk->raw.rate > 0 ? (double)CHRONON__NS / tk->raw.rate : 0;
	int serving = atomic_load_explicit(&tk->state, memory_order_relaxed) == CHRONON__TK_COUNTER;
	r->mono_rate = serving ? tk->mono.rate : 0;
	r->raw_rate = serving ? tk->raw.rate : 0;
	r->rate_unc = tk->mono.unc > tk->raw.unc ? tk->mono.unc : tk->raw.unc;
	snprintf(r->reason, sizeof r->reason, "%s", tk->reason);
}

void chronon__tk_drive_retire(struct chronon__tk *tk)
{
	struct chronon__tk_plan p;
	chronon__tk_plan_init(&p);
	p.publish = CHRONON__PUB_RETIRE;
	chronon__tk_apply(tk, &p);
}
