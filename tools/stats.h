/*
 * Order statistics and a terminal histogram for the check and bench
 * subcommands.  Percentiles are nearest-rank on sorted data: every figure
 * printed is a value that was actually measured.
 */
#ifndef CHRONON_TOOLS_STATS_H
#define CHRONON_TOOLS_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void chronon__stats_sort(int64_t *v, size_t n);
/* p in [0, 100] of sorted v; 0 when n == 0. */
int64_t chronon__stats_pct(const int64_t *sorted, size_t n, double p);
/* Median of v (sorted in place); NaN when n == 0. */
double chronon__stats_median(double *v, size_t n);
/*
 * Power-of-two buckets from the smallest to the largest value of sorted,
 * non-negative v, one line each: range, bar of `width` columns, share, count.
 */
void chronon__stats_histogram(FILE *f, const int64_t *sorted, size_t n, int width, const char *indent);

#endif
