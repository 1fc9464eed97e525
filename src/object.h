/*
 * PersistentObject storage: a small attribute table per object.  Also the
 * core side of PersistentTuple and of the boxes MemoryManager.persist
 * makes for inline values.
 *
 * An object is a heap object whose pmo_head carries the user type code of
 * its class (types.h) and flags == PMO_OBJECT_MAGIC, which is what tells
 * the core that this user-typed object is an attribute table it can
 * traverse and free itself, with no help from the binding (gc over a
 * million objects never calls into Python).  Objects of user types written
 * in Python (MemoryManager.alloc) have flags 0 and go to the pool hooks.
 *
 * Layout:
 *   pmo_object: head, len, cap, attrs, then an inline array of attribute
 *   pairs.  While attrs is 0 the cap pairs are the inline ones; when the
 *   table outgrows them it moves to a raw substructure of cap pairs
 *   (attrs != 0) and the inline space is left unused.  The binding picks
 *   the inline capacity per class from what earlier instances needed, so
 *   most objects are one allocation.
 *   pmo_attr: the name's index in the pool's name table (types.h) and the
 *   value slot.  An interned index rather than a str slot per pair: no
 *   per-object name strings (they would cost an allocation and ~64 bytes
 *   per attribute per object), no reference counting on shared names, and
 *   a lookup compares integers, allocates nothing.
 *
 * Invariants at commit: pairs [0, len) have distinct names and non-empty
 * values; pairs past len are never read.  Insertion order is kept
 * (deletion closes the gap), so dir() lists attributes in the order they
 * were first set.  Attribute counts are small, so lookup is a linear scan.
 */
#ifndef PMO_OBJECT_H
#define PMO_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

#define PMO_OBJECT_MAGIC 0x41545452u /* "ATTR" in head.flags */
#define PMO_OBJECT_MAX_INLINE 64

typedef struct pmo_attr {
	uint64_t name; /* index in the name table */
	pmo_slot value;
} pmo_attr;

typedef struct pmo_object {
	pmo_head head;
	uint64_t len;
	uint64_t cap;
	uint64_t attrs; /* raw array of cap pairs; 0: the pairs are inline */
	pmo_attr inline_attrs[];
} pmo_object;
_Static_assert(sizeof(pmo_attr) == 24 && offsetof(pmo_attr, value) == 8,
	       "pmo_attr's on-media layout: the name's index, then the value slot");
_Static_assert(offsetof(pmo_object, len) == 16 && offsetof(pmo_object, cap) == 24 &&
		       offsetof(pmo_object, attrs) == 32 &&
		       offsetof(pmo_object, inline_attrs) == 40 && sizeof(pmo_object) == 40,
	       "pmo_object's on-media layout");

static inline int pmo_is_object(const pmo_head *h)
{
	return h->type >= PMO_T_FIRST_USER && h->flags == PMO_OBJECT_MAGIC;
}

/* A new object of user type `code` with room for inline_cap attributes
 * in the object itself, refcount 1, in the current transaction; 0 on
 * failure. */
uint64_t pmo_object_new(pmo_pool *p, uint32_t code, size_t inline_cap);

/* Checked accessor: NULL with errno EIO if off is no well-formed object. */
pmo_object *pmo_object_get(const pmo_pool *p, uint64_t off);

static inline pmo_attr *pmo_object_attrs(const pmo_pool *p, const pmo_object *o)
{
	return o->attrs ? (pmo_attr *)pmo_direct(p, o->attrs) : (pmo_attr *)o->inline_attrs;
}

/* Index of the pair named `name`, or -1.  Allocates nothing. */
static inline int64_t pmo_object_find(const pmo_pool *p, const pmo_object *o, uint64_t name)
{
	const pmo_attr *a = pmo_object_attrs(p, o);
	for (uint64_t i = 0; i < o->len; i++)
		if (a[i].name == name)
			return (int64_t)i;
	return -1;
}

/* Set attribute `name` to v (whose reference is stolen), adding it if it
 * is new; in a transaction.  *grew (if not NULL) is set when the table had
 * to grow.  0 or -1. */
int pmo_object_set(pmo_pool *p, pmo_object *o, uint64_t name, pmo_slot v, int *grew);

/* Remove pair i (< len).  Its value is handed back with its reference in
 * *removed if that is not NULL (drop it with pmo_slot_decref), else
 * dropped here.  0 or -1. */
int pmo_object_remove(pmo_pool *p, pmo_object *o, size_t i, pmo_slot *removed);

/* --- boxes ------------------------------------------------------------- */

/* A heap object holding one inline value (slot.h: None, a bool, a number
 * or a short str): what MemoryManager.persist returns for values a slot
 * would hold inline, since its callers need an oid for everything. */
typedef struct pmo_box {
	pmo_head head;
	pmo_slot value;
} pmo_box;

uint64_t pmo_box_new(pmo_pool *p, pmo_slot v);
const pmo_box *pmo_box_get(const pmo_pool *p, uint64_t off);

/* PersistentTuple is a pmo_tuple (value.h) with type code PMO_T_PTUPLE:
 * pmo_tuple_new / pmo_tuple_seal / pmo_tuple_get with that code. */

/* Register the ops of PMO_T_OBJECT (used for every attribute table,
 * whatever its class), PMO_T_PTUPLE and PMO_T_BOX. */
void pmo_object_register(void);

#endif
