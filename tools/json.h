/*
 * A small streaming JSON writer: one object on one FILE, keys in the order
 * written.  Enough for the tool's --json output; it keeps track of commas
 * and escapes strings so callers only say what to write.
 */
#ifndef CHRONON_TOOLS_JSON_H
#define CHRONON_TOOLS_JSON_H

#include <stdint.h>
#include <stdio.h>

#define CHRONON__JSON_DEPTH 16

struct chronon__json {
	FILE *f;
	int depth;
	int count[CHRONON__JSON_DEPTH]; /* members written so far at each level */
	char close[CHRONON__JSON_DEPTH]; /* '}' or ']' for each open level */
};

/* key is NULL inside arrays and for the top-level object. */
void chronon__json_begin(struct chronon__json *j, FILE *f);
void chronon__json_end(struct chronon__json *j); /* closes the top object, adds a newline */
void chronon__json_object(struct chronon__json *j, const char *key);
void chronon__json_array(struct chronon__json *j, const char *key);
void chronon__json_close(struct chronon__json *j);
void chronon__json_str(struct chronon__json *j, const char *key, const char *v);
void chronon__json_int(struct chronon__json *j, const char *key, int64_t v);
void chronon__json_uint(struct chronon__json *j, const char *key, uint64_t v);
void chronon__json_double(struct chronon__json *j, const char *key, double v); /* NaN/inf -> null */
void chronon__json_bool(struct chronon__json *j, const char *key, int v);
void chronon__json_null(struct chronon__json *j, const char *key);

#endif
