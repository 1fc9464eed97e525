/*
 * Growable pools: a libpmemobj pool set of the one shape pmemobj writes.
 *
 * A growable pool at PATH is two things side by side:
 *
 *   PATH          a text file, the pool set (poolset(5)):
 *                     PMEMPOOLSET
 *                     OPTION SINGLEHDR
 *                     <max_size> <absolute PATH>.parts/
 *   PATH.parts/   its parts, 000000.pmem, 000001.pmem, ... which libpmemobj
 *                 maps side by side as one pool.  The first holds the pool
 *                 header, the lanes and the start of the heap; libpmemobj
 *                 adds a part of the open's heap.size.granularity whenever
 *                 an allocation finds no room (heap_extend), up to max_size.
 *
 * libpmemobj accepts many other shapes (replicas, several directories,
 * fixed parts, headers per part); pmemobj opens only this one, so every
 * check below knows where each byte lives.  A set of another shape, a
 * parts directory other than PATH.parts, missing, extra, renamed or
 * resized parts are refused with a clear error before libpmemobj maps
 * anything.
 *
 * The bound of references in a growing pool (pool.h) is the heap's
 * persistent size (PMDK_DSC_HEAP_SIZE, raised by heap_extend once the new
 * part is mapped), not the parts' total: after a kill in the middle of an
 * extension the last part may exist before the heap has taken it.
 */
#ifndef PMO_POOLSET_H
#define PMO_POOLSET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Each open's heap.size.granularity: the size of every part after the
 * first (which is PMO_MIN_POOL_SIZE, libpmemobj's minimum pool).  2 MiB
 * is libpmemobj's smallest part (PMEMOBJ_MIN_PART), so a pool is never
 * more than 2 MiB larger than its heap needs, and small steps cost no
 * time: appending 10^6 ints (1000 per transaction, emulated pmem on
 * tmpfs, 2 cores, best of 3) took 0.226 s with steps of 2 MiB, 0.216 s
 * with 8 MiB and 0.221 s with 32 MiB, ending at 44, 48 and 72 MiB of
 * parts.  (Each step is one file and one mapping: a 1 GiB pool has about
 * 500, well within the default limits on open files and mappings.) */
#define PMO_GROW_STEP ((size_t)2 << 20)
/* max_size when create() is not given one.  Bounded so that a program
 * that fills a pool without end stops at a MemoryError rather than at a
 * full disk -- on tmpfs (/dev/shm, emulated pmem) parts are memory, and a
 * test suite run with growable defaults filled 16 GiB there before it was
 * stopped.  Within one zone (16 GiB): every zone header lies in the first
 * part.  The address space is reserved at open; the disk is used only as
 * the pool grows. */
#define PMO_GROW_DEFAULT_MAX ((uint64_t)4 << 30)
#define PMO_GROW_MAX_PARTS 100000u

typedef struct pmo_set {
	char *dir; /* the parts directory, with its final '/' */
	uint64_t max_size;
	unsigned nparts;
	uint64_t *part_size; /* nparts sizes */
	uint64_t total;      /* their sum */
	/* Part nparts exists but is the remains of an extension a kill
	 * interrupted (created, not yet sized, never taken by the heap):
	 * left out of the parts, removed at the next writable open. */
	int unfinished;
} pmo_set;

/* Does path start with the pool set signature? */
int pmo_is_pool_set(const char *path);

/* Read and check the set at path and list its parts.  0, or -1 with
 * errno (EINVAL: not a set pmemobj opens; ENOENT: no parts directory;
 * EIO with a pmo_err_corrupt message: parts missing or of wrong size). */
int pmo_set_read(const char *path, pmo_set *s);
void pmo_set_free(pmo_set *s);

/* The parts directory of the set at path: the absolute path.parts/
 * (libpmemobj wants absolute paths in a set); malloc'd, or NULL. */
char *pmo_set_parts_dir(const char *path);

/* Path of part i (malloc'd), or NULL (ENOMEM). */
char *pmo_set_part_path(const pmo_set *s, unsigned i);

/* Write the set file at path naming parts_dir (created here, empty) with
 * max_size, fsyncing the file and both directories before libpmemobj
 * sees it.  The caller checked that path does not exist. */
int pmo_set_write(const char *path, const char *parts_dir, uint64_t max_size, mode_t mode);

/* Remove a set file and its parts (undoing a failed create). */
void pmo_set_remove(const char *path);

/* Map the parts side by side, privately and read-only (for preflight);
 * *base gets the address (munmap(*base, s->total) to release). */
int pmo_set_map(const pmo_set *s, const char *path, void **base);

/* Give parts [from, ...) the mode of the first part (libpmemobj creates
 * them 0600).  Returns how many parts exist. */
unsigned pmo_set_fix_modes(const pmo_set *s, unsigned from);

#endif
