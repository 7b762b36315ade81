/* The process's guard word for the CPU counter (counter.h): a constant 0
 * until the counter's probe finds a paravirtual page, then that page's
 * version.  Its own file, below every counter and the registry. */
#include "counter.h"

static const _Atomic uint32_t no_guard;
const _Atomic uint32_t *_Atomic chronon__arch_guard = &no_guard;
