/* Percentiles and histograms (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

void chronon__stats_sort(int64_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_i64);
}

int64_t chronon__stats_pct(const int64_t *sorted, size_t n, double p)
{
	if (n == 0)
		return 0;
	double rank = ceil(p / 100.0 * (double)n);
	size_t i = rank < 1 ? 0 : (size_t)rank - 1;
	return sorted[i < n ? i : n - 1];
}

double chronon__stats_median(double *v, size_t n)
{
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Bucket 0 holds 0; bucket b >= 1 holds [2^(b-1), 2^b). */
static int bucket_of(int64_t v)
{
	int b = 0;
	while (v > 0 && b < 63) {
		v >>= 1;
		b++;
	}
	return b;
}

static void print_range(FILE *f, int b)
{
	char lo[24], hi[24];
	if (b == 0) {
		fprintf(f, "%17s", "0 ns");
		return;
	}
	if (b == 1) {
		fprintf(f, "%17s", "1 ns");
		return;
	}
	snprintf(lo, sizeof lo, "%lld", 1LL << (b - 1));
	snprintf(hi, sizeof hi, "%lld", (1LL << b) - 1);
	fprintf(f, "%7s..%-5s ns", lo, hi);
}

void chronon__stats_histogram(FILE *f, const int64_t *sorted, size_t n, int width, const char *indent)
{
	if (n == 0)
		return;
	size_t counts[64] = { 0 };
	for (size_t i = 0; i < n; i++)
		counts[bucket_of(sorted[i] < 0 ? 0 : sorted[i])]++;
	int first = bucket_of(sorted[0] < 0 ? 0 : sorted[0]), last = bucket_of(sorted[n - 1]);
	size_t peak = 0;
	for (int b = first; b <= last; b++)
		if (counts[b] > peak)
			peak = counts[b];
	for (int b = first; b <= last; b++) {
		/* A bucket that is not empty always shows at least one mark. */
		int len = counts[b] ? (int)((counts[b] * (size_t)width + peak - 1) / peak) : 0;
		fprintf(f, "%s", indent);
		print_range(f, b);
		fprintf(f, " |");
		for (int k = 0; k < width; k++)
			fputc(k < len ? '#' : ' ', f);
		fprintf(f, "| %6.2f%% %zu\n", 100.0 * (double)counts[b] / (double)n, counts[b]);
	}
}
