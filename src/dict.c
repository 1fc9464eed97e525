/* Persistent hash tables (dict, set, frozenset storage); see dict.h. */
#include "dict.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "tx.h"
#include "value.h"

/* Cells are uint32 holding 1 + an entry index, so a table has fewer than
 * 2^32 - 2 entries; the allocation limit (about 16 GiB) is lower anyway. */
#define MAX_SIZE ((uint64_t)1 << 31)

/* Counters snapshotted by an insert or delete: used, fill, nentries. */
#define COUNTERS_LEN (3 * sizeof(uint64_t))
/* The whole header after pmo_head: used .. table. */
#define HEADER_LEN (5 * sizeof(uint64_t))

static inline size_t table_bytes(uint64_t size, size_t stride)
{
	return (size_t)(size * sizeof(uint32_t) + pmo_dict_usable(size) * stride);
}

static int corrupt(const pmo_pool *p, const pmo_dict *d)
{
	return pmo_err_corrupt(p->path, pmo_offset(p, d), "bad hash table");
}

static int is_table_type(uint32_t type)
{
	return type == PMO_T_DICT || type == PMO_T_SET || type == PMO_T_PFROZENSET;
}

/* Smallest table size whose usable part holds n entries. */
static int size_for(uint64_t n, uint64_t *out)
{
	uint64_t size = PMO_DICT_MINSIZE;
	while (pmo_dict_usable(size) < n) {
		if (size >= MAX_SIZE)
			return pmo_err(ENOMEM, "hash table of %llu entries is too large",
				       (unsigned long long)n);
		size <<= 1;
	}
	*out = size;
	return 0;
}

/* First cell on the probe path of hash that holds no live entry. */
static inline uint64_t free_cell(const uint32_t *cells, uint64_t mask, int64_t hash)
{
	uint64_t perturb = (uint64_t)hash, i = perturb & mask;
	while (cells[i] != PMO_DICT_CELL_EMPTY && cells[i] != PMO_DICT_CELL_DUMMY) {
		perturb >>= 5;
		i = (i * 5 + perturb + 1) & mask;
	}
	return i;
}

/* The cell naming entry ix, found on the probe path of its hash; -1 if
 * the path reaches an empty cell first (or, damaged, never ends). */
static int64_t cell_of_entry(const pmo_pool *p, const pmo_dict *d, uint64_t ix)
{
	const uint32_t *cells = pmo_dict_cells(p, d);
	uint64_t mask = d->size - 1, perturb = (uint64_t)pmo_dict_entry_at(p, d, ix)->hash;
	uint64_t i = perturb & mask;
	for (uint64_t step = 0; cells[i] != (uint32_t)(ix + 1); step++) {
		if (cells[i] == PMO_DICT_CELL_EMPTY || step > d->size + 16)
			return -1;
		perturb >>= 5;
		i = (i * 5 + perturb + 1) & mask;
	}
	return (int64_t)i;
}

/* Allocate a table of `size` cells with empty cells (entries are written
 * before they are counted, so they need no zeroing). */
static uint64_t table_new(pmo_pool *p, uint64_t size, size_t stride)
{
	uint64_t t = pmo_raw_new(p, table_bytes(size, stride), 0);
	if (t)
		memset(pmo_direct(p, t), 0, size * sizeof(uint32_t));
	return t;
}

/* Fill a fresh table (cells empty, nothing counted) with the live entries
 * of src: memory of this transaction, so no snapshots.  Returns the
 * number of entries copied; the caller sets the counters. */
static uint64_t table_fill(pmo_pool *p, uint64_t table, uint64_t size, size_t stride,
			   const pmo_dict *src)
{
	uint32_t *cells = pmo_direct(p, table);
	char *ents = (char *)(cells + size);
	uint64_t mask = size - 1, n = 0, usable = pmo_dict_usable(size);
	for (uint64_t i = 0; src->size && i < src->nentries; i++) {
		const pmo_dict_entry *e = pmo_dict_entry_at(p, src, i);
		if (!pmo_dict_entry_live(e))
			continue;
		/* The table was sized from src->used; a damaged src can hold
		 * more live entries than that.  Never write past the table (or
		 * probe a full index forever): stop with a count that is not
		 * src->used, which the callers report as corruption. */
		if (n == usable)
			return n + 1;
		memcpy(ents + n * stride, e, stride);
		cells[free_cell(cells, mask, e->hash)] = (uint32_t)(n + 1);
		n++;
	}
	return n;
}

