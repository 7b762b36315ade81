/*
 * Following the kernel.  Each resync compares the page's clock with a
 * bracketed kernel reading and
 *   - estimates the counter's rate against the kernel clock from a long
 *     baseline (a reference sample kept between window/2 and window old),
 *     so the estimate's error, about the two samples' widths over the
 *     baseline, is a few parts per billion;
 *   - notices the kernel's rate changing (NTP, adjtimex, chrony's +-10 %
 *     tick slews) when the error exceeds what the samples' widths
 *     explain, corrects the rate (rate_moved) and restarts the baseline;
 *   - removes the remaining offset by slewing: the published rate is the
 *     estimate times (1 + error / interval), at most 500 ppm like the
 *     kernel's own slew, so the error is gone by the next resync; an error
 *     too large for that at up to catch_max (10 %) over a shorter horizon
 *     that brings the next resync forward (slewed);
 *   - steps forward when the page is behind by more than step_ns; when the
 *     counter went backwards, the machine was suspended, or the gap since
 *     the last snapshot is too long to trust extrapolation, re-bases: the
 *     new snapshot starts from the kernel's reading, never below any value
 *     already handed out (tk_publish.c), and slows down to meet the kernel
 *     when that leaves it ahead.  Nothing ever steps back.
 * Resyncs come at growing intervals (the first calibration baseline,
 * doubled each time, up to resync_max_ns); in between, every check_ns,
 * the offsets of REALTIME, BOOTTIME and TAI are sampled, which is how a
 * clock set or a suspend is seen within check_ns.
 *
 * This file decides (tk_internal.h).  Its steps take the samples and keep
 * the estimates (the rate tracks, the offsets' intervals, the NTP state,
 * the counter's choice), and return a plan: the next state, the due time,
 * the schedule, the counts and what to publish.  chronon__tk_apply
 * (tk_apply.c) carries it out; nothing here writes the state, the
 * schedule, the counts or the page.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tk_internal.h"
#include "ns.h"

static int64_t kmono(struct chronon__tk *tk)
{
	return tk->kc->now(tk->kc->ctx, CLOCK_MONOTONIC);
}

static int64_t width_ns(const struct chronon__tk *tk, const struct chronon__sample *s, double rate)
{
	(void)tk;
	return (int64_t)((double)s->w * rate) + 1;
}

/*
 * The kernel's NTP state (adjtimex, read-only) for bounded time: at each
 * resync, and after a REALTIME step, because setting the clock resets it
 * (the kernel marks itself unsynchronised and its maxerror 16 s); never at
 * a check or per read.  Between reads bound.c grows the maxerror as the
 * kernel does, so a value read at the resync stays valid.
 */
static void read_ntp(struct chronon__tk *tk)
{
	struct chronon__ntp n;
	if (!tk->kc->ntp || tk->kc->ntp(tk->kc->ctx, &n) != 0) {
		tk->ntp_read = -1;
		return;
	}
	tk->ntp = n;
	tk->ntp_read = 1;
}

/*
 * The offset to publish.  The kernel reads the counter at about the same
 * point inside every clock_gettime, so the true offset sits near the
 * middle of every clean sample, and of their intersection; but a
 * preempted sample's middle can be far off, and the published offset may
 * only move forward between steps (REALTIME and BOOTTIME never go back).
 * So it starts at the intersection's low end, the one point never above
 * the true offset, and moves up to the middle once the intersection is
 * narrower than OFFSET_MID_NS: then it can lie at most half that above
 * the true offset, whatever later samples show.  bound.c counts its
 * distance from either end.  A restart (a REALTIME step, a suspend) takes
 * the new sample's figure.
 */
#define OFFSET_MID_NS 250

static int64_t offset_of(int64_t cur, const struct chronon__ival *iv, int restart)
{
	int64_t w = iv->hi - iv->lo;
	int64_t want = w <= OFFSET_MID_NS ? iv->lo + w / 2 : iv->lo;
	return restart || want > cur ? want : cur;
}

/* The kernel's answers of a clock before a step are no floor after it. */
static void forget_floor(struct chronon__tk *tk, enum chronon__ck ck)
{
	atomic_store_explicit(&tk->floor[ck], INT64_MIN, memory_order_seq_cst);
}

/* The first call samples without asking the timerfd: creating it costs
 * three system calls, more than the first call may spend. */
