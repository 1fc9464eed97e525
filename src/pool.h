/*
 * Pools: a libpmemobj pool file with our layout.
 *
 * The libpmemobj root object is a struct pmo_root holding a format
 * identification, the clean-shutdown flag, the key of the stable string
 * hash, the user's root slot and the type table.  A pool of another
 * layout, or of another format version, is refused with a clear error
 * before anything in it is touched.
 *
 * While a pool is open its clean flag is 0; close() sets it to 1 after the
 * caller had the chance to run gc.  Opening a pool whose flag is 0 tells
 * the caller the previous user did not close it, so it should collect
 * whatever a crash may have orphaned.
 */
#ifndef PMO_POOL_H
#define PMO_POOL_H

#include <libpmemobj.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "slot.h"
#include "stats.h"

#define PMO_LAYOUT "pmemobj-py"
/* Version 2 added short strs inline in slots (slot.h); version 3 the range
 * log (rangelog.h), which an older build would not restore after a crash;
 * version 4 the word log (wordlog.h), which it would not redo; version 5
 * the compact layout of str, bytes, big ints and pickles (value.h) and
 * ints of up to 14 bytes beyond 64 bits in their slot (slot.h), which it
 * would misread.  Version 6 adds shaped PersistentObjects (object.h,
 * shape.h) and the root's shape table; version 7 small tuples of small
 * ints and short bytes in their slot (slot.h), which it would misread;
 * version 8 small objects without an allocation header (tx.c), which it
 * would take for damage.  Older pools are read as they are and marked the current version at
 * open, so that an older build refuses them once they may hold what it
 * does not know. */
#define PMO_FORMAT_VERSION 8
#define PMO_FORMAT_VERSION_MIN 1
#define PMO_MAGIC "PMOPYRT" /* 7 chars + NUL = 8 bytes */
#define PMO_MIN_POOL_SIZE ((size_t)PMEMOBJ_MIN_POOL)

/* pmemobj type numbers: objects that start with a pmo_head, and raw
 * substructures owned by such an object (item arrays, hash tables). */
#define PMO_TYPENUM_OBJ 20
#define PMO_TYPENUM_RAW 21
/* Objects up to this size have no allocation header in pools of the tiny
 * class (tx.c). */
#define PMO_HEADLESS_MAX 256

struct pmo_root {
	char magic[8];
	uint32_t format_version;
	uint32_t reserved0;
	uint64_t clean;       /* 1 after a clean close, 0 while open */
	uint64_t hash_key[2]; /* SipHash key for str/bytes, random per pool */
	pmo_slot root;        /* the user's root value */
	pmo_slot type_table;  /* class paths of user types (see types.h) */
	pmo_slot attr_names;  /* PersistentObject attribute names (types.h);
				  * EMPTY (zero) in a pool that never had one */
	PMEMoid range_log;    /* the range log's block (rangelog.h), or null */
	PMEMoid word_log;     /* the word log's block (wordlog.h), or null */
	pmo_slot shapes;      /* PersistentObject shapes (shape.h); EMPTY
				  * (zero) in a pool that never had one */
};

struct pmo_typeops;

typedef struct pmo_pool {
	PMEMobjpool *pop;
	char *base; /* == pop: offsets are relative to it */
	struct pmo_root *root;
	uint64_t uuid_lo;
	uint64_t size; /* end of the heap, to validate offsets: the
				  * file's size, or in a growable pool the
				  * heap's persistent size, followed as the heap
				  * grows (pmo_pool_grew) */
	/* A growable pool (poolset.h): its set's max_size, 0 for one file. */
	uint64_t max_size;
	char *parts_dir;     /* growable: the parts directory */
	unsigned nparts;     /* growable: parts whose mode was fixed */
	uint64_t data_start; /* first byte of the heap's chunks: every
				  * object lies at or after it */
	/* libpmemobj allocation classes of this pool (registered at every
	 * open: they are runtime state), see pmo_alloc_flags in tx.c. */
	unsigned cls_tiny, cls_small, cls_mid, cls_large;
	/* Header-less classes for objects of up to PMO_HEADLESS_MAX bytes,
	 * one per 16-byte size: [k] holds objects of 16 * k bytes; all 0
	 * in a pool without them. */
	unsigned cls_headless[PMO_HEADLESS_MAX / 16 + 1];
	size_t large_max; /* largest object of cls_large; 0: no such class */
	uint64_t hash_k0, hash_k1;
	int was_unclean; /* last user did not close it */
	char *path;
	pmo_stats stats;
	/* Hooks for object types the core does not know (user types written
	 * in Python): set by the binding, NULL in plain C use.  They are only
	 * asked about codes >= PMO_T_FIRST_USER that are not PersistentObject
	 * attribute tables (object.h), which the core handles itself.
	 * hook_traverse visits what the object holds (visit is a pmo_visit *).
	 * hook_dealloc runs before an object whose count reached zero is
	 * freed: it returns 1 if it released everything the object holds
	 * itself (a Python type's _p_deallocate), 0 to have the core drop it
	 * by traversing, -1 on failure. */
	void *hook_ctx;
	int (*hook_traverse)(void *ctx, uint64_t off, void *visit);
	int (*hook_dealloc)(void *ctx, uint64_t off);
	/* Does a volatile proxy still hold the object?  Then an object whose
	 * count drops to zero is kept (at zero) until the proxy goes. */
	int (*hook_has_proxy)(void *ctx, uint64_t off);
	/* The outermost transaction has ended (committed or rolled back):
	 * the binding forgets or invalidates what it made inside it. */
	void (*hook_tx_end)(void *ctx, int aborted);
	/* Objects found dead and not yet freed (heap.c): freed a batch per
	 * transaction, so dropping a huge structure never needs a huge one. */
	uint64_t *dying;
	size_t ndying, capdying;
	int draining;
	/* The deferred frees after the last commit failed (pmo_tx_end still
	 * reported the commit); the message is in pmo_errormsg().  Cleared
	 * by whoever reports it. */
	int deferred_failed;
	uint64_t freeing;          /* object whose hook_dealloc is running, or 0 */
	int io_failed;             /* an I/O error under the mapping (errno), 0 if none:
				  * written by iofail.c, also from a signal handler */
	int range_armed;           /* the open transaction armed the range log */
	int wordlog_live;          /* the word log holds a record not yet spent */
	struct pmo_shapes *shapes; /* volatile copy of the shapes, NULL
				    * until first needed (shape.h) */
} pmo_pool;

