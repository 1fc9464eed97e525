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
 * Two layouts, told apart by head.flags:
 *
 * Shaped (flags has PMO_OBJECT_SHAPED; every object made since format 6):
 *   the head, then `cap` value slots (1 to PMO_SHAPE_MAX_LEN; cap in flags
 *   bits 24-29).  Flags bits 0-23 name the object's shape (shape.h): slot
 *   i holds the attribute named by position i of the shape, EMPTY where
 *   that attribute was deleted.  Slots from the shape's length to cap are
 *   never read (as past a list's length): a new attribute is written there
 *   and then published by changing the shape, one 8-byte word of the
 *   head.  An attribute that does not fit (the slots are full, or no
 *   shape can be made for it) spills the object: its attributes move to
 *   an attribute table (below) of type PMO_T_OBJECT, slot 0 holds the one
 *   reference to it, flags gets PMO_OBJECT_SPILLED and shape 0, and from
 *   then on every access goes to the table.  The binding picks cap per
 *   class from the attribute counts of earlier instances, so few spill.
 *   Deleting and setting again keeps the attribute's first position.
 *
 * Attribute table (flags == PMO_OBJECT_MAGIC; objects of older pools and
 * spill tables): pmo_object: head, len, cap, attrs, then an inline array
 *   of attribute pairs.  While attrs is 0 the cap pairs are the inline
 *   ones; when the table outgrows them it moves to a raw substructure of
 *   cap pairs (attrs != 0) and the inline space is left unused.
 *   pmo_attr: the name's index in the pool's name table (types.h) and the
 *   value slot.
 *   Invariants at commit: pairs [0, len) have distinct names and non-empty
 *   values; pairs past len are never read.  Insertion order is kept
 *   (deletion closes the gap).
 *
 * Either way names are interned indices, never strings in the object: no
 * per-object name strings (they would cost an allocation and ~64 bytes per
 * attribute per object), no reference counting on shared names, and a
 * lookup compares integers and allocates nothing.  Attribute counts are
 * small, so lookup is a linear scan of the shape or the table.
 */
#ifndef PMO_OBJECT_H
#define PMO_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"
#include "shape.h"

#define PMO_OBJECT_MAGIC 0x41545452u /* "ATTR": the attribute-table layout */
#define PMO_OBJECT_MAX_INLINE 64
#define PMO_OBJECT_SHAPED 0x80000000u
#define PMO_OBJECT_SPILLED 0x40000000u
#define PMO_OBJECT_CAP_SHIFT 24
#define PMO_OBJECT_CAP_MASK 0x3Fu

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

typedef struct pmo_shaped {
	pmo_head head;
	pmo_slot values[];
} pmo_shaped;

_Static_assert(sizeof(pmo_attr) == 24 && offsetof(pmo_attr, value) == 8,
	       "pmo_attr's on-media layout: the name's index, then the value slot");
_Static_assert(offsetof(pmo_object, len) == 16 && offsetof(pmo_object, cap) == 24 &&
		       offsetof(pmo_object, attrs) == 32 &&
		       offsetof(pmo_object, inline_attrs) == 40 && sizeof(pmo_object) == 40,
	       "pmo_object's on-media layout");
_Static_assert(sizeof(pmo_shaped) == 16 && offsetof(pmo_shaped, values) == 16,
	       "pmo_shaped's on-media layout: the head, then the value slots");
_Static_assert((PMO_OBJECT_MAGIC & PMO_OBJECT_SHAPED) == 0 &&
		       PMO_SHAPE_MAX_LEN <= PMO_OBJECT_CAP_MASK &&
		       PMO_SHAPE_MAX_ID < 1u << PMO_OBJECT_CAP_SHIFT,
	       "the table magic is no shaped object, and shapes and caps fit their fields");

/* A PersistentObject of either layout (user type), or a spill table. */
static inline int pmo_is_object(const pmo_head *h)
{
	return h->type >= PMO_T_FIRST_USER &&
	       (h->flags == PMO_OBJECT_MAGIC || (h->flags & PMO_OBJECT_SHAPED));
}

/* A new shaped object of user type `code` with `cap` value slots (clamped
 * to 1 .. PMO_SHAPE_MAX_LEN), refcount 1, in the current transaction; 0
 * on failure. */
uint64_t pmo_object_new(pmo_pool *p, uint32_t code, size_t cap);

/* A new attribute table of type `code` (a user type, or PMO_T_OBJECT for
 * a spill table) with room for inline_cap pairs in the object itself:
 * the layout of format 5 and older, which the core still reads and
 * writes. */
uint64_t pmo_object_new_table(pmo_pool *p, uint32_t code, size_t inline_cap);

/* The rest take an object of either layout at off, and validate it first
 * (EIO if it is no well-formed object). */

/* 0 if off is a well-formed object, else -1 with errno EIO. */
int pmo_object_check(pmo_pool *p, uint64_t off);

/* The slot of attribute `name` in shaped object s of a loaded shape, or
 * NULL if it has none (a deleted attribute's slot is EMPTY). */
static inline pmo_slot *pmo_shaped_attr(const pmo_pool *p, pmo_shaped *s, uint32_t shape,
					uint64_t name)
{
	int pos = pmo_shape_find(p, shape, name);
	return pos < 0 || s->values[pos].tag == PMO_TAG_EMPTY ? NULL : &s->values[pos];
}

/* The value slot of attribute `name` into *out (valid until the object
 * changes): 1, or 0 if the object has no such attribute, -1 on error. */
int pmo_object_lookup_any(pmo_pool *p, uint64_t off, uint64_t name, pmo_slot **out);

/* The same, inline for a shaped object whose shape is loaded: the read
 * path of every attribute.  Its checks are view_of's in object.c. */
static inline int pmo_object_lookup(pmo_pool *p, uint64_t off, uint64_t name, pmo_slot **out)
{
	const pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_head));
	if (h && h->type >= PMO_T_FIRST_USER &&
	    (h->flags & (PMO_OBJECT_SHAPED | PMO_OBJECT_SPILLED)) == PMO_OBJECT_SHAPED) {
		unsigned cap = h->flags >> PMO_OBJECT_CAP_SHIFT & PMO_OBJECT_CAP_MASK;
		uint32_t shape = h->flags & PMO_SHAPE_MAX_ID;
		if (pmo_shape_loaded(p, shape) && pmo_shape_len(p, shape) <= cap &&
		    pmo_obj_at(p, off, sizeof(pmo_shaped) + cap * sizeof(pmo_slot))) {
			pmo_slot *v = pmo_shaped_attr(p, (pmo_shaped *)h, shape, name);
			if (v)
				*out = v;
			return v != NULL;
		}
	}
	return pmo_object_lookup_any(p, off, name, out);
}

/* Set attribute `name` to v (whose reference is stolen), adding it if it
 * is new; in a transaction.  *room (if not NULL) gets, when the attribute
 * is new, the slots or pairs the object now uses (a shaped object counts
 * its deleted attributes' slots too), else 0: the binding gives later
 * instances of the class that much room.  0 or -1. */
int pmo_object_set(pmo_pool *p, uint64_t off, uint64_t name, pmo_slot v, uint64_t *room);

/* Delete attribute `name`, dropping its value: 0, 1 if the object has no
 * such attribute (nothing changed), -1 on failure. */
int pmo_object_del(pmo_pool *p, uint64_t off, uint64_t name);

/* Call fn with each attribute's name and value, in order, until it
 * returns non-zero (which is returned); -1 if the object is damaged. */
int pmo_object_each(pmo_pool *p, uint64_t off, int (*fn)(void *ctx, uint64_t name, pmo_slot v),
		    void *ctx);

/* Number of attributes, -1 if the object is damaged. */
int64_t pmo_object_len(pmo_pool *p, uint64_t off);

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
