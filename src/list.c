/* Persistent list storage; see list.h. */
#include "list.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "planted.h"
#include "tx.h"

#define MAX_LIST_ITEMS ((PMEMOBJ_MAX_ALLOC_SIZE) / sizeof(pmo_slot))

uint64_t pmo_list_new(pmo_pool *p, size_t cap)
{
	uint64_t off = pmo_obj_new(p, PMO_T_LIST, sizeof(pmo_list), 1);
	if (!off)
		return 0;
	if (cap) {
		pmo_list *l = pmo_direct(p, off);
		l->items = pmo_raw_new(p, cap * sizeof(pmo_slot), 1);
		if (!l->items)
			return 0;
		l->cap = cap;
	}
	return off;
}

pmo_list *pmo_list_get(const pmo_pool *p, uint64_t off)
{
	pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_list));
	if (!h)
		return NULL;
	pmo_list *l = (pmo_list *)h;
	/* cap is bounded first: cap * 16 of a damaged cap can wrap to a
	 * small number that passes the bounds check. */
	if (h->type != PMO_T_LIST || l->len > l->cap || l->cap > MAX_LIST_ITEMS ||
	    (l->cap && pmo_check_off(p, l->items, l->cap * sizeof(pmo_slot)))) {
		pmo_err_corrupt(p->path, off, "bad list");
		return NULL;
	}
	return l;
}

/* Make room for n items in all.  New array slots are zeroed (empty). */
int pmo_list_reserve(pmo_pool *p, pmo_list *l, size_t n)
{
	if (n <= l->cap)
		return 0;
	if (n > MAX_LIST_ITEMS)
		return pmo_err(ENOMEM, "list of %zu items is too large", n);
	size_t cap = l->cap + (l->cap >> 1) + 4;
	if (cap < n)
		cap = n;
	/* Use all the room the allocation will have. */
	cap = pmo_alloc_room(p, cap * sizeof(pmo_slot)) / sizeof(pmo_slot);
	if (cap > MAX_LIST_ITEMS)
		cap = MAX_LIST_ITEMS;
	if (pmo_tx_snapshot(p, &l->cap, 2 * sizeof(uint64_t)) != 0) /* cap, items */
		return -1;
	uint64_t items =
		l->items ? pmo_tx_realloc(p, l->items, cap * sizeof(pmo_slot), PMO_TYPENUM_RAW, 1)
			 : pmo_raw_new(p, cap * sizeof(pmo_slot), 1);
	if (!items)
		return -1;
	l->items = items;
	l->cap = cap;
	return 0;
}

int pmo_list_append(pmo_pool *p, pmo_list *l, pmo_slot v)
{
	if (pmo_list_reserve(p, l, l->len + 1) != 0)
		return -1;
	pmo_slot *dst = pmo_list_items(p, l) + l->len;
	/* Past len nothing committed reads the slot: outside a transaction
	 * it is persisted and then published by setting len; inside, it is
	 * only written back at commit, with nothing saved. */
	int published = pmo_tx_publish(p, dst, &v, sizeof v, &(pmo_word){&l->len, l->len + 1}, 1);
	if (published)
		return published < 0 ? -1 : 0;
	if (pmo_tx_add_fresh(p, dst, sizeof *dst) != 0)
		return -1;
	if (!pmo_planted("skip_len_snapshot") && pmo_tx_snapshot(p, &l->len, sizeof l->len) != 0)
		return -1;
	*dst = v;
	l->len++;
	return 0;
}

/* The binding computes indices before converting the values, which can
 * run Python code (pickling) that shrinks the list: stale indices are
 * refused here, not used to write past len or move a negative count. */
static int stale_index(const pmo_list *l)
{
	return pmo_err(EINVAL, "the list changed size during the operation (%llu items now)",
		       (unsigned long long)l->len);
}

int pmo_list_set(pmo_pool *p, pmo_list *l, size_t i, pmo_slot v)
{
	if (i >= l->len)
		return stale_index(l);
	return pmo_slot_store(p, pmo_list_items(p, l) + i, v);
}

