/*
 * chronon.hpp: the four clocks meet the standard's TrivialClock
 * requirements (checked at compile time, in C++17 and again in C++20 with
 * std::chrono::is_clock_v), read the kernel clock they name, agree with
 * std::chrono's own clocks, never go back, and convert to and from
 * std::chrono::system_clock.  Built once per standard (tests/cmake/cxx.cmake).
 */
#include <chronon.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <type_traits>

namespace {

int failures;

#define EXPECT(cond, ...)                                                            \
	do {                                                                         \
		if (!(cond)) {                                                       \
			std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			std::printf(__VA_ARGS__);                                    \
			std::printf("\n");                                           \
			failures++;                                                  \
		}                                                                    \
	} while (0)

/* ---- compile time: the TrivialClock requirements ---- */

template <class C, bool Steady>
constexpr bool trivial_clock()
{
	using namespace std::chrono;
	static_assert(std::is_arithmetic<typename C::rep>::value, "rep is arithmetic");
	static_assert(std::is_same<typename C::rep, std::int64_t>::value, "rep is int64_t");
	static_assert(std::is_same<typename C::period, std::nano>::value, "period is ns");
	static_assert(std::ratio_equal<typename C::period, std::ratio<1, 1000000000>>::value, "ns");
	static_assert(std::is_same<typename C::duration,
				   duration<typename C::rep, typename C::period>>::value,
		      "duration is duration<rep, period>");
	static_assert(std::is_same<typename C::time_point, time_point<C>>::value,
		      "time_point is time_point<C>");
	static_assert(std::is_same<typename C::time_point::clock, C>::value, "time_point's clock");
	static_assert(std::is_same<decltype(C::is_steady), const bool>::value, "is_steady is const bool");
	static_assert(C::is_steady == Steady, "is_steady");
	static_assert(noexcept(C::now()), "now() is noexcept");
	static_assert(std::is_same<decltype(C::now()), typename C::time_point>::value, "now() type");
	/* TrivialClock: the types' copies do not throw (std::chrono's operators
	 * are not declared noexcept, even for std's own clocks). */
	static_assert(std::is_nothrow_copy_constructible<typename C::time_point>::value, "");
	static_assert(std::is_nothrow_copy_assignable<typename C::duration>::value, "");
	static_assert(std::is_trivially_copyable<typename C::time_point>::value, "");
	static_assert(std::is_trivially_copyable<typename C::duration>::value, "");
	/* The conversions keep their shape. */
	static_assert(std::is_same<decltype(C::to_sys(C::now())), system_clock::time_point>::value, "to_sys");
	static_assert(std::is_same<decltype(C::from_sys(system_clock::now())), typename C::time_point>::value,
		      "from_sys");
#if __cplusplus >= 202002L
	static_assert(std::chrono::is_clock_v<C>, "is_clock_v");
#endif
	return true;
}

static_assert(trivial_clock<chronon::system_clock, false>(), "");
static_assert(trivial_clock<chronon::steady_clock, true>(), "");
static_assert(trivial_clock<chronon::boottime_clock, true>(), "");
static_assert(trivial_clock<chronon::tai_clock, false>(), "");
static_assert(chronon::system_clock::id == CLOCK_REALTIME && chronon::steady_clock::id == CLOCK_MONOTONIC &&
		      chronon::boottime_clock::id == CLOCK_BOOTTIME && chronon::tai_clock::id == CLOCK_TAI,
	      "each clock names its kernel clock");
/* Distinct clocks: their time points do not mix by accident. */
static_assert(!std::is_convertible<chronon::steady_clock::time_point, chronon::system_clock::time_point>::value, "");
static_assert(!std::is_convertible<chronon::system_clock::time_point,
				   std::chrono::system_clock::time_point>::value,
	      "conversion to std's clock is explicit (to_sys)");

/* ---- run time ---- */

/* How far chronon may be from the kernel here: its stated bound is 1 us;
 * a preempted vCPU or a sanitizer build can stretch a bracket, so allow
 * far more: a wrong clock is off by seconds, not microseconds. */
const std::int64_t slack_ns = 2000000;

std::int64_t kernel_ns(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return -1;
	return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

template <class C>
std::int64_t ns_of(typename C::time_point t)
{
	return t.time_since_epoch().count();
}

template <class C>
void agrees_with_kernel(const char *name)
{
	for (int i = 0; i < 1000; i++) {
		std::int64_t a = kernel_ns(C::id);
		std::int64_t c = ns_of<C>(C::now());
		std::int64_t b = kernel_ns(C::id);
		EXPECT(a - slack_ns <= c && c <= b + slack_ns, "%s: chronon %lld outside the kernel's [%lld, %lld]",
		       name, (long long)c, (long long)a, (long long)b);
		if (failures)
			return;
	}
}

template <class C>
void never_back(const char *name)
{
	auto prev = C::now();
	for (int i = 0; i < 200000; i++) {
		auto t = C::now();
		EXPECT(t >= prev, "%s went back by %lld ns", name, (long long)(prev - t).count());
		if (failures)
			return;
		prev = t;
	}
}

/* to_sys(now()) lands between two reads of std::chrono::system_clock, and
 * from_sys(to_sys(t)) comes back to t. */
template <class C>
void converts(const char *name)
{
	using std::chrono::nanoseconds;
	for (int i = 0; i < 100; i++) {
		auto s0 = std::chrono::system_clock::now();
		auto t = C::now();
		auto s = C::to_sys(t);
		auto s1 = std::chrono::system_clock::now();
		auto lo = std::chrono::duration_cast<nanoseconds>(s0.time_since_epoch()).count() - slack_ns;
		auto hi = std::chrono::duration_cast<nanoseconds>(s1.time_since_epoch()).count() + slack_ns;
		auto got = std::chrono::duration_cast<nanoseconds>(s.time_since_epoch()).count();
		EXPECT(lo <= got && got <= hi, "%s::to_sys(now()) = %lld, std::chrono::system_clock read [%lld, %lld]",
		       name, (long long)got, (long long)lo, (long long)hi);
		auto back = C::from_sys(s);
		auto err = (back - t).count();
		EXPECT(err >= -slack_ns && err <= slack_ns, "%s: from_sys(to_sys(t)) - t = %lld ns", name,
		       (long long)err);
		if (failures)
			return;
	}
}

void std_agreement()
{
	/* The same clocks std::chrono reads on Linux. */
	for (int i = 0; i < 1000 && !failures; i++) {
		auto a = std::chrono::steady_clock::now();
		auto c = chronon::steady_clock::now();
		auto b = std::chrono::steady_clock::now();
		std::int64_t an = std::chrono::duration_cast<std::chrono::nanoseconds>(a.time_since_epoch()).count();
		std::int64_t bn = std::chrono::duration_cast<std::chrono::nanoseconds>(b.time_since_epoch()).count();
		std::int64_t cn = c.time_since_epoch().count();
		EXPECT(an - slack_ns <= cn && cn <= bn + slack_ns,
		       "chronon::steady_clock %lld outside std::chrono::steady_clock's [%lld, %lld]", (long long)cn,
		       (long long)an, (long long)bn);
	}
	/* Durations interoperate with std::chrono's. */
	auto t0 = chronon::steady_clock::now();
	auto t1 = t0 + std::chrono::milliseconds(3);
	EXPECT(std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count() == 3000, "3 ms is 3000 us");
}

void time_t_and_tai()
{
	std::time_t before = std::time(nullptr);
	std::time_t t = chronon::system_clock::to_time_t(chronon::system_clock::now());
	std::time_t after = std::time(nullptr);
	EXPECT(before <= t && t <= after, "to_time_t(now()) %lld outside time()'s [%lld, %lld]", (long long)t,
	       (long long)before, (long long)after);
	auto back = chronon::system_clock::from_time_t(t);
	EXPECT(chronon::system_clock::to_time_t(back) == t && back.time_since_epoch().count() % 1000000000 == 0,
	       "from_time_t(%lld) round trip", (long long)t);
	EXPECT(chronon::system_clock::to_time_t(chronon::system_clock::from_time_t(-86400)) == -86400,
	       "before the epoch");

	/* TAI - UTC, as the conversion uses it, is the kernel's whole-second
	 * offset. */
	std::int64_t k = kernel_ns(CLOCK_TAI) - kernel_ns(CLOCK_REALTIME);
	std::int64_t k_s = (k + 500000000) / 1000000000;
	auto tai = chronon::tai_clock::now();
	auto sys = chronon::tai_clock::to_sys(tai);
	std::int64_t off = tai.time_since_epoch().count() -
			   std::chrono::duration_cast<std::chrono::nanoseconds>(sys.time_since_epoch()).count();
	EXPECT(off == k_s * 1000000000, "tai_clock's offset %lld ns, kernel's %lld s", (long long)off,
	       (long long)k_s);
	/* system_clock's conversion is the identity. */
	auto r = chronon::system_clock::now();
	EXPECT(std::chrono::duration_cast<std::chrono::nanoseconds>(chronon::system_clock::to_sys(r).time_since_epoch())
			       .count() == r.time_since_epoch().count(),
	       "system_clock::to_sys is exact");
	EXPECT(chronon::system_clock::from_sys(chronon::system_clock::to_sys(r)) == r, "system_clock round trip");
}

} /* namespace */

int main()
{
	agrees_with_kernel<chronon::system_clock>("system_clock");
	agrees_with_kernel<chronon::steady_clock>("steady_clock");
	agrees_with_kernel<chronon::boottime_clock>("boottime_clock");
	agrees_with_kernel<chronon::tai_clock>("tai_clock");
	never_back<chronon::steady_clock>("steady_clock");
	never_back<chronon::boottime_clock>("boottime_clock");
	converts<chronon::system_clock>("system_clock");
	converts<chronon::steady_clock>("steady_clock");
	converts<chronon::boottime_clock>("boottime_clock");
	converts<chronon::tai_clock>("tai_clock");
	std_agreement();
	time_t_and_tai();
	std::printf("%s (C++ %ld)\n", failures ? "FAILED" : "ok", (long)__cplusplus);
	return failures ? 1 : 0;
}
