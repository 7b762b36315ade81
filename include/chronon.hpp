/*
 * chronon for C++: the kernel's clocks as std::chrono clocks, read through
 * chronon (no system call).  Header only; link libchronon as for C.
 *
 *   chronon::system_clock    CLOCK_REALTIME   is_steady = false
 *   chronon::steady_clock    CLOCK_MONOTONIC  is_steady = true
 *   chronon::boottime_clock  CLOCK_BOOTTIME   is_steady = true (counts suspend)
 *   chronon::tai_clock       CLOCK_TAI        is_steady = false
 *
 * Each meets the standard's Clock and TrivialClock requirements: rep
 * (int64_t), period (std::nano), duration, time_point, is_steady and a
 * now() that is noexcept.  chronon::system_clock reads the same clock as
 * std::chrono::system_clock (the Unix epoch, leap seconds not counted);
 * chronon::steady_clock the same as libstdc++'s and libc++'s
 * std::chrono::steady_clock on Linux.
 *
 * Conversions to and from std::chrono::system_clock (C++20's to_sys and
 * from_sys shape, so std::chrono::clock_cast uses them where the standard
 * library has it):
 *   system_clock  exact: the same epoch and the same clock.
 *   tai_clock     TAI - UTC as the kernel has it now (0 until an NTP
 *                 daemon sets it, 37 s since 2017); not the C++20
 *                 std::chrono::tai_clock, whose epoch is 1958 and which
 *                 applies the historical leap seconds.
 *   steady_clock, boottime_clock
 *                 at the offset between the clocks now, measured to within
 *                 a few tens of nanoseconds; a later step of REALTIME (or a
 *                 suspend, for steady_clock) changes that offset, so a
 *                 converted time point is only as good as the moment it was
 *                 converted at.
 * now() never fails for these clocks; should the C call ever report an
 * error, now() returns the clock's epoch rather than throw.
 */
#ifndef CHRONON_HPP
#define CHRONON_HPP

#include <chrono>
#include <cstdint>
#include <ctime>
#include <ratio>

#include "chronon.h"

namespace chronon {

namespace detail {

template <clockid_t Id, bool Steady, class Derived>
struct clock_base {
	using rep = std::int64_t;
	using period = std::nano;
	using duration = std::chrono::duration<rep, period>;
	using time_point = std::chrono::time_point<Derived, duration>;
	static constexpr bool is_steady = Steady;
	static constexpr clockid_t id = Id;

	static time_point now() noexcept
	{
		std::int64_t ns = chronon_now_ns(Id);
		return time_point(duration(ns < 0 ? 0 : ns));
	}
};

using sys_duration = std::chrono::system_clock::duration;
using sys_time_point = std::chrono::system_clock::time_point;

/* REALTIME minus the other clock, from a REALTIME read bracketed by two
 * reads of the other: the midpoint is within half the bracket's width. */
inline std::int64_t realtime_minus(clockid_t other) noexcept
{
	std::int64_t a = chronon_now_ns(other);
	std::int64_t r = chronon_now_ns(CLOCK_REALTIME);
	std::int64_t b = chronon_now_ns(other);
	return r - (a + (b - a) / 2);
}

/* TAI - UTC in whole seconds, as the kernel keeps it. */
inline std::int64_t tai_minus_utc_ns() noexcept
{
	std::int64_t d = realtime_minus(CLOCK_TAI);
	const std::int64_t s = 1000000000;
	/* -d rounded to the nearest second. */
	std::int64_t q = (-d + s / 2) / s;
	if (-d + s / 2 < 0 && (-d + s / 2) % s != 0)
		q -= 1;
	return q * s;
}

template <class Clock>
typename Clock::time_point shift_from_sys(const sys_time_point &t, std::int64_t clock_minus_realtime) noexcept
{
	auto ns = std::chrono::duration_cast<typename Clock::duration>(t.time_since_epoch());
	return typename Clock::time_point(ns + typename Clock::duration(clock_minus_realtime));
}

template <class Clock>
sys_time_point shift_to_sys(const typename Clock::time_point &t, std::int64_t clock_minus_realtime) noexcept
{
	auto d = t.time_since_epoch() - typename Clock::duration(clock_minus_realtime);
	return sys_time_point(std::chrono::duration_cast<sys_duration>(d));
}

} /* namespace detail */

/* CLOCK_REALTIME: wall-clock time since 1970-01-01 UTC; it can be set. */
struct system_clock : detail::clock_base<CLOCK_REALTIME, false, system_clock> {
	static std::time_t to_time_t(const time_point &t) noexcept
	{
		/* Truncated toward zero, as std::chrono::system_clock does. */
		return std::chrono::duration_cast<std::chrono::duration<std::time_t>>(t.time_since_epoch()).count();
	}
	static time_point from_time_t(std::time_t t) noexcept
	{
		return time_point(std::chrono::duration_cast<duration>(std::chrono::seconds(t)));
	}
	static detail::sys_time_point to_sys(const time_point &t) noexcept
	{
		return detail::shift_to_sys<system_clock>(t, 0);
	}
	static time_point from_sys(const detail::sys_time_point &t) noexcept
	{
		return detail::shift_from_sys<system_clock>(t, 0);
	}
};

/* CLOCK_MONOTONIC: never set, never goes back, stops during suspend. */
struct steady_clock : detail::clock_base<CLOCK_MONOTONIC, true, steady_clock> {
	static detail::sys_time_point to_sys(const time_point &t) noexcept
	{
		return detail::shift_to_sys<steady_clock>(t, -detail::realtime_minus(CLOCK_MONOTONIC));
	}
	static time_point from_sys(const detail::sys_time_point &t) noexcept
	{
		return detail::shift_from_sys<steady_clock>(t, -detail::realtime_minus(CLOCK_MONOTONIC));
	}
};

/* CLOCK_BOOTTIME: CLOCK_MONOTONIC plus the time spent suspended. */
struct boottime_clock : detail::clock_base<CLOCK_BOOTTIME, true, boottime_clock> {
	static detail::sys_time_point to_sys(const time_point &t) noexcept
	{
		return detail::shift_to_sys<boottime_clock>(t, -detail::realtime_minus(CLOCK_BOOTTIME));
	}
	static time_point from_sys(const detail::sys_time_point &t) noexcept
	{
		return detail::shift_from_sys<boottime_clock>(t, -detail::realtime_minus(CLOCK_BOOTTIME));
	}
};

/* CLOCK_TAI: CLOCK_REALTIME plus the kernel's TAI - UTC offset. */
struct tai_clock : detail::clock_base<CLOCK_TAI, false, tai_clock> {
	static detail::sys_time_point to_sys(const time_point &t) noexcept
	{
		return detail::shift_to_sys<tai_clock>(t, detail::tai_minus_utc_ns());
	}
	static time_point from_sys(const detail::sys_time_point &t) noexcept
	{
		return detail::shift_from_sys<tai_clock>(t, detail::tai_minus_utc_ns());
	}
};

} /* namespace chronon */

#endif
