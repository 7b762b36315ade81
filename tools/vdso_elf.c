/*
 * The vDSO ELF reader (see vdso_elf.h).  The dynamic segment is the source
 * of truth, as for the dynamic linker: section headers are used only to
 * name sections, and an image without valid ones still lists its symbols.
 */
#include "vdso_elf.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

/* Cap on loops driven by image contents, so a cyclic chain cannot spin. */
#define MAX_SYMS 65536u
#define MAX_VERDEFS 256u

struct version {
	uint16_t ndx;
	const char *name;
};

struct reader {
	struct chronon__vdso_elf *e;
	Elf64_Ehdr eh;
	uint64_t dyn_off, dyn_size;
	uint64_t symtab, strtab, strsz, syment, hash, gnu_hash, versym, verdef, verdefnum;
	int has[8];
	struct version versions[MAX_VERDEFS];
	size_t nversions;
	uint64_t shstr_off, shstr_size;
};

enum { HAS_SYMTAB, HAS_STRTAB, HAS_STRSZ, HAS_HASH, HAS_GNU_HASH, HAS_VERSYM, HAS_VERDEF, HAS_SONAME };

static int fail(struct chronon__vdso_elf *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->error, sizeof e->error, fmt, ap);
	va_end(ap);
	return -1;
}