static void sample_offsets(struct chronon__tk *tk, int ask_kernel, int may_read_ntp)
{
	int64_t lo, hi;
	chronon__tk_offset_sample(tk, CLOCK_MONOTONIC, CLOCK_REALTIME, 2, &lo, &hi);
	int was_set = ask_kernel && tk->kc->realtime_was_set ? tk->kc->realtime_was_set(tk->kc->ctx)
							     : -1;
	/* Moved: the sample no longer contains the offset in use. */
	int moved = tk->real.set && (lo > tk->real_off || hi < tk->real_off);
	if (was_set == 1 && moved)
		tk->real.set = 0; /* told it was set, and the offset moved: restart */
	int first = !tk->real.set;
	int stepped = chronon__ival_update(&tk->real, lo, hi) || (was_set == 1 && moved);
	if (stepped) {
		tk->realtime_steps++;
		forget_floor(tk, CHRONON__CK_REAL);
		forget_floor(tk, CHRONON__CK_TAI);
		if (may_read_ntp)
			read_ntp(tk);
	}
	tk->real_off = offset_of(tk->real_off, &tk->real, first || stepped);

	/* BOOTTIME - MONOTONIC grows by the time spent suspended, and never
	 * shrinks: a sample below is noise from a bad read and is ignored. */
	chronon__tk_offset_sample(tk, CLOCK_MONOTONIC, CLOCK_BOOTTIME, 2, &lo, &hi);
	first = !tk->boot.set;
	stepped = 0;
	if (!tk->boot.set || lo <= tk->boot.hi)
		chronon__ival_update(&tk->boot, lo, hi);
	else if ((stepped = chronon__ival_update(&tk->boot, lo, hi)) != 0)
		tk->suspends++;
	tk->boot_off = offset_of(tk->boot_off, &tk->boot, first || stepped);

	/* TAI - REALTIME is a whole number of seconds. */
	chronon__tk_offset_sample(tk, CLOCK_REALTIME, CLOCK_TAI, 1, &lo, &hi);
	int64_t mid = lo + (hi - lo) / 2;
	int64_t tai_s = (mid + (mid >= 0 ? CHRONON__NS / 2 : -CHRONON__NS / 2)) / CHRONON__NS;
	if (tai_s != tk->tai_s)
		forget_floor(tk, CHRONON__CK_TAI);
	tk->tai_s = tai_s;
}

void chronon__tk_sample_offsets(struct chronon__tk *tk)
{
	sample_offsets(tk, 1, 1);
}

static void plan_state(struct chronon__tk_plan *p, enum chronon__tk_state state)
{
	p->set |= CHRONON__PLAN_STATE;
	p->state = state;
}

static void plan_due(struct chronon__tk_plan *p, int64_t due_ns)
{
	p->set |= CHRONON__PLAN_DUE;
	p->due_ns = due_ns;
}

static void plan_check(struct chronon__tk_plan *p, int64_t err_ns)
{
	p->set |= CHRONON__PLAN_CHECK;
	p->check_err_ns = err_ns;
}

void chronon__tk_decide_start(struct chronon__tk *tk, struct chronon__tk_plan *p)
{
	chronon__tk_plan_init(p);
	sample_offsets(tk, 0, 0);
	p->publish = CHRONON__PUB_OFFSETS;
	plan_state(p, CHRONON__TK_STARTED);
}

/* Times each ordered-read variant of the counter on itself and keeps the
 * cheapest: lfence;rdtsc and rdtscp rank differently across CPUs. */
static unsigned cheapest_variant(const struct chronon__counter *c, unsigned n)
{
	unsigned best = 0;
	uint64_t best_t = ~(uint64_t)0;
	for (unsigned v = 0; v < n; v++) {
		uint64_t t_min = ~(uint64_t)0;
		for (int round = 0; round < 8; round++) {
			uint64_t a = c->read(v);
			for (int i = 0; i < 32; i++)
				c->read(v);
			uint64_t t = (c->read(v) - a) & c->mask;
			if (t < t_min)
				t_min = t;
		}
		if (t_min < best_t) {
			best_t = t_min;
			best = v;
		}
	}
	return best;
}

/*
 * CHRONON_ORDER=relaxed trades cross-thread causality for speed: the bare
 * rdtsc may execute before earlier loads, so a read made after seeing
 * another thread's timestamp can come out a few tens of ns earlier than
 * it.  Each thread's own reads still never go back.  Off by default.
 */
static void choose_order(struct chronon__tk *tk)
{
	char shown[21];
	enum chronon__order order = chronon__config_order(shown, sizeof shown);
	if (order == CHRONON__ORDER_ORDERED)
		return;
	size_t n = strlen(tk->choice.note);
	if (order == CHRONON__ORDER_UNKNOWN) {
		snprintf(tk->choice.note + n, sizeof tk->choice.note - n,
			 "%sCHRONON_ORDER=%s ignored: want ordered or relaxed", n ? "; " : "", shown);
		return;
	}
	if (CHRONON_ARCH_READ_RELAXED < 0 || tk->choice.counter->id != CHRONON__CTR_ARCH) {
		snprintf(tk->choice.note + n, sizeof tk->choice.note - n,
			 "%sCHRONON_ORDER=relaxed ignored: no unordered read here", n ? "; " : "");
		return;
	}
	/* The timekeeper itself keeps the ordered read: its pivot must come
	 * after the odd sequence count (rule 5), and its brackets must not
	 * slide out of place. */
	tk->page_variant = (unsigned)CHRONON_ARCH_READ_RELAXED;
}

