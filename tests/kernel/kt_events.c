/*
 * kt_events: the real-kernel rig's event driver.  It does to the guest's
 * clock what a production machine sees (steps, slews, NTP state, leap
 * seconds, clocksource switches, a stalled VM, suspend to RAM, chronond
 * killed, the kernel's own timers selftests) while kt_reader processes
 * compare chronon with the kernel, and prints one pass/fail line per
 * scenario from what the readers saw.
 *
 * It sets the clock, so it runs ONLY inside the rig's qemu guest: it
 * refuses unless its parent is PID 1, the guest's init left its marker
 * file, /proc/1/cmdline is that init and the kernel was booted with the
 * rig's kt_guest=1 argument (the host's kernel never is).
 *
 *   kt_events --guard-only            exit 0 in the guest, 3 elsewhere; does nothing
 *   kt_events init                    create the shared state (before the readers)
 *   kt_events run SCENARIO...         baseline steps freq ntp chrony clocksource
 *                                     gaps daemon selftests
 * Environment: KT_CHRONOND (chronond's path: started, killed and
 * restarted by the driver), KT_CHURN=0 (no chronond kills during the
 * other scenarios), KT_BOUND_NS (default 1000), KT_SETTLE_MS (100),
 * KT_BOUND_SETTLE_MS (1500), KT_SELFTESTS_DIR, KT_PRELOAD, KT_SELFTESTS
 * (names to run, default below).
 */
#include "kt_shared.h"

#include <chronon.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/wait.h>
#include <unistd.h>

#define GUEST_MARKER "/run/kt/guest"
#define CS_DIR "/sys/devices/system/clocksource/clocksource0/"

static struct kt_state *state;
static uint32_t cur_phase;
/* Phases with many events of their own (a selftest) whose times the
 * driver does not know: judged on backward steps and bounded time only. */
static unsigned char unjudged_settle[KT_MAX_PHASES];
static int64_t settle_ns, bound_settle_ns;
static int failures;

/* ---------- the guard ---------- */

static int file_has(const char *path, const char *needle, size_t len)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	for (ssize_t i = 0; i < n; i++) /* /proc/1/cmdline separates with NULs */
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return len ? memmem(buf, (size_t)n, needle, len) != NULL : 0;
}

static int in_guest(const char **why)
{
	static const char tok[] = "kt_guest=1";
	if (getppid() != 1)
		*why = "parent is not PID 1";
	else if (access(GUEST_MARKER, F_OK) != 0)
		*why = "no " GUEST_MARKER;
	else if (!file_has("/proc/cmdline", tok, sizeof tok - 1))
		*why = "kernel not booted with kt_guest=1";
	else if (!file_has("/proc/1/cmdline", "/init", 5))
		*why = "PID 1 is not the rig's /init";
	else
		return 1;
	return 0;
}

/* ---------- clocks and the kernel's controls ---------- */

static int64_t kern(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void hold_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
}

static int adj(struct timex *tx, const char *what)
{
	int rc = adjtimex(tx);
	if (rc < 0) {
		say("kt_events: adjtimex (%s): %s\n", what, strerror(errno));
		failures++;
	}
	return rc;
}

static void set_realtime(int64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
	if (clock_settime(CLOCK_REALTIME, &ts) != 0) {
		say("kt_events: clock_settime: %s\n", strerror(errno));
		failures++;
	}
}

static void settimeofday_ns(int64_t ns)
{
	struct timeval tv = {(time_t)(ns / 1000000000), (suseconds_t)(ns % 1000000000 / 1000)};
	if (settimeofday(&tv, NULL) != 0) {
		say("kt_events: settimeofday: %s\n", strerror(errno));
		failures++;
	}
}

static void setoffset_ns(int64_t ns)
{
	struct timex tx;
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_SETOFFSET | ADJ_NANO;
	int64_t s = ns / 1000000000, r = ns % 1000000000;
	if (r < 0) {
		r += 1000000000;
		s--;
	}
	tx.time.tv_sec = (time_t)s;
	tx.time.tv_usec = (long)r; /* ns with ADJ_NANO */
	adj(&tx, "ADJ_SETOFFSET");
}

static void set_freq_ppm(double ppm)
{
	struct timex tx;
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_FREQUENCY;
	tx.freq = (long)(ppm * 65536.0);
	adj(&tx, "ADJ_FREQUENCY");
}

static void set_tick(long tick)
{
	struct timex tx;
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_TICK;
	tx.tick = tick;
	adj(&tx, "ADJ_TICK");
}

/* ---------- phases and what the readers saw ---------- */

/* Every living reader flushed everything before phase p and reads in it. */
static void wait_acks(uint32_t p, int timeout_ms)
{
	for (int tries = 0; tries < timeout_ms; tries++) {
		int behind = 0;
		for (int i = 0; i < KT_MAX_SLOTS; i++) {
			struct kt_slot *s = &state->slot[i];
			if (!atomic_load(&s->used))
				continue;
			if (atomic_load_explicit(&s->ack, memory_order_acquire) >= p)
				continue;
			if (kill(s->pid, 0) != 0) {
				say("KT-NOTE reader %s (pid %d) is gone\n", s->name, s->pid);
				atomic_store(&s->used, 0);
				failures++;
				continue;
			}
			behind++;
		}
		if (!behind)
			return;
		hold_ms(1);
	}
	say("KT-NOTE readers did not take up phase %u within %d ms\n", p, timeout_ms);
}

