/*
 * Persistent hash tables: the storage of PersistentDict, PersistentSet and
 * PersistentFrozenSet.
 *
 * The layout is a compact, insertion-ordered table in the manner of
 * CPython's dict, kept in pmem:
 *
 *   header (heap object, type PMO_T_DICT / PMO_T_SET / PMO_T_PFROZENSET)
 *     used      live entries (the len())
 *     fill      index cells that are not empty (live + dummy)
 *     nentries  entries handed out so far: [0, nentries) are live or deleted
 *     size      index cells, a power of two >= 8; 0 when there is no table
 *     table     one raw substructure (PMO_TYPENUM_RAW) holding
 *                 size uint32 index cells, then
 *                 usable(size) = size*2/3 entries
 *
 *   entry: {int64 hash; pmo_slot key; pmo_slot value}  (40 bytes, dicts)
 *          {int64 hash; pmo_slot key}                  (24 bytes, sets)
 *
 *   index cell: 0 = empty, UINT32_MAX = dummy (its entry was deleted),
 *               else 1 + the entry's index.
 *
 * Index and entries share one allocation (one alloc/free per resize, one
 * substructure for gc); the guidance's two arrays would only add a second
 * allocation to every resize.
 *
 * Entries are appended in insertion order and never move except when the
 * table is rebuilt (resize/compaction), so iteration order is insertion
 * order.  Deleting empties the entry's key and value and turns its cell
 * into a dummy; deleting the last entry also trims nentries back over the
 * deleted entries before it, so popitem() is O(1) amortised and entries
 * past nentries are free for reuse.
 *
 * Invariants at commit: used <= nentries <= usable(size); used <= fill <
 * size (there is always an empty cell, so probing ends); exactly the live
 * entries have a non-empty key and each is named by exactly one cell;
 * memory past nentries holds nothing anyone reads, so an insert writes its
 * entry there with pmo_tx_add_fresh (no snapshot).  That needs care when a
 * trim moves nentries back over committed entries within a transaction:
 * the trim snapshots the entries it passes, whole, so an abort after they
 * are reused restores them.
 *
 * Probing is open addressing over the stored 64-bit hash: the first cell is
 * hash & mask, then i = 5*i + 1 + perturb with perturb shifted right by 5
 * each step, so all the hash bits take part and, once perturb is zero, the
 * recurrence visits every cell.
 *
 * Hashes are computed by the caller (the Python binding uses the stable
 * hashes of hash.h) and stored in the entry, so a lookup never rehashes a
 * stored key and a rebuild only moves entries.  Equality is the caller's
 * callback, so the core holds no Python: it returns 1 (equal), 0 (not) or
 * -1 (error, with the error already reported: the core then returns at once
 * without touching the pool again).  The callback may run arbitrary code
 * that changes the table; after it returns the lookup checks that the table,
 * its counters and the compared key are unchanged, and starts again if not.
 *
 * Every change snapshots only what it changes: the index cell, the entry
 * (or uses add_fresh for an entry past nentries) and the counters.  An
 * insert outside any caller's transaction that needs nothing else (no
 * allocation, no rebuild, no reference count) is published instead: the
 * entry persisted, then the cell's aligned word and the three counters set
 * through the pool's word log (wordlog.h, pmo_tx_publish).  A
 * rebuild allocates the new table in the transaction (no snapshot) and
 * frees the old one.  References: added key and value slots are stolen;
 * removed ones are handed back (with their references) when the caller
 * asks, dropped otherwise.
 */
#ifndef PMO_DICT_H
#define PMO_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

typedef struct pmo_dict {
	pmo_head head;
	uint64_t used;
	uint64_t fill;
	uint64_t nentries;
	uint64_t size;
	uint64_t table;
} pmo_dict;

typedef struct pmo_dict_entry {
	int64_t hash;
	pmo_slot key;
	pmo_slot value; /* absent in the entries of a set (stride 24) */
} pmo_dict_entry;

#define PMO_DICT_MINSIZE 8
#define PMO_DICT_CELL_EMPTY 0u
#define PMO_DICT_CELL_DUMMY UINT32_MAX

/* Results of pmo_dict_find besides an entry index. */
#define PMO_DICT_MISSING ((int64_t)-1)
#define PMO_DICT_ERROR ((int64_t)-2)

