/*
 * chronon check's accuracy samples (tools/check.h check_bracket_error): a
 * bracket the clock was set inside (second kernel read earlier than the
 * first, a REALTIME step back) or an interrupted one proves nothing and
 * is dropped; a good one is judged against its midpoint.
 */
#include "../tools/check.h"
#include "check.h"

int main(void)
{
	const int64_t t = 1700000000000000000LL;
	/* A good bracket: the error against its midpoint. */
	CHECK(check_bracket_error(t, t + 60, t + 100) == 10, "good bracket");
	CHECK(check_bracket_error(t, t + 40, t + 100) == 10, "good bracket, below the middle");
	CHECK(check_bracket_error(t, t, t) == 0, "empty bracket");
	/* REALTIME set back by 1 s between the two kernel reads: the old
	 * judgement (width > limit only) kept it, with an error of half a
	 * step. */
	CHECK(check_bracket_error(t, t + 50, t - 1000000000 + 100) == -1, "step back kept");
	CHECK(check_bracket_error(t, t - 999999950, t - 999999900) == -1, "step back kept");
	CHECK(check_bracket_error(t, t + 1, t - 1) == -1, "reversed by 2 ns kept");
	/* Stepped forward inside the bracket: too wide, dropped. */
	CHECK(check_bracket_error(t, t + 50, t + 1000000000) == -1, "step forward kept");
	CHECK(check_bracket_error(t, t + 50, t + CHECK_MAX_BRACKET_NS + 1) == -1, "interrupted kept");
	CHECK(check_bracket_error(t, t + 50, t + CHECK_MAX_BRACKET_NS) == CHECK_MAX_BRACKET_NS / 2 - 50,
	      "widest good bracket");
	/* Near the end of int64: no overflow. */
	const int64_t big = INT64_MAX - 10;
	CHECK(check_bracket_error(big - 8, big, big) == 4, "near INT64_MAX");
	return test_exit();
}
