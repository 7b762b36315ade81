/*
 * A library whose constructor reads the clocks, as plenty of real ones do
 * (loggers, profilers, random seeds).  Under the preload this constructor
 * may run before the shim's own: the shim must answer it all the same.
 * Built without chronon.
 */
#include <sys/time.h>
#include <time.h>

#include "ctor_lib.h"

static struct timespec first[CTORLIB_NCLOCKS];
static int first_ok;

__attribute__((constructor)) static void ctorlib_start(void)
{
	static const clockid_t ids[CTORLIB_NCLOCKS] = CTORLIB_CLOCKS;
	struct timeval tv;
	first_ok = gettimeofday(&tv, NULL) == 0 && time(NULL) > 0;
	for (int i = 0; i < CTORLIB_NCLOCKS; i++)
		first_ok &= clock_gettime(ids[i], &first[i]) == 0;
}

int ctorlib_first(struct timespec out[CTORLIB_NCLOCKS])
{
	for (int i = 0; i < CTORLIB_NCLOCKS; i++)
		out[i] = first[i];
	return first_ok;
}
