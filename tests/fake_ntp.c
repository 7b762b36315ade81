#include <string.h>
#include <sys/timex.h>

#include "chronon.h"
#include "clock.h"
#include "fake_ntp.h"
#include "kclock.h"

static int synced_ntp(void *ctx, struct chronon__ntp *out)
{
	memset(out, 0, sizeof *out);
	out->mono_ns = chronon__kclock_real.now(ctx, CLOCK_MONOTONIC);
	out->state = TIME_OK;
	out->status = STA_PLL;
	out->maxerror_us = 1000;
	out->esterror_us = 100;
	out->tai = 37;
	return 0;
}

int test_fake_synchronised(void)
{
	static struct chronon__kclock fake;
	fake = chronon__kclock_real;
	fake.ntp = synced_ntp;
	chronon__proc_tk.kc = &fake;
	struct chronon_bound b;
	int64_t end = chronon__kclock_real.now(NULL, CLOCK_MONOTONIC) + 3000000000LL;
	do
		chronon_now_bounded(CLOCK_REALTIME, &b);
	while (b.status != CHRONON_BOUND_SYNCHRONISED &&
	       chronon__kclock_real.now(NULL, CLOCK_MONOTONIC) < end);
	return b.status == CHRONON_BOUND_SYNCHRONISED;
}
