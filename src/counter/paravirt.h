/*
 * The paravirtual clock pages an x86 guest's kernel maps read-only into
 * every process for its vDSO: KVM's pvclock page and Hyper-V's TSC
 * reference page.  Unlike the kernel's own vDSO data, whose layout changes
 * between releases and is never parsed here, these are host-guest ABIs
 * that do not change:
 *
 *   KVM, struct pvclock_vcpu_time_info (the kernel's
 *   Documentation/virt/kvm/x86/msr.rst), 32 bytes:
 *     u32 version       odd while the host updates the page
 *     u32 pad
 *     u64 tsc_timestamp
 *     u64 system_time   ns at tsc_timestamp
 *     u32 tsc_to_system_mul
 *     s8  tsc_shift
 *     u8  flags         bit 0 TSC_STABLE (all vCPUs agree), bit 1 GUEST_STOPPED
 *   ns = system_time + ((tsc - tsc_timestamp) << tsc_shift) * mul >> 32
 *   (a negative shift shifts right).
 *
 *   Hyper-V's TSC reference page (Microsoft's TLFS):
 *     u32 tsc_sequence  0 (or ~0) when the page must not be used
 *     u32 reserved
 *     u64 tsc_scale     100 ns units per tick, in 64.64 fixed point
 *     s64 tsc_offset    100 ns units
 *   t = ((tsc * scale) >> 64) + offset.
 *
 * The parsers work on any memory holding such a page, so the tests hand
 * them simulated ones.
 */
#ifndef CHRONON_COUNTER_PARAVIRT_H
#define CHRONON_COUNTER_PARAVIRT_H

#include <stddef.h>
#include <stdint.h>

#include "counter.h"

/* 0 and *out filled from a whole, even-versioned snapshot; -1 when the
 * page is not a plausible pvclock page or stays mid-update. */
int chronon__pvclock_parse(const void *page, struct chronon__pv *out);
/* The same for a Hyper-V TSC page: -1 also for the sequence values that
 * tell the guest not to use it. */
int chronon__hvclock_parse(const void *page, struct chronon__pv *out);

/* Where this process's pages are (found once, from /proc/self/maps, and
 * touched first through a system call, so that a page the kernel never
 * populated answers EFAULT instead of SIGBUS); NULL where there is none. */
const void *chronon__pvclock_page(void);
const void *chronon__hvclock_page(void);

/* Whether len (at most 64) bytes at addr can be read without a fault:
 * the kernel copies them into a pipe, and a page that would raise SIGBUS
 * in user space answers EFAULT there instead.  1 readable, 0 not, -1
 * when no pipe could be made to tell. */
int chronon__readable(const void *addr, size_t len);

/* The kernel's areas that may hold the pages, as /proc/self/maps lists
 * them (exposed for the tests, which feed the scanner made-up maps). */
struct chronon__vclock_area {
	uintptr_t start, end;
};
struct chronon__vclock_areas {
	struct chronon__vclock_area vvar, vclock;
};
/* Scans len bytes of maps text (modified in place) into out, which the
 * caller zeroes; only whole lines count. */
void chronon__maps_scan(char *buf, size_t len, struct chronon__vclock_areas *out);
/* The pvclock and Hyper-V page addresses the areas imply, 0 for none. */
void chronon__vclock_pages(const struct chronon__vclock_areas *a, uintptr_t *pv, uintptr_t *hv);

#endif
