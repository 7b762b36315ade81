/*
 * The chronon command end to end, through the built binary (its path is
 * compiled in by tests/cmake/tool.cmake): exit codes, one-line usage
 * errors naming the bad argument, the shape of the text output, and JSON
 * that parses and carries the documented keys.  The JSON check is a small
 * recursive-descent validator, so no JSON library is needed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#ifndef CHRONON_TOOL_PATH
#define CHRONON_TOOL_PATH ""
#endif

struct run {
	int status;
	char out[1 << 17];
	char err[8192];
};

static void slurp(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	char scratch[4096];
	for (;;) {
		/* Past the buffer, keep draining so the child never blocks on a full pipe. */
		ssize_t r = n + 1 < cap ? read(fd, buf + n, cap - 1 - n) : read(fd, scratch, sizeof scratch);
		if (r <= 0)
			break;
		if (n + 1 < cap)
			n += (size_t)r;
	}
	buf[n] = '\0';
}

/* Runs chronon with the NULL-terminated arguments; stderr goes to a file so neither pipe can fill. */
static struct run *run(const char *first, ...)
{
	static struct run r;
	const char *argv[32] = { CHRONON_TOOL_PATH };
	int argc = 1;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	char errpath[] = "/tmp/chronon-cli-err-XXXXXX";
	int errfd = mkstemp(errpath);
	int out[2];
	if (errfd < 0 || pipe(out) != 0) {
		perror("pipe/mkstemp");
		exit(1);
	}
	pid_t pid = fork();
	if (pid == 0) {
		test_child();
		dup2(out[1], 1);
		dup2(errfd, 2);
		close(out[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	slurp(out[0], r.out, sizeof r.out);
	close(out[0]);
	int st;
	waitpid(pid, &st, 0);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	lseek(errfd, 0, SEEK_SET);
	slurp(errfd, r.err, sizeof r.err);
	close(errfd);
	unlink(errpath);
	return &r;
}

/* ---- a minimal JSON validator that records the top-level keys ---- */

struct json {
	const char *p;
	int depth;
	char keys[64][48];
	int nkeys;
};

static void ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
		j->p++;
}

static int string(struct json *j, char *copy, size_t cap)
{
	size_t n = 0;
	if (*j->p++ != '"')
		return -1;
	while (*j->p && *j->p != '"') {
		if ((unsigned char)*j->p < 0x20)
			return -1;
		if (*j->p == '\\') {
			j->p++;
			if (!strchr("\"\\/bfnrtu", *j->p))
				return -1;
		}
		if (copy && n + 1 < cap)
			copy[n++] = *j->p;
		j->p++;
	}
	if (copy)
		copy[n] = '\0';
	return *j->p++ == '"' ? 0 : -1;
}

static int value(struct json *j);

static int members(struct json *j, char close, int is_object)
{
	ws(j);
	if (*j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		ws(j);
		if (is_object) {
			char key[48];
			if (string(j, key, sizeof key) != 0)
				return -1;
			if (j->depth == 1 && j->nkeys < 64)
				snprintf(j->keys[j->nkeys++], sizeof j->keys[0], "%s", key);
			ws(j);
			if (*j->p++ != ':')
				return -1;
		}
		if (value(j) != 0)
			return -1;
		ws(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		return *j->p++ == close ? 0 : -1;
	}
}

static int value(struct json *j)
{
	ws(j);
	char c = *j->p;
	int rc;
	if (c == '{' || c == '[') {
		j->p++;
		j->depth++;
		rc = members(j, c == '{' ? '}' : ']', c == '{');
		j->depth--;
		return rc;
	}
	if (c == '"')
		return string(j, NULL, 0);
	for (const char *lit = "true\0false\0null\0"; *lit; lit += strlen(lit) + 1)
		if (strncmp(j->p, lit, strlen(lit)) == 0) {
			j->p += strlen(lit);
			return 0;
		}
	char *end;
	strtod(j->p, &end);
	if (end == j->p)
		return -1;
	j->p = end;
	return 0;
}

static int has_key(const struct json *j, const char *k)
{
	for (int i = 0; i < j->nkeys; i++)
		if (strcmp(j->keys[i], k) == 0)
			return 1;
	return 0;
}

/* Output must be exactly one JSON object with every key in the space-separated list. */
static void check_json(const char *what, const char *text, const char *keys)
{
	struct json j = { .p = text };
	int ok = value(&j) == 0;
	ws(&j);
	CHECK(ok && *j.p == '\0' && text[0] == '{', "%s: output is not one JSON object:\n%.400s", what, text);
	char list[512];
	snprintf(list, sizeof list, "%s", keys);
	for (char *k = strtok(list, " "); k; k = strtok(NULL, " "))
		CHECK(has_key(&j, k), "%s: JSON lacks the key '%s'", what, k);
}

static void test_validator(void)
{
	struct json j = { .p = "{\"a\":[1,2,{\"b\":null}],\"c\":\"x\\\"y\",\"d\":-1.5e3}" };
	CHECK(value(&j) == 0 && has_key(&j, "a") && has_key(&j, "d") && !has_key(&j, "b"), "validator accepts");
	struct json bad = { .p = "{\"a\":1,}" };
	CHECK(value(&bad) != 0, "validator rejects a trailing comma");
	struct json bad2 = { .p = "{\"a\" 1}" };
	CHECK(value(&bad2) != 0, "validator rejects a missing colon");
}

/* ---- the cases ---- */

static int one_line(const char *s)
{
	const char *nl = strchr(s, '\n');
	return nl && nl[1] == '\0';
}

static void usage_error(const char *want, const char *a, const char *b, const char *c)
{
	struct run *r = run(a, b, c, NULL);
	CHECK(r->status == 2, "%s %s %s: exit %d, want 2", a, b ? b : "", c ? c : "", r->status);
	CHECK(strstr(r->err, want) != NULL && one_line(r->err), "%s %s %s: stderr '%s', want one line with '%s'", a,
	      b ? b : "", c ? c : "", r->err, want);
}

static void test_dispatch(void)
{
	struct run *r = run(NULL);
	CHECK(r->status == 2 && strstr(r->err, "usage: chronon"), "no arguments: %d '%s'", r->status, r->err);
	r = run("--help", NULL);
	CHECK(r->status == 0 && strstr(r->out, "status") && strstr(r->out, "vdso"), "--help: %d", r->status);
	usage_error("chronon: unknown command 'frobnicate'", "frobnicate", NULL, NULL);
	const char *cmds[] = { "status", "bench", "check", "vdso" };
	for (int i = 0; i < 4; i++) {
		char want[64];
		snprintf(want, sizeof want, "usage: chronon %s", cmds[i]);
		r = run(cmds[i], "--help", NULL);
		CHECK(r->status == 0 && strstr(r->out, want) && strstr(r->out, "--json"), "%s --help: %d", cmds[i],
		      r->status);
	}
}

static void test_bad_arguments(void)
{
	usage_error("chronon: bench: bad --seconds value 'x'", "bench", "--seconds", "x");
	usage_error("chronon: bench: bad --seconds value '-1'", "bench", "--seconds=-1", NULL);
	usage_error("chronon: bench: bad --threads value '0'", "bench", "--threads", "0");
	usage_error("chronon: bench: bad --clock value 'SUNDIAL'", "bench", "--clock", "SUNDIAL");
	usage_error("chronon: bench: unknown option '--fast'", "bench", "--fast", NULL);
	usage_error("chronon: bench: --seconds needs a value", "bench", "--seconds", NULL);
	usage_error("chronon: check: bad --seconds value '1s'", "check", "--seconds", "1s");
	usage_error("chronon: check: bad --threads value '-2'", "check", "--threads", "-2");
	usage_error("chronon: check: bad --max-p99-ns value 'lots'", "check", "--max-p99-ns", "lots");
	usage_error("chronon: check: --max-ns needs a value", "check", "--max-ns", NULL);
	usage_error("chronon: check: bad --max-warp-ns value 'nan'", "check", "--max-warp-ns", "nan");
	usage_error("chronon: status: bad --warmup value '5ms'", "status", "--warmup", "5ms");
	usage_error("chronon: status: unknown option 'extra'", "status", "extra", NULL);
	usage_error("chronon: vdso: --dump needs a value", "vdso", "--dump", NULL);
	usage_error("chronon: vdso: unknown option '--all'", "vdso", "--all", NULL);
}

static void test_status(void)
{
	struct run *r = run("status", NULL);
	CHECK(r->status == 0, "status: exit %d, stderr '%s'", r->status, r->err);
	const char *lines[] = { "counter ", "mode ", "frequency ", "mult / shift", "page ", "resync ",
				"registered counters", "current clocksource", "available clocksources", "NTP ",
				"maxerror / esterror", "TAI offset", "after reading CLOCK_MONOTONIC for 50 ms" };
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		CHECK(strstr(r->out, lines[i]), "status lacks '%s':\n%s", lines[i], r->out);
	r = run("status", "--json", NULL);
	CHECK(r->status == 0, "status --json: exit %d", r->status);
	check_json("status --json", r->out,
		   "counter frequency_hz frequency_source mode page fallback_reason mult shift nominal_hz page_reason "
		   "resync_age_ns resync_error_ns resync_width_ns counters kernel warmup_ms");
	r = run("status", "--warmup", "0", "--json", NULL);
	CHECK(r->status == 0 && strstr(r->out, "\"warmup_ms\":0"), "status --warmup 0: %d", r->status);
}

static void test_vdso(void)
{
	struct run *r = run("vdso", NULL);
	if (r->status == 1 && strstr(r->err, "no vDSO")) {
		printf("no vDSO in this process: vdso output not checked\n");
		return;
	}
	CHECK(r->status == 0, "vdso: exit %d '%s'", r->status, r->err);
	CHECK(strstr(r->out, "DYNAMIC SYMBOL TABLE:") && strstr(r->out, "clock_gettime") &&
		      strstr(r->out, "served by") && strstr(r->out, " MONOTONIC ") && strstr(r->out, "AUX0"),
	      "vdso output:\n%s", r->out);
	r = run("vdso", "--json", NULL);
	CHECK(r->status == 0, "vdso --json: exit %d", r->status);
	check_json("vdso --json", r->out, "address image_size soname count_from versions dump symbols clocks");
	CHECK(strstr(r->out, "\"served_by\":\"vdso\""), "no clock served by the vDSO:\n%.600s", r->out);

	char path[] = "/tmp/chronon-cli-vdso-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	close(fd);
	r = run("vdso", "--dump", path, NULL);
	CHECK(r->status == 0 && strstr(r->out, path), "vdso --dump: exit %d '%s'", r->status, r->err);
	if (system("command -v objdump >/dev/null 2>&1") == 0) {
		char cmd[128];
		snprintf(cmd, sizeof cmd, "objdump -T %s | grep -c clock_gettime >/dev/null", path);
		CHECK(system(cmd) == 0, "objdump -T cannot read the dump %s", path);
	} else {
		printf("objdump not installed: dump not read back\n");
	}
	unlink(path);
	r = run("vdso", "--dump", "/nonexistent-dir/x", NULL);
	CHECK(r->status == 1 && strstr(r->err, "cannot open /nonexistent-dir/x"), "unwritable dump: %d '%s'",
	      r->status, r->err);
}

static void test_bench(void)
{
	struct run *r = run("bench", "--seconds", "0.2", NULL);
	CHECK(r->status == 0, "bench: exit %d '%s'", r->status, r->err);
	const char *rows[] = { "CLOCK_MONOTONIC", "counter (", "counter (unordered)", "chronon_now_ns ",
			       "chronon_gettime", "vDSO clock_gettime", "syscall",
			       "chronon_now_ns / bare ordered counter", "chronon_now_ns / vDSO",
			       "chronon_gettime / vDSO" };
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		CHECK(strstr(r->out, rows[i]), "bench lacks '%s':\n%s", rows[i], r->out);
	r = run("bench", "--seconds", "0.3", "--clock", "all", "--json", NULL);
	CHECK(r->status == 0, "bench --clock all --json: exit %d", r->status);
	check_json("bench --json", r->out, "counter mode threads rounds pin_refused clocks");
	CHECK(strstr(r->out, "\"MONOTONIC_COARSE\"") && strstr(r->out, "\"ratio_chronon_vdso\""), "bench all:\n%.300s",
	      r->out);
	r = run("bench", "--seconds", "0.2", "--threads", "2", "--clock", "CLOCK_REALTIME", NULL);
	CHECK(r->status == 0 && strstr(r->out, "one column per thread") && strstr(r->out, "CLOCK_REALTIME"),
	      "bench --threads 2: exit %d\n%s", r->status, r->out);
}

static void test_check(void)
{
	struct run *r = run("check", "--seconds", "1", "--json", NULL);
	CHECK(r->status == 0 || r->status == 1, "check: exit %d '%s'", r->status, r->err);
	check_json("check --json", r->out, "ok seconds counter mode frequency_hz accuracy monotonicity warp failures");
	/* Exit 1 exactly when failures were listed. */
	CHECK((r->status == 1) == (strstr(r->out, "\"failures\":[]") == NULL), "exit %d vs failures:\n%.2000s",
	      r->status, r->out);
	if (r->status == 1)
		printf("note: check failed on this machine with default bounds:\n%.2000s\n", r->out);
	r = run("check", "--seconds", "0.5", "--max-ns", "0", NULL);
	CHECK(r->status == 1 && strstr(r->out, "exceeds the bound 0 ns (--max-ns)") && strstr(r->out, "check failed"),
	      "impossible bound: exit %d\n%s", r->status, r->out);
	CHECK(strstr(r->out, "accuracy:") && strstr(r->out, "histogram") && strstr(r->out, "monotonicity:") &&
		      strstr(r->out, "warp"),
	      "check text:\n%s", r->out);
	/* Not a terminal: no progress line. */
	CHECK(strstr(r->err, "chronon check:") == NULL, "progress on a non-terminal: '%s'", r->err);
}

int main(void)
{
	if (CHRONON_TOOL_PATH[0] == '\0' || access(CHRONON_TOOL_PATH, X_OK) != 0) {
		printf("SKIP: the chronon binary is not built ('%s')\n", CHRONON_TOOL_PATH);
		return 77;
	}
	test_validator();
	test_dispatch();
	test_bad_arguments();
	test_status();
	test_vdso();
	test_bench();
	test_check();
	return test_exit();
}
