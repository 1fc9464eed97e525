/* PersistentObject storage in both layouts, PersistentTuple and boxes; see object.h. */
#include "object.h"

#include <errno.h>
#include <string.h>

#include "error.h"
#include "tx.h"
#include "types.h"
#include "value.h"

#define MAX_ATTRS ((PMEMOBJ_MAX_ALLOC_SIZE) / sizeof(pmo_attr))

uint64_t pmo_object_new_table(pmo_pool *p, uint32_t code, size_t inline_cap)
{
	if (code < PMO_T_FIRST_USER && code != PMO_T_OBJECT) {
		pmo_err(EINVAL, "type code %u is not a user type", code);
		return 0;
	}
	if (inline_cap > PMO_OBJECT_MAX_INLINE)
		inline_cap = PMO_OBJECT_MAX_INLINE;
	uint64_t off = pmo_obj_new(p, code, sizeof(pmo_object) + inline_cap * sizeof(pmo_attr), 0);
	if (!off)
		return 0;
	/* Fresh in this transaction: no snapshot.  The pairs past len are
	 * never read, so they stay uninitialised. */
	pmo_object *o = pmo_direct(p, off);
	o->head.flags = PMO_OBJECT_MAGIC;
	o->len = 0;
	o->cap = inline_cap;
	o->attrs = 0;
	return off;
}

uint64_t pmo_object_new(pmo_pool *p, uint32_t code, size_t cap)
{
	if (code < PMO_T_FIRST_USER) {
		pmo_err(EINVAL, "type code %u is not a user type", code);
		return 0;
	}
	cap = cap < 1 ? 1 : cap > PMO_SHAPE_MAX_LEN ? PMO_SHAPE_MAX_LEN : cap;
	uint64_t off = pmo_obj_new(p, code, sizeof(pmo_shaped) + cap * sizeof(pmo_slot), 0);
	if (!off)
		return 0;
	/* Fresh: shape 0 has no slots in use, and slots past the shape's
	 * length are never read, so they stay uninitialised. */
	pmo_head_at(p, off)->flags = PMO_OBJECT_SHAPED | (uint32_t)cap << PMO_OBJECT_CAP_SHIFT;
	return off;
}

/* Checked accessor of the attribute-table layout: NULL with errno EIO if
 * off is no well-formed table. */
static pmo_object *table_get(const pmo_pool *p, uint64_t off)
{
	pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_object));
	if (!h)
		return NULL;
	pmo_object *o = (pmo_object *)h;
	int ok = (h->type >= PMO_T_FIRST_USER || h->type == PMO_T_OBJECT) &&
		 h->flags == PMO_OBJECT_MAGIC && o->len <= o->cap && o->cap <= MAX_ATTRS;
	if (ok && o->attrs)
		ok = pmo_off_valid(p, o->attrs, o->cap * sizeof(pmo_attr));
	else if (ok) /* inline table: bounds are what reads need */
		ok = pmo_off_valid(p, off, sizeof(pmo_object) + o->cap * sizeof(pmo_attr));
	if (!ok) {
		pmo_err_corrupt(p->path, off, "bad object attribute table");
		return NULL;
	}
	return o;
}

static pmo_attr *table_attrs(const pmo_pool *p, const pmo_object *o)
{
	return o->attrs ? (pmo_attr *)pmo_direct(p, o->attrs) : (pmo_attr *)o->inline_attrs;
}

/* Index of the pair named `name` in a table, or -1.  Allocates nothing. */
static int64_t table_find(const pmo_pool *p, const pmo_object *o, uint64_t name)
{
	const pmo_attr *a = table_attrs(p, o);
	for (uint64_t i = 0; i < o->len; i++)
		if (a[i].name == name)
			return (int64_t)i;
	return -1;
}

/* An object of either layout, checked: a table (t, with s NULL), or a
 * shaped object (s) with its cap and shape; a spilled one comes back as
 * its table. */
typedef struct objview {
	pmo_object *t;
	pmo_shaped *s;
	unsigned cap;
	uint32_t shape;
} objview;

