/*
 * Unit tests of the persistent hash table (src/dict.c) used directly from C:
 * insert, lookup, delete, resize and compaction, popitem trimming, sets,
 * copies, transactions that roll back, references freed, gc, and a lookup
 * whose equality callback changes the table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dict.h"
#include "error.h"
#include "gc.h"
#include "hash.h"
#include "heap.h"
#include "pool.h"
#include "testutil.h"
#include "tx.h"
#include "value.h"

#define POOL_SIZE (64u << 20)

/* Allocations in the pool (objects and raw substructures). */
static long count_allocs(pmo_pool *p)
{
	long n = 0;
	for (PMEMoid o = pmemobj_first(p->pop); !OID_IS_NULL(o); o = pmemobj_next(o))
		n++;
	return n;
}

/* Equality of a stored slot with the slot in ctx: ints/None/bools by tag
 * and value, str/bytes by content. */
typedef struct {
	pmo_pool *p;
	pmo_slot key;
	int calls;
} eq_ctx;

static int slot_eq(void *vctx, const pmo_slot *stored)
{
	eq_ctx *c = vctx;
	c->calls++;
	pmo_slot a = c->key, b = *stored;
	if (a.tag != b.tag)
		return 0;
	if (a.tag != PMO_TAG_REF)
		return a.val == b.val;
	if (a.val == b.val)
		return 1;
	uint32_t type = pmo_ref_type(c->p, a.val);
	if (pmo_ref_type(c->p, b.val) != type)
		return 0;
	pmo_var x, y;
	if (pmo_var_get(c->p, a.val, type, &x) != 0 || pmo_var_get(c->p, b.val, type, &y) != 0)
		return -1;
	return x.size == y.size && memcmp(x.data, y.data, x.size) == 0;
}

static int64_t find_slot(pmo_pool *p, pmo_dict *d, pmo_slot k)
{
	eq_ctx c = {p, k, 0};
	return pmo_dict_find(p, d, pmo_slot_hash(p, k), slot_eq, &c);
}

static int64_t find_int(pmo_pool *p, pmo_dict *d, int64_t k)
{
	return find_slot(p, d, pmo_slot_int(k));
}

/* Make the root a new table of `type`; returns it. */
static pmo_dict *root_table(pmo_pool *p, uint32_t type, size_t n)
{
	if (pmo_tx_begin(p))
		return NULL;
	uint64_t off = pmo_dict_new(p, type, n);
	if (!off || pmo_slot_store(p, &p->root->root, pmo_slot_ref(off))) {
		pmo_tx_fail(p);
		return NULL;
	}
	if (pmo_tx_end(p))
		return NULL;
	return pmo_dict_get(p, off);
}

static int set_int(pmo_pool *p, pmo_dict *d, int64_t k, pmo_slot v)
{
	eq_ctx c = {p, pmo_slot_int(k), 0};
	return pmo_dict_set(p, d, pmo_hash_int64(k), c.key, v, slot_eq, &c);
}

static int del_int(pmo_pool *p, pmo_dict *d, int64_t k)
{
	eq_ctx c = {p, pmo_slot_int(k), 0};
	return pmo_dict_del(p, d, pmo_hash_int64(k), slot_eq, &c);
}

/* Keys of the live entries in order. */
static size_t live_keys(pmo_pool *p, pmo_dict *d, int64_t *out, size_t max)
{
	size_t n = 0;
	for (uint64_t i = 0; d->size && i < d->nentries; i++) {
		pmo_dict_entry *e = pmo_dict_entry_at(p, d, i);
		if (pmo_dict_entry_live(e) && n < max)
			out[n++] = pmo_slot_as_int(e->key);
	}
	return n;
}

