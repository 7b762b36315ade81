/* The counter registry: which counters exist, and which one wins. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "config.h"
#include "counter.h"

const struct chronon__counter *const *chronon__counters(void)
{
	static const struct chronon__counter *list[CHRONON__NCOUNTERS_MAX + 1];
	static int filled;
	/* Idempotent and race-free in effect: every thread writes the same
	 * pointers, and readers only look after filling it themselves. */
	if (!__atomic_load_n(&filled, __ATOMIC_ACQUIRE)) {
		int n = 0;
		const struct chronon__counter *arch = chronon__counter_arch();
		if (arch)
			__atomic_store_n(&list[n++], arch, __ATOMIC_RELAXED);
		__atomic_store_n(&list[n++], &chronon__counter_kernel, __ATOMIC_RELAXED);
		__atomic_store_n(&filled, 1, __ATOMIC_RELEASE);
	}
	return list;
}

uint64_t chronon__counter_read(const struct chronon__counter *c, unsigned variant)
{
	return c->read(variant);
}

static const struct chronon__counter *by_name(const char *name)
{
	const struct chronon__counter *const *l = chronon__counters();
	for (; *l; l++)
		if (strcmp((*l)->name, name) == 0)
			return *l;
	return NULL;
}

/* A forced counter is still refused when reading it would fault: forcing
 * must never turn into a crash. */
static int forced_ok(const struct chronon__probe *p)
{
	return p->usable || !p->cannot_read;
}

void chronon__counter_choose(struct chronon__choice *out)
{
	memset(out, 0, sizeof *out);
	const char *want = chronon__config_counter();
	if (want) {
		const struct chronon__counter *c = by_name(want);
		char shown[41];
		chronon__config_printable(shown, sizeof shown, want);
		if (!c) {
			snprintf(out->note, sizeof out->note,
				 "CHRONON_COUNTER=%s ignored: no such counter", shown);
		} else {
			c->probe(&out->probe);
			if (forced_ok(&out->probe)) {
				out->counter = c;
				out->forced = c->id != CHRONON__CTR_KERNEL;
				if (c->id == CHRONON__CTR_KERNEL)
					snprintf(out->note, sizeof out->note,
						 "CHRONON_COUNTER=kernel asks for the kernel's clock");
				else if (!out->probe.usable)
					snprintf(out->note, sizeof out->note,
						 "forced by CHRONON_COUNTER although: %.60s",
						 out->probe.reason);
				out->probe.usable = 1;
				return;
			}
			snprintf(out->note, sizeof out->note, "CHRONON_COUNTER=%s refused: %.60s",
				 shown, out->probe.reason);
		}
	}
	const struct chronon__counter *const *l = chronon__counters();
	const struct chronon__counter *best = NULL;
	struct chronon__probe bp = {0};
	for (; *l; l++) {
		struct chronon__probe p;
		(*l)->probe(&p);
		if (p.usable && (!best || (*l)->quality > best->quality)) {
			best = *l;
			bp = p;
		}
	}
	out->counter = best;
	out->probe = bp;
}
