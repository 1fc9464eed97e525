/*
 * The word log: the redo log of an autocommitted operation that changes a
 * few 8-byte words at once (a dict or set insert: an index cell and three
 * counters), kept by the pool instead of libpmemobj.
 *
 * Such an operation in a libpmemobj transaction costs about twice a raw
 * one-slot transaction: the undo log's ranges go through a tree, a sort
 * and a malloc'ed buffer, and it takes 7 fences.  libpmemobj's action API
 * publishes several words through the lane's redo log, which costs more
 * still (bench/c RawPublishDictAdd).  The word log does it with stores,
 * flushes and two fences:
 *
 *   block (held by the root's word_log, PMO_TYPENUM_RAW; the log proper
 *   starts at its first 64-byte boundary):
 *     check      0 once the record is spent; else a 64-bit mix of the
 *                record (everything below but magic), never 0
 *     n          words in the record, 1 to PMO_WORDLOG_MAX
 *     data_off, data_len, data_check
 *                the new bytes the words make reachable (a dict's new
 *                entry, past its nentries) and a mix of their contents
 *     e[i]       {off, val}: store val at pool offset off (8-byte aligned)
 *     magic      PMO_WORDLOG_MAGIC, written when the block is made: a
 *                root field damaged into another block's offset is
 *                refused at open instead of being written over
 *
 * Setting n words (pmo_wordlog_set): copy the new bytes in and flush
 * them, write the record and flush it, a fence.  Store the words and
 * flush them, a fence.  The record stays live: it is spent (check = 0,
 * persisted) by pmo_wordlog_spend, which every other change of the pool
 * calls before its first write (tx.c: libpmemobj's transaction begins,
 * log-free stores, one-word publishes; the range log; close), or
 * overwritten by the next record.  While live, nothing else has written,
 * so its words hold the values it records and redoing it changes nothing.
 *
 * A record counts (is redone at open) only if its check matches and the
 * data bytes match data_check: then every byte the redo depends on is
 * durable as it was written.  That is what makes one fence enough for the
 * data and the record together: before the fence, any subset of their
 * lines may be durable, and a record whose data did not all reach the
 * media (or that is torn, or a mix of an old record's lines and a new
 * one's) fails one check or the other; none of its words was stored yet,
 * so there is nothing to redo.  After the fence it counts; a crash in or
 * after the stores is redone at open, where the stores are idempotent.
 *
 * One operation at a time uses a pool's log: the binding's pool lock holds
 * the operation.  It is used only outside any caller's transaction and
 * before the operation logged anything in libpmemobj (tx.c, take_single),
 * and spent before a libpmemobj transaction or the range log (rangelog.h)
 * begins, so no transaction is in flight with a live record and the order
 * of the three recoveries at open does not matter.
 *
 * The block is made when a pool is created or first opened by a build that
 * knows the log, with libpmemobj's atomic API; if there is no room for it,
 * inserts take transactions as before.  Pools that may hold a record are
 * format version 4, so that an older build, which would not redo it,
 * refuses them.
 */
#ifndef PMO_WORDLOG_H
#define PMO_WORDLOG_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"

#define PMO_WORDLOG_MAX 6
#define PMO_WORDLOG_MAGIC 0x474f4c44524f5750ULL /* "PWORDLOG" */

typedef struct pmo_wordlog {
	uint64_t check;
	uint64_t n;
	uint64_t data_off;
	uint64_t data_len;
	uint64_t data_check;
	struct {
		uint64_t off;
		uint64_t val;
	} e[PMO_WORDLOG_MAX];
	uint64_t magic;
	uint64_t pad[6];
} pmo_wordlog;

/* One word of a multi-word change: where, and the value it gets. */
typedef struct pmo_word {
	uint64_t *word;
	uint64_t value;
} pmo_word;

/* Does p have a word log to use now? */
int pmo_wordlog_ready(const pmo_pool *p);

/* Copy the len bytes at src to data (where nothing committed reads them)
 * and then set the n (1 to PMO_WORDLOG_MAX) aligned words that make them
 * reachable, failure-atomically.  Only when pmo_wordlog_ready(p).  Never
 * fails. */
void pmo_wordlog_set(pmo_pool *p, void *data, const void *src, size_t len, const pmo_word *w,
		     unsigned n);

/* Spend a live record (see above): before any other change's first
 * write.  A no-op when nothing is live. */
void pmo_wordlog_spend_live(pmo_pool *p);
static inline void pmo_wordlog_spend(pmo_pool *p)
{
	if (__builtin_expect(p->wordlog_live, 0))
		pmo_wordlog_spend_live(p);
}

/* At open, after libpmemobj's recovery: redo a record that counts.  0, or
 * -1 with errno (a damaged block or record). */
int pmo_wordlog_recover(pmo_pool *p);

/* Make the block if the pool has none (at create and open).  Best effort:
 * without room the pool works without the log. */
void pmo_wordlog_reserve(pmo_pool *p);

#endif