static void test_insert_lookup_delete(void)
{
	pmo_pool *p = test_pool_fresh("basic", POOL_SIZE);
	if (!p)
		return;
	pmo_dict *d = root_table(p, PMO_T_DICT, 0);
	CHECK(d != NULL);
	if (!d)
		goto out;
	CHECK(d->size == 0 && d->used == 0);
	CHECK(find_int(p, d, 1) == PMO_DICT_MISSING);

	/* 1000 inserts, many resizes, each its own transaction. */
	int ok = 1;
	for (int64_t i = 0; i < 1000; i++) {
		ok &= pmo_tx_begin(p) == 0;
		ok &= set_int(p, d, i, pmo_slot_int(i * 10)) == 0;
		ok &= pmo_tx_end(p) == 0;
	}
	CHECK(ok);
	CHECK_EQ_I64(d->used, 1000);
	CHECK(d->size >= 1024 && d->fill < d->size);
	CHECK(pmo_dict_get(p, pmo_offset(p, d)) == d);
	int found = 1;
	for (int64_t i = 0; i < 1000; i++) {
		int64_t ix = find_int(p, d, i);
		found &= ix >= 0 &&
			 pmo_slot_as_int(pmo_dict_entry_at(p, d, (uint64_t)ix)->value) == i * 10;
	}
	CHECK(found);
	CHECK(find_int(p, d, 1000) == PMO_DICT_MISSING);
	CHECK(find_int(p, d, -1) == PMO_DICT_MISSING);

	/* Replace a value: the key keeps its entry (and order). */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(set_int(p, d, 5, pmo_slot_none()) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK_EQ_I64(d->used, 1000);
	CHECK(pmo_dict_entry_at(p, d, (uint64_t)find_int(p, d, 5))->value.tag == PMO_TAG_NONE);

	/* Delete the even keys: the odd ones stay, in order. */
	CHECK(pmo_tx_begin(p) == 0);
	for (int64_t i = 0; i < 1000; i += 2)
		ok &= del_int(p, d, i) == 1;
	CHECK(del_int(p, d, 0) == 0); /* already gone */
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);
	CHECK_EQ_I64(d->used, 500);
	int64_t keys[1000];
	size_t n = live_keys(p, d, keys, 1000);
	CHECK_EQ_I64(n, 500);
	int order = 1;
	for (size_t i = 0; i < n; i++)
		order &= keys[i] == (int64_t)(2 * i + 1);
	CHECK(order);
	for (int64_t i = 0; i < 1000; i++)
		found &= (find_int(p, d, i) >= 0) == (i % 2 == 1);
	CHECK(found);

	/* Re-inserted keys go to the end. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(set_int(p, d, 0, pmo_slot_int(0)) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK_EQ_I64(pmo_slot_as_int(pmo_dict_entry_at(p, d, (uint64_t)pmo_dict_last(p, d))->key),
		     0);

	/* popitem: removing the last entry trims nentries back over the
	 * deleted entries before it. */
	CHECK(pmo_tx_begin(p) == 0);
	int64_t last = pmo_dict_last(p, d);
	CHECK(pmo_dict_remove(p, d, (uint64_t)last, NULL, NULL) == 0);
	CHECK_EQ_I64(d->nentries, (uint64_t)last);
	CHECK(pmo_tx_end(p) == 0);
	uint64_t before = d->nentries;
	last = pmo_dict_last(p, d);
	CHECK(pmo_slot_as_int(pmo_dict_entry_at(p, d, (uint64_t)last)->key) == 999);
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(del_int(p, d, 997) == 1); /* middle: nentries stays */
	CHECK_EQ_I64(d->nentries, before);
	CHECK(del_int(p, d, 999) == 1); /* last: trims over 997 */
	CHECK(d->nentries < before - 1);
	CHECK(pmo_tx_end(p) == 0);
	CHECK(pmo_dict_get(p, pmo_offset(p, d)) == d);

	/* Pop everything, then it works again from empty. */
	CHECK(pmo_tx_begin(p) == 0);
	while ((last = pmo_dict_last(p, d)) >= 0)
		ok &= pmo_dict_remove(p, d, (uint64_t)last, NULL, NULL) == 0;
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);
	CHECK(d->used == 0 && d->nentries == 0);
	CHECK(find_int(p, d, 1) == PMO_DICT_MISSING);
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(set_int(p, d, 7, pmo_slot_int(70)) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK(find_int(p, d, 7) == 0);
out:
	test_pool_done(p);
}

