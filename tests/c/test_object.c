/*
 * Unit tests of the core behind PersistentObject and PersistentTuple: the
 * type and name tables, attribute tables (set, find, growth out of the
 * inline space, removal, rollback), refcount freeing and gc of objects,
 * boxes and persistent tuples, all in plain C (no binding, no hooks).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "gc.h"
#include "heap.h"
#include "list.h"
#include "object.h"
#include "pool.h"
#include "testutil.h"
#include "tx.h"
#include "types.h"
#include "value.h"

#define POOL_SIZE (32u << 20)

static uint64_t str_new(pmo_pool *p, const char *s)
{
	return pmo_str_new(p, s, strlen(s));
}

static void test_tables(void)
{
	const char *path = test_pool_path("tables");
	char saved[256];
	snprintf(saved, sizeof saved, "%s", path);
	pmo_pool *p = pmo_pool_create(saved, POOL_SIZE, 0600);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK(p->root->attr_names.tag == PMO_TAG_EMPTY);
	CHECK(pmo_type_lookup(p, "m:A", 3) == 0 && errno == 0);
	CHECK(pmo_name_lookup(p, "x", 1) == -1);

	CHECK(pmo_tx_begin(p) == 0);
	uint32_t a = pmo_type_register(p, "m:A", 3);
	uint32_t b = pmo_type_register(p, "m:B", 3);
	uint32_t a2 = pmo_type_register(p, "m:A", 3);
	int64_t x = pmo_name_intern(p, "x", 1);
	int64_t y = pmo_name_intern(p, "y", 1);
	int64_t x2 = pmo_name_intern(p, "x", 1);
	CHECK(pmo_tx_end(p) == 0);
	CHECK_EQ_I64(a, PMO_T_FIRST_USER);
	CHECK_EQ_I64(b, PMO_T_FIRST_USER + 1);
	CHECK_EQ_I64(a2, a);
	CHECK_EQ_I64(x, 0);
	CHECK_EQ_I64(y, 1);
	CHECK_EQ_I64(x2, 0);

	/* An aborted registration leaves nothing. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_type_register(p, "m:C", 3) == PMO_T_FIRST_USER + 2);
	CHECK(pmo_name_intern(p, "z", 1) == 2);
	pmo_tx_abort(p, ECANCELED);
	CHECK(pmo_tx_end(p) != 0);
	CHECK(pmo_type_lookup(p, "m:C", 3) == 0);
	CHECK(pmo_name_lookup(p, "z", 1) == -1);
	CHECK_EQ_I64(pmo_strtab_len(p, p->root->type_table), 2);

	/* gc keeps both tables although nothing else refers to them. */
	pmo_gc_result r;
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	free(r.type_counts);
	CHECK_EQ_I64(r.orphans + r.cycles, 0);
	CHECK(pmo_pool_close(p) == 0);

	p = pmo_pool_open(saved);
	CHECK(p != NULL);
	if (!p)
		return;
	size_t n = 0;
	const char *s = pmo_type_path(p, PMO_T_FIRST_USER + 1, &n);
	CHECK(s && n == 3 && memcmp(s, "m:B", 3) == 0);
	CHECK(pmo_type_path(p, PMO_T_FIRST_USER + 2, NULL) == NULL && errno == EINVAL);
	CHECK(pmo_type_path(p, PMO_T_LIST, NULL) == NULL && errno == EINVAL);
	CHECK(pmo_type_lookup(p, "m:A", 3) == PMO_T_FIRST_USER);
	s = pmo_name_get(p, 1, &n);
	CHECK(s && n == 1 && s[0] == 'y');
	CHECK(pmo_name_get(p, 7, NULL) == NULL && errno == EINVAL);
	pmo_pool_close(p);
	unlink(saved);
}

