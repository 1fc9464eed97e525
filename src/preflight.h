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
 * (never writing it) through a private read-only mapping, and a
 * single-file pool's heap headers by pread (pmo_heap_reader_new: a word
 * or two a chunk, where a fault on the mapping would map 16 pages):
 *
 *   - the pool descriptor: its checksum, and the offsets it holds (lanes,
 *     heap, root) inside the file and in order;
 *   - every lane's three logs: their capacities, and each `next` chain
 *     (offsets inside the heap, capacities that fit, no cycles);
 *   - the heap header (signature, version, chunk geometry, checksum), then
 *     every zone header, chunk header and run header as the heap walk
 *     checks them (heapwalk.h: types and flags in range, sizes that tile
 *     the zone, runs' unit sizes, alignments and bitmap geometry).
 *
 * Cost: the headers only, never object data; on an 8 MiB pool about the
 * 3 KiB of each of the 1024 lanes' first cache lines and a few pages of
 * heap metadata (OpenClean / OpenNoPreflight in bench_heap.cc).  The on-media layouts
 * are PMDK 1.12's, written down once in pmdk_layout.h.  The run bitmaps
 * and allocation headers are checked by the heap walk itself, when gc or
 * check reads them.
 */
#ifndef PMO_PREFLIGHT_H
#define PMO_PREFLIGHT_H

/* 0 if the file's libpmemobj metadata is sound; else -1 with errno EIO
 * and a pmo_err_corrupt message naming the offset and what is wrong. */
int pmo_preflight(const char *path);

/* For benchmarks: skip pmo_preflight in pmo_pool_open (process-wide). */
void pmo_preflight_disable(int disable);

#endif