/* Insert and delete in a cycle: dummies accumulate until a compaction;
 * the table stays small and lookups keep working. */
static void test_churn_compacts(void)
{
	pmo_pool *p = test_pool_fresh("churn", POOL_SIZE);
	if (!p)
		return;
	pmo_dict *d = root_table(p, PMO_T_DICT, 0);
	if (!d)
		goto out;
	int ok = 1;
	CHECK(pmo_tx_begin(p) == 0);
	for (int64_t i = 0; i < 20000; i++) {
		ok &= set_int(p, d, i, pmo_slot_int(i)) == 0;
		if (i >= 10)
			ok &= del_int(p, d, i - 10) == 1;
	}
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);
	CHECK_EQ_I64(d->used, 10);
	CHECK(d->size <= 64);
	for (int64_t i = 0; i < 20000; i++)
		ok &= (find_int(p, d, i) >= 0) == (i >= 19990);
	CHECK(ok);
out:
	test_pool_done(p);
}

/* Keys that collide on every hash bit still work (probe by eq). */
static int always_eq_ctx_key(void *vctx, const pmo_slot *stored)
{
	return slot_eq(vctx, stored);
}

static void test_collisions(void)
{
	pmo_pool *p = test_pool_fresh("coll", POOL_SIZE);
	if (!p)
		return;
	pmo_dict *d = root_table(p, PMO_T_DICT, 0);
	if (!d)
		goto out;
	int ok = 1;
	CHECK(pmo_tx_begin(p) == 0);
	for (int64_t i = 0; i < 200; i++) {
		eq_ctx c = {p, pmo_slot_int(i), 0};
		ok &= pmo_dict_set(p, d, 42, c.key, pmo_slot_int(-i), always_eq_ctx_key, &c) == 0;
	}
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);
	CHECK_EQ_I64(d->used, 200);
	for (int64_t i = 0; i < 200; i++) {
		eq_ctx c = {p, pmo_slot_int(i), 0};
		int64_t ix = pmo_dict_find(p, d, 42, always_eq_ctx_key, &c);
		ok &= ix >= 0 &&
		      pmo_slot_as_int(pmo_dict_entry_at(p, d, (uint64_t)ix)->value) == -i;
	}
	CHECK(ok);
	/* A different hash with an "equal" key is not compared at all. */
	eq_ctx c = {p, pmo_slot_int(3), 0};
	CHECK(pmo_dict_find(p, d, 43, always_eq_ctx_key, &c) == PMO_DICT_MISSING);
	CHECK(c.calls == 0);
out:
	test_pool_done(p);
}

static int failing_eq(void *ctx, const pmo_slot *stored)
{
	pmo_err(EINVAL, "comparison failed");
	return -1;
}

/* An equality callback that deletes another key the first time it runs:
 * the lookup must notice and start again. */
typedef struct {
	eq_ctx base;
	pmo_dict *d;
	int64_t victim;
	int done;
} mutating_ctx;

static int mutating_eq(void *vctx, const pmo_slot *stored)
{
	mutating_ctx *m = vctx;
	if (!m->done) {
		m->done = 1;
		if (del_int(m->base.p, m->d, m->victim) != 1)
			return -1;
	}
	return slot_eq(&m->base, stored);
}

