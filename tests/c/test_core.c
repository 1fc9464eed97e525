/*
 * Unit tests of the runtime core: pools, transactions, slots, heap values,
 * reference counting and gc, on real pools in /dev/shm.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "btree.h"
#include "error.h"
#include "gc.h"
#include "hash.h"
#include "heap.h"
#include "list.h"
#include "pool.h"
#include "testutil.h"
#include "tx.h"
#include "value.h"

#define POOL_SIZE (64u << 20)

static void test_pool_lifecycle(void)
{
	const char *path = test_pool_path("life");
	char saved[256];
	snprintf(saved, sizeof saved, "%s", path);

	CHECK(pmo_pool_create(saved, PMO_MIN_POOL_SIZE - 1, 0600) == NULL);
	CHECK(errno == EINVAL);
	CHECK(strstr(pmo_errormsg(), "minimum") != NULL);
	CHECK(access(saved, F_OK) != 0); /* nothing left behind */

	pmo_pool *p = pmo_pool_create(saved, POOL_SIZE, 0600);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(p->root->root.tag == PMO_TAG_NONE);
	CHECK(p->root->format_version == PMO_FORMAT_VERSION);
	CHECK(pmo_pool_create(saved, POOL_SIZE, 0600) == NULL && errno == EEXIST);
	/* A second open of an open pool is refused. */
	CHECK(pmo_pool_open(saved) == NULL && errno == EBUSY);
	CHECK(test_set_root(p, pmo_slot_int(42)) == 0);
	CHECK(pmo_pool_close(p) == 0);

	p = pmo_pool_open(saved);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(!p->was_unclean);
	CHECK(p->root->root.tag == PMO_TAG_INT && pmo_slot_as_int(p->root->root) == 42);
	/* Pretend the process died: the next open must see it. */
	p->root->clean = 0;
	pmemobj_persist(p->pop, &p->root->clean, sizeof p->root->clean);
	pmemobj_close(p->pop);
	free(p->path);
	free(p);
	p = pmo_pool_open(saved);
	CHECK(p && p->was_unclean);
	if (p) {
		/* Another format version is refused with a clear message. */
		p->root->format_version = PMO_FORMAT_VERSION + 1;
		pmemobj_persist(p->pop, &p->root->format_version, 4);
		pmo_pool_close(p);
		CHECK(pmo_pool_open(saved) == NULL && errno == EINVAL);
		CHECK(strstr(pmo_errormsg(), "format version") != NULL);
	}
	unlink(saved);

	CHECK(pmo_pool_open("/nonexistent/dir/x.pool") == NULL && errno == ENOENT);
	CHECK(pmo_pool_open("/dev/shm") == NULL && errno == EISDIR);
}

static void test_foreign_files(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s", test_pool_path("foreign"));
	PMEMobjpool *pop = pmemobj_create(path, "some-other-layout", POOL_SIZE, 0600);
	CHECK(pop != NULL);
	if (pop)
		pmemobj_close(pop);
	CHECK(pmo_pool_open(path) == NULL && errno == EINVAL);
	CHECK(strstr(pmo_errormsg(), "some-other-layout") != NULL);
	unlink(path);

	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	char junk[4096];
	memset(junk, 'x', sizeof junk);
	for (int i = 0; i < 4096; i++)
		CHECK(write(fd, junk, sizeof junk) == sizeof junk);
	close(fd);
	CHECK(pmo_pool_open(path) == NULL && errno == EINVAL);
	CHECK(strstr(pmo_errormsg(), "not a pmemobj pool") != NULL);
	unlink(path);
}

