/*
 * Shapes: the attribute names of PersistentObjects, kept once per pool
 * instead of once per object.
 *
 * A shape is an ordered list of attribute names (indices in the name
 * table, types.h).  Shape 0 is the empty list; every other shape is a
 * parent shape plus one name, so the shapes form a tree and an object's
 * attribute at position i is the i-th name on the path from the root to
 * its shape.  A shaped object (object.h) stores only its shape's id and
 * one value slot per position: an object of three attributes is its
 * 16-byte head and three slots, where the attribute-table layout needs 24
 * more bytes of table header and 8 bytes of name per attribute.
 *
 * On media the shapes are a core list (PMO_T_LIST) of int slots hanging
 * off root->shapes; entry i is shape i + 1, encoded parent << 32 | name,
 * with parent < i + 1 (so no cycles) and name < 2^32.  Entries are only
 * appended, in the transaction of the set that needs them, and never
 * changed or removed; gc marks the list from the root.  No shape is longer
 * than PMO_SHAPE_MAX_LEN, the most value slots a shaped object has.
 *
 * Each open pool keeps a volatile copy (pmo_pool.shapes): every shape's
 * parent, length and names (all its names, in one contiguous run, so a
 * lookup scans a short array), and a hash of (parent, name) -> child.  It is
 * loaded lazily and validated entry by entry as it is loaded: a damaged
 * entry gives EIO, never a wild read.  A rolled-back transaction may leave
 * entries in the copy beyond the list's length; they are dropped before
 * anything is appended.
 */
#ifndef PMO_SHAPE_H
#define PMO_SHAPE_H

#include <stdint.h>

#include "pool.h"

#define PMO_SHAPE_MAX_LEN 63
#define PMO_SHAPE_MAX_ID 0x00FFFFFFu /* ids fit the 24 bits object.h gives them */

typedef struct pmo_shapes {
	uint32_t n;       /* shapes 0 .. n-1 are loaded */
	uint32_t cap;     /* of the per-shape arrays */
	uint32_t *parent; /* [0] unused */
	uint32_t *first;  /* shape id's names are names[first[id] .. + len[id]) */
	uint8_t *len;
	uint32_t *names; /* every shape's names in order, one run per shape */
	size_t nnames, capnames;
	uint32_t *map; /* open addressing, 0 = free: (parent, name) -> child */
	uint32_t mapcap;
} pmo_shapes;

/* Is id a loaded shape?  Loads new entries if it is not yet; 0 with errno
 * EIO if the pool has no such shape. */
int pmo_shape_valid(pmo_pool *p, uint32_t id);

static inline int pmo_shape_loaded(const pmo_pool *p, uint32_t id)
{
	return p->shapes && id < p->shapes->n;
}

/* The shape of a loaded id: its length, its names in order, and the
 * position of name in it (-1 if absent: a scan of at most
 * PMO_SHAPE_MAX_LEN integers, no allocation). */
static inline unsigned pmo_shape_len(const pmo_pool *p, uint32_t id)
{
	return p->shapes->len[id];
}

static inline const uint32_t *pmo_shape_names(const pmo_pool *p, uint32_t id)
{
	return p->shapes->names + p->shapes->first[id];
}

static inline int pmo_shape_find(const pmo_pool *p, uint32_t id, uint64_t name)
{
	const uint32_t *names = pmo_shape_names(p, id);
	for (unsigned pos = 0, n = pmo_shape_len(p, id); pos < n; pos++)
		if (names[pos] == name)
			return (int)pos;
	return -1;
}

/* The shape `id` plus name (which it must not hold), appending it to the
 * list in the current transaction if the pool has no such shape yet.
 * 0 (errno ENOSPC) when no such shape can be: id's length is
 * PMO_SHAPE_MAX_LEN, the ids are used up, or the name index does not fit;
 * the caller then stores the object another way.  0 with another errno on
 * failure. */
uint32_t pmo_shape_child(pmo_pool *p, uint32_t id, uint64_t name);

void pmo_shapes_free(pmo_pool *p);

#endif
