/* chronon_status: what the process's clock runs on, for people and tools. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "chronon.h"
#include "clock.h"
#include "proc_page.h"
#include "ns.h"

static const char *source_name(enum chronon__freq_source s)
{
	switch (s) {
	case CHRONON__FREQ_CPUID: return "cpuid";
	case CHRONON__FREQ_HYPERVISOR: return "hypervisor";
	case CHRONON__FREQ_CALIBRATED: return "calibrated";
	case CHRONON__FREQ_NOMINAL: return "nominal";
	/* Counter mode is reached on this source only after calibration
	 * agreed with it (tk_track.c: check_register). */
	case CHRONON__FREQ_CNTFRQ: return "cntfrq-verified";
	case CHRONON__FREQ_PARAVIRT: return "paravirt";
	default: return "none";
	}
}

static void counters(struct chronon_status *st, const char *chosen)
{
	const struct chronon__counter *const *l = chronon__counters();
	for (st->ncounters = 0; l[st->ncounters] && st->ncounters < CHRONON_MAX_COUNTERS;
	     st->ncounters++) {
		const struct chronon__counter *c = l[st->ncounters];
		struct chronon_counter_info *ci = &st->counters[st->ncounters];
		struct chronon__probe p;
		c->probe(&p);
		snprintf(ci->name, sizeof ci->name, "%s", c->name);
		snprintf(ci->reason, sizeof ci->reason, "%s", p.reason);
		ci->usable = p.usable;
		ci->quality = p.usable ? c->quality : -1;
		ci->chosen = strcmp(c->name, chosen) == 0;
	}
}

/* Fills st from tk; shared with tests that run their own timekeeper. */
void chronon__status_of(struct chronon__tk *tk, struct chronon_status *st)
{
	memset(st, 0, sizeof *st);
	int state = atomic_load_explicit(&tk->state, memory_order_acquire);
	const struct chronon__counter *c = tk->choice.counter;
	if (state == CHRONON__TK_COUNTER) {
		st->mode = CHRONON_MODE_COUNTER;
		snprintf(st->counter, sizeof st->counter, "%s", c->name);
	} else if (state == CHRONON__TK_KERNEL) {
		st->mode = CHRONON_MODE_KERNEL;
		snprintf(st->counter, sizeof st->counter, "kernel");
		snprintf(st->fallback_reason, sizeof st->fallback_reason, "%s", tk->reason);
	} else {
		st->mode = CHRONON_MODE_CALIBRATING;
		snprintf(st->counter, sizeof st->counter, "%s", c ? c->name : "kernel");
		snprintf(st->fallback_reason, sizeof st->fallback_reason,
			 "calibrating: the kernel answers until the counter's rate is measured");
	}
	static const char *modes[] = {"counter", "calibrating", "kernel"};
	snprintf(st->mode_name, sizeof st->mode_name, "%s", modes[st->mode]);
	/* MONOTONIC_RAW's rate: MONOTONIC's follows the kernel's slews. */
	if (state == CHRONON__TK_COUNTER && tk->raw.rate > 0)
		st->frequency_hz = (uint64_t)((double)CHRONON__NS / tk->raw.rate + 0.5);
	st->nominal_hz = tk->choice.probe.hz;
	snprintf(st->frequency_source, sizeof st->frequency_source, "%s",
		 source_name(state == CHRONON__TK_COUNTER ? tk->choice.probe.source
							   : CHRONON__FREQ_NONE));
	if (state == CHRONON__TK_COUNTER && tk->choice.probe.source == CHRONON__FREQ_PARAVIRT &&
	    tk->pv.name)
		snprintf(st->frequency_source, sizeof st->frequency_source, "%s", tk->pv.name);
	if (tk->pv.name && tk->choice.probe.guard) {
		snprintf(st->paravirt, sizeof st->paravirt, "%s", tk->pv.name);
		st->paravirt_version = tk->pv.guard;
		st->paravirt_changes = tk->pv_changes;
	}
	static const char *const reads[] = CHRONON_ARCH_VARIANT_NAMES;
	if (state == CHRONON__TK_COUNTER && c && c->id == CHRONON__CTR_ARCH &&
	    tk->page_variant < sizeof reads / sizeof reads[0])
		snprintf(st->counter_read, sizeof st->counter_read, "%s", reads[tk->page_variant]);
	else if (state == CHRONON__TK_COUNTER && c)
		snprintf(st->counter_read, sizeof st->counter_read, "%s read %u", c->name, tk->page_variant);
	st->mult = (uint32_t)atomic_load_explicit(&tk->page->mono.mult, memory_order_relaxed);
	st->shift = CHRONON__CTL_SHIFT(atomic_load_explicit(&tk->page->ctl, memory_order_relaxed));
	snprintf(st->page, sizeof st->page, "process");
	st->resync_age_ns = tk->resyncs ? tk->kc->now(tk->kc->ctx, CLOCK_MONOTONIC) - tk->last_resync_k
					: -1;
	st->resync_error_ns = tk->mono.err_ns;
	st->resync_width_ns = tk->mono.width_ns;
	st->resyncs = tk->resyncs;
	st->steps = tk->steps;
	st->realtime_steps = tk->realtime_steps;
	st->suspends = tk->suspends;
	if (tk->choice.note[0] && st->mode == CHRONON_MODE_COUNTER)
		snprintf(st->fallback_reason, sizeof st->fallback_reason, "%s", tk->choice.note);
	counters(st, st->counter);
}

int chronon_status(struct chronon_status *st)
{
	if (!st) {
		errno = EFAULT;
		return -1;
	}
	/* Reading the clock first starts the timekeeper if nothing has. */
	int saved = errno;
	chronon_now_ns(CLOCK_MONOTONIC);
	struct chronon__lock_held h;
	int held = chronon__tk_hold(&chronon__proc_tk, &h);
	chronon__status_of(&chronon__proc_tk, st);
	if (held)
		chronon__tk_release(&chronon__proc_tk, &h);
	/* chronond's page, when one is in use, and why not when none is. */
	chronon__shm_status(st);
	errno = saved;
	return 0;
}
