/*
 * Persistent B+ trees: the storage of PersistentSortedDict.
 *
 * Layout:
 *   tree (heap object, type PMO_T_SORTEDDICT): len, root, height, and the
 *        first and last leaves (for iteration from either end).  An empty
 *        tree has root 0 and height 0; height 1 means the root is a leaf.
 *   node (raw substructure, PMO_TYPENUM_RAW, 1,088 bytes = 17 cache
 *        lines): a 64-byte header (entry count n, level, and for leaves
 *        the neighbouring leaves), then
 *     leaf  (level 0):  e[ORDER], each a key slot and a value slot (an
 *        insert or delete shifts one run of entries: one snapshot)
 *     inner (level > 0): child[ORDER], count[ORDER], keys[ORDER]
 *        child[i] is the node below; count[i] the number of entries under
 *        it (so a position in key order is found from the root in
 *        O(log n): peekitem(i), bisect); keys[i] (i < n-1) separates
 *        child i from child i+1.
 *
 * Invariants at commit (check() verifies them all):
 *   - every leaf is at level 0 and each level's nodes are one above their
 *     children; the root is at level height-1;
 *   - 1 <= n <= ORDER in every node but a leaf root (which has n >= 1
 *     too: an emptied tree frees its root);
 *   - keys strictly increase along each leaf and along the leaf chain,
 *     which links every leaf in key order from `first` to `last`;
 *   - every key under child i of an inner node is < keys[i] and every
 *     key under child i+1 is >= keys[i];
 *   - count[i] is the number of entries under child i, and len the
 *     number of entries in all;
 *   - slots past n are never read.
 *
 * Separator keys are copies of leaf keys (the first key of a right
 * sibling at the split that made it) and own a reference, so gc and the
 * reference-count check see them like any other slot.  Deleting a key
 * leaves separators as they are: they still separate.
 *
 * Balance: a full leaf or inner node splits in two (a leaf that is
 * appended to at the right end of the tree keeps its entries and starts a
 * new node, so keys inserted in order fill nodes completely).  A node left
 * with fewer than ORDER/2 entries by a delete merges with a sibling when
 * the two fit in one node, and otherwise takes one entry from it, so the
 * tree stays O(log n) high.  Splits and merges run inside the caller's
 * transaction; the common insert or delete snapshots only the slots it
 * shifts, the node's count and one count per level above it.
 *
 * Keys are ordered by the core itself (pmo_key_cmp), so searching never
 * calls back into Python and a comparison can never change the tree under
 * a search.  Keys come from the orderable families: numbers (bool, int of
 * any size, float but NaN), str (by code point: the order of their
 * UTF-8), bytes, and tuples of these (compared item by item, as Python
 * does).  Comparing keys of different families fails with errno EDOM,
 * which the binding raises as TypeError, as Python's `<` does.
 */
#ifndef PMO_BTREE_H
#define PMO_BTREE_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

#define PMO_BT_ORDER 32
#define PMO_BT_MIN (PMO_BT_ORDER / 2)
/* Inner nodes have at least two children after every delete, so a tree
 * of 2^64 entries is at most 65 levels high; a damaged height is refused
 * before anything is followed. */
#define PMO_BT_MAX_HEIGHT 66

typedef struct pmo_btree {
	pmo_head head;
	uint64_t len;
	uint64_t root;   /* node offset; 0 when empty */
	uint64_t height; /* 0 when empty; 1 when the root is a leaf */
	uint64_t first;  /* leftmost leaf */
	uint64_t last;   /* rightmost leaf */
	uint64_t reserved;
} pmo_btree;

typedef struct pmo_bnode {
	uint32_t n;     /* entries (leaf) or children (inner) */
	uint32_t level; /* 0: leaf */
	uint64_t prev;  /* leaves: neighbours in key order, 0 at the ends */
	uint64_t next;
	uint64_t reserved[5];
} pmo_bnode;

typedef struct pmo_bentry {
	pmo_slot key;
	pmo_slot value;
} pmo_bentry;

typedef struct pmo_bleaf {
	pmo_bnode h;
	pmo_bentry e[PMO_BT_ORDER];
} pmo_bleaf;

typedef struct pmo_binner {
	pmo_bnode h;
	uint64_t child[PMO_BT_ORDER];
	uint64_t count[PMO_BT_ORDER];
	pmo_slot keys[PMO_BT_ORDER]; /* the last one is never used */
} pmo_binner;

#ifndef __cplusplus /* pinned where the C sources include this */
_Static_assert(sizeof(pmo_btree) == 64, "tree header: one cache line");
_Static_assert(sizeof(pmo_bnode) == 64, "node header: one cache line");
_Static_assert(sizeof(pmo_bentry) == 32, "a leaf entry: key and value slots");
_Static_assert(sizeof(pmo_bleaf) == 64 + 32 * PMO_BT_ORDER, "leaf layout");
_Static_assert(sizeof(pmo_binner) == sizeof(pmo_bleaf), "leaves and inner nodes share a size");
_Static_assert(sizeof(pmo_bleaf) % 64 == 0, "nodes are whole cache lines");
#endif

