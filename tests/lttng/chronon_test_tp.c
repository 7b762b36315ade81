/* The probes of the chronon_test provider, compiled once per program. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "chronon_test_tp.h"
