/* The public clock API's internals (clock.c, status.c). */
#ifndef CHRONON_CLOCK_H
#define CHRONON_CLOCK_H

#include "proc_page.h"

struct chronon_status;
void chronon__status_of(struct chronon__tk *tk, struct chronon_status *st);

#endif