/* Key equality: 1 equal, 0 not, -1 error (already reported). */
typedef int (*pmo_dict_eq)(void *ctx, const pmo_slot *stored);

static inline int pmo_dict_is_set(const pmo_dict *d)
{
	return d->head.type != PMO_T_DICT;
}

static inline size_t pmo_dict_stride(const pmo_dict *d)
{
	return pmo_dict_is_set(d) ? offsetof(pmo_dict_entry, value) : sizeof(pmo_dict_entry);
}

static inline uint64_t pmo_dict_usable(uint64_t size)
{
	return size * 2 / 3;
}

static inline uint32_t *pmo_dict_cells(const pmo_pool *p, const pmo_dict *d)
{
	return (uint32_t *)pmo_direct(p, d->table);
}

/* Entry i (< nentries) of a table that exists. */
static inline pmo_dict_entry *pmo_dict_entry_at(const pmo_pool *p, const pmo_dict *d, uint64_t i)
{
	return (pmo_dict_entry *)((char *)pmo_direct(p, d->table) + d->size * sizeof(uint32_t) +
				  i * pmo_dict_stride(d));
}

static inline int pmo_dict_entry_live(const pmo_dict_entry *e)
{
	return e->key.tag != PMO_TAG_EMPTY;
}

/* A new empty table object of type code `type` (PMO_T_DICT, PMO_T_SET or
 * PMO_T_PFROZENSET) with room for n entries; in a transaction, refcount 1.
 * 0 on failure. */
uint64_t pmo_dict_new(pmo_pool *p, uint32_t type, size_t n);

/* Checked accessor: NULL (errno EIO) if off is no well-formed table of one
 * of the three types. */
pmo_dict *pmo_dict_get(const pmo_pool *p, uint64_t off);

/* Find the live entry whose key equals the caller's (same hash and eq says
 * 1).  Returns its index, PMO_DICT_MISSING, or PMO_DICT_ERROR (eq failed, or
 * errno EIO for a damaged table).  Reads only; no transaction needed. */
int64_t pmo_dict_find(const pmo_pool *p, const pmo_dict *d, int64_t hash, pmo_dict_eq eq,
		      void *ctx);

/* Index of the last live entry, or -1 if there is none. */
int64_t pmo_dict_last(const pmo_pool *p, const pmo_dict *d);

/* In a transaction.  Append an entry for a key the caller knows is absent
 * (key and value references stolen; value ignored for sets). */
int pmo_dict_add(pmo_pool *p, pmo_dict *d, int64_t hash, pmo_slot key, pmo_slot value);

/* Replace the value of live entry ix (dicts). */
int pmo_dict_set_value(pmo_pool *p, pmo_dict *d, uint64_t ix, pmo_slot value);

/* Remove live entry ix.  Its key and value are handed to *key / *value with
 * their references when those are not NULL, dropped otherwise. */
int pmo_dict_remove(pmo_pool *p, pmo_dict *d, uint64_t ix, pmo_slot *key, pmo_slot *value);

/* Make room for n more insertions without a rebuild. */
int pmo_dict_reserve(pmo_pool *p, pmo_dict *d, size_t n);

/* Remove everything and free the table. */
int pmo_dict_clear(pmo_pool *p, pmo_dict *d);

/* A new table of type code `type` holding the live entries of src (their
 * keys and values increfed; types must have the same entry layout: a dict
 * copies to a dict, a set to a set or frozenset).  0 on failure. */
uint64_t pmo_dict_copy(pmo_pool *p, const pmo_dict *src, uint32_t type);

/* Find-or-insert helpers for C users (tests, benches): set key -> value
 * (references stolen; an existing key keeps its stored key, whose new copy
 * is dropped) and delete by key.  pmo_dict_del returns 1 if the key was
 * there, 0 if not, -1 on error. */
int pmo_dict_set(pmo_pool *p, pmo_dict *d, int64_t hash, pmo_slot key, pmo_slot value,
		 pmo_dict_eq eq, void *ctx);
int pmo_dict_del(pmo_pool *p, pmo_dict *d, int64_t hash, pmo_dict_eq eq, void *ctx);

/* Order-independent hash of a set's content from the stored item hashes
 * (pmo_hash_frozenset); PMO_HASH_UNKNOWN (-1) on allocation failure. */
int64_t pmo_dict_content_hash(const pmo_pool *p, const pmo_dict *d);

void pmo_dict_register(void);

#endif
