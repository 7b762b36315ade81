/*
 * No test outlives itself (tests/check.c): a test program killed the way
 * ctest kills one at its timeout (SIGKILL, no chance to clean up) leaves
 * neither the child it forked nor the daemon that left its process group
 * with setsid: its keeper kills both.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

__attribute__((noreturn)) static void wait_forever(void)
{
	for (;;)
		pause();
}

/* The victim: a child in its group and a daemon outside it (setsid, then
 * exec, as daemons do), both waiting forever; their pids on stdout. */
__attribute__((noreturn)) static void victim(const char *self)
{
	pid_t in = fork();
	if (in == 0)
		for (;;)
			pause();
	pid_t out = fork();
	if (out == 0) {
		setsid();
		execl("/proc/self/exe", self, "--wait", (char *)NULL);
		_exit(127);
	}
	/* Once the daemon runs its own program (its mark inherited). */
	for (int i = 0; i < 500; i++) {
		char path[64], cmd[256] = "";
		snprintf(path, sizeof path, "/proc/%d/cmdline", (int)out);
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(cmd, 1, sizeof cmd - 1, f) : 0;
		if (f)
			fclose(f);
		if (n > strlen(cmd) + 1 && strcmp(cmd + strlen(cmd) + 1, "--wait") == 0)
			break;
		usleep(10000);
	}
	printf("%d %d\n", (int)in, (int)out);
	fflush(stdout);
	for (;;)
		pause();
}

/* Gone, or a zombie about to be reaped by whoever inherited it. */
static int gone(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return p && p[2] == 'Z';
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--victim") == 0)
		victim(argv[0]);
	if (argc == 2 && strcmp(argv[1], "--wait") == 0)
		wait_forever();
	int p[2];
	if (pipe(p) != 0)
		return 2;
	fflush(stdout);
	pid_t v = fork();
	if (v == 0) {
		dup2(p[1], 1);
		close(p[0]);
		/* A test of its own, not one of this test's processes. */
		unsetenv("CHRONON_TEST_GROUP");
		execl("/proc/self/exe", argv[0], "--victim", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[64] = "";
	ssize_t n = read(p[0], line, sizeof line - 1);
	line[n > 0 ? n : 0] = 0;
	int in = 0, out = 0;
	if (sscanf(line, "%d %d", &in, &out) != 2 || in <= 0 || out <= 0) {
		printf("FAIL the victim did not start its children ('%s')\n", line);
		kill(v, SIGKILL);
		return 1;
	}
	kill(v, SIGKILL);
	waitpid(v, NULL, 0);
	struct timespec tick = {0, 10000000};
	for (int i = 0; i < 500 && !(gone(in) && gone(out)); i++)
		nanosleep(&tick, NULL);
	CHECK(gone(in), "the victim's child %d outlived it", in);
	CHECK(gone(out), "the victim's setsid daemon %d outlived it", out);
	printf("a test killed by SIGKILL: its child and its setsid daemon were killed too\n");
	kill(in, SIGKILL);
	kill(out, SIGKILL);
	return test_exit();
}
