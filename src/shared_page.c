/*
 * chronond's page, from this process's side: finding it (chronond's
 * socket, a look in steps that never wait unless asked to), checking it
 * (identity, boot, time namespace, counter, liveness, every value a reader
 * will use) and mapping it.  Which page the read path uses, and the
 * switches between them, are proc_page.c's; nothing here calls above the
 * page and the kernel's clocks.
 *
 * The page comes from chronond's socket as a sealed memory file (see
 * shm_page.h): it cannot be truncated under its readers.  Mappings are
 * never unmapped (another thread may still be inside a read of the page
 * it loaded a moment ago) and never repeated: a page the process comes
 * back to is the mapping it already has, so a process holds one 4 KiB
 * mapping per chronond instance it ever used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "chronon.h"
#include "clocks.h"
#include "config.h"
#include "kclock.h"
#include "shared_page.h"
#include "sysfile.h"
#include "ns.h"

/* ---- facts about this process ------------------------------------- */

int chronon__shm_boot_id(char out[40])
{
	/* A process never changes boot: read it once. */
	static char cached[40];
	static _Atomic int ready;
	if (!atomic_load_explicit(&ready, memory_order_acquire)) {
		char buf[64];
		if (chronon__read_small("/proc/sys/kernel/random/boot_id", buf, sizeof buf) != 0)
			return -1;
		size_t n = strcspn(buf, "\n");
		if (n != 36)
			return -1;
		memset(cached, 0, sizeof cached);
		memcpy(cached, buf, n);
		atomic_store_explicit(&ready, 1, memory_order_release);
	}
	memcpy(out, cached, 40);
	return 0;
}

int chronon__shm_timens(uint64_t *ino, uint64_t *dev)
{
	struct stat st;
	*ino = *dev = 0;
	if (stat("/proc/self/ns/time", &st) == 0) {
		*ino = (uint64_t)st.st_ino;
		*dev = (uint64_t)st.st_dev;
		return 0;
	}
	/* No entry but a /proc: a kernel without time namespaces, where
	 * every process sees the same clocks. */
	return access("/proc/self/ns", F_OK) == 0 ? 0 : -1;
}

int chronon__shm_timens_offsets(int64_t *mono_ns, int64_t *boot_ns)
{
	char buf[256], name[32];
	long long s, ns;
	*mono_ns = *boot_ns = 0;
	if (chronon__read_small("/proc/self/timens_offsets", buf, sizeof buf) != 0)
		return -1;
	for (char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		if (sscanf(p, "%31s %lld %lld", name, &s, &ns) != 3)
			continue;
		int64_t v = (int64_t)s * CHRONON__NS + ns;
		if (strcmp(name, "monotonic") == 0)
			*mono_ns = v;
		else if (strcmp(name, "boottime") == 0)
			*boot_ns = v;
	}
	return 0;
}

int chronon__shm_default_path(char *out, unsigned len)
{
	const char *xdg = chronon__config_runtime_dir();
	int n = xdg ? snprintf(out, len, "%s/chronon/page", xdg)
				     : snprintf(out, len, "/run/chronon/page");
	return n > 0 && (unsigned)n < len ? 0 : -1;
}

static int64_t kernel_ns(clockid_t clock)
{
	return chronon__kclock_real.now(chronon__kclock_real.ctx, clock);
}

/* ---- reading a page's whole snapshot (slow paths only) -------------- */

struct snap {
	uint32_t mode, counter, variant, shift, guard;
	uint64_t last, mask, valid, back;
	int64_t base[2];
	uint64_t frac[2], mult[2];
	int64_t off[CHRONON__CK_COUNT];
	int64_t sec[CHRONON__CK_COUNT], nsec[CHRONON__CK_COUNT];
	int64_t pad;
	const void *fn;
};

static void load_scale(const struct chronon__scale *sc, struct snap *s, int i)
{
	s->base[i] = atomic_load_explicit(&sc->base_ns, memory_order_relaxed);
	s->frac[i] = atomic_load_explicit(&sc->base_frac, memory_order_relaxed);
	s->mult[i] = atomic_load_explicit(&sc->mult, memory_order_relaxed);
}

