/* Process life: reads keep working and stay monotonic in a forked child
 * (also one forked while another thread was inside the timekeeper), and
 * inside signal handlers that interrupt reads at random points. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chronon.h"
#include "check.h"

/* Child: read for a while, checking monotonicity and agreement; exit 0
 * when all was well, 1 when time went back, 2 when it disagreed with the
 * kernel. */
static int child_reads(int64_t parent_last)
{
	int64_t last = parent_last;
	int n = getenv("CHRONON_TEST_QUICK") || test_emulated() ? 100000 : 2000000;
	for (int i = 0; i < n; i++) {
		int64_t v = chronon_now_ns(CLOCK_MONOTONIC);
		if (v < last)
			return 1;
		last = v;
	}
	int64_t slack = test_emulated() ? 5000000 : 100000;
	int64_t k = test_kernel_ns(CLOCK_MONOTONIC), v = chronon_now_ns(CLOCK_MONOTONIC);
	int64_t k2 = test_kernel_ns(CLOCK_MONOTONIC);
	return (v < k - slack || v > k2 + slack) ? 2 : 0;
}

/* Forks a child that reads from where this process left off; its wait
 * status. */
static int fork_and_read(void)
{
	int64_t last = chronon_now_ns(CLOCK_MONOTONIC);
	pid_t p = fork();
	if (p == 0) {
		test_child();
		_exit(child_reads(last));
	}
	int st;
	waitpid(p, &st, 0);
	return st;
}

static void fork_simple(void)
{
	int st = fork_and_read();
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
}

static atomic_int stop;

static void *hammer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		chronon_now_ns(CLOCK_REALTIME);
	return NULL;
}

/* Forks while another thread reads nonstop (and so at times holds the
 * timekeeper's lock, which the child inherits held). */
static void fork_under_load(void)
{
	pthread_t t;
	atomic_store(&stop, 0);
	pthread_create(&t, NULL, hammer, NULL);
	int bad = 0;
	for (int i = 0; i < 40; i++) {
		int st = fork_and_read();
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			bad++;
			printf("child %d under load: %s %d\n", i, WIFEXITED(st) ? "exit" : "signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		}
		usleep(3000);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	CHECK(bad == 0, "%d of 40 children forked under load failed", bad);
}

static volatile sig_atomic_t handler_bad, handler_runs;
static volatile int64_t handler_last;

static void on_alarm(int sig)
{
	(void)sig;
	int64_t v = chronon_now_ns(CLOCK_MONOTONIC);
	if (v < handler_last)
		handler_bad = 1;
	handler_last = v;
	struct timespec ts;
	if (chronon_gettime(CLOCK_REALTIME, &ts) != 0)
		handler_bad = 2;
	handler_runs++;
}

static void in_signal_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	/* Under emulation a handler takes longer than 200 us. */
	struct itimerval it = {{0, test_emulated() ? 2000 : 200}, {0, test_emulated() ? 2000 : 200}};
	setitimer(ITIMER_REAL, &it, NULL);
	int64_t end = test_kernel_ns(CLOCK_MONOTONIC) + 2000000000;
	int64_t last = 0;
	long back = 0;
	while (test_kernel_ns(CLOCK_MONOTONIC) < end) {
		int64_t v = chronon_now_ns(CLOCK_MONOTONIC);
		if (v < last)
			back++;
		last = v;
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	printf("signal handlers: %d runs, main loop %ld backward steps\n", (int)handler_runs, back);
	CHECK(handler_runs > 100, "only %d handler runs", (int)handler_runs);
	CHECK(handler_bad == 0, "handler saw trouble %d", (int)handler_bad);
	CHECK(back == 0, "main loop went back %ld times", back);
}

int main(void)
{
	chronon_now_ns(CLOCK_MONOTONIC);
	fork_simple();
	fork_under_load();
	in_signal_handlers();
	fork_simple();
	return test_exit();
}
