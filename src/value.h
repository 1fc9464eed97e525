/*
 * Immutable heap values: str, bytes, big ints, complex, tuples, frozensets
 * and pickled values.
 *
 * Layouts (after the common pmo_head):
 *   varobj  (str, bytes, long, pickle): hash, then `size` bytes of data
 *           and a NUL, with the size in head.flags (the compact layout,
 *           pool format 5).  A value of 2^30 bytes or more, and every value
 *           an older pool holds, has the wide layout instead: a size word
 *           before the hash, and no size in head.flags.  str is UTF-8
 *           (surrogates passed through), long is the little-endian
 *           magnitude with the sign in head.flags.  Read them through
 *           pmo_var_get, which knows both.
 *   complex: two doubles.
 *   tuple   (tuple, frozenset): item count, hash, then the item slots.
 *           A frozenset's items are kept in the order they were given.
 *
 * The hash is computed once, at creation, because the containers look it
 * up on every probe: stable keyed SipHash for str/bytes, Python's numeric
 * hash for numbers, and Python's combining rules for tuple and frozenset.
 * PMO_HASH_UNKNOWN marks a value the core cannot hash (a pickled value, or
 * a tuple holding one); the binding asks Python for those.
 */
#ifndef PMO_VALUE_H
#define PMO_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

#define PMO_HASH_UNKNOWN ((int64_t)-1)

/* head.flags of a varobj: bit 0 the sign of a long, bit 1 set for the
 * compact layout, whose size is in bits 2-31.  The compact layout saves
 * the 8-byte size word: a 100-byte str takes a 144-byte block instead of
 * 160 in the 16-byte class (docs/internals.md, "Allocation"). */
#define PMO_LONG_NEGATIVE 1u
#define PMO_VAR_COMPACT 2u
#define PMO_VAR_SIZE_SHIFT 2
#define PMO_VAR_COMPACT_MAX ((UINT64_C(1) << 30) - 1)

typedef struct pmo_varobj {
	pmo_head head;
	int64_t hash;
	char data[];
} pmo_varobj;

typedef struct pmo_varobj_wide {
	pmo_head head;
	uint64_t size;
	int64_t hash;
	char data[];
} pmo_varobj_wide;

/* A str, bytes, big int or pickle as read from the pool. */
typedef struct pmo_var {
	const char *data;
	uint64_t size;
	int64_t hash;
	int negative; /* a big int's sign */
} pmo_var;

/* Decode the varobj at h, whose fixed part (pmo_var_fixed) is known to
 * be inside the pool; the caller checks v->size against the room left. */
static inline size_t pmo_var_fixed(const pmo_head *h)
{
	return h->flags & PMO_VAR_COMPACT ? sizeof(pmo_varobj) : sizeof(pmo_varobj_wide);
}

static inline void pmo_var_decode(const pmo_head *h, pmo_var *v)
{
	v->negative = (h->flags & PMO_LONG_NEGATIVE) != 0;
	if (h->flags & PMO_VAR_COMPACT) {
		const pmo_varobj *o = (const pmo_varobj *)h;
		v->size = h->flags >> PMO_VAR_SIZE_SHIFT;
		v->hash = o->hash;
		v->data = o->data;
	} else {
		const pmo_varobj_wide *o = (const pmo_varobj_wide *)h;
		v->size = o->size;
		v->hash = o->hash;
		v->data = o->data;
	}
}

typedef struct pmo_complex {
	pmo_head head;
	double real, imag;
} pmo_complex;

typedef struct pmo_tuple {
	pmo_head head;
	uint64_t n;
	int64_t hash;
	pmo_slot items[];
} pmo_tuple;

/* Constructors: run inside a transaction; return the new object's offset
 * (holding one reference), or 0 on failure. */
uint64_t pmo_str_new(pmo_pool *p, const char *utf8, size_t n);
uint64_t pmo_bytes_new(pmo_pool *p, const void *data, size_t n);
uint64_t pmo_pickle_new(pmo_pool *p, const void *data, size_t n);
uint64_t pmo_long_new(pmo_pool *p, int negative, const uint8_t *mag_le, size_t n);
uint64_t pmo_complex_new(pmo_pool *p, double real, double imag);

/* A tuple or frozenset of n empty slots; fill it with pmo_tuple_init_item
 * and seal it with pmo_tuple_seal (which computes the hash). */
uint64_t pmo_tuple_new(pmo_pool *p, uint32_t type, size_t n);
static inline void pmo_tuple_init_item(pmo_tuple *t, size_t i, pmo_slot v)
{
	t->items[i] = v; /* fresh object of this transaction: no snapshot */
}
void pmo_tuple_seal(pmo_pool *p, pmo_tuple *t);

/* Checked accessors for reading: NULL or -1 (errno EIO) if off is not a
 * well-formed object of that type. */
int pmo_var_get(const pmo_pool *p, uint64_t off, uint32_t type, pmo_var *out);
const pmo_complex *pmo_complex_get(const pmo_pool *p, uint64_t off);
const pmo_tuple *pmo_tuple_get(const pmo_pool *p, uint64_t off, uint32_t type);

/* The type code of the object a REF slot points to (0 if invalid). */
uint32_t pmo_ref_type(const pmo_pool *p, uint64_t off);

/* Check an immutable value against the checksum stored at its creation:
 * the hash field of str, bytes, big ints, tuples and frozensets (keyed
 * SipHash of the bytes, or Python's hash recomputed from the items) and
 * of pickles (keyed SipHash).  0 if it agrees or the type has none
 * (complex, mutable objects); -1 with a corrupt-pool error if not. */
int pmo_value_verify(const pmo_pool *p, uint64_t off);

/* Hash of the value in a slot, equal to Python's hash() for numbers and
 * tuples of them; PMO_HASH_UNKNOWN if the core cannot hash it. */
int64_t pmo_slot_hash(const pmo_pool *p, pmo_slot s);

void pmo_value_register(void);

#endif
