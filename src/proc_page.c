/*
 * The process's page: which page the read path uses (its own, kept by the
 * in-process timekeeper, or chronond's, which shared_page.c finds, checks
 * and maps), and the slow path that moves the read path between them
 * without letting any clock go back.
 *
 * When.  The first read of a process answers from the kernel and looks
 * for nothing (it must be as quick as the kernel's first call); the second
 * looks for the page: it asks chronond's socket and waits at most
 * CHRONON__SHM_ASK_WAIT_US for the answer, which a later slow read
 * collects otherwise.  A process without a page looks again at most once
 * per CHRONON__SHM_RELOOK_NS, from the slow path only: the in-process
 * timekeeper's page expires every few ms, so an active reader gets there.
 * A shared page that goes stale (its writer died or is late: the page's
 * validity runs out), retired (chronond stopped), or is left in the middle
 * of an update sends its readers to the slow path, which leaves it.
 *
 * Never back.  Before the read path moves from one source to another, the
 * switching thread computes, for each clock, an upper bound of what the old
 * source can have handed out, and waits (bounded) until the new source
 * reads at least that.  Both sources follow the kernel within their pads,
 * so the wait is the difference of two pads: well under a microsecond in
 * the steady state, CHRONON__SHM_PAD_MAX_NS at most.  The in-process
 * timekeeper's floors are raised to the bounds too, so its next snapshot
 * starts above them.
 */
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "chronon.h"
#include "clocks.h"
#include "kclock.h"
#include "lock.h"
#include "proc_page.h"
#include "shared_page.h"

/* The process's page and timekeeper, initialised statically so that no
 * first call races an initialiser (and a call from a signal handler or a
 * constructor finds them ready). */
_Alignas(64) struct chronon__page chronon__proc_page;
_Atomic int chronon__kernel_direct;
struct chronon__tk chronon__proc_tk = {
	.page = &chronon__proc_page,
	.direct = &chronon__kernel_direct,
	.kc = &chronon__kclock_real,
	.cfg = CHRONON__TK_CONFIG_DEFAULT,
	.floor = {INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN, INT64_MIN},
};

_Atomic(const struct chronon__page *) chronon__cur_page = &chronon__proc_page;

/* 0: the first read has not happened; 1: look at the next slow read;
 * INT64_MAX: never (disabled); else MONOTONIC_COARSE of the next look. */
#define LOOK_NEVER INT64_MAX
static _Atomic int64_t next_look_ns;
/* Held by the thread that looks or switches (lock.h). */
static _Atomic uint64_t switch_lock;

/* Written under switch_lock; read by chronon_status. */
static _Atomic(const struct chronon__shm *) active;
static char active_path[128];
static char refusal[128];

/* ---- switching ----------------------------------------------------- */

/* The switch lock (lock.h): a switch cannot be abandoned half-way, and
 * one copied by fork is taken over. */
static int try_lock(struct chronon__lock_held *h, int reap)
{
	int stolen;
	return chronon__lock_try(&switch_lock, h, &stolen, reap) == CHRONON__LOCK_TAKEN;
}

static void unlock(struct chronon__lock_held *h)
{
	chronon__lock_release(&switch_lock, h);
}

static int64_t kernel_ns(clockid_t clock)
{
	return chronon__kclock_real.now(chronon__kclock_real.ctx, clock);
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* Upper bounds of what the in-process timekeeper can have handed out: its
 * page's clock now, or the kernel plus its pad, and the floors its kernel
 * answers left. */
static void proc_bounds(int64_t h[CHRONON__CK_COUNT])
{
	struct chronon__tk *tk = &chronon__proc_tk;
	int64_t pad = atomic_load_explicit(&chronon__proc_page.pad_ns, memory_order_relaxed);
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++) {
		int64_t v;
		h[ck] = kernel_ns(chronon__ck_clockid((enum chronon__ck)ck)) + (pad > 0 ? pad : 0);
		if (chronon__page_read(&chronon__proc_page, (enum chronon__ck)ck, &v) ==
		    CHRONON__READ_OK)
			h[ck] = max64(h[ck], v);
	}
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++)
		h[ck] = max64(h[ck], atomic_load_explicit(&tk->floor[ck], memory_order_relaxed));
}

