/*
 * The real kernel behind the kclock contract.
 *
 * clock_gettime is called through the vDSO's own entry, found once and
 * swapped into a function pointer (musl's lazy-init trick: no lock, and a
 * racing first call merely looks it up twice).  Without a vDSO the system
 * call serves.  No libc clock symbol is involved, so the preload shim,
 * which replaces those symbols with chronon, never recurses into itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "kclock.h"
#include "vdso.h"

typedef int (*gettime_fn)(clockid_t, struct timespec *);
typedef time_t (*time_fn)(time_t *);

static int gettime_syscall(clockid_t clock, struct timespec *ts)
{
	long r = syscall(SYS_clock_gettime, clock, ts);
	return r == 0 ? 0 : -1;
}

static int gettime_init(clockid_t clock, struct timespec *ts);
static _Atomic(gettime_fn) gettime_ptr = gettime_init;

static int gettime_init(clockid_t clock, struct timespec *ts)
{
	const char *name = CHRONON__VDSO_GETTIME;
	gettime_fn f = name ? (gettime_fn)chronon__vdso_sym(name) : NULL;
	if (!f)
		f = gettime_syscall;
	atomic_store_explicit(&gettime_ptr, f, memory_order_relaxed);
	return f(clock, ts);
}

/* The vDSO entry returns -errno on failure, as the system call does;
 * convert once here, at the boundary. */
int chronon__sys_gettime(clockid_t clock, struct timespec *ts)
{
	gettime_fn f = atomic_load_explicit(&gettime_ptr, memory_order_relaxed);
	int r = f(clock, ts);
	if (r == 0 || f == gettime_syscall)
		return r;
	if (r < 0 && r > -4096) {
		errno = -r;
		return -1;
	}
	return r;
}

int chronon__sys_gettime_nullsafe(clockid_t clock)
{
	return syscall(SYS_clock_gettime, clock, NULL) == 0 ? 0 : -1;
}

/* Not through the vDSO: Linux 6.18's vDSO answers 0 for clock ids the
 * system call rejects (auxiliary clocks 16-23), and the kernel's answer is
 * the one POSIX callers expect. */
int chronon__sys_getres(clockid_t clock, struct timespec *res)
{
	return syscall(SYS_clock_getres, clock, res) == 0 ? 0 : -1;
}

#ifdef SYS_time /* arm64 has no time system call (nor a vDSO time) */
static time_t time_syscall(time_t *t)
{
	return (time_t)syscall(SYS_time, t);
}
#endif

static time_t time_init(time_t *t);
static _Atomic(time_fn) time_ptr = time_init;

static time_t time_init(time_t *t)
{
	const char *name = CHRONON__VDSO_TIME;
	time_fn f = name ? (time_fn)chronon__vdso_sym(name) : NULL;
	if (!f) {
#ifdef SYS_time
		f = time_syscall;
#else
		f = NULL;
#endif
	}
	if (f)
		atomic_store_explicit(&time_ptr, f, memory_order_relaxed);
	if (f)
		return f(t);
	struct timespec ts;
	chronon__sys_gettime(CLOCK_REALTIME_COARSE, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

time_t chronon__sys_time(void)
{
	return atomic_load_explicit(&time_ptr, memory_order_relaxed)(NULL);
}

static int64_t real_now(void *ctx, clockid_t clock)
{
	(void)ctx;
	struct timespec ts;
	if (chronon__sys_gettime(clock, &ts) != 0)
		return 0;
	return chronon__ts_to_ns(&ts);
}

/*
 * CLOCK_REALTIME steps are reported by a timerfd armed with
 * TFD_TIMER_CANCEL_ON_SET: after clock_settime, ADJ_SETOFFSET, a leap
 * second or resume, its read fails with ECANCELED.  The timer is armed far
 * in the future with a signature interval, and before every read we check
 * the descriptor still is our timer: a program that closes every
 * descriptor it did not open must not make us read (and eat) another
 * file's data.  After fork the descriptor is shared with the parent, and
 * one process's read would eat the other's notice, so each process makes
 * its own.  Only the timekeeper calls this, under its lock.
 */
#define SIGNATURE_NS 271828183
static int tfd = -1;
static pid_t tfd_pid;

static int arm(int fd)
{
	struct itimerspec its = {
		.it_interval = {.tv_sec = 0, .tv_nsec = SIGNATURE_NS},
		.it_value = {.tv_sec = (time_t)1 << 40, .tv_nsec = 0},
	};
	return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

static int still_ours(void)
{
	struct itimerspec cur;
	if (tfd < 0 || tfd_pid != getpid())
		return 0;
	return timerfd_gettime(tfd, &cur) == 0 && cur.it_interval.tv_sec == 0 &&
	       cur.it_interval.tv_nsec == SIGNATURE_NS;
}

static int open_timer(void)
{
	tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd < 0)
		return -1;
	if (arm(tfd) != 0) {
		close(tfd);
		tfd = -1;
		return -1;
	}
	tfd_pid = getpid();
	return 0;
}

static int real_realtime_was_set(void *ctx)
{
	(void)ctx;
	if (!still_ours()) {
		/* Not ours any more (closed and reused, or inherited): forget
		 * it without closing, the number may be someone else's now. */
		tfd = -1;
		/* A new timer knows of no set: sampling covers what came
		 * before it. */
		return open_timer() == 0 ? 0 : -1;
	}
	uint64_t ticks;
	int old;
	/* read() is a cancellation point; a cancelled timekeeper would leave
	 * its lock held. */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	ssize_t n = read(tfd, &ticks, sizeof ticks);
	int err = errno;
	pthread_setcancelstate(old, NULL);
	if (n < 0 && err == ECANCELED) {
		arm(tfd);
		return 1;
	}
	return 0;
}

/*
 * The NTP state, by the system call rather than libc's adjtimex: the
 * preload shim must never find chronon calling a libc time symbol.  modes
 * = 0 makes it a query: unprivileged, and it changes nothing.  MONOTONIC
 * is read first, so growth counted from it errs on the long side.
 */
static int real_ntp(void *ctx, struct chronon__ntp *out)
{
	struct timex tx = {.modes = 0};
	out->mono_ns = real_now(ctx, CLOCK_MONOTONIC);
	long r = syscall(SYS_adjtimex, &tx);
	if (r < 0)
		return -1;
	out->state = (int)r;
	out->status = (uint32_t)tx.status;
	out->maxerror_us = tx.maxerror;
	out->esterror_us = tx.esterror;
	out->tai = tx.tai;
	return 0;
}

const struct chronon__kclock chronon__kclock_real = {
	.now = real_now,
	.realtime_was_set = real_realtime_was_set,
	.ctx = NULL,
	.ntp = real_ntp,
};
