/*
 * chronon bound: the current bounded time, an interval that contains true
 * time (chronon_now_bounded), and what it is made of.  When the kernel is
 * not synchronised it says so plainly and claims no interval.
 */
#include "json.h"
#include "tool.h"

#include <chronon.h>

#include <stdio.h>
#include <string.h>
#include <sys/timex.h>

#define CMD "bound"

static void help(void)
{
	printf("usage: chronon bound [--tai] [--warmup MS] [--json]\n\n"
	       "Prints an interval [earliest, latest] that contains true time, as Spanner's\n"
	       "TrueTime or AWS ClockBound do: the kernel's own error bound (adjtimex maxerror,\n"
	       "kept by chrony or ntpd, grown by 500 ppm since it was read) plus how far\n"
	       "chronon's reading may be from the kernel's.  When the kernel says its clock is\n"
	       "not synchronised (STA_UNSYNC: no NTP daemon, or the clock was set by hand) no\n"
	       "interval is claimed.  The NTP state is only read (adjtimex with modes = 0).\n\n"
	       "  --tai        CLOCK_TAI instead of CLOCK_REALTIME (needs the kernel's TAI offset,\n"
	       "               which an NTP daemon sets)\n"
	       "  --warmup MS  read the clock for MS milliseconds first, so the answer is the\n"
	       "               one a running program gets (default 50)\n"
	       "  --json       one JSON object instead of text\n\n"
	       "Exit status: 0 printed (whatever the status), 2 bad usage.\n");
}

const char *chronon__bound_status_name(enum chronon_bound_status s)
{
	switch (s) {
	case CHRONON_BOUND_SYNCHRONISED: return "synchronised";
	case CHRONON_BOUND_UNSYNCHRONISED: return "unsynchronised";
	default: return "unknown";
	}
}

static const char *status_text(const struct chronon_bound *b)
{
	switch (b->status) {
	case CHRONON_BOUND_SYNCHRONISED:
		return "synchronised: true time lies within [earliest, latest]";
	case CHRONON_BOUND_UNSYNCHRONISED:
		return "UNSYNCHRONISED: the kernel says its clock is not synchronised (no NTP\n"
		       "            daemon keeps it, or it was set by hand): no interval is claimed";
	default:
		return b->clock == CLOCK_TAI && b->tai_offset_s == 0
			       ? "UNKNOWN: the kernel's TAI offset was never set (CLOCK_TAI is UTC): no\n"
				 "            interval is claimed"
			       : "UNKNOWN: the kernel's NTP state cannot be read: no interval is claimed";
	}
}

/* ns since the epoch as a calendar date in the clock's own scale. */
static void print_time(const char *label, int64_t ns, const char *scale)
{
	struct timespec ts;
	chronon__ns_to_timespec(ns, &ts);
	time_t t = ts.tv_sec;
	struct tm tm;
	char buf[64];
	if (gmtime_r(&t, &tm) && strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm))
		printf("  %-10s%s.%09ld %s  (%lld ns)\n", label, buf, ts.tv_nsec, scale, (long long)ns);
	else
		printf("  %-10s%lld ns\n", label, (long long)ns);
}

/* A duration with a unit a person reads at a glance. */
static void print_dur(int64_t ns)
{
	if (ns >= CHRONON__NS)
		printf("%.6f s", (double)ns / (double)CHRONON__NS);
	else if (ns >= 1000000)
		printf("%.3f ms", (double)ns / 1e6);
	else if (ns >= 1000)
		printf("%.3f us", (double)ns / 1e3);
	else
		printf("%lld ns", (long long)ns);
}

static void print_text(const struct chronon_bound *b)
{
	const char *scale = b->clock == CLOCK_TAI ? "TAI" : "UTC";
	printf("chronon bound: %s\n", b->clock == CLOCK_TAI ? "CLOCK_TAI" : "CLOCK_REALTIME");
	printf("  %-10s%s\n", "status", status_text(b));
	print_time("now", b->now_ns, scale);
	if (b->status == CHRONON_BOUND_SYNCHRONISED) {
		print_time("earliest", b->earliest_ns, scale);
		print_time("latest", b->latest_ns, scale);
		printf("  %-10s-", "width");
		print_dur(b->now_ns - b->earliest_ns);
		printf(" / +");
		print_dur(b->latest_ns - b->now_ns);
		printf("\n");
	} else {
		printf("  %-10s-infinity\n  %-10s+infinity\n", "earliest", "latest");
	}
	printf("  %-10skernel maxerror ", "error");
	print_dur(b->kernel_maxerror_ns);
	printf(" + tracking ");
	print_dur(b->tracking_ns);
	printf(" + read ");
	print_dur(b->read_ns);
	if (b->leap_ns) {
		printf(" + leap second pending ");
		print_dur(b->leap_ns);
	}
	printf("\n  %-10sstatus %#x%s, esterror ", "kernel", (unsigned)b->kernel_status,
	       b->kernel_status & STA_UNSYNC ? " (STA_UNSYNC)" : "");
	print_dur(b->kernel_esterror_ns);
	printf(", TAI offset %d s\n", (int)b->tai_offset_s);
}

static void print_json(const struct chronon_bound *b, long warmup_ms)
{
	struct chronon__json j;
	int finite = b->status == CHRONON_BOUND_SYNCHRONISED;
	chronon__json_begin(&j, stdout);
	chronon__json_int(&j, "warmup_ms", warmup_ms);
	chronon__json_str(&j, "clock", b->clock == CLOCK_TAI ? "CLOCK_TAI" : "CLOCK_REALTIME");
	chronon__json_str(&j, "status", chronon__bound_status_name(b->status));
	chronon__json_bool(&j, "synchronised", finite);
	chronon__json_int(&j, "now_ns", b->now_ns);
	/* An interval that claims nothing has no ends: null, not a sentinel. */
	if (finite) {
		chronon__json_int(&j, "earliest_ns", b->earliest_ns);
		chronon__json_int(&j, "latest_ns", b->latest_ns);
	} else {
		chronon__json_null(&j, "earliest_ns");
		chronon__json_null(&j, "latest_ns");
	}
	chronon__json_int(&j, "kernel_maxerror_ns", b->kernel_maxerror_ns);
	chronon__json_int(&j, "tracking_ns", b->tracking_ns);
	chronon__json_int(&j, "read_ns", b->read_ns);
	chronon__json_int(&j, "leap_ns", b->leap_ns);
	chronon__json_int(&j, "kernel_esterror_ns", b->kernel_esterror_ns);
	chronon__json_uint(&j, "kernel_status", b->kernel_status);
	chronon__json_int(&j, "tai_offset_s", b->tai_offset_s);
	chronon__json_end(&j);
}

int chronon__cmd_bound(int argc, char **argv)
{
	struct chronon__tool_report r;
	int tai = 0;
	int rc = chronon__tool_report_args(CMD, argc, argv, help, "--tai", &tai, &r);
	if (rc >= 0)
		return rc;
	clockid_t clock = tai ? CLOCK_TAI : CLOCK_REALTIME;
	chronon__tool_warm_up(clock, r.warmup_ms);
	struct chronon_bound b;
	if (chronon_now_bounded(clock, &b) != 0) {
		perror("chronon: bound: chronon_now_bounded");
		return TOOL_FAILED;
	}
	if (r.json)
		print_json(&b, r.warmup_ms);
	else
		print_text(&b);
	return TOOL_OK;
}
