/*
 * chronond: one timekeeper for every process.  It runs the same timekeeper
 * as in-process mode (timekeeper.h) on the page inside a shared file
 * (shm_page.h), which readers map read-only, as the kernel keeps the vvar
 * page for the vDSO.
 *
 *   chronond [--page PATH] [--interval DURATION] [--foreground]
 *
 * The page is calibrated in a temporary file next to PATH and renamed into
 * place only when it serves from the counter, so no reader ever maps a
 * half-made page.  Updates come every --interval (default 500 ms), sooner
 * when the timekeeper's resync schedule asks, and at once when
 * CLOCK_REALTIME is set (a timerfd with TFD_TIMER_CANCEL_ON_SET, which also
 * fires on resume).  SIGTERM or SIGINT retires the page and exits.
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
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "shm_page.h"
#include "timekeeper.h"
#include "tk_internal.h"

#define NS 1000000000LL
#define INTERVAL_DEFAULT_NS (500 * 1000000LL)
#define INTERVAL_MIN_NS 1000000LL
#define INTERVAL_MAX_NS NS
/* How late a wake-up the page's validity absorbs (a busy 2-core VM
 * deschedules a process for tens of ms). */
#define LATE_MARGIN_NS (50 * 1000000LL)
/* Before an update the validity is cut to this far ahead of now. */
#define SHORTEN_NS (5 * 1000000LL)

struct opts {
	char page[PATH_MAX - 32];
	int64_t interval_ns;
	int foreground;
	int help;
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
		   "  --interval DURATION  update at least this often: 1ms..1s, suffix ns/us/ms/s\n"
		   "                       (default 500ms)\n"
		   "  --foreground         do not detach (for systemd and tests)\n");
}

/* "500ms", "1s", "250000us", "2000000ns"; a bare number is seconds. */
static int parse_duration(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno || !(v >= 0))
		return -1;
	double scale = 1e9;
	if (strcmp(end, "ns") == 0)
		scale = 1;
	else if (strcmp(end, "us") == 0)
		scale = 1e3;
	else if (strcmp(end, "ms") == 0)
		scale = 1e6;
	else if (strcmp(end, "s") == 0 || *end == 0)
		scale = 1e9;
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
	o->interval_ns = INTERVAL_DEFAULT_NS;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--foreground") == 0 || strcmp(a, "-f") == 0) {
			o->foreground = 1;
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
						"(e.g. 500ms)\n");
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

/* The new page, in a temporary file beside its final name (the rename
 * must stay within one file system to be atomic). */
