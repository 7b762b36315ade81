/* The timekeeper decides, then one function applies (src/tk_internal.h).
 * Deciding a step (calibration done, a check, a resync, a re-base, a
 * counter given up, forgetting) leaves the page, the state, the due time,
 * the schedule and the counts as they were; chronon__tk_apply then writes
 * them as the plan says, on the simulated counter and kernel. */
#include <string.h>

#include "sim.h"
#include "tk_internal.h"

/* What only chronon__tk_apply may write. */
struct written {
	int state;
	int64_t due_ns, next_resync_k, interval_ns, last_resync_k, check_err_ns;
	uint64_t resyncs, steps, skipped;
	int need_rebase;
	uint32_t shift;
	char reason[128];
	struct chronon__page page;
};

static void look(const struct sim_tk *s, struct written *w)
{
	const struct chronon__tk *tk = &s->tk;
	memset(w, 0, sizeof *w);
	w->state = atomic_load(&tk->state);
	w->due_ns = atomic_load(&tk->due_ns);
	w->next_resync_k = tk->next_resync_k;
	w->interval_ns = tk->interval_ns;
	w->last_resync_k = tk->last_resync_k;
	w->check_err_ns = tk->check_err_ns;
	w->resyncs = tk->resyncs;
	w->steps = tk->steps;
	w->skipped = tk->skipped;
	w->need_rebase = tk->need_rebase;
	w->shift = tk->shift;
	memcpy(w->reason, tk->reason, sizeof w->reason);
	memcpy(&w->page, &s->page, sizeof w->page);
}

static void same(const struct written *a, const struct written *b, const char *step)
{
	CHECK(a->state == b->state, "%s: deciding moved the state %d -> %d", step, a->state, b->state);
	CHECK(a->due_ns == b->due_ns && a->next_resync_k == b->next_resync_k &&
		      a->interval_ns == b->interval_ns && a->last_resync_k == b->last_resync_k,
	      "%s: deciding moved the schedule", step);
	CHECK(a->resyncs == b->resyncs && a->steps == b->steps && a->skipped == b->skipped,
	      "%s: deciding moved the counts", step);
	CHECK(a->check_err_ns == b->check_err_ns && a->need_rebase == b->need_rebase &&
		      a->shift == b->shift && strcmp(a->reason, b->reason) == 0,
	      "%s: deciding wrote the timekeeper", step);
	CHECK(memcmp(&a->page, &b->page, sizeof a->page) == 0, "%s: deciding wrote the page", step);
}

static uint32_t page_mode(const struct sim_tk *s)
{
	return (uint32_t)CHRONON__CTL_MODE(atomic_load(&s->page.ctl));
}

/* Decides one update and checks that nothing was written. */
static void decide_update(struct sim_tk *s, struct chronon__tk_plan *p, const char *step)
{
	struct written before, after;
	look(s, &before);
	chronon__tk_decide_update(&s->tk, p);
	look(s, &after);
	same(&before, &after, step);
}

static void calibration(struct sim_tk *s)
{
	sim_reset();
	sim_tk_setup(s);
	int64_t e;
	sim_measure(s, CHRONON__CK_MONO, &e); /* answered by the kernel */
	sim_advance_ns(1000);
	sim_measure(s, CHRONON__CK_MONO, &e); /* probes: the rate is to be measured */
	CHECK(atomic_load(&s->tk.state) == CHRONON__TK_CALIBRATING, "state %d after two reads",
	      atomic_load(&s->tk.state));
	sim_advance_ns((double)s->tk.cfg.cal_ns * 2);
	struct written before, after;
	struct chronon__tk_plan p;
	look(s, &before);
	chronon__tk_decide_calibrate(&s->tk, &p);
	look(s, &after);
	same(&before, &after, "calibration");
	CHECK((p.set & CHRONON__PLAN_STATE) && p.state == CHRONON__TK_COUNTER &&
		      p.publish == CHRONON__PUB_LINE && p.line.rebase,
	      "calibration: plan state %d publish %d", p.state, p.publish);
	CHECK((p.set & CHRONON__PLAN_RESYNC) && (p.set & CHRONON__PLAN_SCHEDULE) &&
		      (p.set & CHRONON__PLAN_SHIFT) && p.shift > 0,
	      "calibration: plan set %#x shift %u", p.set, p.shift);
	chronon__tk_apply(&s->tk, &p);
	CHECK(atomic_load(&s->tk.state) == CHRONON__TK_COUNTER && page_mode(s) == CHRONON__PAGE_COUNTER,
	      "calibration applied: state %d, page mode %u", atomic_load(&s->tk.state), page_mode(s));
	CHECK(s->tk.resyncs == before.resyncs + 1 && s->tk.last_resync_k == p.line.mono.k &&
		      s->tk.shift == p.shift && s->tk.interval_ns == p.interval_ns,
	      "calibration applied: resyncs %llu", (unsigned long long)s->tk.resyncs);
	/* The publisher may only bring the next resync forward (a catch-up). */
	CHECK(s->tk.next_resync_k <= p.next_resync_k && s->tk.next_resync_k > p.line.mono.k,
	      "calibration applied: next resync %lld, planned %lld", (long long)s->tk.next_resync_k,
	      (long long)p.next_resync_k);
}