/* A bit longer than the largest pad: the longest a switch may wait. */
#define SWITCH_WAIT_NS (2 * CHRONON__SHM_PAD_MAX_NS)

static int64_t read_proc(enum chronon__ck ck)
{
	return chronon__tk_read(&chronon__proc_tk, ck);
}

/* Waits until every clock of the new source reads at least h; 0 when it
 * does, -1 when the source failed or the wait ran out. */
static int wait_until(const struct chronon__page *to, const int64_t h[CHRONON__CK_COUNT])
{
	int64_t deadline = kernel_ns(CLOCK_MONOTONIC) + SWITCH_WAIT_NS;
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++) {
		for (;;) {
			int64_t v;
			if (to) {
				if (chronon__page_read_shared(to, (enum chronon__ck)ck, &v) !=
				    CHRONON__READ_OK)
					return -1;
			} else {
				v = read_proc((enum chronon__ck)ck);
			}
			if (v >= h[ck])
				break;
			if (kernel_ns(CLOCK_MONOTONIC) > deadline)
				return -1;
			chronon__arch_cpu_relax();
		}
	}
	return 0;
}


static void use(const struct chronon__shm *s, const char *path)
{
	snprintf(active_path, sizeof active_path, "%s", path);
	refusal[0] = 0;
	atomic_store_explicit(&active, s, memory_order_release);
	atomic_store_explicit(&chronon__cur_page, &s->page, memory_order_release);
}

/* From the in-process timekeeper to a page, if one is usable: a step of
 * the look (chronon__shm_look's waits), and the switch when it found one. */
static void enter(int64_t wait_us, int patient)
{
	char path[128];
	const struct chronon__shm *s = NULL;
	char why[sizeof refusal];
	int r = chronon__shm_look(&s, path, sizeof path, wait_us, patient, why, sizeof why);
	if (r == CHRONON__LOOK_OFF || r == CHRONON__LOOK_NONE)
		snprintf(refusal, sizeof refusal, "%s", why);
	if (r == CHRONON__LOOK_OFF) {
		atomic_store_explicit(&next_look_ns, LOOK_NEVER, memory_order_relaxed);
		return;
	}
	/* An answer still to come is collected at the next slow read. */
	atomic_store_explicit(&next_look_ns,
			      r == CHRONON__LOOK_PENDING ? 1 : chronon__coarse_ns() + CHRONON__SHM_RELOOK_NS,
			      memory_order_relaxed);
	if (r != CHRONON__LOOK_FOUND)
		return;
	int64_t h[CHRONON__CK_COUNT];
	proc_bounds(h);
	if (wait_until(&s->page, h) != 0) {
		snprintf(refusal, sizeof refusal, "%.60s: runs behind this process's clock", path);
		return;
	}
	use(s, path);
}

/* From a page that failed its readers to the in-process timekeeper, and a
 * look at once: a restarted chronond may already be serving. */
static void leave(const struct chronon__shm *old, const char *why)
{
	int64_t h[CHRONON__CK_COUNT];
	chronon__shm_bounds(&old->page, h);
	struct chronon__tk *tk = &chronon__proc_tk;
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++)
		chronon__tk_raise_floor(tk, ck, h[ck]);
	/* chronond's rates are the kernel's of now; this process's own are
	 * those of when it joined the page. */
	chronon__tk_seed(tk, chronon__shm_rate(&old->mono_rate_bits), chronon__shm_rate(&old->raw_rate_bits),
			 chronon__shm_rate(&old->rate_unc_bits));
	/* A clock set back leaves REALTIME's bound out of reach: the wait
	 * gives up after SWITCH_WAIT_NS, as it should.  A process line
	 * further behind the page than that (chronond's line was running
	 * ahead of the kernel, catching up) is re-based above the floors
	 * rather than read below them. */
	if (wait_until(NULL, h) != 0)
		chronon__tk_rebase_now(tk);
	snprintf(refusal, sizeof refusal, "%.60s: %.60s", active_path, why);
	atomic_store_explicit(&active, NULL, memory_order_release);
	atomic_store_explicit(&chronon__cur_page, &chronon__proc_page, memory_order_release);
	chronon__shm_look_reset();
	atomic_store_explicit(&next_look_ns, 1, memory_order_relaxed);
}


