/*
 * The timekeeper's state machine and the read path's slow side: which
 * step of work is due, under the lock.  Each step is decided in
 * tk_track.c (the arithmetic of following the kernel: rate, slew, steps)
 * and applied in tk_apply.c, which has tk_publish.c write the page.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "timekeeper.h"
#include "tk_internal.h"

void chronon__tk_default_config(struct chronon__tk_config *cfg)
{
	static const struct chronon__tk_config def = CHRONON__TK_CONFIG_DEFAULT;
	*cfg = def;
}

void chronon__tk_setup(struct chronon__tk *tk, struct chronon__page *page,
		       const struct chronon__kclock *kc, const struct chronon__counter *counter)
{
	memset(tk, 0, sizeof *tk);
	tk->page = page;
	tk->kc = kc;
	tk->forced = counter;
	chronon__tk_default_config(&tk->cfg);
	atomic_store_explicit(&page->ctl, chronon__ctl(CHRONON__PAGE_KERNEL, 0, 0, 0),
			      memory_order_relaxed);
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++)
		atomic_store_explicit(&tk->floor[ck], INT64_MIN, memory_order_relaxed);
}

/*
 * The work runs under a try-lock (lock.h): a holder cannot be stopped
 * half-way, a lock copied by fork is taken over (the half-done work it
 * guarded discarded), and a rival in the same memory (a thread, a vfork
 * or CLONE_VM child) is waited for, never overrun.
 */

/* The lock, waited for a bounded while (tries yields), for work that
 * must not be skipped like a reader's due work can; a holder gone at the
 * last try is replaced.  1 when held, 0 when it could not be had. */
static int take_yielding(struct chronon__tk *tk, struct chronon__lock_held *h, int tries)
{
	for (int i = 0; i < tries; i++) {
		int stolen;
		if (chronon__lock_try(&tk->lock, h, &stolen, i == tries - 1) == CHRONON__LOCK_TAKEN) {
			if (stolen)
				chronon__tk_forget(tk);
			return 1;
		}
		sched_yield();
	}
	return 0;
}

/* For readers of the timekeeper's own state (chronon_status); release
 * with chronon__tk_release. */
int chronon__tk_hold(struct chronon__tk *tk, struct chronon__lock_held *h)
{
	return take_yielding(tk, h, 1000);
}

void chronon__tk_release(struct chronon__tk *tk, struct chronon__lock_held *h)
{
	chronon__lock_release(&tk->lock, h);
}

/* Sequentially consistent: see settle(). */
void chronon__tk_raise_floor(struct chronon__tk *tk, enum chronon__ck ck, int64_t v)
{
	_Atomic int64_t *a = &tk->floor[ck];
	int64_t cur = atomic_load_explicit(a, memory_order_seq_cst);
	while (v > cur && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_seq_cst,
								  memory_order_seq_cst))
		;
}

/* An odd count with the lock free is no open section but one left by a
 * writer that is gone (fork copied the page mid-update): the next
 * writer, which takes the lock and then reads the floors, rewrites it. */
static int section_open(const struct chronon__tk *tk)
{
	return atomic_load_explicit(&tk->lock, memory_order_seq_cst) != 0;
}

/*
 * Every value handed out other than from the page's line (the kernel's
 * answers) is remembered as its clock's floor, and the next snapshot
 * starts above every floor (tk_publish.c reads them inside its write
 * section).  A floor raised while that section is open may come too late
 * for it, so the answer stands only if the page's count is the even g1
 * read before the value was taken, both before and after the floor went
 * up (a Dekker pair with the writer's fence between its odd count and its
 * reading of the floors).  Otherwise the caller reads the page again.
 * The writer blocks signals in its section, so no handler on its own
 * thread can find it open.
 */
static int settle(struct chronon__tk *tk, enum chronon__ck ck, int64_t v, uint32_t g1)
{
	/* No counter will ever take over from the kernel here: no floor to
	 * keep, and no shared write on every read. */
	if (atomic_load_explicit(&tk->state, memory_order_relaxed) == CHRONON__TK_KERNEL)
		return 1;
	if ((g1 & 1) && section_open(tk))
		return 0;
	chronon__tk_raise_floor(tk, ck, v);
	return chronon__seq_begin_sc(tk->page) == g1;
}

static uint32_t page_count(const struct chronon__tk *tk)
{
	return chronon__seq_begin_sc(tk->page);
}

/* An answer from the kernel, raised by the page's pad (a bound on how far
 * the page ran ahead of the kernel); 1 when it may be handed out. */
