/*
 * Heap objects: everything a slot cannot hold inline.
 *
 * Every heap object starts with a pmo_head: its reference count (the
 * number of REF slots that point at it) and its type code.  Objects are
 * allocated with libpmemobj type number PMO_TYPENUM_OBJ; the raw memory an
 * object owns besides itself (an item array, a hash table) is allocated
 * with PMO_TYPENUM_RAW, so gc's sweep can tell the two apart.  In a pool
 * with header-less classes (tx.c) a small object has no allocation header
 * and so no type number: the run it lies in says it is an object, which
 * pmo_block_type and pmo_block_typenum read.
 *
 * Type codes below PMO_T_FIRST_USER are built in; each registers a
 * pmo_typeops telling the core which slots and substructures an object of
 * that type holds, which is all refcounting and gc need to know.  Codes
 * from PMO_T_FIRST_USER up name user classes through the type table
 * (types.h); the core handles PersistentObject attribute tables of any
 * such class itself (object.h) and asks the pool's hooks about the rest.
 *
 * Refcounts change only inside a transaction, in the same transaction as
 * the slot store that makes or drops the reference.  Freeing an object
 * whose count drops to zero uses an explicit work list, never recursion,
 * so a chain of a million nested objects cannot overflow the C stack.
 */
#ifndef PMO_HEAP_H
#define PMO_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "heapwalk.h"
#include "pool.h"
#include "slot.h"

typedef struct pmo_head {
	uint64_t refcnt;
	uint32_t type;
	uint32_t flags; /* type-specific (e.g. the sign of a big int) */
} pmo_head;

enum pmo_typecode {
	PMO_T_INVALID = 0,
	/* immutable values */
	PMO_T_STR = 1,
	PMO_T_BYTES = 2,
	PMO_T_LONG = 3, /* int beyond 64 bits */
	PMO_T_COMPLEX = 4,
	PMO_T_TUPLE = 5,
	PMO_T_FROZENSET = 6,
	PMO_T_PICKLE = 7, /* a persist_via_pickle value */
	PMO_T_BOX = 8,    /* an inline value boxed for MemoryManager.persist (object.h) */
	/* containers */
	PMO_T_LIST = 16,
	PMO_T_DICT = 17,
	PMO_T_SET = 18,
	PMO_T_PFROZENSET = 19,
	PMO_T_PTUPLE = 20,
	PMO_T_OBJECT = 21,     /* ops of every PersistentObject (object.h), which
			       * carries its class's user code; the code of the
			       * attribute table a shaped object spilled into */
	PMO_T_ARRAY = 22,      /* PersistentArray (array.h) */
	PMO_T_SORTEDDICT = 23, /* PersistentSortedDict (btree.h) */
	PMO_T_BUILTIN_MAX = 63,
	PMO_T_FIRST_USER = 256
};

/* A visitor over what an object holds. */
typedef struct pmo_visit {
	/* a reference the object owns (a REF slot, or any slot: ignore non-refs) */
	int (*slot)(struct pmo_visit *v, const pmo_slot *s);
	/* a raw substructure the object owns */
	int (*sub)(struct pmo_visit *v, uint64_t off);
	void *ctx;
} pmo_visit;

typedef struct pmo_typeops {
	const char *name;
	/* Visit everything the object holds; NULL if it holds nothing. */
	int (*traverse)(pmo_pool *p, uint64_t off, pmo_visit *v);
	/* Check the object's own invariants (gc(debug=True)); 0, or -1 with
	 * the problem in pmo_errormsg().  NULL: nothing beyond traverse. */
	int (*validate)(const pmo_pool *p, uint64_t off);
} pmo_typeops;

/* Register every built-in type (idempotent; pool open/create calls it). */
void pmo_types_init(void);

/* Register the ops of one built-in type code. */
void pmo_register_type(uint32_t code, const pmo_typeops *ops);
const pmo_typeops *pmo_typeops_of(uint32_t code);
/* The core's operations for the object headed h: its builtin type's, or
 * PersistentObject's for an attribute table of any class; NULL for other
 * user types (the binding's) and unknown codes. */
const pmo_typeops *pmo_core_ops(const pmo_head *h);
const char *pmo_type_name(uint32_t code);

