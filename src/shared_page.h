/*
 * chronond's page, from a reader's side (shared_page.c): found through
 * chronond's socket, checked and mapped.  Which page the read path uses is
 * proc_page.h's business; this layer knows only the page, the counters and
 * the kernel's clocks.
 */
#ifndef CHRONON_SHARED_PAGE_H
#define CHRONON_SHARED_PAGE_H

#include <stddef.h>

#include "shm_page.h"

/* How long chronond may take to answer a look.  A clock read waits for it
 * at most CHRONON__SHM_ASK_WAIT_US (a chronond that is running answers
 * within that, and the read then needs no calibration of its own); a later
 * read collects a later answer, the process's own timekeeper serving
 * meanwhile. */
#define CHRONON__SHM_ANSWER_MS 500
#define CHRONON__SHM_ASK_WAIT_US 200

/* Opens, checks and maps the page at path read-only; NULL with the reason
 * in why when it is refused (tests and chronond). */
const struct chronon__shm *chronon__shm_map(const char *path, char *why, size_t len);
/* The checks of a mapped (or in-memory) page, header and snapshot. */
int chronon__shm_check(const struct chronon__shm *s, char *why, size_t len);

enum { CHRONON__LOOK_OFF = -1, CHRONON__LOOK_NONE, CHRONON__LOOK_FOUND, CHRONON__LOOK_PENDING };

/* One step of a look for a page (CHRONON_PAGE, else the user's then the
 * system's socket), in steps that never wait unless asked to.
 * CHRONON__LOOK_FOUND with the checked page in *out and its path;
 * CHRONON__LOOK_PENDING (asked, no answer yet); CHRONON__LOOK_NONE with
 * the reason in refusal; CHRONON__LOOK_OFF (the reason in refusal) when
 * disabled.  It waits up to wait_us for the answer of a candidate it has
 * just asked, and for one asked earlier only when patient (chronon_status,
 * not a clock read).  The caller serialises the calls (proc_page.c's
 * switch lock). */
int chronon__shm_look(const struct chronon__shm **out, char *path, size_t len, int64_t wait_us,
		      int patient, char *refusal, size_t rlen);
/* Forgets a look in progress (the next one starts from the first path). */
void chronon__shm_look_reset(void);

/* Upper bounds of what page pg can have handed out, per clock. */
void chronon__shm_bounds(const struct chronon__page *pg, int64_t h[CHRONON__CK_COUNT]);
/* Why a page's fast path failed, or NULL when it is worth one more try
 * (a writer that was merely preempted mid-update). */
const char *chronon__shm_trouble(const struct chronon__shm *s);

#endif
