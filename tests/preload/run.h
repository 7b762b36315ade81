/*
 * What the preload test drivers share: running a program with or without
 * LD_PRELOAD (and extra environment), capturing its output, and reading
 * the shim's CHRONON_PRELOAD_TRACE file.  Header-only, static functions:
 * every driver is its own program.
 *
 * The paths come from tests/cmake/preload.cmake as compile definitions:
 * CHRONON_PL_SO (the shim), CHRONON_PL_PROG, CHRONON_PL_CHAIN.
 */
#ifndef CHRONON_TEST_PRELOAD_RUN_H
#define CHRONON_TEST_PRELOAD_RUN_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define PL_OUT_MAX 65536

struct pl_run {
	int status;             /* exit code, or 128 + signal, or -1 */
	char out[PL_OUT_MAX];   /* stdout, NUL-terminated (truncated if longer) */
};

/* Runs argv (a PATH search for argv[0]) with LD_PRELOAD=CHRONON_PL_SO
 * when preload is set, without LD_PRELOAD otherwise; env is a
 * NULL-terminated list of "NAME=value" (value empty: set empty) or
 * "NAME" (unset).  stderr goes to ours. */
__attribute__((unused)) static int pl_run(struct pl_run *r, char *const argv[], int preload, const char *const env[])
{
	int fd[2];
	memset(r->out, 0, sizeof r->out);
	r->status = -1;
	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* and the test's keeper (tests/check.c) */
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		if (preload)
			setenv("LD_PRELOAD", CHRONON_PL_SO, 1);
		else
			unsetenv("LD_PRELOAD");
		for (int i = 0; env && env[i]; i++) {
			char name[128];
			const char *eq = strchr(env[i], '=');
			size_t n = eq ? (size_t)(eq - env[i]) : strlen(env[i]);
			if (n >= sizeof name)
				_exit(126);
			memcpy(name, env[i], n);
			name[n] = '\0';
			if (eq)
				setenv(name, eq + 1, 1);
			else
				unsetenv(name);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd[0], r->out + len, sizeof r->out - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == sizeof r->out - 1) {
			char sink[4096];
			while (read(fd[0], sink, sizeof sink) > 0)
				;
			break;
		}
	}
	close(fd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;
	return 0;
}

/* A fresh, empty trace file path (the file itself is removed). */
__attribute__((unused)) static void pl_trace_path(char *buf, size_t n, const char *tag)
{
	snprintf(buf, n, "/tmp/chronon-preload-%s-XXXXXX", tag);
	int fd = mkstemp(buf);
	if (fd >= 0)
		close(fd);
	unlink(buf);
}

struct pl_trace {
	int lines, on, off;          /* lines, and how many said state=on / off */
	uint64_t served, passed;     /* summed over lines */
	uint64_t min_served;         /* smallest per-line served */
	char mode[32];               /* mode= of the last line */
};

/* Reads and removes the trace file; -1 when it is missing or malformed. */
__attribute__((unused)) static int pl_trace_read(const char *path, struct pl_trace *t)
{
	memset(t, 0, sizeof *t);
	t->min_served = UINT64_MAX;
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[512], state[8];
	int bad = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long long s, p;
		int pid;
		if (sscanf(line, "chronon-preload pid=%d state=%7s served=%llu passed=%llu mode=%31s",
			   &pid, state, &s, &p, t->mode) != 5) {
			bad = 1;
			continue;
		}
		t->lines++;
		t->on += strcmp(state, "on") == 0;
		t->off += strcmp(state, "off") == 0;
		t->served += s;
		t->passed += p;
		if (s < t->min_served)
			t->min_served = s;
	}
	fclose(f);
	unlink(path);
	return bad || t->lines == 0 ? -1 : 0;
}

/* "key=<number>" from a program's output, or -1. */
__attribute__((unused)) static long long pl_value(const char *out, const char *key)
{
	const char *p = strstr(out, key);
	if (!p || p[strlen(key)] != '=')
		return -1;
	return atoll(p + strlen(key) + 1);
}

#endif
