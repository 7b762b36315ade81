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
#include "arch.h"

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
	int64_t k = test_kernel_ns(CLOCK_REALTIME), v = chronon_now_ns(CLOCK_REALTIME);
	int64_t k2 = test_kernel_ns(CLOCK_REALTIME);
	int64_t slack = test_emulated() ? 5000000 : 100000;
	if (v < k - slack || v > k2 + slack)
		return 13;
	return 0;
}

int main(void)
{
	const char *arch = CHRONON_ARCH_HAS_COUNTER ? CHRONON_ARCH_COUNTER_NAME : "kernel";
	const struct want cases[] = {
		{"CHRONON_COUNTER", NULL, arch, NULL},
		{"CHRONON_COUNTER", "kernel", "kernel", "CHRONON_COUNTER=kernel"},
		{"CHRONON_COUNTER", CHRONON_ARCH_COUNTER_NAME, arch, NULL},
		{"CHRONON_COUNTER", "bogus", arch, "CHRONON_COUNTER=bogus ignored"},
		{"CHRONON_COUNTER", "", arch, NULL},
		{"CHRONON_COUNTER", "tsc\nkernel", arch, "CHRONON_COUNTER=tsc?kernel ignored"},
		{"CHRONON_ORDER", "relaxed", arch, NULL},
		{"CHRONON_ORDER", "sideways", arch, "CHRONON_ORDER=sideways ignored"},
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
