/* Reading the kernel's small text files (sysfs, procfs) without stdio:
 * no allocation, usable from a clock call's slow path. */
#ifndef CHRONON_SYSFILE_H
#define CHRONON_SYSFILE_H

#include <stddef.h>

/* Reads up to len - 1 bytes of path into buf, NUL-terminated.  0, or -1
 * when the file cannot be opened or read. */
int chronon__read_small(const char *path, char *buf, size_t len);

/* Whether a space- or newline-separated list contains word. */
int chronon__has_word(const char *list, const char *word);

#endif
