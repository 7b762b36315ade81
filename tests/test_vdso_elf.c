/*
 * The vDSO ELF reader (tools/vdso_elf.c): on the live vDSO it finds the
 * clock symbols and prints exactly what objdump -T prints; on truncated,
 * clobbered and random images it never reads outside the buffer (each
 * copy is a heap block of the exact size, so ASan sees any overrun) and
 * either parses or says why not.
 */
#include "vdso_elf.h"
#include "check.h"

#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parse a heap copy of exactly `len` bytes; every outcome must be clean. */
static int parse_copy(const unsigned char *img, size_t len, char *why, size_t whylen)
{
	unsigned char *copy = malloc(len ? len : 1);
	if (len)
		memcpy(copy, img, len);
	struct chronon__vdso_elf e;
	int rc = chronon__vdso_elf_parse(copy, len, &e);
	if (rc != 0)
		CHECK(e.error[0] != '\0', "an error without a message (len %zu)", len);
	else
		for (size_t i = 0; i < e.nsyms; i++) {
			char line[512];
			/* Touch every string the parser handed out. */
			chronon__vdso_elf_format(&e.syms[i], line, sizeof line);
		}
	if (why)
		snprintf(why, whylen, "%s", e.error);
	chronon__vdso_elf_free(&e);
	char err[192];
	size_t need = chronon__vdso_elf_image_size(copy, len, err, sizeof err);
	CHECK(need <= len, "image size %zu beyond the %zu bytes given", need, len);
	free(copy);
	return rc;
}

static const struct chronon__vdso_sym *find(const struct chronon__vdso_elf *e, const char *name)
{
	for (size_t i = 0; i < e->nsyms; i++)
		if (strcmp(e->syms[i].name, name) == 0)
			return &e->syms[i];
	return NULL;
}

static void test_live(const unsigned char *img, size_t size)
{
	struct chronon__vdso_elf e;
	int rc = chronon__vdso_elf_parse(img, size, &e);
	CHECK(rc == 0, "live vDSO does not parse: %s", e.error);
	if (rc == 0) {
		CHECK(e.nsyms >= 2, "only %zu symbols", e.nsyms);
		CHECK(strncmp(e.soname, "linux-", 6) == 0, "soname '%s'", e.soname);
		const struct chronon__vdso_sym *s = find(&e, "__vdso_clock_gettime");
		if (!s)
			s = find(&e, "__kernel_clock_gettime");
		CHECK(s != NULL, "no clock_gettime symbol");
		if (s) {
			CHECK(s->type == STT_FUNC, "clock_gettime type %u", s->type);
			CHECK(s->version[0] != '\0' && strcmp(s->version, "<bad version>") != 0, "version '%s'",
			      s->version);
			CHECK(s->size > 0 && s->value > 0 && s->value < size, "value %llu size %llu",
			      (unsigned long long)s->value, (unsigned long long)s->size);
		}
	}
	chronon__vdso_elf_free(&e);
	CHECK(parse_copy(img, size, NULL, 0) == 0, "exact heap copy does not parse");
}

static void expect_error(const unsigned char *img, size_t size, size_t off, unsigned char v, const char *words)
{
	unsigned char *copy = malloc(size);
	memcpy(copy, img, size);
	copy[off] = v;
	char why[192];
	int rc = parse_copy(copy, size, why, sizeof why);
	CHECK(rc != 0 && strstr(why, words), "byte %zu = %u: rc %d, error '%s', wanted '%s'", off, v, rc, why,
	      words);
	free(copy);
}