static void phase(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void phase(const char *fmt, ...)
{
	if (cur_phase + 1 >= KT_MAX_PHASES)
		return; /* the last phase collects the rest */
	uint32_t p = cur_phase + 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(state->phase_name[p], sizeof state->phase_name[p], fmt, ap);
	va_end(ap);
	state->phase_start_ns[p] = kern(CLOCK_MONOTONIC);
	atomic_store_explicit(&state->phase, p, memory_order_release);
	cur_phase = p;
	wait_acks(p, 1000); /* the event comes after every reader is in its phase */
}

struct judged {
	int64_t err, back, back_max, excused, settle, samples, status_wrong, status_lag;
	int64_t late_after_change, rate_changes;
	int ok;
};

/* One phase, one clock, one kind of reader (its threads summed). */
struct agg {
	char name[24];
	struct kt_stat st;
};

static int aggregate(uint32_t p, int k, struct agg *out, int max)
{
	int n = 0;
	for (int i = 0; i < KT_MAX_SLOTS; i++) {
		struct kt_slot *s = &state->slot[i];
		struct kt_stat *st = &s->st[p][k];
		if (!s->name[0] || !st->samples)
			continue;
		int j = 0;
		while (j < n && strcmp(out[j].name, s->name) != 0)
			j++;
		if (j == n) {
			if (n == max)
				continue;
			memset(&out[n], 0, sizeof out[n]);
			snprintf(out[n].name, sizeof out[n].name, "%s", s->name);
			n++;
		}
		kt_stat_merge(&out[j].st, st);
	}
	return n;
}

static void append(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t n, const char *fmt, ...)
{
	size_t l = strlen(buf);
	if (l + 1 >= n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + l, n - l, fmt, ap);
	va_end(ap);
}

/* Prints one line per phase and sums the scenario; returns phases failed.
 * A phase fails on a backward step, on a reading still out of bound
 * later than the settle time after its event or after the last change of
 * the kernel's rate its reader saw before it, and (bounded time) on an
 * interval that missed the kernel's time or a status still wrong later
 * than its settle time. */
static int judge_phases(const char *scenario, uint32_t first, uint32_t last, struct judged *tot)
{
	int bad = 0;
	memset(tot, 0, sizeof *tot);
	for (uint32_t p = first; p <= last; p++) {
		struct judged w;
		memset(&w, 0, sizeof w);
		w.ok = 1;
		char worst[64] = "-", backs[320] = "", late[320] = "", why[128] = "";
		int64_t worst_err = -1;
		for (int k = 0; k < KT_KINDS; k++) {
			struct agg a[KT_MAX_SLOTS];
			int n = aggregate(p, k, a, KT_MAX_SLOTS);
			for (int j = 0; j < n; j++) {
				struct kt_stat *st = &a[j].st;
				w.samples += st->samples;
				if (st->err_max_ns > worst_err) {
					worst_err = st->err_max_ns;
					snprintf(worst, sizeof worst, "%.16s/%.23s", kt_kind_name[k], a[j].name);
				}
				if (st->back)
					append(backs, sizeof backs, " %s/%s:%lld(max %.1f us)", kt_kind_name[k],
					       a[j].name, (long long)st->back, (double)st->back_max_ns / 1e3);
				w.back += st->back;
				if (st->back_max_ns > w.back_max)
					w.back_max = st->back_max_ns;
				w.excused += st->excused;
				w.status_wrong += st->status_wrong;
				int64_t settle = st->over ? st->last_over_ns - state->phase_start_ns[p] : 0;
				if (k != KT_BOUND && settle > w.settle)
					w.settle = settle;
				int64_t age = st->over ? st->over_age_ns : 0;
				if (k != KT_BOUND && age > w.late_after_change)
					w.late_after_change = age;
				if (st->rate_changes > w.rate_changes)
					w.rate_changes = st->rate_changes;
				if (st->status_lag_ns > w.status_lag)
					w.status_lag = st->status_lag_ns;
				if (k == KT_BOUND && st->err_max_ns > 0) {
					w.ok = 0;
					append(why, sizeof why, " bounded time's interval missed the kernel by %.1f us;",
					       (double)st->err_max_ns / 1e3);
				}
				if (k == KT_BOUND && st->status_lag_ns > bound_settle_ns) {
					w.ok = 0;
					append(why, sizeof why, " bounded time's status %.0f ms behind the kernel's;",
					       (double)st->status_lag_ns / 1e6);
				}
				if (k != KT_BOUND && age > settle_ns && !unjudged_settle[p]) {
					w.ok = 0;
					append(late, sizeof late, " %s/%s", kt_kind_name[k], a[j].name);
				}
			}
		}
		w.err = worst_err < 0 ? 0 : worst_err;
		if (w.back) {
			w.ok = 0;
			append(why, sizeof why, " backward steps;");
		}
		if (late[0])
			append(why, sizeof why, " out of bound later than %lld ms after the event "
			       "or the kernel's last change of rate;", (long long)(settle_ns / 1000000));
		const char *note = unjudged_settle[p] ? " (many events: judged on backward steps and bounded time)" : "";
		if (!w.samples) {
			w.ok = 0;
			append(why, sizeof why, " no reader samples;");
		}
		char lag[32] = "", changes[96] = "";
		if (w.rate_changes)
			snprintf(changes, sizeof changes, " (%lld changes of the kernel's rate: %.1f ms after the last)",
				 (long long)w.rate_changes, (double)w.late_after_change / 1e6);
		if (w.status_wrong)
			snprintf(lag, sizeof lag, " %.0f ms", (double)w.status_lag / 1e6);
		say("KT-EVENT %s | %s: %s worst %.3f us (%s), %lld back, %lld excused, out of bound until %.1f ms%s, "
		    "%lld samples%s%s%s\n",
		    scenario, state->phase_name[p], w.ok ? "ok" : "FAIL", (double)w.err / 1e3, worst,
		    (long long)w.back, (long long)w.excused, (double)w.settle / 1e6, changes, (long long)w.samples,
		    w.status_wrong ? ", bounded time's status behind the kernel's for up to" : "",
		    lag, note);
		if (!w.ok) {
			say("KT-EVENT %s |   why:%s\n", scenario, why);
			if (backs[0])
				say("KT-EVENT %s |   back:%s\n", scenario, backs);
			if (late[0])
				say("KT-EVENT %s |   late:%s\n", scenario, late);
			bad++;
		}
		if (w.err > tot->err)
			tot->err = w.err;
		tot->back += w.back;
		if (w.back_max > tot->back_max)
			tot->back_max = w.back_max;
		tot->excused += w.excused;
		if (w.settle > tot->settle)
			tot->settle = w.settle;
		tot->samples += w.samples;
	}
	return bad;
}

static void scenario_end(const char *scenario, uint32_t first, const char *extra)
{
	uint32_t last = cur_phase;
	phase("between scenarios");
	wait_acks(cur_phase, 5000);
	struct judged t;
	int bad = judge_phases(scenario, first, last, &t);
	int fail = bad || failures;
	say("KT-RESULT %s %s: worst error %.3f us, %lld backward steps (largest %.1f us), %lld excused, "
	    "longest out of bound %.1f ms, %d of %u events failed%s%s\n",
	    scenario, fail ? "FAIL" : "PASS", (double)t.err / 1e3, (long long)t.back,
	    (double)t.back_max / 1e3, (long long)t.excused, (double)t.settle / 1e6, bad,
	    last - first + 1, failures ? ", driver errors" : "", extra ? extra : "");
	failures = 0;
}

/* ---------- chronond: started, and killed at random during the scenarios ---------- */

static pid_t chronond_pid;
static _Atomic int churn_on;
static _Atomic long kills;
static pthread_mutex_t chronond_lock = PTHREAD_MUTEX_INITIALIZER;

static void chronond_start(void)
{
	const char *path = getenv("KT_CHRONOND");
	if (!path)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		execl(path, "chronond", "--foreground", (char *)NULL);
		_exit(127);
	}
	chronond_pid = pid;
	if (state)
		atomic_store(&state->chronond_start_ns, kern(CLOCK_MONOTONIC));
}

