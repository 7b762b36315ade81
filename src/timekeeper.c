/*
 * The timekeeper's state machine and the read path's slow side.  The
 * arithmetic of following the kernel (rate, slew, steps) is in
 * tk_track.c; the publishing of a new snapshot in tk_publish.c.
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
	atomic_store_explicit(&tk->floor_mono, INT64_MIN, memory_order_relaxed);
	atomic_store_explicit(&tk->floor_raw, INT64_MIN, memory_order_relaxed);
}

/*
 * The work runs under a try-lock (lock.h): a holder cannot be stopped
 * half-way, a lock copied by fork is taken over (the half-done work it
 * guarded discarded), and a rival in the same memory (a thread, a vfork
 * or CLONE_VM child) is waited for, never overrun.
 */

/* For readers of the timekeeper's own state (chronon_status): wait a
 * bounded while for the lock.  Returns 1 when held (release with
 * chronon__tk_release), 0 when it could not be had. */
int chronon__tk_hold(struct chronon__tk *tk, struct chronon__lock_held *h)
{
	for (int i = 0; i < 1000; i++) {
		int stolen;
		if (chronon__lock_try(&tk->lock, h, &stolen, i == 999) == CHRONON__LOCK_TAKEN) {
			if (stolen)
				chronon__tk_forget(tk);
			return 1;
		}
		sched_yield();
	}
	return 0;
}

void chronon__tk_release(struct chronon__tk *tk, struct chronon__lock_held *h)
{
	chronon__lock_release(&tk->lock, h);
}

static void atomic_max(_Atomic int64_t *a, int64_t v)
{
	int64_t cur = atomic_load_explicit(a, memory_order_relaxed);
	while (v > cur && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
								  memory_order_relaxed))
		;
}

/*
 * An answer from the kernel, raised by the page's pad so that it is never
 * below a value the counter already handed out; remembered as a floor
 * that the next snapshot will not start below.  BOOTTIME's floor is kept
 * in MONOTONIC terms with the low end of the known offset, which errs on
 * the high side, the safe one.
 */
static void raise_floor(struct chronon__tk *tk, enum chronon__ck ck, int64_t v);

static int64_t kernel_answer(struct chronon__tk *tk, enum chronon__ck ck)
{
	int64_t pad = atomic_load_explicit(&tk->page->pad_ns, memory_order_relaxed);
	int64_t v = tk->kc->now(tk->kc->ctx, chronon__ck_clockid(ck)) + pad;
	raise_floor(tk, ck, v);
	return v;
}

/* Every value handed out other than from the page's own line is
 * remembered, so that the next snapshot starts above it. */
static void raise_floor(struct chronon__tk *tk, enum chronon__ck ck, int64_t v)
{
	/* No counter will ever take over from the kernel here: no floor to
	 * keep, and no shared write on every read. */
	if (atomic_load_explicit(&tk->state, memory_order_relaxed) == CHRONON__TK_KERNEL)
		return;
	if (ck == CHRONON__CK_MONO)
		atomic_max(&tk->floor_mono, v);
	else if (ck == CHRONON__CK_RAW)
		atomic_max(&tk->floor_raw, v);
	else if (ck == CHRONON__CK_BOOT &&
		 atomic_load_explicit(&tk->state, memory_order_relaxed) > CHRONON__TK_STARTED)
		atomic_max(&tk->floor_mono,
			   v - atomic_load_explicit(&tk->page->off[CHRONON__CK_BOOT],
						    memory_order_relaxed));
}

/* Runs the work that is due, under the lock.  Returns with the page
 * updated (or left as it was when nothing could be done). */
static void tk_work(struct chronon__tk *tk, int stolen)
{
	if (stolen)
		chronon__tk_forget(tk);
	switch (atomic_load_explicit(&tk->state, memory_order_relaxed)) {
	case CHRONON__TK_NEW:
	case CHRONON__TK_STARTED:
		chronon__tk_start(tk);
		chronon__tk_probe(tk);
		break;
	case CHRONON__TK_CALIBRATING:
		chronon__tk_calibrate(tk);
		break;
	case CHRONON__TK_COUNTER:
		chronon__tk_update(tk);
		break;
	default:
		break;
	}
}