/* Rebuild the table with room for `minused` entries: live entries are
 * compacted in order, dummies disappear.  Grows or shrinks. */
static int rebuild(pmo_pool *p, pmo_dict *d, uint64_t minused)
{
	uint64_t size = 0;
	if (minused < d->used)
		minused = d->used;
	if (size_for(minused, &size) != 0)
		return -1;
	size_t stride = pmo_dict_stride(d);
	uint64_t table = table_new(p, size, stride);
	if (!table)
		return -1;
	uint64_t n = table_fill(p, table, size, stride, d);
	if (n != d->used)
		return corrupt(p, d);
	uint64_t old = d->table;
	if (pmo_tx_snapshot(p, &d->used, HEADER_LEN) != 0)
		return -1;
	d->fill = n;
	d->nentries = n;
	d->size = size;
	d->table = table;
	return old ? pmo_tx_free(p, old) : 0;
}

uint64_t pmo_dict_new(pmo_pool *p, uint32_t type, size_t n)
{
	if (!is_table_type(type)) {
		pmo_err(EINVAL, "type code %u is no hash table type", type);
		return 0;
	}
	uint64_t off = pmo_obj_new(p, type, sizeof(pmo_dict), 1);
	if (!off || !n)
		return off;
	pmo_dict *d = pmo_direct(p, off);
	uint64_t size = 0;
	if (size_for(n, &size) != 0)
		return 0;
	/* Fresh object: written without snapshots. */
	d->table = table_new(p, size, pmo_dict_stride(d));
	if (!d->table)
		return 0;
	d->size = size;
	return off;
}

pmo_dict *pmo_dict_get(const pmo_pool *p, uint64_t off)
{
	pmo_head *h = pmo_obj_checked(p, off, sizeof(pmo_dict));
	if (!h)
		return NULL;
	pmo_dict *d = (pmo_dict *)h;
	int ok = is_table_type(h->type) && d->used <= d->nentries && d->used <= d->fill;
	if (ok && d->size == 0)
		ok = d->used == 0 && d->nentries == 0 && d->fill == 0 && d->table == 0;
	else if (ok)
		ok = d->size >= PMO_DICT_MINSIZE && d->size <= MAX_SIZE &&
		     (d->size & (d->size - 1)) == 0 && d->nentries <= pmo_dict_usable(d->size) &&
		     d->fill < d->size &&
		     pmo_off_valid(p, d->table, table_bytes(d->size, pmo_dict_stride(d)));
	if (!ok) {
		pmo_err_corrupt(p->path, off, "bad hash table");
		return NULL;
	}
	return d;
}

int64_t pmo_dict_find(const pmo_pool *p, const pmo_dict *d, int64_t hash, pmo_dict_eq eq, void *ctx)
{
restart:;
	uint64_t size = d->size;
	if (size == 0)
		return PMO_DICT_MISSING;
	uint64_t table = d->table, nent = d->nentries, used = d->used;
	const uint32_t *cells = pmo_direct(p, table);
	const char *ents = (const char *)(cells + size);
	size_t stride = pmo_dict_stride(d);
	uint64_t mask = size - 1, perturb = (uint64_t)hash, i = perturb & mask;
	/* Once perturb is zero (after at most 13 steps) the probe visits every
	 * cell within `size` steps, and a sound table has an empty cell: the
	 * bound only stops a damaged table from looping. */
	for (uint64_t step = 0; step < size + 16; step++) {
		uint32_t c = cells[i];
		if (c == PMO_DICT_CELL_EMPTY)
			return PMO_DICT_MISSING;
		if (c != PMO_DICT_CELL_DUMMY) {
			uint64_t ix = (uint64_t)c - 1;
			if (ix >= nent)
				return corrupt(p, d), PMO_DICT_ERROR;
			const pmo_dict_entry *e = (const pmo_dict_entry *)(ents + ix * stride);
			if (e->hash == hash) {
				pmo_slot k = e->key;
				if (k.tag == PMO_TAG_EMPTY)
					return corrupt(p, d), PMO_DICT_ERROR;
				int r = eq(ctx, &e->key);
				if (r < 0)
					return PMO_DICT_ERROR;
				/* eq may have run code that changed the table. */
				if (d->table != table || d->size != size || d->nentries != nent ||
				    d->used != used || e->key.tag != k.tag || e->key.val != k.val)
					goto restart;
				if (r)
					return (int64_t)ix;
			}
		}
		perturb >>= 5;
		i = (i * 5 + perturb + 1) & mask;
	}
	return corrupt(p, d), PMO_DICT_ERROR;
}

