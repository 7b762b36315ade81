/* The process's guard word for the CPU counter (counter.h): a constant 0
 * until the counter's probe finds a paravirtual page, then that page's
 * version.  Its own file, below every counter and the registry. */
#include <stdatomic.h>

#include "counter.h"

static const _Atomic uint32_t no_guard;
const _Atomic uint32_t *_Atomic chronon__arch_guard = &no_guard;

/* Set once: pages already published name this page's version, and a
 * later probe (another environment, another page) must not repoint it. */
void chronon__arch_guard_set(const _Atomic uint32_t *guard)
{
	const _Atomic uint32_t *expect = &no_guard;
	atomic_compare_exchange_strong_explicit(&chronon__arch_guard, &expect, guard,
						memory_order_release, memory_order_relaxed);
}