static void test_eq_errors_and_mutation(void)
{
	pmo_pool *p = test_pool_fresh("eqmut", POOL_SIZE);
	if (!p)
		return;
	pmo_dict *d = root_table(p, PMO_T_DICT, 0);
	if (!d)
		goto out;
	int ok = 1;
	CHECK(pmo_tx_begin(p) == 0);
	for (int64_t i = 0; i < 100; i++)
		ok &= set_int(p, d, i, pmo_slot_int(i)) == 0;
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);
	CHECK(pmo_dict_find(p, d, pmo_hash_int64(5), failing_eq, NULL) == PMO_DICT_ERROR);
	CHECK(errno == EINVAL);
	/* Missing hashes never call eq. */
	CHECK(pmo_dict_find(p, d, pmo_hash_int64(500), failing_eq, NULL) == PMO_DICT_MISSING);

	CHECK(pmo_tx_begin(p) == 0);
	mutating_ctx m = {{p, pmo_slot_int(50), 0}, d, 7, 0};
	int64_t ix = pmo_dict_find(p, d, pmo_hash_int64(50), mutating_eq, &m);
	CHECK(ix >= 0 && pmo_slot_as_int(pmo_dict_entry_at(p, d, (uint64_t)ix)->key) == 50);
	CHECK(m.base.calls == 2); /* compared, table changed, compared again */
	CHECK(find_int(p, d, 7) == PMO_DICT_MISSING);
	CHECK(pmo_tx_end(p) == 0);
out:
	test_pool_done(p);
}

