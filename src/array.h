/*
 * Persistent typed arrays (PersistentArray): numbers of one C type, stored
 * contiguously, so NumPy and memoryview can read them in place.
 *
 * An array object holds its typecode (the `array` module's: b B u h H i I
 * l L q Q f d), its item size, its length, its capacity and the offset of
 * a raw block of `cap * itemsize` bytes; bytes past `len` items are zero
 * at commit.  A multi-dimensional array (ndim > 1) records its shape, whose
 * product is len; its length never changes (reshaping is the binding's
 * business, growth is refused).  Items hold no references, so gc and
 * freeing only ever see the raw block.
 *
 * Every change is made inside the caller's transaction: item ranges are
 * snapshotted before they are written, growth reallocates the block.
 */
#ifndef PMO_ARRAY_H
#define PMO_ARRAY_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

#define PMO_ARRAY_MAXDIM 8

typedef struct pmo_array {
	pmo_head head; /* type PMO_T_ARRAY; flags: the typecode character */
	uint64_t len;  /* items */
	uint64_t cap;  /* items the data block holds */
	uint64_t data; /* raw block of cap * itemsize bytes; 0 when cap == 0 */
	uint32_t itemsize;
	uint32_t ndim;                    /* 1 for a flat array */
	uint64_t shape[PMO_ARRAY_MAXDIM]; /* ndim > 1 only; product == len */
} pmo_array;

_Static_assert(sizeof(pmo_array) == 112, "pmo_array layout is persistent");
_Static_assert(offsetof(pmo_array, len) == 16 && offsetof(pmo_array, data) == 32 &&
		       offsetof(pmo_array, itemsize) == 40 && offsetof(pmo_array, shape) == 48,
	       "pmo_array layout is persistent");

/* Item size of an `array` typecode, 0 if it is not one. */
size_t pmo_array_itemsize(int typecode);

/* A new array of n zero items (ndim 1, shape NULL) or of the given shape
 * (whose product must be n).  Offset holding one reference, 0 on failure. */
uint64_t pmo_array_new(pmo_pool *p, int typecode, size_t n, uint32_t ndim, const uint64_t *shape);

/* Give the array a new typecode, shape and items (the n items at src, or
 * zeros if src is NULL), dropping the items it had: construction, in the
 * caller's transaction. */
int pmo_array_init(pmo_pool *p, pmo_array *a, int typecode, size_t n, uint32_t ndim,
		   const uint64_t *shape, const void *src);

/* The array at off, checked (typecode, item size, len <= cap, the block
 * inside the pool, shape); NULL with errno EIO if it is damaged. */
pmo_array *pmo_array_get(const pmo_pool *p, uint64_t off);

static inline char *pmo_array_data(const pmo_pool *p, const pmo_array *a)
{
	return a->cap ? (char *)pmo_direct(p, a->data) : NULL;
}

/* Snapshot items [lo, hi) before writing them in place (lo <= hi <= len). */
int pmo_array_snapshot(pmo_pool *p, pmo_array *a, size_t lo, size_t hi);

/* Replace items [lo, hi) by the n items at src (n * itemsize bytes; src may
 * not point into the array), moving the tail; flat arrays only.  New room
 * is zeroed, so the bytes past len stay zero. */
int pmo_array_replace(pmo_pool *p, pmo_array *a, size_t lo, size_t hi, const void *src, size_t n);

/* Set the length to n: truncate, or grow with zero items (flat only). */
int pmo_array_resize(pmo_pool *p, pmo_array *a, size_t n);

void pmo_array_register(void);

#endif
