/*
 * The shared page's figures (a benchmark, not a test):
 *   1. reading chronond's page vs the process's own page (cycles per call,
 *      best of many batches, each mode in a fresh process);
 *   2. a fresh process's first reads: the first (answered by the kernel),
 *      the second (which asks chronond for its page), the slowest of the
 *      reads until one is served from the page (one of them collects the
 *      answer, checks and maps the page), and how long after the first
 *      call that happens;
 *   3. chronond's CPU use at its default interval (getrusage of the
 *      child over --cpu-seconds, default 30).
 * usage: shared_page_bench [--cpu-seconds N]
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "chronon.h"
#include "proc_page.h"
#include "shared_page.h"

static int64_t kns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

/* Child: warm up, then best-of-batches cycles per call. */
static int measure_reads(void)
{
	int64_t end = kns() + 300000000;
	while (kns() < end)
		chronon_now_ns(CLOCK_MONOTONIC);
	double best_now = 1e30, best_get = 1e30;
	volatile int64_t sink;
	struct timespec ts;
	for (int r = 0; r < 400; r++) {
		uint64_t a = chronon__arch_counter_read_unordered();
		for (int i = 0; i < 5000; i++)
			sink = chronon_now_ns(CLOCK_MONOTONIC);
		uint64_t b = chronon__arch_counter_read_unordered();
		for (int i = 0; i < 5000; i++)
			chronon_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t c = chronon__arch_counter_read_unordered();
		if ((double)(b - a) / 5000 < best_now)
			best_now = (double)(b - a) / 5000;
		if ((double)(c - b) / 5000 < best_get)
			best_get = (double)(c - b) / 5000;
	}
	(void)sink;
	printf("%-10s now_ns %6.2f cycles  gettime %6.2f cycles  (%s)\n",
	       chronon__shm_active() ? "shared" : "in-process", best_now, best_get,
	       chronon__shm_active() ? "chronond's page" : "own page");
	return 0;
}

/* Child: a fresh process's calls until it reads from the page (1 s at
 * most): the first, the second, the slowest, the time to the page. */
static int measure_first(void)
{
	int64_t a = kns();
	chronon_now_ns(CLOCK_MONOTONIC);
	int64_t b = kns();
	chronon_now_ns(CLOCK_MONOTONIC);
	int64_t c = kns(), worst = 0, t = c;
	while (!chronon__shm_active() && t - a < 1000000000) {
		chronon_now_ns(CLOCK_MONOTONIC);
		int64_t u = kns();
		if (u - t > worst)
			worst = u - t;
		t = u;
	}
	printf("%lld %lld %d %lld %lld\n", (long long)(b - a), (long long)(c - b),
	       chronon__shm_active() != NULL, (long long)worst, (long long)(t - a));
	return 0;
}

static int run_child(const char *self, const char *arg, const char *page, char *out, size_t len)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		setenv("CHRONON_PAGE", page, 1);
		execl(self, self, arg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < len && (r = read(p[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = 0;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return 0;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static pid_t start(const char *page, const char *interval)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (interval)
			execl(CHRONOND_PATH, "chronond", "--foreground", "--page", page, "--interval",
			      interval, (char *)NULL);
		else
			execl(CHRONOND_PATH, "chronond", "--foreground", "--page", page, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 5000 && access(page, F_OK) != 0; i++)
		sleep_ms(1);
	return pid;
}

static double tv(const struct timeval *t)
{
	return (double)t->tv_sec + (double)t->tv_usec * 1e-6;
}

/* CPU seconds chronond uses from start to SIGTERM after `seconds`. */
static double daemon_cpu(const char *page, int seconds)
{
	struct rusage r0, r1;
	getrusage(RUSAGE_CHILDREN, &r0);
	unlink(page);
	pid_t d = start(page, NULL);
	sleep_ms(seconds * 1000);
	kill(d, SIGTERM);
	waitpid(d, NULL, 0);
	getrusage(RUSAGE_CHILDREN, &r1);
	return tv(&r1.ru_utime) - tv(&r0.ru_utime) + tv(&r1.ru_stime) - tv(&r0.ru_stime);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--reads") == 0)
		return measure_reads();
	if (argc == 2 && strcmp(argv[1], "--first") == 0)
		return measure_first();
	int cpu_s = 30;
	if (argc == 3 && strcmp(argv[1], "--cpu-seconds") == 0)
		cpu_s = atoi(argv[2]);
	else if (argc != 1) {
		fprintf(stderr, "usage: shared_page_bench [--cpu-seconds N]\n");
		return 2;
	}
	char dir[64], page[96], out[4096];
	snprintf(dir, sizeof dir, "/tmp/chronon-bench-%d", (int)getpid());
	mkdir(dir, 0755);
	snprintf(page, sizeof page, "%s/page", dir);
	pid_t d = start(page, NULL);

	printf("== reads (best of 400 batches of 5000 calls; 3 fresh processes each)\n");
	for (int i = 0; i < 3; i++) {
		run_child(argv[0], "--reads", "off", out, sizeof out);
		fputs(out, stdout);
		run_child(argv[0], "--reads", page, out, sizeof out);
		fputs(out, stdout);
	}

	printf("== a fresh process's first calls (ns), 50 processes\n");
	int64_t first[50], second[50], slowest[50], until[50];
	int on = 0;
	for (int i = 0; i < 50; i++) {
		long long a = 0, b = 0, w = 0, u = 0;
		int act = 0;
		run_child(argv[0], "--first", page, out, sizeof out);
		sscanf(out, "%lld %lld %d %lld %lld", &a, &b, &act, &w, &u);
		first[i] = a;
		second[i] = b;
		slowest[i] = w;
		until[i] = u;
		on += act;
	}
	qsort(first, 50, sizeof first[0], cmp64);
	qsort(second, 50, sizeof second[0], cmp64);
	qsort(slowest, 50, sizeof slowest[0], cmp64);
	qsort(until, 50, sizeof until[0], cmp64);
	printf("first call (kernel answers):           median %lld  p90 %lld  max %lld\n",
	       (long long)first[25], (long long)first[45], (long long)first[49]);
	printf("second call (asks chronond):           median %lld  p90 %lld  max %lld\n",
	       (long long)second[25], (long long)second[45], (long long)second[49]);
	printf("slowest later call (collects, checks, maps): median %lld  p90 %lld  max %lld\n",
	       (long long)slowest[25], (long long)slowest[45], (long long)slowest[49]);
	printf("first call to the page read from it:   median %lld  p90 %lld  max %lld  (%d/50 on the page)\n",
	       (long long)until[25], (long long)until[45], (long long)until[49], on);
	kill(d, SIGTERM);
	waitpid(d, NULL, 0);

	printf("== chronond at its default interval: start-up alone, then %d s\n", cpu_s);
	double startup = daemon_cpu(page, 0), total = daemon_cpu(page, cpu_s);
	printf("start-up (probe, calibration, first page): %.4f s of CPU\n", startup);
	printf("steady state: %.5f s over %d s = %.4f %% of one CPU (total incl. start-up %.4f %%)\n",
	       total - startup, cpu_s, 100 * (total - startup) / cpu_s, 100 * total / cpu_s);
	snprintf(out, sizeof out, "rm -rf %s", dir);
	return system(out) == 0 ? 0 : 1;
}
