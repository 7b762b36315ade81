// Built only when Abseil is found (tools/CMakeLists.txt): one more row for
// chronon bench, the fast path absl::Now() is built on.
#include <cstdint>

#include "absl/time/clock.h"

extern "C" int64_t chronon__absl_now_ns(void);

extern "C" int64_t chronon__absl_now_ns(void)
{
	return absl::GetCurrentTimeNanos();
}