static int kernel_answer(struct chronon__tk *tk, enum chronon__ck ck, int64_t *v)
{
	uint32_t g1 = page_count(tk);
	int64_t pad = atomic_load_explicit(&tk->page->pad_ns, memory_order_relaxed);
	*v = tk->kc->now(tk->kc->ctx, chronon__ck_clockid(ck)) + (pad > 0 ? pad : 0);
	/* Never below a floor of a clock that may not go back: a floor can
	 * be ahead of the kernel (a shared page left behind, whose bound
	 * leave() made the floor, before the kernel caught up with it). */
	if (ck != CHRONON__CK_REAL && ck != CHRONON__CK_TAI) {
		int64_t f = atomic_load_explicit(&tk->floor[ck], memory_order_relaxed);
		if (*v < f)
			*v = f;
	}
	return settle(tk, ck, *v, g1);
}

void chronon__tk_update(struct chronon__tk *tk)
{
	struct chronon__tk_plan p;
	chronon__tk_decide_update(tk, &p);
	chronon__tk_apply(tk, &p);
}

void chronon__tk_forget(struct chronon__tk *tk)
{
	struct chronon__tk_plan p;
	chronon__tk_decide_forget(tk, &p);
	chronon__tk_apply(tk, &p);
}

/* Runs the work that is due, under the lock.  Returns with the page
 * updated (or left as it was when nothing could be done). */
static void tk_work(struct chronon__tk *tk, int stolen)
{
	if (stolen)
		chronon__tk_forget(tk);
	struct chronon__tk_plan p;
	switch (atomic_load_explicit(&tk->state, memory_order_relaxed)) {
	case CHRONON__TK_NEW:
	case CHRONON__TK_STARTED:
		chronon__tk_decide_start(tk, &p);
		chronon__tk_apply(tk, &p);
		chronon__tk_decide_probe(tk, &p);
		break;
	case CHRONON__TK_CALIBRATING:
		chronon__tk_decide_calibrate(tk, &p);
		break;
	case CHRONON__TK_COUNTER:
		chronon__tk_decide_update(tk, &p);
		break;
	default:
		return;
	}
	chronon__tk_apply(tk, &p);
}

/* reap: the caller waited; a holder that no longer exists is replaced. */
static int try_work(struct chronon__tk *tk, int reap);

int chronon__tk_rebase_now(struct chronon__tk *tk)
{
	if (atomic_load_explicit(&tk->state, memory_order_acquire) != CHRONON__TK_COUNTER)
		return 0; /* kernel answers start at the floors already */
	struct chronon__lock_held h;
	if (!take_yielding(tk, &h, 64))
		return -1;
	chronon__tk_forget(tk); /* the next snapshot is a re-base */
	if (atomic_load_explicit(&tk->state, memory_order_relaxed) == CHRONON__TK_COUNTER)
		chronon__tk_update(tk);
	chronon__lock_release(&tk->lock, &h);
	return 0;
}

int chronon__tk_seed(struct chronon__tk *tk, double mono_rate, double raw_rate, double unc)
{
	struct chronon__lock_held h;
	if (!take_yielding(tk, &h, 64))
		return -1;
	struct chronon__tk_plan p;
	chronon__tk_decide_seed(tk, mono_rate, raw_rate, unc, &p);
	chronon__tk_apply(tk, &p);
	chronon__lock_release(&tk->lock, &h);
	return 0;
}

static int try_work(struct chronon__tk *tk, int reap)
{
	int stolen;
	struct chronon__lock_held h;
	int r = chronon__lock_try(&tk->lock, &h, &stolen, reap);
	if (r != CHRONON__LOCK_TAKEN)
		return r;
	/* The work's system calls may fail by design (the non-blocking
	 * timerfd read answers EAGAIN) and leave errno set: the public
	 * functions put it back (rule 15). */
	tk_work(tk, stolen);
	chronon__lock_release(&tk->lock, &h);
	return CHRONON__LOCK_TAKEN;
}

/* Another thread is doing the work: give it the time it needs (a few
 * microseconds; far more under emulation, where every kernel read is a
 * system call), measured by the kernel's clock rather than in spins, but
 * never wait unboundedly: the holder may have been preempted. */
#define WAIT_NS 2000000

/* Spins while busy(tk), a bounded while measured by the kernel's clock:
 * 1 once it is not, 0 when the wait ran out (the holder may have been
 * preempted, or be gone). */
static int spin_while(struct chronon__tk *tk, int (*busy)(const struct chronon__tk *))
{
	int64_t until = 0;
	for (unsigned i = 1; busy(tk); i++) {
		chronon__arch_cpu_relax();
		if (i % 256 == 0) {
			int64_t now = tk->kc->now(tk->kc->ctx, CLOCK_MONOTONIC);
			if (!until)
				until = now + WAIT_NS;
			else if (now > until)
				return 0;
		}
	}
	return 1;
}

