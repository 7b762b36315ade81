/*
 * The try-lock that guards work one reader does for all (the timekeeper's
 * resync, the switch between pages).  Readers never wait on it for long:
 * a reader that finds it held answers some other way.
 *
 * Whoever holds it cannot be stopped half-way: the holder runs with every
 * signal blocked and cancellation disabled, so neither a signal handler
 * that leaves with siglongjmp nor pthread_cancel at one of the work's
 * cancellation points (open, read) can abandon the work with the lock
 * held.  The lock word names the holder: the memory image it runs in and
 * its thread id.
 *
 *   - Held in another memory image: the lock was copied by fork from a
 *     process whose holder is not in this one; it is taken over, and the
 *     half-done work discarded (*stolen).  Fork copies are told from
 *     shared memory (vfork, clone with CLONE_VM) by a page the kernel
 *     wipes in a fork child (MADV_WIPEONFORK): a task that shares this
 *     memory is a rival writer, never a ghost.
 *   - Held by this very thread: impossible while the holder runs (its
 *     signals are blocked), so it was left behind: taken over.
 *   - Held by another task of this memory image: LOCK_OTHER.  After a
 *     caller has waited, it may ask with reap set whether that task still
 *     exists (kill(tid, 0)); one that does not is taken over.
 *
 * A kernel without MADV_WIPEONFORK (before 4.14) falls back to the
 * process id as the image: fork copies are still taken over, but a vfork
 * child could take a lock its parent's thread holds.
 */
#ifndef CHRONON_LOCK_H
#define CHRONON_LOCK_H

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

enum { CHRONON__LOCK_TAKEN, CHRONON__LOCK_OTHER };

/* What a holder restores when it lets go (its own stack). */
struct chronon__lock_held {
	sigset_t mask;
	int cancel;
};

/* Tries once.  LOCK_TAKEN with *stolen set when a previous holder's work
 * was abandoned; LOCK_OTHER when another live task holds it. */
int chronon__lock_try(_Atomic uint64_t *lock, struct chronon__lock_held *h, int *stolen, int reap);
void chronon__lock_release(_Atomic uint64_t *lock, struct chronon__lock_held *h);

/* The lock word this thread would write (for tests). */
uint64_t chronon__lock_word(void);

#endif
