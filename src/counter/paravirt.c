/* Reading the paravirtual clock pages (see paravirt.h for their ABIs). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "paravirt.h"

#define PVCLOCK_TSC_STABLE 0x01u
#define PVCLOCK_GUEST_STOPPED 0x02u

/* Field offsets of the two ABIs (paravirt.h). */
enum {
	PV_VERSION = 0, PV_TSC_TIMESTAMP = 8, PV_SYSTEM_TIME = 16, PV_MUL = 24, PV_SHIFT = 28,
	PV_FLAGS = 29,
	HV_SEQUENCE = 0, HV_SCALE = 8, HV_OFFSET = 16,
};

/* The host writes these pages behind the compiler's back: every field is
 * loaded once, untorn (naturally aligned loads), and the sequence checks
 * decide whether the copy is whole. */
static uint32_t ld32(const void *page, size_t off)
{
	return __atomic_load_n((const uint32_t *)((const char *)page + off), __ATOMIC_RELAXED);
}

static uint64_t ld64(const void *page, size_t off)
{
	return __atomic_load_n((const uint64_t *)((const char *)page + off), __ATOMIC_RELAXED);
}

static uint8_t ld8(const void *page, size_t off)
{
	return __atomic_load_n((const uint8_t *)((const char *)page + off), __ATOMIC_RELAXED);
}

/* A rate no counter a kernel uses comes near the edges of: 1 MHz to
 * 100 GHz.  Beyond them the page is not what it seems. */
static int plausible_hz(double hz)
{
	return hz >= 1e6 && hz <= 1e11;
}

int chronon__pvclock_parse(const void *page, struct chronon__pv *out)
{
	for (int tries = 0; tries < 64; tries++) {
		uint32_t v = __atomic_load_n((const uint32_t *)page, __ATOMIC_ACQUIRE);
		if (v & 1)
			continue;
		uint64_t ts = ld64(page, PV_TSC_TIMESTAMP);
		uint64_t st = ld64(page, PV_SYSTEM_TIME);
		uint32_t mul = ld32(page, PV_MUL);
		int8_t shift = (int8_t)ld8(page, PV_SHIFT);
		uint8_t flags = ld8(page, PV_FLAGS);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (ld32(page, PV_VERSION) != v)
			continue;
		if (mul == 0 || shift < -31 || shift > 31)
			return -1;
		/* ns per tick = mul * 2^shift / 2^32 */
		double npt = (double)mul / 4294967296.0;
		npt = shift >= 0 ? npt * (double)(1u << shift) : npt / (double)(1u << -shift);
		if (!plausible_hz(1e9 / npt))
			return -1;
		memset(out, 0, sizeof *out);
		out->name = "pvclock";
		out->clocksource = "kvm-clock";
		out->guard = v;
		out->stable = (flags & PVCLOCK_TSC_STABLE) != 0;
		out->stopped = (flags & PVCLOCK_GUEST_STOPPED) != 0;
		out->ns_per_tick = npt;
		out->hz = (uint64_t)(1e9 / npt + 0.5);
		out->c0 = ts;
		out->ns0 = (int64_t)st;
		return 0;
	}
	return -1;
}

int chronon__hvclock_parse(const void *page, struct chronon__pv *out)
{
	for (int tries = 0; tries < 64; tries++) {
		uint32_t seq = __atomic_load_n((const uint32_t *)page, __ATOMIC_ACQUIRE);
		/* 0: the host says read the reference counter MSR instead (a
		 * system call away for a guest process); ~0 is used the same
		 * way by some hosts. */
		if (seq == 0 || seq == 0xffffffffu)
			return -1;
		uint64_t scale = ld64(page, HV_SCALE);
		int64_t offset = (int64_t)ld64(page, HV_OFFSET);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (ld32(page, HV_SEQUENCE) != seq)
			continue;
		if (scale == 0)
			return -1;
		/* scale / 2^64 of 100 ns per tick */
		double npt = (double)scale / 18446744073709551616.0 * 100.0;
		if (!plausible_hz(1e9 / npt) || offset > INT64_MAX / 100 || offset < INT64_MIN / 100)
			return -1;
		memset(out, 0, sizeof *out);
		out->name = "hvclock";
		out->clocksource = "hyperv_clocksource_tsc_page";
		out->guard = seq;
		/* A valid sequence is the host's promise that the page holds
		 * for every vCPU: there is no separate stable flag. */
		out->stable = 1;
		out->ns_per_tick = npt;
		out->hz = (uint64_t)(1e9 / npt + 0.5);
		out->c0 = 0;
		out->ns0 = offset * 100;
		return 0;
	}
	return -1;
}