/* Another thread is switching: give it the time a switch may take (it
 * may be waiting out a pad), never more. */
static void wait_switch(void)
{
	int64_t deadline = kernel_ns(CLOCK_MONOTONIC) + 4 * SWITCH_WAIT_NS;
	while (atomic_load_explicit(&switch_lock, memory_order_acquire) != 0 &&
	       kernel_ns(CLOCK_MONOTONIC) < deadline)
		chronon__arch_cpu_relax();
}

/*
 * A page whose writer is inside its section: a chronond preempted there
 * (a loaded machine, a vCPU its host descheduled: often, under
 * emulation) closes it when it runs again; one killed there never does.
 * Readers wait for it a bounded while, yielding so that a writer
 * preempted on their CPU can finish, rather than leave a live page at
 * every long section: leaving costs a switch each way and serves them
 * meanwhile from a timekeeper that slept.
 */
static void wait_section(const struct chronon__page *pg)
{
	if (!(atomic_load_explicit(&pg->seq, memory_order_acquire) & 1))
		return;
	int64_t deadline = kernel_ns(CLOCK_MONOTONIC) + SWITCH_WAIT_NS;
	while ((atomic_load_explicit(&pg->seq, memory_order_acquire) & 1) &&
	       kernel_ns(CLOCK_MONOTONIC) < deadline)
		sched_yield();
}

static int64_t shared_slow(const struct chronon__page *pg, enum chronon__ck ck)
{
	const struct chronon__shm *s =
		(const struct chronon__shm *)((const char *)pg - offsetof(struct chronon__shm, page));
	int64_t ns;
	wait_section(pg);
	const char *why = chronon__shm_trouble(s);
	if (!why) {
		if (chronon__page_read_shared(pg, ck, &ns) == CHRONON__READ_OK)
			return ns;
		uint64_t ctl = atomic_load_explicit(&pg->ctl, memory_order_relaxed);
		const _Atomic uint32_t *g = atomic_load_explicit(&chronon__arch_guard, memory_order_relaxed);
		why = atomic_load_explicit(g, memory_order_relaxed) != CHRONON__CTL_GUARD(ctl)
			      ? "the host rewrote the counter's scale; chronond has not republished yet"
			      : "its validity ran out (chronond late or gone)";
	}
	struct chronon__lock_held h;
	int locked = try_lock(&h, 0);
	if (!locked) {
		wait_switch();
		/* Still held: its holder may no longer exist. */
		locked = try_lock(&h, 1);
	}
	if (locked) {
		if (atomic_load_explicit(&chronon__cur_page, memory_order_relaxed) == pg)
			leave(s, why);
		unlock(&h);
	}
	/* Not chronon__read(): a page that fails right after passing its
	 * checks must not send this thread round again. */
	pg = atomic_load_explicit(&chronon__cur_page, memory_order_acquire);
	if (pg != &chronon__proc_page && chronon__page_read_shared(pg, ck, &ns) == CHRONON__READ_OK)
		return ns;
	return read_proc(ck);
}

static int look_due(void)
{
	int64_t next = atomic_load_explicit(&next_look_ns, memory_order_relaxed);
	if (next == 0) {
		/* The process's first read: answer, look next time. */
		int64_t zero = 0;
		atomic_compare_exchange_strong_explicit(&next_look_ns, &zero, 1, memory_order_relaxed,
							memory_order_relaxed);
		return 0;
	}
	return next != LOOK_NEVER && (next == 1 || chronon__coarse_ns() >= next);
}

