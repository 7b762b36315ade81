/*
 * A fork/exec chain, built WITHOUT chronon.
 *
 *   chain N PREV_NS
 *
 * reads CLOCK_MONOTONIC (never below PREV_NS, what the previous link
 * read), reads it in a thread too, forks; the child reads the clock once
 * more (a child of a process that had threads) and execs "chain N-1 NOW".
 * The parent waits and exits with the child's status; N = 0 ends the
 * chain.  LD_PRELOAD and CHRONON_PRELOAD travel down the chain as
 * environment variables, and every link that exits normally appends its
 * own line to CHRONON_PRELOAD_TRACE: N + 1 lines for "chain N".
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *in_thread(void *arg)
{
	int64_t *v = arg;
	*v = mono_ns();
	return NULL;
}

static int fail(const char *what, long long a, long long b)
{
	fprintf(stderr, "chain: %s: %lld then %lld\n", what, a, b);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	int n = atoi(argv[1]);
	long long prev = atoll(argv[2]);
	int64_t first = mono_ns();
	if (first < prev)
		return fail("exec went back in time", prev, (long long)first);
	pthread_t tid;
	int64_t threaded = -1;
	if (pthread_create(&tid, NULL, in_thread, &threaded) != 0)
		return 1;
	pthread_join(tid, NULL);
	if (threaded < first)
		return fail("thread went back in time", (long long)first, (long long)threaded);
	if (n <= 0)
		return 0;
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int64_t now = mono_ns();
		if (now < threaded)
			_exit(fail("fork went back in time", (long long)threaded, (long long)now));
		char nbuf[16], tbuf[32];
		snprintf(nbuf, sizeof nbuf, "%d", n - 1);
		snprintf(tbuf, sizeof tbuf, "%lld", (long long)now);
		execl("/proc/self/exe", argv[0], nbuf, tbuf, (char *)NULL);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}
