/*
 * chronond: one timekeeper for every process.  It runs the same timekeeper
 * as in-process mode (timekeeper.h) on the page inside a shared file
 * (shm_page.h), which readers map read-only, as the kernel keeps the vvar
 * page for the vDSO.
 *
 *   chronond [--page PATH] [--interval DURATION] [--foreground] [--trace]
 *
 * The page lives in a sealed memory file (memfd): it cannot be shrunk,
 * grown or written by anyone but this process's own mapping, so no reader
 * can ever be killed by SIGBUS from a truncated page, nor fed a page
 * another process wrote.  Readers get it from a Unix socket at PATH, one
 * file descriptor per connection; the socket is bound beside PATH and
 * renamed into place only once the page serves from the counter, so no
 * reader ever maps a half-made page.
 *
 * The page is checked against the kernel every --interval (default 10 ms,
 * the cadence at which an in-process page expires and its next reader
 * checks it), sooner when the timekeeper's resync schedule asks, and at
 * once when CLOCK_REALTIME is set (a timerfd with TFD_TIMER_CANCEL_ON_SET,
 * which also fires on resume): a check is a few vDSO reads, and resyncs
 * when the kernel's rate moved or a clock was set, so readers of the page
 * follow an adjtimex tick or frequency change, a slew or a step as soon as
 * in-process readers do.  A snapshot serves readers for two intervals and
 * a 50 ms margin (70 ms by default; less while a fast slew runs): the
 * longest readers keep reading the page of a chronond that died or was
 * descheduled.  SIGTERM or SIGINT
 * retires the page, removes the socket and exits.  --trace tells on
 * standard error what the timekeeper did: every resync, and every check
 * that found the page off the kernel by more than TRACE_CHECK_NS.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ns.h"
#include "shm_page.h"
#include "tk_driver.h"

#define INTERVAL_MIN_NS 1000000LL
#define INTERVAL_MAX_NS CHRONON__NS

struct opts {
	char page[PATH_MAX - 32];
	int64_t interval_ns;
	int foreground;
	int help;
	int trace;
};

static int64_t mono_ns(void)
{
	return chronon__kclock_real.now(chronon__kclock_real.ctx, CLOCK_MONOTONIC);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: chronond [--page PATH] [--interval DURATION] [--foreground]\n"
		   "  --page PATH          publish the time page at PATH (default: /run/chronon/page\n"
		   "                       for root, $XDG_RUNTIME_DIR/chronon/page for other users)\n"
		   "  --interval DURATION  check the page against the kernel this often: 1ms..1s,\n"
		   "                       suffix ns/us/ms/s (default 10ms)\n"
		   "  --foreground         do not detach (for systemd and tests)\n"
		   "  --trace              tell each resync, and each check that found the page\n"
		   "                       off the kernel by more than 500 ns, on standard error\n");
}

/* "500ms", "1s", "250000us", "2000000ns"; a bare number is seconds. */
static int parse_duration(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !(v >= 0))
		return -1;
	double scale = (double)CHRONON__NS;
	if (strcmp(end, "ns") == 0)
		scale = 1;
	else if (strcmp(end, "us") == 0)
		scale = 1e3;
	else if (strcmp(end, "ms") == 0)
		scale = 1e6;
	else if (strcmp(end, "s") == 0 || *end == 0)
		scale = (double)CHRONON__NS;
	else
		return -1;
	v *= scale;
	if (v > 1e15)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->interval_ns = CHRONON__DRIVE_INTERVAL_NS;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--foreground") == 0 || strcmp(a, "-f") == 0) {
			o->foreground = 1;
		} else if (strcmp(a, "--trace") == 0) {
			o->trace = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o->help = 1;
		} else if (strcmp(a, "--page") == 0) {
			if (!val || val[0] != '/' || strlen(val) >= sizeof o->page - 16) {
				fprintf(stderr, "chronond: --page needs an absolute path (under %zu bytes)\n",
					sizeof o->page - 16);
				return -1;
			}
			snprintf(o->page, sizeof o->page, "%s", val);
			i++;
		} else if (strcmp(a, "--interval") == 0) {
			if (!val || parse_duration(val, &o->interval_ns) != 0 ||
			    o->interval_ns < INTERVAL_MIN_NS ||
			    o->interval_ns > INTERVAL_MAX_NS) {
				fprintf(stderr, "chronond: --interval needs a duration from 1ms to 1s "
						"(e.g. 10ms)\n");
				return -1;
			}
			i++;
		} else {
			fprintf(stderr, "chronond: unknown argument '%s'\n", a);
			return -1;
		}
	}
	if (!o->page[0] && chronon__shm_default_path(o->page, sizeof o->page - 16) != 0) {
		fprintf(stderr, "chronond: the default page path is too long; use --page\n");
		return -1;
	}
	return 0;
}

