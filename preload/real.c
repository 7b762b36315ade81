/*
 * The real clock functions, reproduced the way glibc 2.36 builds them on
 * Linux, because the libc symbols are ours now and calling them would
 * recurse; dlsym(RTLD_NEXT) is no way out either (it may allocate, take
 * the loader's lock, and does not work before the loader is done).
 *
 *   clock_gettime, clock_getres  vDSO entry when there is one, its -errno
 *                                result turned into errno; else the syscall
 *   gettimeofday, time           glibc binds these straight to the vDSO
 *                                entry (IFUNC), results passed as they are
 *
 * The entries are found by src/vdso.c (getauxval + an ELF walk: no
 * allocation, no lock), lazily and idempotently: racing first calls look
 * them up twice and store the same pointer.  The constructor looks them up
 * once more so signal handlers normally find them ready.
 *
 * chronon's own code is linked into the same object and must not reach the
 * libc names either; preload/CMakeLists.txt links with --wrap so any such
 * reference lands on the __wrap_ functions at the end of this file.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"
#include "vdso.h"

typedef int (*clock_fn)(clockid_t, struct timespec *);
typedef int (*gettimeofday_fn)(struct timeval *, void *);
typedef time_t (*time_fn)(time_t *);

/* 0: not looked up yet; NONE: looked up, the vDSO has no such entry. */
#define NONE ((uintptr_t)1)

static _Atomic uintptr_t vdso_gettime, vdso_getres, vdso_gettimeofday, vdso_time;

static uintptr_t lookup(_Atomic uintptr_t *slot, const char *name)
{
	uintptr_t p = atomic_load_explicit(slot, memory_order_relaxed);
	if (p != 0)
		return p == NONE ? 0 : p;
	void *sym = name ? chronon__vdso_sym(name) : NULL;
	p = sym ? (uintptr_t)sym : NONE;
	atomic_store_explicit(slot, p, memory_order_relaxed);
	return p == NONE ? 0 : p;
}

void chronon__pl_real_init(void)
{
	lookup(&vdso_gettime, CHRONON__VDSO_GETTIME);
	lookup(&vdso_getres, CHRONON__VDSO_GETRES);
	lookup(&vdso_gettimeofday, CHRONON__VDSO_GETTIMEOFDAY);
	lookup(&vdso_time, CHRONON__VDSO_TIME);
}

/* glibc: a vDSO result of 0 is success, anything else is -errno; it does
 * not retry with the system call (the vDSO already did for clocks it does
 * not serve). */
static int from_vdso(int r)
{
	if (r == 0)
		return 0;
	errno = -r;
	return -1;
}

int chronon__pl_real_gettime(clockid_t clock, struct timespec *ts)
{
	uintptr_t f = lookup(&vdso_gettime, CHRONON__VDSO_GETTIME);
	if (f)
		return from_vdso(((clock_fn)f)(clock, ts));
	return (int)syscall(SYS_clock_gettime, clock, ts);
}

int chronon__pl_real_getres(clockid_t clock, struct timespec *res)
{
	uintptr_t f = lookup(&vdso_getres, CHRONON__VDSO_GETRES);
	if (f)
		return from_vdso(((clock_fn)f)(clock, res));
	return (int)syscall(SYS_clock_getres, clock, res);
}

int chronon__pl_real_gettimeofday(struct timeval *tv, void *tz)
{
	uintptr_t f = lookup(&vdso_gettimeofday, CHRONON__VDSO_GETTIMEOFDAY);
	if (f)
		return ((gettimeofday_fn)f)(tv, tz);
	/* glibc's fallback: no system-wide time zone is reported any more. */
	if (tz)
		memset(tz, 0, sizeof(struct timezone));
	return (int)syscall(SYS_gettimeofday, tv, tz);
}

time_t chronon__pl_real_time(time_t *t)
{
	uintptr_t f = lookup(&vdso_time, CHRONON__VDSO_TIME);
	if (f)
		return ((time_fn)f)(t);
#ifdef SYS_time
	return (time_t)syscall(SYS_time, t);
#else
	struct timespec ts;
	if (chronon__pl_real_gettime(CLOCK_REALTIME, &ts) != 0)
		return (time_t)-1;
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
#endif
}

/*
 * What chronon's own objects get when they name a libc clock function
 * (ld --wrap=NAME).  Today's core calls the kernel through src/kclock.c
 * and names none of them; these make sure a later change cannot turn into
 * infinite recursion inside the shim.
 */
__attribute__((visibility("hidden"))) int __wrap_clock_gettime(clockid_t c, struct timespec *ts);
__attribute__((visibility("hidden"))) int __wrap_clock_getres(clockid_t c, struct timespec *res);
__attribute__((visibility("hidden"))) int __wrap_gettimeofday(struct timeval *tv, void *tz);
__attribute__((visibility("hidden"))) time_t __wrap_time(time_t *t);

int __wrap_clock_gettime(clockid_t c, struct timespec *ts)
{
	return chronon__pl_real_gettime(c, ts);
}

int __wrap_clock_getres(clockid_t c, struct timespec *res)
{
	return chronon__pl_real_getres(c, res);
}

int __wrap_gettimeofday(struct timeval *tv, void *tz)
{
	return chronon__pl_real_gettimeofday(tv, tz);
}

time_t __wrap_time(time_t *t)
{
	return chronon__pl_real_time(t);
}