/* reap: the caller waited; a holder that no longer exists is replaced. */
static int try_work(struct chronon__tk *tk, int reap)
{
	int stolen;
	struct chronon__lock_held h;
	int r = chronon__lock_try(&tk->lock, &h, &stolen, reap);
	if (r != CHRONON__LOCK_TAKEN)
		return r;
	/* The work's system calls may fail by design (the non-blocking
	 * timerfd read answers EAGAIN): a clock read must leave errno alone. */
	int saved_errno = errno;
	tk_work(tk, stolen);
	chronon__lock_release(&tk->lock, &h);
	errno = saved_errno;
	return CHRONON__LOCK_TAKEN;
}

/* Another thread is doing the work: give it the time it needs (a few
 * microseconds; far more under emulation, where every kernel read is a
 * system call), measured by the kernel's clock rather than in spins, but
 * never wait unboundedly: the holder may have been preempted. */
#define WAIT_NS 2000000

static int wait_for_page(struct chronon__tk *tk, enum chronon__ck ck, int64_t *out)
{
	int64_t until = 0;
	for (unsigned i = 1;; i++) {
		if (atomic_load_explicit(&tk->lock, memory_order_acquire) == 0)
			return chronon__page_read(tk->page, ck, out) == CHRONON__READ_OK;
		chronon__arch_cpu_relax();
		if (i % 256 == 0) {
			int64_t now = tk->kc->now(tk->kc->ctx, CLOCK_MONOTONIC);
			if (!until)
				until = now + WAIT_NS;
			else if (now > until)
				return 0;
		}
	}
}

static int64_t slow_kernel_modes(struct chronon__tk *tk, enum chronon__ck ck, int state)
{
	int64_t v = kernel_answer(tk, ck);
	if (state == CHRONON__TK_KERNEL)
		return v;
	if (state == CHRONON__TK_NEW) {
		/* The first call only answers: it must be as quick as the
		 * kernel's own first call.  The work starts with the next. */
		int expect = CHRONON__TK_NEW;
		atomic_compare_exchange_strong_explicit(&tk->state, &expect, CHRONON__TK_STARTED,
							memory_order_relaxed, memory_order_relaxed);
		return v;
	}
	int64_t due = atomic_load_explicit(&tk->due_ns, memory_order_relaxed);
	int64_t now = ck == CHRONON__CK_MONO ? v : tk->kc->now(tk->kc->ctx, CLOCK_MONOTONIC);
	if (now >= due && try_work(tk, 0) == CHRONON__LOCK_TAKEN) {
		int64_t ns;
		if (chronon__page_read(tk->page, ck, &ns) == CHRONON__READ_OK && ns >= v)
			return ns;
	}
	return v;
}

/*
 * Counter mode, and the page could not be brought up to date just now
 * (another thread is slow to re-base it).  The kernel's time plus the pad
 * is never below what the page handed out, but the page may run a little behind the
 * kernel, and its next reads would then come out below this answer: so
 * the answer is the page's own line when that is not ahead of the
 * kernel's time plus pad (on the line, nothing goes back), and the
 * kernel's otherwise (the line ran ahead: a counter that jumped).
 */
static int64_t fallback_answer(struct chronon__tk *tk, enum chronon__ck ck)
{
	int64_t pad = atomic_load_explicit(&tk->page->pad_ns, memory_order_relaxed);
	int64_t k = tk->kc->now(tk->kc->ctx, chronon__ck_clockid(ck)) + pad, p;
	int64_t v = chronon__page_extrapolate(tk->page, ck, &p) == CHRONON__READ_OK && p <= k ? p : k;
	raise_floor(tk, ck, v);
	return v;
}

int64_t chronon__tk_read_slow(struct chronon__tk *tk, enum chronon__ck ck)
{
	int state = atomic_load_explicit(&tk->state, memory_order_acquire);
	if (state != CHRONON__TK_COUNTER)
		return slow_kernel_modes(tk, ck, state);
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
	if (r == CHRONON__LOCK_TAKEN && chronon__page_read(tk->page, ck, &ns) == CHRONON__READ_OK)
		return ns;
	return fallback_answer(tk, ck);
}