/* [off, off+len) inside [0, size), written so that no sum can overflow. */
static int span_ok(size_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

static int copy_out(const struct chronon__vdso_elf *e, uint64_t off, void *dst, size_t len)
{
	if (!span_ok(e->size, off, len))
		return -1;
	memcpy(dst, e->img + off, len);
	return 0;
}

/* A NUL-terminated string at table offset `at`, or NULL. */
static const char *string_at(const struct chronon__vdso_elf *e, uint64_t table, uint64_t table_size,
			     uint64_t at)
{
	if (!span_ok(e->size, table, table_size) || at >= table_size)
		return NULL;
	const char *s = (const char *)e->img + table + at;
	return memchr(s, '\0', table_size - at) ? s : NULL;
}

static int read_ehdr(struct reader *r)
{
	struct chronon__vdso_elf *e = r->e;
	if (e->size < sizeof r->eh)
		return fail(e, "image of %zu bytes is shorter than an ELF header", e->size);
	memcpy(&r->eh, e->img, sizeof r->eh);
	if (memcmp(r->eh.e_ident, ELFMAG, SELFMAG) != 0)
		return fail(e, "no ELF magic at the start of the image");
	if (r->eh.e_ident[EI_CLASS] != ELFCLASS64)
		return fail(e, "ELF class %u is not ELFCLASS64", r->eh.e_ident[EI_CLASS]);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (r->eh.e_ident[EI_DATA] != ELFDATA2LSB)
#else
	if (r->eh.e_ident[EI_DATA] != ELFDATA2MSB)
#endif
		return fail(e, "ELF byte order %u is not this machine's", r->eh.e_ident[EI_DATA]);
	if (r->eh.e_type != ET_DYN)
		return fail(e, "ELF type %u is not ET_DYN (a shared object)", r->eh.e_type);
	if (r->eh.e_phentsize != sizeof(Elf64_Phdr))
		return fail(e, "program header size %u, expected %zu", r->eh.e_phentsize,
			    sizeof(Elf64_Phdr));
	if (r->eh.e_phnum == 0 || !span_ok(e->size, r->eh.e_phoff, (uint64_t)r->eh.e_phnum * sizeof(Elf64_Phdr)))
		return fail(e, "program headers (offset %#llx, %u entries) lie outside the image",
			    (unsigned long long)r->eh.e_phoff, r->eh.e_phnum);
	return 0;
}

static Elf64_Phdr phdr(const struct reader *r, unsigned i)
{
	Elf64_Phdr p;
	memcpy(&p, r->e->img + r->eh.e_phoff + (uint64_t)i * sizeof p, sizeof p);
	return p;
}

/* Image offset of a link-time address, through the PT_LOAD that holds it. */
static int vaddr_to_off(const struct reader *r, uint64_t va, uint64_t len, uint64_t *off)
{
	for (unsigned i = 0; i < r->eh.e_phnum; i++) {
		Elf64_Phdr p = phdr(r, i);
		if (p.p_type != PT_LOAD || va < p.p_vaddr)
			continue;
		uint64_t rel = va - p.p_vaddr;
		if (rel > p.p_filesz || len > p.p_filesz - rel)
			continue;
		if (p.p_offset > UINT64_MAX - rel || !span_ok(r->e->size, p.p_offset + rel, len))
			continue;
		*off = p.p_offset + rel;
		return 0;
	}
	return -1;
}

static int find_dynamic(struct reader *r)
{
	for (unsigned i = 0; i < r->eh.e_phnum; i++) {
		Elf64_Phdr p = phdr(r, i);
		if (p.p_type != PT_DYNAMIC)
			continue;
		if (!span_ok(r->e->size, p.p_offset, p.p_filesz))
			return fail(r->e, "PT_DYNAMIC (offset %#llx, %llu bytes) lies outside the image",
				    (unsigned long long)p.p_offset, (unsigned long long)p.p_filesz);
		r->dyn_off = p.p_offset;
		r->dyn_size = p.p_filesz;
		return 0;
	}
	return fail(r->e, "no PT_DYNAMIC program header");
}

static void note_dyn(struct reader *r, const Elf64_Dyn *d, uint64_t *soname)
{
	switch (d->d_tag) {
	case DT_SYMTAB: r->symtab = d->d_un.d_ptr; r->has[HAS_SYMTAB] = 1; break;
	case DT_STRTAB: r->strtab = d->d_un.d_ptr; r->has[HAS_STRTAB] = 1; break;
	case DT_STRSZ: r->strsz = d->d_un.d_val; r->has[HAS_STRSZ] = 1; break;
	case DT_SYMENT: r->syment = d->d_un.d_val; break;
	case DT_HASH: r->hash = d->d_un.d_ptr; r->has[HAS_HASH] = 1; break;
	case DT_GNU_HASH: r->gnu_hash = d->d_un.d_ptr; r->has[HAS_GNU_HASH] = 1; break;
	case DT_VERSYM: r->versym = d->d_un.d_ptr; r->has[HAS_VERSYM] = 1; break;
	case DT_VERDEF: r->verdef = d->d_un.d_ptr; r->has[HAS_VERDEF] = 1; break;
	case DT_VERDEFNUM: r->verdefnum = d->d_un.d_val; break;
	case DT_SONAME: *soname = d->d_un.d_val; r->has[HAS_SONAME] = 1; break;
	default: break;
	}
}

static int read_dynamic(struct reader *r)
{
	uint64_t soname = 0;
	r->syment = sizeof(Elf64_Sym);
	for (uint64_t at = 0; at + sizeof(Elf64_Dyn) <= r->dyn_size; at += sizeof(Elf64_Dyn)) {
		Elf64_Dyn d;
		memcpy(&d, r->e->img + r->dyn_off + at, sizeof d);
		if (d.d_tag == DT_NULL)
			break;
		note_dyn(r, &d, &soname);
	}
	if (!r->has[HAS_SYMTAB] || !r->has[HAS_STRTAB] || !r->has[HAS_STRSZ])
		return fail(r->e, "dynamic section lacks DT_SYMTAB, DT_STRTAB or DT_STRSZ");
	if (r->syment != sizeof(Elf64_Sym))
		return fail(r->e, "DT_SYMENT is %llu, expected %zu", (unsigned long long)r->syment,
			    sizeof(Elf64_Sym));
	uint64_t off;
	if (vaddr_to_off(r, r->strtab, r->strsz, &off) != 0)
		return fail(r->e, "string table (address %#llx, %llu bytes) lies outside the image",
			    (unsigned long long)r->strtab, (unsigned long long)r->strsz);
	r->strtab = off;
	r->e->soname = "";
	if (r->has[HAS_SONAME]) {
		const char *s = string_at(r->e, r->strtab, r->strsz, soname);
		if (!s)
			return fail(r->e, "DT_SONAME offset %#llx is outside the string table",
				    (unsigned long long)soname);
		r->e->soname = s;
	}
	return 0;
}

static int count_from_hash(struct reader *r, uint64_t *count)
{
	uint32_t hdr[2];
	uint64_t off;
	if (vaddr_to_off(r, r->hash, sizeof hdr, &off) != 0 || copy_out(r->e, off, hdr, sizeof hdr) != 0)
		return fail(r->e, "DT_HASH table at %#llx lies outside the image", (unsigned long long)r->hash);
	*count = hdr[1]; /* nchain: one chain entry per symbol */
	r->e->count_from = "DT_HASH";
	return 0;
}

/*
 * DT_GNU_HASH has no symbol count: the last symbol is the end of the chain
 * that starts at the highest bucket (chains end with bit 0 set).
 */
static int count_from_gnu_hash(struct reader *r, uint64_t *count)
{
	uint32_t hdr[4];
	uint64_t off;
	struct chronon__vdso_elf *e = r->e;
	if (vaddr_to_off(r, r->gnu_hash, sizeof hdr, &off) != 0 || copy_out(e, off, hdr, sizeof hdr) != 0)
		return fail(e, "DT_GNU_HASH table at %#llx lies outside the image",
			    (unsigned long long)r->gnu_hash);
	uint64_t nbuckets = hdr[0], symoffset = hdr[1], bloom = hdr[2];
	uint64_t buckets = off + sizeof hdr + bloom * 8u;
	if (bloom > e->size || !span_ok(e->size, buckets, nbuckets * 4u))
		return fail(e, "DT_GNU_HASH buckets (%llu, bloom %llu) lie outside the image",
			    (unsigned long long)nbuckets, (unsigned long long)bloom);
	uint64_t top = 0;
	for (uint64_t i = 0; i < nbuckets; i++) {
		uint32_t b;
		memcpy(&b, e->img + buckets + i * 4u, sizeof b);
		if (b > top)
			top = b;
	}
	r->e->count_from = "DT_GNU_HASH";
	if (top < symoffset) {
		*count = symoffset;
		return 0;
	}
	uint64_t chain = buckets + nbuckets * 4u;
	for (uint64_t i = top; i < MAX_SYMS; i++) {
		uint32_t h;
		if (copy_out(e, chain + (i - symoffset) * 4u, &h, sizeof h) != 0)
			return fail(e, "DT_GNU_HASH chain runs past the end of the image");
		if (h & 1u) {
			*count = i + 1;
			return 0;
		}
	}
	return fail(e, "DT_GNU_HASH chain does not end within %u symbols", MAX_SYMS);
}

static int read_verdefs(struct reader *r)
{
	if (!r->has[HAS_VERDEF])
		return 0;
	uint64_t at;
	if (vaddr_to_off(r, r->verdef, sizeof(Elf64_Verdef), &at) != 0)
		return fail(r->e, "DT_VERDEF at %#llx lies outside the image", (unsigned long long)r->verdef);
	uint64_t n = r->verdefnum ? r->verdefnum : MAX_VERDEFS;
	for (uint64_t i = 0; i < n && i < MAX_VERDEFS; i++) {
		Elf64_Verdef vd;
		Elf64_Verdaux va;
		if (copy_out(r->e, at, &vd, sizeof vd) != 0)
			return fail(r->e, "version definition %llu lies outside the image", (unsigned long long)i);
		if (vd.vd_version != VER_DEF_CURRENT)
			return fail(r->e, "version definition %llu has revision %u", (unsigned long long)i,
				    vd.vd_version);
		if (vd.vd_cnt == 0 || at > UINT64_MAX - vd.vd_aux || copy_out(r->e, at + vd.vd_aux, &va, sizeof va) != 0)
			return fail(r->e, "version definition %llu has no name entry in the image",
				    (unsigned long long)i);
		const char *name = string_at(r->e, r->strtab, r->strsz, va.vda_name);
		if (!name)
			return fail(r->e, "version definition %llu names offset %#x outside the string table",
				    (unsigned long long)i, va.vda_name);
		r->versions[r->nversions].ndx = vd.vd_ndx & 0x7fff;
		r->versions[r->nversions++].name = name;
		if (vd.vd_next == 0)
			break;
		at += vd.vd_next;
	}
	r->e->nversions = r->nversions;
	return 0;
}

static const char *version_name(const struct reader *r, uint16_t ndx)
{
	if (ndx == VER_NDX_LOCAL)
		return "";
	/* objdump shows the base definition (the soname) as "Base". */
	if (ndx == VER_NDX_GLOBAL)
		return "Base";
	for (size_t i = 0; i < r->nversions; i++)
		if (r->versions[i].ndx == ndx)
			return r->versions[i].name;
	return "<bad version>";
}

/* Section headers are optional: without valid ones, sections go unnamed. */
static void find_section_names(struct reader *r)
{
	const Elf64_Ehdr *h = &r->eh;
	Elf64_Shdr sh;
	if (h->e_shoff == 0 || h->e_shentsize != sizeof sh || h->e_shstrndx >= h->e_shnum ||
	    !span_ok(r->e->size, h->e_shoff, (uint64_t)h->e_shnum * sizeof sh))
		return;
	memcpy(&sh, r->e->img + h->e_shoff + (uint64_t)h->e_shstrndx * sizeof sh, sizeof sh);
	if (!span_ok(r->e->size, sh.sh_offset, sh.sh_size))
		return;
	r->shstr_off = sh.sh_offset;
	r->shstr_size = sh.sh_size;
	r->e->have_sections = 1;
}

static const char *section_name(const struct reader *r, uint16_t shndx)
{
	if (shndx == SHN_UNDEF)
		return "*UND*";
	if (shndx == SHN_ABS)
		return "*ABS*";
	if (!r->e->have_sections || shndx >= r->eh.e_shnum)
		return "?";
	Elf64_Shdr sh;
	memcpy(&sh, r->e->img + r->eh.e_shoff + (uint64_t)shndx * sizeof sh, sizeof sh);
	const char *s = string_at(r->e, r->shstr_off, r->shstr_size, sh.sh_name);
	return s ? s : "?";
}

static int read_symbol(struct reader *r, uint64_t symtab_off, uint64_t versym_off, uint64_t i,
		       struct chronon__vdso_sym *out)
{
	Elf64_Sym s;
	memcpy(&s, r->e->img + symtab_off + i * sizeof s, sizeof s);
	out->name = string_at(r->e, r->strtab, r->strsz, s.st_name);
	if (!out->name)
		return fail(r->e, "symbol %llu names offset %#x outside the string table",
			    (unsigned long long)i, s.st_name);
	out->value = s.st_value;
	out->size = s.st_size;
	out->type = ELF64_ST_TYPE(s.st_info);
	out->bind = ELF64_ST_BIND(s.st_info);
	out->shndx = s.st_shndx;
	out->section = section_name(r, s.st_shndx);
	out->version = "";
	out->version_hidden = 0;
	if (r->has[HAS_VERSYM]) {
		uint16_t v;
		memcpy(&v, r->e->img + versym_off + i * 2u, sizeof v);
		out->version = version_name(r, v & 0x7fff);
		out->version_hidden = (v & 0x8000) != 0;
	}
	return 0;
}

static int read_symbols(struct reader *r, uint64_t count)
{
	struct chronon__vdso_elf *e = r->e;
	uint64_t symtab_off, versym_off = 0;
	if (count > MAX_SYMS)
		return fail(e, "symbol count %llu is implausible (limit %u)", (unsigned long long)count, MAX_SYMS);
	if (vaddr_to_off(r, r->symtab, count * sizeof(Elf64_Sym), &symtab_off) != 0)
		return fail(e, "symbol table (address %#llx, %llu symbols) lies outside the image",
			    (unsigned long long)r->symtab, (unsigned long long)count);
	if (r->has[HAS_VERSYM] && vaddr_to_off(r, r->versym, count * 2u, &versym_off) != 0)
		return fail(e, "DT_VERSYM table at %#llx lies outside the image", (unsigned long long)r->versym);
	if (count <= 1)
		return 0;
	e->syms = calloc(count - 1, sizeof *e->syms);
	if (!e->syms)
		return fail(e, "out of memory for %llu symbols", (unsigned long long)count);
	for (uint64_t i = 1; i < count; i++) {
		if (read_symbol(r, symtab_off, versym_off, i, &e->syms[i - 1]) != 0)
			return -1;
		e->nsyms++;
	}
	return 0;
}

int chronon__vdso_elf_parse(const void *img, size_t size, struct chronon__vdso_elf *e)
{
	memset(e, 0, sizeof *e);
	e->img = img;
	e->size = size;
	e->soname = "";
	e->count_from = "";
	if (!img)
		return fail(e, "no image");
	struct reader *r = calloc(1, sizeof *r);
	if (!r)
		return fail(e, "out of memory");
	r->e = e;
	uint64_t count = 0;
	int rc = -1;
	if (read_ehdr(r) == 0 && find_dynamic(r) == 0 && read_dynamic(r) == 0) {
		if (r->has[HAS_HASH])
			rc = count_from_hash(r, &count);
		else if (r->has[HAS_GNU_HASH])
			rc = count_from_gnu_hash(r, &count);
		else
			rc = fail(e, "neither DT_HASH nor DT_GNU_HASH: the symbol count is unknown");
		if (rc == 0) {
			find_section_names(r);
			rc = read_verdefs(r);
		}
		if (rc == 0)
			rc = read_symbols(r, count);
	}
	free(r);
	return rc;
}

void chronon__vdso_elf_free(struct chronon__vdso_elf *e)
{
	free(e->syms);
	e->syms = NULL;
	e->nsyms = 0;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

size_t chronon__vdso_elf_image_size(const void *img, size_t avail, char *err, size_t errlen)
{
	struct chronon__vdso_elf e = { .img = img, .size = avail };
	struct reader r = { .e = &e };
	if (read_ehdr(&r) != 0) {
		set_err(err, errlen, "%s", e.error);
		return 0;
	}
	uint64_t need = (uint64_t)r.eh.e_phoff + (uint64_t)r.eh.e_phnum * sizeof(Elf64_Phdr);
	for (unsigned i = 0; i < r.eh.e_phnum; i++) {
		Elf64_Phdr p = phdr(&r, i);
		if (p.p_type != PT_LOAD)
			continue;
		if (p.p_offset > UINT64_MAX - p.p_filesz || p.p_offset + p.p_filesz > avail) {
			set_err(err, errlen, "PT_LOAD claims bytes up to %#llx, past the %zu available",
				(unsigned long long)p.p_offset + p.p_filesz, avail);
			return 0;
		}
		if (p.p_offset + p.p_filesz > need)
			need = p.p_offset + p.p_filesz;
	}
	/* Section headers sit after the loaded bytes; keep them when they fit. */
	uint64_t sh = (uint64_t)r.eh.e_shnum * r.eh.e_shentsize;
	if (r.eh.e_shoff && span_ok(avail, r.eh.e_shoff, sh) && r.eh.e_shoff + sh > need)
		need = r.eh.e_shoff + sh;
	return (size_t)need;
}

/* Size of the [vdso] mapping that starts at `base`, 0 when not found. */
static size_t mapping_size(const void *base)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	char line[512];
	size_t size = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo == (unsigned long)(uintptr_t)base && hi > lo) {
			size = hi - lo;
			break;
		}
	}
	fclose(f);
	return size;
}