/* str keys and values: references are dropped when entries go. */
static void test_refcounts_freed(void)
{
	pmo_pool *p = test_pool_fresh("refs", POOL_SIZE);
	if (!p)
		return;
	pmo_dict *d = root_table(p, PMO_T_DICT, 0);
	if (!d)
		goto out;
	long base = count_allocs(p);
	int ok = 1;
	char buf[64];
	CHECK(pmo_tx_begin(p) == 0);
	for (int i = 0; i < 300; i++) {
		int n = snprintf(buf, sizeof buf, "key-%d", i);
		uint64_t k = pmo_str_new(p, buf, (size_t)n);
		n = snprintf(buf, sizeof buf, "value-%d", i);
		uint64_t v = pmo_str_new(p, buf, (size_t)n);
		eq_ctx c = {p, pmo_slot_ref(k), 0};
		ok &= k && v &&
		      pmo_dict_set(p, d, pmo_slot_hash(p, c.key), c.key, pmo_slot_ref(v), slot_eq,
				   &c) == 0;
	}
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);
	CHECK_EQ_I64(count_allocs(p), base + 600 + 1); /* + the table */

	/* Setting an existing key with a fresh key object: the new key object
	 * and the old value are freed. */
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t k = pmo_str_new(p, "key-3", 5);
	eq_ctx c = {p, pmo_slot_ref(k), 0};
	CHECK(pmo_dict_set(p, d, pmo_slot_hash(p, c.key), c.key, pmo_slot_int(3), slot_eq, &c) ==
	      0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK_EQ_I64(count_allocs(p), base + 600 + 1 - 1);

	/* remove() hands back the references when asked. */
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t probe = pmo_str_new(p, "key-10", 6);
	int64_t ix = find_slot(p, d, pmo_slot_ref(probe));
	CHECK(ix >= 0);
	pmo_slot gk, gv;
	CHECK(ix >= 0 && pmo_dict_remove(p, d, (uint64_t)ix, &gk, &gv) == 0);
	CHECK(gk.tag == PMO_TAG_REF && gv.tag == PMO_TAG_REF);
	CHECK(pmo_head_at(p, gk.val)->refcnt == 1);
	CHECK(pmo_slot_decref(p, gk) == 0 && pmo_slot_decref(p, gv) == 0);
	CHECK(pmo_decref(p, probe) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK_EQ_I64(count_allocs(p), base + 600 + 1 - 1 - 2);

	/* clear() drops everything and the table. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_dict_clear(p, d) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK(d->used == 0 && d->size == 0 && d->table == 0);
	CHECK_EQ_I64(count_allocs(p), base);

	/* Dropping the dict itself frees what it holds. */
	CHECK(pmo_tx_begin(p) == 0);
	for (int i = 0; i < 50; i++) {
		int n = snprintf(buf, sizeof buf, "again-%d", i);
		uint64_t kk = pmo_str_new(p, buf, (size_t)n);
		eq_ctx cc = {p, pmo_slot_ref(kk), 0};
		ok &= kk && pmo_dict_set(p, d, pmo_slot_hash(p, cc.key), cc.key, pmo_slot_float(i),
					 slot_eq, &cc) == 0;
	}
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_slot_store(p, &p->root->root, pmo_slot_none()) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK_EQ_I64(count_allocs(p), base - 1); /* the dict header went too */
out:
	test_pool_done(p);
}

/* Everything a transaction did to the table, resizes included, is undone
 * by an abort; allocations of the aborted transaction vanish. */
static void test_transaction_rollback(void)
{
	pmo_pool *p = test_pool_fresh("txroll", POOL_SIZE);
	if (!p)
		return;
	pmo_dict *d = root_table(p, PMO_T_DICT, 0);
	if (!d)
		goto out;
	int ok = 1;
	CHECK(pmo_tx_begin(p) == 0);
	for (int64_t i = 0; i < 20; i++)
		ok &= set_int(p, d, i, pmo_slot_int(i)) == 0;
	CHECK(pmo_tx_end(p) == 0);
	pmo_dict saved = *d;
	long allocs = count_allocs(p);

	CHECK(pmo_tx_begin(p) == 0);
	for (int64_t i = 20; i < 5000; i++) {
		uint64_t v = pmo_str_new(p, "v", 1);
		ok &= v && set_int(p, d, i, pmo_slot_ref(v)) == 0;
	}
	for (int64_t i = 0; i < 10; i++)
		ok &= del_int(p, d, i) == 1;
	ok &= set_int(p, d, 15, pmo_slot_int(-15)) == 0;
	CHECK(ok);
	CHECK_EQ_I64(d->used, 4990);
	pmo_tx_abort(p, ECANCELED);
	CHECK(pmo_tx_end(p) == -1 && errno == ECANCELED);
	pmo_err_clear();

	CHECK(memcmp(&saved, d, sizeof saved) == 0);
	CHECK_EQ_I64(count_allocs(p), allocs);
	for (int64_t i = 0; i < 5000; i++) {
		int64_t ix = find_int(p, d, i);
		ok &= (ix >= 0) == (i < 20);
		if (ix >= 0)
			ok &= pmo_slot_as_int(pmo_dict_entry_at(p, d, (uint64_t)ix)->value) == i;
	}
	CHECK(ok);

	/* And a clear() rolls back too. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_dict_clear(p, d) == 0);
	pmo_tx_abort(p, ECANCELED);
	pmo_tx_end(p);
	pmo_err_clear();
	CHECK(memcmp(&saved, d, sizeof saved) == 0);
	CHECK(find_int(p, d, 19) >= 0);
out:
	test_pool_done(p);
}

/* Entries past nentries are reused by later inserts without a snapshot;
 * when a trim moved nentries back over entries deleted by an earlier
 * transaction (or by this one), an abort must still bring back exactly the
 * committed entries: nothing of the aborted insert may look live. */
static void test_trim_then_reuse_rolls_back(void)
{
	pmo_pool *p = test_pool_fresh("trimreuse", POOL_SIZE);
	if (!p)
		return;
	pmo_dict *d = root_table(p, PMO_T_DICT, 0);
	if (!d)
		goto out;
	int ok = 1;
	CHECK(pmo_tx_begin(p) == 0);
	for (int64_t i = 0; i < 4; i++)
		ok &= set_int(p, d, i, pmo_slot_int(i)) == 0;
	ok &= del_int(p, d, 1) == 1 && del_int(p, d, 2) == 1; /* [0, -, -, 3] */
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);
	CHECK_EQ_I64(d->nentries, 4);
	pmo_dict saved = *d;
	long allocs = count_allocs(p);

	CHECK(pmo_tx_begin(p) == 0);
	CHECK(del_int(p, d, 3) == 1); /* trims back to 1 */
	CHECK_EQ_I64(d->nentries, 1);
	for (int64_t i = 10; i < 13; i++) { /* reuse entries 1, 2, 3 */
		uint64_t k = pmo_str_new(p, "aborted", 7);
		eq_ctx c = {p, pmo_slot_ref(k), 0};
		ok &= k && pmo_dict_set(p, d, pmo_slot_hash(p, c.key), c.key, pmo_slot_int(i),
					slot_eq, &c) == 0;
	}
	CHECK(ok);
	pmo_tx_abort(p, ECANCELED);
	pmo_tx_end(p);
	pmo_err_clear();

	CHECK(memcmp(&saved, d, sizeof saved) == 0);
	CHECK_EQ_I64(count_allocs(p), allocs);
	int64_t keys[8];
	size_t n = live_keys(p, d, keys, 8);
	CHECK(n == 2 && keys[0] == 0 && keys[1] == 3);
	for (uint64_t i = 0; i < d->nentries; i++) {
		pmo_dict_entry *e = pmo_dict_entry_at(p, d, i);
		CHECK(!pmo_dict_entry_live(e) || e->key.tag == PMO_TAG_INT);
		if (pmo_dict_entry_live(e))
			CHECK_EQ_I64(e->hash, pmo_hash_int64(pmo_slot_as_int(e->key)));
	}
	CHECK(find_int(p, d, 3) >= 0 && find_int(p, d, 0) == 0);
	pmo_gc_result r;
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	CHECK_EQ_I64(r.orphans + r.cycles + r.bad_refs, 0);
	free(r.type_counts);

	/* The same within one transaction: popitem then insert, abort. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_dict_remove(p, d, (uint64_t)pmo_dict_last(p, d), NULL, NULL) == 0);
	CHECK(set_int(p, d, 99, pmo_slot_int(99)) == 0);
	pmo_tx_abort(p, ECANCELED);
	pmo_tx_end(p);
	pmo_err_clear();
	CHECK(memcmp(&saved, d, sizeof saved) == 0);
	CHECK(find_int(p, d, 3) >= 0 && find_int(p, d, 99) == PMO_DICT_MISSING);
	n = live_keys(p, d, keys, 8);
	CHECK(n == 2 && keys[0] == 0 && keys[1] == 3);
out:
	test_pool_done(p);
}

static void test_sets_and_copies(void)
{
	pmo_pool *p = test_pool_fresh("sets", POOL_SIZE);
	if (!p)
		return;
	pmo_dict *s = root_table(p, PMO_T_SET, 100);
	if (!s)
		goto out;
	CHECK(pmo_dict_is_set(s) && pmo_dict_stride(s) == 24);
	CHECK(s->size == 256 && s->used == 0); /* presized for 100 */
	uint64_t size0 = s->size;
	int ok = 1;
	CHECK(pmo_tx_begin(p) == 0);
	for (int64_t i = 0; i < 100; i++)
		ok &= set_int(p, s, i * 7, pmo_slot_none()) == 0;
	ok &= set_int(p, s, 7, pmo_slot_none()) == 0; /* already there */
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);
	CHECK_EQ_I64(s->used, 100);
	CHECK_EQ_I64(s->size, size0); /* no resize needed */
	for (int64_t i = 0; i < 700; i++)
		ok &= (find_int(p, s, i) >= 0) == (i % 7 == 0);
	CHECK(ok);

	/* Content hash: order-independent, equal to the frozenset hash. */
	int64_t hs[100];
	for (int64_t i = 0; i < 100; i++)
		hs[99 - i] = pmo_hash_int64(i * 7);
	CHECK_EQ_I64(pmo_dict_content_hash(p, s), pmo_hash_frozenset(hs, 100));

	/* A frozenset copy shares the keys; a dict cannot copy a set. */
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t fo = pmo_dict_copy(p, s, PMO_T_PFROZENSET);
	CHECK(fo != 0);
	CHECK(pmo_dict_copy(p, s, PMO_T_DICT) == 0 && errno == EINVAL);
	pmo_err_clear();
	pmo_tx_abort(p, EINVAL);
	pmo_tx_end(p);
	pmo_err_clear();

	CHECK(pmo_tx_begin(p) == 0);
	fo = pmo_dict_copy(p, s, PMO_T_PFROZENSET);
	pmo_dict *f = fo ? pmo_dict_get(p, fo) : NULL;
	CHECK(f && f->used == 100 && f->head.type == PMO_T_PFROZENSET);
	CHECK(pmo_dict_content_hash(p, f) == pmo_dict_content_hash(p, s));
	/* Keep it: store it in the set itself (a cycle gc must handle). */
	ok &= pmo_dict_add(p, s, 12345, pmo_slot_ref(fo), pmo_slot_none()) == 0;
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);
	for (int64_t i = 0; i < 700 && f; i++)
		ok &= (find_int(p, f, i) >= 0) == (i % 7 == 0);
	CHECK(ok);

	/* Dict copy with str values: values are shared, counts go up. */
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t doff = pmo_dict_new(p, PMO_T_DICT, 0);
	pmo_dict *d = pmo_direct(p, doff);
	uint64_t v = pmo_str_new(p, "shared", 6);
	ok &= set_int(p, d, 1, pmo_slot_ref(v)) == 0 && set_int(p, d, 2, pmo_slot_int(2)) == 0;
	uint64_t coff = pmo_dict_copy(p, d, PMO_T_DICT);
	CHECK(coff != 0);
	CHECK_EQ_I64(pmo_head_at(p, v)->refcnt, 2);
	pmo_dict *c = pmo_direct(p, coff);
	CHECK(c->used == 2 && find_int(p, c, 2) >= 0);
	ok &= pmo_decref(p, coff) == 0;
	CHECK_EQ_I64(pmo_head_at(p, v)->refcnt, 1);
	ok &= pmo_decref(p, doff) == 0;
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);

	/* gc: the set <-> frozenset structure is reachable; nothing leaks. */
	pmo_gc_result r;
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	CHECK_EQ_I64(r.orphans + r.cycles, 0);
	CHECK_EQ_I64(r.subs_freed, 0);
	CHECK_EQ_I64(r.subs_live, 3); /* two tables, the word log's block */
	free(r.type_counts);
	/* Dropping the root frees the set, and with it the frozenset it
	 * holds: refcounting leaves nothing for gc. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_slot_store(p, &p->root->root, pmo_slot_none()) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	CHECK_EQ_I64(r.live, 0);
	free(r.type_counts);
	CHECK_EQ_I64(count_allocs(p), 1); /* the word log's block (wordlog.h) */
