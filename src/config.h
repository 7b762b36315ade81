/*
 * Policy from the environment, in one place (config.c): every variable
 * the library reads, parsed here and nowhere else, with what a refusal
 * says.  The deciding stays with the callers (which counter, which page,
 * which sleep); refusals reach chronon_status through their notes, and
 * the sleep settings' through sleep.c's one line on stderr (README).
 *
 * Each accessor reads its variable when asked, at the point the decision
 * is taken, as the library always has: a program (or a test) that sets a
 * variable after the library's first use but before that decision is
 * obeyed.  Only getenv and secure_getenv are called (no allocation, no
 * lock), so the slow path that asks stays safe in a signal handler.
 */
#ifndef CHRONON_CONFIG_H
#define CHRONON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "chronon.h"

/* CHRONON_COUNTER: the counter asked for by name, or NULL (unset or
 * empty). */
const char *chronon__config_counter(void);

/* CHRONON_ORDER: ordered (unset, empty or "ordered"), relaxed, or a value
 * that is neither (shown, printable, in shown). */
enum chronon__order {
	CHRONON__ORDER_ORDERED,
	CHRONON__ORDER_RELAXED,
	CHRONON__ORDER_UNKNOWN,
};
enum chronon__order chronon__config_order(char *shown, size_t len);

/* CHRONON_PAGE (read with secure_getenv): CHRONON__PAGE_DEFAULT when
 * unset or empty; CHRONON__PAGE_PATH with the absolute path in *path;
 * CHRONON__PAGE_REFUSED with the reason in why ("off", or a value that is
 * not an absolute path). */
enum chronon__page_choice {
	CHRONON__PAGE_REFUSED = -1,
	CHRONON__PAGE_DEFAULT,
	CHRONON__PAGE_PATH,
};
enum chronon__page_choice chronon__config_page(const char **path, size_t max, char *why,
					       size_t len);

/* XDG_RUNTIME_DIR (secure_getenv) when it is absolute and this process
 * is not root, else NULL: where a user's chronond puts its socket. */
const char *chronon__config_runtime_dir(void);

/* CHRONON_PARAVIRT=off: 1 when the host's paravirtual pages are not to be
 * asked. */
int chronon__config_paravirt_off(void);

/* CHRONON_CLOCKSOURCE_DIR when absolute (a test's fake sysfs), else
 * NULL: a relative path is ignored. */
const char *chronon__config_clocksource_dir(void);

/* CHRONON_SLEEP_MODE and CHRONON_SLEEP_SPIN_NS over the defaults already
 * in *mode and *spin.  A value that cannot be used leaves its default and
 * is named, one line each, in bad_mode / bad_spin (empty when fine). */
void chronon__config_sleep(enum chronon_sleep_mode *mode, int64_t *spin, char *bad_mode,
			   char *bad_spin, size_t len);

/* An environment value as it may appear in a status line: printable,
 * bounded. */
void chronon__config_printable(char *dst, size_t len, const char *src);

#endif
