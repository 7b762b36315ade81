/* The library's own vDSO lookup (src/vdso.c): it finds clock_gettime in
 * the live vDSO, and on truncated or corrupted copies it answers NULL or
 * a pointer inside the copy, never reads outside it. */
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "check.h"
#include "vdso.h"

#if defined(__x86_64__)
#define NAME "__vdso_clock_gettime"
#elif defined(__aarch64__)
#define NAME "__kernel_clock_gettime"
#else
#define NAME NULL
#endif

static size_t live_size(const unsigned char *img)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(img + eh->e_phoff);
	size_t end = eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset + ph[i].p_filesz > end)
			end = ph[i].p_offset + ph[i].p_filesz;
	return end;
}

/* The lookup on a heap copy of exactly `len` bytes: ASan catches any read
 * past it. */
static void on_copy(const unsigned char *img, size_t len, size_t found_at)
{
	unsigned char *copy = malloc(len ? len : 1);
	memcpy(copy, img, len);
	void *p = chronon__elf_dynsym(copy, len, NAME);
	if (p)
		CHECK((unsigned char *)p >= copy && (unsigned char *)p < copy + len,
		      "pointer outside a %zu-byte copy", len);
	if (p && found_at != (size_t)-1)
		CHECK((size_t)((unsigned char *)p - copy) == found_at || len < found_at,
		      "found elsewhere in a %zu-byte copy", len);
	free(copy);
}

int main(void)
{
	const unsigned char *img = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	if (!img || !NAME) {
		printf("skip: no vDSO in this process\n");
		return 77;
	}
	void *live = chronon__vdso_sym(NAME);
	CHECK(live != NULL, "%s not found in the live vDSO", NAME);
	CHECK(chronon__vdso_sym("no_such_symbol") == NULL, "found a symbol that is not there");
	size_t size = live_size(img);
	size_t at = (size_t)((const unsigned char *)live - img);
	CHECK(at < size, "live symbol at %zu, image %zu bytes", at, size);

	for (size_t len = 0; len <= size; len++)
		on_copy(img, len, at);

	unsigned char *work = malloc(size);
	srand(12345);
	/* Every byte of the headers and tables, clobbered with a few values. */
	static const unsigned char values[] = {0x00, 0xff, 0x7f, 0x80, 0x01};
	for (size_t i = 0; i < size; i += (i < 4096 ? 1 : 7)) {
		for (size_t v = 0; v < sizeof values; v++) {
			memcpy(work, img, size);
			work[i] = values[v];
			on_copy(work, size, (size_t)-1);
		}
	}
	/* Random garbage over random spans. */
	for (int r = 0; r < 3000; r++) {
		memcpy(work, img, size);
		int n = 1 + rand() % 16;
		for (int j = 0; j < n; j++)
			work[rand() % size] = (unsigned char)rand();
		on_copy(work, size, (size_t)-1);
	}
	for (size_t i = 0; i < size; i++)
		work[i] = (unsigned char)rand();
	on_copy(work, size, (size_t)-1);
	free(work);
	printf("vDSO lookup: live %s at +%zu of %zu bytes; truncations and corruptions survived\n",
	       NAME, at, size);
	return test_exit();
}
