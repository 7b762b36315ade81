/* Finding a function in this process's vDSO, without libc's help. */
#ifndef CHRONON_VDSO_H
#define CHRONON_VDSO_H

#include <stddef.h>

/* Address of the vDSO's symbol `name`, or NULL.  The image is the one the
 * kernel mapped (getauxval(AT_SYSINFO_EHDR)); every offset is checked
 * against its size, so a malformed image gives NULL, never a fault. */
void *chronon__vdso_sym(const char *name);

/* The same lookup on an image of `size` bytes at `image`; for tests. */
void *chronon__elf_dynsym(const void *image, size_t size, const char *name);

#endif
