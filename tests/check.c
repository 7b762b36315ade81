/* Test support shared by every test program (see check.h). */
#include "check.h"

#include <stdlib.h>
#include <string.h>

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

uint64_t test_rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}
