/*
 * chronon_sleep_until / chronon_nanosleep / chronon_sleep_config.
 *
 * What is checked: a sleep never ends before its deadline by the kernel's
 * clock (every clock, every mode, the spin budget running out), EINTR with
 * a remainder that matches the time actually slept, every bad input
 * rejected with clock_nanosleep's / nanosleep's error convention, the
 * environment's settings (bad values reported and ignored), a REALTIME
 * deadline sleeping as long as a MONOTONIC one, the thread's timer slack
 * put back, and the learned margin staying within its bounds.  Nothing
 * here asserts how late a sleep may be: that is the benchmark's business.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "chronon.h"
#include "sleep.h"

#define NS_PER_SEC 1000000000LL

static const clockid_t good_clocks[] = { CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_TAI };
static const char *const good_names[] = { "MONOTONIC", "REALTIME", "BOOTTIME", "TAI" };
#define NGOOD 4

static struct timespec ns_timespec(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / NS_PER_SEC), (long)(ns % NS_PER_SEC) };
	return ts;
}

static int64_t timespec_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NS_PER_SEC + ts->tv_nsec;
}

static void set_config(enum chronon_sleep_mode mode, int64_t spin)
{
	struct chronon_sleep_config cfg = { mode, spin };

	if (chronon_sleep_config(&cfg) != 0) {
		printf("FAIL: chronon_sleep_config(%d, %lld): %s\n", (int)mode, (long long)spin,
		       strerror(errno));
		exit(1);
	}
}

/* ------------------------------------------------------------------ */
/* The environment, read once per process: each case runs in a child
 * forked before this process ever touched the settings. */

struct env_case {
	const char *mode, *spin;          /* NULL: unset */
	enum chronon_sleep_mode want_mode;
	int64_t want_spin;
	int want_mode_msg, want_spin_msg; /* a "chronon: ignoring ..." line expected */
};

static int env_child(const struct env_case *c)
{
	struct chronon_sleep_config cfg;
	struct timespec zero = { 0, 0 };

	if (c->mode)
		setenv("CHRONON_SLEEP_MODE", c->mode, 1);
	else
		unsetenv("CHRONON_SLEEP_MODE");
	if (c->spin)
		setenv("CHRONON_SLEEP_SPIN_NS", c->spin, 1);
	else
		unsetenv("CHRONON_SLEEP_SPIN_NS");
	/* Reading the environment (strtoll's ERANGE, the line on stderr)
	 * must not show through a call that succeeds (rule 15). */
	errno = EDOM;
	if (chronon_sleep_get_config(&cfg) != 0)
		return 10;
	if (errno != EDOM) {
		printf("  env mode=%s spin=%s: errno %d after a successful call\n",
		       c->mode ? c->mode : "(unset)", c->spin ? c->spin : "(unset)", errno);
		return 14;
	}
	if (cfg.mode != c->want_mode || cfg.max_spin_ns != c->want_spin) {
		printf("  env mode=%s spin=%s: got mode %d spin %lld\n", c->mode ? c->mode : "(unset)",
		       c->spin ? c->spin : "(unset)", (int)cfg.mode, (long long)cfg.max_spin_ns);
		return 11;
	}
	if (chronon_sleep_until(CLOCK_MONOTONIC, &zero) != 0)
		return 12;
	/* an explicit setting beats the environment */
	set_config(CHRONON_SLEEP_SLACK, 777);
	if (chronon_sleep_get_config(&cfg) != 0 || cfg.mode != CHRONON_SLEEP_SLACK || cfg.max_spin_ns != 777)
		return 13;
	return 0;
}

static void test_env_case(const struct env_case *c)
{
	int fds[2], status;
	char out[2048];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	fflush(stdout);
	if (pipe(fds) != 0) {
		perror("pipe");
		exit(2);
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		test_child();
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		_exit(env_child(c));
	}
	close(fds[1]);
	while (len < sizeof out - 1 && (n = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);

	const char *mode = c->mode ? c->mode : "(unset)", *spin = c->spin ? c->spin : "(unset)";
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "env mode=%s spin=%s: child status %d",
	      mode, spin, status);
	CHECK(!!strstr(out, "ignoring CHRONON_SLEEP_MODE") == c->want_mode_msg,
	      "env mode=%s: stderr was \"%s\"", mode, out);
	CHECK(!!strstr(out, "ignoring CHRONON_SLEEP_SPIN_NS") == c->want_spin_msg,
	      "env spin=%s: stderr was \"%s\"", spin, out);
}