int64_t chronon__read_slow(enum chronon__ck ck)
{
	const struct chronon__page *pg = atomic_load_explicit(&chronon__cur_page, memory_order_acquire);
	if (pg != &chronon__proc_page)
		return shared_slow(pg, ck);
	struct chronon__lock_held h;
	if (look_due() && try_lock(&h, 1)) {
		if (atomic_load_explicit(&chronon__cur_page, memory_order_relaxed) == pg)
			enter(CHRONON__SHM_ASK_WAIT_US, 0);
		unlock(&h);
		int64_t ns;
		pg = atomic_load_explicit(&chronon__cur_page, memory_order_acquire);
		if (pg != &chronon__proc_page &&
		    chronon__page_read_shared(pg, ck, &ns) == CHRONON__READ_OK)
			return ns;
	}
	return chronon__tk_read_slow(&chronon__proc_tk, ck);
}

/* ---- for status and tests ------------------------------------------ */

void chronon__shm_look_now(void)
{
	atomic_store_explicit(&next_look_ns, 1, memory_order_relaxed);
}

const struct chronon__shm *chronon__shm_active(void)
{
	return atomic_load_explicit(&active, memory_order_acquire);
}

void chronon__shm_status(struct chronon_status *st)
{
	/* A status asked before any look, or while one waits for its answer:
	 * look now and wait for the answer, so it can say what it found. */
	if (atomic_load_explicit(&next_look_ns, memory_order_relaxed) <= 1) {
		chronon__shm_look_now();
		chronon__read(CHRONON__CK_MONO);
	}
	struct chronon__lock_held h;
	int locked = try_lock(&h, 1);
	if (locked && atomic_load_explicit(&next_look_ns, memory_order_relaxed) == 1 &&
	    atomic_load_explicit(&chronon__cur_page, memory_order_relaxed) == &chronon__proc_page)
		enter((int64_t)CHRONON__SHM_ANSWER_MS * 1000, 1);
	const struct chronon__shm *s = chronon__shm_active();
	if (!s) {
		snprintf(st->page, sizeof st->page, "process");
		snprintf(st->page_reason, sizeof st->page_reason, "%s", locked ? refusal : "");
	} else {
		snprintf(st->page, sizeof st->page, "%s", locked ? active_path : "shared");
		st->page_reason[0] = 0;
		st->mode = CHRONON_MODE_COUNTER;
		snprintf(st->mode_name, sizeof st->mode_name, "counter");
		st->fallback_reason[0] = 0;
		snprintf(st->counter, sizeof st->counter, "%.15s", s->counter_name);
		st->frequency_hz = s->counter_hz;
		snprintf(st->frequency_source, sizeof st->frequency_source, "chronond");
		st->mult = (uint32_t)atomic_load_explicit(&s->page.mono.mult, memory_order_relaxed);
		st->shift = CHRONON__CTL_SHIFT(atomic_load_explicit(&s->page.ctl, memory_order_relaxed));
		int64_t at = atomic_load_explicit(&s->resync_ns, memory_order_relaxed);
		st->resync_age_ns = at ? kernel_ns(CLOCK_MONOTONIC) - at : -1;
		st->resync_error_ns = atomic_load_explicit(&s->resync_error_ns, memory_order_relaxed);
		st->resync_width_ns = atomic_load_explicit(&s->resync_width_ns, memory_order_relaxed);
		st->resyncs = atomic_load_explicit(&s->resyncs, memory_order_relaxed);
		st->steps = atomic_load_explicit(&s->steps, memory_order_relaxed);
		st->realtime_steps = atomic_load_explicit(&s->realtime_steps, memory_order_relaxed);
		st->suspends = atomic_load_explicit(&s->suspends, memory_order_relaxed);
		for (int i = 0; i < st->ncounters; i++)
			st->counters[i].chosen = strcmp(st->counters[i].name, st->counter) == 0;
	}
	if (locked)
		unlock(&h);
}