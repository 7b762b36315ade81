/*
 * Whether the CPU's counter may be trusted to tell time: the kernel's
 * verdict, read at run time, and the host's where a paravirtual clock
 * page speaks for it.  Pure policy over facts gathered elsewhere, so the
 * tests can put every combination to it.
 */
#ifndef CHRONON_COUNTER_TRUST_H
#define CHRONON_COUNTER_TRUST_H

#include <stddef.h>

struct chronon__trust_facts {
	const char *name;       /* the counter's clocksource name ("tsc") */
	int listed;             /* the kernel lists it in available_clocksource; -1 unreadable */
	const char *current;    /* current_clocksource, "" when unreadable */
	int pv;                 /* 1 a paravirtual page vouches for it, 0 none, -1 the page
	                         * exists and says the counter is not stable */
	const char *pv_name;    /* that page's name ("pvclock") */
	const char *pv_source;  /* the clocksource built on it ("kvm-clock") */
	/* What this process saw at earlier looks: the kernel's verdict may
	 * only move against the counter at run time (its watchdog drops a
	 * misbehaving TSC; an administrator moves the clocksource off it). */
	int was_listed;
	int was_current;
};

/* 1 trusted, 0 not; reason says why in a line for chronon_status. */
int chronon__trust(const struct chronon__trust_facts *f, char *reason, size_t len);

/* The directory holding current_clocksource and available_clocksource:
 * the kernel's, or CHRONON_CLOCKSOURCE_DIR (tests: a fake sysfs tree). */
const char *chronon__clocksource_dir(void);

#endif