static int exact_source(enum chronon__freq_source s)
{
	return s == CHRONON__FREQ_CPUID || s == CHRONON__FREQ_HYPERVISOR ||
	       s == CHRONON__FREQ_PARAVIRT;
}

static void kernel_reason(const struct chronon__tk *tk, struct chronon__tk_plan *p)
{
	char why[128];
	if (tk->choice.note[0])
		snprintf(why, sizeof why, "%s", tk->choice.note);
	else {
		const struct chronon__counter *arch = chronon__counter_arch();
		struct chronon__probe p = {0};
		if (arch)
			arch->probe(&p);
		snprintf(why, sizeof why, "%s", arch ? p.reason : "no user-readable counter on this CPU");
	}
	chronon__tk_plan_kernel(p, why, CHRONON__PUB_NONE);
	/* Nothing was ever served from a counter: no pad, no floor to keep. */
	if (atomic_load_explicit(&tk->page->pad_ns, memory_order_relaxed) == 0)
		p->direct = 1;
}

static int sample_pair(struct chronon__tk *tk, struct chronon__sample *m, struct chronon__sample *r,
		       double rate)
{
	*m = chronon__tk_bracket(tk, CLOCK_MONOTONIC, 5);
	*r = chronon__tk_bracket(tk, CLOCK_MONOTONIC_RAW, 5);
	int64_t limit = tk->cfg.max_width_ns;
	if (rate <= 0)
		return m->w != ~(uint64_t)0 && r->w != ~(uint64_t)0;
	return width_ns(tk, m, rate) <= limit && width_ns(tk, r, rate) <= limit;
}

static void set_baseline(struct chronon__track *t, const struct chronon__sample *s)
{
	t->ref = t->cand = t->last = t->chk = *s;
}

static double rate_uncertainty(const struct chronon__track *t)
{
	uint64_t base = t->last.x - t->ref.x;
	return base ? (double)(t->ref.w + t->last.w) / (double)base : 1e-4;
}

/* The rate is known: the counter serves, from the kernel's samples m, r. */
static void go_counter(struct chronon__tk *tk, const struct chronon__sample *m,
		       const struct chronon__sample *r, int64_t interval_ns, struct chronon__tk_plan *p)
{
	chronon__tk_sample_offsets(tk);
	read_ntp(tk);
	p->set |= CHRONON__PLAN_SHIFT | CHRONON__PLAN_SCHEDULE | CHRONON__PLAN_RESYNC;
	p->shift = chronon__shift_for(tk->mono.rate);
	p->interval_ns = interval_ns;
	p->next_resync_k = m->k + interval_ns;
	p->publish = CHRONON__PUB_LINE;
	p->line = (struct chronon__snapshot){
		.rebase = 1, .mono = *m, .raw = *r,
		.mono_rate = tk->mono.rate, .raw_rate = tk->raw.rate,
		.rate_unc = rate_uncertainty(&tk->mono), .valid_ns = interval_ns,
	};
	plan_check(p, 0); /* the new line starts at the kernel */
	p->direct = 2;    /* the counter serves: kernel answers keep a pad and floors from now */
	plan_state(p, CHRONON__TK_COUNTER);
}

static uint64_t counter_step(const struct chronon__tk *tk);

/* The least uncertainty a seed's rates are taken with: the kernel's rate
 * may have moved a little since chronond measured them. */
#define SEED_UNC 2e-6

/* Seeded rates: the counter serves at once, no calibration. */
static void go_seeded(struct chronon__tk *tk, struct chronon__tk_plan *p)
{
	struct chronon__sample m, r;
	if (!sample_pair(tk, &m, &r, tk->seed_raw)) {
		plan_due(p, kmono(tk) + tk->cfg.cal_ns / 2);
		return; /* too noisy just now: try again shortly (the seed stays) */
	}
	set_baseline(&tk->mono, &m);
	set_baseline(&tk->raw, &r);
	tk->mono.rate = tk->seed_mono;
	tk->raw.rate = tk->seed_raw;
	tk->mono.unc = tk->raw.unc = tk->mono.prior = tk->raw.prior = tk->seed_unc;
	tk->seed_mono = tk->seed_raw = 0;
	go_counter(tk, &m, &r, tk->cfg.check_ns, p);
}