pmo_pool *pmo_pool_create(const char *path, size_t size, mode_t mode);
/* Create a growable pool (poolset.h) of at most max_size bytes. */
pmo_pool *pmo_pool_create_grow(const char *path, uint64_t max_size, mode_t mode);
pmo_pool *pmo_pool_open(const char *path);

/* Mark the pool clean and unmap it; frees p.  The caller runs gc first if
 * it wants (the Python binding always does). */
int pmo_pool_close(pmo_pool *p);

/* Unmap the pool leaving it marked unclean, so the next open recovers it:
 * for an open whose recovery failed.  Frees p. */
void pmo_pool_abandon(pmo_pool *p);

/* Address of the byte at offset off (no validation: see pmo_check_off). */
static inline void *pmo_direct(const pmo_pool *p, uint64_t off)
{
	return p->base + off;
}

static inline uint64_t pmo_offset(const pmo_pool *p, const void *ptr)
{
	return (uint64_t)((const char *)ptr - p->base);
}

static inline PMEMoid pmo_oid(const pmo_pool *p, uint64_t off)
{
	PMEMoid oid = {off ? p->uuid_lo : 0, off};
	return oid;
}

/* Growable pools: read the heap's size again (p->size), and give new
 * parts the first one's mode.  1 if the bound moved.  (It takes a const
 * pool because the bound is a cache of what is in the pool, updated
 * from the checks that read it.) */
int pmo_pool_grew(const pmo_pool *p);

/* Is off a plausible object offset in this pool?  Guards every reference
 * read from the pool, so a damaged file gives an error, not a wild read:
 * an object lies in the heap's chunks (never in the pool header, the
 * lanes or the heap's metadata, which a damaged reference must not reach
 * and a write through it must not change), 16-aligned, with len bytes
 * before the end of the heap (p->size). */
static inline int pmo_off_valid_now(const pmo_pool *p, uint64_t off, size_t len)
{
	return off >= p->data_start && (off & 15) == 0 && off < p->size && len <= p->size - off;
}

/* In a growable pool a reference past the bound may be to a part the heap
 * took since the bound was read: read it again before calling it damage. */
static inline int pmo_off_valid(const pmo_pool *p, uint64_t off, size_t len)
{
	return pmo_off_valid_now(p, off, len) ||
	       (p->max_size && pmo_pool_grew(p) && pmo_off_valid_now(p, off, len));
}

/* A block the root holds for the pool's own use (the range log's, the
 * word log's), checked before it is followed: of this pool, in its heap,
 * with at least min usable bytes (*usable gets them).  0, or -1 with a
 * corruption error naming what. */
int pmo_root_block_check(const pmo_pool *p, PMEMoid oid, size_t min, const char *what,
			 size_t *usable);

/* Bytes of the pool's files: the file, or the parts of a growable pool. */
uint64_t pmo_pool_file_bytes(const pmo_pool *p);

/* 0 if off is valid (pmo_off_valid), else -1 with a corruption error.
 * Every read of a reference takes this check, so its common case is
 * inline; the growable pool's re-read and the error are out of line. */
int pmo_check_off_slow(const pmo_pool *p, uint64_t off, size_t len);

static inline int pmo_check_off(const pmo_pool *p, uint64_t off, size_t len)
{
	if (__builtin_expect(pmo_off_valid_now(p, off, len), 1))
		return 0;
	return pmo_check_off_slow(p, off, len);
}

#endif
