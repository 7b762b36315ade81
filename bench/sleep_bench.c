/*
 * chronon-sleep-bench: how late do sleeps wake up?
 *
 * For requested sleeps of 10 us, 100 us, 1 ms and 10 ms it measures the
 * lateness (kernel CLOCK_MONOTONIC after the sleep minus the absolute
 * deadline) of three methods, interleaved round by round so that a noisy
 * spell of the machine hits them all alike:
 *   kernel      clock_nanosleep(TIMER_ABSTIME) on a thread with the default
 *               timer slack
 *   slack-1ns   the same on a thread of its own whose slack is 1 ns
 *   chronon     chronon_sleep_until (default settings unless the
 *               environment says otherwise)
 * and the CPU time each sleep cost the thread (CLOCK_THREAD_CPUTIME_ID
 * around the sleep), and for chronon the time it spun.
 *
 * Exit status: 0, or 1 when any sleep woke before its deadline (a bug,
 * whatever the machine's noise).  The targets for 100 us are printed, not
 * enforced: they describe a machine, not the code.
 *
 * usage: chronon-sleep-bench [--quick] [--count N]
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "chronon.h"
#include "sleep.h"

#define NS_PER_SEC 1000000000LL

enum { M_KERNEL, M_SLACK, M_CHRONON, M_COUNT };

static const char *const method_names[M_COUNT] = { "kernel", "slack-1ns", "chronon" };

struct sample {
	int64_t late_ns;
	int64_t cpu_ns;
};

static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static struct timespec ns_timespec(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / NS_PER_SEC), (long)(ns % NS_PER_SEC) };
	return ts;
}

/* One sleep of req ns by the given method on the calling thread. */
static struct sample sleep_once(int method, int64_t req)
{
	struct sample s;
	int64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	int64_t deadline = clock_ns(CLOCK_MONOTONIC) + req;
	struct timespec ts = ns_timespec(deadline);
	int rc;

	if (method == M_CHRONON)
		rc = chronon_sleep_until(CLOCK_MONOTONIC, &ts);
	else
		rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	s.late_ns = clock_ns(CLOCK_MONOTONIC) - deadline;
	s.cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	if (rc != 0) {
		fprintf(stderr, "sleep-bench: %s failed: %s\n", method_names[method], strerror(rc));
		exit(2);
	}
	return s;
}

/* The slack-1ns method runs on a thread of its own so that only that
 * thread's slack changes; the main thread hands it one sleep at a time. */
struct slack_worker {
	pthread_t thread;
	sem_t go, done;
	int64_t req;
	int quit;
	struct sample result;
};

static void *slack_worker_main(void *arg)
{
	struct slack_worker *w = arg;

	if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) != 0)
		perror("sleep-bench: PR_SET_TIMERSLACK");
	for (;;) {
		while (sem_wait(&w->go) != 0 && errno == EINTR)
			;
		if (w->quit)
			break;
		w->result = sleep_once(M_SLACK, w->req);
		sem_post(&w->done);
	}
	return NULL;
}

static struct sample slack_sleep(struct slack_worker *w, int64_t req)
{
	w->req = req;
	sem_post(&w->go);
	while (sem_wait(&w->done) != 0 && errno == EINTR)
		;
	return w->result;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static int64_t percentile(const int64_t *sorted, int n, double q)
{
	int i = (int)(q * n + 0.999999) - 1;

	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return sorted[i];
}

struct summary {
	int64_t p50, p99, max;
	int early;
	double cpu_us;
};

static struct summary summarise(const struct sample *s, int n, int64_t *scratch)
{
	struct summary r = { 0, 0, 0, 0, 0.0 };
	int64_t cpu = 0;

