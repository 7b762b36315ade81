/*
 * chronon status: what chronon_status() reports, next to what the kernel
 * says about its own clock (the clocksource in sysfs, the NTP state from
 * adjtimex in read-only mode).  The process reads the clock for a moment
 * first: a process's first reads are served by the kernel while the
 * counter's rate is measured, and the interesting state is the one a
 * running program sees.
 */
#include "json.h"
#include "tool.h"

#include <chronon.h>

#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

#define CMD "status"
#define SYSFS_CLOCKSOURCE "/sys/devices/system/clocksource/clocksource0/"

struct kernel_state {
	char current[64];
	char available[256];
	int ntp_ok;          /* adjtimex answered */
	int ntp_state;       /* TIME_OK, TIME_ERROR, ... */
	struct timex tx;
};

static void help(void)
{
	printf("usage: chronon status [--warmup MS] [--json]\n\n"
	       "Shows the counter chronon reads and every counter it knows with its quality and\n"
	       "why it was or was not chosen; the frequency and where it came from; mult/shift;\n"
	       "the mode and the reason for any fallback to the kernel; the time page; the last\n"
	       "resync against the kernel; the kernel's clocksource; the kernel's NTP state\n"
	       "(adjtimex with modes = 0: read-only).\n\n"
	       "  --warmup MS  read CLOCK_MONOTONIC for MS milliseconds first so the status is\n"
	       "               the calibrated one a running program sees (default 50; 0 shows\n"
	       "               the cold start)\n"
	       "  --json       one JSON object instead of text\n\n"
	       "Exit status: 0 ok, 1 chronon_status failed, 2 bad usage.\n");
}

/* One line of a sysfs file, newline removed; "" when unreadable. */
static void read_line(const char *path, char *buf, size_t len)
{
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	size_t n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
}

static void read_kernel(struct kernel_state *k)
{
	memset(k, 0, sizeof *k);
	read_line(SYSFS_CLOCKSOURCE "current_clocksource", k->current, sizeof k->current);
	read_line(SYSFS_CLOCKSOURCE "available_clocksource", k->available, sizeof k->available);
	/* modes = 0: a query, allowed without privilege; it changes nothing. */
	k->tx.modes = 0;
	k->ntp_state = adjtimex(&k->tx);
	k->ntp_ok = k->ntp_state != -1;
}

static int ntp_synced(const struct kernel_state *k)
{
	return k->ntp_ok && !(k->tx.status & STA_UNSYNC) && k->ntp_state != TIME_ERROR;
}

static const char *ntp_state_name(int s)
{
	switch (s) {
	case TIME_OK: return "TIME_OK";
	case TIME_INS: return "TIME_INS";
	case TIME_DEL: return "TIME_DEL";
	case TIME_OOP: return "TIME_OOP";
	case TIME_WAIT: return "TIME_WAIT";
	case TIME_ERROR: return "TIME_ERROR";
	default: return "unknown";
	}
}

/* adjtimex's freq is ppm with 16 fractional bits. */
static double ntp_freq_ppm(const struct timex *tx) { return (double)tx->freq / 65536.0; }

static void print_counters(const struct chronon_status *st)
{
	printf("\nregistered counters ('chosen' marks the one in use):\n");
	printf("  %-10s %7s %6s %6s  %s\n", "name", "quality", "usable", "chosen", "reason");
	for (int i = 0; i < st->ncounters && i < CHRONON_MAX_COUNTERS; i++) {
		const struct chronon_counter_info *c = &st->counters[i];
		printf("  %-10.16s %7d %6s %6s  %.96s\n", c->name, c->quality, c->usable ? "yes" : "no",
		       c->chosen ? "yes" : "no", c->reason);
	}
}

static void print_kernel(const struct kernel_state *k)
{
	printf("\nkernel:\n");
	printf("  current clocksource    %s\n", k->current[0] ? k->current : "(unreadable)");
	printf("  available clocksources %s\n", k->available[0] ? k->available : "(unreadable)");
	if (!k->ntp_ok) {
		printf("  NTP                    adjtimex failed\n");
		return;
	}
	printf("  NTP                    %s (%s, status %#x)\n",
	       ntp_synced(k) ? "synchronised" : "not synchronised (STA_UNSYNC)", ntp_state_name(k->ntp_state),
	       (unsigned)k->tx.status);
	printf("  maxerror / esterror    %ld us / %ld us\n", (long)k->tx.maxerror, (long)k->tx.esterror);
	printf("  frequency offset       %+.3f ppm\n", ntp_freq_ppm(&k->tx));
	printf("  TAI offset             %d s\n", k->tx.tai);
}

