/* The JSON writer (see json.h). */
#include "json.h"

#include <inttypes.h>
#include <math.h>

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* The comma and key before a member. */
static void member(struct chronon__json *j, const char *key)
{
	if (j->count[j->depth]++ > 0)
		fputc(',', j->f);
	if (key) {
		put_string(j->f, key);
		fputc(':', j->f);
	}
}

/* Nesting deeper than the limit is a caller bug: it stays well-formed but flat. */
static void open_level(struct chronon__json *j, const char *key, char open, char close)
{
	member(j, key);
	fputc(open, j->f);
	if (j->depth + 1 < CHRONON__JSON_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
	j->close[j->depth] = close;
}

void chronon__json_begin(struct chronon__json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->count[0] = 0;
	open_level(j, NULL, '{', '}');
}

void chronon__json_object(struct chronon__json *j, const char *key) { open_level(j, key, '{', '}'); }
void chronon__json_array(struct chronon__json *j, const char *key) { open_level(j, key, '[', ']'); }

void chronon__json_close(struct chronon__json *j)
{
	if (j->depth == 0)
		return;
	fputc(j->close[j->depth], j->f);
	j->depth--;
}

void chronon__json_end(struct chronon__json *j)
{
	while (j->depth > 0)
		chronon__json_close(j);
	fputc('\n', j->f);
	fflush(j->f);
}

void chronon__json_str(struct chronon__json *j, const char *key, const char *v)
{
	member(j, key);
	put_string(j->f, v ? v : "");
}

void chronon__json_int(struct chronon__json *j, const char *key, int64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRId64, v);
}

void chronon__json_uint(struct chronon__json *j, const char *key, uint64_t v)
{
	member(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void chronon__json_double(struct chronon__json *j, const char *key, double v)
{
	member(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.9g", v);
	else
		fputs("null", j->f);
}

void chronon__json_bool(struct chronon__json *j, const char *key, int v)
{
	member(j, key);
	fputs(v ? "true" : "false", j->f);
}

void chronon__json_null(struct chronon__json *j, const char *key)
{
	member(j, key);
	fputs("null", j->f);
}
