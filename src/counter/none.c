/* Architectures with no user-readable counter in this build. */
#if !defined(__x86_64__) && !defined(__aarch64__)
#include <stddef.h>
#include "counter.h"

const struct chronon__counter *chronon__counter_arch(void)
{
	return NULL;
}
#else
typedef int chronon__counter_none_unused;
#endif