const void *chronon__vdso_elf_live(size_t *size, char *err, size_t errlen)
{
	const void *base = (const void *)(uintptr_t)getauxval(AT_SYSINFO_EHDR);
	*size = 0;
	if (!base) {
		set_err(err, errlen, "this process has no vDSO (getauxval(AT_SYSINFO_EHDR) is 0)");
		return NULL;
	}
	/*
	 * Without /proc, trust one page: the ELF and program headers always
	 * sit in the vDSO's first page.
	 */
	size_t avail = mapping_size(base);
	if (avail == 0)
		avail = 4096;
	*size = chronon__vdso_elf_image_size(base, avail, err, errlen);
	return *size ? base : NULL;
}

void chronon__vdso_elf_flags(const struct chronon__vdso_sym *s, char out[8])
{
	memset(out, ' ', 7);
	out[7] = '\0';
	out[0] = s->bind == STB_LOCAL ? 'l' : s->bind == STB_GLOBAL ? 'g' : s->bind == STB_GNU_UNIQUE ? 'u' : ' ';
	if (s->bind == STB_WEAK)
		out[1] = 'w';
	if (s->type == STT_GNU_IFUNC)
		out[4] = 'i';
	out[5] = 'D'; /* every symbol listed here is dynamic */
	out[6] = s->type == STT_FUNC ? 'F' : s->type == STT_FILE ? 'f' : s->type == STT_OBJECT ? 'O' : ' ';
}

int chronon__vdso_elf_format(const struct chronon__vdso_sym *s, char *buf, size_t len)
{
	char flags[8], ver[128];
	chronon__vdso_elf_flags(s, flags);
	snprintf(ver, sizeof ver, s->version_hidden ? "(%s)" : "%s", s->version);
	return snprintf(buf, len, "%016llx %s %s\t%016llx  %-11s %s", (unsigned long long)s->value, flags,
			s->section, (unsigned long long)s->size, ver, s->name);
}