static void test_transactions(void)
{
	pmo_pool *p = test_pool_fresh("tx", POOL_SIZE);
	if (!p)
		return;
	CHECK(test_set_root(p, pmo_slot_int(1)) == 0);

	/* Nested levels flatten: an inner abort rolls back the outer. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_slot_store(p, &p->root->root, pmo_slot_int(2)) == 0);
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_tx_depth() == 2);
	pmo_tx_abort(p, ECANCELED);
	CHECK(pmo_tx_end(p) == -1 && errno == ECANCELED);
	/* Inside an aborted transaction nothing more may begin. */
	CHECK(pmo_tx_begin(p) == -1 && errno == ECANCELED);
	CHECK(pmo_tx_end(p) == -1);
	CHECK(pmo_tx_depth() == 0);
	CHECK(pmo_slot_as_int(p->root->root) == 1);

	/* A second pool cannot join this thread's transaction. */
	pmo_pool *q = test_pool_fresh("tx2", POOL_SIZE);
	CHECK(q != NULL);
	if (q) {
		CHECK(pmo_tx_begin(p) == 0);
		CHECK(pmo_tx_begin(q) == -1 && errno == EINVAL);
		CHECK(pmo_tx_end(p) == 0);
		test_pool_done(q);
	}

	/* A full pool: the failed transaction leaves nothing behind. */
	uint64_t allocs = p->stats.allocs;
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t off = pmo_bytes_new(p, "x", 1);
	CHECK(off != 0);
	CHECK(pmo_tx_alloc(p, POOL_SIZE, PMO_TYPENUM_RAW, 0) == 0 && errno == ENOMEM);
	CHECK(pmo_tx_end(p) == -1 && errno == ENOMEM);
	CHECK(p->stats.allocs == allocs + 1);
	pmo_gc_result r;
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	CHECK(r.orphans == 0 && r.live == 0); /* the bytes object was rolled back */
	free(r.type_counts);
	test_pool_done(p);
}

static void test_values(void)
{
	pmo_pool *p = test_pool_fresh("values", POOL_SIZE);
	if (!p)
		return;
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t s = pmo_str_new(p, "h\xc3\xa9llo", 6);
	uint64_t big =
		pmo_long_new(p, 1, (const uint8_t *)"\x01\x02\x03\x04\x05\x06\x07\x08\x09", 9);
	uint64_t c = pmo_complex_new(p, 1.5, -2.0);
	uint64_t t = pmo_tuple_new(p, PMO_T_TUPLE, 4);
	CHECK(s && big && c && t);
	pmo_tuple *tp = pmo_direct(p, t);
	pmo_tuple_init_item(tp, 0, pmo_slot_int(1));
	pmo_tuple_init_item(tp, 1, pmo_slot_ref(s));
	pmo_tuple_init_item(tp, 2, pmo_slot_ref(big));
	pmo_tuple_init_item(tp, 3, pmo_slot_ref(c));
	pmo_tuple_seal(p, tp);
	CHECK(pmo_slot_store(p, &p->root->root, pmo_slot_ref(t)) == 0);
	CHECK(pmo_tx_end(p) == 0);

	pmo_var so, bo;
	CHECK(pmo_var_get(p, s, PMO_T_STR, &so) == 0);
	CHECK(so.size == 6 && memcmp(so.data, "h\xc3\xa9llo", 6) == 0 && !so.negative);
	CHECK(so.hash == pmo_hash_bytes_keyed(p->hash_k0, p->hash_k1, "h\xc3\xa9llo", 6));
	CHECK(pmo_head_at(p, s)->flags == (6u << PMO_VAR_SIZE_SHIFT | PMO_VAR_COMPACT));
	CHECK(pmo_var_get(p, big, PMO_T_LONG, &bo) == 0 && bo.negative);
	CHECK(pmo_var_get(p, s, PMO_T_BYTES, &so) == -1 && errno == EIO);
	CHECK(pmo_complex_get(p, c) && pmo_complex_get(p, c)->imag == -2.0);
	CHECK(tp->hash != PMO_HASH_UNKNOWN);
	/* Python: hash((1, 2.0)) == hash((1, 2)) */
	int64_t h12[2] = {pmo_hash_int64(1), pmo_hash_int64(2)};
	int64_t h1f[2] = {pmo_slot_hash(p, pmo_slot_int(1)), pmo_slot_hash(p, pmo_slot_float(2.0))};
	CHECK_EQ_I64(pmo_hash_tuple(h12, 2), pmo_hash_tuple(h1f, 2));
	CHECK_EQ_I64(pmo_slot_hash(p, pmo_slot_bool(1)), pmo_slot_hash(p, pmo_slot_int(1)));
	/* Offsets that are not objects are refused, not followed. */
	CHECK(pmo_var_get(p, 8, PMO_T_STR, &so) == -1 && errno == EIO);
	CHECK(pmo_var_get(p, p->size + 4096, PMO_T_STR, &so) == -1 && errno == EIO);

	/* Replacing the root frees the whole tuple with its items. */
	uint64_t frees = p->stats.frees;
	CHECK(test_set_root(p, pmo_slot_none()) == 0);
	CHECK_EQ_I64(p->stats.frees - frees, 4);
	test_pool_done(p);
}