int64_t pmo_dict_last(const pmo_pool *p, const pmo_dict *d)
{
	for (uint64_t i = d->nentries; i > 0; i--)
		if (pmo_dict_entry_live(pmo_dict_entry_at(p, d, i - 1)))
			return (int64_t)(i - 1);
	return -1;
}

int pmo_dict_add(pmo_pool *p, pmo_dict *d, int64_t hash, pmo_slot key, pmo_slot value)
{
	uint64_t usable = pmo_dict_usable(d->size);
	if (d->nentries >= usable || d->fill >= usable) {
		/* Grow to about twice the live entries (a table full of
		 * dummies is compacted, and may shrink). */
		uint64_t want = d->used * 2 > d->used + 1 ? d->used * 2 : d->used + 1;
		if (rebuild(p, d, want) != 0)
			return -1;
	}
	uint32_t *cells = pmo_dict_cells(p, d);
	uint64_t i = free_cell(cells, d->size - 1, hash);
	uint64_t ix = d->nentries;
	pmo_dict_entry *e = pmo_dict_entry_at(p, d, ix);
	size_t stride = pmo_dict_stride(d);
	int fills = cells[i] == PMO_DICT_CELL_EMPTY;
	/* The entry is past nentries: nothing committed lives there.  Outside
	 * a transaction it is persisted, then made reachable by the cell (in
	 * its aligned word) and the counters through the word log. */
	uint64_t *cell_word = (uint64_t *)((uintptr_t)&cells[i] & ~(uintptr_t)7);
	uint64_t cell_value = *cell_word;
	memcpy((char *)&cell_value + ((uintptr_t)&cells[i] & 7), &(uint32_t){(uint32_t)(ix + 1)},
	       sizeof(uint32_t));
	pmo_word words[] = {{cell_word, cell_value},
			    {&d->used, d->used + 1},
			    {&d->fill, d->fill + (uint64_t)fills},
			    {&d->nentries, ix + 1}};
	pmo_dict_entry entry = {.hash = hash, .key = key, .value = value};
	int published = pmo_tx_publish(p, e, &entry, stride, words, 4);
	if (published)
		return published < 0 ? -1 : 0;
	if (pmo_tx_snapshot(p, &cells[i], sizeof cells[i]) != 0 ||
	    pmo_tx_add_fresh(p, e, stride) != 0 || pmo_tx_snapshot(p, &d->used, COUNTERS_LEN) != 0)
		return -1;
	e->hash = hash;
	e->key = key;
	if (!pmo_dict_is_set(d))
		e->value = value;
	d->fill += (uint64_t)fills;
	cells[i] = (uint32_t)(ix + 1);
	d->used++;
	d->nentries++;
	return 0;
}

int pmo_dict_set_value(pmo_pool *p, pmo_dict *d, uint64_t ix, pmo_slot value)
{
	return pmo_slot_store(p, &pmo_dict_entry_at(p, d, ix)->value, value);
}

