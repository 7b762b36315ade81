/* See force_counter.c: undoes the suite's forcing of the counter, for
 * tests of the default choice. */
#ifndef CHRONON_TEST_FORCE_COUNTER_H
#define CHRONON_TEST_FORCE_COUNTER_H
void test_unforce(void);
#endif