/* 0 with a whole snapshot, -1 when the sequence count stays odd. */
static int snap_read(const struct chronon__page *pg, struct snap *s)
{
	unsigned spins = 0;
	for (;;) {
		uint32_t seq;
		if (chronon__seq_begin_wait(pg, &spins, CHRONON__SEQ_SPINS, &seq) != 0)
			return -1;
		uint64_t ctl = atomic_load_explicit(&pg->ctl, memory_order_relaxed);
		s->mode = CHRONON__CTL_MODE(ctl);
		s->counter = CHRONON__CTL_ID(ctl);
		s->variant = CHRONON__CTL_VARIANT(ctl);
		s->shift = CHRONON__CTL_SHIFT(ctl);
		s->guard = CHRONON__CTL_GUARD(ctl);
		s->last = atomic_load_explicit(&pg->cycle_last, memory_order_relaxed);
		s->mask = atomic_load_explicit(&pg->mask, memory_order_relaxed);
		s->valid = atomic_load_explicit(&pg->valid_cycles, memory_order_relaxed);
		s->back = atomic_load_explicit(&pg->back_cycles, memory_order_relaxed);
		load_scale(&pg->mono, s, 0);
		load_scale(&pg->raw, s, 1);
		for (int i = 0; i < CHRONON__CK_COUNT; i++) {
			s->off[i] = atomic_load_explicit(&pg->off[i], memory_order_relaxed);
			s->sec[i] = atomic_load_explicit(&pg->sec[i], memory_order_relaxed);
			s->nsec[i] = atomic_load_explicit(&pg->nsec[i], memory_order_relaxed);
		}
		s->pad = atomic_load_explicit(&pg->pad_ns, memory_order_relaxed);
		s->fn = atomic_load_explicit(&pg->fn_counter, memory_order_relaxed);
		if (!chronon__seq_retry(pg, seq))
			return 0;
		if (++spins > CHRONON__SEQ_SPINS)
			return -1;
	}
}

/* The snapshot's clock at counter c, clamped to the end of its validity:
 * an upper bound of anything a reader can have got from it.  Where no
 * reader can have read past the kernel's MONOTONIC_RAW progress since the
 * pivot (raw_now: the kernel's RAW now; the page's RAW line at the pivot
 * is within its pad of the kernel's), it is clamped to that progress too:
 * after the counter went back, after the host rewrote its scale (moved:
 * readers left at the rewrite, a migration or snapshot restore) and after
 * the counter ran away from RAW by more than a window (a suspend it ran
 * through: past the window no reader reads the line).  Not otherwise:
 * readers inside the window read the line whatever RAW did, and the
 * kernel's clocks can lose time against the counter (a few microseconds
 * at each clocksource switch, tens of ms beside the kernel's
 * clocksource-switch selftest). */
static int64_t snap_bound(const struct snap *s, enum chronon__ck ck, uint64_t c, int64_t raw_now, int moved)
{
	int r = ck == CHRONON__CK_RAW;
	uint64_t delta = (c - s->last) & s->mask;
	int back = delta > s->mask - (s->mask >> 3);
	double since = (double)(raw_now - s->base[1]) + (double)(s->pad > 0 ? s->pad : 0) + 1000;
	double per_tick = s->mult[1] ? (double)s->mult[1] / (double)((uint64_t)1 << (s->shift & 63))
				     : 0;
	double ran = since <= 0 ? 0 : per_tick > 0 ? since / per_tick * (1 + 1e-4) + 2 : -1;
	if (ran >= 0 && (back || moved || (double)delta > ran + (double)s->valid) && (double)delta > ran)
		delta = (uint64_t)ran;
	if (delta > s->valid)
		delta = s->valid;
	return chronon__scale128(s->base[r], s->frac[r], delta, s->mult[r], s->shift) + s->off[ck];
}

/* ---- the checks ---------------------------------------------------- */