	for (int i = 0; i < n; i++) {
		scratch[i] = s[i].late_ns;
		cpu += s[i].cpu_ns;
		if (s[i].late_ns < 0)
			r.early++;
	}
	qsort(scratch, (size_t)n, sizeof *scratch, cmp_i64);
	r.p50 = percentile(scratch, n, 0.50);
	r.p99 = percentile(scratch, n, 0.99);
	r.max = scratch[n - 1];
	r.cpu_us = (double)cpu / n / 1000.0;
	return r;
}

int main(int argc, char **argv)
{
	static const int64_t reqs[] = { 10000, 100000, 1000000, 10000000 };
	int counts[] = { 2000, 2000, 1000, 200 };
	const int nreqs = (int)(sizeof reqs / sizeof reqs[0]);
	struct slack_worker worker;
	struct sample *samples[M_COUNT];
	int64_t *scratch;
	int early_total = 0, maxcount = 0;
	struct summary at100[M_COUNT];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			counts[0] = counts[1] = 100;
			counts[2] = 40;
			counts[3] = 6;
		} else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
			int n = atoi(argv[++i]);
			if (n < 1) {
				fprintf(stderr, "sleep-bench: --count needs a positive number\n");
				return 2;
			}
			for (int k = 0; k < nreqs; k++)
				counts[k] = n;
		} else {
			fprintf(stderr, "usage: %s [--quick] [--count N]\n", argv[0]);
			return 2;
		}
	}
	for (int k = 0; k < nreqs; k++)
		if (counts[k] > maxcount)
			maxcount = counts[k];
	for (int m = 0; m < M_COUNT; m++)
		samples[m] = calloc((size_t)maxcount, sizeof(struct sample));
	scratch = calloc((size_t)maxcount, sizeof *scratch);
	if (!scratch || !samples[0] || !samples[1] || !samples[2]) {
		fprintf(stderr, "sleep-bench: out of memory\n");
		return 2;
	}

	memset(&worker, 0, sizeof worker);
	sem_init(&worker.go, 0, 0);
	sem_init(&worker.done, 0, 0);
	if (pthread_create(&worker.thread, NULL, slack_worker_main, &worker) != 0) {
		fprintf(stderr, "sleep-bench: cannot start the slack thread\n");
		return 2;
	}

	/* The machine's load decides the tails more than any method does:
	 * print it so a table is read with its conditions. */
	FILE *load = fopen("/proc/loadavg", "r");
	char loadline[128] = "?";
	if (load) {
		if (!fgets(loadline, sizeof loadline, load))
			strcpy(loadline, "?");
		loadline[strcspn(loadline, "\n")] = '\0';
		fclose(load);
	}
	printf("load average: %s\n", loadline);

	struct chronon_sleep_config cfg;
	chronon_sleep_get_config(&cfg);
	static const char *const modes[] = { "spin", "slack", "kernel" };
	printf("chronon sleep settings: mode %s, max spin %lld ns; lateness in us "
	       "(kernel MONOTONIC after the sleep minus the deadline)\n",
	       (unsigned)cfg.mode < 3 ? modes[cfg.mode] : "?", (long long)cfg.max_spin_ns);
	printf("%-8s %-10s %6s %9s %9s %9s %6s %9s %9s\n", "request", "method", "n",
	       "p50", "p99", "max", "early", "cpu/sleep", "spin/sleep");

	for (int k = 0; k < nreqs; k++) {
		struct chronon__sleep_stats st0, st1;

		chronon__sleep_stats(&st0);
		for (int r = 0; r < counts[k]; r++) {
			/* rotate the order so no method always follows another */
			for (int j = 0; j < M_COUNT; j++) {
				int m = (r + j) % M_COUNT;
				samples[m][r] = m == M_SLACK ? slack_sleep(&worker, reqs[k])
				                             : sleep_once(m, reqs[k]);
			}
		}
		chronon__sleep_stats(&st1);
		for (int m = 0; m < M_COUNT; m++) {
			struct summary s = summarise(samples[m], counts[k], scratch);
			char spin[16] = "-";

			if (m == M_CHRONON)
				snprintf(spin, sizeof spin, "%.2f",
				         (double)(st1.spin_ns - st0.spin_ns) / counts[k] / 1000.0);
			printf("%5lld us %-10s %6d %9.2f %9.2f %9.2f %6d %9.2f %9s\n",
			       (long long)reqs[k] / 1000, method_names[m], counts[k],
			       s.p50 / 1000.0, s.p99 / 1000.0, s.max / 1000.0, s.early,
			       s.cpu_us, spin);
			early_total += s.early;
			if (reqs[k] == 100000)
				at100[m] = s;
		}
	}

	struct chronon__sleep_stats st;
	chronon__sleep_stats(&st);
	printf("chronon: learned margins %.1f / %.1f / %.1f us (kernel parts <1 ms / <8 ms / longer); "
	       "%llu kernel parts, %llu woke later than the margin\n",
	       st.margin_ns[0] / 1000.0, st.margin_ns[1] / 1000.0, st.margin_ns[2] / 1000.0,
	       (unsigned long long)st.kernel_sleeps,
	       (unsigned long long)st.misses);
	{
		const struct summary *c = &at100[M_CHRONON], *k = &at100[M_KERNEL];
		double ratio = k->p99 > 0 ? (double)c->p99 / (double)k->p99 : 0.0;

		printf("100 us targets: chronon p50 %.2f us (<= 1: %s), p99 %.2f us = %.3f x "
		       "kernel's %.2f (<= 0.15: %s), early %d (0: %s)\n",
		       c->p50 / 1000.0, c->p50 <= 1000 ? "met" : "MISSED",
		       c->p99 / 1000.0, ratio, k->p99 / 1000.0, ratio <= 0.15 ? "met" : "MISSED",
		       c->early, c->early == 0 ? "met" : "MISSED");
	}

	worker.quit = 1;
	sem_post(&worker.go);
	pthread_join(worker.thread, NULL);
	for (int m = 0; m < M_COUNT; m++)
		free(samples[m]);
	free(scratch);
	if (early_total) {
		fprintf(stderr, "sleep-bench: %d sleeps woke before their deadline\n", early_total);
		return 1;
	}
	return 0;
}
