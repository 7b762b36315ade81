/*
 * kt_reader NAME THREADS [--bound]: the real-kernel rig's reader.  Each
 * thread reads every served clock between two reads of the kernel's, over
 * and over, and keeps per event (phase of the driver) how far chronon lay
 * outside the kernel's bracket, how often it went back while the kernel
 * did not, and when it last was out of bound (kt_shared.h).  --bound adds
 * a thread checking that chronon_now_bounded's interval holds the kernel's
 * REALTIME and says unsynchronised when the kernel does.
 *
 * Built twice: linked with chronon (chronon_gettime against the kernel's
 * vDSO), and as KT_PLAIN, an ordinary program that only calls libc's
 * clock_gettime (answered by chronon when run under libchronon-preload.so)
 * against the clock_gettime system call.
 *
 * It only reads clocks: it is safe anywhere, but meant for the guest.
 */
#include "kt_shared.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/timex.h>
#include <unistd.h>
#ifndef KT_PLAIN
#include <chronon.h>
#endif

static struct kt_state *state;
static int64_t read_ns = 2000000, sleep_ns = 1000000;

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

#ifdef KT_PLAIN
/* The kernel by system call: libc's clock_gettime is the one under test. */
static int64_t kern(clockid_t c)
{
	struct timespec ts;
	syscall(SYS_clock_gettime, c, &ts);
	return ts_ns(&ts);
}
static int64_t chron(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts_ns(&ts);
}
#else
static int64_t kern(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts_ns(&ts);
}
static int64_t chron(clockid_t c)
{
	struct timespec ts;
	chronon_gettime(c, &ts);
	return ts_ns(&ts);
}
#endif

/* A reading v against the kernel's bracket [k1, k2]: how far below (-)
 * or above (+) it lies, 0 inside. */
static int64_t off_bracket(int64_t k1, int64_t v, int64_t k2)
{
	return v < k1 ? v - k1 : v > k2 ? v - k2 : 0;
}

struct reader {
	struct kt_slot *slot;
	int bound;
	uint32_t phase;
	struct kt_stat loc[KT_KINDS];
	int64_t prev_v[KT_CLOCKS], prev_k2[KT_CLOCKS], kstep_ns[KT_CLOCKS], last_ok_ns[KT_CLOCKS];
	int have_prev[KT_CLOCKS];
	int64_t off_lo[KT_CLOCKS]; /* the clock's offset from MONOTONIC was at least this */
	int64_t off_hi[KT_CLOCKS]; /* and at most this */
	int64_t prev_err[KT_CLOCKS]; /* signed: below (-) or above (+) its bracket */
	int have_off[KT_CLOCKS];
	int64_t mono;
	int kunsync;            /* the kernel's NTP state as last seen, -1 before */
	int64_t kchange_ns;     /* when it last changed */
	uint64_t rate_sig;      /* the kernel's rate settings as last seen (adjtimex) */
	int64_t rate_ns;        /* MONOTONIC when they last changed, 0 never */
	int64_t poll_ns;        /* MONOTONIC when they were last polled */
	int set_fd;             /* a timerfd the kernel cancels when its clock is set */
	int64_t kset_ns;        /* MONOTONIC when a set was last seen, 0 never */
	int late_told;          /* KT-LATE lines told in this phase */
};

static void flush(struct reader *r)
{
	for (int k = 0; k < KT_KINDS; k++)
		kt_stat_merge(&r->slot->st[r->phase][k], &r->loc[k]);
	memset(r->loc, 0, sizeof r->loc);
	r->late_told = 0;
}

/* A reading out of bound after the settle time, told on the console (the
 * first few of each phase and thread) with what chronon said of itself
 * then: the phase's figures say how late, not why. */
static void tell_late(struct reader *r, int i, int64_t err, int64_t age)
{
	if (r->late_told++ >= 3)
		return;
	char own[160] = "";
#ifndef KT_PLAIN
	struct chronon_status st;
	if (chronon_status(&st) == 0)
		snprintf(own, sizeof own, "; chronon: %s, last resync %.1f ms ago %+lld ns (within %lld), %llu resyncs %llu steps, %.6f MHz",
			 st.mode_name, (double)st.resync_age_ns / 1e6, (long long)st.resync_error_ns,
			 (long long)st.resync_width_ns, (unsigned long long)st.resyncs,
			 (unsigned long long)st.steps, (double)st.frequency_hz / 1e6);
#endif
	int64_t started = atomic_load(&state->chronond_start_ns);
	/* Read again at once: a lasting error and a one-reading glitch look
	 * alike in one reading (a reader held at a floor ahead of the kernel
	 * showed as both). */
	clockid_t c = kt_clock_id[i];
	int64_t k1 = kern(c), v = chron(c), k2 = kern(c);
	int64_t again = off_bracket(k1, v, k2);
	fprintf(stderr, "KT-LATE %s %s %+.3f us at %.1f ms into \"%s\", %.1f ms after the last event or rate change, chronond started %.1f ms before, read again %+.3f us%s\n",
		r->slot->name, kt_kind_name[i], (double)err / 1e3,
		(double)(r->mono - state->phase_start_ns[r->phase]) / 1e6, state->phase_name[r->phase],
		(double)age / 1e6, started ? (double)(r->mono - started) / 1e6 : -1.0, (double)again / 1e3, own);
}

