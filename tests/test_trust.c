/* Whether the CPU counter is trusted: the policy on every combination of
 * facts, then the real library in child processes whose view of the
 * kernel's clocksources is a fake sysfs tree (CHRONON_CLOCKSOURCE_DIR),
 * including the kernel dropping the counter and an administrator moving
 * the clocksource off it while the process runs.  Expectations come from
 * this machine's own facts (invariant TSC, a readable pvclock page). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "chronon.h"
#include "check.h"
#include "force_counter.h"
#include "arch.h"
#include "counter/paravirt.h"
#include "counter/trust.h"
#include "config.h"

struct row {
	int listed;
	const char *current;
	int pv, was_listed, was_current;
	int want;
	const char *why; /* a word of the reason */
};

static void policy(void)
{
	static const struct row rows[] = {
		{1, "tsc", 0, 0, 0, 1, "keeps time with it"},
		{1, "tsc", 1, 1, 1, 1, "scaled by the host's pvclock"},
		{1, "xen", 0, 0, 0, 1, "trusted by the kernel"},        /* xen guest: today's rule */
		{1, "hpet", 0, 0, 0, 1, "trusted by the kernel"},       /* chosen at boot */
		{0, "kvm-clock", 1, 0, 0, 1, "vouched for"},             /* tsc=unstable on kvm-clock */
		{0, "kvm-clock", 0, 0, 0, 0, "does not list"},
		{0, "kvm-clock", -1, 0, 0, 0, "not stable"},
		{1, "tsc", -1, 0, 0, 1, "keeps time with it"},           /* the kernel reads it itself */
		{1, "xen", -1, 0, 0, 0, "not stable"},                   /* the host knows better */
		{-1, "", 0, 0, 0, 0, "cannot read"},
		{-1, "", 1, 0, 0, 1, "vouched for"},
		{0, "tsc", 0, 1, 1, 0, "dropped"},                       /* watchdog at run time */
		{0, "kvm-clock", 1, 1, 0, 0, "dropped"},                 /* dropped, even with a page */
		{1, "hpet", 0, 1, 1, 0, "moved from tsc to hpet"},        /* administrator */
		{1, "acpi_pm", 1, 1, 1, 0, "moved from tsc"},
		{1, "kvm-clock", 1, 1, 1, 1, "trusted"},                 /* to the page that vouches */
		{1, "kvm-clock", -1, 1, 1, 0, "moved from tsc"},
		{1, "kvm-clock", 0, 1, 1, 0, "moved from tsc"},
		{1, "", 0, 1, 1, 0, "(unreadable)"},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];
		struct chronon__trust_facts f = {.name = "tsc", .listed = r->listed,
						 .current = r->current, .pv = r->pv,
						 .pv_name = "pvclock", .pv_source = "kvm-clock",
						 .was_listed = r->was_listed,
						 .was_current = r->was_current};
		char why[128];
		int got = chronon__trust(&f, why, sizeof why);
		CHECK(got == r->want && strstr(why, r->why), "row %zu: got %d '%s', wanted %d '%s'", i,
		      got, why, r->want, r->why);
	}
}

/* ---- the real library in children ------------------------------------ */

static char dir[64];

static void write_file(const char *name, const char *text)
{
	char path[128], tmp[140];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "cannot write %s",
	      tmp);
	if (fd >= 0)
		close(fd);
	rename(tmp, path); /* a reader never sees a half-written file */
}

static void fake_sysfs(const char *available, const char *current)
{
	write_file("available_clocksource", available);
	write_file("current_clocksource", current);
}

/* Facts of this machine. */
static int invariant_tsc(void)
{
#if defined(__x86_64__)
	unsigned a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000007u), "c"(0));
	return (d >> 8) & 1;
#else
	return 0;
#endif
}

static int pv_vouches(void)
{
	if (chronon__config_paravirt_off())
		return 0;
	struct chronon__pv pv;
	const void *pg = chronon__pvclock_page();
	return pg && chronon__pvclock_parse(pg, &pv) == 0 && pv.stable;
}

static void warm(int64_t ns)
{
	int64_t until = test_kernel_ns(CLOCK_MONOTONIC) + ns;
	while (test_kernel_ns(CLOCK_MONOTONIC) < until)
		chronon_now_ns(CLOCK_MONOTONIC);
}

/* Child: the counter chosen at start must be `want` ("tsc" or "kernel"). */
static int start_child(const char *want, const char *why)
{
	warm(test_emulated() ? 1000000000 : 100000000);
	struct chronon_status st;
	chronon_status(&st);
	printf("  start: counter %s, source %s, reason '%s'\n", st.counter, st.frequency_source,
	       st.fallback_reason);
	if (strcmp(st.counter, want) != 0)
		return 1;
	if (why && !strstr(st.fallback_reason, why) && !strstr(st.frequency_source, why))
		return 2;
	return 0;
}

/* Child: on the counter, then the fake kernel stops vouching; within a
 * resync interval (1 s) plus slack the process is on the kernel, and no
 * served monotonic clock went back on the way. */
