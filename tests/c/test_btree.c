/*
 * Unit tests of the persistent B+ tree (src/btree.c) used directly from C:
 * random inserts and deletes against a sorted reference array with the
 * tree's own validation after every batch (splits, merges, borrows, root
 * growth and collapse), positions by key and by rank, the leaf chain in
 * both directions, rollback, references freed, the exact order of mixed
 * numbers, and the validator catching planted damage.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btree.h"
#include "error.h"
#include "gc.h"
#include "heap.h"
#include "pool.h"
#include "testutil.h"
#include "tx.h"
#include "value.h"

#define POOL_SIZE (64u << 20)

static long count_allocs(pmo_pool *p)
{
	long n = 0;
	for (PMEMoid o = pmemobj_first(p->pop); !OID_IS_NULL(o); o = pmemobj_next(o))
		n++;
	return n;
}

static pmo_btree *root_tree(pmo_pool *p)
{
	if (pmo_tx_begin(p))
		return NULL;
	uint64_t off = pmo_btree_new(p);
	if (!off || pmo_slot_store(p, &p->root->root, pmo_slot_ref(off))) {
		pmo_tx_fail(p);
		return NULL;
	}
	if (pmo_tx_end(p))
		return NULL;
	return pmo_btree_get(p, off);
}

static int validate(pmo_pool *p, pmo_btree *t)
{
	int rc = pmo_typeops_of(PMO_T_SORTEDDICT)->validate(p, pmo_offset(p, t));
	if (rc)
		fprintf(stderr, "validate: %s\n", pmo_errormsg());
	return rc;
}

static pmo_key int_key(int64_t i)
{
	pmo_key k;
	memset(&k, 0, sizeof k);
	k.kind = PMO_K_INT;
	k.i = i;
	return k;
}

static int set_int(pmo_pool *p, pmo_btree *t, int64_t k, int64_t v, int *added)
{
	pmo_key key = int_key(k);
	return pmo_btree_set(p, t, &key, pmo_slot_int(k), pmo_slot_int(v), added);
}

/* 1 deleted, 0 missing, -1 error. */
static int del_int(pmo_pool *p, pmo_btree *t, int64_t k)
{
	pmo_key key = int_key(k);
	return pmo_btree_del(p, t, &key, NULL, NULL);
}

/* The value of k, or -1 (values are never negative here). */
static int64_t get_int(pmo_pool *p, pmo_btree *t, int64_t k)
{
	pmo_key key = int_key(k);
	pmo_bt_pos pos;
	int found;
	if (pmo_btree_seek(p, t, &key, 0, &pos, &found) != 0 || !found)
		return -1;
	return pmo_slot_as_int(pmo_btree_leaf(p, pos.leaf)->e[pos.i].value);
}

/* Sorted reference set of ints. */
static int64_t ref[40000];
static size_t nref;