/* The bounded time (chronon_now_bounded): the interval's half-width, or
 * why none is claimed; `chronon bound` has the detail. */
static void print_bound(void)
{
	struct chronon_bound b;
	if (chronon_now_bounded(CLOCK_REALTIME, &b) != 0) {
		printf("bound            unavailable\n");
		return;
	}
	if (b.status == CHRONON_BOUND_SYNCHRONISED)
		printf("bound            REALTIME synchronised, +-%.3f us (kernel maxerror %.3f us, "
		       "tracking %lld ns)\n",
		       (double)(b.latest_ns - b.now_ns) / 1e3, (double)b.kernel_maxerror_ns / 1e3,
		       (long long)b.tracking_ns);
	else
		printf("bound            REALTIME %s: no interval is claimed (see chronon bound)\n",
		       chronon__bound_status_name(b.status));
}

static void json_bound(struct chronon__json *j)
{
	struct chronon_bound b;
	int ok = chronon_now_bounded(CLOCK_REALTIME, &b) == 0;
	chronon__json_object(j, "bound");
	chronon__json_str(j, "status", ok ? chronon__bound_status_name(b.status) : "unavailable");
	chronon__json_int(j, "half_width_ns",
			  ok && b.status == CHRONON_BOUND_SYNCHRONISED ? b.latest_ns - b.now_ns : -1);
	chronon__json_close(j);
}

static void print_text(const struct chronon_status *st, const struct kernel_state *k, long warmup_ms)
{
	if (warmup_ms > 0)
		printf("(after reading CLOCK_MONOTONIC for %ld ms, so this is the calibrated state)\n\n", warmup_ms);
	else
		printf("(no warm-up: this is the state of a process's first read)\n\n");
	printf("counter          %s\n", st->counter);
	printf("mode             %s%s%s\n", st->mode_name, st->fallback_reason[0] ? ": " : "", st->fallback_reason);
	printf("frequency        %.6f MHz (%llu Hz), source %s", (double)st->frequency_hz / 1e6,
	       (unsigned long long)st->frequency_hz, st->frequency_source);
	if (st->nominal_hz)
		printf(", nominal %llu Hz (%+.1f ppm)\n", (unsigned long long)st->nominal_hz,
		       ((double)st->frequency_hz - (double)st->nominal_hz) / (double)st->nominal_hz * 1e6);
	else
		printf(", no nominal figure from the machine\n");
	printf("mult / shift     %u / %u  (ns = cycles * mult >> shift)\n", st->mult, st->shift);
	if (st->paravirt[0])
		printf("paravirt clock   %s page, version %u, rewritten %llu times by the host so far\n",
		       st->paravirt, st->paravirt_version, (unsigned long long)st->paravirt_changes);
	else
		printf("paravirt clock   none readable in this process\n");
	printf("page             %s%s%s\n", st->page, st->page_reason[0] ? ": " : "", st->page_reason);
	if (st->resync_age_ns < 0)
		printf("resync           never\n");
	else
		printf("resync           %.3f ms ago, kernel - chronon %+lld ns (measured within %lld ns)\n",
		       (double)st->resync_age_ns / 1e6, (long long)st->resync_error_ns,
		       (long long)st->resync_width_ns);
	printf("events           %llu resyncs, %llu steps, %llu realtime steps, %llu suspends\n",
	       (unsigned long long)st->resyncs, (unsigned long long)st->steps,
	       (unsigned long long)st->realtime_steps, (unsigned long long)st->suspends);
	print_counters(st);
	print_kernel(k);
	print_bound();
}

static void json_kernel(struct chronon__json *j, const struct kernel_state *k)
{
	chronon__json_object(j, "kernel");
	chronon__json_str(j, "current_clocksource", k->current);
	chronon__json_str(j, "available_clocksource", k->available);
	chronon__json_object(j, "ntp");
	chronon__json_bool(j, "ok", k->ntp_ok);
	chronon__json_bool(j, "synchronised", ntp_synced(k));
	chronon__json_str(j, "state", k->ntp_ok ? ntp_state_name(k->ntp_state) : "");
	chronon__json_int(j, "status", k->tx.status);
	chronon__json_int(j, "maxerror_us", k->tx.maxerror);
	chronon__json_int(j, "esterror_us", k->tx.esterror);
	chronon__json_double(j, "freq_ppm", ntp_freq_ppm(&k->tx));
	chronon__json_int(j, "tai_s", k->tx.tai);
	chronon__json_close(j);
	chronon__json_close(j);
}

