/* Persistent B+ trees (PersistentSortedDict storage); see btree.h. */
#include "btree.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "tx.h"
#include "value.h"

/* ------------------------------------------------------------------------
 * Key order
 * ------------------------------------------------------------------------ */

/* Tuples nest; a damaged pool could make one hold itself. */
#define MAX_KEY_DEPTH 200

static const char *const kind_names[] = {"int", "float", "int", "str", "bytes", "tuple"};

const char *pmo_key_kind_name(int kind)
{
	return kind >= 0 && kind <= PMO_K_TUPLE ? kind_names[kind] : "?";
}

static int family(int kind)
{
	return kind <= PMO_K_BIGINT ? 0 : kind;
}

static int tuple_item(const pmo_key *k, size_t i, pmo_key *out)
{
	return pmo_key_of_slot(k->pool, (const pmo_slot *)k->ctx + i, out);
}

static int stup_item(const pmo_key *k, size_t i, pmo_key *out)
{
	out->pool = k->pool;
	out->kind = PMO_K_INT;
	out->i = pmo_stup_item(k->ctx, i);
	return 0;
}

static int unorderable(const char *what)
{
	return pmo_err(EDOM,
		       "%s cannot be a key of a PersistentSortedDict "
		       "(keys are numbers, str, bytes or tuples of those)",
		       what);
}

int pmo_key_of_slot(const pmo_pool *p, const pmo_slot *s, pmo_key *out)
{
	out->pool = p;
	switch (pmo_slot_tag(*s)) {
	case PMO_TAG_FALSE:
	case PMO_TAG_TRUE:
		out->kind = PMO_K_INT;
		out->i = s->tag == PMO_TAG_TRUE;
		return 0;
	case PMO_TAG_INT:
		out->kind = PMO_K_INT;
		out->i = pmo_slot_as_int(*s);
		return 0;
	case PMO_TAG_FLOAT:
		out->kind = PMO_K_FLOAT;
		out->f = pmo_slot_as_float(*s);
		if (isnan(out->f))
			return unorderable("NaN");
		return 0;
	case PMO_TAG_SSTR:
	case PMO_TAG_SBYT:
		if (!pmo_slot_well_formed(*s)) /* its length would read past the slot */
			return pmo_err_corrupt(p->path, pmo_offset(p, s), "bad key slot");
		out->kind = pmo_slot_tag(*s) == PMO_TAG_SSTR ? PMO_K_STR : PMO_K_BYTES;
		out->data = (const uint8_t *)pmo_sstr_data(s);
		out->len = pmo_sstr_len(s);
		return 0;
	case PMO_TAG_SBIG:
		if (!pmo_slot_well_formed(*s))
			return pmo_err_corrupt(p->path, pmo_offset(p, s), "bad key slot");
		out->kind = PMO_K_BIGINT;
		out->data = pmo_sbig_data(s);
		out->len = pmo_sbig_len(s);
		out->neg = pmo_sbig_negative(s);
		return 0;
	case PMO_TAG_STUP:
		if (!pmo_slot_well_formed(*s))
			return pmo_err_corrupt(p->path, pmo_offset(p, s), "bad key slot");
		out->kind = PMO_K_TUPLE;
		out->n = pmo_stup_len(s);
		out->ctx = s;
		out->item = stup_item;
		return 0;
	case PMO_TAG_REF:
		break;
	case PMO_TAG_NONE:
		return unorderable("None");
	default:
		return pmo_err_corrupt(p->path, pmo_offset(p, s), "bad key slot");
	}
	const pmo_head *h = pmo_obj_at(p, s->val, sizeof(pmo_head));
	if (!h)
		return -1;
	switch (h->type) {
	case PMO_T_STR:
	case PMO_T_BYTES:
	case PMO_T_LONG: {
		pmo_var o;
		if (pmo_var_get(p, s->val, h->type, &o) != 0)
			return -1;
		out->kind = h->type == PMO_T_STR     ? PMO_K_STR
			    : h->type == PMO_T_BYTES ? PMO_K_BYTES
						     : PMO_K_BIGINT;
		out->data = (const uint8_t *)o.data;
		out->len = o.size;
		out->neg = o.negative;
		return 0;
	}
	case PMO_T_TUPLE: {
		const pmo_tuple *t = pmo_tuple_get(p, s->val, PMO_T_TUPLE);
		if (!t)
			return -1;
		out->kind = PMO_K_TUPLE;
		out->n = t->n;
		out->ctx = t->items;
		out->item = tuple_item;
		return 0;
	}
	default:
		return unorderable(pmo_type_name(h->type));
	}
}

static int sign(int c)
{
	return (c > 0) - (c < 0);
}

/* int64 against a double (not NaN), exactly. */
static int cmp_int_float(int64_t i, double f)
{
	if (f >= 9223372036854775808.0)
		return -1;
	if (f < -9223372036854775808.0)
		return 1;
	double t = trunc(f);
	int64_t ti = (int64_t)t;
	if (i != ti)
		return i < ti ? -1 : 1;
	double frac = f - t;
	return frac > 0 ? -1 : frac < 0 ? 1 : 0;
}

static size_t mag_trim(const uint8_t *m, size_t len)
{
	while (len && m[len - 1] == 0)
		len--;
	return len;
}

static uint64_t mag_bitlen(const uint8_t *m, size_t len)
{
	len = mag_trim(m, len);
	if (!len)
		return 0;
	return 8 * (uint64_t)(len - 1) + (uint64_t)(32 - __builtin_clz(m[len - 1]));
}

static int mag_bit(const uint8_t *m, size_t len, uint64_t k)
{
	return (k >> 3) < len ? (m[k >> 3] >> (k & 7)) & 1 : 0;
}

