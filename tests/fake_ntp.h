/* A synchronised NTP source for this process's own timekeeper, so that
 * bounded time's finite-interval path runs on a machine with no NTP
 * daemon.  Only this process's page is affected: the machine's clock and
 * NTP state are never touched (adjtimex is not called at all). */
#ifndef CHRONON_TEST_FAKE_NTP_H
#define CHRONON_TEST_FAKE_NTP_H

/* Installs the source (maxerror 1 ms, esterror 100 us, TAI offset 37 s)
 * and reads the bounded clock until the next resync has picked it up, for
 * at most 3 s.  1 when the clock then says synchronised, else 0. */
int test_fake_synchronised(void);

#endif