/* A chain root -> list -> list -> ... of depth n. */
static int build_chain(pmo_pool *p, int n, uint64_t *first, uint64_t *last)
{
	if (pmo_tx_begin(p))
		return -1;
	uint64_t head = pmo_list_new(p, 1), cur = head;
	for (int i = 1; i < n && cur; i++) {
		uint64_t next = pmo_list_new(p, 1);
		if (!next || pmo_list_append(p, pmo_list_get(p, cur), pmo_slot_ref(next)))
			return pmo_tx_fail(p);
		cur = next;
	}
	if (!cur)
		return pmo_tx_fail(p);
	*first = head;
	*last = cur;
	return pmo_tx_end(p);
}

/* Both varobj layouts read alike: the compact one new values get, and
 * the wide one of older pools and of values of 2^30 bytes or more. */
static uint64_t wide_new(pmo_pool *p, uint32_t type, uint32_t flags, const char *data, size_t n,
			 int64_t hash)
{
	uint64_t off = pmo_obj_new(p, type, sizeof(pmo_varobj_wide) + n + 1, 0);
	if (!off)
		return 0;
	pmo_varobj_wide *w = pmo_direct(p, off);
	w->head.flags = flags;
	w->size = n;
	w->hash = hash;
	memcpy(w->data, data, n);
	w->data[n] = '\0';
	return off;
}

