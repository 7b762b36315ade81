/*
 * libchronon-lttng.so: chronon's CLOCK_MONOTONIC as LTTng-UST's trace clock.
 *
 * LTTng-UST reads LTTNG_UST_CLOCK_PLUGIN in every process that links it
 * (traced applications, lttng-sessiond, lttng-consumerd), dlopens the file
 * and calls lttng_ust_clock_plugin_init() before any event is recorded.
 * Everything LTTng later calls through the callbacks must be cheap and
 * safe where a tracepoint may fire (signal handlers, any thread), so all
 * the work that can allocate, block or fail happens here, once, at init.
 *
 * The timebase is exactly the kernel's CLOCK_MONOTONIC in nanoseconds, the
 * one LTTng's built-in clock uses: traces mix with kernel traces and with
 * traces of processes that did not load the plugin, and the sessiond's
 * REALTIME offset converts them to wall time the same way.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lttng/ust-clock.h>

#include "chronon.h"

#define CHRONON_LTTNG_EXPORT __attribute__((visibility("default")))

/* The boot id, 36 characters and a NUL; "" when the kernel gave none. */
static char boot_uuid[LTTNG_UST_UUID_STR_LEN];

static uint64_t kernel_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t chronon_lttng_read64(void)
{
	int64_t ns = chronon_now_ns(CLOCK_MONOTONIC);

	/* chronon serves CLOCK_MONOTONIC in every mode, so this is a guard
	 * against a broken build, not a path taken in practice. */
	if (ns < 0)
		return kernel_monotonic_ns();
	return (uint64_t)ns;
}

static uint64_t chronon_lttng_freq(void)
{
	return 1000000000u; /* read64 counts nanoseconds */
}

static int chronon_lttng_uuid(char *uuid)
{
	memcpy(uuid, boot_uuid, LTTNG_UST_UUID_STR_LEN);
	return 0;
}

/* CTF wants the clock name to be an identifier: it becomes a TSDL name. */
static const char *chronon_lttng_name(void)
{
	return "chronon_monotonic";
}

static const char *chronon_lttng_description(void)
{
	return "chronon: CLOCK_MONOTONIC read from the CPU counter";
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The kernel writes the boot id as 8-4-4-4-12 lower-case hex; accept only
 * that, since LTTng copies it verbatim into the trace's metadata. */
static int is_uuid(const char *s)
{
	for (int i = 0; i < LTTNG_UST_UUID_STR_LEN - 1; i++) {
		int dash = (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash ? s[i] != '-' : !is_hex(s[i]))
			return 0;
	}
	return 1;
}

/* open/read, not stdio: this runs in other programs' constructors. */
static int read_boot_uuid(char *out)
{
	char buf[LTTNG_UST_UUID_STR_LEN + 8];
	size_t got = 0;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (got < sizeof(buf)) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got < LTTNG_UST_UUID_STR_LEN - 1 || !is_uuid(buf))
		return -1;
	memcpy(out, buf, LTTNG_UST_UUID_STR_LEN - 1);
	out[LTTNG_UST_UUID_STR_LEN - 1] = '\0';
	return 0;
}

static void complain(const char *what)
{
	static const char head[] = "libchronon-lttng: ";
	ssize_t r;

	r = write(STDERR_FILENO, head, sizeof(head) - 1);
	r = write(STDERR_FILENO, what, strlen(what));
	r = write(STDERR_FILENO, "\n", 1);
	(void)r;
}

CHRONON_LTTNG_EXPORT void lttng_ust_clock_plugin_init(void);

void lttng_ust_clock_plugin_init(void)
{
	/* The first read sets chronon up (it may allocate or take locks);
	 * do it here rather than inside the first tracepoint. */
	(void)chronon_lttng_read64();

	/* Without a boot id LTTng's own callback would fail the same way;
	 * leaving ours unset lets it report that as it always does. */
	if (read_boot_uuid(boot_uuid) == 0 &&
	    lttng_ust_trace_clock_set_uuid_cb(chronon_lttng_uuid) != 0) {
		complain("cannot set the uuid callback (another clock plugin?)");
		return;
	}
	if (lttng_ust_trace_clock_set_read64_cb(chronon_lttng_read64) != 0 ||
	    lttng_ust_trace_clock_set_freq_cb(chronon_lttng_freq) != 0 ||
	    lttng_ust_trace_clock_set_name_cb(chronon_lttng_name) != 0 ||
	    lttng_ust_trace_clock_set_description_cb(chronon_lttng_description) != 0 ||
	    lttng_ust_enable_trace_clock_override() != 0)
		complain("cannot install the clock override; LTTng keeps its own clock");
}