/* A magnitude of at least 2^63 (every big int) against a finite d >= 0. */
static int cmp_mag_double(const uint8_t *m, size_t len, double d)
{
	if (d < 9223372036854775808.0)
		return 1;
	int ex;
	double fr = frexp(d, &ex); /* d = fr * 2^ex, bit length ex */
	uint64_t bl = mag_bitlen(m, len);
	if (bl != (uint64_t)ex)
		return bl < (uint64_t)ex ? -1 : 1;
	uint64_t want = (uint64_t)ldexp(fr, 53); /* d = want * 2^(ex-53) */
	uint64_t lo = (uint64_t)ex - 53, have = 0;
	for (int b = 52; b >= 0; b--)
		have = have << 1 | (uint64_t)mag_bit(m, len, lo + (uint64_t)b);
	if (have != want)
		return have < want ? -1 : 1;
	for (uint64_t k = 0; k < lo; k++)
		if (mag_bit(m, len, k))
			return 1;
	return 0;
}

static int cmp_mag(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	na = mag_trim(a, na);
	nb = mag_trim(b, nb);
	if (na != nb)
		return na < nb ? -1 : 1;
	for (size_t k = na; k-- > 0;)
		if (a[k] != b[k])
			return a[k] < b[k] ? -1 : 1;
	return 0;
}

/* Numbers of any of the three kinds. */
static int cmp_num(const pmo_key *a, const pmo_key *b)
{
	if (a->kind == PMO_K_INT && b->kind == PMO_K_INT)
		return (a->i > b->i) - (a->i < b->i);
	if (a->kind == PMO_K_FLOAT && b->kind == PMO_K_FLOAT)
		return (a->f > b->f) - (a->f < b->f);
	if (a->kind == PMO_K_INT && b->kind == PMO_K_FLOAT)
		return cmp_int_float(a->i, b->f);
	if (a->kind == PMO_K_FLOAT && b->kind == PMO_K_INT)
		return -cmp_int_float(b->i, a->f);
	if (a->kind == PMO_K_BIGINT && b->kind == PMO_K_BIGINT) {
		if (a->neg != b->neg)
			return a->neg ? -1 : 1;
		int c = cmp_mag(a->data, a->len, b->data, b->len);
		return a->neg ? -c : c;
	}
	if (b->kind == PMO_K_BIGINT)
		return -cmp_num(b, a);
	/* a is a big int: beyond int64 either way. */
	if (b->kind == PMO_K_INT)
		return a->neg ? -1 : 1;
	if (isinf(b->f))
		return b->f > 0 ? -1 : 1;
	if (a->neg != (b->f < 0))
		return a->neg ? -1 : 1;
	int c = cmp_mag_double(a->data, a->len, fabs(b->f));
	return a->neg ? -c : c;
}

static int cmp_data(const pmo_key *a, const pmo_key *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->data, b->data, n) : 0;
	if (c)
		return sign(c);
	return (a->len > b->len) - (a->len < b->len);
}

static int key_cmp(const pmo_key *a, const pmo_key *b, int *res, int depth)
{
	if (family(a->kind) != family(b->kind))
		return pmo_err(EDOM, "'<' not supported between instances of '%s' and '%s'",
			       pmo_key_kind_name(a->kind), pmo_key_kind_name(b->kind));
	switch (family(a->kind)) {
	case 0:
		*res = cmp_num(a, b);
		return 0;
	case PMO_K_STR:
	case PMO_K_BYTES:
		*res = cmp_data(a, b);
		return 0;
	default:
		break;
	}
	if (depth >= MAX_KEY_DEPTH)
		return pmo_err(EDOM, "tuple keys nested more than %d deep", MAX_KEY_DEPTH);
	size_t n = a->n < b->n ? a->n : b->n;
	for (size_t i = 0; i < n; i++) {
		pmo_key x, y;
		if (a->item(a, i, &x) != 0 || b->item(b, i, &y) != 0 ||
		    key_cmp(&x, &y, res, depth + 1) != 0)
			return -1;
		if (*res)
			return 0;
	}
	*res = (a->n > b->n) - (a->n < b->n);
	return 0;
}

int pmo_key_cmp(const pmo_key *a, const pmo_key *b, int *res)
{
	return key_cmp(a, b, res, 0);
}

/* key against a stored slot, with the two commonest cases inline. */
static inline int cmp_stored(const pmo_pool *p, const pmo_key *k, const pmo_slot *s, int *res)
{
	if (k->kind == PMO_K_INT && s->tag == PMO_TAG_INT) {
		int64_t v = (int64_t)s->val;
		*res = (k->i > v) - (k->i < v);
		return 0;
	}
	pmo_key sk;
	if ((s->tag & 0xff) == PMO_TAG_SSTR && k->kind == PMO_K_STR) {
		sk.data = (const uint8_t *)pmo_sstr_data(s);
		sk.len = pmo_sstr_len(s);
		*res = cmp_data(k, &sk);
		return 0;
	}
	if (pmo_key_of_slot(p, s, &sk) != 0)
		return -1;
	return key_cmp(k, &sk, res, 0);
}

/* ------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------ */

static int corrupt(const pmo_pool *p, uint64_t off, const char *what)
{
	return pmo_err_corrupt(p->path, off, "bad sorted dict %s", what);
}

/* The node at off, checked to lie in the pool, at `level`, with
 * 1..ORDER entries (0 allowed for a node this operation emptied). */
static pmo_bnode *node_at(const pmo_pool *p, uint64_t off, uint32_t level, int allow_empty)
{
	if (!pmo_off_valid(p, off, sizeof(pmo_bleaf))) {
		corrupt(p, off, "node reference");
		return NULL;
	}
	pmo_bnode *n = pmo_direct(p, off);
	if (n->level != level || n->n > PMO_BT_ORDER || (n->n == 0 && !allow_empty)) {
		corrupt(p, off, "node");
		return NULL;
	}
	return n;
}

static inline pmo_bleaf *LEAF(const pmo_pool *p, uint64_t off)
{
	return pmo_direct(p, off);
}

