/* PersistentObject attribute tables, PersistentTuple and boxes; see object.h. */
#include "object.h"

#include <errno.h>
#include <string.h>

#include "error.h"
#include "tx.h"
#include "types.h"
#include "value.h"

#define MAX_ATTRS ((PMEMOBJ_MAX_ALLOC_SIZE) / sizeof(pmo_attr))

uint64_t pmo_object_new(pmo_pool *p, uint32_t code, size_t inline_cap)
{
	if (code < PMO_T_FIRST_USER) {
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

pmo_object *pmo_object_get(const pmo_pool *p, uint64_t off)
{
	pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_object));
	if (!h)
		return NULL;
	pmo_object *o = (pmo_object *)h;
	int ok = pmo_is_object(h) && o->len <= o->cap && o->cap <= MAX_ATTRS;
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

/* Make room for n pairs: move the table to a (bigger) raw array. */
static int object_reserve(pmo_pool *p, pmo_object *o, size_t n)
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

int pmo_object_set(pmo_pool *p, pmo_object *o, uint64_t name, pmo_slot v, int *grew)
{
	if (grew)
		*grew = 0;
	int64_t i = pmo_object_find(p, o, name);
	if (i >= 0)
		return pmo_slot_store(p, &pmo_object_attrs(p, o)[i].value, v);
	if (o->len == o->cap) {
		if (object_reserve(p, o, o->len + 1) != 0)
			return -1;
		if (grew)
			*grew = 1;
	}
	pmo_attr *a = pmo_object_attrs(p, o) + o->len;
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

int pmo_object_remove(pmo_pool *p, pmo_object *o, size_t i, pmo_slot *removed)
{
	if (i >= o->len)
		return pmo_err(EINVAL, "no attribute %zu in an object of %llu", i,
			       (unsigned long long)o->len);
	pmo_attr *a = pmo_object_attrs(p, o);
	size_t tail = o->len - i;
	if (pmo_tx_snapshot(p, a + i, tail * sizeof *a) != 0 ||
	    pmo_tx_snapshot(p, &o->len, sizeof o->len) != 0)
		return -1;
	pmo_slot gone = a[i].value;
	memmove(a + i, a + i + 1, (tail - 1) * sizeof *a);
	memset(a + o->len - 1, 0, sizeof *a);
	o->len--;
	if (removed) {
		*removed = gone;
		return 0;
	}
	return pmo_slot_decref(p, gone);
}

static int object_traverse(pmo_pool *p, uint64_t off, pmo_visit *v)
{
	const pmo_object *o = pmo_object_get(p, off);
	if (!o)
		return -1;
	const pmo_attr *a = pmo_object_attrs(p, o);
	for (uint64_t i = 0; i < o->len; i++)
		if (pmo_slot_is_ref(a[i].value) && v->slot(v, &a[i].value) != 0)
			return -1;
	if (o->attrs && v->sub(v, o->attrs) != 0)
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

/* The invariants of object.h: every pair in [0, len) holds a value (an
 * attribute table that counts a pair never written, an append made
 * reachable before it was durable, shows here) and a name the pool's name
 * table has, and no name twice. */
static int object_validate(const pmo_pool *p, uint64_t off)
{
	const pmo_object *o = pmo_object_get(p, off);
	if (!o)
		return -1;
	int64_t names = pmo_strtab_len(p, p->root->attr_names);
	if (names < 0)
		return -1;
	const pmo_attr *a = pmo_object_attrs(p, o);
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

static const pmo_typeops object_ops = {"PersistentObject", object_traverse, object_validate};
static const pmo_typeops ptuple_ops = {"PersistentTuple", ptuple_traverse};
static const pmo_typeops box_ops = {"box", NULL};

void pmo_object_register(void)
{
	pmo_register_type(PMO_T_OBJECT, &object_ops);
	pmo_register_type(PMO_T_PTUPLE, &ptuple_ops);
	pmo_register_type(PMO_T_BOX, &box_ops);
}