static void chronond_kill(int sig)
{
	if (chronond_pid <= 0)
		return;
	kill(chronond_pid, sig);
	if (sig == SIGKILL || sig == SIGTERM) {
		waitpid(chronond_pid, NULL, 0);
		chronond_pid = 0;
	}
}

static void *churn(void *arg)
{
	(void)arg;
	unsigned seed = 12345;
	for (;;) {
		hold_ms(1500 + rand_r(&seed) % 3500);
		if (!atomic_load(&churn_on))
			continue;
		pthread_mutex_lock(&chronond_lock);
		chronond_kill(SIGKILL);
		atomic_fetch_add(&kills, 1);
		hold_ms(rand_r(&seed) % 400);
		chronond_start();
		pthread_mutex_unlock(&chronond_lock);
	}
	return NULL;
}

/* ---------- scenarios ---------- */

static void sc_baseline(void)
{
	uint32_t first = cur_phase + 1;
	phase("quiet reading, 3 s");
	hold_ms(3000);
	scenario_end("baseline", first, NULL);
}

static void sc_steps(void)
{
	uint32_t first = cur_phase + 1;
	int64_t r0 = kern(CLOCK_REALTIME), raw0 = kern(CLOCK_MONOTONIC_RAW);
	const int64_t hour = 3600LL * 1000000000, day = 24 * hour;

	phase("settimeofday +1 h");
	settimeofday_ns(kern(CLOCK_REALTIME) + hour);
	hold_ms(600);
	phase("ADJ_SETOFFSET -1 h");
	setoffset_ns(-hour);
	hold_ms(600);
	phase("ADJ_SETOFFSET +1.5 us");
	setoffset_ns(1500);
	hold_ms(600);
	phase("ADJ_SETOFFSET -250 us");
	setoffset_ns(-250000);
	hold_ms(600);
	phase("clock_settime +1 day");
	set_realtime(kern(CLOCK_REALTIME) + day);
	hold_ms(600);
	phase("ADJ_SETOFFSET -1 day");
	setoffset_ns(-day);
	hold_ms(600);
	phase("settimeofday to 2^31 - 10 s, held across 2^31");
	settimeofday_ns(((1LL << 31) - 10) * 1000000000);
	hold_ms(12000);
	phase("settimeofday back to today");
	settimeofday_ns(r0 + kern(CLOCK_MONOTONIC_RAW) - raw0);
	hold_ms(1000);
	scenario_end("steps", first, NULL);
}

