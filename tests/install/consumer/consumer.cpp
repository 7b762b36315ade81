// A user's C++ program: chronon.hpp's clocks from the installed prefix.
#include <chronon.hpp>

#include <chrono>
#include <cstdio>

int main()
{
	auto s0 = std::chrono::steady_clock::now();
	auto c = chronon::steady_clock::now();
	auto s1 = std::chrono::steady_clock::now();
	auto ns = [](auto t) {
		return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
	};
	if (ns(c) < ns(s0) - 2000000 || ns(c) > ns(s1) + 2000000) {
		std::printf("FAIL: chronon::steady_clock %lld outside std's [%lld, %lld]\n", (long long)ns(c),
			    (long long)ns(s0), (long long)ns(s1));
		return 1;
	}
	auto wall = chronon::system_clock::to_sys(chronon::system_clock::now());
	std::printf("C++ consumer ok: %lld s since the epoch\n",
		    (long long)std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count());
	return 0;
}