static void test_attributes(void)
{
	pmo_pool *p = test_pool_fresh("attrs", POOL_SIZE);
	if (!p)
		return;
	CHECK(pmo_tx_begin(p) == 0);
	uint32_t code = pmo_type_register(p, "m:Point", 7);
	uint64_t off = pmo_object_new(p, code, 2);
	CHECK(off != 0);
	CHECK(pmo_object_new(p, PMO_T_LIST, 0) == 0 && errno == EINVAL);
	CHECK(pmo_tx_end(p) == 0);
	/* Give the root the object's reference. */
	CHECK(test_set_root(p, pmo_slot_ref(off)) == 0);
	pmo_object *o = pmo_object_get(p, off);
	CHECK(o != NULL);
	if (!o)
		return;
	CHECK(pmo_is_object(&o->head));
	CHECK_EQ_I64(o->head.type, code);
	CHECK_EQ_I64(o->cap, 2);
	CHECK(o->attrs == 0);

	int grew = -1;
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_set(p, o, 5, pmo_slot_int(1), &grew) == 0 && grew == 0);
	CHECK(pmo_object_set(p, o, 9, pmo_slot_ref(str_new(p, "hello")), &grew) == 0 && grew == 0);
	CHECK(pmo_object_set(p, o, 7, pmo_slot_float(2.5), &grew) == 0 && grew == 1);
	CHECK(pmo_object_set(p, o, 5, pmo_slot_int(10), &grew) == 0 && grew == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK(o->attrs != 0); /* moved out of the inline space */
	CHECK_EQ_I64(o->len, 3);
	CHECK_EQ_I64(pmo_object_find(p, o, 5), 0);
	CHECK_EQ_I64(pmo_object_find(p, o, 9), 1);
	CHECK_EQ_I64(pmo_object_find(p, o, 7), 2);
	CHECK_EQ_I64(pmo_object_find(p, o, 6), -1);
	pmo_attr *a = pmo_object_attrs(p, o);
	CHECK(a[0].value.tag == PMO_TAG_INT && pmo_slot_as_int(a[0].value) == 10);
	CHECK(a[2].value.tag == PMO_TAG_FLOAT && pmo_slot_as_float(a[2].value) == 2.5);
	CHECK(pmo_slot_is_ref(a[1].value));
	pmo_var hello;
	CHECK(pmo_var_get(p, a[1].value.val, PMO_T_STR, &hello) == 0);
	CHECK(hello.size == 5 && memcmp(hello.data, "hello", 5) == 0);

	/* A rolled-back change leaves the table as it was. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_set(p, o, 5, pmo_slot_int(99), NULL) == 0);
	CHECK(pmo_object_set(p, o, 11, pmo_slot_none(), NULL) == 0);
	CHECK(pmo_object_remove(p, o, 1, NULL) == 0);
	pmo_tx_abort(p, ECANCELED);
	CHECK(pmo_tx_end(p) != 0);
	a = pmo_object_attrs(p, o);
	CHECK_EQ_I64(o->len, 3);
	CHECK_EQ_I64(pmo_slot_as_int(a[0].value), 10);
	CHECK_EQ_I64(pmo_object_find(p, o, 11), -1);
	CHECK_EQ_I64(pmo_object_find(p, o, 9), 1);

	/* Removal keeps the order of the rest and frees the removed str. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_remove(p, o, 1, NULL) == 0);
	CHECK(pmo_object_remove(p, o, 5, NULL) != 0 && errno == EINVAL);
	CHECK(pmo_tx_fail(p) != 0); /* the failure protocol rolls both back */
	CHECK_EQ_I64(o->len, 3);
	uint64_t frees = p->stats.frees;
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_remove(p, o, 1, NULL) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK_EQ_I64(o->len, 2);
	CHECK_EQ_I64(pmo_object_find(p, o, 5), 0);
	CHECK_EQ_I64(pmo_object_find(p, o, 7), 1);
	CHECK_EQ_I64(p->stats.frees - frees, 1);

	/* Dropping the root frees the object, its array and what it holds. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_set(p, o, 9, pmo_slot_ref(str_new(p, "again")), NULL) == 0);
	CHECK(pmo_tx_end(p) == 0);
	frees = p->stats.frees;
	CHECK(test_set_root(p, pmo_slot_none()) == 0);
	CHECK_EQ_I64(p->stats.frees - frees, 3); /* object, attrs array, str */
	pmo_gc_result r;
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	free(r.type_counts);
	CHECK_EQ_I64(r.orphans + r.cycles + r.subs_freed, 0);
	test_pool_done(p);
}

