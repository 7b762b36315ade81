/*
 * What every test program shares: CHECK and the final verdict, the
 * emulation switch that widens real-clock bounds, the kernel's clocks in
 * ns and a small deterministic random source; and, before main, the
 * keeper that kills every process a test started when the test ends
 * (check.c: each test program leads its own process group).  Built into chronon_testlib
 * (tests/check.c), so a test needs nothing of chronon to use it.
 */
#ifndef CHRONON_TEST_CHECK_H
#define CHRONON_TEST_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Prints and counts a failure, and the test carries on: one run reports
 * every broken check, not just the first.  main returns test_exit(). */
#define CHECK(cond, ...)                                                                        \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			test_fail(__FILE__, __LINE__, #cond);                                   \
			printf(__VA_ARGS__);                                                    \
			printf("\n");                                                           \
		}                                                                               \
	} while (0)
void test_fail(const char *file, int line, const char *what);
/* Failures so far, for tests that stop a loop once it has said enough. */
int test_failures(void);
/* Prints the verdict; 1 when a check failed, else 0. */
int test_exit(void);

/* Under qemu user-mode emulation (CHRONON_EMULATED, set by the arm64
 * run): every read is tens of times slower and the counter coarse, so
 * real-clock tests widen their time bounds (never their logic). */
int test_emulated(void);

/* The kernel's clock through libc (the vDSO), in ns.  A clock the kernel
 * refuses is a broken test, not a result: exit 2 with perror's reason. */
int64_t test_kernel_ns(clockid_t clock);

/* xorshift64 (13, 7, 17): the same sequence on every run and machine, so a
 * failure found by fuzzing is found again.  *state must not be 0. */
uint64_t test_rand(uint64_t *state);

/* For a forked child, first thing: SIGKILL when the test dies (the keeper
 * in check.c kills what is left too, this is sooner). */
void test_child(void);

#endif
