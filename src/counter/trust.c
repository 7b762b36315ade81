/* The trust policy (trust.h).  Its rules, in order:
 *   1. A counter the kernel listed earlier in this process and no longer
 *      lists was dropped by the kernel's watchdog: distrusted for good.
 *   2. A counter that was the kernel's current clocksource and no longer
 *      is, replaced by something other than a paravirtual clock that
 *      vouches for it, was switched away from by the kernel or by an
 *      administrator: distrusted.
 *   3. Listed and the kernel's current clocksource: trusted, whatever a
 *      paravirtual page says (the kernel's own vDSO reads it directly).
 *   4. A paravirtual page that says the counter is not stable across CPUs
 *      wins over the rest: the host knows what the guest cannot measure.
 *   5. Listed: trusted (the kernel may keep time with another source,
 *      such as xen or hpet, and still vouch for it).
 *   6. Not listed, but a paravirtual page vouches for it: trusted (a guest
 *      booted with tsc=unstable on kvm-clock, whose vDSO reads the very
 *      same counter through that page).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "trust.h"

#define SYSFS_DIR "/sys/devices/system/clocksource/clocksource0"

const char *chronon__clocksource_dir(void)
{
	const char *d = chronon__config_clocksource_dir();
	return d ? d : SYSFS_DIR;
}

static int vouched_current(const struct chronon__trust_facts *f)
{
	return f->pv == 1 && f->pv_source && strcmp(f->current, f->pv_source) == 0;
}

int chronon__trust(const struct chronon__trust_facts *f, char *reason, size_t len)
{
	if (f->was_listed && f->listed == 0) {
		snprintf(reason, len, "the kernel dropped %s from its clocksources at run time",
			 f->name);
		return 0;
	}
	if (f->was_current && strcmp(f->current, f->name) != 0 && !vouched_current(f)) {
		snprintf(reason, len, "the kernel's clocksource moved from %s to %.24s at run time",
			 f->name, *f->current ? f->current : "(unreadable)");
		return 0;
	}
	if (f->listed == 1 && strcmp(f->current, f->name) == 0) {
		snprintf(reason, len, "invariant %s, the kernel keeps time with it%s%s", f->name,
			 f->pv == 1 ? "; scaled by the host's " : "", f->pv == 1 ? f->pv_name : "");
		return 1;
	}
	if (f->pv < 0) {
		snprintf(reason, len, "the host's %s page says the %s is not stable across CPUs",
			 f->pv_name, f->name);
		return 0;
	}
	if (f->listed == 1) {
		snprintf(reason, len, "invariant %s, trusted by the kernel%s%s", f->name,
			 f->pv == 1 ? "; scaled by the host's " : "", f->pv == 1 ? f->pv_name : "");
		return 1;
	}
	if (f->pv == 1) {
		snprintf(reason, len, "invariant %s, vouched for by the host's %s page (the kernel "
			 "runs on %.24s)", f->name, f->pv_name, *f->current ? f->current : "?");
		return 1;
	}
	if (f->listed < 0)
		snprintf(reason, len, "cannot read the kernel's clocksource list in sysfs");
	else
		snprintf(reason, len, "the kernel does not list %s as a usable clocksource, and no "
			 "paravirtual clock vouches for it", f->name);
	return 0;
}
