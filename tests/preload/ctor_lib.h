/* The clock readings ctor_lib.c took in its constructor. */
#ifndef CHRONON_TEST_CTOR_LIB_H
#define CHRONON_TEST_CTOR_LIB_H

#include <time.h>

/* The monotonic family: a later read can never be smaller. */
#define CTORLIB_NCLOCKS 4
#define CTORLIB_CLOCKS {CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME, CLOCK_MONOTONIC_COARSE}

/* Copies them out; 1 when every read in the constructor succeeded. */
int ctorlib_first(struct timespec out[CTORLIB_NCLOCKS]);

#endif