int pmo_dict_remove(pmo_pool *p, pmo_dict *d, uint64_t ix, pmo_slot *key, pmo_slot *value)
{
	if (ix >= d->nentries)
		return corrupt(p, d);
	pmo_dict_entry *e = pmo_dict_entry_at(p, d, ix);
	if (!pmo_dict_entry_live(e))
		return corrupt(p, d);
	/* The cell naming entry ix is on the probe path of its hash. */
	uint32_t *cells = pmo_dict_cells(p, d);
	int64_t cell = cell_of_entry(p, d, ix);
	if (cell < 0)
		return corrupt(p, d);
	uint64_t i = (uint64_t)cell;
	int is_set = pmo_dict_is_set(d);
	size_t stride = pmo_dict_stride(d);
	size_t slots_len = stride - offsetof(pmo_dict_entry, key);
	/* Removing the last entry trims the deleted entries before it off the
	 * end too, so they can be reused and popitem() finds the last live
	 * entry at once. */
	uint64_t n = d->nentries;
	if (ix + 1 == n) {
		n = ix;
		while (n > 0 && !pmo_dict_entry_live(pmo_dict_entry_at(p, d, n - 1)))
			n--;
	}
	/* Entries past nentries are reused without a snapshot (add), so the
	 * entries a trim moves past are snapshotted whole, hash included:
	 * committed content there (deleted entries, or this one) must come
	 * back if the transaction aborts after a reuse. */
	void *range = n < d->nentries ? (void *)pmo_dict_entry_at(p, d, n) : (void *)&e->key;
	size_t range_len = n < d->nentries ? (size_t)(ix + 1 - n) * stride : slots_len;
	if (pmo_tx_snapshot(p, &cells[i], sizeof cells[i]) != 0 ||
	    pmo_tx_snapshot(p, range, range_len) != 0 ||
	    pmo_tx_snapshot(p, &d->used, COUNTERS_LEN) != 0)
		return -1;
	pmo_slot k = e->key;
	pmo_slot v = is_set ? pmo_slot_make(PMO_TAG_EMPTY, 0) : e->value;
	cells[i] = PMO_DICT_CELL_DUMMY;
	memset(&e->key, 0, slots_len);
	d->used--;
	d->nentries = n;
	int rc = 0;
	if (key)
		*key = k;
	else
		rc = pmo_slot_decref(p, k);
	if (value)
		*value = v;
	else if (rc == 0)
		rc = pmo_slot_decref(p, v);
	return rc;
}

int pmo_dict_reserve(pmo_pool *p, pmo_dict *d, size_t n)
{
	uint64_t usable = pmo_dict_usable(d->size);
	if (d->nentries + n <= usable && d->fill + n <= usable)
		return 0;
	uint64_t want = d->used + n;
	if (want < d->used * 2)
		want = d->used * 2;
	return rebuild(p, d, want);
}

int pmo_dict_clear(pmo_pool *p, pmo_dict *d)
{
	if (d->size == 0)
		return 0;
	/* Take the references out first, so that what dies with them (which
	 * may be anything, this table included) sees an empty table. */
	int is_set = pmo_dict_is_set(d);
	size_t per = is_set ? 1 : 2;
	pmo_slot *refs = malloc((d->used ? d->used : 1) * per * sizeof *refs);
	if (!refs)
		return pmo_err(ENOMEM, "out of memory");
	size_t n = 0;
	for (uint64_t i = 0; i < d->nentries; i++) {
		const pmo_dict_entry *e = pmo_dict_entry_at(p, d, i);
		if (!pmo_dict_entry_live(e))
			continue;
		if (n + per > d->used * per) {
			free(refs);
			return corrupt(p, d);
		}
		refs[n++] = e->key;
		if (!is_set)
			refs[n++] = e->value;
	}
	uint64_t old = d->table;
	int rc = pmo_tx_snapshot(p, &d->used, HEADER_LEN);
	if (rc == 0) {
		memset(&d->used, 0, HEADER_LEN);
		rc = pmo_tx_free(p, old);
	}
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = pmo_slot_decref(p, refs[i]);
	free(refs);
	return rc;
}