int chronon__readable(const void *addr, size_t len)
{
	int fd[2];
	char sink[64];
	if (len > sizeof sink || pipe2(fd, O_CLOEXEC) != 0)
		return 0;
	ssize_t n = write(fd[1], addr, len);
	int ok = n == (ssize_t)len && read(fd[0], sink, len) == n;
	close(fd[0]);
	close(fd[1]);
	return ok;
}

#if defined(__x86_64__)

/*
 * Where the pages sit: Linux 6.13 and later map them in their own
 * [vvar_vclock] area (pvclock first, Hyper-V second); older kernels as the
 * second and third pages of [vvar].  Found once per process: mappings
 * made by the kernel at exec do not move.
 */
struct area {
	uintptr_t start, end;
};

/* Scans /proc/self/maps for the two areas, without stdio or allocation:
 * a line is at most a few hundred bytes, and only lines naming [vvar...]
 * matter. */
static void find_areas(struct area *vvar, struct area *vclock)
{
	char buf[4096];
	size_t have = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		char *line = buf, *nl;
		while ((nl = memchr(line, '\n', have - (size_t)(line - buf))) != NULL) {
			*nl = 0;
			struct area *a = strstr(line, "[vvar_vclock]") ? vclock
					 : strstr(line, "[vvar]")      ? vvar
								       : NULL;
			if (a) {
				char *p = line;
				uintptr_t s = 0, e = 0;
				for (; *p && *p != '-'; p++)
					s = s * 16 + (uintptr_t)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
				for (p++; *p && *p != ' '; p++)
					e = e * 16 + (uintptr_t)(*p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10);
				a->start = s;
				a->end = e;
			}
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof buf - 1)
			have = 0; /* an absurd line: drop it */
	}
	close(fd);
}

#define PAGE 4096u

/* 0 unknown, 1 none, else the address; every racing first caller finds
 * the same answer. */
static _Atomic uintptr_t pv_at, hv_at;

static void locate(void)
{
	struct area vvar = {0, 0}, vclock = {0, 0};
	find_areas(&vvar, &vclock);
	uintptr_t pv = 1, hv = 1;
	if (vclock.end >= vclock.start + 2 * PAGE) {
		pv = vclock.start;
		hv = vclock.start + PAGE;
	} else if (vclock.start == 0 && vvar.end >= vvar.start + 3 * PAGE) {
		pv = vvar.start + PAGE;
		hv = vvar.start + 2 * PAGE;
	}
	/* The kernel fills a page on first touch only when its clock mode
	 * was ever used; otherwise a user-space touch is SIGBUS. */
	if (pv != 1 && !chronon__readable((const void *)pv, 32))
		pv = 1;
	if (hv != 1 && !chronon__readable((const void *)hv, 32))
		hv = 1;
	__atomic_store_n(&hv_at, hv, __ATOMIC_RELAXED);
	__atomic_store_n(&pv_at, pv, __ATOMIC_RELEASE);
}

const void *chronon__pvclock_page(void)
{
	uintptr_t a = __atomic_load_n(&pv_at, __ATOMIC_ACQUIRE);
	if (!a) {
		locate();
		a = __atomic_load_n(&pv_at, __ATOMIC_ACQUIRE);
	}
	return a == 1 ? NULL : (const void *)a;
}

const void *chronon__hvclock_page(void)
{
	if (!__atomic_load_n(&pv_at, __ATOMIC_ACQUIRE))
		locate();
	uintptr_t a = __atomic_load_n(&hv_at, __ATOMIC_RELAXED);
	return a == 1 ? NULL : (const void *)a;
}

#else

const void *chronon__pvclock_page(void)
{
	return NULL;
}

const void *chronon__hvclock_page(void)
{
	return NULL;
}

#endif
