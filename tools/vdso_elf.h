/*
 * A reader for the vDSO's ELF image: its dynamic symbols and their version
 * names, nothing else.  It trusts no byte of the image: every offset,
 * count and string is checked against the image size before it is used,
 * because the same code reads files a user hands to it and the tests feed
 * it corrupted copies.  Multi-byte fields are copied out with memcpy, so a
 * misaligned buffer is fine too.
 */
#ifndef CHRONON_TOOLS_VDSO_ELF_H
#define CHRONON_TOOLS_VDSO_ELF_H

#include <stddef.h>
#include <stdint.h>

struct chronon__vdso_sym {
	uint64_t value;
	uint64_t size;
	unsigned char type;      /* STT_* */
	unsigned char bind;      /* STB_* */
	uint16_t shndx;
	const char *name;        /* inside the image */
	const char *section;     /* section name, "*ABS*", "*UND*" or "?" */
	const char *version;     /* "" when the symbol has none */
	int version_hidden;      /* versym bit 15: printed in parentheses */
};

struct chronon__vdso_elf {
	const unsigned char *img;
	size_t size;
	const char *soname;      /* "" when DT_SONAME is absent */
	size_t nsyms;            /* entry 0 (the null symbol) is not listed */
	struct chronon__vdso_sym *syms;
	size_t nversions;        /* version definitions found */
	const char *count_from;  /* "DT_HASH" or "DT_GNU_HASH" */
	int have_sections;       /* section names came from the section headers */
	char error[192];         /* set when a call returns -1 */
};

/*
 * Bytes the image occupies as a file: the loaded segment plus the section
 * headers that follow it (objdump needs those), read from the headers
 * within the first `avail` bytes.  0 with out->error set when the headers
 * are malformed or claim more than `avail`.
 */
size_t chronon__vdso_elf_image_size(const void *img, size_t avail, char *err, size_t errlen);

/* Parse; 0, or -1 with e->error set.  Free with chronon__vdso_elf_free even on error. */
int chronon__vdso_elf_parse(const void *img, size_t size, struct chronon__vdso_elf *e);
void chronon__vdso_elf_free(struct chronon__vdso_elf *e);

/*
 * This process's vDSO: its address from getauxval(AT_SYSINFO_EHDR) and its
 * size from its headers, bounded by the [vdso] mapping in /proc/self/maps
 * so a lying header cannot make us read past the mapping.  NULL with err
 * set when there is none.
 */
const void *chronon__vdso_elf_live(size_t *size, char *err, size_t errlen);

/* objdump -T's seven flag characters for a symbol, NUL-terminated in out[8]. */
void chronon__vdso_elf_flags(const struct chronon__vdso_sym *s, char out[8]);

/* One symbol as objdump -T prints it (no newline); returns snprintf's count. */
int chronon__vdso_elf_format(const struct chronon__vdso_sym *s, char *buf, size_t len);

#endif