static int refuse(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int within_ppm(double a, double b, double ppm)
{
	double d = a > b ? a - b : b - a;
	return d <= b * ppm * 1e-6;
}

static int check_identity(const struct chronon__shm *s, char *why, size_t len)
{
	if (s->magic != CHRONON__SHM_MAGIC)
		return refuse(why, len, "not a chronon page (bad magic)");
	if (s->abi != CHRONON__SHM_ABI || s->size != sizeof *s ||
	    s->page_offset != offsetof(struct chronon__shm, page) ||
	    s->page_size != sizeof(struct chronon__page))
		return refuse(why, len, "page layout %u/%u/%u/%u, this library reads %u/%zu/%zu/%zu",
			      s->abi, s->size, s->page_offset, s->page_size, CHRONON__SHM_ABI,
			      sizeof *s, offsetof(struct chronon__shm, page),
			      sizeof(struct chronon__page));
	if (atomic_load_explicit(&s->retired, memory_order_acquire))
		return refuse(why, len, "retired (its chronond, pid %d, stopped)", (int)s->writer_pid);
	char boot[40];
	if (chronon__shm_boot_id(boot) != 0)
		return refuse(why, len, "cannot read this boot's id from /proc");
	if (memcmp(boot, s->boot_id, sizeof boot) != 0)
		return refuse(why, len, "written during another boot");
	return 0;
}

/* The page is right only for processes that see the same MONOTONIC and
 * BOOTTIME: the same time namespace, or one with the same offsets. */
static int check_timens(const struct chronon__shm *s, char *why, size_t len)
{
	uint64_t ino, dev;
	if (chronon__shm_timens(&ino, &dev) != 0)
		return refuse(why, len, "cannot tell this process's time namespace (no /proc)");
	if (ino == s->timens_ino && dev == s->timens_dev)
		return 0;
	int64_t mono, boot;
	if (chronon__shm_timens_offsets(&mono, &boot) == 0 && mono == s->timens_mono_ns &&
	    boot == s->timens_boot_ns)
		return 0;
	return refuse(why, len,
		      "another time namespace (offsets here: MONOTONIC %lld ns, BOOTTIME %lld ns)",
		      (long long)mono, (long long)boot);
}

/* The page's counter must be one this process would use itself, vouched
 * for the same way: a page scaled by a paravirtual clock is read with that
 * page's guard, which only this process's own probe finds (counter.h). */
static int check_source(const struct chronon__shm *s, const struct chronon__counter *arch,
			int forced, char *why, size_t len)
{
	struct chronon__probe p;
	arch->probe(&p);
	if (!p.usable && !forced)
		return refuse(why, len, "this process does not trust the %s: %s", arch->name, p.reason);
	char src[17];
	snprintf(src, sizeof src, "%.16s", s->counter_source);
	const char *mine = p.guard && p.pv.name ? p.pv.name : "clocksource";
	if (strcmp(src, mine) != 0)
		return refuse(why, len, "the page's %s is scaled by %s, this process's by %s",
			      arch->name, *src ? src : "(nothing)", mine);
	return 0;
}

static int check_counter(const struct chronon__shm *s, char *why, size_t len)
{
	const struct chronon__counter *arch = chronon__counter_arch();
	if (!arch)
		return refuse(why, len, "this CPU has no counter a page can use");
	if (s->counter != CHRONON__CTR_ARCH || strncmp(s->counter_name, arch->name, 16) != 0)
		return refuse(why, len, "counter %.16s (id %u) is not this CPU's %s", s->counter_name,
			      s->counter, arch->name);
	const char *want = chronon__config_counter();
	if (want && strcmp(want, arch->name) != 0)
		return refuse(why, len, "CHRONON_COUNTER=%.20s asks for another counter", want);
#ifdef PR_GET_TSC
	int mode = 0;
	if (strcmp(arch->name, "tsc") == 0 && prctl(PR_GET_TSC, &mode, 0, 0, 0) == 0 &&
	    mode == PR_TSC_SIGSEGV)
		return refuse(why, len, "rdtsc faults in this process (prctl PR_SET_TSC)");
#endif
	if (s->counter_hz < 1000000 || s->counter_hz > 100000000000ULL)
		return refuse(why, len, "counter frequency %llu Hz is not plausible",
			      (unsigned long long)s->counter_hz);
	return check_source(s, arch, want != NULL, why, len);
}

static int check_liveness(const struct chronon__shm *s, char *why, size_t len)
{
	int64_t now = kernel_ns(CLOCK_MONOTONIC);
	int64_t upd = atomic_load_explicit(&s->updated_ns, memory_order_relaxed);
	int64_t trust = atomic_load_explicit(&s->trust_ns, memory_order_relaxed);
	if (trust <= 0 || trust > CHRONON__SHM_TRUST_MAX_NS)
		return refuse(why, len, "trust window %lld ns is not plausible", (long long)trust);
	if (upd > now + CHRONON__SHM_CHECK_NS)
		return refuse(why, len, "last update is in the future");
	if (upd < now - trust)
		return refuse(why, len, "stale: last updated %.3f s ago (pid %d)",
			      ((double)now - (double)upd) * 1e-9, (int)s->writer_pid);
	return 0;
}

/* Values a reader will use on its fast path: each one in range, and the
 * rates consistent with each other and with the stated frequency. */
static int check_snapshot(const struct snap *p, const struct chronon__shm *s, char *why, size_t len)
{
	if (p->mode != CHRONON__PAGE_COUNTER || p->counter != CHRONON__CTR_ARCH || p->fn)
		return refuse(why, len, "the page does not serve from the CPU counter");
	if (p->variant >= CHRONON_ARCH_READ_VARIANTS)
		return refuse(why, len, "unknown counter read variant %u", p->variant);
	if (p->shift < 1 || p->shift > 62 || p->mask == 0 || (p->mask & (p->mask + 1)) != 0)
		return refuse(why, len, "bad shift or mask");
	for (int i = 0; i < 2; i++)
		if (p->mult[i] < (1ULL << 29) || p->mult[i] >= (1ULL << 32) ||
		    p->frac[i] >= (1ULL << p->shift))
			return refuse(why, len, "bad scale");
	uint64_t mmax = p->mult[0] > p->mult[1] ? p->mult[0] : p->mult[1];
	if (p->valid == 0 || p->valid > (~(uint64_t)0 - (1ULL << p->shift)) / mmax ||
	    p->back > p->mask >> 3)
		return refuse(why, len, "bad validity window");
	if (p->pad < 0 || p->pad > CHRONON__SHM_PAD_MAX_NS)
		return refuse(why, len, "pad %lld ns is out of range", (long long)p->pad);
	int64_t tai_real;
	/* (BOOTTIME's offset is the low end of a measured interval: just
	 * below zero on a machine that never slept.) */
	if (p->off[CHRONON__CK_MONO] != 0 || p->off[CHRONON__CK_RAW] != 0 ||
	    __builtin_sub_overflow(p->off[CHRONON__CK_TAI], p->off[CHRONON__CK_REAL], &tai_real) ||
	    tai_real % CHRONON__NS != 0)
		return refuse(why, len, "bad clock offsets");
	/* The split bases chronon_gettime reads must say what base + offset
	 * says. */
	for (int i = 0; i < CHRONON__CK_COUNT; i++) {
		int64_t whole = (int64_t)((uint64_t)p->base[i == CHRONON__CK_RAW] + (uint64_t)p->off[i]);
		if (p->nsec[i] < 0 || p->nsec[i] >= CHRONON__NS || p->sec[i] != whole / CHRONON__NS ||
		    p->nsec[i] != whole % CHRONON__NS)
			return refuse(why, len, "split bases disagree with base + offset");
	}
	double tick = (double)CHRONON__NS / (double)s->counter_hz * (double)(1ULL << p->shift);
	if (!within_ppm((double)p->mult[0], (double)p->mult[1], 1000) ||
	    !within_ppm((double)p->mult[1], tick, 1000))
		return refuse(why, len, "rates disagree with each other or with %llu Hz",
			      (unsigned long long)s->counter_hz);
	return 0;
}

/* Last, every clock read through the page must agree with the kernel. */
static int check_values(const struct chronon__page *pg, char *why, size_t len)
{
	for (int i = 0; i < CHRONON__CK_COUNT; i++) {
		enum chronon__ck ck = (enum chronon__ck)i;
		int64_t v, lo = kernel_ns(chronon__ck_clockid(ck));
		if (chronon__page_read_shared(pg, ck, &v) != CHRONON__READ_OK)
			return refuse(why, len, "its %s cannot be read (stale or being written)",
				      chronon__ck_name(ck));
		int64_t hi = kernel_ns(chronon__ck_clockid(ck));
		if (v < lo - CHRONON__SHM_CHECK_NS || v > hi + CHRONON__SHM_CHECK_NS)
			return refuse(why, len, "its %s is %.9f s off the kernel's", chronon__ck_name(ck),
				      v < lo ? ((double)v - (double)lo) * 1e-9
					     : ((double)v - (double)hi) * 1e-9);
	}
	return 0;
}

int chronon__shm_check(const struct chronon__shm *s, char *why, size_t len)
{
	struct snap p;
	if (check_identity(s, why, len) || check_timens(s, why, len) ||
	    check_counter(s, why, len) || check_liveness(s, why, len))
		return -1;
	if (snap_read(&s->page, &p) != 0)
		return refuse(why, len, "left in the middle of an update (writer pid %d died?)",
			      (int)s->writer_pid);
	if (check_snapshot(&p, s, why, len))
		return -1;
	return check_values(&s->page, why, len);
}

/* ---- opening ------------------------------------------------------- */

/* strerror is not async-signal-safe (it may translate, allocating): the
 * few errors a look meets, by name. */
static const char *errno_text(int e)
{
	switch (e) {
	case ENOENT: return "no such file";
	case EACCES: return "permission denied";
	case EPERM: return "operation not permitted";
	case ECONNREFUSED: return "connection refused (chronond not running)";
	case EAGAIN: return "chronond busy";
	case ENOTDIR: return "a path component is not a directory";
	case ELOOP: return "too many symbolic links";
	case EMFILE: case ENFILE: return "out of file descriptors";
	case ENOMEM: return "out of memory";
	default: return "error";
	}
}

static int refuse_errno(char *why, size_t len, const char *what, int e)
{
	return refuse(why, len, "%s: %s (errno %d)", what, errno_text(e), e);
}

static int stat_kind(const struct stat *st, char *why, size_t len)
{
	if (S_ISSOCK(st->st_mode))
		return 0;
	return refuse(why, len, "not chronond's socket but %s",
		      S_ISREG(st->st_mode)   ? "a regular file"
		      : S_ISLNK(st->st_mode) ? "a symbolic link"
		      : S_ISDIR(st->st_mode) ? "a directory"
		      : S_ISFIFO(st->st_mode) ? "a FIFO"
					      : "another kind of file");
}

/* Asks the chronond serving path for its page: the connected socket, or
 * -1 with the reason.  The server must be root or this user. */
static int ask_start(const char *path, char *why, size_t len)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? refuse(why, len, "no page (is chronond running?)")
				       : refuse_errno(why, len, "stat", errno);
	if (stat_kind(&st, why, len) != 0)
		return -1;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t plen = strlen(path);
	if (plen >= sizeof a.sun_path)
		return refuse(why, len, "too long a path for a socket");
	memcpy(a.sun_path, path, plen + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return refuse_errno(why, len, "socket", errno);
	struct ucred cr;
	socklen_t crl = sizeof cr;
	int bad = 1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		refuse_errno(why, len, "connect", errno);
	else if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) != 0)
		refuse_errno(why, len, "SO_PEERCRED", errno);
	else if (cr.uid != 0 && cr.uid != geteuid())
		refuse(why, len, "served by uid %u, neither root nor this user", (unsigned)cr.uid);
	else
		bad = 0;
	if (bad) {
		close(fd);
		return -1;
	}
	return fd;
}

