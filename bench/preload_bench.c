/*
 * What an unmodified program gains from libchronon-preload.so.
 *
 * Built without chronon: the measured loop is a plain program calling
 * clock_gettime(CLOCK_MONOTONIC) through libc.  The program runs itself
 * as a child twice per pair, once as it is (libc -> vDSO) and once under
 * LD_PRELOAD, alternating so that the machine's slow drifts hit both
 * sides alike, and prints the median ns per call of each side and their
 * ratio (preload / vDSO).
 *
 *   chronon-preload-bench [--preload PATH] [--pairs N] [--rounds N]
 *                         [--calls N] [--warmup-ms N]
 *
 * Each child first calls the clock for --warmup-ms (chronon serves the
 * kernel's time while it measures the counter at start-up, and the shim
 * is not meant to be measured then), then times --rounds rounds of
 * --calls calls with the raw system call (never interposed) and prints
 * the median round.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CHRONON_PRELOAD_PATH
#define CHRONON_PRELOAD_PATH "libchronon-preload.so"
#endif

struct opts {
	const char *preload;
	int pairs, rounds, warmup_ms;
	long calls;
};

static int64_t raw_now_ns(void)
{
	struct timespec ts;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* 1 when the preload is mapped here: the child says so, so that a run
 * where LD_PRELOAD silently did not apply cannot pass for a measurement. */
static int preload_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, "libchronon-preload") != NULL;
	fclose(f);
	return found;
}

static int child(const struct opts *o)
{
	struct timespec ts;
	uint64_t sink = 0;
	int64_t end = raw_now_ns() + (int64_t)o->warmup_ms * 1000000;
	while (raw_now_ns() < end)
		for (int i = 0; i < 1000; i++) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			sink += (uint64_t)ts.tv_nsec;
		}
	double *ns = calloc((size_t)o->rounds, sizeof *ns);
	if (!ns)
		return 1;
	for (int r = 0; r < o->rounds; r++) {
		int64_t t0 = raw_now_ns();
		for (long i = 0; i < o->calls; i++) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			sink += (uint64_t)ts.tv_nsec;
		}
		ns[r] = (double)(raw_now_ns() - t0) / (double)o->calls;
	}
	printf("%.3f %d %llu\n", median(ns, o->rounds), preload_mapped(),
	       (unsigned long long)(sink & 1));
	free(ns);
	return 0;
}

/* Runs one child, with or without the preload; its median, or < 0. */
static double run_child(const char *self, const struct opts *o, int preload, int *mapped)
{
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char rounds[16], calls[24], warm[16];
		snprintf(rounds, sizeof rounds, "%d", o->rounds);
		snprintf(calls, sizeof calls, "%ld", o->calls);
		snprintf(warm, sizeof warm, "%d", o->warmup_ms);
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		if (preload)
			setenv("LD_PRELOAD", o->preload, 1);
		else
			unsetenv("LD_PRELOAD");
		execl(self, self, "--child", "--rounds", rounds, "--calls", calls,
		      "--warmup-ms", warm, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	char buf[128] = {0};
	ssize_t n = read(fd[0], buf, sizeof buf - 1);
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	double v;
	if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    sscanf(buf, "%lf %d", &v, mapped) != 2)
		return -1;
	return v;
}

static int parse(int argc, char **argv, struct opts *o, int *is_child)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--child") == 0) {
			*is_child = 1;
			continue;
		}
		if (i + 1 >= argc)
			return -1;
		const char *v = argv[++i];
		if (strcmp(a, "--preload") == 0)
			o->preload = v;
		else if (strcmp(a, "--pairs") == 0)
			o->pairs = atoi(v);
		else if (strcmp(a, "--rounds") == 0)
			o->rounds = atoi(v);
		else if (strcmp(a, "--calls") == 0)
			o->calls = atol(v);
		else if (strcmp(a, "--warmup-ms") == 0)
			o->warmup_ms = atoi(v);
		else
			return -1;
	}
	return o->pairs > 0 && o->rounds > 0 && o->calls > 0 && o->warmup_ms >= 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o = {.preload = CHRONON_PRELOAD_PATH, .pairs = 5, .rounds = 15,
			 .calls = 200000, .warmup_ms = 1500};
	int is_child = 0;
	if (parse(argc, argv, &o, &is_child) != 0) {
		fprintf(stderr, "usage: %s [--preload PATH] [--pairs N] [--rounds N] "
				"[--calls N] [--warmup-ms N]\n", argv[0]);
		return 2;
	}
	if (is_child)
		return child(&o);
	const char *self = "/proc/self/exe";
	double *plain = calloc((size_t)o.pairs, sizeof *plain);
	double *pre = calloc((size_t)o.pairs, sizeof *pre);
	if (!plain || !pre)
		return 1;
	for (int i = 0; i < o.pairs; i++) {
		int m_plain = 0, m_pre = 0;
		plain[i] = run_child(self, &o, 0, &m_plain);
		pre[i] = run_child(self, &o, 1, &m_pre);
		if (plain[i] < 0 || pre[i] < 0 || m_plain || !m_pre) {
			fprintf(stderr, "preload-bench: child failed or LD_PRELOAD=%s did not apply\n",
				o.preload);
			return 1;
		}
		printf("pair %d: vDSO %.2f ns  preload %.2f ns  ratio %.3f\n", i + 1, plain[i],
		       pre[i], pre[i] / plain[i]);
	}
	double mp = median(plain, o.pairs), mc = median(pre, o.pairs);
	printf("clock_gettime(CLOCK_MONOTONIC), unmodified program, median of %d pairs:\n", o.pairs);
	printf("  libc -> vDSO        %7.2f ns/call\n", mp);
	printf("  libchronon-preload  %7.2f ns/call\n", mc);
	printf("  ratio               %7.3f (target <= 0.85)\n", mc / mp);
	free(plain);
	free(pre);
	return 0;
}