static inline pmo_binner *INNER(const pmo_pool *p, uint64_t off)
{
	return pmo_direct(p, off);
}

pmo_bleaf *pmo_btree_leaf(const pmo_pool *p, uint64_t off)
{
	return (pmo_bleaf *)node_at(p, off, 0, 0);
}

static uint64_t node_new(pmo_pool *p, uint32_t level)
{
	uint64_t off = pmo_raw_new(p, sizeof(pmo_bleaf), 1);
	if (off)
		LEAF(p, off)->h.level = level; /* fresh: no snapshot */
	return off;
}

static int snap(pmo_pool *p, void *ptr, size_t len)
{
	return pmo_tx_snapshot(p, ptr, len);
}

static int snap_node(pmo_pool *p, uint64_t off)
{
	return pmo_tx_snapshot_block(p, pmo_direct(p, off), sizeof(pmo_bleaf));
}

/* Before changing [ptr, ptr + len) inside the node at off.  In a larger
 * transaction (the op is not the outermost level) the whole node is saved
 * once and later changes to it cost no libpmemobj call: bulk inserts hit
 * the same leaves and counts again and again.  Alone (autocommit), only
 * the part is saved, which logs far fewer bytes. */
static int snap_part(pmo_pool *p, uint64_t off, void *ptr, size_t len)
{
	if (pmo_tx_depth() > 1)
		return snap_node(p, off);
	return snap(p, ptr, len);
}

static int snap_tree(pmo_pool *p, pmo_btree *t)
{
	return pmo_tx_snapshot_block(p, &t->len,
				     offsetof(pmo_btree, reserved) - offsetof(pmo_btree, len));
}

/* Entries under a node. */
static uint64_t node_count(const pmo_pool *p, uint64_t off)
{
	const pmo_bnode *n = pmo_direct(p, off);
	if (n->level == 0)
		return n->n;
	const pmo_binner *in = (const pmo_binner *)n;
	uint64_t c = 0;
	for (uint32_t i = 0; i < n->n; i++)
		c += in->count[i];
	return c;
}

/* ------------------------------------------------------------------------
 * The tree object and searching
 * ------------------------------------------------------------------------ */

uint64_t pmo_btree_new(pmo_pool *p)
{
	return pmo_obj_new(p, PMO_T_SORTEDDICT, sizeof(pmo_btree), 1);
}

pmo_btree *pmo_btree_get(const pmo_pool *p, uint64_t off)
{
	pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_btree));
	if (!h)
		return NULL;
	pmo_btree *t = (pmo_btree *)h;
	int empty = t->root == 0;
	if (h->type != PMO_T_SORTEDDICT || t->height > PMO_BT_MAX_HEIGHT ||
	    empty != (t->height == 0) || empty != (t->len == 0) || empty != (t->first == 0) ||
	    empty != (t->last == 0)) {
		corrupt(p, off, "header");
		return NULL;
	}
	return t;
}

typedef struct step {
	uint64_t node;
	uint32_t idx; /* child taken (inner), or position (leaf) */
} step;

/* From the root to the leaf where key is or would go: path[d] for each
 * level d (0 = root), the leaf's position being the lower (upper) bound.
 * *rank (if rank is not NULL: summing the counts costs a pass over each
 * node on the way): entries before that position. */
static int descend_key(const pmo_pool *p, const pmo_btree *t, const pmo_key *key, int upper,
		       step *path, uint64_t *rank, int *found)
{
	uint64_t off = t->root, r = 0;
	int c = 1;
	for (uint32_t d = 0; d < t->height; d++) {
		uint32_t level = (uint32_t)(t->height - 1 - d);
		pmo_bnode *nd = node_at(p, off, level, 0);
		if (!nd)
			return -1;
		/* The binary search below jumps across the node: ask for all
		 * of its lines at once rather than miss on each in turn. */
		for (size_t b = 64; b < sizeof(pmo_bleaf); b += 64)
			__builtin_prefetch((const char *)nd + b);
		uint32_t lo = 0, hi;
		if (level) {
			/* The child: the number of separators <= key. */
			const pmo_binner *in = (const pmo_binner *)nd;
			hi = nd->n - 1;
			while (lo < hi) {
				uint32_t mid = (lo + hi) / 2;
				if (cmp_stored(p, key, &in->keys[mid], &c) != 0)
					return -1;
				if (c < 0)
					hi = mid;
				else
					lo = mid + 1;
			}
			for (uint32_t i = 0; rank && i < lo; i++)
				r += in->count[i];
			path[d].node = off;
			path[d].idx = lo;
			off = in->child[lo];
			continue;
		}
		/* The leaf: the first key >= key (upper: > key). */
		const pmo_bleaf *lf = (const pmo_bleaf *)nd;
		hi = nd->n;
		while (lo < hi) {
			uint32_t mid = (lo + hi) / 2;
			if (cmp_stored(p, key, &lf->e[mid].key, &c) != 0)
				return -1;
			if (c < 0 || (c == 0 && !upper))
				hi = mid;
			else
				lo = mid + 1;
		}
		path[d].node = off;
		path[d].idx = lo;
		if (found) {
			*found = 0;
			if (!upper && lo < nd->n) {
				if (cmp_stored(p, key, &lf->e[lo].key, &c) != 0)
					return -1;
				*found = c == 0;
			}
		}
		if (rank)
			*rank = r + lo;
	}
	return 0;
}

/* From the root to the entry of rank r (< len). */
static int descend_rank(const pmo_pool *p, const pmo_btree *t, uint64_t r, step *path)
{
	uint64_t off = t->root;
	for (uint32_t d = 0; d < t->height; d++) {
		uint32_t level = (uint32_t)(t->height - 1 - d);
		pmo_bnode *nd = node_at(p, off, level, 0);
		if (!nd)
			return -1;
		path[d].node = off;
		if (level) {
			const pmo_binner *in = (const pmo_binner *)nd;
			uint32_t i = 0;
			while (i + 1 < nd->n && r >= in->count[i])
				r -= in->count[i++];
			path[d].idx = i;
			off = in->child[i];
		} else {
			if (r >= nd->n)
				return corrupt(p, off, "counts");
			path[d].idx = (uint32_t)r;
		}
	}
	return 0;
}