static size_t ref_lower(int64_t k)
{
	size_t lo = 0, hi = nref;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ref[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Compare the tree with ref: forwards along the leaf chain, ranks, and
 * backwards along the prev links. */
static int same_as_ref(pmo_pool *p, pmo_btree *t)
{
	if (t->len != nref)
		return 0;
	pmo_bt_pos pos;
	if (pmo_btree_at(p, t, 0, &pos) != 0)
		return 0;
	for (size_t i = 0; i < nref; i++) {
		if (!pos.leaf || pos.rank != i)
			return 0;
		pmo_bleaf *lf = pmo_btree_leaf(p, pos.leaf);
		if (pmo_slot_as_int(lf->e[pos.i].key) != ref[i] ||
		    pmo_slot_as_int(lf->e[pos.i].value) != ref[i] * 3)
			return 0;
		if (pmo_btree_step(p, &pos) != 0)
			return 0;
	}
	if (pos.leaf)
		return 0;
	size_t back = nref;
	for (uint64_t off = t->last; off; off = pmo_btree_leaf(p, off)->h.prev) {
		pmo_bleaf *lf = pmo_btree_leaf(p, off);
		for (uint32_t i = lf->h.n; i-- > 0;)
			if (back == 0 || pmo_slot_as_int(lf->e[i].key) != ref[--back])
				return 0;
	}
	return back == 0;
}

static void test_random_against_reference(void)
{
	pmo_pool *p = test_pool_fresh("btree_random", POOL_SIZE);
	if (!p)
		return;
	long base = count_allocs(p);
	pmo_btree *t = root_tree(p);
	CHECK(t != NULL);
	if (!t)
		goto out;
	srand(12345);
	nref = 0;
	int ok = 1, valid = 1, same = 1;
	/* Phases: ascending appends, random inserts, random deletes, then
	 * deleting everything in a random order. */
	for (int phase = 0; phase < 4; phase++) {
		for (int batch = 0; batch < 40; batch++) {
			/* Odd batches inside a larger transaction (whole nodes
			 * saved once), even ones alone (parts saved). */
			ok &= pmo_tx_begin(p) == 0 && (batch % 2 == 0 || pmo_tx_begin(p) == 0);
			for (int j = 0; j < 250; j++) {
				int64_t k;
				if (phase == 0)
					k = (int64_t)(batch * 250 + j) * 2;
				else if (phase == 1)
					k = rand() % 60000;
				else
					k = nref ? ref[(size_t)rand() % nref] : 0;
				size_t at = ref_lower(k);
				int there = at < nref && ref[at] == k;
				if (phase < 2 || (phase == 2 && (rand() & 3) == 0)) {
					int added;
					ok &= set_int(p, t, k, k * 3, &added) == 0;
					ok &= added == !there;
					if (!there && nref < sizeof ref / sizeof *ref) {
						memmove(ref + at + 1, ref + at,
							(nref - at) * sizeof *ref);
						ref[at] = k;
						nref++;
					}
				} else {
					ok &= del_int(p, t, k) == there;
					if (there) {
						memmove(ref + at, ref + at + 1,
							(nref - at - 1) * sizeof *ref);
						nref--;
					}
				}
			}
			ok &= (batch % 2 == 0 || pmo_tx_end(p) == 0) && pmo_tx_end(p) == 0;
			valid &= validate(p, t) == 0;
			same &= same_as_ref(p, t);
		}
		if (phase == 3) {
			/* Whatever is left goes too. */
			ok &= pmo_tx_begin(p) == 0;
			while (nref) {
				size_t i = (size_t)rand() % nref;
				ok &= del_int(p, t, ref[i]) == 1;
				memmove(ref + i, ref + i + 1, (nref - i - 1) * sizeof *ref);
				nref--;
			}
			ok &= pmo_tx_end(p) == 0;
		}
	}
	CHECK(ok);
	CHECK(valid);
	CHECK(same);
	CHECK_EQ_I64(t->len, 0);
	CHECK(t->root == 0 && t->height == 0 && t->first == 0 && t->last == 0);
	/* Every node was freed: only the tree object is left. */
	CHECK_EQ_I64(count_allocs(p), base + 1);
out:
	test_pool_done(p);
}

static void test_ranks_and_bounds(void)
{
	pmo_pool *p = test_pool_fresh("btree_ranks", POOL_SIZE);
	if (!p)
		return;
	pmo_btree *t = root_tree(p);
	int ok = t != NULL, added;
	/* Keys 0, 10, ..., 99990 inserted in descending order. */
	ok &= pmo_tx_begin(p) == 0;
	for (int64_t k = 9999; ok && k >= 0; k--)
		ok &= set_int(p, t, k * 10, k, &added) == 0 && added;
	ok &= pmo_tx_end(p) == 0;
	CHECK(ok);
	CHECK(validate(p, t) == 0);
	CHECK(t->height >= 3);
	int bounds = 1;
	for (int64_t q = -5; q < 100005; q += 7) {
		pmo_key key = int_key(q);
		pmo_bt_pos lo, hi;
		int found;
		bounds &= pmo_btree_seek(p, t, &key, 0, &lo, &found) == 0;
		bounds &= pmo_btree_seek(p, t, &key, 1, &hi, NULL) == 0;
		uint64_t want_lo = q <= 0 ? 0 : q > 99990 ? 10000 : (uint64_t)((q + 9) / 10);
		uint64_t want_hi = q < 0 ? 0 : q >= 99990 ? 10000 : (uint64_t)(q / 10 + 1);
		bounds &= lo.rank == want_lo && hi.rank == want_hi;
		bounds &= found == (q >= 0 && q % 10 == 0 && q <= 99990);
		bounds &= (lo.leaf == 0) == (want_lo == 10000);
		pmo_bt_pos at;
		bounds &=
			pmo_btree_at(p, t, want_lo, &at) == 0 && at.leaf == lo.leaf && at.i == lo.i;
	}
	CHECK(bounds);
	CHECK(get_int(p, t, 5000) == 500 && get_int(p, t, 5001) == -1);
	/* Deleting by rank: every other entry, from the back. */
	ok = pmo_tx_begin(p) == 0;
	for (int64_t r = 9998; ok && r >= 0; r -= 2) {
		pmo_slot k, v;
		ok &= pmo_btree_del_at(p, t, (uint64_t)r, &k, &v) == 0 &&
		      pmo_slot_as_int(k) == r * 10 && pmo_slot_as_int(v) == r;
	}
	ok &= pmo_tx_end(p) == 0;
	CHECK(ok);
	CHECK_EQ_I64(t->len, 5000);
	CHECK(validate(p, t) == 0);
	CHECK(get_int(p, t, 10) == 1 && get_int(p, t, 20) == -1);
	test_pool_done(p);
}

static void test_rollback_and_references(void)
{
	pmo_pool *p = test_pool_fresh("btree_rollback", POOL_SIZE);
	if (!p)
		return;
	long base = count_allocs(p);
	pmo_btree *t = root_tree(p);
	int ok = t != NULL, added;
	ok &= pmo_tx_begin(p) == 0;
	for (int64_t k = 0; ok && k < 3000; k++)
		ok &= set_int(p, t, k, k * 3, &added) == 0;
	ok &= pmo_tx_end(p) == 0;
	CHECK(ok);
	/* A transaction that inserts, deletes and clears, then aborts,
	 * leaves the tree as it was: alone (parts of nodes are saved) and
	 * nested in a larger one (whole nodes are saved, once). */
	nref = 0;
	for (int64_t k = 0; k < 3000; k++)
		ref[nref++] = k;
	for (int nested = 0; nested < 2; nested++) {
		ok = pmo_tx_begin(p) == 0 && (!nested || pmo_tx_begin(p) == 0);
		for (int64_t k = 0; ok && k < 3000; k += 3)
			ok &= del_int(p, t, k) == 1;
		for (int64_t k = 5000; ok && k < 9000; k++)
			ok &= set_int(p, t, k, 0, &added) == 0;
		ok &= pmo_btree_clear(p, t) == 0;
		pmo_tx_abort(p, ECANCELED);
		if (nested)
			pmo_tx_end(p);
		pmo_tx_end(p);
		pmo_err_clear();
		CHECK(ok);
		CHECK(validate(p, t) == 0);
		CHECK(same_as_ref(p, t));
	}

	/* str keys and values on the heap: clear drops every reference,
	 * separators included, so they are all freed. */
	ok = pmo_tx_begin(p) == 0;
	ok &= pmo_btree_clear(p, t) == 0;
	for (int i = 0; ok && i < 2000; i++) {
		char buf[64];
		int n = snprintf(buf, sizeof buf, "a long key string number %06d",
				 (i * 7919) % 2000);
		pmo_key key;
		memset(&key, 0, sizeof key);
		key.kind = PMO_K_STR;
		key.data = (const uint8_t *)buf;
		key.len = (size_t)n;
		uint64_t ks = pmo_str_new(p, buf, (size_t)n);
		uint64_t vs = pmo_str_new(p, buf, (size_t)n);
		ok &= ks && vs &&
		      pmo_btree_set(p, t, &key, pmo_slot_ref(ks), pmo_slot_ref(vs), &added) == 0;
	}
	ok &= pmo_tx_end(p) == 0;
	CHECK(ok);
	CHECK_EQ_I64(t->len, 2000);
	CHECK(validate(p, t) == 0);
	/* Keys in code point order. */
	pmo_bt_pos pos;
	int ordered = pmo_btree_at(p, t, 0, &pos) == 0;
	for (int i = 0; ordered && i < 2000; i++) {
		char want[64];
		snprintf(want, sizeof want, "a long key string number %06d", i);
		pmo_var o;
		ordered &= pmo_var_get(p, pmo_btree_leaf(p, pos.leaf)->e[pos.i].key.val, PMO_T_STR,
				       &o) == 0 &&
			   strcmp(o.data, want) == 0 && pmo_btree_step(p, &pos) == 0;
	}
	CHECK(ordered);
	ok = pmo_tx_begin(p) == 0 && pmo_btree_clear(p, t) == 0 && pmo_tx_end(p) == 0;
	CHECK(ok);
	CHECK_EQ_I64(count_allocs(p), base + 1);
	test_pool_done(p);
}

static int cmp(const pmo_key *a, const pmo_key *b)
{
	int r = 99;
	if (pmo_key_cmp(a, b, &r) != 0)
		return 99;
	return r;
}

static pmo_key num_f(double f)
{
	pmo_key k = int_key(0);
	k.kind = PMO_K_FLOAT;
	k.f = f;
	return k;
}

/* A big int: magnitude m (little-endian bytes) and sign. */
static pmo_key num_big(const uint8_t *m, size_t n, int neg)
{
	pmo_key k = int_key(0);
	k.kind = PMO_K_BIGINT;
	k.data = m;
	k.len = n;
	k.neg = neg;
	return k;
}

static void test_number_order(void)
{
	pmo_key i0 = int_key(0), i1 = int_key(1), imax = int_key(INT64_MAX),
		imin = int_key(INT64_MIN);
	CHECK(cmp(&i0, &i1) == -1 && cmp(&i1, &i0) == 1 && cmp(&i1, &i1) == 0);
	pmo_key f05 = num_f(0.5), f1 = num_f(1.0), fm0 = num_f(-0.0);
	CHECK(cmp(&i0, &f05) == -1 && cmp(&f05, &i1) == -1 && cmp(&i1, &f1) == 0);
	CHECK(cmp(&i0, &fm0) == 0);
	/* 2^63 as a float is above every int64; 2^53 + 1 is exact as an int. */
	pmo_key f63 = num_f(9223372036854775808.0), fneg63 = num_f(-9223372036854775808.0);
	CHECK(cmp(&imax, &f63) == -1 && cmp(&imin, &fneg63) == 0);
	pmo_key i53 = int_key(9007199254740993LL), f53 = num_f(9007199254740992.0);
	CHECK(cmp(&i53, &f53) == 1);
	/* 2^64 + 1 against 2^64 as a float and against int64. */
	uint8_t m64p1[9] = {1, 0, 0, 0, 0, 0, 0, 0, 1}, m64[9] = {0, 0, 0, 0, 0, 0, 0, 0, 1};
	pmo_key b64p1 = num_big(m64p1, 9, 0), b64 = num_big(m64, 9, 0), nb64 = num_big(m64, 9, 1);
	pmo_key f64 = num_f(18446744073709551616.0), inf = num_f(INFINITY);
	CHECK(cmp(&b64p1, &f64) == 1 && cmp(&b64, &f64) == 0 && cmp(&f64, &b64p1) == -1);
	CHECK(cmp(&b64, &imax) == 1 && cmp(&nb64, &imin) == -1 && cmp(&nb64, &b64) == -1);
	CHECK(cmp(&b64p1, &inf) == -1 && cmp(&b64, &b64p1) == -1);
	pmo_key nf64 = num_f(-18446744073709551616.0);
	CHECK(cmp(&nb64, &nf64) == 0);
	/* Families do not mix: EDOM, as Python's TypeError. */
	pmo_key s = int_key(0);
	s.kind = PMO_K_STR;
	s.data = (const uint8_t *)"a";
	s.len = 1;
	int r;
	CHECK(pmo_key_cmp(&i0, &s, &r) == -1 && errno == EDOM);
	pmo_err_clear();
}

static void test_validator_catches_damage(void)
{
	pmo_pool *p = test_pool_fresh("btree_damage", POOL_SIZE);
	if (!p)
		return;
	pmo_btree *t = root_tree(p);
	int ok = t != NULL, added;
	ok &= pmo_tx_begin(p) == 0;
	for (int64_t k = 0; ok && k < 2000; k++)
		ok &= set_int(p, t, k, k, &added) == 0;
	ok &= pmo_tx_end(p) == 0;
	CHECK(ok && validate(p, t) == 0);
	pmo_bleaf *lf = pmo_btree_leaf(p, t->first);
	/* Planted damage, one kind at a time, each undone after. */
	pmo_slot save = lf->e[1].key;
	lf->e[1].key = lf->e[0].key;
	CHECK(validate(p, t) != 0); /* keys out of order */
	lf->e[1].key = save;
	pmo_binner *root = pmo_direct(p, t->root);
	root->count[0]++;
	CHECK(validate(p, t) != 0); /* wrong count */
	root->count[0]--;
	t->len++;
	CHECK(validate(p, t) != 0); /* wrong length */
	t->len--;
	uint64_t nx = lf->h.next;
	lf->h.next = 0;
	CHECK(validate(p, t) != 0); /* broken chain */
	lf->h.next = nx;
	/* A separator above a key of its right child. */
	pmo_slot sep = root->keys[0];
	root->keys[0] = pmo_slot_int(pmo_slot_as_int(sep) + 1);
	CHECK(validate(p, t) != 0);
	root->keys[0] = sep;
	/* A child that is not a node of the right level: an error, never a
	 * wild read, in lookups too. */
	uint64_t c0 = root->child[0];
	root->child[0] = 8;
	CHECK(validate(p, t) != 0);
	CHECK(get_int(p, t, 0) == -1);
	root->child[0] = c0;
	pmo_err_clear();
	CHECK(validate(p, t) == 0);
	test_pool_done(p);
}

int main(void)
{
	test_random_against_reference();
	test_ranks_and_bounds();
	test_rollback_and_references();
	test_number_order();
	test_validator_catches_damage();
	return test_finish();
}