static void sc_freq(void)
{
	uint32_t first = cur_phase + 1;
	struct timex tx;
	static const double ppm[] = {500, -500, 100, 0};
	for (size_t i = 0; i < sizeof ppm / sizeof ppm[0]; i++) {
		phase("ADJ_FREQUENCY %+.0f ppm", ppm[i]);
		set_freq_ppm(ppm[i]);
		hold_ms(1500);
	}
	/* chrony's fast slews: the tick moved by up to its maxslewrate
	 * (83 333 ppm) for a fraction of a second, then put back. */
	static const struct { long tick; int ms; } ticks[] = {
		{9000, 1000}, {10000, 1000}, {11000, 1000}, {10000, 1000},
		{10833, 500}, {10000, 300}, {9167, 500}, {10000, 300},
		{10100, 2000}, {9900, 2000}, {10000, 1500},
	};
	for (size_t i = 0; i < sizeof ticks / sizeof ticks[0]; i++) {
		phase("ADJ_TICK %ld us for %d ms", ticks[i].tick, ticks[i].ms);
		set_tick(ticks[i].tick);
		hold_ms(ticks[i].ms);
	}
	/* ntpd's PLL: an offset the kernel slews away, then the other way. */
	static const long offs[] = {400000, -400000};
	for (size_t i = 0; i < 2; i++) {
		phase("ADJ_OFFSET %+ld us with STA_PLL (ntpd)", offs[i]);
		memset(&tx, 0, sizeof tx);
		tx.modes = ADJ_OFFSET | ADJ_STATUS;
		tx.status = STA_PLL | STA_UNSYNC;
		tx.offset = offs[i];
		adj(&tx, "ADJ_OFFSET");
		hold_ms(2500);
	}
	phase("ADJ_OFFSET_SINGLESHOT +100 ms (adjtime)");
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_OFFSET_SINGLESHOT;
	tx.offset = 100000;
	adj(&tx, "ADJ_OFFSET_SINGLESHOT");
	hold_ms(2000);
	phase("slews stopped");
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_OFFSET_SINGLESHOT; /* offset 0 cancels */
	adj(&tx, "ADJ_OFFSET_SINGLESHOT 0");
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_OFFSET | ADJ_STATUS | ADJ_FREQUENCY;
	tx.status = STA_UNSYNC;
	adj(&tx, "reset");
	hold_ms(1500);
	scenario_end("freq", first, NULL);
}

static void sync_state(int status, long maxerror_us, long esterror_us)
{
	struct timex tx;
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_STATUS | ADJ_MAXERROR | ADJ_ESTERROR;
	tx.status = status;
	tx.maxerror = maxerror_us;
	tx.esterror = esterror_us;
	adj(&tx, "ADJ_STATUS|ADJ_MAXERROR|ADJ_ESTERROR");
}

static void sc_ntp(void)
{
	uint32_t first = cur_phase + 1;
	struct timex tx;
	int64_t r0 = kern(CLOCK_REALTIME), raw0 = kern(CLOCK_MONOTONIC_RAW);
	const int64_t s = 1000000000;

	phase("synchronised: STA_UNSYNC cleared, maxerror 100 ms, esterror 1 ms");
	sync_state(STA_PLL, 100000, 1000);
	hold_ms(2500);
	phase("maxerror growing (kernel: 500 us/s)");
	hold_ms(2000);
	phase("maxerror 500 us");
	sync_state(STA_PLL, 500, 100);
	hold_ms(2000);
	phase("TAI offset 37 s");
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_TAI;
	tx.constant = 37;
	adj(&tx, "ADJ_TAI");
	hold_ms(1500);

	int64_t midnight = (kern(CLOCK_REALTIME) / (86400 * s) + 1) * 86400 * s;
	phase("leap second inserted at midnight (STA_INS)");
	set_realtime(midnight - 3 * s);
	sync_state(STA_PLL | STA_INS, 500, 100);
	hold_ms(5000);
	memset(&tx, 0, sizeof tx);
	int st = adjtimex(&tx);
	say("KT-NOTE after the insertion: adjtimex state %d (TIME_WAIT is %d), TAI offset %d\n",
	    st, TIME_WAIT, tx.tai);
	sync_state(STA_PLL, 500, 100);

	midnight = (kern(CLOCK_REALTIME) / (86400 * s) + 1) * 86400 * s;
	phase("leap second deleted at midnight (STA_DEL)");
	set_realtime(midnight - 3 * s);
	sync_state(STA_PLL | STA_DEL, 500, 100);
	hold_ms(5000);
	memset(&tx, 0, sizeof tx);
	st = adjtimex(&tx);
	say("KT-NOTE after the deletion: adjtimex state %d, TAI offset %d\n", st, tx.tai);

	phase("unsynchronised again (STA_UNSYNC, maxerror 16 s)");
	sync_state(STA_UNSYNC, 16000000, 16000000);
	hold_ms(2500);
	phase("clock back to today");
	set_realtime(r0 + kern(CLOCK_MONOTONIC_RAW) - raw0 + 1 * s);
	hold_ms(1000);
	scenario_end("ntp", first, NULL);
}