static int view_of(pmo_pool *p, uint64_t off, objview *v)
{
	pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_head));
	if (!h)
		return -1;
	v->s = NULL;
	if (!(h->flags & PMO_OBJECT_SHAPED)) {
		if (h->type == PMO_T_OBJECT) /* a spill table is reached through its owner */
			return pmo_err_corrupt(p->path, off, "bad object attribute table");
		v->t = table_get(p, off);
		return v->t ? 0 : -1;
	}
	v->cap = h->flags >> PMO_OBJECT_CAP_SHIFT & PMO_OBJECT_CAP_MASK;
	v->shape = h->flags & PMO_SHAPE_MAX_ID;
	if (h->type < PMO_T_FIRST_USER || v->cap == 0 ||
	    !pmo_obj_at(p, off, sizeof(pmo_shaped) + v->cap * sizeof(pmo_slot)))
		return pmo_err_corrupt(p->path, off, "bad shaped object header");
	pmo_shaped *s = (pmo_shaped *)h;
	if (h->flags & PMO_OBJECT_SPILLED) {
		pmo_slot t = s->values[0];
		if (v->shape != 0 || !pmo_slot_is_ref(t))
			return pmo_err_corrupt(p->path, off, "bad spilled object");
		v->t = table_get(p, t.val);
		if (v->t && v->t->head.type != PMO_T_OBJECT)
			return pmo_err_corrupt(p->path, off, "a spilled object's table has type %u",
					       v->t->head.type);
		return v->t ? 0 : -1;
	}
	if (!pmo_shape_valid(p, v->shape))
		return -1;
	if (pmo_shape_len(p, v->shape) > v->cap)
		return pmo_err_corrupt(p->path, off, "shape %u has %u names for %u slots", v->shape,
				       pmo_shape_len(p, v->shape), v->cap);
	v->t = NULL;
	v->s = s;
	return 0;
}

/* --- the attribute-table layout --------------------------------------- */

/* Make room for n pairs: move the table to a (bigger) raw array. */
static int table_reserve(pmo_pool *p, pmo_object *o, size_t n)
{
	if (n <= o->cap)
		return 0;
	if (n > MAX_ATTRS)
		return pmo_err(ENOMEM, "an object cannot have %zu attributes", n);
	size_t cap = o->cap + (o->cap >> 1) + 2;
	if (cap < n)
		cap = n;
	if (cap > MAX_ATTRS)
		cap = MAX_ATTRS;
	if (pmo_tx_snapshot(p, &o->cap, 2 * sizeof(uint64_t)) != 0) /* cap, attrs */
		return -1;
	uint64_t attrs;
	if (o->attrs) {
		attrs = pmo_tx_realloc(p, o->attrs, cap * sizeof(pmo_attr), PMO_TYPENUM_RAW, 0);
		if (!attrs)
			return -1;
	} else {
		attrs = pmo_raw_new(p, cap * sizeof(pmo_attr), 0);
		if (!attrs)
			return -1;
		/* Fresh memory of this transaction: a plain copy. */
		memcpy(pmo_direct(p, attrs), o->inline_attrs, o->len * sizeof(pmo_attr));
	}
	o->attrs = attrs;
	o->cap = cap;
	return 0;
}

static int table_set(pmo_pool *p, pmo_object *o, uint64_t name, pmo_slot v, uint64_t *room)
{
	int64_t i = table_find(p, o, name);
	if (i >= 0)
		return pmo_slot_store(p, &table_attrs(p, o)[i].value, v);
	if (o->len == o->cap && table_reserve(p, o, o->len + 1) != 0)
		return -1;
	if (room)
		*room = o->len + 1;
	pmo_attr *a = table_attrs(p, o) + o->len;
	/* Past len nothing committed depends on the pair: outside a
	 * transaction it is persisted and then published by setting len. */
	pmo_attr pair = {.name = name, .value = v};
	int published =
		pmo_tx_publish(p, a, &pair, sizeof pair, &(pmo_word){&o->len, o->len + 1}, 1);
	if (published)
		return published < 0 ? -1 : 0;
	if (pmo_tx_add_fresh(p, a, sizeof *a) != 0 ||
	    pmo_tx_snapshot(p, &o->len, sizeof o->len) != 0)
		return -1;
	a->name = name;
	a->value = v;
	o->len++;
	return 0;
}