static struct chronon__shm *create_page(const char *page, char *tmp, size_t len)
{
	snprintf(tmp, len, "%s.new.%d", page, (int)getpid());
	unlink(tmp);
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		fprintf(stderr, "chronond: cannot create %s: %s\n", tmp, strerror(errno));
		return NULL;
	}
	/* Readable by all, writable by none but us, whatever the umask. */
	if (fchmod(fd, 0644) != 0 || ftruncate(fd, sizeof(struct chronon__shm)) != 0) {
		fprintf(stderr, "chronond: cannot size %s: %s\n", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return NULL;
	}
	void *m = mmap(NULL, sizeof(struct chronon__shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		fprintf(stderr, "chronond: cannot map %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		return NULL;
	}
	return m;
}

static int fill_identity(struct chronon__shm *s, const struct chronon__counter *ctr)
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

static uint64_t ticks(const struct chronon__tk *tk, uint64_t from, uint64_t to)
{
	return (to - from) & tk->choice.counter->mask;
}

/* As the timekeeper's own (tk_track.c): the rate's relative error. */
static double rate_unc(const struct chronon__tk *tk)
{
	uint64_t base = ticks(tk, tk->mono.ref.c, tk->mono.last.c);
	return base ? (double)(tk->mono.ref.w + tk->mono.last.w) / (double)base : 1e-4;
}

static int counter_mode(const struct chronon__page *pg, uint32_t *shift)
{
	uint64_t ctl = atomic_load_explicit(&pg->ctl, memory_order_relaxed);
	*shift = CHRONON__CTL_SHIFT(ctl);
	return CHRONON__CTL_MODE(ctl) == CHRONON__PAGE_COUNTER;
}

/*
 * The in-process timekeeper lets its page expire at its next resync: its
 * readers then do the resync.  Here nobody but chronond updates the page,
 * so after each update the validity is stretched past the next update by
 * a margin for a late wake-up, and the pad grows by what the rate's error
 * can add over the extra time.  Before each update it is cut back to just
 * ahead of now, so a re-base (which starts above the old line's end of
 * validity) never jumps ahead by more than that.
 */
static void set_validity(struct chronon__tk *tk, int64_t want_ns, int shorten)
{
	struct chronon__page *pg = tk->page;
	uint32_t shift;
	if (!counter_mode(pg, &shift) || shift == 0 || shift > 62)
		return;
	uint64_t mm = atomic_load_explicit(&pg->mono.mult, memory_order_relaxed);
	uint64_t mr = atomic_load_explicit(&pg->raw.mult, memory_order_relaxed);
	uint64_t mmax = mm > mr ? mm : mr;
	double rate = (double)mm / (double)(1ULL << shift);
	uint64_t cur = atomic_load_explicit(&pg->valid_cycles, memory_order_relaxed);
	uint64_t last = atomic_load_explicit(&pg->cycle_last, memory_order_relaxed);
	uint64_t want = (uint64_t)((double)want_ns / rate);
	if (shorten)
		want += ticks(tk, last, chronon__counter_read(tk->choice.counter, tk->variant));
	uint64_t room = (~(uint64_t)0 - (1ULL << shift)) / (mmax ? mmax : 1);
	if (want > room)
		want = room;
	if (shorten ? want >= cur : want <= cur)
		return;
	int64_t pad = atomic_load_explicit(&pg->pad_ns, memory_order_relaxed);
	if (!shorten)
		pad += (int64_t)((rate_unc(tk) + 1e-7) * (double)(want - cur) * rate) + 1;
	chronon__page_write_begin(pg);
	atomic_store_explicit(&pg->valid_cycles, want, memory_order_relaxed);
	atomic_store_explicit(&pg->pad_ns, pad, memory_order_relaxed);
	chronon__page_write_end(pg);
}

/* When the next update is due: the interval, or sooner when the
 * timekeeper's resync schedule (short while the rate is young) asks. */
static int64_t next_gap(const struct chronon__tk *tk, int64_t interval, int64_t now)
{
	int64_t gap = tk->next_resync_k - now;
	if (gap > interval)
		gap = interval;
	return gap < 100000 ? 100000 : gap;
}

/* How long a page may be trusted past an update: two gaps and a margin
 * for a daemon descheduled on a busy machine. */
static int64_t trust_for(int64_t gap)
{
	return 2 * gap + LATE_MARGIN_NS;
}

static void publish_liveness(struct chronon__shm *s, const struct chronon__tk *tk, int64_t trust)
{
	atomic_store_explicit(&s->resync_error_ns, tk->mono.err_ns, memory_order_relaxed);
	atomic_store_explicit(&s->resync_width_ns, tk->mono.width_ns, memory_order_relaxed);
	atomic_store_explicit(&s->resync_ns, tk->last_resync_k, memory_order_relaxed);
	atomic_store_explicit(&s->resyncs, tk->resyncs, memory_order_relaxed);
	atomic_store_explicit(&s->steps, tk->steps, memory_order_relaxed);
	atomic_store_explicit(&s->realtime_steps, tk->realtime_steps, memory_order_relaxed);
	atomic_store_explicit(&s->suspends, tk->suspends, memory_order_relaxed);
	atomic_store_explicit(&s->trust_ns, trust, memory_order_relaxed);
	atomic_store_explicit(&s->updated_ns, mono_ns(), memory_order_release);
}

/* One update; returns the gap to the next. */
static int64_t update(struct chronon__shm *s, struct chronon__tk *tk, int64_t interval)
{
	set_validity(tk, SHORTEN_NS, 1);
	/* Not chronon__tk_read_slow(): that works only when the page has
	 * expired, and here it never should. */
	chronon__tk_update(tk);
	int64_t now = mono_ns();
	int64_t gap = next_gap(tk, interval, now);
	set_validity(tk, trust_for(gap), 0);
	publish_liveness(s, tk, trust_for(gap));
	return gap;
}

/* Drives the timekeeper until it serves from the counter. */
static int calibrate(struct chronon__tk *tk)
{
	int64_t give_up = mono_ns() + 10 * NS;
	for (;;) {
		chronon__tk_read_slow(tk, CHRONON__CK_MONO);
		int st = atomic_load_explicit(&tk->state, memory_order_acquire);
		if (st == CHRONON__TK_COUNTER)
			return 0;
		if (st == CHRONON__TK_KERNEL) {
			fprintf(stderr, "chronond: the counter cannot be used: %s\n", tk->reason);
			return -1;
		}
		int64_t now = mono_ns();
		if (now > give_up) {
			fprintf(stderr, "chronond: calibration did not settle in 10 s (machine too noisy?)\n");
			return -1;
		}
		int64_t due = atomic_load_explicit(&tk->due_ns, memory_order_relaxed);
		if (due > now) {
			struct timespec ts = {.tv_sec = due / NS, .tv_nsec = due % NS};
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
static void retire(struct chronon__shm *s)
{
	struct chronon__page *pg = &s->page;
	atomic_store_explicit(&s->retired, 1, memory_order_release);
	uint64_t ctl = atomic_load_explicit(&pg->ctl, memory_order_relaxed);
	chronon__page_write_begin(pg);
	atomic_store_explicit(&pg->ctl,
			      chronon__ctl(CHRONON__PAGE_KERNEL, CHRONON__CTL_ID(ctl),
					   CHRONON__CTL_VARIANT(ctl), CHRONON__CTL_SHIFT(ctl)),
			      memory_order_relaxed);
	chronon__page_write_end(pg);
}

static int serve(struct chronon__shm *s, struct chronon__tk *tk, int64_t interval, int sfd, int tfd)
{
	int64_t gap = update(s, tk, interval);
	int64_t due = mono_ns() + gap;
	for (;;) {
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = tfd, .events = POLLIN}};
		int64_t wait = due - mono_ns();
		struct timespec ts = {.tv_sec = wait > 0 ? wait / NS : 0,
				      .tv_nsec = wait > 0 ? wait % NS : 0};
		int n = ppoll(p, 2, &ts, NULL);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "chronond: poll: %s\n", strerror(errno));
			return 1;
		}
		if (n > 0 && (p[0].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGHUP) {
				retire(s);
				return 0;
			}
		}
		int set = n > 0 && (p[1].revents & POLLIN) && realtime_was_set(tfd);
		if (set || mono_ns() >= due) {
			gap = update(s, tk, interval);
			due = mono_ns() + gap;
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
	int ready = -1;
	if (!o.foreground && detach(&ready) != 0) {
		fprintf(stderr, "chronond: cannot detach: %s\n", strerror(errno));
		return 1;
	}
	const struct chronon__counter *ctr = chronon__counter_arch();
	struct chronon__probe probe = {0};
	if (ctr)
		ctr->probe(&probe);
	/* CHRONON_COUNTER naming the CPU counter forces it, as it does in every
	 * process (a TSC that qemu's emulator cannot call invariant), unless
	 * reading it faults. */
	const char *want = getenv("CHRONON_COUNTER");
	if (ctr && !probe.usable && want && strcmp(want, ctr->name) == 0 && !strstr(probe.reason, "faults"))
		probe.usable = 1;
	if (!ctr || !probe.usable) {
		fprintf(stderr, "chronond: no usable CPU counter: %s\n",
			ctr ? probe.reason : "this CPU has none chronon knows");
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
	struct chronon__shm *s = create_page(o.page, tmp, sizeof tmp);
	if (!s)
		return 1;
	static struct chronon__tk tk;
	if (fill_identity(s, ctr) != 0)
		goto fail;
	chronon__tk_setup(&tk, &s->page, &chronon__kclock_real, ctr);
	if (calibrate(&tk) != 0)
		goto fail;
	s->counter_hz = (uint64_t)(1e9 / tk.mono.rate + 0.5);
	update(s, &tk, o.interval_ns);
	if (rename(tmp, o.page) != 0) {
		fprintf(stderr, "chronond: cannot rename %s to %s: %s\n", tmp, o.page, strerror(errno));
		goto fail;
	}
	if (o.foreground)
		fprintf(stderr, "chronond: publishing %s (pid %d, %s at %.6f MHz, interval %.3f s)\n",
			o.page, (int)getpid(), ctr->name, (double)s->counter_hz * 1e-6,
			(double)o.interval_ns * 1e-9);
	detached_ready(ready);
	return serve(s, &tk, o.interval_ns, sfd, tfd);
fail:
	unlink(tmp);
	return 1;
}