static int read_line(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	if (r <= 0)
		return -1;
	buf[r] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int set_clocksource(const char *name)
{
	int fd = open(CS_DIR "current_clocksource", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, name, strlen(name));
	close(fd);
	char now[64];
	if (w < 0 || read_line(CS_DIR "current_clocksource", now, sizeof now) != 0 || strcmp(now, name) != 0) {
		say("kt_events: clocksource %s not taken\n", name);
		failures++;
		return -1;
	}
	return 0;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* chronon_now_ns against the kernel's clock_gettime (a system call on hpet
 * and acpi_pm), medians of interleaved rounds. */
static void cost_ratio(const char *cs)
{
	enum { ROUNDS = 9, N = 2000 };
	int64_t a[ROUNDS], b[ROUNDS];
	volatile int64_t sink = 0;
	struct timespec ts;
	for (int r = 0; r < ROUNDS; r++) {
		int64_t t0 = kern(CLOCK_MONOTONIC_RAW);
		for (int i = 0; i < N; i++)
			sink += chronon_now_ns(CLOCK_MONOTONIC);
		int64_t t1 = kern(CLOCK_MONOTONIC_RAW);
		for (int i = 0; i < N; i++) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			sink += ts.tv_nsec;
		}
		int64_t t2 = kern(CLOCK_MONOTONIC_RAW);
		a[r] = (t1 - t0) / N;
		b[r] = (t2 - t1) / N;
	}
	(void)sink;
	qsort(a, ROUNDS, sizeof a[0], cmp64);
	qsort(b, ROUNDS, sizeof b[0], cmp64);
	struct chronon_status cs_st;
	char mode[48] = "?";
	if (chronon_status(&cs_st) == 0)
		snprintf(mode, sizeof mode, "%s, mode %s", cs_st.counter, cs_st.mode_name);
	say("KT-COST clocksource %s: chronon_now_ns %lld ns (counter %s), kernel clock_gettime %lld ns: %.3f x\n",
	    cs, (long long)a[ROUNDS / 2], mode, (long long)b[ROUNDS / 2],
	    b[ROUNDS / 2] ? (double)a[ROUNDS / 2] / (double)b[ROUNDS / 2] : 0.0);
}

static void sc_clocksource(void)
{
	uint32_t first = cur_phase + 1;
	char orig[64], avail[256];
	if (read_line(CS_DIR "current_clocksource", orig, sizeof orig) != 0 ||
	    read_line(CS_DIR "available_clocksource", avail, sizeof avail) != 0) {
		say("KT-RESULT clocksource FAIL: no clocksource sysfs\n");
		return;
	}
	char *list[8];
	int n = 0;
	for (char *save = NULL, *t = strtok_r(avail, " ", &save); t && n < 8; t = strtok_r(NULL, " ", &save))
		list[n++] = t;
	say("KT-NOTE clocksources: current %s, available", orig);
	for (int i = 0; i < n; i++)
		say(" %s", list[i]);
	say("\n");
	for (int i = 0; i < n; i++) {
		phase("clocksource %s", list[i]);
		set_clocksource(list[i]);
		hold_ms(1500);
		cost_ratio(list[i]);
	}
	phase("clocksource switched every 100 ms for 4 s");
	for (int i = 0; i < 40; i++) {
		set_clocksource(list[i % n]);
		hold_ms(100);
	}
	phase("clocksource back to %s", orig);
	set_clocksource(orig);
	hold_ms(1500);
	scenario_end("clocksource", first, NULL);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return w < 0 ? -1 : 0;
}

/* What rtcwake -m mem does: an RTC alarm, then "mem" into /sys/power/state
 * (the write returns after the resume).  The kernel counts the time
 * asleep in BOOTTIME and not in MONOTONIC: that difference says it slept. */
static void suspend_to_ram(int secs)
{
	char when[16];
	snprintf(when, sizeof when, "+%d", secs);
	int64_t gap0 = kern(CLOCK_BOOTTIME) - kern(CLOCK_MONOTONIC);
	if (write_file("/sys/class/rtc/rtc0/wakealarm", "0") != 0 ||
	    write_file("/sys/class/rtc/rtc0/wakealarm", when) != 0) {
		say("KT-NOTE no RTC wake alarm: %s\n", strerror(errno));
		failures++;
		return;
	}
	if (write_file("/sys/power/state", "mem") != 0) {
		say("KT-NOTE suspend to RAM refused: %s\n", strerror(errno));
		failures++;
		return;
	}
	say("KT-NOTE suspended to RAM and resumed: %.3f s asleep by BOOTTIME - MONOTONIC\n",
	    (double)(kern(CLOCK_BOOTTIME) - kern(CLOCK_MONOTONIC) - gap0) / 1e9);
}

/* Asks the host runner to stop this VM's qemu for ms, and watches for the
 * jump of the kernel's MONOTONIC that the guest sees afterwards.  Nothing
 * in the guest runs while it is stopped, so the event the readers must
 * recover from is the resume: when the jump is seen, the phase's time is
 * moved to it (the last reading before the jump plus the stop, which the
 * resume cannot precede), so that "back within bound 100 ms after the
 * event" does not count the stop itself. */
static void host_stop(int ms, int watch_ms)
{
	say("@@KT-HOST stop %d\n", ms);
	int64_t prev = kern(CLOCK_MONOTONIC), end = prev + (int64_t)watch_ms * 1000000, jump = 0;
	int64_t stop_ns = (int64_t)ms * 1000000, resumed = 0;
	while (prev < end) {
		hold_ms(5);
		int64_t now = kern(CLOCK_MONOTONIC);
		if (now - prev > jump) {
			jump = now - prev;
			if (jump >= stop_ns)
				resumed = prev + stop_ns;
		}
		prev = now;
	}
	say("KT-NOTE the guest's MONOTONIC jumped by up to %.3f s in one 5 ms sleep%s\n", (double)jump / 1e9,
	    resumed ? "" : ": the stop was not seen, the phase is timed from its start");
	if (resumed)
		state->phase_start_ns[cur_phase] = resumed;
}

static void sc_gaps(void)
{
	uint32_t first = cur_phase + 1;
	phase("whole VM stopped 3 s (SIGSTOP of qemu by the host)");
	host_stop(3000, 6000);
	phase("suspend to RAM, woken by the RTC after 3 s");
	suspend_to_ram(3);
	hold_ms(2000);
	phase("whole VM stopped 0.3 s");
	host_stop(300, 3000);
	scenario_end("gaps", first, NULL);
}

