/*
 * I/O errors under an open pool: turned into errors, never into a dead
 * process.
 *
 * Two things can fail under a pool's mapping after it opened, and
 * libpmemobj handles neither:
 *  - a page behind the mapping is gone: the file was truncated by another
 *    program, or (on real persistent memory) a media error poisoned it.
 *    Touching it raises SIGBUS, which kills the process;
 *  - msync(2) fails (a disk pool's write-back hit an I/O error): libpmemobj
 *    calls it through libpmem's pmem_msync and aborts the process when it
 *    fails.
 *
 * The protocol:
 *  - pmo_iofail_watch(p) registers the pool's mapping at open;
 *    pmo_iofail_unwatch(p) at close.  Up to PMO_IOFAIL_MAX pools are
 *    watched at once; more open fine but are not covered (a SIGBUS there
 *    still ends the process).
 *  - A SIGBUS at an address inside a watched mapping replaces that page by
 *    a private anonymous page filled with PMO_IOFAIL_LOST_BYTE, and sets the
 *    pool's io_failed to EIO; the access is then retried and succeeds.  The
 *    fill reads as damage to every check of the runtime (no slot tag,
 *    object type or length is 0x5a5a...), so reads of what was lost raise
 *    CorruptPoolError instead of returning zeros as data.  Other SIGBUSes go
 *    to the handler that was there before (or end the process as always).
 *  - pmem_msync is defined here, so libpmemobj's calls reach this one (the
 *    extension module precedes libpmem in libpmemobj's symbol lookup; see
 *    docs/internals.md).  It syncs as libpmem's does; when msync fails on a
 *    watched pool it sets io_failed to the error and reports success, so
 *    libpmemobj carries on instead of aborting.
 *  - A pool with io_failed set accepts no more transactions (pmo_tx_begin
 *    fails with EIO), an open transaction in which it happened is rolled
 *    back instead of committed (or, if it happened during the commit,
 *    reported as an EIO whose durability is unknown), and close leaves the
 *    pool marked unclean so that the next open recovers it.  Reads go on.
 */
#ifndef PMO_IOFAIL_H
#define PMO_IOFAIL_H

#include "pool.h"

#define PMO_IOFAIL_MAX 64
#define PMO_IOFAIL_LOST_BYTE 0x5a

/* Without a free slot (or if sigaction fails) the pool is not watched:
 * it opens all the same. */
void pmo_iofail_watch(pmo_pool *p);
void pmo_iofail_unwatch(pmo_pool *p);

/* The error the pool has had (an errno value), or 0. */
static inline int pmo_pool_failed(const pmo_pool *p)
{
	return __atomic_load_n(&p->io_failed, __ATOMIC_RELAXED);
}

/* Set the pool's error with pmo_err and return -1: the message for a write
 * refused because of it. */
int pmo_err_pool_failed(const pmo_pool *p);

/* Testing only: the n-th pmem_msync on a watched pool from now on reports
 * EIO (after syncing); n = 0 disarms.  Returns how many were made since the
 * last call. */
long pmo_iofail_inject_msync(long n);

#endif