static int rate_changed(struct reader *r);

/* The later of the phase's event, the last change of the kernel's rate
 * and, for the clocks a set moves, the last set. */
static int64_t late_since(const struct reader *r, int i)
{
	int64_t since = state->phase_start_ns[r->phase];
	if (r->rate_ns > since)
		since = r->rate_ns;
	int set_moves = kt_clock_id[i] == CLOCK_REALTIME || kt_clock_id[i] == CLOCK_TAI;
	if (set_moves && r->kset_ns > since)
		since = r->kset_ns;
	return since;
}

static void out_of_bound(struct reader *r, int i, struct kt_stat *s, int64_t err, int64_t serr)
{
	if (err > s->err_max_ns)
		s->err_max_ns = err;
	if (err > state->bound_ns) {
		s->over++;
		s->last_over_ns = r->mono;
		int64_t since = late_since(r, i);
		/* The rate is polled once a reading round: a change since (the
		 * kernel's PLL moves it at each second's turn) is dated to the
		 * poll before it, the earliest it can have come.  Asked only of
		 * a late reading: it costs system calls. */
		if (r->mono - since > state->settle_ns) {
			if (rate_changed(r)) {
				r->rate_ns = r->poll_ns;
				since = late_since(r, i);
			}
			r->poll_ns = r->mono;
		}
		if (r->mono - since > s->over_age_ns)
			s->over_age_ns = r->mono - since;
		if (r->mono - since > state->settle_ns)
			tell_late(r, i, serr, r->mono - since);
	}
}

/*
 * The kernel's rate settings, read-only: tick, frequency, the PLL's
 * offset (which the kernel works off second by second, changing its rate
 * each time), the discipline's mode bits, whether an adjtime slew is
 * running, and the clocksource (another oscillator, calibrated apart, is
 * another rate against the counter).  A change of any is a change of the
 * kernel's rate.  Polled at each reading round, and again by a reading
 * that would be late (out_of_bound).
 */
static uint64_t clocksource_hash(void)
{
	char name[64] = "";
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		      O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, name, sizeof name - 1);
		name[n > 0 ? n : 0] = 0;
		close(fd);
	}
	uint64_t h = 1469598103934665603ULL;
	for (const char *c = name; *c; c++)
		h = (h ^ (uint64_t)(unsigned char)*c) * 1099511628211ULL;
	return h;
}

static uint64_t rate_signature(void)
{
	struct timex tx, ss;
	memset(&tx, 0, sizeof tx);
	memset(&ss, 0, sizeof ss);
	ss.modes = ADJ_OFFSET_SS_READ; /* reads what adjtime has left to slew */
	if (adjtimex(&tx) < 0)
		return 0;
	int slewing = adjtimex(&ss) >= 0 && ss.offset != 0;
	uint64_t h = 1469598103934665603ULL;
	const int64_t parts[] = {tx.tick, tx.freq, tx.offset,
				 tx.status & (STA_PLL | STA_FLL | STA_FREQHOLD | STA_MODE), slewing,
				 (int64_t)clocksource_hash()};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		h = (h ^ (uint64_t)parts[i]) * 1099511628211ULL;
	return h;
}

static int clock_was_set(struct reader *r);

/* Did the kernel's rate settings change since the last poll?  Counted
 * once per change, on MONOTONIC's figures. */
static int rate_changed(struct reader *r)
{
	uint64_t sig = rate_signature();
	int changed = r->rate_sig && sig != r->rate_sig;
	r->rate_sig = sig;
	r->loc[1].rate_changes += changed;
	return changed;
}

static void watch_rate(struct reader *r)
{
	if (clock_was_set(r))
		r->kset_ns = r->mono;
	if (rate_changed(r))
		r->rate_ns = r->mono;
	r->poll_ns = r->mono;
}