uint64_t pmo_dict_copy(pmo_pool *p, const pmo_dict *src, uint32_t type)
{
	if (pmo_dict_is_set(src) != (type != PMO_T_DICT)) {
		pmo_err(EINVAL, "cannot copy a %s into a %s", pmo_type_name(src->head.type),
			pmo_type_name(type));
		return 0;
	}
	uint64_t off = pmo_dict_new(p, type, src->used);
	if (!off || !src->used)
		return off;
	pmo_dict *d = pmo_direct(p, off);
	/* Each copied slot is a new reference. */
	for (uint64_t i = 0; i < src->nentries; i++) {
		const pmo_dict_entry *e = pmo_dict_entry_at(p, src, i);
		if (!pmo_dict_entry_live(e))
			continue;
		if (pmo_slot_incref(p, e->key) != 0 ||
		    (!pmo_dict_is_set(src) && pmo_slot_incref(p, e->value) != 0))
			return 0;
	}
	/* Fresh header and table: written without snapshots. */
	uint64_t n = table_fill(p, d->table, d->size, pmo_dict_stride(d), src);
	if (n != src->used) { /* damaged src (see table_fill) */
		corrupt(p, src);
		return 0;
	}
	d->used = d->fill = d->nentries = n;
	return off;
}

int pmo_dict_set(pmo_pool *p, pmo_dict *d, int64_t hash, pmo_slot key, pmo_slot value,
		 pmo_dict_eq eq, void *ctx)
{
	int64_t ix = pmo_dict_find(p, d, hash, eq, ctx);
	if (ix == PMO_DICT_ERROR)
		return -1;
	if (ix == PMO_DICT_MISSING)
		return pmo_dict_add(p, d, hash, key, value);
	/* The stored key stays (as in Python's dict); the new one goes. */
	int rc = pmo_dict_is_set(d) ? pmo_slot_decref(p, value)
				    : pmo_dict_set_value(p, d, (uint64_t)ix, value);
	if (rc == 0)
		rc = pmo_slot_decref(p, key);
	return rc;
}

int pmo_dict_del(pmo_pool *p, pmo_dict *d, int64_t hash, pmo_dict_eq eq, void *ctx)
{
	int64_t ix = pmo_dict_find(p, d, hash, eq, ctx);
	if (ix == PMO_DICT_ERROR)
		return -1;
	if (ix == PMO_DICT_MISSING)
		return 0;
	return pmo_dict_remove(p, d, (uint64_t)ix, NULL, NULL) == 0 ? 1 : -1;
}

int64_t pmo_dict_content_hash(const pmo_pool *p, const pmo_dict *d)
{
	int64_t on_stack[32] = {0};
	int64_t *h = d->used <= 32 ? on_stack : calloc(d->used, sizeof *h);
	if (!h) {
		pmo_err(ENOMEM, "out of memory");
		return PMO_HASH_UNKNOWN;
	}
	size_t n = 0;
	for (uint64_t i = 0; i < d->nentries && n < d->used; i++) {
		const pmo_dict_entry *e = pmo_dict_entry_at(p, d, i);
		if (pmo_dict_entry_live(e))
			h[n++] = e->hash;
	}
	int64_t r = pmo_hash_frozenset(h, n);
	if (h != on_stack)
		free(h);
	return r;
}

static int dict_traverse(pmo_pool *p, uint64_t off, pmo_visit *v)
{
	const pmo_dict *d = pmo_dict_get(p, off);
	if (!d)
		return -1;
	if (d->size == 0)
		return 0;
	int is_set = pmo_dict_is_set(d);
	for (uint64_t i = 0; i < d->nentries; i++) {
		const pmo_dict_entry *e = pmo_dict_entry_at(p, d, i);
		if (pmo_slot_is_ref(e->key) && v->slot(v, &e->key) != 0)
			return -1;
		if (!is_set && pmo_slot_is_ref(e->value) && v->slot(v, &e->value) != 0)
			return -1;
	}
	return v->sub(v, d->table);
}

