/*
 * Unit tests of the core behind PersistentObject and PersistentTuple: the
 * type and name tables, attributes in both layouts (set, lookup, growth
 * out of the inline space, spilling, removal, rollback), shapes, refcount
 * freeing and gc of objects,
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
#include "shape.h"
#include "testutil.h"
#include "tx.h"
#include "types.h"
#include "value.h"

#define POOL_SIZE (32u << 20)

static uint64_t str_new(pmo_pool *p, const char *s)
{
	return pmo_str_new(p, s, strlen(s));
}

/* A pool at test_pool_path(name), whose path is copied to saved[256]
 * for reopening it; NULL (reported) on failure. */
static pmo_pool *create_saved(const char *name, char *saved)
{
	snprintf(saved, 256, "%s", test_pool_path(name));
	pmo_pool *p = pmo_pool_create(saved, POOL_SIZE, 0600);
	CHECK(p != NULL);
	return p;
}

static void test_tables(void)
{
	char saved[256];
	pmo_pool *p = create_saved("tables", saved);
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

/* The names of the object's attributes, in order, into names[8]. */
typedef struct name_list {
	uint64_t names[8];
	int n;
} name_list;

static int collect_name(void *ctx, uint64_t name, pmo_slot v)
{
	name_list *l = ctx;
	CHECK(v.tag != PMO_TAG_EMPTY);
	if (l->n < 8)
		l->names[l->n] = name;
	l->n++;
	return 0;
}

static int names_are(pmo_pool *p, uint64_t off, int n, const uint64_t *want)
{
	name_list l = {.n = 0};
	if (pmo_object_each(p, off, collect_name, &l) != 0 || l.n != n)
		return 0;
	return memcmp(l.names, want, (size_t)n * sizeof *want) == 0;
}

static int64_t int_attr(pmo_pool *p, uint64_t off, uint64_t name)
{
	pmo_slot *s;
	return pmo_object_lookup(p, off, name, &s) == 1 && s->tag == PMO_TAG_INT
		       ? pmo_slot_as_int(*s)
		       : -1;
}

/* 1 found, 0 absent, -1 error (errno set) */
static int lookup(pmo_pool *p, uint64_t off, uint64_t name)
{
	pmo_slot *s;
	return pmo_object_lookup(p, off, name, &s);
}

/* The attribute API on an object of either layout with room for two:
 * the third attribute grows a table out of its inline space, and spills
 * a shaped object into a table; both then behave alike. */
static void check_attributes(int shaped)
{
	pmo_pool *p = test_pool_fresh(shaped ? "attrs_shaped" : "attrs_table", POOL_SIZE);
	if (!p)
		return;
	CHECK(pmo_tx_begin(p) == 0);
	uint32_t code = pmo_type_register(p, "m:Point", 7);
	uint64_t off = shaped ? pmo_object_new(p, code, 2) : pmo_object_new_table(p, code, 2);
	CHECK(off != 0);
	CHECK(pmo_object_new(p, PMO_T_LIST, 2) == 0 && errno == EINVAL);
	CHECK(pmo_object_new_table(p, PMO_T_LIST, 2) == 0 && errno == EINVAL);
	CHECK(pmo_tx_end(p) == 0);
	/* Give the root the object's reference. */
	CHECK(test_set_root(p, pmo_slot_ref(off)) == 0);
	const pmo_head *h = pmo_head_at(p, off);
	CHECK(pmo_is_object(h));
	CHECK_EQ_I64(h->type, code);
	CHECK_EQ_I64(!!(h->flags & PMO_OBJECT_SHAPED), shaped);
	CHECK_EQ_I64(pmo_object_len(p, off), 0);

	uint64_t room = 9;
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_set(p, off, 5, pmo_slot_int(1), &room) == 0 && room == 1);
	CHECK(pmo_object_set(p, off, 9, pmo_slot_ref(str_new(p, "hello")), &room) == 0 &&
	      room == 2);
	CHECK(pmo_object_set(p, off, 7, pmo_slot_float(2.5), &room) == 0 && room == 3);
	CHECK(pmo_object_set(p, off, 5, pmo_slot_int(10), &room) == 0 && room == 0);
	CHECK(pmo_tx_end(p) == 0);
	if (shaped)
		CHECK(h->flags & PMO_OBJECT_SPILLED);
	else
		CHECK(((const pmo_object *)h)->attrs != 0); /* out of the inline space */
	CHECK_EQ_I64(pmo_object_len(p, off), 3);
	CHECK(names_are(p, off, 3, (uint64_t[]){5, 9, 7}));
	CHECK_EQ_I64(int_attr(p, off, 5), 10);
	pmo_slot *f, *str;
	CHECK(pmo_object_lookup(p, off, 7, &f) == 1 && f->tag == PMO_TAG_FLOAT &&
	      pmo_slot_as_float(*f) == 2.5);
	pmo_var hello;
	CHECK(pmo_object_lookup(p, off, 9, &str) == 1 && pmo_slot_is_ref(*str) &&
	      pmo_var_get(p, str->val, PMO_T_STR, &hello) == 0);
	CHECK(hello.size == 5 && memcmp(hello.data, "hello", 5) == 0);
	CHECK(lookup(p, off, 6) == 0);

	/* A rolled-back change leaves the object as it was. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_set(p, off, 5, pmo_slot_int(99), NULL) == 0);
	CHECK(pmo_object_set(p, off, 11, pmo_slot_none(), NULL) == 0);
	CHECK(pmo_object_del(p, off, 9) == 0);
	pmo_tx_abort(p, ECANCELED);
	CHECK(pmo_tx_end(p) != 0);
	CHECK(names_are(p, off, 3, (uint64_t[]){5, 9, 7}));
	CHECK_EQ_I64(int_attr(p, off, 5), 10);

	/* Deletion keeps the order of the rest and frees the removed str. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_del(p, off, 9) == 0);
	CHECK(pmo_object_del(p, off, 9) == 1);
	CHECK(pmo_tx_fail(p) != 0); /* the failure protocol rolls it back */
	CHECK_EQ_I64(pmo_object_len(p, off), 3);
	uint64_t frees = p->stats.frees;
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_del(p, off, 9) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK(names_are(p, off, 2, (uint64_t[]){5, 7}));
	CHECK_EQ_I64(p->stats.frees - frees, 1);

	/* Dropping the root frees the object, its table or array, and
	 * what it holds. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_set(p, off, 9, pmo_slot_ref(str_new(p, "again")), NULL) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK(names_are(p, off, 3, (uint64_t[]){5, 7, 9}));
	frees = p->stats.frees;
	CHECK(test_set_root(p, pmo_slot_none()) == 0);
	CHECK_EQ_I64(p->stats.frees - frees, 3);
	pmo_gc_result r;
	CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == 0);
	free(r.type_counts);
	CHECK_EQ_I64(r.orphans + r.cycles + r.subs_freed, 0);
	test_pool_done(p);
}

static void test_attributes(void)
{
	check_attributes(0);
	check_attributes(1);
}

static uint32_t shape_of(pmo_pool *p, uint64_t off)
{
	return pmo_head_at(p, off)->flags & PMO_SHAPE_MAX_ID;
}

static void note_problem(void *ctx, uint64_t off, uint32_t type, const char *problem)
{
	(void)off, (void)type, (void)problem;
	++*(int *)ctx;
}

static int problems(pmo_pool *p)
{
	int n = 0;
	pmo_check_result cr;
	CHECK(pmo_check(p, NULL, 0, note_problem, &n, &cr) == 0);
	free(cr.type_counts);
	return n;
}

/* In the open transaction: the names "a", "b", ... (indices 0 .. nnames-1)
 * and a root list of n new shaped objects of one class, 3 slots each. */
static void objects_in_root(pmo_pool *p, int nnames, uint64_t *obj, int n)
{
	uint32_t code = pmo_type_register(p, "m:P", 3);
	for (int i = 0; i < nnames; i++)
		CHECK(pmo_name_intern(p, (const char[]){(char)('a' + i)}, 1) == i);
	uint64_t lst = pmo_list_new(p, (size_t)n);
	CHECK(pmo_slot_store(p, &p->root->root, pmo_slot_ref(lst)) == 0);
	for (int i = 0; i < n; i++) {
		obj[i] = pmo_object_new(p, code, 3);
		CHECK(pmo_list_append(p, pmo_direct(p, lst), pmo_slot_ref(obj[i])) == 0);
	}
}

/* Shapes: shared by objects that set the same names in the same order,
 * appended in the setting transaction (and gone with it on rollback),
 * kept across reopen; damage to a shape or a shaped header is an error. */
static void test_shapes(void)
{
	char saved[256];
	pmo_pool *p = create_saved("shapes", saved);
	if (!p)
		return;
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t obj[3];
	objects_in_root(p, 4, obj, 3);
	for (int i = 0; i < 2; i++) /* a, b, c in that order */
		for (int n = 0; n < 3; n++)
			CHECK(pmo_object_set(p, obj[i], (uint64_t)n, pmo_slot_int(10 * i + n),
					     NULL) == 0);
	CHECK(pmo_object_set(p, obj[2], 1, pmo_slot_int(7), NULL) == 0); /* b first */
	CHECK(pmo_tx_end(p) == 0);
	CHECK_EQ_I64(shape_of(p, obj[0]), shape_of(p, obj[1]));
	CHECK(shape_of(p, obj[2]) != shape_of(p, obj[0]));
	CHECK_EQ_I64(pmo_strtab_len(p, p->root->shapes), 4); /* a, ab, abc, b */
	CHECK_EQ_I64(int_attr(p, obj[1], 2), 12);
	CHECK(lookup(p, obj[2], 0) == 0);

	/* Deleting empties the slot; setting again takes it back. */
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_del(p, obj[0], 1) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK(lookup(p, obj[0], 1) == 0);
	CHECK(names_are(p, obj[0], 2, (uint64_t[]){0, 2}));
	CHECK(problems(p) == 0);
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_set(p, obj[0], 1, pmo_slot_int(5), NULL) == 0);
	CHECK(pmo_tx_end(p) == 0);
	CHECK(names_are(p, obj[0], 3, (uint64_t[]){0, 1, 2}));
	CHECK_EQ_I64(pmo_head_at(p, obj[0])->flags & PMO_OBJECT_SPILLED, 0);

	/* A rolled-back new shape is gone from the pool and its copy. */
	uint32_t before = shape_of(p, obj[2]);
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_set(p, obj[2], 3, pmo_slot_int(1), NULL) == 0);
	CHECK(shape_of(p, obj[2]) == 5);
	pmo_tx_abort(p, ECANCELED);
	CHECK(pmo_tx_end(p) != 0);
	CHECK_EQ_I64(shape_of(p, obj[2]), before);
	CHECK_EQ_I64(pmo_strtab_len(p, p->root->shapes), 4);
	CHECK(pmo_tx_begin(p) == 0);
	CHECK(pmo_object_set(p, obj[2], 0, pmo_slot_int(2), NULL) == 0); /* b, a */
	CHECK(pmo_tx_end(p) == 0);
	CHECK_EQ_I64(shape_of(p, obj[2]), 5);
	CHECK(names_are(p, obj[2], 2, (uint64_t[]){1, 0}));
	CHECK(lookup(p, obj[2], 3) == 0);

	/* The shapes come back from the pool at open. */
	CHECK(pmo_pool_close(p) == 0);
	p = pmo_pool_open(saved);
	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_EQ_I64(int_attr(p, obj[1], 1), 11);
	CHECK(names_are(p, obj[2], 2, (uint64_t[]){1, 0}));
	CHECK(problems(p) == 0);

	/* Damage to a shaped header: each is an error, never a wild read. */
	pmo_head *h = pmo_head_at(p, obj[1]);
	uint32_t flags = h->flags;
	const uint32_t bad[] = {
		flags & ~(PMO_OBJECT_CAP_MASK << PMO_OBJECT_CAP_SHIFT), /* cap 0 */
		(flags & ~PMO_SHAPE_MAX_ID) | 77,                       /* no shape 77 */
		(flags & ~(PMO_OBJECT_CAP_MASK << PMO_OBJECT_CAP_SHIFT)) | 2u << 24, /* 3 in 2 */
		flags | PMO_OBJECT_SPILLED, /* slot 0 no table */
		(flags & ~(PMO_OBJECT_CAP_MASK << PMO_OBJECT_CAP_SHIFT)) |
			63u << 24, /* past its block */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		h->flags = bad[i];
		/* cap 63 may still lie inside the pool: then only check sees it */
		if (i < 4)
			CHECK(lookup(p, obj[1], 0) == -1 && errno == EIO);
		CHECK(problems(p) >= 1);
	}
	h->flags = flags;
	CHECK(problems(p) == 0);
	pmo_pool_close(p);

	/* Damage to a shape entry: a parent not before it. */
	p = pmo_pool_open(saved);
	CHECK(p != NULL);
	if (!p)
		return;
	pmo_list *sl = pmo_list_get(p, p->root->shapes.val);
	pmo_slot *e = pmo_list_items(p, sl);
	pmo_slot saved_e = e[1];
	e[1] = pmo_slot_int((int64_t)(9ull << 32 | 1));
	CHECK(lookup(p, obj[1], 0) == -1 && errno == EIO);
	CHECK(problems(p) >= 1);
	e[1] = saved_e;
	pmo_pool_close(p);
	unlink(saved);
}