/* A clock the kernel can step (REALTIME, TAI): did its offset from
 * MONOTONIC go down since the last bracket?  Comparing a bracket with the
 * previous one misses a step back smaller than the time between them (a
 * 250 us step while the reader naps 1 ms), and chronon taking that step
 * up a few ms later would then be judged a step back of its own.  MONO1
 * was read before K1 and MONO2 after K2, so the offset lies in
 * [K2 - MONO2, K1 - MONO1].  The offset moves only when the clock is set
 * (a slew moves both clocks alike), so the bounds of every reading since
 * the last set hold together: the tightest are kept, and one reading
 * preempted inside its bracket (a wide interval) cannot hide a step. */
static int offset_fell(struct reader *r, int i, int64_t mono1, int64_t k1, int64_t k2, int64_t mono2)
{
	int64_t hi = k1 - mono1, lo = k2 - mono2;
	int fell = r->have_off[i] && hi + 1 < r->off_lo[i]; /* 1 ns: each read rounds */
	/* Up by more than a slew can move it in a round: set forward (a
	 * leap second deleted: the guest's CANCEL_ON_SET timers were not
	 * seen to report leap seconds), an event the clock must follow. */
	int rose = r->have_off[i] && lo > r->off_hi[i] + 1000000;
	if (rose)
		r->kset_ns = r->mono;
	if (!r->have_off[i] || fell || lo > r->off_hi[i] + 1) {
		r->off_lo[i] = lo; /* a new offset: its own bounds */
		r->off_hi[i] = hi;
	} else {
		if (lo > r->off_lo[i])
			r->off_lo[i] = lo;
		if (hi < r->off_hi[i])
			r->off_hi[i] = hi;
	}
	r->have_off[i] = 1;
	return fell;
}

/* A step back, told on the console as it happens: which side of the
 * kernel's bracket each of the two readings lay (ahead of the kernel
 * before, or behind it after), which the phase's figures cannot say. */
static void tell_back(const struct reader *r, int i, int64_t v, int64_t err)
{
	fprintf(stderr, "KT-BACK %s %s back %.3f us at MONOTONIC %.6f s: before %+.3f us from the kernel's bracket, after %+.3f us\n",
		r->slot->name, kt_kind_name[i], (double)(r->prev_v[i] - v) / 1e3, (double)r->mono / 1e9,
		(double)r->prev_err[i] / 1e3, (double)err / 1e3);
}

static void read_clock(struct reader *r, int i)
{
	clockid_t c = kt_clock_id[i];
	int64_t mono1 = r->mono;
	int64_t k1 = kern(c), v = chron(c), k2 = kern(c);
	struct kt_stat *s = &r->loc[i];

	if (c == CLOCK_MONOTONIC)
		r->mono = k2;
	if ((c == CLOCK_REALTIME || c == CLOCK_TAI) && mono1 != 0 &&
	    offset_fell(r, i, mono1, k1, k2, kern(CLOCK_MONOTONIC)))
		r->kstep_ns[i] = r->kset_ns = r->mono; /* set back: an event too */
	if (k2 < k1) {
		/* The kernel stepped back inside the bracket: it brackets nothing. */
		r->kstep_ns[i] = r->mono;
		r->have_prev[i] = 0;
		return;
	}
	s->samples++;
	int64_t serr = off_bracket(k1, v, k2), err = serr < 0 ? -serr : serr;
	out_of_bound(r, i, s, err, serr);
	int64_t last_ok = r->last_ok_ns[i];
	if (err <= state->bound_ns)
		r->last_ok_ns[i] = r->mono;
	if (r->have_prev[i]) {
		/* The kernel's own clock went back between the two brackets: a
		 * REALTIME step (or TAI with it).  chronon may follow it later:
		 * its step back is excused within 1 s of the kernel's, or when
		 * it had not agreed with the kernel since (a step followed late
		 * shows as the error and how long it lasted, not twice). */
		if (k1 < r->prev_k2[i])
			r->kstep_ns[i] = r->mono;
		if (v < r->prev_v[i]) {
			int stepped = r->kstep_ns[i] != 0 &&
				      (r->mono - r->kstep_ns[i] < 1000000000 || r->kstep_ns[i] >= last_ok);
			if (stepped) {
				s->excused++;
			} else {
				s->back++;
				if (r->prev_v[i] - v > s->back_max_ns)
					s->back_max_ns = r->prev_v[i] - v;
				if (s->back <= 2)
					tell_back(r, i, v, serr);
			}
		}
	}
	r->have_prev[i] = 1;
	r->prev_err[i] = serr;
	r->prev_v[i] = v;
	r->prev_k2[i] = k2;
}