static int table_remove(pmo_pool *p, pmo_object *o, size_t i)
{
	pmo_attr *a = table_attrs(p, o);
	size_t tail = o->len - i;
	if (pmo_tx_snapshot(p, a + i, tail * sizeof *a) != 0 ||
	    pmo_tx_snapshot(p, &o->len, sizeof o->len) != 0)
		return -1;
	pmo_slot gone = a[i].value;
	memmove(a + i, a + i + 1, (tail - 1) * sizeof *a);
	memset(a + o->len - 1, 0, sizeof *a);
	o->len--;
	return pmo_slot_decref(p, gone);
}

/* --- either layout ------------------------------------------------------- */

int pmo_object_check(pmo_pool *p, uint64_t off)
{
	objview v;
	return view_of(p, off, &v);
}

int pmo_object_lookup_any(pmo_pool *p, uint64_t off, uint64_t name, pmo_slot **out)
{
	objview v;
	if (view_of(p, off, &v) != 0)
		return -1;
	pmo_slot *s = NULL;
	if (v.t) {
		int64_t i = table_find(p, v.t, name);
		s = i < 0 ? NULL : &table_attrs(p, v.t)[i].value;
	} else {
		s = pmo_shaped_attr(p, v.s, v.shape, name);
	}
	if (s)
		*out = s;
	return s != NULL;
}

/* The head's type and flags as one 8-byte word (little-endian). */
static uint64_t *head_word(pmo_shaped *s)
{
	return (uint64_t *)&s->head.type;
}

static uint64_t head_word_with(const pmo_shaped *s, uint32_t flags)
{
	return (uint64_t)s->head.type | (uint64_t)flags << 32;
}

/* Move the attributes of shaped object s to a new spill table. */
static pmo_object *spill(pmo_pool *p, const objview *v)
{
	pmo_shaped *s = v->s;
	unsigned n = pmo_shape_len(p, v->shape);
	const uint32_t *names = pmo_shape_names(p, v->shape);
	/* Room for the attribute being added and a few more before the
	 * table grows out of its inline pairs. */
	uint64_t off = pmo_object_new_table(p, PMO_T_OBJECT, n + 4);
	if (!off)
		return NULL;
	pmo_object *t = pmo_direct(p, off);
	pmo_attr *a = t->inline_attrs; /* fresh: plain stores */
	for (unsigned i = 0; i < n; i++)
		if (s->values[i].tag != PMO_TAG_EMPTY)
			a[t->len++] = (pmo_attr){.name = names[i], .value = s->values[i]};
	/* The values' references move to the table; the object's one slot
	 * takes the table's. */
	if (pmo_tx_snapshot(p, s->values, sizeof s->values[0]) != 0 ||
	    pmo_tx_snapshot(p, head_word(s), sizeof(uint64_t)) != 0)
		return NULL;
	s->values[0] = pmo_slot_ref(off);
	s->head.flags = PMO_OBJECT_SHAPED | PMO_OBJECT_SPILLED | v->cap << PMO_OBJECT_CAP_SHIFT;
	return t;
}

int pmo_object_set(pmo_pool *p, uint64_t off, uint64_t name, pmo_slot v, uint64_t *room)
{
	if (room)
		*room = 0;
	objview o;
	if (view_of(p, off, &o) != 0)
		return -1;
	if (o.t)
		return table_set(p, o.t, name, v, room);
	pmo_shaped *s = o.s;
	int pos = pmo_shape_find(p, o.shape, name);
	if (pos >= 0)
		return pmo_slot_store(p, &s->values[pos], v);
	unsigned k = pmo_shape_len(p, o.shape);
	if (room)
		*room = k + 1;
	uint32_t child = k < o.cap ? pmo_shape_child(p, o.shape, name) : 0;
	if (child) {
		/* Slot k is past the shape: written, then published with the
		 * new shape, as a list publishes an append with its length. */
		uint32_t flags = (s->head.flags & ~PMO_SHAPE_MAX_ID) | child;
		int published =
			pmo_tx_publish(p, &s->values[k], &v, sizeof v,
				       &(pmo_word){head_word(s), head_word_with(s, flags)}, 1);
		if (published)
			return published < 0 ? -1 : 0;
		if (pmo_tx_add_fresh(p, &s->values[k], sizeof v) != 0 ||
		    pmo_tx_snapshot(p, head_word(s), sizeof(uint64_t)) != 0)
			return -1;
		s->values[k] = v;
		s->head.flags = flags;
		return 0;
	}
	if (k < o.cap && errno != ENOSPC)
		return -1;
	pmo_object *t = spill(p, &o);
	return t ? table_set(p, t, name, v, NULL) : -1;
}

