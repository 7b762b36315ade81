/*
 * The one table of the clocks the time page serves: clock id, the page's
 * index for it (enum chronon__ck, page.h) and its name.  Every file that
 * maps one to another goes through here (clocks.c holds the table).
 */
#ifndef CHRONON_CLOCKS_H
#define CHRONON_CLOCKS_H

#include <time.h>

#include "page.h"

/* Hidden: read on the fast path, so reached PC-relative, not through
 * the GOT (-fvisibility=hidden covers definitions, not declarations). */
#pragma GCC visibility push(hidden)
/* Clock id -> page index, -1 for the ids the page does not serve (the
 * coarse clocks among them: see README, "coarse clocks"). */
extern const signed char chronon__ck_of_id[12];
/* Page index -> clock id, and -> its name as people write it. */
extern const clockid_t chronon__ck_ids[CHRONON__CK_COUNT];
extern const char *const chronon__ck_names[CHRONON__CK_COUNT];
#pragma GCC visibility pop

/* The page's index for clock, or -1 when the page does not serve it. */
static inline __attribute__((always_inline)) int chronon__ck_served(clockid_t clock)
{
	return (unsigned)clock < sizeof chronon__ck_of_id ? chronon__ck_of_id[clock] : -1;
}

static inline clockid_t chronon__ck_clockid(enum chronon__ck ck)
{
	return chronon__ck_ids[ck];
}

static inline const char *chronon__ck_name(enum chronon__ck ck)
{
	return chronon__ck_names[ck];
}

#endif