void chronon__tk_decide_probe(struct chronon__tk *tk, struct chronon__tk_plan *p)
{
	chronon__tk_plan_init(p);
	if (tk->forced) {
		tk->choice.counter = tk->forced;
		tk->forced->probe(&tk->choice.probe);
	} else {
		chronon__counter_choose(&tk->choice);
	}
	const struct chronon__counter *c = tk->choice.counter;
	if (!c || c->id == CHRONON__CTR_KERNEL) {
		kernel_reason(tk, p);
		return;
	}
	tk->pv = tk->choice.probe.pv;
	tk->trust_due_k = 0;
	unsigned n = tk->choice.probe.read_variants ? tk->choice.probe.read_variants : 1;
	tk->variant = tk->page_variant = cheapest_variant(c, n);
	tk->step = counter_step(tk);
	choose_order(tk);
	struct chronon__sample m, r;
	if (tk->seed_raw > 0) {
		go_seeded(tk, p);
		return;
	}
	double stated = tk->choice.probe.hz ? (double)CHRONON__NS / (double)tk->choice.probe.hz : 0;
	/* Only an exact rate may judge the brackets' widths: a wrong CNTFRQ
	 * stating a tenth of the true rate would find every bracket ten
	 * times too wide and keep the counter out for good. */
	if (!sample_pair(tk, &m, &r, exact_source(tk->choice.probe.source) ? stated : 0)) {
		plan_due(p, kmono(tk) + tk->cfg.cal_ns / 2);
		return; /* too noisy just now: try again shortly */
	}
	set_baseline(&tk->mono, &m);
	set_baseline(&tk->raw, &r);
	if (exact_source(tk->choice.probe.source)) {
		/* The machine states the rate: no waiting.  The first resyncs
		 * come quickly, because the kernel's clock may run a few ppm
		 * off the stated rate (NTP's correction). */
		tk->mono.rate = tk->raw.rate = stated;
		tk->mono.unc = tk->raw.unc = 1e-5; /* the kernel's own figure may differ */
		go_counter(tk, &m, &r, tk->cfg.cal_ns / 2, p);
		return;
	}
	plan_due(p, m.k + tk->cfg.cal_ns);
	plan_state(p, CHRONON__TK_CALIBRATING);
}

static double secant(const struct chronon__sample *a, const struct chronon__sample *b)
{
	uint64_t dt = b->x - a->x;
	return dt ? (double)(b->k - a->k) / (double)dt : 0;
}

/*
 * A frequency a register states (arm64 CNTFRQ_EL0, set by firmware) is
 * exact when right and sometimes plainly wrong, so it is checked against
 * the rate just measured on MONOTONIC_RAW: the kernel's unslewed clock on
 * the same counter runs at exactly the frequency the kernel believes.
 * Within the measurement's uncertainty (unc: the two brackets' widths,
 * each with the counter's step, over the baseline, taken three times,
 * plus 10 ppm) the register wins and
 * MONOTONIC_RAW runs at its exact figure; otherwise the measurement serves
 * and the note, shown by chronon_status, says by how much the register
 * was wrong.
 */
/* The counter's granularity, when it matters: the smallest step between
 * two reads that differ, if two reads in a row can be equal; else 0, the
 * reads themselves being slower than a tick.  A bracket's width says
 * nothing below it (qemu-aarch64's counter moves in steps of 1 us, so a
 * bracket around a system call can read 0 ticks wide and still be a
 * microsecond off), so brackets add it (tk_sample.c). */
static uint64_t counter_step(const struct chronon__tk *tk)
{
	const struct chronon__counter *c = tk->choice.counter;
	uint64_t prev = c->read(tk->variant), step = ~(uint64_t)0;
	int repeats = 0;
	for (int i = 0, seen = 0; i < 20000 && seen < 8; i++) {
		uint64_t now = c->read(tk->variant), d = (now - prev) & c->mask;
		if (d && d < step)
			step = d;
		seen += d != 0;
		repeats += d == 0;
		prev = now;
	}
	return repeats && step != ~(uint64_t)0 ? step : 0;
}

static void check_register(struct chronon__tk *tk, double unc)
{
	struct chronon__probe *p = &tk->choice.probe;
	double measured_hz = (double)CHRONON__NS / tk->raw.rate;
	double off = p->hz ? (double)p->hz / measured_hz - 1 : -1;
	if (off <= 3 * unc + 10e-6 && off >= -(3 * unc + 10e-6)) {
		tk->raw.rate = (double)CHRONON__NS / (double)p->hz;
		return;
	}
	p->source = CHRONON__FREQ_CALIBRATED;
	size_t n = strlen(tk->choice.note);
	snprintf(tk->choice.note + n, sizeof tk->choice.note - n,
		 "%sCNTFRQ_EL0 wrong by %+.3g%% (%llu Hz, measured %.0f): calibrated",
		 n ? "; " : "", off * 100, (unsigned long long)p->hz, measured_hz);
}