/* --- key order ---------------------------------------------------------- */

enum pmo_key_kind {
	PMO_K_INT,    /* i (bool and int64) */
	PMO_K_FLOAT,  /* f (never NaN) */
	PMO_K_BIGINT, /* data, len: little-endian magnitude; neg: sign */
	PMO_K_STR,    /* data, len: UTF-8 */
	PMO_K_BYTES,  /* data, len */
	PMO_K_TUPLE   /* n items, each got through item() */
};

/* A key to compare: either one read from a slot (pmo_key_of_slot) or one
 * the caller describes (the binding's view of a Python key). */
typedef struct pmo_key {
	int kind;
	int neg;
	int64_t i;
	double f;
	const uint8_t *data;
	size_t len;
	size_t n;
	/* Item i (< n) of a tuple key: 0, or -1 with errno. */
	int (*item)(const struct pmo_key *k, size_t i, struct pmo_key *out);
	const void *ctx;      /* item()'s: the tuple's slots, its STUP slot, or the caller's */
	const pmo_pool *pool; /* keys read from slots */
} pmo_key;

/* The key stored in a slot: 0, or -1 with errno EIO (damaged) or EDOM
 * (a value of no orderable family: None, a list, ...). */
int pmo_key_of_slot(const pmo_pool *p, const pmo_slot *s, pmo_key *out);

/* Compare a with b: *res < 0, 0 or > 0.  0, or -1 with errno EDOM and a
 * message naming the two kinds when they do not compare (as Python's
 * TypeError), or EIO if a tuple item is damaged. */
int pmo_key_cmp(const pmo_key *a, const pmo_key *b, int *res);

/* The name of a kind, as Python would call its type ("int", "str", ...). */
const char *pmo_key_kind_name(int kind);

/* --- the tree ----------------------------------------------------------- */

/* A position in key order: the leaf and the index in it, and the rank
 * (the number of entries before it).  leaf is 0 at the end (rank == len). */
typedef struct pmo_bt_pos {
	uint64_t leaf;
	uint32_t i;
	uint64_t rank;
} pmo_bt_pos;

/* A new empty tree, refcount 1, in a transaction; 0 on failure. */
uint64_t pmo_btree_new(pmo_pool *p);

/* Checked accessor: NULL with errno EIO if off is no well-formed tree. */
pmo_btree *pmo_btree_get(const pmo_pool *p, uint64_t off);

/* The leaf at off, checked to lie in the pool and to be a leaf; NULL with
 * errno EIO. */
pmo_bleaf *pmo_btree_leaf(const pmo_pool *p, uint64_t off);

/* The first position whose key is >= key (upper: > key).  *found (if not
 * NULL) says whether the key at a lower-bound position equals key.
 * Reads only. */
int pmo_btree_seek(const pmo_pool *p, const pmo_btree *t, const pmo_key *key, int upper,
		   pmo_bt_pos *pos, int *found);

/* Find key: 1 (its leaf and index in *pos; no rank), 0 if it is not
 * there, -1 on error.  The lookup fast path. */
int pmo_btree_find(const pmo_pool *p, const pmo_btree *t, const pmo_key *key, pmo_bt_pos *pos);

/* The position of rank r (r == len gives the end). */
int pmo_btree_at(const pmo_pool *p, const pmo_btree *t, uint64_t r, pmo_bt_pos *pos);

/* Step a position (not the end) to the next entry, or to the end. */
int pmo_btree_step(const pmo_pool *p, pmo_bt_pos *pos);

/* In a transaction.  Set key -> value (both references stolen).  A key
 * already there keeps its stored copy (the new one is dropped) and gets
 * the new value.  *added says which happened.  key describes the same key
 * as the slot, for comparing. */
int pmo_btree_set(pmo_pool *p, pmo_btree *t, const pmo_key *key, pmo_slot kslot, pmo_slot value,
		  int *added);

/* In a transaction.  Remove the entry of key (1), or find none (0); -1 on
 * error.  Its key and value are handed back with their references when
 * out_key / out_value are not NULL, dropped otherwise. */
int pmo_btree_del(pmo_pool *p, pmo_btree *t, const pmo_key *key, pmo_slot *out_key,
		  pmo_slot *out_value);

/* In a transaction.  Remove the entry of rank r (< len); as pmo_btree_del. */
int pmo_btree_del_at(pmo_pool *p, pmo_btree *t, uint64_t r, pmo_slot *out_key, pmo_slot *out_value);

/* In a transaction.  Remove everything. */
int pmo_btree_clear(pmo_pool *p, pmo_btree *t);

void pmo_btree_register(void);

#endif