static int drop_child(const char *available, const char *current, const char *why)
{
	/* Calibrating takes longer on a loaded machine: wait for the counter,
	 * a while, before calling the case impossible here. */
	struct chronon_status st;
	int64_t give_up = test_kernel_ns(CLOCK_MONOTONIC) + (test_emulated() ? 20 : 5) * 1000000000LL;
	do {
		warm(10000000);
		chronon_status(&st);
	} while (st.mode != CHRONON_MODE_COUNTER && test_kernel_ns(CLOCK_MONOTONIC) < give_up);
	if (st.mode != CHRONON_MODE_COUNTER)
		return 77;
	fake_sysfs(available, current);
	int64_t start = test_kernel_ns(CLOCK_MONOTONIC), last = 0, t = start;
	int64_t limit = test_emulated() ? 10000000000LL : 3000000000LL;
	for (;;) {
		int64_t v = chronon_now_ns(CLOCK_MONOTONIC);
		if (v < last) {
			printf("  MONOTONIC back by %lld ns\n", (long long)(last - v));
			return 3;
		}
		last = v;
		t = test_kernel_ns(CLOCK_MONOTONIC);
		if (t - start > limit)
			break;
		chronon_status(&st);
		if (st.mode == CHRONON_MODE_KERNEL)
			break;
		usleep(1000);
	}
	printf("  dropped after %.0f ms: mode %s, reason '%s'\n", (double)(t - start) / 1e6,
	       st.mode_name, st.fallback_reason);
	if (st.mode != CHRONON_MODE_KERNEL)
		return 4;
	if (!strstr(st.fallback_reason, why))
		return 5;
	for (int i = 0; i < 100000; i++) {
		int64_t v = chronon_now_ns(CLOCK_MONOTONIC);
		if (v < last)
			return 6;
		last = v;
	}
	return 0;
}

/* Each case runs in a fresh program (the test re-executed), because what a
 * process once saw of the kernel's verdict stays with it, forks included. */
static void in_child(const char *what, const char *fn, const char *a, const char *b,
		     const char *c)
{
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("CHRONON_CLOCKSOURCE_DIR", dir, 1);
		execl("/proc/self/exe", "test_trust", fn, a ? a : "", b ? b : "", c ? c : "",
		      (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(p, &st, 0);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (code == 77)
		printf("  %s: skipped (the counter never ran here)\n", what);
	else
		CHECK(code == 0, "%s: child status %d", what, code);
}

static int child_main(char **argv)
{
	snprintf(dir, sizeof dir, "%s", getenv("CHRONON_CLOCKSOURCE_DIR"));
	int r = strcmp(argv[1], "start") == 0
			? start_child(argv[2], *argv[3] ? argv[3] : NULL)
			: drop_child(argv[2], argv[3], argv[4]);
	fflush(stdout);
	return r;
}

int main(int argc, char **argv)
{
	/* The default choice is the subject: nothing forced from outside. */
	test_unforce();
	unsetenv("CHRONON_COUNTER");
	if (argc == 5)
		return child_main(argv);
	policy();
#if !defined(__x86_64__)
	/* The rules above are the TSC's; other counters have their own. */
	return test_exit();
#endif
	snprintf(dir, sizeof dir, "/tmp/chronon-trust-%d", (int)getpid());
	if (mkdir(dir, 0755) != 0) {
		printf("cannot make %s: %s\n", dir, strerror(errno));
		return 1;
	}
	int inv = invariant_tsc(), pv = pv_vouches();
	printf("this machine: invariant TSC %s, pvclock page %s\n", inv ? "yes" : "no",
	       pv ? "vouches" : "absent or not stable");

	/* kvm-clock only, tsc=unstable: the counter only where the page vouches. */
	fake_sysfs("kvm-clock \n", "kvm-clock\n");
	in_child("kvm-clock only", "start", inv && pv ? "tsc" : "kernel",
		 inv && pv ? "pvclock" : inv ? "does not list" : "not invariant", NULL);
	/* The kernel on the TSC. */
	fake_sysfs("tsc kvm-clock \n", "tsc\n");
	in_child("tsc listed", "start", inv ? "tsc" : "kernel", NULL, NULL);
	/* Unreadable files. */
	char missing[96];
	snprintf(missing, sizeof missing, "%s/available_clocksource", dir);
	unlink(missing);
	in_child("list unreadable", "start", inv && pv ? "tsc" : "kernel",
		 inv && pv ? NULL : inv ? "cannot read" : NULL, NULL);

	if (inv) {
		fake_sysfs("tsc kvm-clock \n", "tsc\n");
		in_child("watchdog drops tsc", "drop", "kvm-clock \n", "kvm-clock\n",
			 "dropped tsc");
		fake_sysfs("tsc hpet \n", "tsc\n");
		in_child("administrator picks hpet", "drop", "tsc hpet \n", "hpet\n",
			 "moved from tsc to hpet");
	}
	char path[128];
	snprintf(path, sizeof path, "%s/current_clocksource", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/available_clocksource", dir);
	unlink(path);
	rmdir(dir);
	return test_exit();
}