static int count_attr(void *ctx, uint64_t name, pmo_slot v)
{
	(void)name, (void)v;
	++*(int *)ctx;
	return 0;
}

/* Random damage to shaped objects, a spilled one's table and the shape
 * list: every read and the check run on it must fail cleanly or read
 * something, never read outside what they checked (the ASan build runs
 * this too), and the pool is sound again once the bytes are put back. */
static void test_shapes_damaged(void)
{
	pmo_pool *p = test_pool_fresh("shapes_damaged", POOL_SIZE);
	if (!p)
		return;
	CHECK(pmo_tx_begin(p) == 0);
	uint64_t obj[4];
	objects_in_root(p, 8, obj, 4);
	for (int i = 0; i < 4; i++) {
		for (int n = 0; n < (i == 3 ? 5 : 3); n++) /* the last one spills */
			CHECK(pmo_object_set(p, obj[i], (uint64_t)(n + i) % 8,
					     n == 1 ? pmo_slot_ref(str_new(p, "a str of the heap"))
						    : pmo_slot_int(n),
					     NULL) == 0);
	}
	CHECK(pmo_tx_end(p) == 0);
	CHECK(problems(p) == 0);

	typedef struct {
		unsigned char *at;
		size_t len;
	} range;
	range t[8];
	size_t nt = 0;
	for (int i = 0; i < 4; i++)
		t[nt++] = (range){pmo_direct(p, obj[i]), sizeof(pmo_shaped) + 3 * sizeof(pmo_slot)};
	uint64_t table = ((pmo_shaped *)pmo_direct(p, obj[3]))->values[0].val;
	t[nt++] = (range){pmo_direct(p, table), sizeof(pmo_object) + 5 * sizeof(pmo_attr)};
	pmo_list *sl = pmo_list_get(p, p->root->shapes.val);
	CHECK(sl != NULL);
	if (!sl) {
		test_pool_done(p);
		return;
	}
	t[nt++] = (range){(unsigned char *)sl, sizeof *sl};
	t[nt++] = (range){(unsigned char *)pmo_list_items(p, sl), sl->len * sizeof(pmo_slot)};

	unsigned char saved[1024];
	int found = 0;
	srand(20261205);
	for (int trial = 0; trial < 600; trial++) {
		range r = t[(size_t)rand() % nt];
		memcpy(saved, r.at, r.len);
		for (int k = 1 + rand() % 3; k > 0; k--)
			r.at[(size_t)rand() % r.len] ^= (unsigned char)(1u << (rand() % 8));
		pmo_shapes_free(p); /* the copy is reloaded from the damaged list */
		int errors = 0;
		for (int i = 0; i < 4; i++) {
			int n = 0;
			errors += pmo_object_each(p, obj[i], count_attr, &n) != 0;
			for (uint64_t name = 0; name < 8; name++) {
				pmo_slot *v;
				errors += pmo_object_lookup(p, obj[i], name, &v) < 0;
			}
		}
		found += errors > 0 || problems(p) > 0;
		memcpy(r.at, saved, r.len);
		pmo_shapes_free(p);
	}
	/* Flips in a value's payload, which only a checksum could tell, go
	 * unnoticed; the rest are found (478 of 600 with this seed). */
	CHECK(found > 300);
	CHECK(problems(p) == 0);
	CHECK_EQ_I64(int_attr(p, obj[0], 0), 0);
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
	uint64_t obj = pmo_object_new_table(p, code, 0);
	uint64_t lst = pmo_list_new(p, 0);
	CHECK(pmo_object_set(p, obj, 0, pmo_slot_ref(lst), NULL) == 0);
	CHECK(pmo_object_set(p, obj, 1, pmo_slot_ref(str_new(p, "s")), NULL) == 0);
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
	test_shapes();
	test_shapes_damaged();
	test_object_gc();
	test_box_and_ptuple();
	return test_finish();
}