static void test_env(void)
{
	const int64_t def = CHRONON__SLEEP_DEFAULT_SPIN_NS;
	const struct env_case cases[] = {
		{ NULL, NULL, CHRONON_SLEEP_SPIN, def, 0, 0 },
		{ "spin", NULL, CHRONON_SLEEP_SPIN, def, 0, 0 },
		{ "slack", NULL, CHRONON_SLEEP_SLACK, def, 0, 0 },
		{ "KERNEL", NULL, CHRONON_SLEEP_KERNEL, def, 0, 0 },
		{ "bogus", NULL, CHRONON_SLEEP_SPIN, def, 1, 0 },
		{ "", NULL, CHRONON_SLEEP_SPIN, def, 1, 0 },
		{ "spin ", NULL, CHRONON_SLEEP_SPIN, def, 1, 0 },
		{ NULL, "5000", CHRONON_SLEEP_SPIN, 5000, 0, 0 },
		{ NULL, "0", CHRONON_SLEEP_SPIN, 0, 0, 0 },
		{ NULL, "1000000000", CHRONON_SLEEP_SPIN, 1000000000, 0, 0 },
		{ NULL, "1000000001", CHRONON_SLEEP_SPIN, def, 0, 1 },
		{ NULL, "99999999999999999999999", CHRONON_SLEEP_SPIN, def, 0, 1 },
		{ NULL, "-5", CHRONON_SLEEP_SPIN, def, 0, 1 },
		{ NULL, "abc", CHRONON_SLEEP_SPIN, def, 0, 1 },
		{ NULL, "1e3", CHRONON_SLEEP_SPIN, def, 0, 1 },
		{ NULL, "10us", CHRONON_SLEEP_SPIN, def, 0, 1 },
		{ NULL, " 5", CHRONON_SLEEP_SPIN, def, 0, 1 },
		{ NULL, "5 ", CHRONON_SLEEP_SPIN, def, 0, 1 },
		{ NULL, "", CHRONON_SLEEP_SPIN, def, 0, 1 },
		{ "slack", "-1", CHRONON_SLEEP_SLACK, def, 0, 1 },
		{ "nope", "nope", CHRONON_SLEEP_SPIN, def, 1, 1 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		test_env_case(&cases[i]);
}

/* ------------------------------------------------------------------ */

static void test_bad_inputs(void)
{
	pthread_t self = pthread_self();
	clockid_t thread_cpu, process_cpu;
	clockid_t bad[] = {
		CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID, CLOCK_MONOTONIC_RAW,
		CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_REALTIME_ALARM,
		CLOCK_BOOTTIME_ALARM, -1, 12, 16, 23, 99, INT_MAX, INT_MIN,
		(clockid_t)((~0u << 3) | 3), /* a dynamic (fd) clock: FD_TO_CLOCKID(0) */
		0, 0,                          /* this thread's and process's CPU clocks */
	};
	const size_t nbad = sizeof bad / sizeof bad[0];
	struct timespec ok = { 0, 0 };
	const struct timespec bad_ts[] = {
		{ 0, -1 }, { 0, 1000000000 }, { 0, LONG_MAX }, { 0, LONG_MIN }, { -1, 0 },
		{ -1, 999999999 }, { LLONG_MIN, 0 },
	};
	const size_t nbad_ts = sizeof bad_ts / sizeof bad_ts[0];
	struct timespec rem;
	struct chronon_sleep_config before, after, cfg;
	int rc;

	if (pthread_getcpuclockid(self, &thread_cpu) == 0)
		bad[nbad - 2] = thread_cpu;
	else
		bad[nbad - 2] = CLOCK_THREAD_CPUTIME_ID;
	if (clock_getcpuclockid(getpid(), &process_cpu) == 0)
		bad[nbad - 1] = process_cpu;
	else
		bad[nbad - 1] = CLOCK_PROCESS_CPUTIME_ID;

	/* chronon_sleep_until returns the error number and leaves errno alone */
	for (size_t i = 0; i < nbad; i++) {
		errno = 0;
		rc = chronon_sleep_until(bad[i], &ok);
		CHECK(rc == EINVAL, "clock %d: returned %d", (int)bad[i], rc);
		CHECK(errno == 0, "clock %d: errno set to %d", (int)bad[i], errno);
		rc = chronon_sleep_until(bad[i], NULL);
		CHECK(rc == EINVAL, "clock %d with NULL: returned %d", (int)bad[i], rc);
	}
	for (int c = 0; c < NGOOD; c++) {
		errno = 0;
		rc = chronon_sleep_until(good_clocks[c], NULL);
		CHECK(rc == EFAULT, "%s NULL deadline: returned %d", good_names[c], rc);
		CHECK(errno == 0, "%s NULL deadline: errno set", good_names[c]);
		for (size_t i = 0; i < nbad_ts; i++) {
			rc = chronon_sleep_until(good_clocks[c], &bad_ts[i]);
			CHECK(rc == EINVAL, "%s {%lld, %ld}: returned %d", good_names[c],
			      (long long)bad_ts[i].tv_sec, bad_ts[i].tv_nsec, rc);
		}
		/* the edges that are valid: long past deadlines return at once */
		struct timespec edge = { 0, 999999999 };
		CHECK(chronon_sleep_until(good_clocks[c], &ok) == 0, "%s {0,0}", good_names[c]);
		CHECK(chronon_sleep_until(good_clocks[c], &edge) == 0, "%s {0,999999999}", good_names[c]);
	}

	/* chronon_nanosleep: -1 and errno, rem untouched */
	rem.tv_sec = 42;
	rem.tv_nsec = 42;
	errno = 0;
	rc = chronon_nanosleep(NULL, &rem);
	CHECK(rc == -1 && errno == EFAULT, "nanosleep NULL: rc %d errno %d", rc, errno);
	CHECK(rc != -1 || errno != EFAULT || (rem.tv_sec == 42 && rem.tv_nsec == 42), "rem written");
	rc = chronon_nanosleep(NULL, NULL);
	CHECK(rc == -1 && errno == EFAULT, "nanosleep NULL, NULL: rc %d errno %d", rc, errno);
	for (size_t i = 0; i < nbad_ts; i++) {
		errno = 0;
		rc = chronon_nanosleep(&bad_ts[i], &rem);
		CHECK(rc == -1 && errno == EINVAL, "nanosleep {%lld, %ld}: rc %d errno %d",
		      (long long)bad_ts[i].tv_sec, bad_ts[i].tv_nsec, rc, errno);
	}
	CHECK(rem.tv_sec == 42 && rem.tv_nsec == 42, "rem written on an error");
	CHECK(chronon_nanosleep(&ok, NULL) == 0, "nanosleep {0,0}");
	CHECK(chronon_nanosleep(&ok, &rem) == 0, "nanosleep {0,0} with rem");
	CHECK(rem.tv_sec == 42 && rem.tv_nsec == 42, "rem written on success");

	/* settings */
	CHECK(chronon_sleep_get_config(&before) == 0, "get_config");
	errno = 0;
	CHECK(chronon_sleep_config(NULL) == -1 && errno == EFAULT, "config(NULL): errno %d", errno);
	errno = 0;
	CHECK(chronon_sleep_get_config(NULL) == -1 && errno == EFAULT, "get_config(NULL): errno %d", errno);
	const struct { int mode; int64_t spin; } bad_cfg[] = {
		{ 3, 1000 }, { -1, 1000 }, { 1000, 1000 }, { CHRONON_SLEEP_SPIN, -1 },
		{ CHRONON_SLEEP_SPIN, CHRONON_SLEEP_MAX_SPIN_LIMIT_NS + 1 }, { CHRONON_SLEEP_SLACK, INT64_MIN },
		{ CHRONON_SLEEP_KERNEL, INT64_MAX },
	};
	for (size_t i = 0; i < sizeof bad_cfg / sizeof bad_cfg[0]; i++) {
		cfg.mode = (enum chronon_sleep_mode)bad_cfg[i].mode;
		cfg.max_spin_ns = bad_cfg[i].spin;
		errno = 0;
		rc = chronon_sleep_config(&cfg);
		CHECK(rc == -1 && errno == EINVAL, "config(%d, %lld): rc %d errno %d", bad_cfg[i].mode,
		      (long long)bad_cfg[i].spin, rc, errno);
	}
	CHECK(chronon_sleep_get_config(&after) == 0, "get_config");
	CHECK(after.mode == before.mode && after.max_spin_ns == before.max_spin_ns,
	      "a refused config changed the settings");
	set_config(CHRONON_SLEEP_KERNEL, 0);
	set_config(CHRONON_SLEEP_SPIN, CHRONON_SLEEP_MAX_SPIN_LIMIT_NS);
	CHECK(chronon_sleep_get_config(&after) == 0 && after.mode == CHRONON_SLEEP_SPIN &&
	      after.max_spin_ns == CHRONON_SLEEP_MAX_SPIN_LIMIT_NS, "limits accepted");
	CHECK(chronon_sleep_config(&before) == 0, "restore config");
}

/* ------------------------------------------------------------------ */

static void never_early_round(const char *what)
{
	static const int64_t durations[] = { 0, 1000, 5000, 20000, 60000, 150000, 400000, 1200000 };
	const int reps = 12;

	for (int c = 0; c < NGOOD; c++) {
		int early = 0;
		int64_t worst = INT64_MAX;

		for (int r = 0; r < reps; r++) {
			for (size_t d = 0; d < sizeof durations / sizeof durations[0]; d++) {
				int64_t deadline = test_kernel_ns(good_clocks[c]) + durations[d];
				struct timespec ts = ns_timespec(deadline);
				int rc, saved;
				int64_t after;

				errno = 1234;
				rc = chronon_sleep_until(good_clocks[c], &ts);
				saved = errno;
				after = test_kernel_ns(good_clocks[c]);
				CHECK(rc == 0, "%s %s: returned %d", what, good_names[c], rc);
				CHECK(saved == 1234, "%s %s: errno changed to %d", what, good_names[c], saved);
				if (after < deadline) {
					early++;
					if (after - deadline < worst)
						worst = after - deadline;
				}
			}
		}
		CHECK(early == 0, "%s %s: %d sleeps woke early, worst by %lld ns", what, good_names[c],
		      early, (long long)-worst);
	}

	/* the relative form, on MONOTONIC */
	for (int r = 0; r < reps; r++) {
		for (size_t d = 0; d < sizeof durations / sizeof durations[0]; d++) {
			struct timespec req = ns_timespec(durations[d]);
			int64_t start = test_kernel_ns(CLOCK_MONOTONIC);
			int rc = chronon_nanosleep(&req, NULL);
			int64_t slept = test_kernel_ns(CLOCK_MONOTONIC) - start;

			CHECK(rc == 0, "%s nanosleep: %d", what, rc);
			CHECK(slept >= durations[d], "%s nanosleep(%lld) slept %lld", what,
			      (long long)durations[d], (long long)slept);
		}
	}
}

static void test_never_early(void)
{
	struct chronon_sleep_config saved;

	chronon_sleep_get_config(&saved);
	set_config(CHRONON_SLEEP_SPIN, CHRONON__SLEEP_DEFAULT_SPIN_NS);
	never_early_round("spin");
	/* a budget smaller than the wake-up latency: the spin runs out and
	 * the kernel's own timer ends most sleeps */
	set_config(CHRONON_SLEEP_SPIN, 3000);
	never_early_round("spin 3 us");
	set_config(CHRONON_SLEEP_SPIN, 0);
	never_early_round("spin 0");
	set_config(CHRONON_SLEEP_SLACK, CHRONON__SLEEP_DEFAULT_SPIN_NS);
	never_early_round("slack");
	set_config(CHRONON_SLEEP_KERNEL, CHRONON__SLEEP_DEFAULT_SPIN_NS);
	never_early_round("kernel");
	chronon_sleep_config(&saved);
}

/* ------------------------------------------------------------------ */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* SIGALRM after ms milliseconds, once; the handler without SA_RESTART. */
static void arm_alarm(int ms)
{
	struct sigaction sa;
	struct itimerval it;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

static void disarm_alarm(void)
{
	struct itimerval it;

	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * nanosleep(req) interrupted after about 50 ms: rem must be what was left,
 * req minus the time slept.  rem is taken just before the return, so it
 * can only exceed req - slept by what happened between the two; a VM
 * preempted for a millisecond right there gets two more attempts.
 */
static int rem_attempt(const struct timespec *req, struct timespec *rem, const char *what,
                       int last)
{
	int64_t want = timespec_ns(req);
	int64_t start = test_kernel_ns(CLOCK_MONOTONIC), slept, expect, got;
	int rc, saved_alarms = alarms;

	arm_alarm(50);
	errno = 0;
	rc = chronon_nanosleep(req, rem);
	slept = test_kernel_ns(CLOCK_MONOTONIC) - start;
	disarm_alarm();
	CHECK(rc == -1 && errno == EINTR, "%s: rc %d errno %d", what, rc, errno);
	CHECK(alarms == saved_alarms + 1, "%s: the handler ran %d times", what, alarms - saved_alarms);
	if (rc != -1)
		return 1;
	CHECK(rem->tv_nsec >= 0 && rem->tv_nsec < NS_PER_SEC, "%s: rem not normalised", what);
	expect = want - slept;
	got = timespec_ns(rem);
	CHECK(got >= expect, "%s: rem %lld ns more than req - slept = %lld", what, (long long)got,
	      (long long)expect);
	if (got <= expect + 1000000)
		return 1;
	CHECK(!last, "%s: rem %lld ns, expected %lld (slept %lld)", what, (long long)got,
	      (long long)expect, (long long)slept);
	return 0;
}

static void check_rem(const struct timespec *req, struct timespec *rem, const char *what)
{
	struct timespec copy = *req;

	for (int attempt = 0; attempt < 3; attempt++) {
		/* rem may be req itself: start each attempt from the request */
		*rem = copy;
		if (rem_attempt(rem == req ? rem : &copy, rem, what, attempt == 2))
			return;
	}
}

static void test_eintr(void)
{
	struct timespec req = { 1, 0 }, rem = { -7, -7 }, same = { 1, 500000000 };

	check_rem(&req, &rem, "nanosleep 1 s");
	check_rem(&same, &same, "nanosleep rem == req");
	/* a sleep of centuries takes the kernel's own path */
	req.tv_sec = 5000000000LL;
	req.tv_nsec = 0;
	check_rem(&req, &rem, "nanosleep 5e9 s");

	for (int c = 0; c < NGOOD; c++) {
		int64_t deadline = test_kernel_ns(good_clocks[c]) + NS_PER_SEC;
		struct timespec ts = ns_timespec(deadline);
		int rc, saved_alarms = alarms;

		arm_alarm(30);
		errno = 0;
		rc = chronon_sleep_until(good_clocks[c], &ts);
		disarm_alarm();
		CHECK(rc == EINTR, "%s until: returned %d", good_names[c], rc);
		CHECK(errno == 0, "%s until: errno %d", good_names[c], errno);
		CHECK(alarms == saved_alarms + 1, "%s until: handler ran %d times", good_names[c],
		      alarms - saved_alarms);
		CHECK(test_kernel_ns(good_clocks[c]) < deadline, "%s until: EINTR after the deadline",
		      good_names[c]);

		/* a deadline in 2300: the far path, straight to the kernel */
		struct timespec far = { 10000000000LL, 0 };
		arm_alarm(20);
		rc = chronon_sleep_until(good_clocks[c], &far);
		disarm_alarm();
		CHECK(rc == EINTR, "%s far deadline: returned %d", good_names[c], rc);
	}
	signal(SIGALRM, SIG_DFL);
}

/*
 * A signal during the spin: its handler runs, the spin resumes and the
 * sleep ends at the deadline with 0.  The margin is forced to 1 ms so a
 * 900 us sleep is all spin; the alarm is due 100 us in.  A VM that
 * delivers it after the sleep ended proves nothing either way: noted, and
 * tried again.
 */
static void test_signal_during_spin(void)
{
	struct chronon_sleep_config saved;
	int seen = 0;

	chronon_sleep_get_config(&saved);
	set_config(CHRONON_SLEEP_SPIN, CHRONON_SLEEP_MAX_SPIN_LIMIT_NS);
	for (int attempt = 0; attempt < 5 && !seen; attempt++) {
		struct sigaction sa;
		struct itimerval it;
		int64_t deadline;
		struct timespec ts;
		int rc, before = alarms;

		chronon__sleep_set_margin(0, CHRONON__SLEEP_MARGIN_MAX_NS);
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_alarm;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		memset(&it, 0, sizeof it);
		it.it_value.tv_usec = 100;
		deadline = test_kernel_ns(CLOCK_MONOTONIC) + 900000;
		ts = ns_timespec(deadline);
		setitimer(ITIMER_REAL, &it, NULL);
		rc = chronon_sleep_until(CLOCK_MONOTONIC, &ts);
		int64_t after = test_kernel_ns(CLOCK_MONOTONIC);
		int during = alarms - before;
		disarm_alarm();
		CHECK(rc == 0, "signal during the spin: returned %d", rc);
		CHECK(after >= deadline, "signal during the spin: %lld ns early",
		      (long long)(deadline - after));
		if (during == 1)
			seen = 1;
		else
			printf("note: alarm not delivered during the spin (attempt %d)\n", attempt + 1);
	}
	if (!seen)
		printf("note: signal-during-spin never observed; behaviour unverified on this run\n");
	signal(SIGALRM, SIG_DFL);
	chronon_sleep_config(&saved);
}

/* ------------------------------------------------------------------ */

/* With the clock left alone, REALTIME, BOOTTIME and TAI deadlines sleep as
 * long by CLOCK_MONOTONIC as a MONOTONIC one does. */
static void test_like_monotonic(void)
{
	static const int64_t durations[] = { 300000, 5000000, 20000000 };

	for (int c = 0; c < NGOOD; c++) {
		for (size_t d = 0; d < sizeof durations / sizeof durations[0]; d++) {
			int64_t mono0 = test_kernel_ns(CLOCK_MONOTONIC);
			int64_t deadline = test_kernel_ns(good_clocks[c]) + durations[d];
			struct timespec ts = ns_timespec(deadline);
			int rc = chronon_sleep_until(good_clocks[c], &ts);
			int64_t slept = test_kernel_ns(CLOCK_MONOTONIC) - mono0;

			CHECK(rc == 0, "%s: %d", good_names[c], rc);
			/* the two reads before the sleep are a few us apart and
			 * an NTP slew is at most 500 ppm: 20 us is generous */
			CHECK(slept >= durations[d] - 20000, "%s %lld ns: slept %lld by MONOTONIC",
			      good_names[c], (long long)durations[d], (long long)slept);
			/* a hung or runaway sleep, not lateness: 1 s of slack */
			CHECK(slept <= durations[d] + NS_PER_SEC, "%s %lld ns: slept %lld by MONOTONIC",
			      good_names[c], (long long)durations[d], (long long)slept);
		}
	}
}

/* ------------------------------------------------------------------ */

static void test_slack_restored(void)
{
	static const enum chronon_sleep_mode modes[] = { CHRONON_SLEEP_SPIN, CHRONON_SLEEP_SLACK,
	                                                 CHRONON_SLEEP_KERNEL };
	struct chronon_sleep_config saved;
	int original = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);

	if (original < 0 || prctl(PR_SET_TIMERSLACK, 12345UL, 0UL, 0UL, 0UL) != 0) {
		printf("note: prctl timer slack unavailable, slack check skipped\n");
		return;
	}
	chronon_sleep_get_config(&saved);
	for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
		set_config(modes[m], CHRONON__SLEEP_DEFAULT_SPIN_NS);
		for (int i = 0; i < 20; i++) {
			struct timespec req = { 0, 300000 };
			CHECK(chronon_nanosleep(&req, NULL) == 0, "sleep");
		}
		int now = prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
		CHECK(now == 12345, "mode %d left the slack at %d", (int)modes[m], now);
	}
	chronon_sleep_config(&saved);
	prctl(PR_SET_TIMERSLACK, (unsigned long)original, 0UL, 0UL, 0UL);
}

/* The margin never leaves [2 us, min(1 ms, spin budget)]. */
static void test_margin_bounds(void)
{
	struct chronon_sleep_config saved;
	struct chronon__sleep_stats st;

	chronon_sleep_get_config(&saved);
	set_config(CHRONON_SLEEP_SPIN, 30000);
	for (int i = 0; i < 200; i++) {
		struct timespec req = { 0, 200000 };
		CHECK(chronon_nanosleep(&req, NULL) == 0, "sleep");
	}
	chronon__sleep_stats(&st);
	CHECK(st.kernel_sleeps > 0, "no kernel part ran");
	CHECK(st.margin_ns[0] >= CHRONON__SLEEP_MARGIN_MIN_NS && st.margin_ns[0] <= 30000,
	      "margin %lld outside [2 us, 30 us]", (long long)st.margin_ns[0]);
	for (int c = 0; c < CHRONON__SLEEP_MARGIN_CLASSES; c++)
		CHECK(st.margin_ns[c] == 0 || (st.margin_ns[c] >= CHRONON__SLEEP_MARGIN_MIN_NS &&
		                               st.margin_ns[c] <= CHRONON__SLEEP_MARGIN_MAX_NS),
		      "class %d margin %lld", c, (long long)st.margin_ns[c]);
	chronon_sleep_config(&saved);
}

/* ------------------------------------------------------------------ */
/* Threads: each learns on its own (its stats count only its sleeps) while
 * another thread changes the settings under it (TSan watches). */

static atomic_int stop_flipping;

struct sleeper {
	pthread_t thread;
	int sleeps;
	int early;
	int own_count_ok;
};

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	struct chronon__sleep_stats st;

	chronon__sleep_stats(&st);
	s->own_count_ok = st.sleeps == 0;
	for (int i = 0; i < s->sleeps; i++) {
		int64_t deadline = test_kernel_ns(CLOCK_MONOTONIC) + 20000 + (i % 7) * 15000;
		struct timespec ts = ns_timespec(deadline);

		if (chronon_sleep_until(CLOCK_MONOTONIC, &ts) != 0 || test_kernel_ns(CLOCK_MONOTONIC) < deadline)
			s->early++;
	}
	chronon__sleep_stats(&st);
	s->own_count_ok = s->own_count_ok && st.sleeps == (uint64_t)s->sleeps;
	return NULL;
}

static void *flipper_main(void *arg)
{
	(void)arg;
	for (int i = 0; !atomic_load(&stop_flipping); i++) {
		struct chronon_sleep_config cfg = { (enum chronon_sleep_mode)(i % 3), (i % 5) * 20000 };
		struct timespec pause = { 0, 200000 };

		chronon_sleep_config(&cfg);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void test_threads(void)
{
	struct sleeper s[2] = { { .sleeps = 150 }, { .sleeps = 90 } };
	struct chronon_sleep_config saved;
	pthread_t flipper;

	chronon_sleep_get_config(&saved);
	atomic_store(&stop_flipping, 0);
	pthread_create(&flipper, NULL, flipper_main, NULL);
	for (int i = 0; i < 2; i++)
		pthread_create(&s[i].thread, NULL, sleeper_main, &s[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(s[i].thread, NULL);
	atomic_store(&stop_flipping, 1);
	pthread_join(flipper, NULL);
	for (int i = 0; i < 2; i++) {
		CHECK(s[i].early == 0, "thread %d: %d sleeps failed or woke early", i, s[i].early);
		CHECK(s[i].own_count_ok, "thread %d: stats not its own", i);
	}
	chronon_sleep_config(&saved);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* first, while this process has not read its settings yet */
	test_env();
	test_bad_inputs();
	test_never_early();
	test_eintr();
	test_signal_during_spin();
	test_like_monotonic();
	test_slack_restored();
	test_margin_bounds();
	test_threads();
	return test_exit();
}
