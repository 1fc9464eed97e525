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

	const pmo_varobj *so = pmo_varobj_get(p, s, PMO_T_STR);
	CHECK(so && so->size == 6 && memcmp(so->data, "h\xc3\xa9llo", 6) == 0);
	CHECK(so && so->hash == pmo_hash_bytes_keyed(p->hash_k0, p->hash_k1, "h\xc3\xa9llo", 6));
	const pmo_varobj *bo = pmo_varobj_get(p, big, PMO_T_LONG);
	CHECK(bo && (bo->head.flags & PMO_LONG_NEGATIVE));
	CHECK(pmo_varobj_get(p, s, PMO_T_BYTES) == NULL && errno == EIO);
	CHECK(pmo_complex_get(p, c) && pmo_complex_get(p, c)->imag == -2.0);
	CHECK(tp->hash != PMO_HASH_UNKNOWN);
	/* Python: hash((1, 2.0)) == hash((1, 2)) */
	int64_t h12[2] = {pmo_hash_int64(1), pmo_hash_int64(2)};
	int64_t h1f[2] = {pmo_slot_hash(p, pmo_slot_int(1)), pmo_slot_hash(p, pmo_slot_float(2.0))};
	CHECK_EQ_I64(pmo_hash_tuple(h12, 2), pmo_hash_tuple(h1f, 2));
	CHECK_EQ_I64(pmo_slot_hash(p, pmo_slot_bool(1)), pmo_slot_hash(p, pmo_slot_int(1)));
	/* Offsets that are not objects are refused, not followed. */
	CHECK(pmo_varobj_get(p, 8, PMO_T_STR) == NULL && errno == EIO);
	CHECK(pmo_varobj_get(p, p->size + 4096, PMO_T_STR) == NULL && errno == EIO);

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
	test_refcount_and_gc();
	test_list();
	return test_finish();
}