int pmo_object_del(pmo_pool *p, uint64_t off, uint64_t name)
{
	objview o;
	if (view_of(p, off, &o) != 0)
		return -1;
	if (o.t) {
		int64_t i = table_find(p, o.t, name);
		return i < 0 ? 1 : table_remove(p, o.t, (size_t)i);
	}
	pmo_slot *v = pmo_shaped_attr(p, o.s, o.shape, name);
	return v ? pmo_slot_store(p, v, (pmo_slot){0}) : 1;
}

int pmo_object_each(pmo_pool *p, uint64_t off, int (*fn)(void *ctx, uint64_t name, pmo_slot v),
		    void *ctx)
{
	objview o;
	if (view_of(p, off, &o) != 0)
		return -1;
	int rc = 0;
	if (o.t) {
		const pmo_attr *a = table_attrs(p, o.t);
		for (uint64_t i = 0; rc == 0 && i < o.t->len; i++)
			rc = fn(ctx, a[i].name, a[i].value);
		return rc;
	}
	const uint32_t *names = pmo_shape_names(p, o.shape);
	unsigned n = pmo_shape_len(p, o.shape);
	for (unsigned i = 0; rc == 0 && i < n; i++)
		if (o.s->values[i].tag != PMO_TAG_EMPTY)
			rc = fn(ctx, names[i], o.s->values[i]);
	return rc;
}

static int count_one(void *ctx, uint64_t name, pmo_slot v)
{
	(void)name, (void)v;
	++*(int64_t *)ctx;
	return 0;
}

int64_t pmo_object_len(pmo_pool *p, uint64_t off)
{
	int64_t n = 0;
	return pmo_object_each(p, off, count_one, &n) == 0 ? n : -1;
}

/* A table's values in use and its raw array. */
static int table_traverse(pmo_pool *p, const pmo_object *t, pmo_visit *v)
{
	const pmo_attr *a = table_attrs(p, t);
	for (uint64_t i = 0; i < t->len; i++)
		if (pmo_slot_is_ref(a[i].value) && v->slot(v, &a[i].value) != 0)
			return -1;
	return t->attrs ? v->sub(v, t->attrs) : 0;
}

/* A spill table is reached only through its object (view_of refuses it),
 * so it is traversed here as the table it is.  A spilled object holds its
 * table by slot 0. */
static int object_traverse(pmo_pool *p, uint64_t off, pmo_visit *v)
{
	const pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_head));
	if (!h)
		return -1;
	objview o;
	if (h->type == PMO_T_OBJECT) {
		o.t = table_get(p, off);
		return o.t ? table_traverse(p, o.t, v) : -1;
	}
	if (view_of(p, off, &o) != 0)
		return -1;
	if (o.t) /* a table, or the table a shaped object spilled into */
		return (const pmo_head *)o.t == h ? table_traverse(p, o.t, v)
						  : v->slot(v, &((pmo_shaped *)h)->values[0]);
	for (unsigned i = 0; i < pmo_shape_len(p, o.shape); i++)
		if (pmo_slot_is_ref(o.s->values[i]) && v->slot(v, &o.s->values[i]) != 0)
			return -1;
	return 0;
}

/* --- boxes ------------------------------------------------------------- */

uint64_t pmo_box_new(pmo_pool *p, pmo_slot v)
{
	if (pmo_slot_is_ref(v) || v.tag == PMO_TAG_EMPTY || !pmo_slot_well_formed(v)) {
		pmo_err(EINVAL, "only inline values are boxed (tag %llu)",
			(unsigned long long)v.tag);
		return 0;
	}
	uint64_t off = pmo_obj_new(p, PMO_T_BOX, sizeof(pmo_box), 0);
	if (!off)
		return 0;
	((pmo_box *)pmo_direct(p, off))->value = v;
	return off;
}