static void test_clear_errors(const unsigned char *img, size_t size)
{
	char why[192];
	CHECK(parse_copy(img, 10, why, sizeof why) != 0 && strstr(why, "shorter than an ELF header"), "'%s'", why);
	CHECK(parse_copy(img, 0, why, sizeof why) != 0, "empty image parsed");
	expect_error(img, size, 0, 0, "no ELF magic");
	expect_error(img, size, EI_CLASS, ELFCLASS32, "ELFCLASS64");
	expect_error(img, size, EI_DATA, 9, "byte order");
	expect_error(img, size, offsetof(Elf64_Ehdr, e_type), ET_EXEC, "ET_DYN");
	expect_error(img, size, offsetof(Elf64_Ehdr, e_phentsize), 1, "program header size");
	expect_error(img, size, offsetof(Elf64_Ehdr, e_phoff) + 7, 0x80, "program headers");
	struct chronon__vdso_elf e;
	CHECK(chronon__vdso_elf_parse(NULL, 100, &e) != 0 && strstr(e.error, "no image"), "NULL image");
	chronon__vdso_elf_free(&e);
}

static void test_truncated(const unsigned char *img, size_t size)
{
	size_t ok = 0;
	for (size_t len = 0; len < size; len++)
		ok += parse_copy(img, len, NULL, 0) == 0;
	/* The tables the symbols come from precede the code: short copies must fail. */
	CHECK(ok < size, "every truncation parsed");
	printf("truncated copies: %zu of %zu lengths still parse (the tables come first)\n", ok, size);
}

/* Overwrite every header-area field width at every offset with hostile values. */
static void test_clobbered(const unsigned char *img, size_t size)
{
	static const uint64_t values[] = { 0, ~0ull, 1ull << 63, 0x7fffffffffffffffull, 0x7fffffffull, 0xffffffffull,
					   0x8000, 1 };
	unsigned char *copy = malloc(size);
	size_t area = size < 0x800 ? size : 0x800; /* headers, hash, symbols, strings, versions, dynamic */
	size_t parsed = 0, runs = 0;
	for (size_t width = 1; width <= 8; width *= 2)
		for (size_t off = 0; off + width <= area; off += width)
			for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
				memcpy(copy, img, size);
				uint64_t x = values[v] == 0xffffffffull ? size : values[v];
				memcpy(copy + off, &x, width); /* little-endian: the low bytes */
				parsed += parse_copy(copy, size, NULL, 0) == 0;
				runs++;
			}
	printf("clobbered fields: %zu runs, %zu still parse\n", runs, parsed);
	free(copy);
}

static void test_random(const unsigned char *img, size_t size)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	unsigned char *copy = malloc(size);
	for (int i = 0; i < 20000; i++) {
		memcpy(copy, img, size);
		int n = 1 + (int)(test_rand(&rng) % 16);
		for (int k = 0; k < n; k++)
			copy[test_rand(&rng) % (size < 0x800 ? size : 0x800)] = (unsigned char)test_rand(&rng);
		parse_copy(copy, size, NULL, 0);
	}
	/* Random bytes behind a valid ELF identification, so deeper code runs. */
	for (int i = 0; i < 2000; i++) {
		for (size_t k = 0; k < size; k++)
			copy[k] = (unsigned char)test_rand(&rng);
		memcpy(copy, img, EI_NIDENT);
		parse_copy(copy, (size_t)(test_rand(&rng) % size), NULL, 0);
	}
	free(copy);
}

/* objdump -T on the dumped image must print exactly our lines. */
static void test_objdump(const unsigned char *img, size_t size)
{
	if (system("command -v objdump >/dev/null 2>&1") != 0) {
		printf("objdump not installed: objdump comparison skipped\n");
		return;
	}
	char path[] = "/tmp/chronon-vdso-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	if (fd < 0)
		return;
	CHECK(write(fd, img, size) == (ssize_t)size, "write");
	close(fd);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "objdump -T %s", path);
	FILE *p = popen(cmd, "r");
	struct chronon__vdso_elf e;
	CHECK(chronon__vdso_elf_parse(img, size, &e) == 0, "%s", e.error);
	char line[512], ours[512];
	size_t seen = 0, in_table = 0;
	while (p && fgets(line, sizeof line, p)) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "DYNAMIC SYMBOL TABLE:") == 0) {
			in_table = 1;
			continue;
		}
		if (!in_table || line[0] == '\0')
			continue;
		CHECK(seen < e.nsyms, "objdump lists more symbols than %zu", e.nsyms);
		if (seen < e.nsyms) {
			chronon__vdso_elf_format(&e.syms[seen], ours, sizeof ours);
			CHECK(strcmp(line, ours) == 0, "\n objdump: '%s'\n ours:    '%s'", line, ours);
		}
		seen++;
	}
	CHECK(p && pclose(p) == 0, "objdump failed");
	CHECK(seen == e.nsyms, "objdump listed %zu symbols, we %zu", seen, e.nsyms);
	printf("objdump -T agrees on all %zu symbols\n", seen);
	chronon__vdso_elf_free(&e);
	unlink(path);
}