/* A leaf position normalised: past the leaf's last entry is the next
 * leaf's first, or the end. */
static int normalise(const pmo_pool *p, pmo_bt_pos *pos)
{
	const pmo_bleaf *lf = pmo_btree_leaf(p, pos->leaf);
	if (!lf)
		return -1;
	if (pos->i < lf->h.n)
		return 0;
	pos->leaf = lf->h.next;
	pos->i = 0;
	if (pos->leaf && !pmo_btree_leaf(p, pos->leaf))
		return -1;
	return 0;
}

int pmo_btree_seek(const pmo_pool *p, const pmo_btree *t, const pmo_key *key, int upper,
		   pmo_bt_pos *pos, int *found)
{
	if (found)
		*found = 0;
	pos->leaf = 0;
	pos->i = 0;
	pos->rank = 0;
	if (!t->root)
		return 0;
	step path[PMO_BT_MAX_HEIGHT];
	if (descend_key(p, t, key, upper, path, &pos->rank, found) != 0)
		return -1;
	pos->leaf = path[t->height - 1].node;
	pos->i = path[t->height - 1].idx;
	return normalise(p, pos);
}

int pmo_btree_find(const pmo_pool *p, const pmo_btree *t, const pmo_key *key, pmo_bt_pos *pos)
{
	if (!t->root)
		return 0;
	step path[PMO_BT_MAX_HEIGHT];
	int found;
	if (descend_key(p, t, key, 0, path, NULL, &found) != 0)
		return -1;
	pos->leaf = path[t->height - 1].node;
	pos->i = path[t->height - 1].idx;
	return found;
}

int pmo_btree_at(const pmo_pool *p, const pmo_btree *t, uint64_t r, pmo_bt_pos *pos)
{
	pos->rank = r;
	pos->leaf = 0;
	pos->i = 0;
	if (r >= t->len)
		return 0;
	step path[PMO_BT_MAX_HEIGHT];
	if (descend_rank(p, t, r, path) != 0)
		return -1;
	pos->leaf = path[t->height - 1].node;
	pos->i = path[t->height - 1].idx;
	return 0;
}

int pmo_btree_step(const pmo_pool *p, pmo_bt_pos *pos)
{
	pos->i++;
	pos->rank++;
	return normalise(p, pos);
}

/* ------------------------------------------------------------------------
 * Inserting
 * ------------------------------------------------------------------------ */

static int leaf_insert(pmo_pool *p, uint64_t off, uint32_t pos, pmo_slot k, pmo_slot v)
{
	pmo_bleaf *lf = LEAF(p, off);
	uint32_t n = lf->h.n;
	size_t moved = (size_t)(n - pos) * sizeof(pmo_bentry);
	/* Entries pos..n, n included: entry n is past n, so saving it is
	 * not needed, but one range is one log entry instead of two. */
	if (snap_part(p, off, &lf->e[pos], moved + sizeof(pmo_bentry)) != 0 ||
	    snap_part(p, off, &lf->h.n, sizeof lf->h.n) != 0)
		return -1;
	memmove(&lf->e[pos + 1], &lf->e[pos], moved);
	lf->e[pos].key = k;
	lf->e[pos].value = v;
	lf->h.n = n + 1;
	return 0;
}

/* Leaf `leaf` now comes just before `next` in the chain (next 0: leaf is
 * the last): set next's back link, or the tree's last leaf. */
static int link_back(pmo_pool *p, pmo_btree *t, uint64_t next, uint64_t leaf)
{
	if (next) {
		pmo_bleaf *nx = LEAF(p, next);
		if (snap(p, &nx->h.prev, sizeof nx->h.prev) != 0)
			return -1;
		nx->h.prev = leaf;
		return 0;
	}
	if (snap_tree(p, t) != 0)
		return -1;
	t->last = leaf;
	return 0;
}

/* Split the full leaf at off, inserting (k, v) at pos: *right is the new
 * right half and *sep (holding a reference) the separator for the
 * parent.  at_end: appending after the tree's last key, where the leaf
 * keeps everything and the new one starts a node of its own. */
static int leaf_split(pmo_pool *p, pmo_btree *t, uint64_t off, uint32_t pos, pmo_slot k, pmo_slot v,
		      int at_end, uint64_t *right, pmo_slot *sep)
{
	uint64_t roff = node_new(p, 0);
	if (!roff || snap_node(p, off) != 0)
		return -1;
	pmo_bleaf *lf = LEAF(p, off), *rt = LEAF(p, roff);
	if (at_end) {
		rt->e[0].key = k;
		rt->e[0].value = v;
		rt->h.n = 1;
	} else {
		pmo_bentry te[PMO_BT_ORDER + 1];
		memcpy(te, lf->e, pos * sizeof *te);
		te[pos].key = k;
		te[pos].value = v;
		memcpy(te + pos + 1, lf->e + pos, (PMO_BT_ORDER - pos) * sizeof *te);
		uint32_t nl = (PMO_BT_ORDER + 2) / 2, nr = PMO_BT_ORDER + 1 - nl;
		memcpy(lf->e, te, nl * sizeof *te);
		memcpy(rt->e, te + nl, nr * sizeof *te);
		memset(lf->e + nl, 0, (PMO_BT_ORDER - nl) * sizeof *te);
		lf->h.n = nl;
		rt->h.n = nr;
	}
	rt->h.prev = off;
	rt->h.next = lf->h.next;
	if (link_back(p, t, lf->h.next, roff) != 0)
		return -1;
	lf->h.next = roff;
	*right = roff;
	*sep = rt->e[0].key;
	return pmo_slot_incref(p, *sep);
}