#define NOT_YET (-2)

/* chronond's answer on fd, waiting up to wait_us for it: the page's
 * descriptor; NOT_YET; or -1 with the reason. */
static int ask_finish(int fd, int64_t wait_us, char *why, size_t len)
{
	if (wait_us > 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct timespec ts = {.tv_sec = wait_us / 1000000, .tv_nsec = wait_us % 1000000 * 1000};
		while (ppoll(&p, 1, &ts, NULL) < 0 && errno == EINTR)
			;
	}
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof u.buf};
	ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	int err = errno;
	if (n < 0 && (err == EAGAIN || err == EWOULDBLOCK))
		return NOT_YET;
	if (n <= 0)
		return refuse(why, len, "chronond closed the connection without a page");
	int got = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int one;
			memcpy(&one, CMSG_DATA(cm) + i * sizeof(int), sizeof one);
			if (got < 0)
				got = one;
			else
				close(one); /* one page per answer: the rest is noise */
		}
	}
	if (got < 0)
		return refuse(why, len, "chronond's answer carried no page");
	return got;
}

/* A page is mapped only if nobody can ever truncate it under its readers
 * (SIGBUS) nor write it but the chronond that sealed it. */
static int check_fd(int fd, struct stat *st, char *why, size_t len)
{
	if (fstat(fd, st) != 0)
		return refuse_errno(why, len, "fstat", errno);
	if (!S_ISREG(st->st_mode))
		return refuse(why, len, "the page is not a regular file");
	if (st->st_size != (off_t)sizeof(struct chronon__shm))
		return refuse(why, len, "size %lld, expected %zu", (long long)st->st_size,
			      sizeof(struct chronon__shm));
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & CHRONON__SHM_SEALS) != CHRONON__SHM_SEALS)
		return refuse(why, len, "not sealed against truncation and writing (seals %#x)",
			      seals < 0 ? 0 : (unsigned)seals);
	return 0;
}

