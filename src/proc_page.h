/*
 * The process's page (proc_page.c): which page the read path uses, the
 * process's own (in-process mode, kept by chronon__proc_tk) or chronond's
 * shared page (shared_page.h finds, checks and maps it).  The fast path is
 * the same in both modes: one pointer load, then chronon__page_read().
 * Every decision (looking for the page, leaving a page that went stale,
 * switching without letting time go back) is taken on the slow path,
 * chronon__read_slow.
 */
#ifndef CHRONON_PROC_PAGE_H
#define CHRONON_PROC_PAGE_H

#include "shm_page.h"
#include "timekeeper.h"
#include "ns.h"

/* Hidden: read on the fast path, so reached PC-relative, not through
 * the GOT (-fvisibility=hidden covers definitions, not declarations). */
#pragma GCC visibility push(hidden)
/* The process's own page and timekeeper, initialised statically so that
 * no first call races an initialiser. */
extern struct chronon__page chronon__proc_page;
extern struct chronon__tk chronon__proc_tk;
/* &chronon__proc_page, or the page inside the mapped shared file. */
extern _Atomic(const struct chronon__page *) chronon__cur_page;
#pragma GCC visibility pop

/* The slow path of every read: the page's trouble, a look, a switch, or
 * the in-process timekeeper's own slow path. */
int64_t chronon__read_slow(enum chronon__ck ck);

/* The page the fast path reads now. */
static inline __attribute__((always_inline)) const struct chronon__page *chronon__page_now(void)
{
	return atomic_load_explicit(&chronon__cur_page, memory_order_acquire);
}

/* A read with the slow path's loops: the process's page may name a
 * simulated counter, a shared page never. */
static inline __attribute__((always_inline)) int64_t chronon__read(enum chronon__ck ck)
{
	int64_t ns;
	const struct chronon__page *pg = chronon__page_now();
	if (pg == &chronon__proc_page) {
		/* Brief spins only: a writer preempted mid-update is the slow
		 * path's business (it waits a bounded while, or answers from
		 * the kernel). */
		if (__builtin_expect(chronon__page_read_from(pg, ck, 1, 0, CHRONON__SEQ_SPINS_BRIEF,
							     &ns) == CHRONON__READ_OK,
				     1))
			return ns;
	} else if (__builtin_expect(chronon__page_read_shared(pg, ck, &ns) == CHRONON__READ_OK, 1)) {
		return ns;
	}
	return chronon__read_slow(ck);
}

struct chronon_status;
/* Overlays the shared page's view on st (filled from the in-process
 * timekeeper) and fills page / page_reason. */
void chronon__shm_status(struct chronon_status *st);
/* The next slow-path read looks for a page at once (not rate-limited). */
void chronon__shm_look_now(void);
/* The shared page in use, or NULL. */
const struct chronon__shm *chronon__shm_active(void);

/* How often a process without a page looks again. */
#define CHRONON__SHM_RELOOK_NS CHRONON__NS

#endif
