/* Finding a function in this process's vDSO, without libc's help. */
#ifndef CHRONON_VDSO_H
#define CHRONON_VDSO_H

#include <stddef.h>

/* The entries' names, per architecture; NULL where the vDSO has none. */
#if defined(__x86_64__)
#define CHRONON__VDSO_GETTIME "__vdso_clock_gettime"
#define CHRONON__VDSO_GETRES "__vdso_clock_getres"
#define CHRONON__VDSO_GETTIMEOFDAY "__vdso_gettimeofday"
#define CHRONON__VDSO_TIME "__vdso_time"
#elif defined(__aarch64__)
#define CHRONON__VDSO_GETTIME "__kernel_clock_gettime"
#define CHRONON__VDSO_GETRES "__kernel_clock_getres"
#define CHRONON__VDSO_GETTIMEOFDAY "__kernel_gettimeofday"
#define CHRONON__VDSO_TIME NULL
#else
#define CHRONON__VDSO_GETTIME NULL
#define CHRONON__VDSO_GETRES NULL
#define CHRONON__VDSO_GETTIMEOFDAY NULL
#define CHRONON__VDSO_TIME NULL
#endif

/* Address of the vDSO's symbol `name`, or NULL.  The image is the one the
 * kernel mapped (getauxval(AT_SYSINFO_EHDR)); every offset is checked
 * against its size, so a malformed image gives NULL, never a fault. */
void *chronon__vdso_sym(const char *name);

/* The same lookup on an image of `size` bytes at `image`; for tests. */
void *chronon__elf_dynsym(const void *image, size_t size, const char *name);

#endif