/* ---- the lock and the files ---------------------------------------- */

/* A second chronond on the same path must not fight the first over it. */
static int take_lock(const char *page)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s.lock", page);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		fprintf(stderr, "chronond: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char buf[32] = "";
		ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		fprintf(stderr, "chronond: %s is already published by another chronond (pid %s; lock %s)\n",
			page, buf[0] ? buf : "?", path);
		close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		fprintf(stderr, "chronond: warning: cannot record the pid in %s\n", path);
	return fd; /* held until exit */
}

static int make_parent(const char *page)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", page);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "chronond: cannot create %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The new page: a memory file of exactly the page's size, mapped for
 * writing here, then sealed so that its size can never change and nobody
 * else can write it (F_SEAL_FUTURE_WRITE leaves this mapping writable). */
static struct chronon__shm *create_page(int *fd_out)
{
	int fd = memfd_create("chronon-page", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		fprintf(stderr, "chronond: memfd_create: %s\n", strerror(errno));
		return NULL;
	}
	void *m = MAP_FAILED;
	if (ftruncate(fd, sizeof(struct chronon__shm)) != 0)
		fprintf(stderr, "chronond: cannot size the page: %s\n", strerror(errno));
	else
		m = mmap(NULL, sizeof(struct chronon__shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fprintf(stderr, "chronond: cannot map the page: %s\n", strerror(errno));
		close(fd);
		return NULL;
	}
	if (fcntl(fd, F_ADD_SEALS, CHRONON__SHM_SEALS) != 0) {
		fprintf(stderr, "chronond: cannot seal the page: %s (F_SEAL_FUTURE_WRITE needs "
				"Linux 5.1)\n", strerror(errno));
		munmap(m, sizeof(struct chronon__shm));
		close(fd);
		return NULL;
	}
	*fd_out = fd;
	return m;
}

/* The socket readers ask for the page, bound beside its final name (the
 * rename must stay within one file system) and open to every user: the
 * page is for every process, and a reader trusts it for who serves it
 * (root or itself), not for the socket file's mode. */
static int make_socket(const char *page, char *tmp, size_t len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(tmp, len, "%s.new.%d", page, (int)getpid());
	if (strlen(tmp) >= sizeof a.sun_path) {
		fprintf(stderr, "chronond: %s is too long for a socket path (%zu bytes at most)\n", tmp,
			sizeof a.sun_path - 1);
		return -1;
	}
	memcpy(a.sun_path, tmp, strlen(tmp) + 1);
	unlink(tmp);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || chmod(tmp, 0666) != 0 ||
	    listen(fd, 128) != 0) {
		fprintf(stderr, "chronond: cannot listen on %s: %s\n", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	return fd;
}

/* Every waiting reader gets the page's descriptor; a reader that went
 * away or cannot take it is simply dropped. */
static void hand_out(int lfd, int page_fd)
{
	for (int n = 0; n < 256; n++) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			return;
		char byte = 'p';
		struct iovec iov = {.iov_base = &byte, .iov_len = 1};
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} u;
		memset(&u, 0, sizeof u);
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				     .msg_controllen = sizeof u.buf};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &page_fd, sizeof(int));
		if (sendmsg(c, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* the reader gave up; it will ask again */
		}
		close(c);
	}
}

/* The socket file as published, so that SIGTERM removes it only if it is
 * still the one this chronond put there. */
static struct stat published;

static void remove_socket(const char *page)
{
	struct stat st;
	if (stat(page, &st) == 0 && st.st_ino == published.st_ino && st.st_dev == published.st_dev)
		unlink(page);
}