static void sc_daemon(void)
{
	uint32_t first = cur_phase + 1;
	int churn = atomic_exchange(&churn_on, 0);
	pthread_mutex_lock(&chronond_lock);
	for (int i = 0; i < 3; i++) {
		phase("chronond SIGKILLed and restarted (%d)", i + 1);
		chronond_kill(SIGKILL);
		hold_ms(300);
		chronond_start();
		hold_ms(1500);
	}
	phase("chronond stopped (SIGSTOP) 3 s");
	chronond_kill(SIGSTOP);
	hold_ms(3000);
	chronond_kill(SIGCONT);
	phase("chronond continued");
	hold_ms(1500);
	phase("chronond SIGTERMed (page retired), restarted after 2 s");
	chronond_kill(SIGTERM);
	hold_ms(2000);
	chronond_start();
	hold_ms(2000);
	pthread_mutex_unlock(&chronond_lock);
	atomic_store(&churn_on, churn);
	scenario_end("daemon", first, NULL);
}

/* ---------- chronyd disciplining the clock against a reference ---------- */

/* NTP's shared-memory reference clock segment (refclock SHM 0, key
 * "NTP0"), the interface chronyd and ntpd read a local reference from. */
struct shm_time {
	int mode;
	volatile int count;
	time_t clock_sec;
	int clock_usec;
	time_t receive_sec;
	int receive_usec;
	int leap;
	int precision;
	int nsamples;
	volatile int valid;
	unsigned clock_nsec;
	unsigned receive_nsec;
	int dummy[8];
};

static _Atomic int64_t ref_offset_ns; /* the reference minus the guest's REALTIME */
static _Atomic int feeding;

static void *feed_reference(void *arg)
{
	struct shm_time *t = arg;
	while (atomic_load(&feeding)) {
		int64_t now = kern(CLOCK_REALTIME), ref = now + atomic_load(&ref_offset_ns);
		t->valid = 0;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		t->mode = 1;
		t->count++;
		t->clock_sec = (time_t)(ref / 1000000000);
		t->clock_nsec = (unsigned)(ref % 1000000000);
		t->clock_usec = (int)(t->clock_nsec / 1000);
		t->receive_sec = (time_t)(now / 1000000000);
		t->receive_nsec = (unsigned)(now % 1000000000);
		t->receive_usec = (int)(t->receive_nsec / 1000);
		t->leap = 0;
		t->precision = -20;
		t->count++;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		t->valid = 1;
		hold_ms(100);
	}
	return NULL;
}

static void ntp_note(const char *when)
{
	struct timex tx;
	memset(&tx, 0, sizeof tx);
	int st = adjtimex(&tx);
	say("KT-NOTE %s: adjtimex state %d, status 0x%x%s, tick %ld, freq %+.3f ppm, offset %ld, maxerror %ld us\n",
	    when, st, tx.status, tx.status & STA_UNSYNC ? " (unsynchronised)" : "", tx.tick,
	    (double)tx.freq / 65536.0, tx.offset, tx.maxerror);
}

static void sc_chrony(void)
{
	const char *conf = "/run/kt/chrony.conf";
	FILE *f = fopen(conf, "w");
	if (!f || access("/usr/sbin/chronyd", X_OK) != 0) {
		say("KT-RESULT chrony FAIL: no chronyd in the guest\n");
		if (f)
			fclose(f);
		return;
	}
	/* A fast reference clock, chrony's largest slew rate, never a step: the
	 * offsets below are slewed away as chronyd does on a real machine. */
	fprintf(f, "refclock SHM 0 refid REF poll 0 dpoll -2 filter 4 precision 1e-6\n"
		   "maxslewrate 83333\nrtcsync\ncmdport 0\nbindcmdaddress /\n"
		   "pidfile /run/kt/chronyd.pid\n");
	fclose(f);
	int id = shmget(0x4e545030, sizeof(struct shm_time), IPC_CREAT | 0600);
	struct shm_time *t = id < 0 ? NULL : shmat(id, NULL, 0);
	if (!t || t == (void *)-1) {
		say("KT-RESULT chrony FAIL: no SysV shared memory: %s\n", strerror(errno));
		return;
	}
	memset(t, 0, sizeof *t);
	uint32_t first = cur_phase + 1;
	atomic_store(&ref_offset_ns, 0);
	atomic_store(&feeding, 1);
	pthread_t feeder;
	pthread_create(&feeder, NULL, feed_reference, t);

	phase("chronyd started, reference at the guest's own time");
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/run/kt/chronyd.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl("/usr/sbin/chronyd", "chronyd", "-d", "-f", conf, "-u", "root", (char *)NULL);
		_exit(127);
	}
	hold_ms(10000);
	ntp_note("chronyd after 10 s");
	static const struct { int64_t off_ms; int hold; } steps[] = {
		{30, 6000}, {-30, 6000}, {2, 4000},
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		phase("reference moved to %+lld ms: chronyd slews the kernel", (long long)steps[i].off_ms);
		atomic_store(&ref_offset_ns, steps[i].off_ms * 1000000);
		hold_ms(1500);
		ntp_note("chronyd slewing");
		hold_ms(steps[i].hold - 1500);
	}
	phase("chronyd stopped");
	kill(pid, SIGTERM);
	int st = 0;
	waitpid(pid, &st, 0);
	atomic_store(&feeding, 0);
	pthread_join(feeder, NULL);
	shmdt(t);
	shmctl(id, IPC_RMID, NULL);
	ntp_note("chronyd stopped");
	(void)!system("tail -n 6 /run/kt/chronyd.log | sed 's/^/KT-LOG   /'");
	/* back to an unsynchronised kernel at its own rate for what follows */
	struct timex tx;
	memset(&tx, 0, sizeof tx);
	tx.modes = ADJ_STATUS | ADJ_FREQUENCY | ADJ_TICK | ADJ_MAXERROR | ADJ_ESTERROR;
	tx.status = STA_UNSYNC;
	tx.tick = 10000;
	tx.maxerror = 16000000;
	tx.esterror = 16000000;
	adj(&tx, "reset after chronyd");
	hold_ms(1500);
	scenario_end("chrony", first, NULL);
}