/*
 * A synthetic image with the tables in the reverse of the kernel's order
 * (dynamic section first, symbol table last) and a load address that is
 * not its file offset, so truncation and clobbering reach every table
 * read, and the DT_GNU_HASH path runs when DT_HASH is left out.
 */
#define SYNTH_VADDR 0x1000u

struct synth {
	unsigned char buf[2048];
	size_t len;
};

static size_t put(struct synth *s, const void *p, size_t n)
{
	s->len = (s->len + 7) & ~(size_t)7;
	size_t at = s->len;
	memcpy(s->buf + at, p, n);
	s->len += n;
	return at;
}

static size_t build_synth(unsigned char *out, int with_hash)
{
	static const char strtab[] = "\0linux-test.so.1\0clock_gettime\0time\0LINUX_2.6";
	enum { S_SONAME = 1, S_CG = 17, S_TIME = 31, S_VER = 36 };
	struct synth s = { .len = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr) };
	Elf64_Dyn dyn[12] = { { 0 } };
	size_t dyn_at = put(&s, dyn, sizeof dyn); /* filled in below */
	size_t str_at = put(&s, strtab, sizeof strtab);
	Elf64_Verdef vd[2] = {
		{ VER_DEF_CURRENT, VER_FLG_BASE, 1, 1, 0, sizeof(Elf64_Verdef) * 2, sizeof(Elf64_Verdef) },
		{ VER_DEF_CURRENT, 0, 2, 1, 0, sizeof(Elf64_Verdef) + sizeof(Elf64_Verdaux), 0 },
	};
	Elf64_Verdaux va[2] = { { S_SONAME, 0 }, { S_VER, 0 } };
	size_t vd_at = put(&s, vd, sizeof vd);
	put(&s, va, sizeof va);
	const uint32_t hash[2 + 1 + 4] = { 1, 4, 1, 0, 2, 3, 0 };
	size_t hash_at = put(&s, hash, sizeof hash);
	const uint32_t gnu[4 + 2 + 1 + 3] = { 1, 1, 1, 6, 0xffffffffu, 0xffffffffu, 1, 10, 20, 31 };
	size_t gnu_at = put(&s, gnu, sizeof gnu);
	const uint16_t versym[4] = { 0, 2, 2 | 0x8000, 2 };
	size_t versym_at = put(&s, versym, sizeof versym);
	Elf64_Sym sym[4] = {
		{ 0 },
		{ S_CG, ELF64_ST_INFO(STB_GLOBAL, STT_FUNC), 0, SHN_ABS, 0x1800, 64 },
		{ S_TIME, ELF64_ST_INFO(STB_WEAK, STT_FUNC), 0, SHN_ABS, 0x1900, 16 },
		{ S_VER, ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT), 0, SHN_ABS, 0, 0 },
	};
	size_t sym_at = put(&s, sym, sizeof sym);
	int n = 0;
	const Elf64_Dyn fill[] = {
		{ DT_SONAME, { S_SONAME } }, { DT_STRTAB, { SYNTH_VADDR + str_at } }, { DT_STRSZ, { sizeof strtab } },
		{ DT_SYMTAB, { SYNTH_VADDR + sym_at } }, { DT_SYMENT, { sizeof(Elf64_Sym) } },
		{ DT_GNU_HASH, { SYNTH_VADDR + gnu_at } }, { DT_VERSYM, { SYNTH_VADDR + versym_at } },
		{ DT_VERDEF, { SYNTH_VADDR + vd_at } }, { DT_VERDEFNUM, { 2 } },
	};
	for (size_t i = 0; i < sizeof fill / sizeof fill[0]; i++)
		dyn[n++] = fill[i];
	if (with_hash)
		dyn[n++] = (Elf64_Dyn){ DT_HASH, { SYNTH_VADDR + hash_at } };
	while (n < 12)
		dyn[n++] = (Elf64_Dyn){ DT_NULL, { 0 } };
	memcpy(s.buf + dyn_at, dyn, sizeof dyn);
	Elf64_Ehdr eh = { .e_type = ET_DYN, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			  .e_phoff = sizeof eh, .e_ehsize = sizeof eh, .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	Elf64_Phdr ph[2] = {
		{ PT_LOAD, PF_R | PF_X, 0, SYNTH_VADDR, SYNTH_VADDR, s.len, s.len, 4096 },
		{ PT_DYNAMIC, PF_R, dyn_at, SYNTH_VADDR + dyn_at, SYNTH_VADDR + dyn_at, sizeof dyn, sizeof dyn, 8 },
	};
	memcpy(s.buf, &eh, sizeof eh);
	memcpy(s.buf + sizeof eh, ph, sizeof ph);
	memcpy(out, s.buf, s.len);
	return s.len;
}