/*
 * Setting the kernel's clock (settimeofday, clock_settime, ADJ_SETOFFSET,
 * a leap second) is an event chronon must follow: it sees it at its next
 * check, and until then REALTIME and TAI, and bounded time's interval,
 * are the ones from before.  The kernel says when it happens: a
 * CANCEL_ON_SET timer's read fails with ECANCELED.  Returns 1 when the
 * clock was set since the last call, re-arming the timer.
 */
static int arm_set_timer(int fd)
{
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)1 << 40}};
	return timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

static int clock_was_set(struct reader *r)
{
	uint64_t n;
	if (r->set_fd < 0 || read(r->set_fd, &n, sizeof n) >= 0 || errno != ECANCELED)
		return 0;
	arm_set_timer(r->set_fd);
	return 1;
}

#ifndef KT_PLAIN
/* A miss of bounded time, told on the console (the first few): how long
 * after the last set of the clock the reader saw, which the phase's
 * figures cannot say. */
static void tell_miss(const struct reader *r, int64_t err, const struct chronon_bound *b,
		      const struct timex *tx)
{
	static _Atomic int told;
	if (atomic_fetch_add(&told, 1) >= 4)
		return;
	char since[48] = "no set of the clock seen";
	if (r->kset_ns)
		snprintf(since, sizeof since, "%.1f ms after a set of the clock",
			 (double)(r->mono - r->kset_ns) / 1e6);
	struct chronon_status st;
	char own[200] = "";
	if (chronon_status(&st) == 0)
		snprintf(own, sizeof own, "; chronon: %s, REALTIME %+.3f s from the kernel's, last resync %.1f ms ago, "
			 "%llu realtime steps, bound's kernel maxerror %lld us",
			 st.mode_name, (double)(chron(CLOCK_REALTIME) - kern(CLOCK_REALTIME)) / 1e9,
			 (double)st.resync_age_ns / 1e6, (unsigned long long)st.realtime_steps,
			 (long long)(b->kernel_maxerror_ns / 1000));
	fprintf(stderr, "KT-BOUNDMISS %s missed by %.1f us at MONOTONIC %.6f s, %s; interval %.3f us wide, "
		"kernel maxerror %ld us status 0x%x%s\n",
		r->slot->name, (double)err / 1e3, (double)r->mono / 1e9, since,
		(double)(b->latest_ns - b->earliest_ns) / 1e3, (long)tx->maxerror, (unsigned)tx->status, own);
}

static void read_bound(struct reader *r)
{
	struct chronon_bound b;
	struct timex tx;
	memset(&tx, 0, sizeof tx);
	int64_t m0 = kern(CLOCK_MONOTONIC);
	int64_t k1 = kern(CLOCK_REALTIME);
	int rc = chronon_now_bounded(CLOCK_REALTIME, &b);
	int64_t k2 = kern(CLOCK_REALTIME);
	int kst = adjtimex(&tx); /* modes 0: read-only */
	int kunsync = kst == TIME_ERROR || tx.maxerror >= 16000000;
	struct kt_stat *s = &r->loc[KT_BOUND];

	r->mono = kern(CLOCK_MONOTONIC);
	/* The kernel's REALTIME moves before its CANCEL_ON_SET timers are
	 * told (after an IPI to every CPU, or from a work queue for a leap
	 * second: milliseconds under TCG), so a set is also seen from the
	 * clock's offset to MONOTONIC jumping, at the reading that shows it. */
	if (clock_was_set(r) || offset_fell(r, 0, m0, k1, k2, r->mono))
		r->kset_ns = r->mono;
	if (k2 < k1)
		return; /* the kernel was set inside the bracket: it brackets nothing */
	s->samples++;
	if (kunsync != r->kunsync) {
		r->kunsync = kunsync;
		r->kchange_ns = r->mono;
	}
	if (rc != 0)
		return;
	if (b.status == CHRONON_BOUND_SYNCHRONISED) {
		int64_t err = b.earliest_ns > k2 ? b.earliest_ns - k2
			      : b.latest_ns < k1 ? k1 - b.latest_ns : 0;
		if (err > 0 && r->kset_ns && r->mono - r->kset_ns <= state->settle_ns) {
			s->excused++;
		} else {
			if (err > s->err_max_ns)
				s->err_max_ns = err;
			if (err > 0) {
				s->over++;
				s->last_over_ns = r->mono;
				tell_miss(r, err, &b, &tx);
			}
		}
	}
	if ((b.status == CHRONON_BOUND_SYNCHRONISED) == kunsync) {
		/* A set of the clock is a change of the kernel's state too: it
		 * marks the clock unsynchronised (the driver synchronises it
		 * again a moment later, often before this reader looks), and
		 * chronon may read the state in between. */
		int64_t since = r->kset_ns > r->kchange_ns ? r->kset_ns : r->kchange_ns;
		s->status_wrong++;
		if (r->mono - since > s->status_lag_ns)
			s->status_lag_ns = r->mono - since;
	}
}
#endif