void chronon__tk_decide_calibrate(struct chronon__tk *tk, struct chronon__tk_plan *p)
{
	chronon__tk_plan_init(p);
	struct chronon__sample m, r;
	if (!sample_pair(tk, &m, &r, 0)) {
		plan_due(p, kmono(tk) + tk->cfg.cal_ns / 2);
		return;
	}
	double rm = secant(&tk->mono.ref, &m), rr = secant(&tk->raw.ref, &r);
	if (!(rm > 0) || !(rr > 0) || !__builtin_isfinite(rm) || !__builtin_isfinite(rr)) {
		chronon__tk_plan_kernel(p, "the counter does not advance", CHRONON__PUB_NONE);
		return;
	}
	/* Demand a baseline long enough that the two samples' widths leave
	 * the rate within 50 ppm; a noisy start just waits longer. */
	double unc = (double)(tk->mono.ref.w + m.w) / (double)(m.x - tk->mono.ref.x);
	if (unc > 50e-6) {
		plan_due(p, m.k + tk->cfg.cal_ns);
		return;
	}
	tk->mono.rate = rm;
	tk->raw.rate = rr;
	tk->mono.unc = unc;
	tk->raw.unc = (double)(tk->raw.ref.w + r.w) / (double)(r.x - tk->raw.ref.x);
	tk->mono.last = m;
	tk->raw.last = r;
	if (tk->choice.probe.source == CHRONON__FREQ_CNTFRQ)
		check_register(tk, (double)(tk->raw.ref.w + r.w) / (double)(r.x - tk->raw.ref.x));
	tk->choice.probe.source = tk->choice.probe.source == CHRONON__FREQ_NOMINAL ||
					  tk->choice.probe.source == CHRONON__FREQ_NONE
				  ? CHRONON__FREQ_CALIBRATED
				  : tk->choice.probe.source;
	go_counter(tk, &m, &r, m.k - tk->mono.ref.k, p);
}

/*
 * The kernel's rate moved (NTP, adjtimex) by more than the samples' noise
 * explains.  Where the move happened is unknown; two estimates of the new
 * rate: over the whole interval since the last resync (right for a small
 * move long ago: the longer baseline), and over the stretch since the
 * previous sample alone, a check at most check_ns ago (right for a large
 * recent move, like chrony's +-10 % tick slews).  The short one serves
 * when its own noise is small beside the move it shows; the baseline then
 * restarts at that sample, so the next resync refines the rate from there
 * (and, if the move fell inside the stretch, sees it again and restarts).
 */
static void rate_moved(struct chronon__track *t, const struct chronon__sample *s, double moved,
		       uint64_t since)
{
	double whole = t->rate + moved / (double)since;
	if (t->chk.x > t->last.x && s->x > t->chk.x) {
		double fast = secant(&t->chk, s);
		double noise = (double)(t->chk.w + s->w) / (double)(s->x - t->chk.x);
		double shown = fast / t->rate - 1;
		if (fast > 0 && (shown > 4 * noise || shown < -4 * noise)) {
			t->rate = fast;
			t->ref = t->chk;
			t->cand = *s;
			return;
		}
	}
	t->rate = whole;
	t->ref = t->cand = *s;
}

/*
 * One timescale's resync: the rate estimate.  err is kernel minus chronon
 * at sample s.  Returns 1 when the kernel's rate moved.
 */
static int track(struct chronon__tk *tk, struct chronon__track *t, const struct chronon__sample *s,
		 int64_t err)
{
	uint64_t since = s->x - t->last.x;
	/* What is left of the last error if the rate was right: the slew
	 * took corr of every ns since.  The rest is the kernel's rate
	 * having moved (or noise: each error is measured to within half its
	 * bracket's width). */
	double left = (double)t->err_ns - t->corr * (double)since * t->rate;
	double moved = (double)err - left;
	double noise = (double)(width_ns(tk, s, t->rate) + width_ns(tk, &t->last, t->rate));
	if (noise < 50)
		noise = 50;
	int rate_moved_now = (moved > noise || moved < -noise) && since;
	if (s->x != t->ref.x)
		t->unc = (double)(t->ref.w + s->w) / (double)(s->x - t->ref.x);
	if (rate_moved_now) {
		rate_moved(t, s, moved, since);
		t->prior = 0;
	} else if (s->x != t->ref.x && !(t->prior > 0 && t->unc > t->prior)) {
		/* A seeded rate stands until the secant is surer than it. */
		t->rate = secant(&t->ref, s);
		t->prior = 0;
	}
	t->last = t->chk = *s;
	if (s->k - t->cand.k >= tk->cfg.window_ns / 2) {
		t->ref = t->cand;
		t->cand = *s;
	}
	t->err_ns = err;
	t->width_ns = width_ns(tk, s, t->rate);
	return rate_moved_now;
}