/* ---------- the kernel's timers selftests ---------- */

static int run_cmd(const char *dir, const char *cmd, int preload, int timeout_s)
{
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		if (chdir(dir) != 0)
			_exit(126);
		if (preload && getenv("KT_PRELOAD"))
			setenv("LD_PRELOAD", getenv("KT_PRELOAD"), 1);
		else
			unsetenv("LD_PRELOAD");
		char line[512];
		snprintf(line, sizeof line, "exec %s > /run/kt/selftest.log 2>&1", cmd);
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	int64_t deadline = kern(CLOCK_MONOTONIC_RAW) + (int64_t)timeout_s * 1000000000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (kern(CLOCK_MONOTONIC_RAW) > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			say("KT-NOTE %s: killed after %d s\n", cmd, timeout_s);
			return 124;
		}
		hold_ms(100);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static void show_log_tail(void)
{
	(void)!system("tail -n 8 /run/kt/selftest.log | sed 's/^/KT-LOG   /'");
}

/* ksft: 0 pass, 4 skip. */
static const char *verdict(int rc)
{
	return rc == 0 ? "pass" : rc == 4 ? "skip" : "fail";
}

static void selftest(const char *dir, const char *cmd, int with_preload, int timeout_s, int *against)
{
	uint32_t first = cur_phase + 1;
	phase("selftest %s", cmd);
	unjudged_settle[cur_phase] = 1;
	int plain = run_cmd(dir, cmd, 0, timeout_s);
	say("KT-SELFTEST %s: %s (exit %d) without chronon\n", cmd, verdict(plain), plain);
	if (plain != 0 && plain != 4)
		show_log_tail();
	if (with_preload) {
		phase("selftest %s under the preload", cmd);
		unjudged_settle[cur_phase] = 1;
		int pre = run_cmd(dir, cmd, 1, timeout_s);
		const char *what = pre == 0 || pre == 4 ? verdict(pre)
				   : plain != 0 && plain != 4 ? "fail, failing without chronon too"
				   : "FAIL, passing without chronon: counted against chronon";
		say("KT-SELFTEST %s: %s (exit %d) under libchronon-preload.so\n", cmd, what, pre);
		if (pre != 0 && pre != 4) {
			show_log_tail();
			if (plain == 0 || plain == 4)
				(*against)++;
		}
	}
	(void)first;
}

/* inconsistency-check under the preload for each served clock while a
 * destructive selftest runs beside it. */
static void beside(const char *dir, const char *bg, int secs_each, int *against)
{
	phase("preloaded inconsistency-check while %s runs", bg);
	unjudged_settle[cur_phase] = 1;
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		if (chdir(dir) != 0)
			_exit(126);
		unsetenv("LD_PRELOAD");
		char line[512];
		snprintf(line, sizeof line, "exec %s > /run/kt/selftest-bg.log 2>&1", bg);
		execl("/bin/sh", "sh", "-c", line, (char *)NULL);
		_exit(127);
	}
	static const int clocks[] = {0, 1, 4, 7, 11}; /* the served clocks */
	for (size_t i = 0; i < 5; i++) {
		char cmd[96];
		snprintf(cmd, sizeof cmd, "./inconsistency-check -c %d -t %d", clocks[i], secs_each);
		int pre = run_cmd(dir, cmd, 1, secs_each * 4 + 30);
		say("KT-SELFTEST %s under libchronon-preload.so beside %s: %s (exit %d)\n", cmd, bg,
		    pre == 0 ? "pass" : "FAIL", pre);
		if (pre != 0) {
			show_log_tail();
			(*against)++;
		}
	}
	int status = 0;
	int64_t deadline = kern(CLOCK_MONOTONIC_RAW) + 400LL * 1000000000;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (kern(CLOCK_MONOTONIC_RAW) > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		hold_ms(200);
	}
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	say("KT-SELFTEST %s (beside): %s (exit %d) without chronon\n", bg, verdict(rc), rc);
	if (rc != 0 && rc != 4)
		(void)!system("tail -n 8 /run/kt/selftest-bg.log | sed 's/^/KT-LOG   /'");
}

static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; (p = strstr(p, name)); p += n)
		if ((p == list || p[-1] == ',' || p[-1] == ' ') && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
	return 0;
}

