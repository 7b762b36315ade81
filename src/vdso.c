/*
 * A minimal ELF64 dynamic-symbol lookup for the vDSO.  chronon needs the
 * kernel's clock_gettime without going through the libc symbol: inside the
 * preload shim that symbol is chronon itself, and calling it would recurse.
 * The lookup walks the section headers to .dynsym, which the vDSO always
 * carries; anything out of bounds makes it give up.
 */
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>

#include "vdso.h"

static int in_bounds(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

/* The kernel maps the whole vDSO file: it spans to the end of its last
 * PT_LOAD or of its section headers, whichever is further. */
static size_t image_size(const Elf64_Ehdr *eh)
{
	const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
	uint64_t end = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset + ph[i].p_filesz > end)
			end = ph[i].p_offset + ph[i].p_filesz;
	uint64_t sh_end = eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize;
	return (size_t)(sh_end > end ? sh_end : end);
}

/* ELF tables are 8-byte aligned in a sane image; a misaligned one is
 * corruption (and reading it through a struct would be undefined). */
static int aligned(uint64_t off)
{
	return off % 8 == 0;
}

static int header_ok(const Elf64_Ehdr *eh, size_t size)
{
	return size >= sizeof *eh && ((uintptr_t)eh % 8) == 0 &&
	       memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
	       eh->e_shentsize == sizeof(Elf64_Shdr) && aligned(eh->e_shoff) &&
	       in_bounds(size, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr));
}

/* Load bias: symbol values are link-time addresses; the image's first
 * PT_LOAD maps file offset p_offset at p_vaddr. */
static uint64_t link_base(const void *image, size_t size)
{
	const Elf64_Ehdr *eh = image;
	if (!aligned(eh->e_phoff) ||
	    !in_bounds(size, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		return ~(uint64_t)0;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)image + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD)
			return ph[i].p_vaddr - ph[i].p_offset;
	return ~(uint64_t)0;
}

void *chronon__elf_dynsym(const void *image, size_t size, const char *name)
{
	const Elf64_Ehdr *eh = image;
	if (!image || !header_ok(eh, size))
		return NULL;
	uint64_t bias = link_base(image, size);
	if (bias == ~(uint64_t)0)
		return NULL;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)((const char *)image + eh->e_shoff);
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_entsize != sizeof(Elf64_Sym) ||
		    sh[i].sh_link >= eh->e_shnum || !aligned(sh[i].sh_offset) ||
		    !in_bounds(size, sh[i].sh_offset, sh[i].sh_size))
			continue;
		const Elf64_Shdr *str = &sh[sh[i].sh_link];
		if (!in_bounds(size, str->sh_offset, str->sh_size))
			continue;
		const Elf64_Sym *sym = (const Elf64_Sym *)((const char *)image + sh[i].sh_offset);
		const char *strtab = (const char *)image + str->sh_offset;
		size_t nsym = sh[i].sh_size / sizeof(Elf64_Sym);
		size_t namelen = strlen(name);
		for (size_t j = 0; j < nsym; j++) {
			if (sym[j].st_shndx == SHN_UNDEF || ELF64_ST_TYPE(sym[j].st_info) != STT_FUNC)
				continue;
			if (sym[j].st_name >= str->sh_size || str->sh_size - sym[j].st_name <= namelen)
				continue;
			if (memcmp(strtab + sym[j].st_name, name, namelen + 1) != 0)
				continue;
			uint64_t off = sym[j].st_value - bias;
			if (off >= size)
				return NULL;
			return (char *)image + off;
		}
	}
	return NULL;
}

void *chronon__vdso_sym(const char *name)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
	if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
		return NULL;
	return chronon__elf_dynsym(eh, image_size(eh), name);
}