static int fill_identity(struct chronon__shm *s, const struct chronon__counter *ctr,
			 const struct chronon__probe *probe)
{
	memset(s, 0, sizeof *s);
	s->magic = CHRONON__SHM_MAGIC;
	s->abi = CHRONON__SHM_ABI;
	s->size = sizeof *s;
	s->page_offset = offsetof(struct chronon__shm, page);
	s->page_size = sizeof(struct chronon__page);
	s->writer_pid = (int32_t)getpid();
	s->counter = (uint32_t)ctr->id;
	snprintf(s->counter_name, sizeof s->counter_name, "%s", ctr->name);
	snprintf(s->counter_source, sizeof s->counter_source, "%s",
		 probe->guard && probe->pv.name ? probe->pv.name : "clocksource");
	if (chronon__shm_boot_id(s->boot_id) != 0) {
		fprintf(stderr, "chronond: cannot read /proc/sys/kernel/random/boot_id\n");
		return -1;
	}
	if (chronon__shm_timens(&s->timens_ino, &s->timens_dev) != 0) {
		fprintf(stderr, "chronond: cannot tell the time namespace (is /proc mounted?)\n");
		return -1;
	}
	chronon__shm_timens_offsets(&s->timens_mono_ns, &s->timens_boot_ns);
	return 0;
}

/* ---- the timekeeper's schedule ------------------------------------- */

static void publish_liveness(struct chronon__shm *s, const struct chronon__tk_report *r,
			     int64_t trust)
{
	atomic_store_explicit(&s->resync_error_ns, r->error_ns, memory_order_relaxed);
	atomic_store_explicit(&s->resync_width_ns, r->width_ns, memory_order_relaxed);
	atomic_store_explicit(&s->resync_ns, r->last_resync_ns, memory_order_relaxed);
	atomic_store_explicit(&s->resyncs, r->resyncs, memory_order_relaxed);
	atomic_store_explicit(&s->steps, r->steps, memory_order_relaxed);
	atomic_store_explicit(&s->realtime_steps, r->realtime_steps, memory_order_relaxed);
	atomic_store_explicit(&s->suspends, r->suspends, memory_order_relaxed);
	atomic_store_explicit(&s->mono_rate_bits, chronon__shm_rate_bits(r->mono_rate), memory_order_relaxed);
	atomic_store_explicit(&s->raw_rate_bits, chronon__shm_rate_bits(r->raw_rate), memory_order_relaxed);
	atomic_store_explicit(&s->rate_unc_bits, chronon__shm_rate_bits(r->rate_unc), memory_order_relaxed);
	atomic_store_explicit(&s->trust_ns, trust, memory_order_relaxed);
	atomic_store_explicit(&s->updated_ns, mono_ns(), memory_order_release);
}

/* --trace: a line per resync and per check that found the page this far
 * off the kernel (a resync follows it at once: the check's threshold is
 * 500 ns and two brackets' widths, tk_track.c); quiet checks say nothing,
 * so a steady machine writes a line a second. */
#define TRACE_CHECK_NS 500
static int trace_on;

static void trace(const struct chronon__tk_report *r, int64_t now)
{
	static uint64_t resyncs;
	int resynced = r->resyncs != resyncs;
	resyncs = r->resyncs;
	int64_t e = resynced ? r->error_ns : r->check_error_ns;
	if (!trace_on || (!resynced && e <= TRACE_CHECK_NS && e >= -TRACE_CHECK_NS))
		return;
	fprintf(stderr,
		"chronond: trace %.6f s: %s kernel - page %+lld ns (within %lld ns); %llu resyncs, "
		"%llu steps; counter %.6f MHz +- %.2g; next resync in %.1f ms\n",
		(double)now / 1e9, resynced ? "resync," : "check, ", (long long)e, (long long)r->width_ns,
		(unsigned long long)r->resyncs, (unsigned long long)r->steps, r->counter_hz / 1e6,
		r->rate_unc, (double)(r->next_resync_ns - now) / 1e6);
}

/* One update; returns the gap to the next, or -1 (with the reason in
 * why) when the timekeeper gave the counter up. */
static int64_t update(struct chronon__shm *s, struct chronon__tk *tk, int64_t interval,
		      char *why, size_t len)
{
	enum chronon__tk_drive v = chronon__tk_drive_update(tk);
	struct chronon__tk_report r;
	chronon__tk_drive_report(tk, &r);
	if (v == CHRONON__DRIVE_GAVE_UP) {
		snprintf(why, len, "%s", r.reason);
		return -1;
	}
	/* The counter's rate as readers check it against the snapshot: a
	 * host that changed it (TSC scaling after a migration) would
	 * otherwise have every new reader refuse the page. */
	double hz = r.counter_hz;
	uint64_t was = __atomic_load_n(&s->counter_hz, __ATOMIC_RELAXED);
	if (hz > 0 && was && (hz / (double)was > 1 + 1e-4 || hz / (double)was < 1 - 1e-4))
		__atomic_store_n(&s->counter_hz, (uint64_t)(hz + 0.5), __ATOMIC_RELAXED);
	/* Trusted as long as the page's own window: a check due sooner (a
	 * short slew ending) shortens the page's validity, not the
	 * liveness, which would otherwise flicker with the resync
	 * schedule. */
	int64_t now = mono_ns();
	trace(&r, now);
	publish_liveness(s, &r, chronon__tk_drive_window(interval));
	return chronon__tk_drive_next(tk, interval, now) - now;
}