static void sc_selftests(void)
{
	const char *dir = getenv("KT_SELFTESTS_DIR");
	const char *want = getenv("KT_SELFTESTS");
	if (!want || !*want)
		want = "valid-adjtimex,set-tai,leap-a-day,clocksource-switch,freq-step";
	if (!dir || access(dir, X_OK) != 0) {
		say("KT-RESULT selftests FAIL: no selftests directory (KT_SELFTESTS_DIR)\n");
		return;
	}
	uint32_t first = cur_phase + 1;
	int against = 0;
	char list[512];
	snprintf(list, sizeof list, "%s", want);
	for (char *save = NULL, *name = strtok_r(list, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
		if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(name)) {
			say("KT-NOTE selftest name '%s' ignored\n", name);
			continue;
		}
		char cmd[96];
		if (strcmp(name, "leap-a-day") == 0)
			selftest(dir, "./leap-a-day -i 2", 0, 120, &against);
		else if (strcmp(name, "inconsistency-check") == 0)
			selftest(dir, "./inconsistency-check -t 2", 1, 120, &against);
		else if (strcmp(name, "clocksource-switch") == 0)
			selftest(dir, "./clocksource-switch -s -t 1", 1, 300, &against);
		else if (strcmp(name, "freq-step") == 0)
			beside(dir, "./freq-step", 4, &against);
		else {
			snprintf(cmd, sizeof cmd, "./%s", name);
			selftest(dir, cmd, 0, 900, &against);
		}
	}
	char extra[96];
	snprintf(extra, sizeof extra, "; %d selftest runs failed under chronon only", against);
	if (against)
		failures++;
	scenario_end("selftests", first, extra);
}

/* ---------- main ---------- */

static int64_t env_ms(const char *name, int64_t dflt)
{
	const char *e = getenv(name);
	return (e && *e ? atoll(e) : dflt) * 1000000;
}

static int open_state(int create)
{
	if (create) {
		mkdir("/run/kt", 0755);
		int fd = open(KT_STATE_PATH, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, (off_t)sizeof *state) != 0)
			return -1;
		close(fd);
	}
	int fd = open(KT_STATE_PATH, O_RDWR);
	if (fd < 0)
		return -1;
	state = mmap(NULL, sizeof *state, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (state == MAP_FAILED)
		return -1;
	if (create) {
		const char *b = getenv("KT_BOUND_NS");
		state->bound_ns = b && *b ? atoll(b) : 1000;
		state->settle_ns = env_ms("KT_SETTLE_MS", 100);
		state->magic = KT_MAGIC;
		snprintf(state->phase_name[0], sizeof state->phase_name[0], "readers starting, chronond publishing");
		state->phase_start_ns[0] = kern(CLOCK_MONOTONIC);
	}
	return state->magic == KT_MAGIC ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *why = "";
	int guest = in_guest(&why);
	if (argc > 1 && strcmp(argv[1], "--guard-only") == 0) {
		printf("kt_events: %s%s\n", guest ? "in the rig's guest" : "not in the rig's guest: ", why);
		return guest ? 0 : 3;
	}
	if (!guest) {
		fprintf(stderr, "kt_events: refusing to touch this machine's clock: %s\n", why);
		return 3;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: kt_events init | run SCENARIO...\n");
		return 2;
	}
	if (strcmp(argv[1], "init") == 0)
		return open_state(1) == 0 ? 0 : 2;
	if (strcmp(argv[1], "run") != 0 || open_state(0) != 0) {
		fprintf(stderr, "kt_events: run kt_events init first\n");
		return 2;
	}
	settle_ns = env_ms("KT_SETTLE_MS", 100);
	bound_settle_ns = env_ms("KT_BOUND_SETTLE_MS", 1500);
	cur_phase = atomic_load(&state->phase);
	signal(SIGPIPE, SIG_IGN);
	say("KT-NOTE bound %lld ns outside the kernel's bracket, back within it %lld ms after an event "
	    "(bounded time: status within %lld ms)\n",
	    (long long)state->bound_ns, (long long)(settle_ns / 1000000), (long long)(bound_settle_ns / 1000000));

	chronond_start();
	const char *ch = getenv("KT_CHURN");
	atomic_store(&churn_on, !(ch && strcmp(ch, "0") == 0) && chronond_pid > 0);
	pthread_t t;
	pthread_create(&t, NULL, churn, NULL);
	/* The readers' first seconds (each process's cold start, the first
	 * page from chronond) are judged as a scenario of their own, so the
	 * first scenario starts from a settled state. */
	hold_ms(3000);
	scenario_end("startup", 0, NULL);

	static const struct { const char *name; void (*fn)(void); } all[] = {
		{"baseline", sc_baseline}, {"steps", sc_steps}, {"freq", sc_freq}, {"ntp", sc_ntp},
		{"chrony", sc_chrony},
		{"clocksource", sc_clocksource}, {"gaps", sc_gaps}, {"daemon", sc_daemon},
		{"selftests", sc_selftests},
	};
	for (int a = 2; a < argc; a++) {
		int found = 0;
		for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
			if (listed(argv[a], all[i].name)) {
				int64_t t0 = kern(CLOCK_MONOTONIC_RAW);
				say("KT-NOTE scenario %s starts (chronond killed %ld times so far)\n", all[i].name,
				    atomic_load(&kills));
				all[i].fn();
				say("KT-NOTE scenario %s took %.1f s\n", all[i].name,
				    (double)(kern(CLOCK_MONOTONIC_RAW) - t0) / 1e9);
				found = 1;
			}
		}
		if (!found)
			say("KT-RESULT %s FAIL: no such scenario\n", argv[a]);
	}
	atomic_store(&churn_on, 0);
	pthread_mutex_lock(&chronond_lock);
	say("KT-NOTE chronond was killed and restarted %ld times during the run\n", atomic_load(&kills));
	chronond_kill(SIGTERM);
	atomic_store_explicit(&state->stop, 1, memory_order_release);
	return 0;
}