static inline pmo_head *pmo_head_at(const pmo_pool *p, uint64_t off)
{
	return (pmo_head *)pmo_direct(p, off);
}

/* Allocate a heap object of type code `type` and `size` bytes (header
 * included) in the current transaction, with refcount 1 (the caller's new
 * reference).  The rest is zeroed when zero is set.  0 on failure. */
uint64_t pmo_obj_new(pmo_pool *p, uint32_t type, size_t size, int zero);

/* An object allocated in the current transaction gives up the reference
 * its maker holds: refcount 0, kept alive by a volatile holder (a proxy)
 * until something stores a reference to it.  Fresh memory: no snapshot,
 * so only for objects of this transaction. */
static inline void pmo_obj_disown(pmo_pool *p, uint64_t off)
{
	pmo_head_at(p, off)->refcnt = 0;
}

/* Make a block just allocated in this transaction (type number
 * PMO_TYPENUM_OBJ, by a type written in Python) a heap object of user type
 * `code` with refcount 0, so that refcounting and gc know it. */
static inline void pmo_obj_stamp(pmo_pool *p, uint64_t off, uint32_t code)
{
	pmo_head *h = pmo_head_at(p, off);
	h->refcnt = 0;
	h->type = code;
	h->flags = 0;
}

/* Allocate a raw substructure owned by some object. 0 on failure. */
uint64_t pmo_raw_new(pmo_pool *p, size_t size, int zero);

/* Reference counting (inside a transaction). */
int pmo_incref(pmo_pool *p, uint64_t off);
int pmo_decref(pmo_pool *p, uint64_t off);
static inline int pmo_slot_incref(pmo_pool *p, pmo_slot s)
{
	return pmo_slot_is_ref(s) ? pmo_incref(p, s.val) : 0;
}
static inline int pmo_slot_decref(pmo_pool *p, pmo_slot s)
{
	return pmo_slot_is_ref(s) ? pmo_decref(p, s.val) : 0;
}

/* Store v into *dst (which is in the pool): snapshot the slot, take over
 * the reference v carries, drop the one the old value held. */
int pmo_slot_store(pmo_pool *p, pmo_slot *dst, pmo_slot v);

/* Free an object regardless of its count, dropping what it holds. */
int pmo_obj_free(pmo_pool *p, uint64_t off);

/* After the outermost transaction: free the dying objects it left (see
 * heap.c), or forget them if it aborted.  Called by pmo_tx_end. */
int pmo_free_pending(pmo_pool *p); /* -1 with errno and message if a batch failed */
void pmo_forget_pending(pmo_pool *p);

/* Visit what an object holds (built-in ops, else the pool's hook). */
int pmo_traverse(pmo_pool *p, uint64_t off, pmo_visit *v);

/* The type number of the block at off as the runtime sees it (a block of
 * a header-less run is an object: PMO_TYPENUM_OBJ), and its usable size
 * into *usable (if not NULL); 0 where pmemobj_type_num would be 0 and the
 * block is no such object (or no block at all). */
uint64_t pmo_block_type(const pmo_pool *p, uint64_t off, size_t *usable);

/* The same for a block the heap walk yields. */
static inline uint64_t pmo_block_typenum(const pmo_block *b)
{
	return b->headless && b->size >= sizeof(pmo_head) ? PMO_TYPENUM_OBJ : b->type_num;
}

/* Check that off is a live heap object in the pool with at least `size`
 * bytes (asking libpmemobj: ~50 ns); returns its header or NULL with errno
 * EIO.  For frees and for the first sight of an offset. */
pmo_head *pmo_obj_checked(const pmo_pool *p, uint64_t off, size_t size);

/* The cheap check for reads on hot paths: `size` bytes at off lie inside
 * the pool, so a damaged reference can give wrong data or an error but
 * never a read outside the mapping.  Header or NULL with errno EIO.
 * (Inline: every read of a container or object starts here.) */
static inline pmo_head *pmo_obj_at(const pmo_pool *p, uint64_t off, size_t size)
{
	if (pmo_check_off(p, off, size < sizeof(pmo_head) ? sizeof(pmo_head) : size))
		return NULL;
	return pmo_head_at(p, off);
}

#endif
