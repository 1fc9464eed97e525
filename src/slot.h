/*
 * Slots: the 16-byte reference stored wherever a value is held (the root,
 * tuple items, container cells).
 *
 * A slot is a tag word and a payload word.  None, booleans, ints that fit
 * in 64 bits and floats are stored inline in the payload: they cost no
 * allocation and no reference count.  Everything else is a heap object,
 * and the payload is its offset from the start of the pool (all objects of
 * a slot live in the same pool, so the pool uuid of a PMEMoid would be
 * redundant).  A REF slot owns one reference to its object.
 *
 * Tag 0 is "empty", so zeroed memory is a valid array of empty slots.
 */
#ifndef PMO_SLOT_H
#define PMO_SLOT_H

#include <stdint.h>
#include <string.h>

typedef struct pmo_slot {
	uint64_t tag;
	uint64_t val;
} pmo_slot;

enum pmo_tag {
	PMO_TAG_EMPTY = 0, /* no value (unused cell) */
	PMO_TAG_NONE = 1,
	PMO_TAG_FALSE = 2,
	PMO_TAG_TRUE = 3,
	PMO_TAG_INT = 4,   /* val is an int64_t */
	PMO_TAG_FLOAT = 5, /* val is the bits of a double */
	PMO_TAG_REF = 6,   /* val is the pool offset of a heap object */
	PMO_TAG_MAX = 6
};

static inline pmo_slot pmo_slot_make(uint64_t tag, uint64_t val)
{
	pmo_slot s = {tag, val};
	return s;
}

static inline pmo_slot pmo_slot_none(void)
{
	return pmo_slot_make(PMO_TAG_NONE, 0);
}

static inline pmo_slot pmo_slot_bool(int b)
{
	return pmo_slot_make(b ? PMO_TAG_TRUE : PMO_TAG_FALSE, 0);
}

static inline pmo_slot pmo_slot_int(int64_t v)
{
	return pmo_slot_make(PMO_TAG_INT, (uint64_t)v);
}

static inline pmo_slot pmo_slot_float(double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof bits);
	return pmo_slot_make(PMO_TAG_FLOAT, bits);
}

static inline pmo_slot pmo_slot_ref(uint64_t off)
{
	return pmo_slot_make(PMO_TAG_REF, off);
}

static inline int64_t pmo_slot_as_int(pmo_slot s)
{
	return (int64_t)s.val;
}

static inline double pmo_slot_as_float(pmo_slot s)
{
	double d;
	memcpy(&d, &s.val, sizeof d);
	return d;
}

static inline int pmo_slot_is_ref(pmo_slot s)
{
	return s.tag == PMO_TAG_REF;
}

#endif