/* Every page this process mapped, by identity: a page it comes back to
 * (chronond was late, then caught up) is the mapping it already has.  Never
 * unmapped (another thread may still be reading one); written under the
 * switch lock.  Pages differ only across chronond restarts, so the table
 * fills only in a very long-lived process that outlived many. */
#define KNOWN_MAX 32
static struct {
	dev_t dev;
	ino_t ino;
	const struct chronon__shm *s;
} known[KNOWN_MAX];
static int nknown;

static const struct chronon__shm *map_known(int fd, const struct stat *st, char *why, size_t len)
{
	for (int i = 0; i < nknown; i++)
		if (known[i].dev == st->st_dev && known[i].ino == st->st_ino)
			return known[i].s;
	if (nknown == KNOWN_MAX) {
		refuse(why, len, "this process already mapped %d pages", KNOWN_MAX);
		return NULL;
	}
	void *m = mmap(NULL, sizeof(struct chronon__shm), PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		refuse_errno(why, len, "mmap", errno);
		return NULL;
	}
	known[nknown].dev = st->st_dev;
	known[nknown].ino = st->st_ino;
	known[nknown].s = m;
	nknown++;
	return m;
}

/* The page sent as fd (closed here), checked, in the mapping this process
 * keeps for it. */
static const struct chronon__shm *attach_fd(int fd, char *why, size_t len)
{
	struct stat st;
	const struct chronon__shm *s = check_fd(fd, &st, why, len) == 0 ? map_known(fd, &st, why, len)
								   : NULL;
	close(fd);
	return s && chronon__shm_check(s, why, len) == 0 ? s : NULL;
}

