/*
 * The heap walk: every allocated block of a pool, read from libpmemobj's
 * on-media heap (pmdk_layout.h) by pmemobj itself.
 *
 * libpmemobj's own walk (pmemobj_first/next) costs ~200 ns a block: each
 * step turns the offset back into a block, re-reads the chunk and run
 * headers, re-derives the run's bitmap geometry, and asks for the type
 * number and size one call at a time.  And it trusts what it reads: a
 * used block whose header has no size makes it loop for ever, a bad chunk
 * type aborts the process.  This walk reads each zone's chunk headers
 * once, each run's header and bitmap once, and each used block's
 * allocation header once, in address order (so the hardware prefetches
 * it), and checks every field before it follows it:
 *
 *   zone:   magic, a chunk count that fits the file;
 *   chunk:  type (free, used, run) and flags in range, a size that stays
 *           in its zone; a run's later chunks marked as its run data;
 *   run:    unit size, alignment (set exactly when the chunk says the run
 *           is aligned), the flexible bitmap PMDK 1.12 writes, a bitmap
 *           that fits;
 *   block:  an allocation header whose size covers whole units, all of
 *           them marked used in one word of the bitmap, inside the run; a
 *           huge block's header agreeing with its chunk header.
 *
 * Anything else is damage: the walk stops and reports it (errno EIO,
 * pmo_err_corrupt naming the offset), never reading past it.  On a sound
 * heap it yields exactly the blocks pmemobj_first/next yield, with the
 * same offset, pmemobj_alloc_usable_size and pmemobj_type_num
 * (tests/c/test_heapwalk.c holds it to that on random heaps); like them
 * it skips libpmemobj's internal blocks (log extensions).
 */
#ifndef PMO_HEAPWALK_H
#define PMO_HEAPWALK_H

#include <stdint.h>

struct pmo_pool;

/* A file, or part of one, mapped for reading: the walk reads nothing
 * outside [base, base + size).  With a reader, the walk reads the file
 * through it (pread) instead of through the mapping (see
 * pmo_heap_reader_new). */
typedef struct pmo_heap_view {
	const char *path;          /* for messages */
	const unsigned char *base; /* the pool file's first byte */
	uint64_t size;
	struct pmo_heap_reader *reader; /* NULL: read the mapping */
} pmo_heap_view;

/* A reader of the file open as fd, whose byte k is the view's byte k,
 * for a walk that touches one or two words a chunk over a large heap
 * (preflight: fn NULL).  Through a fresh mapping each of those words
 * costs a page fault, which maps the 16 pages around it, and munmap
 * tears them down again: ~4 us a chunk here, against ~1 us for a pread
 * of the page.  A small cache of pages in memory, so the zone's chunk
 * headers are read once.  A read that fails or comes back short falls
 * back to the mapping.  NULL when out of memory (then read the mapping). */
struct pmo_heap_reader *pmo_heap_reader_new(int fd);
void pmo_heap_reader_free(struct pmo_heap_reader *r);

/* One allocated block, as libpmemobj's API would describe it. */
typedef struct pmo_block {
	uint64_t off;      /* of the user data: PMEMoid.off */
	uint64_t size;     /* pmemobj_alloc_usable_size */
	uint64_t type_num; /* pmemobj_type_num (0 in a header-less run) */
	int headless;      /* in a run whose blocks carry no allocation
			    * header (so no type number): tx.c puts only
			    * objects there, see pmo_block_typenum */
} pmo_block;

/* Called for each block in address order.  A nonzero return stops the
 * walk and is what the walk returns (-1: set errno and a message). */
typedef int (*pmo_block_fn)(void *ctx, const pmo_block *b);

/* Walk the heap of the file in v, calling fn for every allocated block.
 * fn NULL: check the zone, chunk and run headers only (not the bitmaps or
 * the blocks), which is what preflight needs before libpmemobj opens the
 * file.  0 when done; -1 with errno EIO (pmo_err_corrupt) on damage; or
 * fn's nonzero return. */
int pmo_heap_walk_view(const pmo_heap_view *v, pmo_block_fn fn, void *ctx);

/* The same over an open pool. */
int pmo_heap_walk(const struct pmo_pool *p, pmo_block_fn fn, void *ctx);

/* Where off lies in the heap of open pool p, by the walk's checks (zone,
 * chunk, run geometry), so that libpmemobj is asked about an offset only
 * where it can answer (pmemobj_type_num divides by zero on some offsets
 * of a damaged reference):
 *   PMO_BLOCK_NONE      no block's user data can start there (outside the
 *                       heap's used chunks, not at a unit's start, headers
 *                       that do not hold together);
 *   PMO_BLOCK_HEADLESS  a unit of a header-less run, *unit its size;
 *   PMO_BLOCK_HEADER    after a unit's start of a run with allocation
 *                       headers (*unit the run's unit) or at a huge
 *                       block's data: libpmemobj's header says the rest. */
enum { PMO_BLOCK_NONE, PMO_BLOCK_HEADLESS, PMO_BLOCK_HEADER };
int pmo_heap_block_at(const struct pmo_pool *p, uint64_t off, uint64_t *unit);

/* Where the heap's space is, from its chunk headers and run bitmaps (for
 * pool.stats()).  A chunk is free, a huge block's, or a run's; a run's
 * units are free or used. */
typedef struct pmo_heap_space {
	uint64_t heap_bytes;          /* the chunks of every zone */
	uint64_t free_chunk_bytes;    /* chunks nothing uses */
	uint64_t largest_free_chunks; /* bytes of the longest row of free chunks:
					* about the largest block that can still be
					* had beyond what the runs hold */
	uint64_t run_bytes;           /* chunks given to runs */
	uint64_t run_free_bytes;      /* their units no block uses */
} pmo_heap_space;

/* Fill *space, calling fn (if not NULL) for every allocated block in the
 * same walk, as pmo_heap_walk does.  0, or -1 with errno EIO on damage,
 * or fn's nonzero return. */
int pmo_heap_space_of(const struct pmo_pool *p, pmo_heap_space *space, pmo_block_fn fn, void *ctx);

#endif
