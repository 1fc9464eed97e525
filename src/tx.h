/*
 * Transactions over libpmemobj's, with the bookkeeping the runtime needs.
 *
 * Every mutation of persistent state runs between pmo_tx_begin and
 * pmo_tx_end: the caller's transaction when one is open (libpmemobj
 * flattens nesting, so an abort anywhere rolls back the outermost), or its
 * own.  The transaction is per thread and bound to one pool; beginning one
 * for another pool while a transaction is open in this thread is refused
 * rather than left to libpmemobj, which would abort the process.
 *
 * Failure protocol: a function that fails inside a transaction returns -1
 * with errno and the message set, and does not call libpmemobj again; the
 * code that began the transaction calls pmo_tx_abort (if libpmemobj has
 * not aborted already) and pmo_tx_end, which returns -1 with the errno of
 * the failure.  Once aborted, a transaction stays aborted until its
 * outermost level ends: pmo_tx_begin inside it fails with ECANCELED.
 *
 * All transaction state, in one place.  Per thread, in tx.c: tx_pool (the
 * pool of the open transaction), tx_depth (levels begun and not ended),
 * tx_started (libpmemobj's transaction has begun), tx_err (the error of a
 * transaction aborted before it started), tx_single (the next slot store
 * may skip the log).  Per pool, in pmo_pool: the objects whose refcount
 * reached 0 in this transaction (dying, freed after commit), hook_tx_end
 * and deferred_failed.  In the binding, per pool (PoolObject): frames (the
 * `with` blocks and begin() calls of the owning thread, which holds the
 * pool lock until the last ends), created (objects made in this
 * transaction, whose proxies die if it rolls back) and epoch.
 *
 *   idle --pmo_tx_begin--> open, not started (depth 1; no libpmemobj call)
 *   open, not started --snapshot/alloc/free--> started (pmemobj_tx_begin)
 *   open, not started --pmo_tx_store_atomic--> same (a logged-free store)
 *   any open state --pmo_tx_begin--> depth + 1;  --pmo_tx_end--> depth - 1
 *   open --pmo_tx_abort--> aborted (libpmemobj's, or tx_err if not started)
 *   depth 1 --pmo_tx_end--> idle: commit if started and not aborted; then
 *        hook_tx_end(aborted) (the binding bumps epoch, drops proxies of a
 *        rolled-back transaction), then the deferred frees of a commit.
 */
#ifndef PMO_TX_H
#define PMO_TX_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"
#include "wordlog.h"

/* Thread-local state of the transaction code, read several times by
 * every operation.  In a shared object (the extension is dlopen'ed) the
 * default TLS model makes each access a call to __tls_get_addr (~15 of
 * them per autocommitted write); initial-exec makes it one load.  That
 * model takes its bytes from the static TLS surplus glibc reserves for
 * modules loaded later, so it is kept to these few small variables (the
 * error messages of error.c keep the default model). */
#define PMO_THREAD_LOCAL __thread __attribute__((tls_model("initial-exec")))

/* Fault injection, for the tests: the n-th call (counted from arming) of
 * one of the armed kinds into libpmemobj fails as libpmemobj's own failure
 * would (ENOMEM; a failed snapshot, allocation or free aborts the
 * transaction).  pmo_fault_arm(0, 0) disarms.  Disarmed it costs one
 * predictable branch per call. */
enum {
	PMO_FAULT_BEGIN = 1,    /* pmemobj_tx_begin */
	PMO_FAULT_SNAPSHOT = 2, /* pmemobj_tx_add_range_direct */
	PMO_FAULT_ADD = 4,      /* pmemobj_tx_xadd_range_direct (no snapshot) */
	PMO_FAULT_ALLOC = 8,    /* pmemobj_tx_xalloc */
	PMO_FAULT_FREE = 16,    /* pmemobj_tx_free */
	PMO_FAULT_PUBLISH = 32, /* pmemobj_publish (pmo_tx_publish, one word) */
	PMO_FAULT_ALL = 63
};
void pmo_fault_arm(unsigned kinds, long n);
/* Calls of the armed kinds made since arming (to know when an operation
 * made fewer calls than n: the fault was never hit). */
long pmo_fault_calls(void);

int pmo_tx_begin(pmo_pool *p);

/* Single stores without a log.  An operation whose one change to the pool
 * is the next pmo_slot_store calls pmo_tx_single_store() first.  That store
 * (pmo_tx_store_atomic, called by pmo_slot_store) then skips the
 * transaction if the operation runs outside any caller's transaction and
 * nothing was logged in it yet, and the old and new values are both inline
 * and differ in one 8-byte word: it stores that word and persists it, 1
 * flush and 1 fence, since an aligned 8-byte store is failure-atomic on
 * x86.  Returns 1 if it did, 0 if the caller must snapshot and store as
 * usual (the permission is used up either way).  Never fails. */
void pmo_tx_single_store(void);
int pmo_tx_store_atomic(pmo_pool *p, pmo_slot *dst, pmo_slot v);