out:
	test_pool_done(p);
}

static void test_reserve_and_validation(void)
{
	pmo_pool *p = test_pool_fresh("reserve", POOL_SIZE);
	if (!p)
		return;
	pmo_dict *d = root_table(p, PMO_T_DICT, 0);
	if (!d)
		goto out;
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_dict_reserve(p, d, 1000) == 0);
	uint64_t size = d->size, table = d->table;
	CHECK(pmo_dict_usable(size) >= 1000);
	int ok = 1;
	for (int64_t i = 0; i < 1000; i++)
		ok &= set_int(p, d, i, pmo_slot_int(i)) == 0;
	CHECK(pmo_tx_end(p) == 0);
	CHECK(ok);
	CHECK(d->size == size && d->table == table); /* no rebuild */

	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_dict_new(p, PMO_T_LIST, 0) == 0 && errno == EINVAL);
	pmo_tx_abort(p, EINVAL);
	pmo_tx_end(p);
	pmo_err_clear();

	/* A damaged header is refused by the checked accessor. */
	uint64_t off = pmo_offset(p, d);
	uint64_t saved = d->nentries;
	d->nentries = pmo_dict_usable(d->size) + 1;
	CHECK(pmo_dict_get(p, off) == NULL && errno == EIO);
	d->nentries = saved;
	d->size = 1000; /* not a power of two */
	CHECK(pmo_dict_get(p, off) == NULL && errno == EIO);
	d->size = size;
	CHECK(pmo_dict_get(p, off) == d);
	pmo_err_clear();
out:
	test_pool_done(p);
}

int main(void)
{
	test_insert_lookup_delete();
	test_churn_compacts();
	test_collisions();
	test_eq_errors_and_mutation();
	test_refcounts_freed();
	test_transaction_rollback();
	test_trim_then_reuse_rolls_back();
	test_sets_and_copies();
	test_reserve_and_validation();
	return test_finish();
}