/* The invariants of dict.h's header comment, checked one by one. */
static int dict_validate(const pmo_pool *p, uint64_t off)
{
	const pmo_dict *d = pmo_dict_get(p, off);
	if (!d)
		return -1;
	unsigned long long o = (unsigned long long)off;
	if (d->size == 0)
		return d->used || d->fill || d->nentries
			       ? pmo_err(EIO, "table at %llu: counters set without a table", o)
			       : 0;
	if (d->used > d->nentries || d->nentries > pmo_dict_usable(d->size) || d->used > d->fill ||
	    d->fill >= d->size)
		return pmo_err(EIO,
			       "table at %llu: inconsistent counters (used %llu, fill %llu, "
			       "entries %llu, size %llu)",
			       o, (unsigned long long)d->used, (unsigned long long)d->fill,
			       (unsigned long long)d->nentries, (unsigned long long)d->size);
	uint64_t live = 0, named = 0, nonempty = 0;
	for (uint64_t i = 0; i < d->nentries; i++) {
		const pmo_dict_entry *e = pmo_dict_entry_at(p, d, i);
		if (!pmo_slot_well_formed(e->key) ||
		    (!pmo_dict_is_set(d) && e->key.tag != PMO_TAG_EMPTY &&
		     (e->value.tag == PMO_TAG_EMPTY || !pmo_slot_well_formed(e->value))))
			return pmo_err(EIO, "table at %llu: entry %llu has an invalid slot", o,
				       (unsigned long long)i);
		live += e->key.tag != PMO_TAG_EMPTY;
	}
	const uint32_t *cells = pmo_dict_cells(p, d);
	for (uint64_t c = 0; c < d->size; c++) {
		if (cells[c] == PMO_DICT_CELL_EMPTY)
			continue;
		nonempty++;
		if (cells[c] == PMO_DICT_CELL_DUMMY)
			continue;
		uint64_t i = cells[c] - 1;
		if (i >= d->nentries || pmo_dict_entry_at(p, d, i)->key.tag == PMO_TAG_EMPTY)
			return pmo_err(EIO, "table at %llu: cell %llu names no live entry", o,
				       (unsigned long long)c);
		named++;
	}
	if (live != d->used || named != d->used || nonempty != d->fill)
		return pmo_err(EIO,
			       "table at %llu: %llu live entries, %llu named by cells, "
			       "%llu cells in use; header says used %llu, fill %llu",
			       o, (unsigned long long)live, (unsigned long long)named,
			       (unsigned long long)nonempty, (unsigned long long)d->used,
			       (unsigned long long)d->fill);
	/* Every key where its hash says: the stored hash is the key's (where
	 * the core can hash it: not pickles or keys by identity), and its
	 * probe sequence leads to the entry. */
	for (uint64_t i = 0; i < d->nentries; i++) {
		const pmo_dict_entry *e = pmo_dict_entry_at(p, d, i);
		if (!pmo_dict_entry_live(e))
			continue;
		int64_t h = pmo_slot_hash(p, e->key);
		if (h != PMO_HASH_UNKNOWN && h != e->hash)
			return pmo_err(EIO,
				       "table at %llu: entry %llu's key hashes to %llx, "
				       "stored under %llx",
				       o, (unsigned long long)i, (unsigned long long)h,
				       (unsigned long long)e->hash);
		if (cell_of_entry(p, d, i) < 0) /* a lookup of its key would miss */
			return pmo_err(EIO,
				       "table at %llu: entry %llu is not in the bucket its "
				       "hash says: lookups of its key miss",
				       o, (unsigned long long)i);
	}
	return 0;
}

static const pmo_typeops dict_ops = {"PersistentDict", dict_traverse, dict_validate};
static const pmo_typeops set_ops = {"PersistentSet", dict_traverse, dict_validate};
static const pmo_typeops pfrozenset_ops = {"PersistentFrozenSet", dict_traverse, dict_validate};

void pmo_dict_register(void)
{
	pmo_register_type(PMO_T_DICT, &dict_ops);
	pmo_register_type(PMO_T_SET, &set_ops);
	pmo_register_type(PMO_T_PFROZENSET, &pfrozenset_ops);
}