/* Drives the timekeeper until it serves from the counter. */
static int calibrate(struct chronon__tk *tk)
{
	int64_t give_up = mono_ns() + 10 * CHRONON__NS;
	for (;;) {
		int64_t due;
		enum chronon__tk_drive v = chronon__tk_drive_calibrate(tk, &due);
		if (v == CHRONON__DRIVE_SERVING)
			return 0;
		if (v == CHRONON__DRIVE_GAVE_UP) {
			struct chronon__tk_report r;
			chronon__tk_drive_report(tk, &r);
			fprintf(stderr, "chronond: the counter cannot be used: %s\n", r.reason);
			return -1;
		}
		int64_t now = mono_ns();
		if (now > give_up) {
			fprintf(stderr, "chronond: calibration did not settle in 10 s (machine too noisy?)\n");
			return -1;
		}
		if (due > now) {
			struct timespec ts;
			chronon__ns_to_timespec(due, &ts);
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		}
	}
}

/* ---- events -------------------------------------------------------- */

static int realtime_timer(void)
{
	int fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)1 << 40}};
	if (fd < 0 || timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL)) {
		fprintf(stderr, "chronond: timerfd: %s\n", strerror(errno));
		return -1;
	}
	return fd;
}

/* 1 when CLOCK_REALTIME was set (the read is cancelled); re-arms. */
static int realtime_was_set(int fd)
{
	uint64_t n;
	if (read(fd, &n, sizeof n) < 0 && errno == ECANCELED) {
		struct itimerspec its = {.it_value = {.tv_sec = (time_t)1 << 40}};
		timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
		return 1;
	}
	return 0;
}

static int signal_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* SIGTERM: readers leave at once (the page stops serving) and the next
 * looking process is told why. */
static void retire(struct chronon__shm *s, struct chronon__tk *tk)
{
	atomic_store_explicit(&s->retired, 1, memory_order_release);
	chronon__tk_drive_retire(tk);
}

struct served {
	struct chronon__shm *s;
	int page_fd, lfd;
	const char *path;
};

#define GUARD_POLL_NS (50 * 1000000LL)

static int serve(const struct served *sv, struct chronon__tk *tk, int64_t interval, int sfd, int tfd)
{
	struct chronon__shm *s = sv->s;
	char why[128];
	int64_t gap = update(s, tk, interval, why, sizeof why);
	int64_t due = mono_ns() + gap;
	for (;;) {
		struct pollfd p[3] = {{.fd = sfd, .events = POLLIN},
				      {.fd = tfd, .events = POLLIN},
				      {.fd = sv->lfd, .events = POLLIN}};
		int64_t wait = due - mono_ns();
		/* A host's rewrite of the counter's page sends every reader
		 * away until the page is republished: look at its guard often
		 * (a load; a wake-up 20 times a second). */
		if (chronon__tk_drive_host(tk) >= 0 && wait > GUARD_POLL_NS)
			wait = GUARD_POLL_NS;
		struct timespec ts;
		chronon__ns_to_timespec(wait > 0 ? wait : 0, &ts);
		int n = ppoll(p, 3, &ts, NULL);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "chronond: poll: %s\n", strerror(errno));
			return 1;
		}
		if (n > 0 && (p[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGHUP) {
				retire(s, tk);
				remove_socket(sv->path);
				return 0;
			}
		}
		if (n > 0 && (p[2].revents & POLLIN))
			hand_out(sv->lfd, sv->page_fd);
		int set = n > 0 && (p[1].revents & POLLIN) && realtime_was_set(tfd);
		int host = chronon__tk_drive_host(tk) > 0;
		if (gap >= 0 && (set || host || mono_ns() >= due)) {
			gap = update(s, tk, interval, why, sizeof why);
			due = mono_ns() + gap;
		}
		if (gap < 0) {
			/* The kernel or the host stopped vouching for the
			 * counter: readers go back to their own clocks. */
			fprintf(stderr, "chronond: the counter is no longer trusted: %s\n", why);
			retire(s, tk);
			return 1;
		}
	}
}

