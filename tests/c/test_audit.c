/*
 * Regression tests from the crash-consistency / memory-safety audit of the
 * core: damaged pools must give errors, never writes past an allocation,
 * hangs or crashes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dict.h"
#include "error.h"
#include "hash.h"
#include "heap.h"
#include "list.h"
#include "pool.h"
#include "testutil.h"
#include "tx.h"

#define POOL_SIZE (32u << 20)

/* A dict of n int keys (no references), committed. */
static uint64_t int_dict(pmo_pool *p, int n)
{
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t off = pmo_dict_new(p, PMO_T_DICT, 0);
	CHECK(off != 0);
	pmo_dict *d = pmo_direct(p, off);
	for (int i = 0; i < n; i++)
		CHECK(pmo_dict_add(p, d, pmo_hash_int64(i), pmo_slot_int(i), pmo_slot_int(i)) == 0);
	CHECK(pmo_tx_end(p) == 0);
	return off;
}

/*
 * A damaged table whose `used` counts fewer live entries than it holds
 * (pmo_dict_get cannot see that: it would have to scan).  Copying it sized
 * the new table for `used` and then copied every live entry into it: past
 * the end of the allocation, and with more entries than cells the probe
 * for a free cell never ends.  Same for a rebuild.
 */
static void test_copy_of_table_with_too_small_used(void)
{
	pmo_pool *p = test_pool_fresh("audit_copy", POOL_SIZE);
	if (!p)
		return;
	uint64_t off = int_dict(p, 40);
	pmo_dict *d = pmo_dict_get(p, off);
	CHECK(d != NULL);
	d->used = 1; /* the damage (outside a transaction: test only) */
	d = pmo_dict_get(p, off);
	CHECK(d != NULL); /* passes the cheap checks */
	if (d) {
		CHECK(pmo_tx_begin(p) == 0);
		uint64_t copy = pmo_dict_copy(p, d, PMO_T_DICT);
		CHECK(copy == 0);
		CHECK(errno == EIO);
		if (!copy)
			pmo_tx_abort(p, errno);
		CHECK(pmo_tx_end(p) != 0);

		CHECK(pmo_tx_begin(p) == 0);
		CHECK(pmo_dict_reserve(p, d, 100) != 0);
		CHECK(errno == EIO);
		pmo_tx_abort(p, errno);
		CHECK(pmo_tx_end(p) != 0);
	}
	test_pool_done(p);
}

/* A damaged list capacity whose byte size wraps around 2^64. */
static void test_list_capacity_overflow(void)
{
	pmo_pool *p = test_pool_fresh("audit_listcap", POOL_SIZE);
	if (!p)
		return;
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t off = pmo_list_new(p, 4);
	CHECK(off != 0);
	CHECK(pmo_tx_end(p) == 0);
	pmo_list *l = pmo_direct(p, off);
	l->cap = l->len = ((uint64_t)1 << 60) + 1; /* cap * 16 == 16 */
	CHECK(pmo_list_get(p, off) == NULL);
	CHECK(errno == EIO);
	test_pool_done(p);
}

int main(void)
{
	alarm(20); /* a hang is a failure */
	test_copy_of_table_with_too_small_used();
	test_list_capacity_overflow();
	return test_finish();
}