/* Put child `right` (with separator sep before it) after child ci of the
 * inner node at off, whose child ci now holds lcount entries and right
 * rcount.  If the node is full it splits: *up then names its new right
 * half and *upsep the separator that moves up; else *up = 0. */
static int inner_add(pmo_pool *p, uint64_t off, uint32_t ci, pmo_slot sep, uint64_t right,
		     uint64_t lcount, uint64_t rcount, int at_end, uint64_t *up, pmo_slot *upsep)
{
	*up = 0;
	if (snap_node(p, off) != 0)
		return -1;
	pmo_binner *in = INNER(p, off);
	uint32_t n = in->h.n;
	in->count[ci] = lcount;
	if (n < PMO_BT_ORDER) {
		memmove(&in->child[ci + 2], &in->child[ci + 1], (n - ci - 1) * sizeof(uint64_t));
		memmove(&in->count[ci + 2], &in->count[ci + 1], (n - ci - 1) * sizeof(uint64_t));
		memmove(&in->keys[ci + 1], &in->keys[ci], (n - ci - 1) * sizeof(pmo_slot));
		in->child[ci + 1] = right;
		in->count[ci + 1] = rcount;
		in->keys[ci] = sep;
		in->h.n = n + 1;
		return 0;
	}
	uint64_t qoff = node_new(p, in->h.level);
	if (!qoff)
		return -1;
	pmo_binner *q = INNER(p, qoff);
	/* The ORDER+1 children and ORDER separators, in order. */
	uint64_t tc[PMO_BT_ORDER + 1], tn[PMO_BT_ORDER + 1];
	pmo_slot tk[PMO_BT_ORDER];
	memcpy(tc, in->child, (ci + 1) * sizeof *tc);
	memcpy(tn, in->count, (ci + 1) * sizeof *tn);
	memcpy(tk, in->keys, ci * sizeof *tk);
	tc[ci + 1] = right;
	tn[ci + 1] = rcount;
	tk[ci] = sep;
	memcpy(tc + ci + 2, in->child + ci + 1, (n - ci - 1) * sizeof *tc);
	memcpy(tn + ci + 2, in->count + ci + 1, (n - ci - 1) * sizeof *tn);
	memcpy(tk + ci + 1, in->keys + ci, (n - 1 - ci) * sizeof *tk);
	/* Left keeps nl children; separator nl-1 moves up. */
	uint32_t nl = at_end ? PMO_BT_ORDER : (PMO_BT_ORDER + 2) / 2, nr = PMO_BT_ORDER + 1 - nl;
	memcpy(in->child, tc, nl * sizeof *tc);
	memcpy(in->count, tn, nl * sizeof *tn);
	memcpy(in->keys, tk, (nl - 1) * sizeof *tk);
	memset(in->keys + nl - 1, 0, (PMO_BT_ORDER - nl + 1) * sizeof *tk);
	memcpy(q->child, tc + nl, nr * sizeof *tc);
	memcpy(q->count, tn + nl, nr * sizeof *tn);
	memcpy(q->keys, tk + nl, (nr - 1) * sizeof *tk);
	in->h.n = nl;
	q->h.n = nr;
	*up = qoff;
	*upsep = tk[nl - 1];
	return 0;
}

int pmo_btree_set(pmo_pool *p, pmo_btree *t, const pmo_key *key, pmo_slot kslot, pmo_slot value,
		  int *added)
{
	*added = 0;
	if (!t->root) {
		uint64_t off = node_new(p, 0);
		if (!off || snap_tree(p, t) != 0)
			return -1;
		pmo_bleaf *lf = LEAF(p, off);
		lf->e[0].key = kslot;
		lf->e[0].value = value;
		lf->h.n = 1;
		t->root = t->first = t->last = off;
		t->height = 1;
		t->len = 1;
		*added = 1;
		return 0;
	}
	step path[PMO_BT_MAX_HEIGHT];
	int found;
	if (descend_key(p, t, key, 0, path, NULL, &found) != 0)
		return -1;
	uint32_t h = (uint32_t)t->height;
	uint64_t loff = path[h - 1].node;
	uint32_t pos = path[h - 1].idx;
	pmo_bleaf *lf = LEAF(p, loff);
	if (found) {
		if (pmo_slot_decref(p, kslot) != 0)
			return -1;
		return pmo_slot_store(p, &lf->e[pos].value, value);
	}
	uint64_t right = 0;
	pmo_slot sep;
	int at_end = pos == lf->h.n && lf->h.next == 0;
	if (lf->h.n < PMO_BT_ORDER) {
		if (leaf_insert(p, loff, pos, kslot, value) != 0)
			return -1;
	} else if (leaf_split(p, t, loff, pos, kslot, value, at_end, &right, &sep) != 0) {
		return -1;
	}
	uint64_t below = loff;
	for (int d = (int)h - 2; d >= 0; d--) {
		pmo_binner *in = INNER(p, path[d].node);
		uint32_t ci = path[d].idx;
		if (!right) {
			if (snap_part(p, path[d].node, &in->count[ci], sizeof in->count[ci]) != 0)
				return -1;
			in->count[ci]++;
			continue;
		}
		uint64_t up;
		pmo_slot upsep = {0, 0};
		if (inner_add(p, path[d].node, ci, sep, right, node_count(p, below),
			      node_count(p, right), at_end, &up, &upsep) != 0)
			return -1;
		right = up;
		sep = upsep;
		below = path[d].node;
	}
	if (snap_tree(p, t) != 0)
		return -1;
	if (right) {
		if (h >= PMO_BT_MAX_HEIGHT)
			return pmo_err(ENOMEM, "sorted dict too deep");
		uint64_t roff = node_new(p, h);
		if (!roff)
			return -1;
		pmo_binner *r = INNER(p, roff);
		r->child[0] = t->root;
		r->child[1] = right;
		r->count[0] = node_count(p, t->root);
		r->count[1] = node_count(p, right);
		r->keys[0] = sep;
		r->h.n = 2;
		t->root = roff;
		t->height = h + 1;
	}
	t->len++;
	*added = 1;
	return 0;
}