static void print_json(const struct chronon_status *st, const struct kernel_state *k, long warmup_ms)
{
	struct chronon__json j;
	chronon__json_begin(&j, stdout);
	chronon__json_int(&j, "warmup_ms", warmup_ms);
	chronon__json_str(&j, "counter", st->counter);
	chronon__json_uint(&j, "frequency_hz", st->frequency_hz);
	chronon__json_uint(&j, "nominal_hz", st->nominal_hz);
	chronon__json_str(&j, "frequency_source", st->frequency_source);
	chronon__json_uint(&j, "mult", st->mult);
	chronon__json_str(&j, "paravirt", st->paravirt);
	chronon__json_uint(&j, "paravirt_version", st->paravirt_version);
	chronon__json_uint(&j, "paravirt_changes", st->paravirt_changes);
	chronon__json_uint(&j, "shift", st->shift);
	chronon__json_str(&j, "mode", st->mode_name);
	chronon__json_str(&j, "fallback_reason", st->fallback_reason);
	chronon__json_str(&j, "page", st->page);
	chronon__json_str(&j, "page_reason", st->page_reason);
	chronon__json_int(&j, "resync_age_ns", st->resync_age_ns);
	chronon__json_int(&j, "resync_error_ns", st->resync_error_ns);
	chronon__json_int(&j, "resync_width_ns", st->resync_width_ns);
	chronon__json_uint(&j, "resyncs", st->resyncs);
	chronon__json_uint(&j, "steps", st->steps);
	chronon__json_uint(&j, "realtime_steps", st->realtime_steps);
	chronon__json_uint(&j, "suspends", st->suspends);
	json_bound(&j);
	chronon__json_array(&j, "counters");
	for (int i = 0; i < st->ncounters && i < CHRONON_MAX_COUNTERS; i++) {
		const struct chronon_counter_info *c = &st->counters[i];
		chronon__json_object(&j, NULL);
		chronon__json_str(&j, "name", c->name);
		chronon__json_int(&j, "quality", c->quality);
		chronon__json_bool(&j, "usable", c->usable);
		chronon__json_bool(&j, "chosen", c->chosen);
		chronon__json_str(&j, "reason", c->reason);
		chronon__json_close(&j);
	}
	chronon__json_close(&j);
	json_kernel(&j, k);
	chronon__json_end(&j);
}

/* Fixed-size strings from the library are copied with a guaranteed NUL. */
static void terminate_strings(struct chronon_status *st)
{
	st->counter[sizeof st->counter - 1] = '\0';
	st->frequency_source[sizeof st->frequency_source - 1] = '\0';
	st->mode_name[sizeof st->mode_name - 1] = '\0';
	st->fallback_reason[sizeof st->fallback_reason - 1] = '\0';
	st->page[sizeof st->page - 1] = '\0';
	st->page_reason[sizeof st->page_reason - 1] = '\0';
	for (int i = 0; i < CHRONON_MAX_COUNTERS; i++) {
		st->counters[i].name[sizeof st->counters[i].name - 1] = '\0';
		st->counters[i].reason[sizeof st->counters[i].reason - 1] = '\0';
	}
}

int chronon__cmd_status(int argc, char **argv)
{
	struct chronon__tool_report r;
	int rc = chronon__tool_report_args(CMD, argc, argv, help, NULL, NULL, &r);
	if (rc >= 0)
		return rc;
	chronon__tool_warm_up(CLOCK_MONOTONIC, r.warmup_ms);
	struct chronon_status st;
	memset(&st, 0, sizeof st);
	if (chronon_status(&st) != 0) {
		perror("chronon: status: chronon_status");
		return TOOL_FAILED;
	}
	terminate_strings(&st);
	struct kernel_state k;
	read_kernel(&k);
	if (r.json)
		print_json(&st, &k, r.warmup_ms);
	else
		print_text(&st, &k, r.warmup_ms);
	return TOOL_OK;
}
