/*
 * Persistent list storage.
 *
 * A list object holds its length, its capacity and the offset of a raw
 * array of `cap` slots; items [0, len) are values.  Growth reallocates the
 * array to about 1.5x (amortised O(1) append), all inside the caller's
 * transaction.  Slots past len are never read: gc, deallocation and
 * validation only ever look at [0, len), and every write past len
 * overwrites whole slots.  They are empty when zeroed by growth or
 * cleared by a removal, but may hold what an append left there without
 * making it reachable (one rolled back, or one published without a
 * transaction that failed or was cut by a crash before its publish): an
 * inline value or a reference that counts for nothing.
 *
 * Stored values are passed in as slots carrying a reference (stolen);
 * removed values are handed back carrying theirs when the caller asks for
 * them (so it can read them before dropping them), dropped otherwise.
 */
#ifndef PMO_LIST_H
#define PMO_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

typedef struct pmo_list {
	pmo_head head;
	uint64_t len;
	uint64_t cap;
	uint64_t items; /* raw array of cap slots, 0 when cap == 0 */
} pmo_list;

uint64_t pmo_list_new(pmo_pool *p, size_t cap);

/* Checked accessor (NULL with errno EIO if off is no well-formed list). */
pmo_list *pmo_list_get(const pmo_pool *p, uint64_t off);

static inline pmo_slot *pmo_list_items(const pmo_pool *p, const pmo_list *l)
{
	return (pmo_slot *)pmo_direct(p, l->items);
}

/* All in a transaction; 0 or -1. */
int pmo_list_reserve(pmo_pool *p, pmo_list *l, size_t n);
int pmo_list_append(pmo_pool *p, pmo_list *l, pmo_slot v);
int pmo_list_insert(pmo_pool *p, pmo_list *l, size_t i, pmo_slot v);
int pmo_list_set(pmo_pool *p, pmo_list *l, size_t i, pmo_slot v);

/* Replace items [lo, hi) by the n slots in vals (whose references are
 * stolen).  The removed slots are copied to removed (with their
 * references, which the caller must drop with pmo_slot_decref) if it is
 * not NULL, else dropped here. */
int pmo_list_replace(pmo_pool *p, pmo_list *l, size_t lo, size_t hi, const pmo_slot *vals, size_t n,
		     pmo_slot *removed);

/* Rearrange items: new item i is old item order[i] (a permutation of
 * [0, len)); no reference changes. */
int pmo_list_permute(pmo_pool *p, pmo_list *l, const size_t *order);

void pmo_list_register(void);

#endif
