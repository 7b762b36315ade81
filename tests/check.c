/* Test support shared by every test program (see check.h). */
#include "check.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int failures;

void test_fail(const char *file, int line, const char *what)
{
	failures++;
	printf("FAIL %s:%d: %s: ", file, line, what);
}

int test_failures(void)
{
	return failures;
}

int test_exit(void)
{
	printf("%s (%d failures)\n", failures ? "FAILED" : "ok", failures);
	return failures ? 1 : 0;
}

int test_emulated(void)
{
	const char *e = getenv("CHRONON_EMULATED");
	return e && *e && strcmp(e, "0") != 0;
}

int64_t test_kernel_ns(clockid_t clock)
{
	struct timespec ts;
	if (clock_gettime(clock, &ts) != 0) {
		perror("clock_gettime");
		exit(2);
	}
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void test_child(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

uint64_t test_rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/*
 * No test outlives itself.  Before main, a test program that is not
 * started by another test becomes the leader of a process group of its
 * own (which every child it starts joins) and forks a keeper: a process
 * outside the group that waits for the test to die (its parent death
 * signal), however it dies (exit, failure, crash, ctest's kill at its
 * timeout), then kills the group and every process that carries the
 * test's mark, CHRONON_TEST_GROUP=<its pid>, in its environment (those
 * that left the group too: a daemon that called setsid).  The suite's
 * last test (tests/leftovers.sh) fails if any marked process is left.
 */
static int marked(pid_t pid, const char *mark, size_t len)
{
	char path[64], env[65536];
	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(env, 1, sizeof env - 1, f);
	fclose(f);
	for (size_t i = 0; i + len <= n; i += strlen(env + i) + 1)
		if (memcmp(env + i, mark, len) == 0 && env[i + len] == 0)
			return 1;
	return 0;
}

static int kill_marked(const char *mark)
{
	int found = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid > 0 && pid != getpid() && marked(pid, mark, strlen(mark))) {
			kill(pid, SIGKILL);
			found++;
		}
	}
	if (d)
		closedir(d);
	return found;
}

static void keep(pid_t test, int own_group)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGUSR1);
	/* Not ctest's output pipe: it must see its end when the test ends. */
	for (int fd = 0; fd < 1024; fd++)
		close(fd);
	if (getppid() == test) {
		int sig;
		sigwait(&set, &sig);
	}
	if (own_group)
		kill(-test, SIGKILL);
	char mark[48];
	snprintf(mark, sizeof mark, "CHRONON_TEST_GROUP=%d", (int)test);
	/* Again while some are found: one may have been forking. */
	for (int round = 0; round < 10 && kill_marked(mark); round++)
		usleep(20000);
	_exit(0);
}

__attribute__((constructor)) static void test_group(void)
{
	const char *outer = getenv("CHRONON_TEST_GROUP");
	if (outer && *outer && kill((pid_t)atoi(outer), 0) == 0)
		return; /* started by a live test: its keeper covers this one */
	pid_t test = getpid();
	/* A shell job's leader already (run by hand): the group may hold
	 * the rest of a pipeline, so only marked processes are killed. */
	int own_group = getpgid(0) != test && setpgid(0, 0) == 0;
	char id[24];
	snprintf(id, sizeof id, "%d", (int)test);
	setenv("CHRONON_TEST_GROUP", id, 1);
	fflush(NULL);
	if (fork() == 0)
		keep(test, own_group);
}
