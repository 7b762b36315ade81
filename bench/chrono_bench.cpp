/*
 * chronon.hpp's clocks against std::chrono's and abseil's, in one run.
 *
 *   chronon-chrono-bench [--rounds N] [--calls N]
 *
 * Each round times every row once (N calls in a loop, timed by the thread's
 * CPU clock around the loop, so time spent preempted by other work on a
 * shared machine is not counted), starting from a different row each
 * round so no row always runs first; the table gives each row's median
 * over the rounds, its spread, and the median of each round's own ratio to
 * std::chrono::steady_clock::now().  The absl::Now() row is built only when
 * Abseil was found (bench/CMakeLists.txt).
 */
#include <chronon.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#ifdef CHRONON_HAVE_ABSL
#include "absl/time/clock.h"
#endif

namespace {

/* Keeps a result alive without adding work to the loop. */
template <class T>
inline void keep(const T &v)
{
	asm volatile("" : : "g"(&v) : "memory");
}

std::int64_t ns_of(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return std::int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
std::int64_t mono_ns() { return ns_of(CLOCK_MONOTONIC); }
std::int64_t cpu_ns() { return ns_of(CLOCK_THREAD_CPUTIME_ID); }

template <class F>
double per_call(long calls, F f)
{
	std::int64_t t0 = cpu_ns();
	for (long i = 0; i < calls; i++)
		keep(f());
	return double(cpu_ns() - t0) / double(calls);
}

struct row {
	const char *name;
	double (*run)(long calls);
	std::vector<double> ns;
	std::vector<double> ratio;
};

double run_chronon_steady(long n) { return per_call(n, [] { return chronon::steady_clock::now(); }); }
double run_std_steady(long n) { return per_call(n, [] { return std::chrono::steady_clock::now(); }); }
double run_chronon_system(long n) { return per_call(n, [] { return chronon::system_clock::now(); }); }
double run_std_system(long n) { return per_call(n, [] { return std::chrono::system_clock::now(); }); }
double run_chronon_c(long n) { return per_call(n, [] { return chronon_now_ns(CLOCK_MONOTONIC); }); }
#ifdef CHRONON_HAVE_ABSL
double run_absl_now(long n) { return per_call(n, [] { return absl::Now(); }); }
#endif

double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	size_t n = v.size();
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

long arg_long(const char *s, const char *what)
{
	char *end;
	long v = std::strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v <= 0) {
		std::fprintf(stderr, "chronon-chrono-bench: bad %s '%s'\n", what, s);
		std::exit(2);
	}
	return v;
}

/* Until chronon serves from the counter, it answers from the kernel:
 * measure the steady state, not the start-up. */
void warm_up()
{
	struct chronon_status st;
	std::int64_t end = mono_ns() + 2000000000;
	do {
		for (int i = 0; i < 10000; i++)
			keep(chronon::steady_clock::now());
		chronon_status(&st);
	} while (st.mode != CHRONON_MODE_COUNTER && mono_ns() < end);
	std::printf("chronon: counter %s, mode %s%s%s\n", st.counter, st.mode_name,
		    st.fallback_reason[0] ? ": " : "", st.fallback_reason);
}

} /* namespace */

int main(int argc, char **argv)
{
	long rounds = 11, calls = 2000000;
	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = arg_long(argv[++i], "--rounds");
		else if (!std::strcmp(argv[i], "--calls") && i + 1 < argc)
			calls = arg_long(argv[++i], "--calls");
		else {
			std::fprintf(stderr, "usage: chronon-chrono-bench [--rounds N] [--calls N]\n");
			return 2;
		}
	}

	std::vector<row> rows = {
		{"chronon::steady_clock::now()", run_chronon_steady, {}, {}},
		{"std::chrono::steady_clock::now()", run_std_steady, {}, {}},
		{"chronon::system_clock::now()", run_chronon_system, {}, {}},
		{"std::chrono::system_clock::now()", run_std_system, {}, {}},
		{"chronon_now_ns(CLOCK_MONOTONIC)", run_chronon_c, {}, {}},
#ifdef CHRONON_HAVE_ABSL
		{"absl::Now()", run_absl_now, {}, {}},
#endif
	};
	const size_t ref = 1; /* std::chrono::steady_clock::now() */

	warm_up();
	/* One untimed round: each library's own start-up (abseil calibrates
	 * too) stays out of the figures. */
	for (row &w : rows)
		w.run(calls);
	for (long r = 0; r < rounds; r++) {
		std::vector<double> got(rows.size());
		for (size_t k = 0; k < rows.size(); k++) {
			size_t i = (k + size_t(r)) % rows.size();
			got[i] = rows[i].run(calls);
		}
		for (size_t i = 0; i < rows.size(); i++) {
			rows[i].ns.push_back(got[i]);
			rows[i].ratio.push_back(got[i] / got[ref]);
		}
	}

	std::printf("%ld rounds of %ld calls per row; thread CPU ns per call (median [min-max]), ratio to "
		    "std::chrono::steady_clock::now() (median of each round's ratio)\n",
		    rounds, calls);
#ifndef CHRONON_HAVE_ABSL
	std::printf("(no absl::Now() row: Abseil was not found when this was built)\n");
#endif
	std::printf("%-36s %8s %17s %8s\n", "call", "ns", "spread", "ratio");
	for (const row &w : rows) {
		auto mm = std::minmax_element(w.ns.begin(), w.ns.end());
		char spread[40];
		std::snprintf(spread, sizeof spread, "[%.1f-%.1f]", *mm.first, *mm.second);
		std::printf("%-36s %8.1f %17s %7.2fx\n", w.name, median(w.ns), spread, median(w.ratio));
	}
	return 0;
}
