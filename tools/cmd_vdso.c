/*
 * chronon vdso: the vDSO's dynamic symbols as objdump -T lists them, an
 * optional dump of the image, and for each clock id whether the vDSO
 * answers clock_gettime or passes it to the kernel.  That last part is
 * decided by timing, not by reading the kernel's data page (rule 11 of
 * doc/DESIGN.md): a clock the vDSO serves costs a fraction of a system call.
 */
#include "json.h"
#include "tool.h"
#include "vdso_elf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CMD "vdso"
#define ROUNDS 5
#define CALLS 2000

static const struct {
	clockid_t id;
	const char *name;
} clocks[] = {
	{ 0, "REALTIME" }, { 1, "MONOTONIC" }, { 2, "PROCESS_CPUTIME_ID" }, { 3, "THREAD_CPUTIME_ID" },
	{ 4, "MONOTONIC_RAW" }, { 5, "REALTIME_COARSE" }, { 6, "MONOTONIC_COARSE" }, { 7, "BOOTTIME" },
	{ 8, "REALTIME_ALARM" }, { 9, "BOOTTIME_ALARM" }, { 10, "SGI_CYCLE(unused)" }, { 11, "TAI" },
	/* The first auxiliary clock: on 6.18 libc's getres says 0 where the kernel says EINVAL. */
	{ 16, "AUX0" },
};
#define NCLOCKS (sizeof clocks / sizeof clocks[0])

struct clock_result {
	int gettime_errno;   /* 0 when libc's clock_gettime succeeded */
	int syscall_errno;
	double libc_ns, syscall_ns;
	int vdso;            /* libc at most half the system call's cost */
	int getres_libc_errno, getres_syscall_errno;
	long getres_libc_ns, getres_syscall_ns;
};

static void help(void)
{
	printf("usage: chronon vdso [--dump FILE] [--json]\n\n"
	       "Lists this process's vDSO symbols (address, flags, section, size, version,\n"
	       "name) as objdump -T does, then times clock_gettime through libc against the\n"
	       "raw system call for clock ids 0-11 and 16: a clock the vDSO serves is several\n"
	       "times cheaper.  Also compares clock_getres through libc and the kernel.\n\n"
	       "  --dump FILE  write the vDSO image (with its section headers) to FILE\n"
	       "  --json       one JSON object instead of text\n\n"
	       "Exit status: 0 ok, 1 no usable vDSO or the dump failed, 2 bad usage.\n");
}

static double min_ns_per_call(clockid_t id, int use_syscall)
{
	double best = 0;
	struct timespec ts;
	for (int r = 0; r < ROUNDS; r++) {
		int64_t t0 = chronon__tool_mono_ns();
		for (int i = 0; i < CALLS; i++) {
			if (use_syscall)
				syscall(SYS_clock_gettime, id, &ts);
			else
				clock_gettime(id, &ts);
		}
		double ns = (double)(chronon__tool_mono_ns() - t0) / CALLS;
		if (r == 0 || ns < best)
			best = ns;
	}
	return best;
}

static int errno_of(int rc) { return rc == 0 ? 0 : errno; }

static void measure(clockid_t id, struct clock_result *out)
{
	struct timespec ts;
	memset(out, 0, sizeof *out);
	out->gettime_errno = errno_of(clock_gettime(id, &ts));
	out->syscall_errno = errno_of((int)syscall(SYS_clock_gettime, id, &ts));
	out->libc_ns = min_ns_per_call(id, 0);
	out->syscall_ns = min_ns_per_call(id, 1);
	out->vdso = out->libc_ns * 2 < out->syscall_ns;
	memset(&ts, 0, sizeof ts);
	out->getres_libc_errno = errno_of(clock_getres(id, &ts));
	out->getres_libc_ns = ts.tv_nsec;
	memset(&ts, 0, sizeof ts);
	out->getres_syscall_errno = errno_of((int)syscall(SYS_clock_getres, id, &ts));
	out->getres_syscall_ns = ts.tv_nsec;
}

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case EFAULT: return "EFAULT";
	case ENOTSUP: return "ENOTSUP";
	default: return "error";
	}
}

