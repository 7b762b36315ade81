/* The process's own page and timekeeper (in-process mode). */
#ifndef CHRONON_CLOCK_H
#define CHRONON_CLOCK_H

#include "timekeeper.h"

/* Hidden: read on the fast path, so reached PC-relative, not through
 * the GOT (-fvisibility=hidden covers definitions, not declarations). */
#pragma GCC visibility push(hidden)
extern struct chronon__page chronon__proc_page;
extern struct chronon__tk chronon__proc_tk;
#pragma GCC visibility pop

struct chronon_status;
void chronon__status_of(struct chronon__tk *tk, struct chronon_status *st);

#endif
