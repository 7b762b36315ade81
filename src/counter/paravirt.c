/* Reading the paravirtual clock pages (see paravirt.h for their ABIs). */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "paravirt.h"
#include "ns.h"

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
		if (!plausible_hz((double)CHRONON__NS / npt))
			return -1;
		memset(out, 0, sizeof *out);
		out->name = "pvclock";
		out->clocksource = "kvm-clock";
		out->guard = v;
		out->stable = (flags & PVCLOCK_TSC_STABLE) != 0;
		out->stopped = (flags & PVCLOCK_GUEST_STOPPED) != 0;
		out->ns_per_tick = npt;
		out->hz = (uint64_t)((double)CHRONON__NS / npt + 0.5);
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
		if (!plausible_hz((double)CHRONON__NS / npt) || offset > INT64_MAX / 100 || offset < INT64_MIN / 100)
			return -1;
		memset(out, 0, sizeof *out);
		out->name = "hvclock";
		out->clocksource = "hyperv_clocksource_tsc_page";
		out->guard = seq;
		/* A valid sequence is the host's promise that the page holds
		 * for every vCPU: there is no separate stable flag. */
		out->stable = 1;
		out->ns_per_tick = npt;
		out->hz = (uint64_t)((double)CHRONON__NS / npt + 0.5);
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
	if (len > sizeof sink)
		return 0;
	if (pipe2(fd, O_CLOEXEC) != 0)
		return -1;
	ssize_t n = write(fd[1], addr, len);
	int ok = n == (ssize_t)len && read(fd[0], sink, len) == n;
	close(fd[0]);
	close(fd[1]);
	return ok;
}

/* One line of /proc/self/maps ("start-end perms offset dev inode path"):
 * the area when it is the kernel's own anonymous mapping named exactly
 * `name` (device 00:00, inode 0), so a file that merely has that text in
 * its name is never taken for it.  1 when it is. */
static int maps_line(const char *line, const char *name, struct chronon__vclock_area *a)
{
	uintptr_t v[2] = {0, 0};
	const char *p = line;
	for (int i = 0; i < 2; i++, p++) {
		int digits = 0;
		for (; (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'); p++, digits++)
			v[i] = v[i] * 16 + (uintptr_t)(*p <= '9' ? *p - '0' : *p - 'a' + 10);
		if (!digits || digits > 16 || *p != (i ? ' ' : '-'))
			return 0;
	}
	/* perms, offset, dev, inode, then the path after spaces */
	const char *f[4];
	for (int i = 0; i < 4; i++) {
		f[i] = p;
		while (*p && *p != ' ')
			p++;
		if (!*p)
			return 0;
		while (*p == ' ')
			p++;
	}
	if (strncmp(f[2], "00:00 ", 6) != 0 || strncmp(f[3], "0 ", 2) != 0 ||
	    strcmp(p, name) != 0 || v[1] <= v[0])
		return 0;
	a->start = v[0];
	a->end = v[1];
	return 1;
}

void chronon__maps_scan(char *buf, size_t len, struct chronon__vclock_areas *out)
{
	char *line = buf, *end = buf + len;
	while (line < end) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			break;
		*nl = 0;
		/* the first of each: the kernel maps them once */
		if (!out->vclock.end)
			maps_line(line, "[vvar_vclock]", &out->vclock);
		if (!out->vvar.end)
			maps_line(line, "[vvar]", &out->vvar);
		line = nl + 1;
	}
}

/*
 * Where the pages are, from the areas found.  Linux 6.13 and later:
 * [vvar_vclock], pvclock first and Hyper-V second.  Linux 5.6 to 6.12:
 * a [vvar] of exactly four pages (data, pvclock, Hyper-V, time namespace).
 * Any other [vvar] (older kernels placed an HPET page there) is not
 * guessed at: the counter is then calibrated like on a machine without
 * paravirtual pages.  0 where there is none.
 */
void chronon__vclock_pages(const struct chronon__vclock_areas *a, uintptr_t *pv, uintptr_t *hv)
{
	*pv = *hv = 0;
	if (a->vclock.end) {
		if (a->vclock.end - a->vclock.start >= 2 * 4096u) {
			*pv = a->vclock.start;
			*hv = a->vclock.start + 4096u;
		}
	} else if (a->vvar.end && a->vvar.end - a->vvar.start == 4 * 4096u) {
		*pv = a->vvar.start + 4096u;
		*hv = a->vvar.start + 2 * 4096u;
	}
}

#if defined(__x86_64__)

/* Reads /proc/self/maps through a window without stdio or allocation; a
 * line longer than the window (a long file name: never one of the
 * kernel's areas) is skipped whole. */
static void find_areas(struct chronon__vclock_areas *out)
{
	char buf[4096];
	size_t have = 0;
	int skipping = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		char *last = NULL;
		for (char *q = buf + have; q > buf; q--)
			if (q[-1] == '\n') {
				last = q;
				break;
			}
		if (!last) {
			/* no whole line in a full window: drop it and the
			 * rest of that line */
			if (have == sizeof buf - 1) {
				have = 0;
				skipping = 1;
			}
			continue;
		}
		char *from = buf;
		if (skipping) {
			from = memchr(buf, '\n', (size_t)(last - buf)) + 1;
			skipping = 0;
		}
		chronon__maps_scan(from, (size_t)(last - from), out);
		have = (size_t)(buf + have - last);
		memmove(buf, last, have);
	}
	close(fd);
}

/* 0 unknown, 1 none, else the address; every racing first caller finds
 * the same answer. */
static _Atomic uintptr_t pv_at, hv_at;

/* Found once per process (mappings the kernel makes at exec do not
 * move); a probe that could not be made (no file descriptor left) is
 * not taken for an answer, and is made again next time. */
static void locate(void)
{
	struct chronon__vclock_areas a;
	memset(&a, 0, sizeof a);
	find_areas(&a);
	uintptr_t pv, hv;
	chronon__vclock_pages(&a, &pv, &hv);
	/* The kernel fills a page on first touch only when its clock mode
	 * was ever used; otherwise a user-space touch is SIGBUS. */
	int rp = pv ? chronon__readable((const void *)pv, 32) : 0;
	int rh = hv ? chronon__readable((const void *)hv, 32) : 0;
	if (rp < 0 || rh < 0)
		return;
	pv = rp ? pv : 1;
	hv = rh ? hv : 1;
	atomic_store_explicit(&hv_at, hv, memory_order_relaxed);
	atomic_store_explicit(&pv_at, pv, memory_order_release);
}

const void *chronon__pvclock_page(void)
{
	uintptr_t a = atomic_load_explicit(&pv_at, memory_order_acquire);
	if (!a) {
		locate();
		a = atomic_load_explicit(&pv_at, memory_order_acquire);
	}
	return a <= 1 ? NULL : (const void *)a;
}

const void *chronon__hvclock_page(void)
{
	if (!atomic_load_explicit(&pv_at, memory_order_acquire))
		locate();
	uintptr_t a = atomic_load_explicit(&hv_at, memory_order_relaxed);
	return a <= 1 ? NULL : (const void *)a;
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
