/*
 * The shared time page: the file chronond publishes and every process maps
 * read-only, the user-space counterpart of the kernel's vvar page.
 *
 * The file is a sealed memory file (memfd, CHRONON__SHM_SEALS: it can be
 * neither shrunk, grown nor written but through chronond's own mapping),
 * handed to readers over a Unix socket at the page's path.  It is exactly
 * sizeof(struct chronon__shm) bytes: a header that
 * says whose page it is and whether it may be trusted, then the very
 * struct chronon__page the in-process timekeeper keeps, read with the very
 * same chronon__page_read().  Readers never write to it (they map it
 * PROT_READ); the one writer is the chronond that holds the lock file.
 *
 *   identity     magic, abi, size, page_offset, page_size: a reader built
 *                from other sources refuses a page it does not understand
 *                (page_size changes whenever struct chronon__page grows)
 *   origin       writer_pid, boot_id (/proc/sys/kernel/random/boot_id),
 *                the time namespace (inode and device of /proc/self/ns/time
 *                and the MONOTONIC/BOOTTIME offsets of
 *                /proc/self/timens_offsets): a page is only right for
 *                processes that see the same kernel clocks
 *   counter      counter id (only CHRONON__CTR_ARCH: a function pointer
 *                means nothing in another address space, so fn_counter is
 *                always NULL), its name, measured frequency and what
 *                vouches for it (counter_source)
 *   liveness     updated_ns (kernel MONOTONIC of the last update) and
 *                trust_ns (how long after it the page may be used), and
 *                retired (chronond stopped on purpose).  The page's own
 *                valid_cycles bounds the fast path the same way: a reader
 *                beyond it leaves for the slow path.
 *
 * Everything up to `updated_ns` is written once, before the socket is
 * renamed into place, and never changes; the liveness fields change with every
 * update, inside the page's sequence count (retired also outside it).
 */
#ifndef CHRONON_SHM_PAGE_H
#define CHRONON_SHM_PAGE_H

#include <stdatomic.h>
#include <stdint.h>

#include "page.h"
#include "ns.h"

#include <fcntl.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010 /* Linux 5.1; older C library headers lack it */
#endif
/* The seals a page must carry: a reader maps only a page nobody can
 * truncate under it (SIGBUS) or write but its chronond. */
#define CHRONON__SHM_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)

#define CHRONON__SHM_MAGIC 0x31474150434e5243ULL /* "CRNCPAG1" little-endian */
#define CHRONON__SHM_ABI 1

/* A page whose pad (how far it may run ahead of the kernel) exceeds this is
 * refused, and a pad word beyond it is read as this (shared_page.c). */
#define CHRONON__SHM_PAD_MAX_NS 1000000LL
/* When a page is mapped, every clock it serves must agree with the
 * kernel's to within this, or it is refused. */
#define CHRONON__SHM_CHECK_NS 100000LL
/* Longest trust_ns a reader accepts. */
#define CHRONON__SHM_TRUST_MAX_NS (10 * CHRONON__NS)

struct chronon__shm {
	uint64_t magic;
	uint32_t abi;
	uint32_t size;          /* sizeof(struct chronon__shm): the file's exact size */
	uint32_t page_offset;   /* offsetof(struct chronon__shm, page) */
	uint32_t page_size;     /* sizeof(struct chronon__page) */
	int32_t writer_pid;
	uint32_t counter;       /* enum chronon__counter_id: always CHRONON__CTR_ARCH */
	char counter_name[16];  /* CHRONON_ARCH_COUNTER_NAME */
	uint64_t counter_hz;    /* measured frequency */
	char boot_id[40];       /* the 36 characters of the kernel's boot id, NUL-padded */
	uint64_t timens_ino;    /* /proc/self/ns/time; 0 when the kernel has none */
	uint64_t timens_dev;
	int64_t timens_mono_ns; /* /proc/self/timens_offsets; 0 when absent */
	int64_t timens_boot_ns;
	/* Liveness. */
	_Atomic int64_t updated_ns;
	_Atomic int64_t trust_ns;
	_Atomic uint32_t retired;
	uint32_t reserved0;
	/* The writer's timekeeper, for chronon_status (informational). */
	_Atomic int64_t resync_error_ns;
	_Atomic int64_t resync_width_ns;
	_Atomic int64_t resync_ns;      /* kernel MONOTONIC of the last resync */
	_Atomic uint64_t resyncs, steps, realtime_steps, suspends;
	/* What vouches for the counter and scales it: "pvclock" or
	 * "hvclock" (a paravirtual page, whose guard every reader checks in
	 * its own mapping of that page), or "clocksource" (the kernel lists
	 * it).  A reader refuses a page whose source it cannot use itself. */
	char counter_source[16];
	/* The writer's rates, ns per counter tick as IEEE doubles, unslewed
	 * (0 until the page serves), and their relative uncertainty: a reader
	 * that leaves the page resumes its own timekeeper from them
	 * (chronon__tk_seed), not from the rates it had when it joined. */
	_Atomic uint64_t mono_rate_bits, raw_rate_bits, rate_unc_bits;
	/* Its own cache lines: readers touch nothing else on the fast path. */
	_Alignas(64) struct chronon__page page;
};

/* A rate as stored in mono_rate_bits / raw_rate_bits, and back. */
static inline uint64_t chronon__shm_rate_bits(double rate)
{
	uint64_t b;
	__builtin_memcpy(&b, &rate, sizeof b);
	return b;
}
static inline double chronon__shm_rate(const _Atomic uint64_t *bits)
{
	uint64_t b = atomic_load_explicit(bits, memory_order_relaxed);
	double r;
	__builtin_memcpy(&r, &b, sizeof r);
	return r;
}

/* The kernel's boot id as text, NUL-terminated in out[40]; 0 or -1. */
int chronon__shm_boot_id(char out[40]);

/* This process's time namespace identity (ino 0 when the kernel has no
 * time namespaces); 0, or -1 when /proc cannot tell. */
int chronon__shm_timens(uint64_t *ino, uint64_t *dev);
/* The offsets of /proc/self/timens_offsets; -1 when the file is absent. */
int chronon__shm_timens_offsets(int64_t *mono_ns, int64_t *boot_ns);

/* The default page path for this user: $XDG_RUNTIME_DIR/chronon/page for
 * a user with a runtime directory, /run/chronon/page otherwise (and always
 * for root).  0, or -1 when it does not fit. */
int chronon__shm_default_path(char *out, unsigned len);

#endif