static void test_varobj_layouts(void)
{
	pmo_pool *p = test_pool_fresh("varobj", POOL_SIZE);
	if (!p)
		return;
	const char *text = "an older pool's str";
	size_t n = strlen(text);
	int64_t h = pmo_hash_bytes_keyed(p->hash_k0, p->hash_k1, text, n);
	const uint8_t mag[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t ws = wide_new(p, PMO_T_STR, 0, text, n, h);
	uint64_t wl = wide_new(p, PMO_T_LONG, PMO_LONG_NEGATIVE, (const char *)mag, 9,
			       pmo_hash_bigint(-1, mag, 9));
	uint64_t cs = pmo_str_new(p, text, n);
	CHECK(ws && wl && cs && pmo_tx_end(p) == 0);

	pmo_var v, c;
	CHECK(pmo_var_get(p, ws, PMO_T_STR, &v) == 0 && pmo_var_get(p, cs, PMO_T_STR, &c) == 0);
	CHECK(v.size == n && c.size == n && memcmp(v.data, c.data, n) == 0);
	CHECK(v.hash == h && c.hash == h && !v.negative);
	CHECK(v.data == (const char *)pmo_direct(p, ws) + 32 &&
	      c.data == (const char *)pmo_direct(p, cs) + 24);
	CHECK(pmo_slot_hash(p, pmo_slot_ref(ws)) == h && pmo_slot_hash(p, pmo_slot_ref(cs)) == h);
	CHECK(pmo_value_verify(p, ws) == 0 && pmo_value_verify(p, cs) == 0);
	CHECK(pmo_var_get(p, wl, PMO_T_LONG, &v) == 0 && v.negative && v.size == 9);
	CHECK(pmo_value_verify(p, wl) == 0);

	/* Damage: a wide object's checksum, a sign on a str, unknown bits in
	 * a wide head, a compact size past the end of the pool. */
	pmo_varobj_wide *w = pmo_direct(p, ws);
	w->data[0] ^= 1;
	CHECK(pmo_value_verify(p, ws) == -1 && errno == EIO);
	w->data[0] ^= 1;
	w->head.flags = PMO_LONG_NEGATIVE;
	CHECK(pmo_var_get(p, ws, PMO_T_STR, &v) == -1 && errno == EIO);
	w->head.flags = 4;
	CHECK(pmo_var_get(p, ws, PMO_T_STR, &v) == -1 && errno == EIO);
	w->head.flags = 0;
	w->size = p->size;
	CHECK(pmo_var_get(p, ws, PMO_T_STR, &v) == -1 && errno == EIO);
	pmo_head *ch = pmo_head_at(p, cs);
	uint32_t keep = ch->flags;
	ch->flags |= PMO_LONG_NEGATIVE;
	CHECK(pmo_var_get(p, cs, PMO_T_STR, &v) == -1 && errno == EIO);
	ch->flags = (uint32_t)PMO_VAR_COMPACT_MAX << PMO_VAR_SIZE_SHIFT | PMO_VAR_COMPACT;
	CHECK(pmo_var_get(p, cs, PMO_T_STR, &v) == -1 && errno == EIO);
	ch->flags = keep;
	CHECK(pmo_var_get(p, cs, PMO_T_STR, &v) == 0 && v.size == n);
	test_pool_done(p);

	/* A value too large for the compact size field takes the wide layout. */
	size_t big = (size_t)PMO_VAR_COMPACT_MAX + 1;
	char *data = malloc(big);
	p = data ? test_pool_fresh("varobj-wide", big + (256u << 20)) : NULL;
	if (!p) {
		free(data);
		return;
	}
	memset(data, 'x', big);
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t b = pmo_bytes_new(p, data, big);
	CHECK(b && pmo_tx_end(p) == 0);
	CHECK(pmo_head_at(p, b)->flags == 0 && pmo_var_get(p, b, PMO_T_BYTES, &v) == 0);
	CHECK(v.size == big && v.data[big - 1] == 'x' && pmo_value_verify(p, b) == 0);
	free(data);
	test_pool_done(p);
}

/* An int beyond 64 bits in its slot (SBIG) and the same int as a heap
 * object (older pools) hash and order alike. */
static void test_short_bigint(void)
{
	pmo_pool *p = test_pool_fresh("sbig", POOL_SIZE);
	if (!p)
		return;
	const uint8_t mag[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}; /* 0x09...01 */
	pmo_slot in = pmo_slot_sbig(1, mag, 9);
	CHECK(pmo_slot_well_formed(in) && pmo_slot_tag(in) == PMO_TAG_SBIG);
	CHECK(pmo_slot_hash(p, in) == pmo_hash_bigint(-1, mag, 9));
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t off = pmo_long_new(p, 1, mag, 9);
	CHECK(off && pmo_tx_end(p) == 0);
	pmo_slot heap = pmo_slot_ref(off);
	CHECK(pmo_slot_hash(p, heap) == pmo_slot_hash(p, in));
	pmo_key a, b;
	int res = 1;
	CHECK(pmo_key_of_slot(p, &in, &a) == 0 && pmo_key_of_slot(p, &heap, &b) == 0);
	CHECK(pmo_key_cmp(&a, &b, &res) == 0 && res == 0);
	pmo_slot pos = pmo_slot_sbig(0, mag, 9), i64 = pmo_slot_int(INT64_MIN);
	CHECK(pmo_key_of_slot(p, &pos, &b) == 0 && pmo_key_cmp(&a, &b, &res) == 0 && res < 0);
	CHECK(pmo_key_of_slot(p, &i64, &b) == 0 && pmo_key_cmp(&a, &b, &res) == 0 && res < 0);
	/* Non-canonical forms are damage: a key of them is refused. */
	const uint8_t small[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}; /* 2^63-1 */
	pmo_slot bad = pmo_slot_sbig(0, small, 8);
	CHECK(!pmo_slot_well_formed(bad) && pmo_slot_hash(p, bad) == PMO_HASH_UNKNOWN);
	CHECK(pmo_key_of_slot(p, &bad, &b) == -1 && errno == EIO);
	/* So is a short str whose length runs past its slot. */
	pmo_slot long_sstr = pmo_slot_sstr("abc", 3);
	long_sstr.tag |= (uint64_t)0xff << 8;
	CHECK(pmo_key_of_slot(p, &long_sstr, &b) == -1 && errno == EIO);
	/* And one with a byte after its end, in either word: equal strs must
	 * have equal slots.  Every length's last byte is still its own. */
	for (size_t n = 0; n <= PMO_SSTR_MAX; n++) {
		pmo_slot s = pmo_slot_sstr("abcdefghijklmn", n);
		CHECK(pmo_slot_well_formed(s));
		if (n < PMO_SSTR_MAX) {
			((uint8_t *)&s)[2 + n] = 'x';
			CHECK(!pmo_slot_well_formed(s));
			((uint8_t *)&s)[2 + n] = 0;
			((uint8_t *)&s)[15] = 'x';
			CHECK(!pmo_slot_well_formed(s));
		}
	}
	test_pool_done(p);
}

/* A short tuple of small ints in its slot (STUP) and the same tuple on the
 * heap (as older pools hold it) hash and order alike; non-canonical STUP
 * slots are damage. */
static void test_short_tuple(void)
{
	pmo_pool *p = test_pool_fresh("stup", POOL_SIZE);
	if (!p)
		return;
	const int32_t items[3] = {INT32_MIN, -1, INT32_MAX};
	for (size_t n = 0; n <= PMO_STUP_MAX; n++) {
		pmo_slot in = pmo_slot_stup(items, n);
		CHECK(pmo_slot_well_formed(in) && pmo_slot_tag(in) == PMO_TAG_STUP);
		CHECK(pmo_stup_len(&in) == n);
		for (size_t i = 0; i < n; i++)
			CHECK(pmo_stup_item(&in, i) == items[i]);
		CHECK(pmo_tx_begin(p) == 0);
		uint64_t off = pmo_tuple_new(p, PMO_T_TUPLE, n);
		CHECK(off != 0);
		pmo_tuple *t = pmo_direct(p, off);
		for (size_t i = 0; i < n; i++)
			pmo_tuple_init_item(t, i, pmo_slot_int(items[i]));
		pmo_tuple_seal(p, t);
		CHECK(pmo_tx_end(p) == 0);
		pmo_slot heap = pmo_slot_ref(off);
		CHECK(pmo_slot_hash(p, in) == pmo_slot_hash(p, heap));
		CHECK(pmo_slot_hash(p, in) != PMO_HASH_UNKNOWN);
		pmo_key a, b;
		int res = 1;
		CHECK(pmo_key_of_slot(p, &in, &a) == 0 && pmo_key_of_slot(p, &heap, &b) == 0);
		CHECK(pmo_key_cmp(&a, &b, &res) == 0 && res == 0);
		/* One item more orders after it. */
		if (n < PMO_STUP_MAX) {
			pmo_slot longer = pmo_slot_stup(items, n + 1);
			CHECK(pmo_key_of_slot(p, &longer, &b) == 0);
			CHECK(pmo_key_cmp(&a, &b, &res) == 0 && res < 0);
		}
		/* Each byte of the slot that no item or the length owns is
		 * padding, and a non-zero one is damage, as is a length past
		 * PMO_STUP_MAX. */
		for (size_t byte = 2; byte < 16; byte++) {
			int owned = byte >= 4 && byte < 4 + 4 * n;
			if (owned)
				continue;
			pmo_slot bad = in;
			((uint8_t *)&bad)[byte] = 1;
			CHECK(!pmo_slot_well_formed(bad) &&
			      pmo_slot_hash(p, bad) == PMO_HASH_UNKNOWN);
			CHECK(pmo_key_of_slot(p, &bad, &b) == -1 && errno == EIO);
		}
	}
	/* Short bytes in their slot (SBYT) hash and order as the same bytes
	 * on the heap (older pools), and after a str of the same bytes. */
	for (size_t n = 0; n <= PMO_SSTR_MAX; n++) {
		const char *data = "a\0cdefghijklmn";
		pmo_slot in = pmo_slot_sbytes(data, n);
		CHECK(pmo_slot_well_formed(in) && pmo_slot_tag(in) == PMO_TAG_SBYT);
		CHECK(pmo_tx_begin(p) == 0);
		uint64_t off = pmo_bytes_new(p, data, n);
		CHECK(off && pmo_tx_end(p) == 0);
		pmo_slot heap = pmo_slot_ref(off), str = pmo_slot_sstr(data, n);
		CHECK(pmo_slot_hash(p, in) == pmo_slot_hash(p, heap));
		pmo_key a, b;
		int res = 1;
		CHECK(pmo_key_of_slot(p, &in, &a) == 0 && a.kind == PMO_K_BYTES);
		CHECK(pmo_key_of_slot(p, &heap, &b) == 0 && pmo_key_cmp(&a, &b, &res) == 0 &&
		      res == 0);
		CHECK(pmo_key_of_slot(p, &str, &b) == 0 && b.kind == PMO_K_STR);
		CHECK(pmo_key_cmp(&a, &b, &res) == -1 || res != 0); /* never equal */
		if (n < PMO_SSTR_MAX) {
			pmo_slot bad = in;
			((uint8_t *)&bad)[2 + n] = 1;
			CHECK(!pmo_slot_well_formed(bad) && pmo_key_of_slot(p, &bad, &b) == -1);
		}
	}
	pmo_slot four = pmo_slot_stup(items, 3);
	four.tag += (uint64_t)1 << 8;
	CHECK(!pmo_slot_well_formed(four));
	test_pool_done(p);
}

static void test_refcount_and_gc(void)
{
	pmo_pool *p = test_pool_fresh("gc", POOL_SIZE);
	if (!p)
		return;
	/* Deep chain: freeing must not recurse on the C stack. */
	uint64_t first, last;
	CHECK(build_chain(p, 30000, &first, &last) == 0);
	CHECK(test_set_root(p, pmo_slot_ref(first)) == 0);
	uint64_t frees = p->stats.frees;
	CHECK(test_set_root(p, pmo_slot_none()) == 0);
	CHECK(p->stats.frees - frees >= 60000); /* lists and their arrays */

	/* A cycle hanging off the root survives gc; cut loose, gc frees it. */
	CHECK(build_chain(p, 1000, &first, &last) == 0);
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_incref(p, first) == 0);
	CHECK(pmo_list_append(p, pmo_list_get(p, last), pmo_slot_ref(first)) == 0);
	CHECK(pmo_slot_store(p, &p->root->root, pmo_slot_ref(first)) == 0);
	CHECK(pmo_tx_end(p) == 0);
	pmo_gc_result r;
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	CHECK_EQ_I64(r.live, 1000);
	CHECK_EQ_I64(r.cycles + r.orphans, 0);
	CHECK(r.type_counts && r.n_type_counts > PMO_T_LIST && r.type_counts[PMO_T_LIST] == 1000);
	free(r.type_counts);
	CHECK(test_set_root(p, pmo_slot_int(7)) == 0);
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	CHECK_EQ_I64(r.live, 0);
	CHECK_EQ_I64(r.cycles, 1000);
	CHECK_EQ_I64(r.subs_freed, 1000);
	free(r.type_counts);

	/* An object held only as an extra root (a live proxy) survives. */
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t orphan = pmo_list_new(p, 0);
	pmo_head_at(p, orphan)->refcnt = 0;
	CHECK(pmo_tx_end(p) == 0);
	CHECK(pmo_gc(p, &orphan, 1, &r, NULL, NULL) == 0);
	CHECK_EQ_I64(r.live, 1);
	free(r.type_counts);
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	CHECK_EQ_I64(r.orphans, 1);
	free(r.type_counts);
	test_pool_done(p);
}