/* ---- detaching ------------------------------------------------------ */

/* The parent stays until the page is published, so `chronond && prog`
 * finds the page, and exits with the child's verdict. */
static int detach(int *ready_fd)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		char c = 0;
		ssize_t n = read(p[0], &c, 1);
		_exit(n == 1 && c == 'k' ? 0 : 1);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	return 0;
}

static void detached_ready(int ready_fd)
{
	if (ready_fd < 0)
		return;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (write(ready_fd, "k", 1) != 1) {
		/* the parent is gone; nothing to tell */
	}
	close(ready_fd);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	if (chdir("/") != 0) {
		/* harmless: nothing is opened relative to the cwd */
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse_args(argc, argv, &o) != 0) {
		usage(stderr);
		return 2;
	}
	if (o.help) {
		usage(stdout);
		return 0;
	}
	trace_on = o.trace;
	int ready = -1;
	if (!o.foreground && detach(&ready) != 0) {
		fprintf(stderr, "chronond: cannot detach: %s\n", strerror(errno));
		return 1;
	}
	/* The counter every reader would choose, CHRONON_COUNTER included:
	 * a page is only of use where the CPU's counter is. */
	struct chronon__choice choice;
	chronon__counter_choose(&choice);
	const struct chronon__counter *ctr = choice.counter;
	const struct chronon__probe probe = choice.probe;
	if (!ctr || ctr->id != CHRONON__CTR_ARCH) {
		const struct chronon__counter *arch = chronon__counter_arch();
		struct chronon__probe p = {0};
		if (arch)
			arch->probe(&p);
		fprintf(stderr, "chronond: no usable CPU counter: %s\n",
			choice.note[0] ? choice.note : arch ? p.reason : "this CPU has none chronon knows");
		return 1;
	}
	if (make_parent(o.page) != 0)
		return 1;
	int lock = take_lock(o.page);
	if (lock < 0)
		return 1;
	int sfd = signal_fd(), tfd = realtime_timer();
	if (sfd < 0 || tfd < 0)
		return 1;
	char tmp[PATH_MAX];
	int page_fd;
	struct chronon__shm *s = create_page(&page_fd);
	if (!s)
		return 1;
	/* Bound now (a path too long for a socket fails before calibrating),
	 * published by the rename below. */
	int lfd = make_socket(o.page, tmp, sizeof tmp);
	if (lfd < 0)
		return 1;
	static struct chronon__tk tk;
	if (fill_identity(s, ctr, &probe) != 0)
		goto fail;
	/* Nobody but chronond updates the page: each snapshot must serve
	 * past the next check, by a margin for a late wake-up (the driver's
	 * window).  The timekeeper sizes the page's pad for that window, and
	 * its re-bases start above whatever readers saw in it. */
	const struct chronon__tk_drive_config cfg = {
		.counter = ctr, .forced = choice.forced, .interval_ns = o.interval_ns};
	chronon__tk_drive_setup(&tk, &s->page, &cfg);
	if (calibrate(&tk) != 0)
		goto fail;
	struct chronon__tk_report r;
	chronon__tk_drive_report(&tk, &r);
	s->counter_hz = (uint64_t)(r.counter_hz + 0.5);
	/* A counter given up here is told by serve()'s first update. */
	char why[128];
	update(s, &tk, o.interval_ns, why, sizeof why);
	if (stat(tmp, &published) != 0 || rename(tmp, o.page) != 0) {
		fprintf(stderr, "chronond: cannot rename %s to %s: %s\n", tmp, o.page, strerror(errno));
		goto fail;
	}
	if (o.foreground)
		fprintf(stderr, "chronond: publishing %s (pid %d, %s at %.6f MHz, interval %.3f s)\n",
			o.page, (int)getpid(), ctr->name, (double)s->counter_hz * 1e-6,
			(double)o.interval_ns * 1e-9);
	detached_ready(ready);
	struct served sv = {.s = s, .page_fd = page_fd, .lfd = lfd, .path = o.page};
	return serve(&sv, &tk, o.interval_ns, sfd, tfd);
fail:
	unlink(tmp);
	return 1;
}