/*
 * The rate to publish: the estimate, slewed to remove the error by the
 * next resync at 500 ppm at most, like the kernel's own slew.  An error
 * too large for that (the kernel's rate moved by more, or a re-base left
 * the line ahead) is removed faster, at catch_max (10 %) at most and
 * over a check at least, never by a step back; *horizon_ns is then when
 * the slew must end, which brings the next resync forward to it.
 */
static double slewed(const struct chronon__tk *tk, struct chronon__track *t, int64_t next_ns,
		     int64_t *horizon_ns)
{
	double err = (double)t->err_ns, a = err < 0 ? -err : err;
	/* In process, the page expires when the slew should end.  chronond's
	 * window outlasts its next update: there the page's validity is cut
	 * to what the slew may overrun (tk_publish.c, slew_room), so that a
	 * slew left running by a killed or late chronond cannot overshoot by
	 * more than the error it removes. */
	double next = (double)next_ns, check = (double)tk->cfg.check_ns;
	double least = next < check ? next : check;
	double h = next > least ? next : least;
	/* Beyond the tracking noise: at 500 ppm, not spread over a resync
	 * interval that early resyncs would keep pushing away. */
	if (a > 1000 && a / tk->cfg.slew_max < h)
		h = a / tk->cfg.slew_max > least ? a / tk->cfg.slew_max : least;
	if (a > tk->cfg.slew_max * h)
		h = a / tk->cfg.catch_max > least ? a / tk->cfg.catch_max : least;
	double corr = err / h;
	if (corr > tk->cfg.catch_max)
		corr = tk->cfg.catch_max;
	if (corr < -tk->cfg.catch_max)
		corr = -tk->cfg.catch_max;
	t->corr = corr;
	*horizon_ns = (int64_t)h;
	return t->rate * (1 + t->corr);
}

/* a - b, saturated: across a reset counter the page's extrapolation is
 * nonsense, and its error only has to be recognisably huge. */
static int64_t diff(int64_t a, int64_t b)
{
	int64_t d;
	if (__builtin_sub_overflow(a, b, &d))
		return a > b ? INT64_MAX : INT64_MIN;
	return d;
}

/* The page's clock at counter value c, extrapolated in 128 bits; sets
 * *back when c lies behind the snapshot (a reset counter). */
static int64_t page_at(const struct chronon__tk *tk, const struct chronon__scale *sc, uint64_t c,
		       int *back, uint64_t *delta)
{
	const struct chronon__page *pg = tk->page;
	uint64_t mask = atomic_load_explicit(&pg->mask, memory_order_relaxed);
	*delta = (c - atomic_load_explicit(&pg->cycle_last, memory_order_relaxed)) & mask;
	*back = *delta > mask - (mask >> 3);
	return chronon__scale128(atomic_load_explicit(&sc->base_ns, memory_order_relaxed),
				 atomic_load_explicit(&sc->base_frac, memory_order_relaxed), *delta,
				 atomic_load_explicit(&sc->mult, memory_order_relaxed), tk->shift);
}

/* The line in the page now, at its own rates: a check, or a resync that
 * learnt nothing, continues it. */
static void keep_rates(const struct chronon__tk *tk, struct chronon__snapshot *line)
{
	double one = (double)((uint64_t)1 << tk->shift);
	line->mono_rate = (double)atomic_load_explicit(&tk->page->mono.mult, memory_order_relaxed) / one;
	line->raw_rate = (double)atomic_load_explicit(&tk->page->raw.mult, memory_order_relaxed) / one;
}

/* A check: the same line, re-based exactly, valid a while more. */
static void plan_check_only(struct chronon__tk *tk, const struct chronon__sample *m, int64_t err,
			    struct chronon__tk_plan *p)
{
	tk->mono.chk = *m;
	p->publish = CHRONON__PUB_LINE;
	keep_rates(tk, &p->line);
	p->line.raw = tk->raw.last;
	p->line.rate_unc = rate_uncertainty(&tk->mono);
	p->line.valid_ns = tk->next_resync_k - m->k;
	plan_check(p, err);
}

/* Behind by more than step_ns, or the line broken: the new line starts at
 * the kernel, at the rates as they are (learnt from these samples when
 * the line was intact and the samples narrow). */