/* ------------------------------------------------------------------------
 * Deleting
 * ------------------------------------------------------------------------ */

/* Merge node b into its left sibling a (children li and li+1 of the inner
 * node at poff), and drop b. */
static int merge(pmo_pool *p, pmo_btree *t, uint64_t poff, uint32_t li)
{
	pmo_binner *par = INNER(p, poff);
	uint64_t aoff = par->child[li], boff = par->child[li + 1];
	if (snap_node(p, aoff) != 0 || snap_node(p, poff) != 0)
		return -1;
	pmo_bnode *a = pmo_direct(p, aoff), *b = pmo_direct(p, boff);
	pmo_slot sep = par->keys[li];
	int drop_sep = 0;
	if (a->level == 0) {
		pmo_bleaf *la = (pmo_bleaf *)a, *lb = (pmo_bleaf *)b;
		memcpy(&la->e[a->n], lb->e, b->n * sizeof(pmo_bentry));
		la->h.next = lb->h.next;
		if (link_back(p, t, lb->h.next, aoff) != 0)
			return -1;
		drop_sep = 1; /* separators of leaves are copies */
	} else {
		pmo_binner *ia = (pmo_binner *)a, *ib = (pmo_binner *)b;
		ia->keys[a->n - 1] = sep; /* moves down */
		memcpy(&ia->keys[a->n], ib->keys, (b->n - 1) * sizeof(pmo_slot));
		memcpy(&ia->child[a->n], ib->child, b->n * sizeof(uint64_t));
		memcpy(&ia->count[a->n], ib->count, b->n * sizeof(uint64_t));
	}
	a->n += b->n;
	uint32_t n = par->h.n;
	par->count[li] += par->count[li + 1];
	memmove(&par->child[li + 1], &par->child[li + 2], (n - li - 2) * sizeof(uint64_t));
	memmove(&par->count[li + 1], &par->count[li + 2], (n - li - 2) * sizeof(uint64_t));
	memmove(&par->keys[li], &par->keys[li + 1], (n - li - 2) * sizeof(pmo_slot));
	memset(&par->keys[n - 2], 0, sizeof(pmo_slot));
	par->h.n = n - 1;
	if (pmo_tx_free(p, boff) != 0)
		return -1;
	return drop_sep ? pmo_slot_decref(p, sep) : 0;
}

/* Move one entry (child) between siblings li and li+1 of the inner node
 * at poff, towards the one that is short: from_left says which gives. */
static int borrow(pmo_pool *p, uint64_t poff, uint32_t li, int from_left)
{
	pmo_binner *par = INNER(p, poff);
	uint64_t aoff = par->child[li], boff = par->child[li + 1];
	if (snap_node(p, aoff) != 0 || snap_node(p, boff) != 0 || snap_node(p, poff) != 0)
		return -1;
	pmo_bnode *a = pmo_direct(p, aoff), *b = pmo_direct(p, boff);
	uint64_t moved;
	if (a->level == 0) {
		pmo_bleaf *la = (pmo_bleaf *)a, *lb = (pmo_bleaf *)b;
		if (from_left) {
			memmove(&lb->e[1], lb->e, b->n * sizeof(pmo_bentry));
			lb->e[0] = la->e[a->n - 1];
			memset(&la->e[a->n - 1], 0, sizeof(pmo_bentry));
			a->n--;
			b->n++;
		} else {
			la->e[a->n] = lb->e[0];
			memmove(lb->e, &lb->e[1], (b->n - 1) * sizeof(pmo_bentry));
			memset(&lb->e[b->n - 1], 0, sizeof(pmo_bentry));
			a->n++;
			b->n--;
		}
		moved = 1;
		/* The separator becomes a copy of b's new first key. */
		pmo_slot old = par->keys[li];
		par->keys[li] = lb->e[0].key;
		if (pmo_slot_incref(p, lb->e[0].key) != 0 || pmo_slot_decref(p, old) != 0)
			return -1;
	} else {
		pmo_binner *ia = (pmo_binner *)a, *ib = (pmo_binner *)b;
		if (from_left) {
			uint32_t k = a->n - 1;
			memmove(&ib->child[1], ib->child, b->n * sizeof(uint64_t));
			memmove(&ib->count[1], ib->count, b->n * sizeof(uint64_t));
			memmove(&ib->keys[1], ib->keys, (b->n - 1) * sizeof(pmo_slot));
			ib->child[0] = ia->child[k];
			ib->count[0] = moved = ia->count[k];
			ib->keys[0] = par->keys[li];     /* down */
			par->keys[li] = ia->keys[k - 1]; /* up */
			memset(&ia->keys[k - 1], 0, sizeof(pmo_slot));
			a->n--;
			b->n++;
		} else {
			ia->child[a->n] = ib->child[0];
			ia->count[a->n] = moved = ib->count[0];
			ia->keys[a->n - 1] = par->keys[li]; /* down */
			par->keys[li] = ib->keys[0];        /* up */
			memmove(ib->child, &ib->child[1], (b->n - 1) * sizeof(uint64_t));
			memmove(ib->count, &ib->count[1], (b->n - 1) * sizeof(uint64_t));
			memmove(ib->keys, &ib->keys[1], (b->n - 2) * sizeof(pmo_slot));
			memset(&ib->keys[b->n - 2], 0, sizeof(pmo_slot));
			a->n++;
			b->n--;
		}
	}
	if (from_left) {
		par->count[li] -= moved;
		par->count[li + 1] += moved;
	} else {
		par->count[li] += moved;
		par->count[li + 1] -= moved;
	}
	return 0;
}

/* After a delete along path: merge or refill short nodes bottom up, then
 * shrink the root. */