static void test_object_gc(void)
{
	pmo_pool *p = test_pool_fresh("objgc", POOL_SIZE);
	if (!p)
		return;
	/* root -> obj -> list -> obj (a cycle), obj.s -> str */
	CHECK(pmo_tx_begin(p) == 0);
	uint32_t code = pmo_type_register(p, "m:Node", 6);
	uint64_t obj = pmo_object_new(p, code, 0);
	uint64_t lst = pmo_list_new(p, 0);
	pmo_object *o = pmo_direct(p, obj);
	CHECK(pmo_object_set(p, o, 0, pmo_slot_ref(lst), NULL) == 0);
	CHECK(pmo_object_set(p, o, 1, pmo_slot_ref(str_new(p, "s")), NULL) == 0);
	CHECK(pmo_incref(p, obj) == 0);
	CHECK(pmo_list_append(p, pmo_direct(p, lst), pmo_slot_ref(obj)) == 0);
	CHECK(pmo_slot_store(p, &p->root->root, pmo_slot_ref(obj)) == 0);
	/* The creation reference went to the root, the incref to the list. */
	CHECK(pmo_tx_end(p) == 0);
	CHECK_EQ_I64(pmo_head_at(p, obj)->refcnt, 2);

	pmo_gc_result r;
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	CHECK_EQ_I64(r.orphans + r.cycles, 0);
	CHECK(r.n_type_counts > code && r.type_counts[code] == 1);
	free(r.type_counts);

	/* Drop the root: the cycle survives refcounting, gc frees it. */
	CHECK(test_set_root(p, pmo_slot_none()) == 0);
	CHECK_EQ_I64(pmo_head_at(p, obj)->refcnt, 1);
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	free(r.type_counts);
	CHECK_EQ_I64(r.cycles, 3); /* the object, the list, the str they hold */
	CHECK_EQ_I64(r.orphans, 0);
	CHECK_EQ_I64(r.subs_freed, 2); /* attrs array, list items */
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	free(r.type_counts);
	CHECK_EQ_I64(r.orphans + r.cycles + r.subs_freed, 0);
	test_pool_done(p);
}

static void test_box_and_ptuple(void)
{
	pmo_pool *p = test_pool_fresh("box", POOL_SIZE);
	if (!p)
		return;
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t box = pmo_box_new(p, pmo_slot_int(-7));
	CHECK(box != 0);
	CHECK(pmo_box_new(p, pmo_slot_ref(box)) == 0 && errno == EINVAL);
	CHECK(pmo_tx_fail(p) != 0);
	CHECK(pmo_tx_begin(p) == 0);
	box = pmo_box_new(p, pmo_slot_int(-7));
	uint64_t t = pmo_tuple_new(p, PMO_T_PTUPLE, 2);
	pmo_tuple *tp = pmo_direct(p, t);
	pmo_tuple_init_item(tp, 0, pmo_slot_int(1));
	pmo_tuple_init_item(tp, 1, pmo_slot_ref(box));
	CHECK(pmo_tx_end(p) == 0);
	const pmo_box *b = pmo_box_get(p, box);
	CHECK(b && b->value.tag == PMO_TAG_INT && pmo_slot_as_int(b->value) == -7);
	CHECK(pmo_box_get(p, t) == NULL && errno == EIO);
	CHECK(pmo_tuple_get(p, t, PMO_T_PTUPLE) != NULL);
	CHECK(strcmp(pmo_type_name(PMO_T_PTUPLE), "PersistentTuple") == 0);

	/* A persistent tuple of core-hashable items hashes like the tuple. */
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t t1 = pmo_tuple_new(p, PMO_T_PTUPLE, 2);
	uint64_t t2 = pmo_tuple_new(p, PMO_T_TUPLE, 2);
	pmo_tuple *a = pmo_direct(p, t1), *c = pmo_direct(p, t2);
	pmo_tuple_init_item(a, 0, pmo_slot_int(3));
	pmo_tuple_init_item(a, 1, pmo_slot_ref(str_new(p, "k")));
	pmo_tuple_init_item(c, 0, pmo_slot_int(3));
	pmo_tuple_init_item(c, 1, pmo_slot_ref(str_new(p, "k")));
	pmo_tuple_seal(p, a);
	pmo_tuple_seal(p, c);
	CHECK(pmo_tx_end(p) == 0);
	CHECK(pmo_slot_hash(p, pmo_slot_ref(t1)) != PMO_HASH_UNKNOWN);
	CHECK_EQ_I64(pmo_slot_hash(p, pmo_slot_ref(t1)), pmo_slot_hash(p, pmo_slot_ref(t2)));

	/* The tuple holds the box: dropping the tuple frees both. */
	CHECK(test_set_root(p, pmo_slot_ref(t)) == 0);
	uint64_t frees = p->stats.frees;
	CHECK(test_set_root(p, pmo_slot_none()) == 0);
	CHECK_EQ_I64(p->stats.frees - frees, 2);
	pmo_gc_result r;
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	free(r.type_counts);
	CHECK_EQ_I64(r.orphans + r.cycles, 4); /* t1, t2 and their strs: never stored */
	test_pool_done(p);
}

int main(void)
{
	test_tables();
	test_attributes();
	test_object_gc();
	test_box_and_ptuple();
	return test_finish();
}