const pmo_box *pmo_box_get(const pmo_pool *p, uint64_t off)
{
	const pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_box));
	if (!h)
		return NULL;
	const pmo_box *b = (const pmo_box *)h;
	if (h->type != PMO_T_BOX || pmo_slot_is_ref(b->value) || b->value.tag == PMO_TAG_EMPTY ||
	    !pmo_slot_well_formed(b->value)) {
		pmo_err_corrupt(p->path, off, "bad box");
		return NULL;
	}
	return b;
}

/* --- PersistentTuple --------------------------------------------------- */

static int ptuple_traverse(pmo_pool *p, uint64_t off, pmo_visit *v)
{
	const pmo_tuple *t = pmo_tuple_get(p, off, PMO_T_PTUPLE);
	if (!t)
		return -1;
	for (uint64_t i = 0; i < t->n; i++)
		if (pmo_slot_is_ref(t->items[i]) && v->slot(v, &t->items[i]) != 0)
			return -1;
	return 0;
}

/* The invariants of object.h.  A shaped object: its header (view_of), and
 * a well-formed value or EMPTY in each slot its shape uses; a spilled
 * one's table is checked as an object of its own.  A table: every pair in
 * [0, len) holds a value (a table that counts a pair never written, an
 * append made reachable before it was durable, shows here) and a name the
 * pool's name table has, and no name twice. */
static int object_validate(const pmo_pool *cp, uint64_t off)
{
	pmo_pool *p = (pmo_pool *)cp; /* only the volatile shape copy may load */
	const pmo_head *h = pmo_obj_at(p, off, sizeof *h);
	if (h && h->type != PMO_T_OBJECT && (h->flags & PMO_OBJECT_SHAPED)) {
		objview v;
		if (view_of(p, off, &v) != 0)
			return -1;
		/* The cap against the allocation (too slow for every access). */
		if (!pmo_obj_checked(p, off, sizeof(pmo_shaped) + v.cap * sizeof(pmo_slot)))
			return -1;
		for (unsigned i = 0; !v.t && i < pmo_shape_len(p, v.shape); i++)
			if (v.s->values[i].tag != PMO_TAG_EMPTY &&
			    !pmo_slot_well_formed(v.s->values[i]))
				return pmo_err(EIO, "object at %llu: slot %u has invalid tag %llu",
					       (unsigned long long)off, i,
					       (unsigned long long)v.s->values[i].tag);
		return 0;
	}
	const pmo_object *o = table_get(p, off);
	if (!o)
		return -1;
	int64_t names = pmo_strtab_len(p, p->root->attr_names);
	if (names < 0)
		return -1;
	const pmo_attr *a = table_attrs(p, o);
	for (uint64_t i = 0; i < o->len; i++) {
		if (a[i].value.tag == PMO_TAG_EMPTY || !pmo_slot_well_formed(a[i].value))
			return pmo_err(EIO, "object at %llu: attribute %llu has invalid tag %llu",
				       (unsigned long long)off, (unsigned long long)i,
				       (unsigned long long)a[i].value.tag);
		if (a[i].name >= (uint64_t)names)
			return pmo_err(EIO,
				       "object at %llu: attribute %llu names entry %llu of a name "
				       "table of %lld",
				       (unsigned long long)off, (unsigned long long)i,
				       (unsigned long long)a[i].name, (long long)names);
		/* Against the pairs before it: quadratic, as setting the
		 * attributes was (a lookup is a linear scan, object.h). */
		for (uint64_t j = 0; j < i; j++)
			if (a[i].name == a[j].name)
				return pmo_err(EIO, "object at %llu: the name %llu is set twice",
					       (unsigned long long)off,
					       (unsigned long long)a[i].name);
	}
	return 0;
}

/* Named for what objects of the code itself are: the tables objects spill
 * into (a PersistentObject is counted under its class). */
static const pmo_typeops object_ops = {"spilled attributes", object_traverse, object_validate};
static const pmo_typeops ptuple_ops = {"PersistentTuple", ptuple_traverse};
static const pmo_typeops box_ops = {"box", NULL};

void pmo_object_register(void)
{
	pmo_register_type(PMO_T_OBJECT, &object_ops);
	pmo_register_type(PMO_T_PTUPLE, &ptuple_ops);
	pmo_register_type(PMO_T_BOX, &box_ops);
}