static int rebalance(pmo_pool *p, pmo_btree *t, const step *path)
{
	for (int d = (int)t->height - 1; d >= 1; d--) {
		const pmo_bnode *nd = pmo_direct(p, path[d].node);
		if (nd->n >= PMO_BT_MIN)
			break;
		uint64_t poff = path[d - 1].node;
		const pmo_binner *par = INNER(p, poff);
		uint32_t ci = path[d - 1].idx;
		if (par->h.n < 2)
			break;
		uint32_t li = ci > 0 ? ci - 1 : 0;
		const pmo_bnode *a = node_at(p, par->child[li], nd->level, 1);
		const pmo_bnode *b = a ? node_at(p, par->child[li + 1], nd->level, 1) : NULL;
		if (!b)
			return -1;
		if (a->n + b->n <= PMO_BT_ORDER) {
			if (merge(p, t, poff, li) != 0)
				return -1;
			continue;
		}
		/* Too many for one node: the short one takes one from the other. */
		if (borrow(p, poff, li, ci > li) != 0)
			return -1;
		break;
	}
	while (t->root) {
		pmo_bnode *r = pmo_direct(p, t->root);
		uint64_t old = t->root;
		if (t->height > 1 && r->n == 1) {
			if (snap_tree(p, t) != 0)
				return -1;
			t->root = ((pmo_binner *)r)->child[0];
			t->height--;
		} else if (t->height == 1 && r->n == 0) {
			if (snap_tree(p, t) != 0)
				return -1;
			t->root = t->first = t->last = 0;
			t->height = 0;
		} else {
			break;
		}
		if (pmo_tx_free(p, old) != 0)
			return -1;
	}
	return 0;
}

static int hand_back(pmo_pool *p, pmo_slot s, pmo_slot *out)
{
	if (out) {
		*out = s;
		return 0;
	}
	return pmo_slot_decref(p, s);
}

static int del_path(pmo_pool *p, pmo_btree *t, const step *path, pmo_slot *out_key,
		    pmo_slot *out_value)
{
	uint32_t h = (uint32_t)t->height;
	pmo_bleaf *lf = LEAF(p, path[h - 1].node);
	uint32_t pos = path[h - 1].idx, n = lf->h.n;
	pmo_slot k = lf->e[pos].key, v = lf->e[pos].value;
	size_t moved = (size_t)(n - pos) * sizeof(pmo_bentry);
	if (snap_part(p, path[h - 1].node, &lf->e[pos], moved) != 0 ||
	    snap_part(p, path[h - 1].node, &lf->h.n, sizeof lf->h.n) != 0)
		return -1;
	memmove(&lf->e[pos], &lf->e[pos + 1], moved - sizeof(pmo_bentry));
	memset(&lf->e[n - 1], 0, sizeof(pmo_bentry));
	lf->h.n = n - 1;
	for (int d = (int)h - 2; d >= 0; d--) {
		pmo_binner *in = INNER(p, path[d].node);
		uint64_t *c = &in->count[path[d].idx];
		if (snap_part(p, path[d].node, c, sizeof *c) != 0)
			return -1;
		(*c)--;
	}
	if (snap_tree(p, t) != 0)
		return -1;
	t->len--;
	if (rebalance(p, t, path) != 0)
		return -1;
	if (hand_back(p, k, out_key) != 0)
		return -1;
	return hand_back(p, v, out_value);
}

int pmo_btree_del(pmo_pool *p, pmo_btree *t, const pmo_key *key, pmo_slot *out_key,
		  pmo_slot *out_value)
{
	if (!t->root)
		return 0;
	step path[PMO_BT_MAX_HEIGHT];
	int found;
	if (descend_key(p, t, key, 0, path, NULL, &found) != 0)
		return -1;
	if (!found)
		return 0;
	return del_path(p, t, path, out_key, out_value) != 0 ? -1 : 1;
}

int pmo_btree_del_at(pmo_pool *p, pmo_btree *t, uint64_t r, pmo_slot *out_key, pmo_slot *out_value)
{
	if (r >= t->len)
		return pmo_err(EINVAL, "sorted dict index out of range");
	step path[PMO_BT_MAX_HEIGHT];
	if (descend_rank(p, t, r, path) != 0)
		return -1;
	return del_path(p, t, path, out_key, out_value);
}

/* ------------------------------------------------------------------------
 * Whole trees: clearing, traversal, validation
 * ------------------------------------------------------------------------ */

/* Call fn on every node below and including off (children first), each
 * checked to be at its level; what fn may do to a node (free it, drop its
 * references) happens after its children were visited. */
typedef int (*node_fn)(pmo_pool *p, uint64_t off, void *ctx);

static int walk(pmo_pool *p, uint64_t off, uint32_t level, node_fn fn, void *ctx)
{
	pmo_bnode *nd = node_at(p, off, level, 0);
	if (!nd)
		return -1;
	if (level) {
		const pmo_binner *in = (const pmo_binner *)nd;
		for (uint32_t i = 0; i < nd->n; i++)
			if (walk(p, in->child[i], level - 1, fn, ctx) != 0)
				return -1;
	}
	return fn(p, off, ctx);
}

static int clear_node(pmo_pool *p, uint64_t off, void *ctx)
{
	(void)ctx;
	pmo_bnode *nd = pmo_direct(p, off);
	int rc = 0;
	if (nd->level == 0) {
		pmo_bleaf *lf = (pmo_bleaf *)nd;
		for (uint32_t i = 0; i < nd->n && rc == 0; i++)
			rc = pmo_slot_decref(p, lf->e[i].key) || pmo_slot_decref(p, lf->e[i].value);
	} else {
		pmo_binner *in = (pmo_binner *)nd;
		for (uint32_t i = 0; i + 1 < nd->n && rc == 0; i++)
			rc = pmo_slot_decref(p, in->keys[i]);
	}
	return rc ? -1 : pmo_tx_free(p, off);
}