static void plan_rebase(struct chronon__tk *tk, const struct chronon__sample *m,
			const struct chronon__sample *r, int64_t err, int64_t rerr, int learn,
			struct chronon__tk_plan *p)
{
	/* The kernel's rate moved (a tick slew), or the counter's, and the
	 * rates learn it before the step. */
	if (learn) {
		(void)track(tk, &tk->mono, m, err);
		(void)track(tk, &tk->raw, r, rerr);
	}
	/* Extrapolation is not to be trusted across this: keep the rate,
	 * restart the baselines from here. */
	set_baseline(&tk->mono, m);
	set_baseline(&tk->raw, r);
	/* The new line starts at the kernel: nothing is left to slew. */
	tk->mono.err_ns = tk->raw.err_ns = 0;
	tk->mono.corr = tk->raw.corr = 0;
	p->set |= CHRONON__PLAN_REBASE;
	p->need_rebase = 0;
	p->line.mono_rate = tk->mono.rate;
	p->line.raw_rate = tk->raw.rate;
	p->steps++;
}

/* Rates last measured before a dormant stretch: what the kernel's rate did
 * meanwhile is unknown.  The first resync comes after cal_ns / 2 instead
 * of a full interval, so that a move (seen by track() as one) costs that
 * much time at the move's rate, not a whole check's; until then the
 * rates stand as a prior of 100 ppm, so a secant over so short a
 * baseline does not replace them when nothing moved. */
#define STALE_UNC 1e-4

static void stale_rates(struct chronon__tk *tk, int64_t *next_ns, int64_t *horizon_ns)
{
	if (tk->mono.prior == 0)
		tk->mono.prior = STALE_UNC;
	if (tk->raw.prior == 0)
		tk->raw.prior = STALE_UNC;
	*next_ns = *horizon_ns = tk->cfg.cal_ns / 2;
}

/* A resync that keeps the line: the rates learn from m and r, slewed to
 * remove the error measured; *next_ns shrinks to a check when the rate
 * moved.  Returns when the slew must end. */
static int64_t plan_slew(struct chronon__tk *tk, const struct chronon__sample *m,
			 const struct chronon__sample *r, int64_t err, int64_t rerr, int64_t *next_ns,
			 struct chronon__tk_plan *p)
{
	int moved = track(tk, &tk->mono, m, err);
	moved |= track(tk, &tk->raw, r, rerr);
	/* A new rate is young: resync again within a check. */
	if (moved && *next_ns > tk->cfg.check_ns)
		*next_ns = tk->cfg.check_ns;
	int64_t hm, hr;
	p->line.mono_rate = slewed(tk, &tk->mono, *next_ns, &hm);
	p->line.raw_rate = slewed(tk, &tk->raw, *next_ns, &hr);
	return hm < hr ? hm : hr;
}

void chronon__tk_decide_update(struct chronon__tk *tk, struct chronon__tk_plan *p)
{
	chronon__tk_plan_init(p);
	/* A host's rewrite first: a sample taken across it would measure
	 * the counter in two scales. */
	if (chronon__tk_watch_host(tk, p))
		return;
	struct chronon__sample m = chronon__tk_bracket(tk, CLOCK_MONOTONIC, 3);
	if (chronon__tk_watch_counter(tk, m.k, p))
		return;
	int back;
	uint64_t delta;
	int64_t err = diff(m.k, page_at(tk, &tk->page->mono, m.c, &back, &delta));
	uint64_t suspends = tk->suspends;
	/* The timerfd costs three system calls: asked at resyncs only.  In
	 * between, the offset samples see a step within check_ns anyway. */
	sample_offsets(tk, m.k >= tk->next_resync_k, 1);
	int64_t gap_ns = (int64_t)((double)delta * tk->mono.rate);
	/* A page behind the kernel by more than step_ns steps forward; one
	 * ahead is slowed down (track), never stepped back. */
	int asked = tk->need_rebase || ((p->set & CHRONON__PLAN_REBASE) && p->need_rebase);
	/* Nobody read for a while (or the machine slept): the kernel's rate
	 * may have moved meanwhile, by a tick slew's 10 %. */
	int dormant = !back && (tk->suspends != suspends || gap_ns > 2 * tk->cfg.resync_max_ns);
	int broken = back || dormant || asked;
	int rebase = broken || err > tk->cfg.step_ns;
	/* An error grown past what a resync leaves behind means the kernel's
	 * rate moved: resync now rather than at the interval's end. */
	int64_t early = 500 + 2 * width_ns(tk, &m, tk->mono.rate);
	int resync = rebase || m.k >= tk->next_resync_k || err > early || err < -early;
	p->line = (struct chronon__snapshot){.rebase = rebase, .mono = m};
	if (!resync) {
		plan_check_only(tk, &m, err, p);
		return;
	}
	struct chronon__sample r = chronon__tk_bracket(tk, CLOCK_MONOTONIC_RAW, 5);
	struct chronon__sample m2 = chronon__tk_bracket(tk, CLOCK_MONOTONIC, 3);
	if (m2.w < m.w) {
		m = m2;
		err = diff(m.k, page_at(tk, &tk->page->mono, m.c, &back, &delta));
	}
	int64_t rerr = diff(r.k, page_at(tk, &tk->page->raw, r.c, &back, &delta));
	if (rerr > tk->cfg.step_ns && !rebase) /* MONOTONIC_RAW's line is behind */
		rebase = p->line.rebase = 1;
	plan_check(p, rebase ? 0 : err); /* a re-base starts at the kernel */
	p->publish = CHRONON__PUB_LINE;
	p->line.mono = m;
	p->line.raw = r;
	int64_t next = tk->interval_ns * 2;
	if (next > tk->cfg.resync_max_ns)
		next = tk->cfg.resync_max_ns;
	int64_t horizon = next;
	int wide = width_ns(tk, &m, tk->mono.rate) > tk->cfg.max_width_ns ||
		   width_ns(tk, &r, tk->raw.rate) > tk->cfg.max_width_ns;
	if (rebase) {
		plan_rebase(tk, &m, &r, err, rerr, !broken && !wide, p);
		if (dormant)
			stale_rates(tk, &next, &horizon);
	} else if (wide) {
		/* A preempted sample would teach the rate a lie: keep the old
		 * line, and try again at the next check. */
		p->skipped++;
		keep_rates(tk, &p->line);
		p->line.rate_unc = rate_uncertainty(&tk->mono);
		p->line.valid_ns = tk->cfg.check_ns;
		return;
	} else {
		horizon = plan_slew(tk, &m, &r, err, rerr, &next, p);
	}
	p->line.rate_unc = rate_uncertainty(&tk->mono);
	read_ntp(tk);
	p->set |= CHRONON__PLAN_SCHEDULE | CHRONON__PLAN_RESYNC;
	p->interval_ns = next;
	p->next_resync_k = m.k + horizon;
	p->line.valid_ns = horizon;
}

