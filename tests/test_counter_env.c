/* CHRONON_COUNTER and CHRONON_ORDER: each value in a fresh child, since
 * the choice is made once per process.  A bad value is ignored with the
 * reason in chronon_status, never a crash and never a wrong time. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chronon.h"
#include "check.h"
#include "force_counter.h"
#include "arch.h"
#include "counter.h"
#include "timekeeper.h"

struct want {
	const char *var, *value;
	const char *counter; /* expected counter after warm-up */
	const char *note;    /* expected text in fallback_reason, or NULL */
};

static int child(const struct want *w)
{
	if (w->value)
		setenv(w->var, w->value, 1);
	/* Reads that succeed leave errno alone, start-up included. */
	errno = EDOM;
	int64_t until = test_kernel_ns(CLOCK_MONOTONIC) + (test_emulated() ? 1000000000 : 50000000);
	while (test_kernel_ns(CLOCK_MONOTONIC) < until) {
		chronon_now_ns(CLOCK_REALTIME);
		struct timespec ts;
		chronon_gettime(CLOCK_MONOTONIC, &ts);
		if (errno != EDOM)
			return 14;
	}
	struct chronon_status st;
	if (chronon_status(&st) != 0)
		return 10;
	printf("  %s=%s: counter %s, mode %s, read %s, reason '%s'\n", w->var,
	       w->value ? w->value : "(unset)", st.counter, st.mode_name, st.counter_read,
	       st.fallback_reason);
	if (strcmp(st.counter, w->counter) != 0)
		return 11;
	if (w->note && !strstr(st.fallback_reason, w->note))
		return 12;
	/* Kernel mode that never ran on the counter calls the kernel
	 * directly, with POSIX's answers to bad arguments all the same. */
	if (strcmp(st.counter, "kernel") == 0) {
		if (atomic_load(&chronon__kernel_direct) != 1)
			return 15;
		struct timespec ts;
		errno = 0;
		if (chronon_gettime(CLOCK_MONOTONIC, NULL) != -1 || errno != EFAULT)
			return 16;
		errno = 0;
		if (chronon_gettime((clockid_t)99, &ts) != -1 || errno != EINVAL)
			return 17;
		errno = 0;
		if (chronon_now_ns((clockid_t)99) != -1 || errno != EINVAL)
			return 18;
	}
	int64_t k = test_kernel_ns(CLOCK_REALTIME), v = chronon_now_ns(CLOCK_REALTIME);
	int64_t k2 = test_kernel_ns(CLOCK_REALTIME);
	int64_t slack = test_emulated() ? 5000000 : 100000;
	if (v < k - slack || v > k2 + slack)
		return 13;
	return 0;
}

int main(void)
{
	/* The default choice is the subject: nothing forced from outside. */
	test_unforce();
	unsetenv("CHRONON_COUNTER");
	unsetenv("CHRONON_ORDER");
	/* The machine's own verdict decides the default; forcing gives the
	 * CPU's counter wherever it can be read at all. */
	const struct chronon__counter *ac = chronon__counter_arch();
	struct chronon__probe p = {0};
	if (ac)
		ac->probe(&p);
	const char *arch = ac && !p.cannot_read ? ac->name : "kernel";
	const char *dflt = ac && p.usable ? ac->name : "kernel";
	int on_counter = strcmp(dflt, "kernel") != 0;
	printf("this machine: %s counter %s (%s)\n", on_counter ? "trusts its" : "does not trust the",
	       ac ? ac->name : "(none)", p.reason);
	const struct want cases[] = {
		{"CHRONON_COUNTER", NULL, dflt, NULL},
		{"CHRONON_COUNTER", "kernel", "kernel", "CHRONON_COUNTER=kernel"},
		{"CHRONON_COUNTER", CHRONON_ARCH_COUNTER_NAME, arch, NULL},
		{"CHRONON_COUNTER", "bogus", dflt, on_counter ? "CHRONON_COUNTER=bogus ignored" : NULL},
		{"CHRONON_COUNTER", "", dflt, NULL},
		{"CHRONON_COUNTER", "tsc\nkernel", dflt,
		 on_counter ? "CHRONON_COUNTER=tsc?kernel ignored" : NULL},
		{"CHRONON_ORDER", "relaxed", dflt, NULL},
		{"CHRONON_ORDER", "sideways", dflt, on_counter ? "CHRONON_ORDER=sideways ignored" : NULL},
	};
	fflush(stdout);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pid_t p = fork();
		if (p == 0) {
			test_child();
			int r = child(&cases[i]);
			fflush(stdout);
			_exit(r);
		}
		int st;
		waitpid(p, &st, 0);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s=%s: child status %d",
		      cases[i].var, cases[i].value ? cases[i].value : "(unset)",
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	return test_exit();
}