int pmo_btree_clear(pmo_pool *p, pmo_btree *t)
{
	if (!t->root)
		return 0;
	uint64_t root = t->root;
	uint32_t level = (uint32_t)t->height - 1;
	if (snap_tree(p, t) != 0)
		return -1;
	t->root = t->first = t->last = 0;
	t->height = t->len = 0;
	return walk(p, root, level, clear_node, NULL);
}

static int visit_node(pmo_pool *p, uint64_t off, void *ctx)
{
	pmo_visit *v = ctx;
	const pmo_bnode *nd = pmo_direct(p, off);
	if (nd->level == 0) {
		const pmo_bleaf *lf = (const pmo_bleaf *)nd;
		for (uint32_t i = 0; i < nd->n; i++)
			if ((pmo_slot_is_ref(lf->e[i].key) && v->slot(v, &lf->e[i].key) != 0) ||
			    (pmo_slot_is_ref(lf->e[i].value) && v->slot(v, &lf->e[i].value) != 0))
				return -1;
	} else {
		const pmo_binner *in = (const pmo_binner *)nd;
		for (uint32_t i = 0; i + 1 < nd->n; i++)
			if (pmo_slot_is_ref(in->keys[i]) && v->slot(v, &in->keys[i]) != 0)
				return -1;
	}
	return v->sub(v, off);
}

static int btree_traverse(pmo_pool *p, uint64_t off, pmo_visit *v)
{
	pmo_btree *t = pmo_btree_get(p, off);
	if (!t)
		return -1;
	return t->root ? walk(p, t->root, (uint32_t)t->height - 1, visit_node, v) : 0;
}

/* Validation state: the last leaf and key seen, in key order. */
typedef struct vstate {
	const pmo_btree *t;
	uint64_t toff;
	uint64_t last_leaf;
	const pmo_slot *last_key;
} vstate;

static int bad(const vstate *vs, const char *fmt, unsigned long long a)
{
	char msg[160];
	snprintf(msg, sizeof msg, fmt, a);
	return pmo_err(EIO, "sorted dict at %llu: %s", (unsigned long long)vs->toff, msg);
}

/* cmp of two stored keys: -2 on error. */
static int cmp_slots(const pmo_pool *p, const pmo_slot *a, const pmo_slot *b)
{
	pmo_key ka;
	int c;
	if (pmo_key_of_slot(p, a, &ka) != 0 || cmp_stored(p, &ka, b, &c) != 0)
		return -2;
	return c;
}

/* Check the subtree at off (keys within [lo, hi) where given) and count
 * its entries. */
static int validate_node(const pmo_pool *p, vstate *vs, uint64_t off, uint32_t level,
			 const pmo_slot *lo, const pmo_slot *hi, uint64_t *count)
{
	const pmo_bnode *nd = node_at(p, off, level, 0);
	if (!nd)
		return bad(vs, "bad node at %llu", off);
	if (level == 0) {
		const pmo_bleaf *lf = (const pmo_bleaf *)nd;
		if (lf->h.prev != vs->last_leaf)
			return bad(vs, "leaf %llu is linked to the wrong previous leaf", off);
		if (vs->last_leaf ? LEAF(p, vs->last_leaf)->h.next != off : vs->t->first != off)
			return bad(vs, "leaf %llu is missing from the leaf chain", off);
		for (uint32_t i = 0; i < nd->n; i++) {
			const pmo_slot *k = &lf->e[i].key;
			pmo_key kk;
			if (pmo_key_of_slot(p, k, &kk) != 0)
				return bad(vs, "key %llu cannot be ordered", i);
			if (lf->e[i].value.tag == PMO_TAG_EMPTY ||
			    !pmo_slot_well_formed(lf->e[i].value))
				return bad(vs, "value %llu is not a valid slot", i);
			if (vs->last_key && cmp_slots(p, vs->last_key, k) != -1)
				return bad(vs, "keys out of order in leaf %llu", off);
			if ((lo && cmp_slots(p, k, lo) < 0) || (hi && cmp_slots(p, k, hi) != -1))
				return bad(vs, "a key of leaf %llu lies outside its separators",
					   off);
			vs->last_key = k;
		}
		vs->last_leaf = off;
		*count = nd->n;
		return 0;
	}
	const pmo_binner *in = (const pmo_binner *)nd;
	uint64_t total = 0;
	for (uint32_t i = 0; i < nd->n; i++) {
		const pmo_slot *clo = i ? &in->keys[i - 1] : lo;
		const pmo_slot *chi = i + 1 < nd->n ? &in->keys[i] : hi;
		if (i + 1 < nd->n && i > 0 && cmp_slots(p, &in->keys[i - 1], &in->keys[i]) != -1)
			return bad(vs, "separators out of order in node %llu", off);
		uint64_t c;
		if (validate_node(p, vs, in->child[i], level - 1, clo, chi, &c) != 0)
			return -1;
		if (c != in->count[i])
			return bad(vs, "the entry count of a child of node %llu is wrong", off);
		total += c;
	}
	*count = total;
	return 0;
}

static int btree_validate(const pmo_pool *p, uint64_t off)
{
	pmo_btree *t = pmo_btree_get(p, off);
	if (!t)
		return -1;
	vstate vs = {t, off, 0, NULL};
	if (!t->root)
		return 0;
	uint64_t n;
	if (validate_node(p, &vs, t->root, (uint32_t)t->height - 1, NULL, NULL, &n) != 0)
		return -1;
	if (vs.last_leaf != t->last || LEAF(p, t->last)->h.next != 0)
		return bad(&vs, "the last leaf is not %llu", t->last);
	if (n != t->len)
		return bad(&vs, "its length says %llu entries", t->len);
	return 0;
}

static const pmo_typeops btree_ops = {"PersistentSortedDict", btree_traverse, btree_validate};

void pmo_btree_register(void)
{
	pmo_register_type(PMO_T_SORTEDDICT, &btree_ops);
}
