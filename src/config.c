/* Policy from the environment (config.h): the one file that reads it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"

static const char *value(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

void chronon__config_printable(char *dst, size_t len, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < len; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = 0;
}

const char *chronon__config_counter(void)
{
	return value("CHRONON_COUNTER");
}

enum chronon__order chronon__config_order(char *shown, size_t len)
{
	const char *v = value("CHRONON_ORDER");
	if (!v || strcmp(v, "ordered") == 0)
		return CHRONON__ORDER_ORDERED;
	if (strcmp(v, "relaxed") == 0)
		return CHRONON__ORDER_RELAXED;
	chronon__config_printable(shown, len, v);
	return CHRONON__ORDER_UNKNOWN;
}

enum chronon__page_choice chronon__config_page(const char **path, size_t max, char *why,
					       size_t len)
{
	/* secure_getenv: a set-id program must not be sent to a page of
	 * its caller's choosing. */
	const char *env = secure_getenv("CHRONON_PAGE");
	*path = NULL;
	if (!env || !*env)
		return CHRONON__PAGE_DEFAULT;
	if (strcmp(env, "off") == 0) {
		snprintf(why, len, "disabled by CHRONON_PAGE=off");
		return CHRONON__PAGE_REFUSED;
	}
	if (env[0] != '/' || strlen(env) >= max) {
		snprintf(why, len, "CHRONON_PAGE=%.60s ignored: not an absolute path or off", env);
		return CHRONON__PAGE_REFUSED;
	}
	*path = env;
	return CHRONON__PAGE_PATH;
}

const char *chronon__config_runtime_dir(void)
{
	const char *xdg = geteuid() != 0 ? secure_getenv("XDG_RUNTIME_DIR") : NULL;
	return xdg && xdg[0] == '/' ? xdg : NULL;
}

int chronon__config_paravirt_off(void)
{
	const char *v = getenv("CHRONON_PARAVIRT");
	return v && strcmp(v, "off") == 0;
}

const char *chronon__config_clocksource_dir(void)
{
	const char *d = getenv("CHRONON_CLOCKSOURCE_DIR");
	return d && *d == '/' ? d : NULL;
}

/* A whole decimal number, nothing else: "1e3", "10us", " 5" are refused
 * rather than half-understood. */
static int parse_spin(const char *text, int64_t *out)
{
	char *end;
	long long v;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > CHRONON_SLEEP_MAX_SPIN_LIMIT_NS)
		return -1;
	*out = v;
	return 0;
}

static int parse_mode(const char *text, enum chronon_sleep_mode *out)
{
	static const struct { const char *name; enum chronon_sleep_mode mode; } names[] = {
		{ "spin", CHRONON_SLEEP_SPIN },
		{ "slack", CHRONON_SLEEP_SLACK },
		{ "kernel", CHRONON_SLEEP_KERNEL },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcasecmp(text, names[i].name) == 0) {
			*out = names[i].mode;
			return 0;
		}
	}
	return -1;
}

void chronon__config_sleep(enum chronon_sleep_mode *mode, int64_t *spin, char *bad_mode,
			   char *bad_spin, size_t len)
{
	const char *text;

	bad_mode[0] = bad_spin[0] = 0;
	text = getenv("CHRONON_SLEEP_MODE");
	if (text && parse_mode(text, mode) != 0)
		snprintf(bad_mode, len, "ignoring CHRONON_SLEEP_MODE=\"%s\": "
			 "expected spin, slack or kernel", text);
	text = getenv("CHRONON_SLEEP_SPIN_NS");
	if (text && parse_spin(text, spin) != 0)
		snprintf(bad_spin, len, "ignoring CHRONON_SLEEP_SPIN_NS=\"%s\": "
			 "expected a whole number of nanoseconds, 0..%lld",
			 text, (long long)CHRONON_SLEEP_MAX_SPIN_LIMIT_NS);
}