static int dump_image(const void *img, size_t size, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	size_t n = fwrite(img, 1, size, f);
	if (fclose(f) != 0 || n != size) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void print_symbols(const struct chronon__vdso_elf *e)
{
	char line[512];
	printf("DYNAMIC SYMBOL TABLE:\n");
	for (size_t i = 0; i < e->nsyms; i++) {
		chronon__vdso_elf_format(&e->syms[i], line, sizeof line);
		printf("%s\n", line);
	}
}

static void print_getres(const char *label, int err, long ns)
{
	char v[32];
	if (err)
		snprintf(v, sizeof v, "%s", err_name(err));
	else
		snprintf(v, sizeof v, "%ld ns", ns);
	printf("%s %-10s", label, v);
}

static void print_clocks(const struct clock_result *res)
{
	printf("\nclock_gettime through libc vs the raw system call (best of %d rounds of %d calls):\n", ROUNDS,
	       CALLS);
	printf("%3s  %-19s %9s %11s  %-9s %s\n", "id", "clock", "libc ns", "syscall ns", "served by",
	       "clock_getres libc / kernel");
	for (size_t i = 0; i < NCLOCKS; i++) {
		const struct clock_result *r = &res[i];
		printf("%3d  %-19s %9.1f %11.1f  %-9s", (int)clocks[i].id, clocks[i].name, r->libc_ns, r->syscall_ns,
		       r->vdso ? "vDSO" : "syscall");
		if (r->gettime_errno)
			printf(" [%s]", err_name(r->gettime_errno));
		print_getres(" ", r->getres_libc_errno, r->getres_libc_ns);
		print_getres(" /", r->getres_syscall_errno, r->getres_syscall_ns);
		if (r->getres_libc_errno != r->getres_syscall_errno)
			printf("  (libc and kernel disagree)");
		printf("\n");
	}
}

static void json_symbols(struct chronon__json *j, const struct chronon__vdso_elf *e)
{
	chronon__json_array(j, "symbols");
	for (size_t i = 0; i < e->nsyms; i++) {
		const struct chronon__vdso_sym *s = &e->syms[i];
		chronon__json_object(j, NULL);
		chronon__json_str(j, "name", s->name);
		chronon__json_uint(j, "address", s->value);
		chronon__json_uint(j, "size", s->size);
		chronon__json_str(j, "section", s->section);
		chronon__json_str(j, "version", s->version);
		chronon__json_bool(j, "version_hidden", s->version_hidden);
		chronon__json_int(j, "type", s->type);
		chronon__json_int(j, "bind", s->bind);
		chronon__json_close(j);
	}
	chronon__json_close(j);
}

static void json_clocks(struct chronon__json *j, const struct clock_result *res)
{
	chronon__json_array(j, "clocks");
	for (size_t i = 0; i < NCLOCKS; i++) {
		const struct clock_result *r = &res[i];
		chronon__json_object(j, NULL);
		chronon__json_int(j, "id", clocks[i].id);
		chronon__json_str(j, "name", clocks[i].name);
		chronon__json_str(j, "served_by", r->vdso ? "vdso" : "syscall");
		chronon__json_double(j, "libc_ns", r->libc_ns);
		chronon__json_double(j, "syscall_ns", r->syscall_ns);
		chronon__json_str(j, "gettime_error", err_name(r->gettime_errno));
		chronon__json_str(j, "syscall_error", err_name(r->syscall_errno));
		chronon__json_str(j, "getres_libc_error", err_name(r->getres_libc_errno));
		chronon__json_int(j, "getres_libc_ns", r->getres_libc_ns);
		chronon__json_str(j, "getres_syscall_error", err_name(r->getres_syscall_errno));
		chronon__json_int(j, "getres_syscall_ns", r->getres_syscall_ns);
		chronon__json_close(j);
	}
	chronon__json_close(j);
}

static void json_report(const void *img, const struct chronon__vdso_elf *e, const char *dump,
			const struct clock_result *res)
{
	struct chronon__json j;
	chronon__json_begin(&j, stdout);
	chronon__json_uint(&j, "address", (uint64_t)(uintptr_t)img);
	chronon__json_uint(&j, "image_size", e->size);
	chronon__json_str(&j, "soname", e->soname);
	chronon__json_str(&j, "count_from", e->count_from);
	chronon__json_uint(&j, "versions", e->nversions);
	if (dump)
		chronon__json_str(&j, "dump", dump);
	else
		chronon__json_null(&j, "dump");
	json_symbols(&j, e);
	json_clocks(&j, res);
	chronon__json_end(&j);
}

int chronon__cmd_vdso(int argc, char **argv)
{
	const char *dump = NULL;
	int json = 0;
	for (int i = 1; i < argc; i++) {
		int m;
		if (chronon__tool_is_help(argv[i]))
			return help(), TOOL_OK;
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if ((m = chronon__tool_opt(CMD, argc, argv, &i, "--dump", &dump)) != 0) {
			if (m < 0)
				return TOOL_USAGE;
			if (*dump == '\0')
				return chronon__tool_usage(CMD, "bad --dump value '' (want a file name)");
		} else
			return chronon__tool_usage(CMD, "unknown option '%s'", argv[i]);
	}

	char err[256];
	size_t size;
	const void *img = chronon__vdso_elf_live(&size, err, sizeof err);
	if (!img) {
		fprintf(stderr, "chronon: vdso: %s\n", err);
		return TOOL_FAILED;
	}
	struct chronon__vdso_elf e;
	if (chronon__vdso_elf_parse(img, size, &e) != 0) {
		fprintf(stderr, "chronon: vdso: malformed vDSO image at %p: %s\n", img, e.error);
		chronon__vdso_elf_free(&e);
		return TOOL_FAILED;
	}
	if (dump && dump_image(img, size, dump, err, sizeof err) != 0) {
		fprintf(stderr, "chronon: vdso: %s\n", err);
		chronon__vdso_elf_free(&e);
		return TOOL_FAILED;
	}

	struct clock_result res[NCLOCKS];
	for (size_t i = 0; i < NCLOCKS; i++)
		measure(clocks[i].id, &res[i]);

	if (json) {
		json_report(img, &e, dump, res);
	} else {
		printf("vDSO at %p: %zu bytes, soname %s, %zu symbols (counted from %s), %zu version definitions\n",
		       img, size, e.soname[0] ? e.soname : "(none)", e.nsyms, e.count_from, e.nversions);
		if (dump)
			printf("image written to %s (objdump -T %s reads it)\n", dump, dump);
		printf("\n");
		print_symbols(&e);
		print_clocks(res);
	}
	chronon__vdso_elf_free(&e);
	return TOOL_OK;
}
