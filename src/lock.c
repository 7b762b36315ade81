/* The work lock (lock.h): who holds it, and a holder that cannot be
 * stopped half-way. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lock.h"

/*
 * This memory image's id, in a page the kernel zeroes in a fork child
 * (MADV_WIPEONFORK) and shares with vfork and CLONE_VM children.  The id
 * is the pid of the first task that took a lock in the image: unique
 * among live images.  Set up on the first lock, never on the fast path.
 * libc's fork also zeroes it (pthread_atfork), for where madvise is
 * accepted but not done (qemu user-mode emulation ignores it).
 */
#define NO_WIPE ((_Atomic uint32_t *)1)
static _Atomic(_Atomic uint32_t *) image_slot;

static _Atomic uint32_t *image_page(void)
{
	_Atomic uint32_t *p = atomic_load_explicit(&image_slot, memory_order_acquire);
	if (p)
		return p;
	long size = sysconf(_SC_PAGESIZE);
	void *m = mmap(NULL, (size_t)(size > 0 ? size : 4096), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	_Atomic uint32_t *mine = NO_WIPE;
	if (m != MAP_FAILED) {
#ifdef MADV_WIPEONFORK
		if (madvise(m, (size_t)(size > 0 ? size : 4096), MADV_WIPEONFORK) == 0)
			mine = m;
		else
#endif
			munmap(m, (size_t)(size > 0 ? size : 4096));
	}
	if (!atomic_compare_exchange_strong_explicit(&image_slot, &p, mine, memory_order_acq_rel,
						     memory_order_acquire)) {
		if (mine != NO_WIPE)
			munmap((void *)mine, (size_t)(size > 0 ? size : 4096));
		return p;
	}
	return mine;
}

static void forked_child(void)
{
	_Atomic uint32_t *p = atomic_load_explicit(&image_slot, memory_order_relaxed);
	if (p && p != NO_WIPE)
		atomic_store_explicit(p, 0, memory_order_relaxed);
}

/* At load time: pthread_atfork may allocate, which the first lock (maybe
 * in a signal handler) must not. */
__attribute__((constructor)) static void lock_at_load(void)
{
	pthread_atfork(NULL, NULL, forked_child);
}

static uint32_t image_id(void)
{
	_Atomic uint32_t *p = image_page();
	if (p == NO_WIPE)
		return (uint32_t)getpid();
	uint32_t id = atomic_load_explicit(p, memory_order_acquire);
	if (id == 0) {
		uint32_t pid = (uint32_t)getpid();
		if (atomic_compare_exchange_strong_explicit(p, &id, pid, memory_order_acq_rel,
							    memory_order_acquire))
			id = pid;
	}
	return id;
}

uint64_t chronon__lock_word(void)
{
	return (uint64_t)image_id() << 32 | (uint32_t)gettid();
}

/* Whether the holder cur can no longer be doing the work (lock.h). */
static int left_behind(uint64_t cur, uint64_t me, int reap)
{
	if (cur >> 32 != me >> 32 || cur == me)
		return 1;
	if (!reap)
		return 0;
	return kill((pid_t)(uint32_t)cur, 0) != 0 && errno == ESRCH;
}

static void shield(struct chronon__lock_held *h)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &h->mask);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &h->cancel);
}

static void unshield(struct chronon__lock_held *h)
{
	int ignored;
	pthread_setcancelstate(h->cancel, &ignored);
	pthread_sigmask(SIG_SETMASK, &h->mask, NULL);
}

int chronon__lock_try(_Atomic uint64_t *lock, struct chronon__lock_held *h, int *stolen, int reap)
{
	uint64_t me = chronon__lock_word();
	uint64_t cur = atomic_load_explicit(lock, memory_order_relaxed);
	*stolen = 0;
	/* A live holder costs no system call beyond the thread id. */
	if (cur != 0 && !left_behind(cur, me, reap))
		return CHRONON__LOCK_OTHER;
	shield(h);
	if (!atomic_compare_exchange_strong_explicit(lock, &cur, me, memory_order_acquire,
						     memory_order_relaxed)) {
		unshield(h);
		return CHRONON__LOCK_OTHER;
	}
	*stolen = cur != 0;
	return CHRONON__LOCK_TAKEN;
}

void chronon__lock_release(_Atomic uint64_t *lock, struct chronon__lock_held *h)
{
	atomic_store_explicit(lock, 0, memory_order_release);
	unshield(h);
}
