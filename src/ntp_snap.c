/*
 * The kernel's NTP state as the page keeps it (struct chronon__ntp_snap,
 * page.h): packed by the writer (tk_publish.c) and by bounded time's
 * kernel modes (bound.c), which reads it.  Below both: it knows the page
 * and the kernel's NTP state, nothing else.
 */
#include <string.h>
#include <sys/timex.h>

#include "ntp_snap.h"

/* The kernel's state k as the page keeps it, with the verdicts made once
 * per resync rather than per read. */
void chronon__ntp_pack(const struct chronon__ntp *k, int known, struct chronon__ntp_snap *v)
{
	memset(v, 0, sizeof *v);
	if (!known)
		return;
	v->info = (uint64_t)k->status | (uint64_t)(uint32_t)k->tai << 32;
	v->flags = CHRONON__NTP_KNOWN;
	if ((k->status & (STA_UNSYNC | STA_CLOCKERR)) || k->state == TIME_ERROR)
		v->flags |= CHRONON__NTP_UNSYNC;
	if (k->tai == 0)
		v->flags |= CHRONON__NTP_TAI_UNSET;
	if (k->status & STA_INS)
		v->flags |= CHRONON__NTP_INS;
	if (k->status & STA_DEL)
		v->flags |= CHRONON__NTP_DEL;
	v->kernel_ns = k->maxerror_us * 1000 + CHRONON__BOUND_STEP_NS;
	v->esterror_ns = k->esterror_us * 1000;
}

/* 500 ppm of the time since `then` (none when then is later: a value
 * already valid before now stays valid, the kernel's maxerror only grows
 * until the daemon sets it). */
static inline __attribute__((always_inline)) int64_t grown(int64_t mono, int64_t then)
{
	int64_t d = mono - then;
	d = d < 0 ? 0 : d;
	return (int64_t)((uint64_t)d / CHRONON__BOUND_GROWTH_DIV);
}

/* +1: a ns the integer division may have dropped. */
void chronon__ntp_rebase(struct chronon__ntp_snap *v, int64_t read_mono, int64_t track,
			   int64_t track_mono, int64_t ref)
{
	v->ref_mono_ns = ref;
	v->kernel_ns += grown(ref, read_mono) + 1;
	v->track_ns = track + grown(ref, track_mono) + 1;
}
