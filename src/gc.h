/*
 * Garbage collection: mark from the roots, sweep the whole heap.
 *
 * Reference counting frees most garbage the moment it appears; gc is for
 * what refcounting cannot see: reference cycles, and objects orphaned by
 * a crash between allocation and the store that would have referenced
 * them.  The mark phase walks from the pool's root slot, its type table
 * and any extra roots the caller names (objects only volatile proxies hold)
 * with an explicit stack; marks go in a volatile bitmap with a bit per
 * 16 bytes of pool, so nothing is written to the pool while marking.  The
 * sweep visits every allocation with the heap walk (heapwalk.h), which
 * reads libpmemobj's run bitmaps and allocation headers directly, so the
 * whole run is linear in the heap size.  Garbage is freed in transactions of a
 * bounded number of objects: a crash mid-sweep leaves only garbage that
 * the next run finds again.
 */
#ifndef PMO_GC_H
#define PMO_GC_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"

typedef struct pmo_gc_result {
	uint64_t examined;   /* allocations visited by the sweep */
	uint64_t live;       /* heap objects reachable */
	uint64_t orphans;    /* unreachable objects with refcount 0 */
	uint64_t cycles;     /* unreachable objects with refcount > 0 */
	uint64_t subs_live;  /* raw substructures reachable */
	uint64_t subs_freed; /* raw substructures freed */
	uint64_t bad_refs;   /* references to invalid offsets (damage) */
	uint64_t ns;         /* time taken */
	/* live objects per type code: counts[code] for code < n_counts;
	 * malloc'd, the caller frees it. */
	uint64_t *type_counts;
	size_t n_type_counts;
} pmo_gc_result;

/* Called for each unreachable object before it is freed (may be NULL). */
typedef void (*pmo_gc_report)(void *ctx, uint64_t off, uint32_t type, uint64_t refcnt);

int pmo_gc(pmo_pool *p, const uint64_t *extra_roots, size_t n_extra, pmo_gc_result *res,
	   pmo_gc_report report, void *report_ctx);

/* Called for each reachable object that breaks its type's invariants. */
typedef void (*pmo_invalid_report)(void *ctx, uint64_t off, uint32_t type, const char *problem);

/* Walk everything reachable, as gc's mark phase does, checking each
 * container's invariants (pmo_typeops.validate) and every reference; a
 * broken object is reported and not followed.  Changes nothing.  Sets
 * *n_invalid to the number of problems (bad references included). */
int pmo_validate(pmo_pool *p, const uint64_t *extra_roots, size_t n_extra,
		 pmo_invalid_report report, void *report_ctx, uint64_t *n_invalid);

typedef struct pmo_check_result {
	uint64_t examined;    /* allocations visited by the heap walk */
	uint64_t live;        /* heap objects reachable */
	uint64_t unreachable; /* heap objects nothing reachable holds (the
				* next gc frees them) */
	uint64_t invalid;     /* problems found, bad references included */
	uint64_t used_bytes;  /* usable bytes of every allocation walked */
	/* live objects per type code, as in pmo_gc_result (the caller
	 * frees type_counts) */
	uint64_t *type_counts;
	size_t n_type_counts;
} pmo_check_result;

/* For `pmemobj du`: bytes[i] = the usable bytes of every allocation
 * (objects and their substructures) reachable from offs[i] and not from
 * an earlier offs[j]; an offset of 0 counts nothing.  Changes nothing. */
int pmo_reachable_bytes(pmo_pool *p, const uint64_t *offs, size_t n, uint64_t *bytes);

/* pool.check(): pmo_validate, which also verifies every immutable value
 * against its checksum (pmo_value_verify) and every table's keys against
 * their buckets, then a walk of the heap (heapwalk.h) that counts
 * what is unreachable and compares each live object's reference count
 * with the references that reach it (too low always a problem; too high
 * only when no garbage is left that could hold the rest).  Changes
 * nothing.
 * Problems go to report (type 0 for heap-level ones); -1 only when the
 * check itself could not run (out of memory). */
int pmo_check(pmo_pool *p, const uint64_t *extra_roots, size_t n_extra, pmo_invalid_report report,
	      void *report_ctx, pmo_check_result *res);

#endif