static int lock_held(const struct chronon__tk *tk)
{
	return atomic_load_explicit(&tk->lock, memory_order_acquire) != 0;
}

static int wait_for_page(struct chronon__tk *tk, enum chronon__ck ck, int64_t *out)
{
	return spin_while(tk, lock_held) && chronon__page_read(tk->page, ck, out) == CHRONON__READ_OK;
}

/* A write section is open (another thread's; never this one's, whose
 * signals it blocks). */
static int section_busy(const struct chronon__tk *tk)
{
	return (page_count(tk) & 1) && section_open(tk);
}

/* Waits for another thread's write section to close, a bounded while. */
static void wait_section(struct chronon__tk *tk)
{
	spin_while(tk, section_busy);
}

/* 1 with *out set when answered; 0 when a write section got in the way. */
static int slow_kernel_modes(struct chronon__tk *tk, enum chronon__ck ck, int state, int64_t *out)
{
	int64_t v;
	int ok = kernel_answer(tk, ck, &v);
	*out = v; /* the last resort if no round succeeds */
	if (!ok)
		return 0;
	if (state == CHRONON__TK_KERNEL)
		return 1;
	if (state == CHRONON__TK_NEW) {
		/* The first call only answers: it must be as quick as the
		 * kernel's own first call.  The work starts with the next. */
		chronon__tk_apply_first_read(tk);
		return 1;
	}
	int64_t due = atomic_load_explicit(&tk->due_ns, memory_order_relaxed);
	int64_t now = ck == CHRONON__CK_MONO ? v : tk->kc->now(tk->kc->ctx, CLOCK_MONOTONIC);
	if (now >= due && try_work(tk, 0) == CHRONON__LOCK_TAKEN) {
		/* the new snapshot starts above v's floor */
		int64_t ns;
		if (chronon__page_read(tk->page, ck, &ns) == CHRONON__READ_OK && ns >= v)
			*out = ns;
	}
	return 1;
}

/*
 * Counter mode, and the page could not be brought up to date just now
 * (another thread is slow to re-base it).  Within the snapshot's
 * window, its line, as the fast path would answer.  Beyond it, the line's
 * value at the window's end (never below what it handed out) or the
 * kernel's time when that is later, remembered as a floor: a re-base
 * after a counter jump may otherwise start below the window's end.
 * Without a whole snapshot (a counter reset), the kernel's time plus the
 * pad.
 * Returns 0 when a write section got in the way.
 */
static int fallback_answer(struct chronon__tk *tk, enum chronon__ck ck, int64_t *out)
{
	int64_t p;
	int expired;
	uint32_t g;
	if (chronon__page_extrapolate(tk->page, ck, &p, &expired, &g) != CHRONON__READ_OK)
		return kernel_answer(tk, ck, out);
	*out = p;
	if (!expired)
		return 1; /* what the fast path answers */
	int64_t k = tk->kc->now(tk->kc->ctx, chronon__ck_clockid(ck));
	if (k > p)
		*out = k;
	return settle(tk, ck, *out, g);
}

/* Rounds of answering before a write section that stays open (its writer
 * preempted for longer than WAIT_NS each time) is no longer waited for. */
#define SLOW_ROUNDS 4

int64_t chronon__tk_read_slow(struct chronon__tk *tk, enum chronon__ck ck)
{
	int64_t v = 0;
	for (int round = 0; round < SLOW_ROUNDS; round++) {
		if (round)
			wait_section(tk);
		int state = atomic_load_explicit(&tk->state, memory_order_acquire);
		if (state != CHRONON__TK_COUNTER) {
			if (slow_kernel_modes(tk, ck, state, &v))
				return v;
			continue;
		}
		int64_t ns;
		if (chronon__page_read_clamped(tk->page, ck, &ns) == CHRONON__READ_OK)
			return ns;
		int r = try_work(tk, 0);
		if (r == CHRONON__LOCK_OTHER) {
			if (wait_for_page(tk, ck, &ns))
				return ns;
			/* Waited in vain: the holder may no longer exist. */
			r = try_work(tk, 1);
		}
		if (r == CHRONON__LOCK_TAKEN &&
		    chronon__page_read(tk->page, ck, &ns) == CHRONON__READ_OK)
			return ns;
		if (fallback_answer(tk, ck, &v))
			return v;
	}
	/* A writer stuck inside its section: the last answer, its floor
	 * raised, which the writer may or may not have seen. */
	return v;
}
