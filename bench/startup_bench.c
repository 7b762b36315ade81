/*
 * How soon a fresh process reads the counter: each of N children reads
 * CLOCK_MONOTONIC in a loop from its very first call and notes the call
 * and the time (kernel MONOTONIC since its first call) at which the
 * timekeeper reached counter mode.  Where the machine states the
 * counter's frequency exactly (a pvclock page, CPUID 0x15) that is the
 * second call; elsewhere the rate must first be measured.  Medians over
 * the children; the spread beside them.
 * Usage: startup_bench [CHILDREN]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chronon.h"
#include "clock.h"

static int64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 21;
	if (n < 1 || n > 1000) {
		fprintf(stderr, "startup_bench: CHILDREN must be 1..1000\n");
		return 2;
	}
	double calls[1000], us[1000];
	for (int i = 0; i < n; i++) {
		int fd[2];
		if (pipe(fd) != 0)
			return 1;
		pid_t p = fork();
		if (p == 0) {
			mono(); /* libc's own first call, out of the way */
			int64_t t0 = mono();
			long k = 0;
			while (atomic_load(&chronon__proc_tk.state) != CHRONON__TK_COUNTER && k < 100000000) {
				chronon_now_ns(CLOCK_MONOTONIC);
				k++;
			}
			double r[2] = {(double)k, (double)(mono() - t0) / 1e3};
			_exit(write(fd[1], r, sizeof r) == sizeof r ? 0 : 1);
		}
		close(fd[1]);
		double r[2] = {0, 0};
		if (read(fd[0], r, sizeof r) != sizeof r)
			return 1;
		close(fd[0]);
		waitpid(p, NULL, 0);
		calls[i] = r[0];
		us[i] = r[1];
	}
	qsort(calls, (size_t)n, sizeof calls[0], cmp);
	qsort(us, (size_t)n, sizeof us[0], cmp);
	int64_t until = mono() + 100000000;
	while (mono() < until)
		chronon_now_ns(CLOCK_MONOTONIC);
	struct chronon_status st;
	chronon_status(&st);
	printf("first counter read in a fresh process (%d processes, frequency source %s):\n", n,
	       st.frequency_source);
	printf("  calls before it   median %.0f (%.0f..%.0f)\n", calls[n / 2], calls[0], calls[n - 1]);
	printf("  time before it    median %.1f us (%.1f..%.1f)\n", us[n / 2], us[0], us[n - 1]);
	return 0;
}