int pmo_list_insert(pmo_pool *p, pmo_list *l, size_t i, pmo_slot v)
{
	return pmo_list_replace(p, l, i, i, &v, 1, NULL);
}

int pmo_list_replace(pmo_pool *p, pmo_list *l, size_t lo, size_t hi, const pmo_slot *vals, size_t n,
		     pmo_slot *removed)
{
	if (lo > hi || hi > l->len)
		return stale_index(l);
	size_t len = l->len, d = hi - lo;
	size_t newlen = len - d + n;
	if (pmo_list_reserve(p, l, newlen) != 0)
		return -1;
	pmo_slot *items = pmo_list_items(p, l);
	/* Everything from lo to the larger of the two ends changes. */
	size_t end = newlen > len ? newlen : len;
	if (end > lo) {
		size_t keep = len - lo; /* committed slots in the range */
		if (keep && pmo_tx_snapshot(p, items + lo, keep * sizeof *items) != 0)
			return -1;
		if (end > len && pmo_tx_add_fresh(p, items + len, (end - len) * sizeof *items) != 0)
			return -1;
	}
	if (pmo_tx_snapshot(p, &l->len, sizeof l->len) != 0)
		return -1;
	pmo_slot *gone = removed;
	if (!gone && d) {
		gone = malloc(d * sizeof *gone);
		if (!gone)
			return pmo_err(ENOMEM, "out of memory");
	}
	if (d)
		memcpy(gone, items + lo, d * sizeof *items);
	memmove(items + lo + n, items + hi, (len - hi) * sizeof *items);
	if (n)
		memcpy(items + lo, vals, n * sizeof *items);
	if (newlen < len)
		memset(items + newlen, 0, (len - newlen) * sizeof *items);
	l->len = newlen;
	int rc = 0;
	if (!removed) {
		for (size_t i = 0; i < d && rc == 0; i++)
			rc = pmo_slot_decref(p, gone[i]);
		free(gone);
	}
	return rc;
}

int pmo_list_permute(pmo_pool *p, pmo_list *l, const size_t *order)
{
	size_t n = l->len;
	if (n < 2)
		return 0;
	pmo_slot *items = pmo_list_items(p, l);
	pmo_slot *copy = malloc(n * sizeof *copy);
	if (!copy)
		return pmo_err(ENOMEM, "out of memory");
	memcpy(copy, items, n * sizeof *copy);
	if (pmo_tx_snapshot(p, items, n * sizeof *items) != 0) {
		free(copy);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		items[i] = copy[order[i]];
	free(copy);
	return 0;
}

static int list_traverse(pmo_pool *p, uint64_t off, pmo_visit *v)
{
	pmo_list *l = pmo_list_get(p, off);
	if (!l)
		return -1;
	const pmo_slot *items = l->cap ? pmo_list_items(p, l) : NULL;
	for (uint64_t i = 0; i < l->len; i++)
		if (pmo_slot_is_ref(items[i]) && v->slot(v, &items[i]) != 0)
			return -1;
	if (l->items && v->sub(v, l->items) != 0)
		return -1;
	return 0;
}

static int list_validate(const pmo_pool *p, uint64_t off)
{
	pmo_list *l = pmo_list_get(p, off);
	if (!l)
		return -1;
	const pmo_slot *items = l->cap ? pmo_list_items(p, l) : NULL;
	for (uint64_t i = 0; i < l->len; i++)
		if (items[i].tag == PMO_TAG_EMPTY || !pmo_slot_well_formed(items[i]))
			return pmo_err(EIO, "list at %llu: item %llu has invalid tag %llu",
				       (unsigned long long)off, (unsigned long long)i,
				       (unsigned long long)items[i].tag);
	return 0;
}

static const pmo_typeops list_ops = {"PersistentList", list_traverse, list_validate};

void pmo_list_register(void)
{
	pmo_register_type(PMO_T_LIST, &list_ops);
}
