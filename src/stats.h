/*
 * Per-pool counters.  They are plain (non-atomic) increments: a pool is
 * only ever mutated by one thread at a time (the binding holds the pool
 * lock for every operation and for the whole of a transaction), and that
 * keeps them cheap enough to stay on in every build.
 */
#ifndef PMO_STATS_H
#define PMO_STATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pmo_stats {
	uint64_t tx_begun; /* outermost transactions begun */
	uint64_t tx_committed;
	uint64_t tx_aborted;
	uint64_t tx_nested;     /* inner (flattened) transactions begun */
	uint64_t atomic_stores; /* one-word stores made without a log */
	uint64_t published;     /* changes published without a transaction */
	uint64_t snapshots;     /* pmemobj_tx_add_range calls */
	uint64_t snapshot_bytes;
	uint64_t allocs;
	uint64_t alloc_bytes; /* bytes requested */
	uint64_t frees;
	uint64_t gc_runs;
	uint64_t gc_examined; /* heap objects visited by the sweep */
	uint64_t gc_freed;
	uint64_t gc_ns;
	uint64_t open_ns;     /* last open (or create) */
	uint64_t recovery_ns; /* gc after an unclean shutdown, at open */
} pmo_stats;

/* Field names in declaration order, for the bindings and benchmarks.
 * (clang-format cannot lay out a list of macro calls without semicolons
 * the same way twice, so it leaves this one alone.) */
// clang-format off
#define PMO_STATS_FIELDS(X) \
	X(tx_begun) X(tx_committed) X(tx_aborted) X(tx_nested) X(atomic_stores) \
	X(published) X(snapshots) X(snapshot_bytes) X(allocs) X(alloc_bytes) X(frees) \
	X(gc_runs) X(gc_examined) X(gc_freed) X(gc_ns) X(open_ns) X(recovery_ns)
// clang-format on

/* The increments go through PMO_STAT_ADD so that a build with
 * -DPMO_NO_STATS can compile them out: the C benchmarks build both ways
 * to show what the counters cost (experiments/stats_overhead.py).
 * The struct stays in both builds (all zero without stats), so code that
 * reads it need not care. */
#ifdef PMO_NO_STATS
#define PMO_STATS_ENABLED 0
#define PMO_STAT_ADD(p, field, n) ((void)(p))
#else
#define PMO_STATS_ENABLED 1
#define PMO_STAT_ADD(p, field, n) ((void)((p)->stats.field += (uint64_t)(n)))
#endif

uint64_t pmo_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif
