/*
 * Deliberately planted bugs, to show that the crash checkers catch one.
 * Compiled in only with -DPMO_PLANT_BUGS=ON (scripts/test.sh's
 * build-planted/), and then each is off unless the environment variable
 * PMO_PLANTED_BUG names it:
 *   skip_len_snapshot    a list append does not save the list's length;
 *   skip_atomic_persist  a log-free single store is not flushed;
 *   skip_range_save      a large writable range is not saved in the range
 *                        log (rangelog.h) before it is written in place;
 *   publish_before_persist  an append published without a transaction
 *                        (pmo_tx_publish, one word) persists its bytes
 *                        after the word that makes them reachable, not
 *                        before;
 *   wordlog_unfenced     the word log (wordlog.h) stores its words with no
 *                        fence after its record, so they may reach the
 *                        media before the record and the new entry.
 * In every other build pmo_planted() is the constant 0.
 */
#ifndef PMO_PLANTED_H
#define PMO_PLANTED_H

#ifdef PMO_PLANTED_BUGS
#include <stdlib.h>
#include <string.h>
static inline int pmo_planted(const char *bug)
{
	const char *on = getenv("PMO_PLANTED_BUG");
	return on && strcmp(on, bug) == 0;
}
#else
#define pmo_planted(bug) 0
#endif

#endif
