/* The process's own page and timekeeper (in-process mode). */
#ifndef CHRONON_CLOCK_H
#define CHRONON_CLOCK_H

#include "timekeeper.h"

extern struct chronon__page chronon__proc_page;
extern struct chronon__tk chronon__proc_tk;

struct chronon_status;
void chronon__status_of(struct chronon__tk *tk, struct chronon_status *st);

#endif