static void check_and_resync(struct sim_tk *s)
{
	sim_run(s, 5e9, 1e6, 0); /* resyncs now come every second */
	/* Just after one. */
	for (uint64_t n = s->tk.resyncs, i = 0; s->tk.resyncs == n && i < 2000; i++)
		sim_run(s, 1e6, 1e6, 0);
	int64_t k = sim_kernel(CLOCK_MONOTONIC);
	CHECK(s->tk.next_resync_k - k > 50000000, "next resync in %lld ns",
	      (long long)(s->tk.next_resync_k - k));
	/* Past the page's window, well before the next resync: a check. */
	sim_advance_ns((double)s->tk.cfg.check_ns * 2);
	struct chronon__tk_plan p;
	decide_update(s, &p, "check");
	CHECK(p.publish == CHRONON__PUB_LINE && !p.line.rebase && !(p.set & CHRONON__PLAN_RESYNC) &&
		      !(p.set & CHRONON__PLAN_STATE) && (p.set & CHRONON__PLAN_CHECK),
	      "check: plan set %#x publish %d", p.set, p.publish);
	uint64_t resyncs = s->tk.resyncs;
	uint32_t seq = atomic_load(&s->page.seq);
	chronon__tk_apply(&s->tk, &p);
	CHECK(atomic_load(&s->page.seq) != seq && s->tk.resyncs == resyncs &&
		      s->tk.check_err_ns == p.check_err_ns,
	      "check applied: seq %u -> %u, resyncs %llu", seq, atomic_load(&s->page.seq),
	      (unsigned long long)s->tk.resyncs);

	/* At the interval's end: a resync. */
	sim_advance_ns((double)(s->tk.next_resync_k - sim_kernel(CLOCK_MONOTONIC)) + 1e6);
	decide_update(s, &p, "resync");
	CHECK(p.publish == CHRONON__PUB_LINE && !p.line.rebase && (p.set & CHRONON__PLAN_RESYNC) &&
		      (p.set & CHRONON__PLAN_SCHEDULE) && p.next_resync_k > p.line.mono.k,
	      "resync: plan set %#x", p.set);
	chronon__tk_apply(&s->tk, &p);
	CHECK(s->tk.resyncs == resyncs + 1 && s->tk.last_resync_k == p.line.mono.k &&
		      s->tk.interval_ns == p.interval_ns && s->tk.next_resync_k == p.next_resync_k,
	      "resync applied: resyncs %llu, next %lld planned %lld", (unsigned long long)s->tk.resyncs,
	      (long long)s->tk.next_resync_k, (long long)p.next_resync_k);
}

static void rebase_and_forget(struct sim_tk *s)
{
	/* Forgetting in counter mode asks the next update for a re-base. */
	struct chronon__tk_plan p;
	struct written before, after;
	look(s, &before);
	chronon__tk_decide_forget(&s->tk, &p);
	look(s, &after);
	same(&before, &after, "forget");
	CHECK((p.set & CHRONON__PLAN_REBASE) && p.need_rebase && !(p.set & CHRONON__PLAN_STATE),
	      "forget: plan set %#x", p.set);
	chronon__tk_apply(&s->tk, &p);
	CHECK(s->tk.need_rebase == 1, "forget applied: need_rebase %d", s->tk.need_rebase);

	sim_advance_ns(1e6);
	decide_update(s, &p, "re-base");
	CHECK(p.line.rebase && p.steps == 1 && (p.set & CHRONON__PLAN_REBASE) && !p.need_rebase &&
		      (p.set & CHRONON__PLAN_RESYNC),
	      "re-base: plan set %#x steps %u", p.set, p.steps);
	uint64_t steps = s->tk.steps;
	chronon__tk_apply(&s->tk, &p);
	CHECK(s->tk.steps == steps + 1 && s->tk.need_rebase == 0, "re-base applied: steps %llu",
	      (unsigned long long)s->tk.steps);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

/* The host's page stops vouching: the plan gives the counter up; only
 * applying it moves the readers to the kernel. */
static void given_up(void)
{
	struct sim_tk s;
	sim_reset();
	sim_pv_enable();
	sim_tk_setup(&s);
	int64_t e;
	sim_measure(&s, CHRONON__CK_MONO, &e);
	sim_advance_ns(1000);
	sim_measure(&s, CHRONON__CK_MONO, &e);
	sim_run(&s, 1e9, 1e6, 0);
	CHECK(atomic_load(&s.tk.state) == CHRONON__TK_COUNTER, "state %d on the host's page",
	      atomic_load(&s.tk.state));
	sim_pv_rewrite(0, 0, 0); /* the stable bit cleared */
	struct chronon__tk_plan p;
	decide_update(&s, &p, "give up");
	CHECK((p.set & CHRONON__PLAN_STATE) && p.state == CHRONON__TK_KERNEL &&
		      p.publish == CHRONON__PUB_KERNEL && strstr(p.reason, "pvclock") != NULL,
	      "give up: plan state %d publish %d reason '%s'", p.state, p.publish, p.reason);
	CHECK(page_mode(&s) == CHRONON__PAGE_COUNTER, "give up: the page left the counter before apply");
	chronon__tk_apply(&s.tk, &p);
	CHECK(atomic_load(&s.tk.state) == CHRONON__TK_KERNEL && page_mode(&s) == CHRONON__PAGE_KERNEL &&
		      strcmp(s.tk.reason, p.reason) == 0,
	      "give up applied: state %d, page mode %u, reason '%s'", atomic_load(&s.tk.state),
	      page_mode(&s), s.tk.reason);
	sim_run(&s, 1e8, 1e6, 0);
	CHECK(sim_backwards == 0, "%llu backward steps", (unsigned long long)sim_backwards);
}

int main(void)
{
	static struct sim_tk s;
	calibration(&s);
	check_and_resync(&s);
	rebase_and_forget(&s);
	given_up();
	return test_exit();
}
