/*
 * Preflight: a read-only check of libpmemobj's own metadata in a pool file,
 * made before the file is handed to pmemobj_open.
 *
 * libpmemobj 1.12 trusts its metadata at open and at the first allocation:
 * it follows a lane's log `next` pointer before it checks the log's
 * checksum, and it walks the heap's chunk headers by their sizes (a size of
 * 0 loops for ever, a wrong type or size sends the free-block search off
 * the map).  Its own checker (pmemobj_check) covers less and is not run at
 * open.  So pmemobj checks what libpmemobj would follow, reading the file
 * through a private read-only mapping, never writing it:
 *
 *   - the pool descriptor: its checksum, and the offsets it holds (lanes,
 *     heap, root) inside the file and in order;
 *   - every lane's three logs: their capacities, and each `next` chain
 *     (offsets inside the heap, capacities that fit, no cycles);
 *   - the heap header (signature, version, chunk geometry, checksum), every
 *     zone header, and every zone's chunk headers walked as libpmemobj
 *     walks them (types and flags in range, sizes that tile the zone, the
 *     headers of runs: block size, alignment).
 *
 * Cost: the headers only, never object data; on an 8 MiB pool about the
 * 3 KiB of each of the 1024 lanes' first cache lines and a few pages of
 * heap metadata (see the OpenPreflight benchmark).  The on-media layouts
 * are PMDK 1.12's (src/libpmemobj/{obj.h,lane.h,ulog.h,heap_layout.h}),
 * written here as offsets and pinned by the tests against real pools.
 */
#ifndef PMO_PREFLIGHT_H
#define PMO_PREFLIGHT_H

/* 0 if the file's libpmemobj metadata is sound; else -1 with errno EIO
 * and a pmo_err_corrupt message naming the offset and what is wrong. */
int pmo_preflight(const char *path);

/* The runs of the open pool p, as libpmemobj's heap walk (pmemobj_first
 * and pmemobj_next, which gc uses) reads them: every block the bitmap
 * marks used must have an allocation header giving it a size, since a
 * size of 0 makes that walk loop for ever.  O(objects): gc calls it
 * before its sweep, whose walk is O(objects) too.  0, or -1 with errno
 * EIO (pmo_err_corrupt). */
struct pmo_pool;
int pmo_heap_runs_check(const struct pmo_pool *p);

/* For benchmarks: skip pmo_preflight in pmo_pool_open (process-wide). */
void pmo_preflight_disable(int disable);

#endif
