/* A time page full of garbage, one corrupted field at a time, or left
 * mid-update (sequence count odd): the readers a mapped page meets
 * (chronon__page_read_shared, chronon__page_read_fast) return, never
 * crash, never hang, and never call through a pointer from the page. */
#include <stdlib.h>
#include <string.h>

#include "sim.h"

static void read_all(const struct chronon__page *pg, int *ok)
{
	for (int ck = -1; ck <= CHRONON__CK_COUNT; ck++) {
		int64_t ns;
		if (ck >= 0 && ck < CHRONON__CK_COUNT &&
		    chronon__page_read_fast(pg, (enum chronon__ck)ck, &ns) == CHRONON__READ_OK)
			(*ok)++;
		struct timespec ts;
		if (ck >= 0 && ck < CHRONON__CK_COUNT &&
		    chronon__page_read_fast_ts(pg, (enum chronon__ck)ck, &ts) == CHRONON__READ_OK) {
			(*ok)++;
			CHECK(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000, "tv_nsec %ld", ts.tv_nsec);
		}
		if (chronon__page_read_shared(pg, (enum chronon__ck)ck, &ns) == CHRONON__READ_OK)
			(*ok)++;
	}
}

/* A valid page built by a simulated timekeeper, then moved to the arch
 * counter's id, as chronond would publish it. */
static void valid_page(struct chronon__page *pg)
{
	static struct sim_tk s;
	sim_reset();
	sim_tk_setup(&s);
	sim_run(&s, 1e9, 1e6, 0);
	memcpy(pg, &s.page, sizeof *pg);
	uint64_t ctl = atomic_load(&pg->ctl);
	atomic_store(&pg->ctl, chronon__ctl(CHRONON__CTL_MODE(ctl), CHRONON__CTR_ARCH, 0,
					    CHRONON__CTL_SHIFT(ctl)));
	atomic_store(&pg->fn_counter, (const struct chronon__counter *)(uintptr_t)0xdeadbeef);
}

int main(void)
{
	static struct chronon__page pg, good;
	int ok = 0;
	valid_page(&good);
	unsigned char *raw = (unsigned char *)&pg;
	srand(4242);
	/* every byte, a few values each */
	static const unsigned char values[] = {0x00, 0xff, 0x01, 0x80, 0x7f, 0x3f};
	for (size_t i = 0; i < sizeof pg; i++)
		for (size_t v = 0; v < sizeof values; v++) {
			memcpy(&pg, &good, sizeof pg);
			raw[i] = values[v];
			read_all(&pg, &ok);
		}
	/* random garbage */
	for (int r = 0; r < 20000; r++) {
		for (size_t i = 0; i < sizeof pg; i++)
			raw[i] = (unsigned char)rand();
		if (r & 1)
			atomic_store(&pg.seq, atomic_load(&pg.seq) & ~1u);
		if (r & 2)
			atomic_store(&pg.ctl, (atomic_load(&pg.ctl) & ~0xffffull) | 0x0101);
		read_all(&pg, &ok);
	}
	/* stuck mid-update: readers give up, they do not spin forever */
	memcpy(&pg, &good, sizeof pg);
	atomic_store(&pg.seq, 7);
	int64_t ns;
	CHECK(chronon__page_read_shared(&pg, CHRONON__CK_MONO, &ns) == CHRONON__READ_SLOW,
	      "odd seq read as ok");
	CHECK(chronon__page_read_fast(&pg, CHRONON__CK_MONO, &ns) == CHRONON__READ_SLOW,
	      "odd seq read as ok (fast)");
	/* a function-pointer counter in a page from elsewhere is refused */
	memcpy(&pg, &good, sizeof pg);
	uint64_t ctl = atomic_load(&pg.ctl);
	atomic_store(&pg.ctl, chronon__ctl(CHRONON__CTL_MODE(ctl), CHRONON__CTR_FN, 0,
					   CHRONON__CTL_SHIFT(ctl)));
	CHECK(chronon__page_read_shared(&pg, CHRONON__CK_MONO, &ns) == CHRONON__READ_SLOW,
	      "fn counter accepted from a shared page");
	printf("corrupted pages: %d reads answered, none crashed or hung\n", ok);
	return test_exit();
}
