/* The range log; see rangelog.h. */
#include "rangelog.h"

#include <errno.h>
#include <string.h>
#include <libpmemobj.h>

#include "error.h"
#include "hash.h"
#include "iofail.h"
#include "planted.h"
#include "tx.h"
#include "wordlog.h"

#define ROOM_MIN ((size_t)64 << 10) /* the least room reserved */

static pmo_rangelog *log_of(const pmo_pool *p)
{
	uint64_t off = p->root->range_log.off;
	return off ? (pmo_rangelog *)pmo_direct(p, off) : NULL;
}

/* The header's check: a 64-bit mix of the range and the armed value it
 * belongs to. */
static uint64_t check_of(uint64_t off, uint64_t len, uint64_t armed)
{
	return pmo_mix64(off ^ (len * 0x9e3779b97f4a7c15ULL) ^ (armed * 0xc2b2ae3d27d4eb4fULL));
}

static int room_init(PMEMobjpool *pop, void *ptr, void *arg)
{
	pmo_rangelog *rl = ptr;
	memset(rl, 0, sizeof *rl);
	rl->committed_not = ~(uint64_t)0;
	rl->cap = *(uint64_t *)arg;
	pmemobj_persist(pop, rl, sizeof *rl);
	return 0;
}

/* A block with room for len bytes, reserved or grown with libpmemobj's
 * atomic API: the old block is freed (its oid zeroed) before the new one
 * is published, so a crash in between leaves no block, never a half one.
 * Only while nothing is armed: the caller's transaction has not started
 * in libpmemobj, and earlier ones have ended (disarmed or stale). */
static pmo_rangelog *reserve(pmo_pool *p, size_t len)
{
	pmo_rangelog *rl = log_of(p);
	if (rl && rl->cap >= len)
		return rl;
	/* Powers of two: a pool whose writes grow reserves a few times. */
	uint64_t cap = ROOM_MIN;
	while (cap < len)
		cap *= 2;
	/* From the runtime's classes, as every other block (tx.h). */
	size_t size = pmo_alloc_room(p, sizeof *rl + cap);
	cap = size - sizeof *rl;
	if (rl)
		pmemobj_free(&p->root->range_log);
	if (pmemobj_xalloc(p->pop, &p->root->range_log, size, PMO_TYPENUM_RAW,
			   pmo_alloc_flags(p, size, PMO_TYPENUM_RAW, 0), room_init, &cap) != 0)
		return NULL; /* no room: libpmemobj's snapshot instead */
	return log_of(p);
}

int pmo_rangelog_save(pmo_pool *p, void *ptr, size_t len)
{
	if (len < PMO_RANGELOG_MIN || len > p->size / 8 || p->range_armed || !pmo_tx_fresh() ||
	    pmo_pool_failed(p))
		return 0;
	/* Its writes come before libpmemobj's transaction begins. */
	pmo_wordlog_spend(p);
	pmo_rangelog *rl = reserve(p, len);
	if (!rl)
		return 0;
	if (!pmo_planted("skip_range_save")) {
		/* The saved bytes and where they go, under one fence. */
		pmemobj_memcpy(p->pop, rl + 1, ptr, len, PMEMOBJ_F_MEM_NODRAIN);
		rl->off = pmo_offset(p, ptr);
		rl->len = len;
		rl->check = check_of(rl->off, len, rl->committed + 1);
		pmemobj_flush(p->pop, &rl->off,
			      offsetof(pmo_rangelog, pad) - offsetof(pmo_rangelog, off));
		pmemobj_drain(p->pop);
		/* The arming store: from here a crash restores the range. */
		rl->armed = rl->committed + 1;
		pmemobj_persist(p->pop, &rl->armed, sizeof rl->armed);
		p->range_armed = 1;
	}
	/* The transaction's first call into libpmemobj: the counter that
	 * says whether it committed. */
	if (pmo_tx_snapshot(p, &rl->committed, 2 * sizeof rl->committed) != 0)
		return -1;
	rl->committed++;
	rl->committed_not = ~rl->committed;
	if (pmo_tx_add_fresh(p, ptr, len) != 0)
		return -1;
	PMO_STAT_ADD(p, snapshots, 1);
	PMO_STAT_ADD(p, snapshot_bytes, len);
	return 1;
}

/* Copy the saved range back and disarm: idempotent, so a crash in the
 * middle only has the next open do it again. */
static void restore(pmo_pool *p, pmo_rangelog *rl)
{
	pmemobj_memcpy_persist(p->pop, pmo_direct(p, rl->off), rl + 1, rl->len);
	rl->armed = 0;
	pmemobj_persist(p->pop, &rl->armed, sizeof rl->armed);
}

void pmo_rangelog_end(pmo_pool *p, int aborted)
{
	if (!p->range_armed)
		return;
	p->range_armed = 0;
	/* After an I/O error the mapping may not take writes: the log stays
	 * armed and the next open restores the range. */
	if (aborted && !pmo_pool_failed(p))
		restore(p, log_of(p));
}

int pmo_rangelog_recover(pmo_pool *p)
{
	p->range_armed = 0;
	PMEMoid oid = p->root->range_log;
	if (!oid.off)
		return 0;
	size_t usable;
	if (pmo_root_block_check(p, oid, sizeof(pmo_rangelog), "range log", &usable) != 0)
		return -1;
	pmo_rangelog *rl = log_of(p);
	if (rl->cap > usable - sizeof *rl)
		return pmo_err_corrupt(p->path, oid.off,
				       "bad range log (room %llu in a block of %zu)",
				       (unsigned long long)rl->cap, usable);
	if (rl->committed_not != ~rl->committed)
		return pmo_err_corrupt(p->path, oid.off,
				       "bad range log (its commit counter %llu does not match its "
				       "complement)",
				       (unsigned long long)rl->committed);
	if (rl->armed <= rl->committed)
		return 0; /* disarmed, or its transaction committed */
	if (rl->armed != rl->committed + 1 || rl->check != check_of(rl->off, rl->len, rl->armed) ||
	    rl->len > rl->cap || pmo_check_off(p, rl->off, rl->len) != 0)
		return pmo_err_corrupt(p->path, oid.off,
				       "bad range log (armed %llu, committed %llu, range of %llu "
				       "bytes at %llu)",
				       (unsigned long long)rl->armed,
				       (unsigned long long)rl->committed,
				       (unsigned long long)rl->len, (unsigned long long)rl->off);
	restore(p, rl);
	return 0;
}
