/*
 * The range log: the undo log of large in-place writes (a PersistentArray's
 * writable range), kept by the pool instead of libpmemobj.
 *
 * libpmemobj's own snapshot of a large range costs six to eight times a
 * durable copy of it (measured: pmo_bench RawTxRange1MiB against
 * RawRangeCopy1MiB): it copies the range into undo-log extension buffers
 * that it allocates and frees in every transaction, and checksums every
 * byte it copied with a scalar Fletcher loop.  The range log copies the
 * old bytes once into a block the pool keeps, with no checksum, and ties
 * the copy to libpmemobj's transaction by one undo-logged counter:
 *
 *   block (held by the root's range_log, PMO_TYPENUM_RAW):
 *     committed  bumped, under libpmemobj's undo log, by every transaction
 *                that used the log, so it holds its new value exactly when
 *                that transaction committed
 *     committed_not  ~committed, logged and bumped with it: a damaged
 *                counter one below armed would otherwise read as a
 *                transaction that never committed, and its old bytes would
 *                be put back over committed ones
 *     armed      committed + 1 while a transaction's saved range is live;
 *                the saved range counts only while armed > committed
 *     off, len   the saved range (pool offset, bytes)
 *     cap        bytes of room after the header
 *     check      a hash of off, len and armed's value, written with off and
 *                len: a damaged header is an error at open, not a copy to
 *                a wrong place (the saved items themselves carry no
 *                checksum, as an array's items carry none in place)
 *
 * Saving [ptr, ptr+len): copy the old bytes into the room and persist
 * them with off, len and check; then store armed = committed + 1 (one
 * aligned 8-byte store, failure-atomic) and persist it; only then does the
 * transaction start in libpmemobj, snapshot `committed` and bump it, and
 * add the range without a snapshot (libpmemobj flushes it before its
 * commit point).  So until the commit is durable, a crash leaves
 * armed > committed (libpmemobj's recovery puts the old counter back), and
 * the open copies the saved bytes back; after it, armed == committed and
 * the block is stale.  A transaction rolled back at run time gets the same
 * copy back at its end (pmo_tx_end), after libpmemobj's rollback.
 *
 * Order of restores: libpmemobj restores its snapshots first (in its
 * rollback, or in its recovery inside pmemobj_open), the range log last.
 * That is right only if the range log holds the oldest copy of its bytes,
 * so it is used only as the first change of a transaction, before anything
 * went through libpmemobj (pmo_tx_fresh): whatever the transaction
 * snapshots later holds newer bytes and is restored first.  One range per
 * transaction; any other is snapshotted by libpmemobj as before.  One
 * transaction at a time uses a pool's log: the binding's pool lock holds
 * a whole transaction, as it must for the pool's other transaction state.
 *
 * The block is reserved at the first large write and grown (freed and
 * allocated again, with libpmemobj's atomic API, while nothing is armed)
 * when a larger range comes (to a power of two, for ranges up to an
 * eighth of the pool); the pool keeps it from then on (gc marks it from
 * the root).  Pools that may hold one are format version 3, so that an
 * older build, which would not restore it, refuses them.
 */
#ifndef PMO_RANGELOG_H
#define PMO_RANGELOG_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"

typedef struct pmo_rangelog {
	uint64_t committed;
	uint64_t committed_not; /* ~committed; the two are logged as one range */
	uint64_t armed;
	uint64_t off;
	uint64_t len;
	uint64_t cap;
	uint64_t check;
	uint64_t pad;
	/* cap bytes of saved data follow */
} pmo_rangelog;

_Static_assert(sizeof(pmo_rangelog) == 64, "pmo_rangelog layout is persistent");
_Static_assert(offsetof(pmo_rangelog, committed_not) == 8 && offsetof(pmo_rangelog, armed) == 16 &&
		       offsetof(pmo_rangelog, off) == 24 && offsetof(pmo_rangelog, len) == 32 &&
		       offsetof(pmo_rangelog, cap) == 40 && offsetof(pmo_rangelog, check) == 48,
	       "pmo_rangelog layout is persistent");

/* Ranges smaller than this go to libpmemobj's snapshot, cheaper there. */
#define PMO_RANGELOG_MIN ((size_t)4 << 10)

/* Save the len bytes at ptr (inside a block allocated before this
 * transaction) so that an abort or a crash before the commit puts them
 * back, and have them flushed at the commit.  1 if the range log took
 * them, 0 if it does not apply (too small or too large, not the
 * transaction's first change, no room): the caller snapshots them with
 * libpmemobj instead; -1 with errno if the transaction failed. */
int pmo_rangelog_save(pmo_pool *p, void *ptr, size_t len);

/* The outermost transaction has ended in libpmemobj (tx.c): after a
 * rollback, copy the saved range back and disarm the log. */
void pmo_rangelog_end(pmo_pool *p, int aborted);

/* At open, after libpmemobj's recovery: put back the range of a
 * transaction that did not commit.  0, or -1 with errno (EIO, a damaged
 * log). */
int pmo_rangelog_recover(pmo_pool *p);

#endif