const struct chronon__shm *chronon__shm_map(const char *path, char *why, size_t len)
{
	int sock = ask_start(path, why, len);
	if (sock < 0)
		return NULL;
	int fd = ask_finish(sock, (int64_t)CHRONON__SHM_ANSWER_MS * 1000, why, len);
	close(sock);
	if (fd == NOT_YET)
		refuse(why, len, "chronond did not answer within %d ms (stopped?)", CHRONON__SHM_ANSWER_MS);
	if (fd < 0)
		return NULL;
	struct stat st;
	void *m = MAP_FAILED;
	if (check_fd(fd, &st, why, len) == 0) {
		m = mmap(NULL, sizeof(struct chronon__shm), PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			refuse_errno(why, len, "mmap", errno);
	}
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	const struct chronon__shm *s = m;
	if (chronon__shm_check(s, why, len) != 0) {
		munmap(m, sizeof *s);
		return NULL;
	}
	return s;
}

/* ---- bounds of what a page can have handed out ------------------- */

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/*
 * A page whose writer is inside its section (died there, or preempted
 * for longer than a reader spins) has no whole snapshot to bound it by,
 * but its pad still bounds it.  Every value handed out came from the last
 * whole snapshot, at a counter value no later than the open section's
 * pivot, so it is at most the kernel's time then plus that snapshot's
 * pad.  The writer stores the new pad after deciding the new lines
 * (tk_publish.c), and a new line starts at or above everything the old
 * one can have handed out up to the pivot, within the new pad of the
 * kernel: so whichever of the two pads the word holds while the section
 * is open bounds every value handed out.  OPEN_SLACK_NS adds what a
 * published REALTIME or BOOTTIME offset may lie above the kernel's
 * (half of tk_track.c's OFFSET_MID_NS) and the reads' rounding.  A pad
 * beyond CHRONON__SHM_PAD_MAX_NS counts as that maximum, the most any
 * page is trusted to run ahead (a page is refused with more when mapped):
 * a corrupt word must not send the floors a day ahead.
 */
#define OPEN_SLACK_NS 1000

static int64_t open_section_pad(const struct chronon__page *pg)
{
	int64_t pad = atomic_load_explicit(&pg->pad_ns, memory_order_relaxed);
	if (pad < 0)
		pad = 0;
	if (pad > CHRONON__SHM_PAD_MAX_NS)
		pad = CHRONON__SHM_PAD_MAX_NS;
	return pad + OPEN_SLACK_NS;
}

/* Upper bounds of what a shared page can have handed out: its snapshot's
 * clocks at the counter now, clamped to its validity; when no whole
 * snapshot can be had, the kernel plus the open section's pad. */
void chronon__shm_bounds(const struct chronon__page *pg, int64_t h[CHRONON__CK_COUNT])
{
	struct snap s;
	int whole = snap_read(pg, &s) == 0 && s.shift < 64;
	int64_t open_pad = whole ? 0 : open_section_pad(pg);
	int64_t raw_now = kernel_ns(CLOCK_MONOTONIC_RAW);
	uint64_t c = chronon__arch_counter_read();
	const _Atomic uint32_t *g = atomic_load_explicit(&chronon__arch_guard, memory_order_relaxed);
	int moved = whole && atomic_load_explicit(g, memory_order_acquire) != s.guard;
	for (int ck = 0; ck < CHRONON__CK_COUNT; ck++) {
		int64_t k = kernel_ns(chronon__ck_clockid((enum chronon__ck)ck));
		h[ck] = whole ? max64(snap_bound(&s, (enum chronon__ck)ck, c, raw_now, moved), k)
			      : k + open_pad;
	}
}


/* ---- the look ------------------------------------------------------ */


/* The path to look at: CHRONON_PAGE, or the user's then the system's
 * default.  0, or -1 (and never look again) when disabled or malformed. */
static int page_path(char *out, size_t len, int which, char *why, size_t wlen)
{
	const char *env;
	enum chronon__page_choice c = chronon__config_page(&env, len, why, wlen);
	if (c == CHRONON__PAGE_REFUSED)
		return -1;
	if (c == CHRONON__PAGE_PATH) {
		if (which > 0)
			return 1;
		snprintf(out, len, "%s", env);
		return 0;
	}
	if (which == 0)
		return chronon__shm_default_path(out, (unsigned)len);
	if (which == 1 && geteuid() != 0) {
		snprintf(out, len, "/run/chronon/page");
		return 0;
	}
	return 1;
}

/*
 * A look, in steps that never wait unless asked to: each candidate path in
 * turn is asked (connect), and its answer collected by a later step.
 * Under the switch lock (proc_page.c).
 */
static struct {
	int fd;            /* the candidate asked, -1 when none is */
	dev_t dev;         /* its identity: the program may close the number */
	ino_t ino;         /* (closefrom) and reuse it between two steps */
	int which;         /* which candidate (page_path) */
	int64_t until;     /* MONOTONIC_COARSE: it must have answered by then */
	char first[128];   /* the first candidate's refusal: the one people need */
} look = {.fd = -1};

/* Whether look.fd is still the socket this look opened. */
static int look_fd_ours(void)
{
	struct stat st;
	return fstat(look.fd, &st) == 0 && st.st_dev == look.dev && st.st_ino == look.ino;
}

void chronon__shm_look_reset(void)
{
	if (look.fd >= 0 && look_fd_ours())
		close(look.fd);
	look.fd = -1;
	look.which = 0;
	look.first[0] = 0;
}

static void look_refused(const char *path, const char *why)
{
	if (!look.first[0])
		snprintf(look.first, sizeof look.first, "%.50s: %.70s", path, why);
	look.which++;
}

/* See shared_page.h.  Under the caller's switch lock. */
int chronon__shm_look(const struct chronon__shm **out, char *path, size_t len, int64_t wait_us,
		      int patient, char *refusal, size_t rlen)
{
	char why[128];
	for (;;) {
		int64_t wait = patient ? wait_us : 0;
		int r = page_path(path, len, look.which, refusal, rlen);
		if (r < 0) {
			chronon__shm_look_reset();
			return CHRONON__LOOK_OFF;
		}
		if (r > 0) {
			snprintf(refusal, rlen, "%s", look.first);
			chronon__shm_look_reset();
			return CHRONON__LOOK_NONE;
		}
		if (look.fd >= 0 && !look_fd_ours()) {
			/* Closed behind our back (and maybe reused): forget it
			 * without closing, ask again. */
			look.fd = -1;
		}
		if (look.fd < 0) {
			struct stat st;
			memset(&st, 0, sizeof st);
			look.fd = ask_start(path, why, sizeof why);
			if (look.fd < 0) {
				look_refused(path, why);
				continue;
			}
			fstat(look.fd, &st);
			look.dev = st.st_dev;
			look.ino = st.st_ino;
			look.until = chronon__coarse_ns() + (int64_t)CHRONON__SHM_ANSWER_MS * 1000000;
			wait = wait_us;
		}
		int fd = ask_finish(look.fd, wait, why, sizeof why);
		if (fd == NOT_YET) {
			if (chronon__coarse_ns() < look.until)
				return CHRONON__LOOK_PENDING;
			snprintf(why, sizeof why, "chronond did not answer within %d ms (stopped?)",
				 CHRONON__SHM_ANSWER_MS);
		}
		close(look.fd);
		look.fd = -1;
		const struct chronon__shm *s = fd >= 0 ? attach_fd(fd, why, sizeof why) : NULL;
		if (s) {
			*out = s;
			chronon__shm_look_reset();
			return CHRONON__LOOK_FOUND;
		}
		look_refused(path, why);
	}
}

/* Why a page's fast path failed, or NULL when it is worth one more try
 * (a writer that was merely preempted mid-update). */
const char *chronon__shm_trouble(const struct chronon__shm *s)
{
	if (atomic_load_explicit(&s->retired, memory_order_acquire))
		return "retired";
	if (CHRONON__CTL_MODE(atomic_load_explicit(&s->page.ctl, memory_order_relaxed)) !=
	    CHRONON__PAGE_COUNTER)
		return "retired";
	if (atomic_load_explicit(&s->page.seq, memory_order_relaxed) & 1)
		return "left in the middle of an update";
	int64_t upd = atomic_load_explicit(&s->updated_ns, memory_order_relaxed);
	int64_t trust = atomic_load_explicit(&s->trust_ns, memory_order_relaxed);
	int64_t until;
	if (__builtin_add_overflow(upd, trust, &until) || kernel_ns(CLOCK_MONOTONIC) > until)
		return "stale (chronond stopped updating it)";
	return NULL;
}