static void test_list(void)
{
	pmo_pool *p = test_pool_fresh("list", POOL_SIZE);
	if (!p)
		return;
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t off = pmo_list_new(p, 0);
	CHECK(pmo_slot_store(p, &p->root->root, pmo_slot_ref(off)) == 0);
	CHECK(pmo_tx_end(p) == 0);
	pmo_list *l = pmo_list_get(p, off);

	CHECK(pmo_tx_begin(p) == 0);
	for (int i = 0; i < 1000; i++)
		CHECK(pmo_list_append(p, l, pmo_slot_int(i)) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK(l->len == 1000 && l->cap >= 1000);

	/* Rolled-back growth: length and contents as before. */
	CHECK(pmo_tx_begin(p) == 0);
	for (int i = 0; i < 5000; i++)
		CHECK(pmo_list_append(p, l, pmo_slot_int(-i)) == 0);
	pmo_tx_abort(p, ECANCELED);
	CHECK(pmo_tx_end(p) == -1);
	CHECK_EQ_I64(l->len, 1000);
	CHECK_EQ_I64(pmo_slot_as_int(pmo_list_items(p, l)[999]), 999);

	/* Replace [10, 20) by three items; then delete the first 5. */
	pmo_slot three[3] = {pmo_slot_int(-1), pmo_slot_int(-2), pmo_slot_int(-3)};
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_list_replace(p, l, 10, 20, three, 3, NULL) == 0);
	CHECK(pmo_list_replace(p, l, 0, 5, NULL, 0, NULL) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK_EQ_I64(l->len, 1000 - 10 + 3 - 5);
	CHECK_EQ_I64(pmo_slot_as_int(pmo_list_items(p, l)[5]), -1);
	CHECK_EQ_I64(pmo_slot_as_int(pmo_list_items(p, l)[8]), 20);
	/* Slots past the length are empty. */
	CHECK(pmo_list_items(p, l)[l->len].tag == PMO_TAG_EMPTY);
	test_pool_done(p);
}

/* libpmemobj's failures with errno 0 or -1 become EIO, never errno <= 0. */
static void test_error_errno(void)
{
	CHECK(pmo_err_pmdk(-1, "x") == -1 && errno == EIO);
	CHECK(pmo_err_pmdk(0, "x") == -1 && errno == EIO);
	CHECK(pmo_err_pmdk(ENOSPC, "x") == -1 && errno == ENOSPC);
}

int main(void)
{
	test_error_errno();
	test_pool_lifecycle();
	test_foreign_files();
	test_transactions();
	test_values();
	test_varobj_layouts();
	test_short_bigint();
	test_short_tuple();
	test_refcount_and_gc();
	test_list();
	return test_finish();
}