static void test_synth(int with_hash)
{
	unsigned char img[2048];
	size_t size = build_synth(img, with_hash);
	struct chronon__vdso_elf e;
	int rc = chronon__vdso_elf_parse(img, size, &e);
	CHECK(rc == 0, "synthetic image (hash %d): %s", with_hash, e.error);
	if (rc == 0) {
		CHECK(strcmp(e.count_from, with_hash ? "DT_HASH" : "DT_GNU_HASH") == 0, "count from %s", e.count_from);
		CHECK(e.nsyms == 3, "%zu symbols", e.nsyms);
		CHECK(strcmp(e.soname, "linux-test.so.1") == 0, "soname %s", e.soname);
		CHECK(e.nversions == 2, "%zu versions", e.nversions);
		const char *want[3] = {
			"0000000000001800 g    DF *ABS*\t0000000000000040  LINUX_2.6   clock_gettime",
			"0000000000001900  w   DF *ABS*\t0000000000000010  (LINUX_2.6) time",
			"0000000000000000 g    DO *ABS*\t0000000000000000  LINUX_2.6   LINUX_2.6",
		};
		for (size_t i = 0; i < e.nsyms && i < 3; i++) {
			char line[256];
			chronon__vdso_elf_format(&e.syms[i], line, sizeof line);
			CHECK(strcmp(line, want[i]) == 0, "\n got  '%s'\n want '%s'", line, want[i]);
		}
	}
	chronon__vdso_elf_free(&e);
	size_t ok = 0;
	for (size_t len = 0; len < size; len++)
		ok += parse_copy(img, len, NULL, 0) == 0;
	CHECK(ok == 0, "%zu truncations of the synthetic image parsed", ok);
	test_clobbered(img, size);
	test_random(img, size);
}

int main(void)
{
	char err[256];
	size_t size;
	const unsigned char *live = chronon__vdso_elf_live(&size, err, sizeof err);
	if (!live) {
		printf("SKIP: no vDSO here: %s\n", err);
		return 77;
	}
	/* Work on a heap copy so that ASan bounds every read at the image's size. */
	unsigned char *img = malloc(size);
	memcpy(img, live, size);
	printf("live vDSO: %zu bytes\n", size);
	test_live(img, size);
	test_clear_errors(img, size);
	test_truncated(img, size);
	test_clobbered(img, size);
	test_random(img, size);
	test_objdump(img, size);
	test_synth(1);
	test_synth(0);
	free(img);
	return test_exit();
}