/* Changes published without a transaction.  An operation whose remaining
 * changes are exactly "write len bytes where nothing committed reads them
 * (past a container's length, or its entries' count), then make them
 * reachable by setting n 8-byte words (the length; a dict's index cell and
 * counters)" holds the same permission as a single store
 * (pmo_tx_single_store(), called by the binding before the operation's
 * core call).  If the operation runs outside any caller's transaction and
 * nothing was logged in it yet, pmo_tx_publish then copies src to dst,
 * persists it, and only then sets the words, failure-atomically: one word
 * through libpmemobj's action API (pmemobj_set_value + pmemobj_publish,
 * applied directly: one store, flush and fence), several through the
 * pool's word log (wordlog.h).  A crash leaves either the old words (the
 * new bytes unreachable, as if never written) or the new ones with the
 * new bytes already durable.  No undo log, no transaction: about half the
 * flushes and fences.
 *
 * Returns 1 if it did; 0 if it did nothing and the caller must take the
 * transactional path (the permission is used up either way; also when
 * the pool has no word log); -1 with errno and the message set if the
 * publish failed (the words are unchanged, committed state intact; the
 * caller returns -1 as from any failed transactional call).  See
 * docs/internals.md, "The publish path". */
int pmo_tx_publish(pmo_pool *p, void *dst, const void *src, size_t len, const pmo_word *w,
		   unsigned n);

/* Commit this level (if not aborted) and end it.  0 or -1 with errno.
 * At the outermost level the end of a transaction is, in this order: the
 * commit (or rollback) in libpmemobj, which fixes the outcome; the pool's
 * hook_tx_end with that outcome; then, after a commit, the deferred frees
 * (pmo_free_pending), in transactions of their own.  The return value is
 * the outcome; a failed deferred free does not change it. */
int pmo_tx_end(pmo_pool *p);

/* Abort the whole transaction with errnum (no-op if already aborted). */
void pmo_tx_abort(pmo_pool *p, int errnum);

/* Abort with the current errno and end this level: the one-line error
 * path of a function that began its own transaction.  Returns -1. */
int pmo_tx_fail(pmo_pool *p);

/* Depth of this thread's transaction (0 when none is open). */
int pmo_tx_depth(void);

/* Is this thread's transaction (if any) still able to do work? */
int pmo_tx_active(void);

/* Is a transaction open in this thread that has made no change through
 * libpmemobj yet (nothing snapshotted, allocated or freed)? */
int pmo_tx_fresh(void);

/* Snapshot len bytes at ptr so an abort restores them. */
int pmo_tx_snapshot(pmo_pool *p, void *ptr, size_t len);

/* Snapshot a whole block (the same len for the same ptr every time) once
 * per transaction: later calls for it in the same transaction return at
 * once, without asking libpmemobj.  For structures changed many times in
 * one transaction (the nodes of a B+ tree under bulk inserts). */
int pmo_tx_snapshot_block(pmo_pool *p, void *ptr, size_t len);

/* Have len bytes at ptr written back at commit without saving their old
 * contents: for memory no committed state depends on (slots past a
 * container's length, say). */
int pmo_tx_add_fresh(pmo_pool *p, void *ptr, size_t len);

/* Register the pool's allocation classes (at every create and open, before
 * anything is allocated).  libpmemobj's default classes give every size
 * class runs of whole 256 KiB chunks of its own, so a program that
 * allocates many sizes (a growing list, tables, strings) fills a small
 * pool with nearly empty runs.  Instead every allocation the runtime makes
 * comes from a few classes whose objects may span 1 to 64 units: 64-byte
 * units up to 4 KiB, 4 KiB units up to 256 KiB.  A pool of 64 MiB or more
 * (a growable pool: by its max_size) also has 16-byte units for objects
 * up to 1 KiB, which waste less per small object; a pool under 64 MiB has
 * instead 32 KiB units in 4-chunk runs, up to a whole run (about 1 MB).
 * Larger objects come from libpmemobj's own classes or are whole chunks.
 * A pool with the 16-byte units also has a header-less class for each
 * 16-byte size up to PMO_HEADLESS_MAX, from which pmo_alloc_flags takes
 * the objects (PMO_TYPENUM_OBJ) of that size: no allocation header, the run
 * standing for it (heap.h, pmo_block_type).
 * -1 with errno on failure. */
int pmo_alloc_classes_init(pmo_pool *p);

/* The bytes an allocation of size really gets in p (in a pool under
 * 64 MiB, a request between the third class's reach and whole chunks is
 * rounded up to whole chunks): growing containers size their capacity to
 * it. */
size_t pmo_alloc_room(const pmo_pool *p, size_t size);

/* The libpmemobj flags (class, zeroing) of an allocation of size bytes
 * (already rounded by pmo_alloc_room) and type number type_num in p: for
 * allocations made outside a transaction too (the range log's block). */
uint64_t pmo_alloc_flags(const pmo_pool *p, size_t size, uint64_t type_num, int zero);

/* Allocate inside the transaction; returns the offset, 0 on failure. */
uint64_t pmo_tx_alloc(pmo_pool *p, size_t size, uint64_t type_num, int zero);

/* Reallocate (contents copied, truncated or zero-filled) as a new block of
 * the right class: the old one is freed, so callers snapshot the field
 * that holds the offset, never the data.  0 on failure. */
uint64_t pmo_tx_realloc(pmo_pool *p, uint64_t off, size_t size, uint64_t type_num, int zero);

int pmo_tx_free(pmo_pool *p, uint64_t off);

#endif