void chronon__tk_decide_forget(const struct chronon__tk *tk, struct chronon__tk_plan *p)
{
	chronon__tk_plan_init(p);
	int st = atomic_load_explicit(&tk->state, memory_order_relaxed);
	if (st == CHRONON__TK_STARTED || st == CHRONON__TK_CALIBRATING) {
		plan_state(p, CHRONON__TK_NEW);
	} else if (st == CHRONON__TK_COUNTER) {
		/* the next update re-bases from the kernel */
		p->set |= CHRONON__PLAN_REBASE;
		p->need_rebase = 1;
	}
}

static int near(double a, double b, double rel)
{
	return a > 0 && b > 0 && a <= b * (1 + rel) && a >= b * (1 - rel);
}

/* The kernel's MONOTONIC runs within +-10 % (ADJ_TICK) and 500 ppm
 * (ADJ_FREQUENCY) of MONOTONIC_RAW; a counter's rate does not move by
 * 1 % but by a host's rescaling, which tk_trust.c handles apart. */
static int seed_plausible(const struct chronon__tk *tk, double mono, double raw, double unc)
{
	if (!(raw > 0 && raw < 1e9) || !near(mono, raw, 0.11) || !(unc >= 0 && unc <= 0.01))
		return 0;
	return tk->raw.rate > 0 ? near(raw, tk->raw.rate, 0.01) : 1;
}

void chronon__tk_decide_seed(struct chronon__tk *tk, double mono_rate, double raw_rate, double unc,
			     struct chronon__tk_plan *p)
{
	chronon__tk_plan_init(p);
	if (!seed_plausible(tk, mono_rate, raw_rate, unc))
		return;
	if (unc < SEED_UNC)
		unc = SEED_UNC;
	switch (atomic_load_explicit(&tk->state, memory_order_relaxed)) {
	case CHRONON__TK_NEW:
	case CHRONON__TK_STARTED:
		tk->seed_mono = mono_rate; /* the probe starts from them */
		tk->seed_raw = raw_rate;
		tk->seed_unc = unc;
		break;
	case CHRONON__TK_COUNTER:
		/* The next update re-bases at these rates (decide_update: a
		 * re-base asked for keeps the rates it finds). */
		tk->mono.rate = mono_rate;
		tk->raw.rate = raw_rate;
		tk->mono.prior = tk->raw.prior = unc;
		p->set |= CHRONON__PLAN_REBASE;
		p->need_rebase = 1;
		break;
	default:
		break; /* calibrating (its own rate is near), or kernel mode */
	}
}

/* The shift that puts mult = rate * 2^shift in [2^30, 2^31) (page.h). */
uint32_t chronon__shift_for(double rate)
{
	uint32_t s = 0;
	while (s < 62 && rate * (double)((uint64_t)1 << s) < (double)(1u << 30))
		s++;
	return s;
}