static void *run(void *arg)
{
	static const int order[KT_CLOCKS] = {1, 0, 2, 3, 4}; /* MONOTONIC first: the time of the rest */
	struct reader *r = arg;
	r->phase = atomic_load_explicit(&state->phase, memory_order_acquire);
	for (;;) {
		uint32_t p = atomic_load_explicit(&state->phase, memory_order_acquire);
		int stop = atomic_load_explicit(&state->stop, memory_order_acquire);
		if (p != r->phase || stop) {
			flush(r);
			atomic_store_explicit(&r->slot->ack, p, memory_order_release);
			r->phase = p < KT_MAX_PHASES ? p : KT_MAX_PHASES - 1;
			if (stop)
				return NULL;
		}
		int64_t until = kern(CLOCK_MONOTONIC) + read_ns;
		if (!r->bound)
			watch_rate(r);
		do {
#ifndef KT_PLAIN
			if (r->bound) {
				read_bound(r);
				continue;
			}
#endif
			for (int j = 0; j < KT_CLOCKS; j++)
				read_clock(r, order[j]);
			/* A new phase is taken up at once: the driver waits for it
			 * before its event, so no reading after the event is
			 * counted in the phase before. */
		} while (r->mono < until && r->mono != 0 &&
			 atomic_load_explicit(&state->phase, memory_order_relaxed) == r->phase);
		struct timespec nap = {0, (long)sleep_ns};
		nanosleep(&nap, NULL);
	}
}

static struct kt_slot *take_slot(const char *name)
{
	for (int i = 0; i < KT_MAX_SLOTS; i++) {
		uint32_t zero = 0;
		if (atomic_compare_exchange_strong(&state->slot[i].used, &zero, 1)) {
			struct kt_slot *s = &state->slot[i];
			snprintf(s->name, sizeof s->name, "%s", name);
			s->pid = (int32_t)getpid();
			atomic_store(&s->ack, atomic_load(&state->phase));
			return s;
		}
	}
	fprintf(stderr, "kt_reader: no free slot\n");
	exit(2);
}

static int64_t env_ns(const char *name, int64_t dflt)
{
	const char *e = getenv(name);
	return e && *e ? strtoll(e, NULL, 10) * 1000 : dflt;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: kt_reader NAME THREADS [--bound]\n");
		return 2;
	}
	int fd = open(KT_STATE_PATH, O_RDWR);
	if (fd < 0) {
		perror("kt_reader: " KT_STATE_PATH);
		return 2;
	}
	state = mmap(NULL, sizeof *state, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (state == MAP_FAILED || state->magic != KT_MAGIC) {
		fprintf(stderr, "kt_reader: no driver state\n");
		return 2;
	}
	read_ns = env_ns("KT_READ_US", read_ns);
	sleep_ns = env_ns("KT_SLEEP_US", sleep_ns);
	int n = atoi(argv[2]), bound = argc > 3 && strcmp(argv[3], "--bound") == 0;
#ifdef KT_PLAIN
	bound = 0;
#endif
	if (n < 1 || n + bound > 8)
		n = 1;
	pthread_t t[9];
	struct reader *r = calloc((size_t)(n + bound), sizeof *r);
	if (!r)
		return 2;
	for (int i = 0; i < n + bound; i++) {
		char name[24];
		snprintf(name, sizeof name, "%s%s", argv[1], i >= n ? "-bound" : "");
		r[i].slot = take_slot(name);
		r[i].bound = i >= n;
		r[i].kunsync = -1;
		r[i].set_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
		if (r[i].set_fd < 0 || arm_set_timer(r[i].set_fd) != 0) {
			perror("kt_reader: timerfd");
			return 2;
		}
		if (pthread_create(&t[i], NULL, run, &r[i]) != 0) {
			fprintf(stderr, "kt_reader: pthread_create failed\n");
			return 2;
		}
	}
	for (int i = 0; i < n + bound; i++)
		pthread_join(t[i], NULL);
	return 0;
}
