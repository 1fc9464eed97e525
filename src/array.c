/* Persistent typed arrays; see array.h. */
#include "array.h"

#include <errno.h>
#include <string.h>

#include "error.h"
#include "rangelog.h"
#include "tx.h"

size_t pmo_array_itemsize(int typecode)
{
	switch (typecode) {
	case 'b':
	case 'B':
		return 1;
	case 'h':
	case 'H':
		return 2;
	case 'i':
	case 'I':
	case 'f':
		return 4;
	case 'u':
		return 4; /* wchar_t on the platforms we build on */
	case 'l':
	case 'L':
	case 'q':
	case 'Q':
	case 'd':
		return 8;
	default:
		return 0;
	}
}

_Static_assert(sizeof(long) == 8 && sizeof(int) == 4 && sizeof(short) == 2,
	       "the item sizes above assume an LP64 platform");

/* The largest item count whose block libpmemobj can allocate. */
static size_t max_items(size_t itemsize)
{
	return (size_t)PMEMOBJ_MAX_ALLOC_SIZE / itemsize;
}

/* Check typecode, dimensions and size; the item size, or 0 with errno. */
static size_t check_new(int typecode, size_t n, uint32_t ndim)
{
	size_t isz = pmo_array_itemsize(typecode);
	if (!isz)
		return pmo_err(EINVAL, "bad typecode (must be b, B, u, h, H, i, I, l, L, "
				       "q, Q, f or d)"),
		       0;
	if (ndim == 0 || ndim > PMO_ARRAY_MAXDIM)
		return pmo_err(EINVAL, "an array has 1 to %d dimensions, not %u", PMO_ARRAY_MAXDIM,
			       ndim),
		       0;
	if (n > max_items(isz))
		return pmo_err(ENOMEM,
			       "an array of %zu items of %zu bytes is too large "
			       "for one pool allocation",
			       n, isz),
		       0;
	return isz;
}

uint64_t pmo_array_new(pmo_pool *p, int typecode, size_t n, uint32_t ndim, const uint64_t *shape)
{
	if (!check_new(typecode, n, ndim))
		return 0;
	uint64_t off = pmo_obj_new(p, PMO_T_ARRAY, sizeof(pmo_array), 1);
	if (!off)
		return 0;
	/* Fresh: written without snapshots. */
	pmo_array *a = pmo_direct(p, off);
	a->head.flags = (uint32_t)typecode;
	a->itemsize = (uint32_t)pmo_array_itemsize(typecode);
	a->ndim = 1;
	if (pmo_array_init(p, a, typecode, n, ndim, shape, NULL) != 0)
		return 0;
	return off;
}

int pmo_array_init(pmo_pool *p, pmo_array *a, int typecode, size_t n, uint32_t ndim,
		   const uint64_t *shape, const void *src)
{
	size_t isz = check_new(typecode, n, ndim);
	if (!isz)
		return -1;
	if (pmo_tx_snapshot(p, &a->head.flags, sizeof a->head.flags) != 0 ||
	    pmo_tx_snapshot(p, &a->len, sizeof *a - offsetof(pmo_array, len)) != 0)
		return -1;
	if (a->data && pmo_tx_free(p, a->data) != 0)
		return -1;
	a->data = a->cap = a->len = 0;
	if (n) {
		a->data = pmo_raw_new(p, n * isz, src == NULL);
		if (!a->data)
			return -1;
		if (src)
			memcpy(pmo_direct(p, a->data), src, n * isz); /* fresh block */
	}
	a->head.flags = (uint32_t)typecode;
	a->itemsize = (uint32_t)isz;
	a->cap = a->len = n;
	a->ndim = ndim;
	memset(a->shape, 0, sizeof a->shape);
	if (ndim > 1)
		memcpy(a->shape, shape, ndim * sizeof *shape);
	return 0;
}

pmo_array *pmo_array_get(const pmo_pool *p, uint64_t off)
{
	pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_array));
	if (!h)
		return NULL;
	pmo_array *a = (pmo_array *)h;
	size_t isz = pmo_array_itemsize((int)h->flags);
	int bad = h->type != PMO_T_ARRAY || !isz || a->itemsize != isz || a->len > a->cap ||
		  a->cap > max_items(isz) || a->ndim == 0 || a->ndim > PMO_ARRAY_MAXDIM ||
		  (a->cap && pmo_check_off(p, a->data, a->cap * isz));
	if (!bad && a->ndim > 1) {
		uint64_t prod = 1;
		for (uint32_t d = 0; d < a->ndim && !bad; d++) {
			uint64_t k = a->shape[d];
			bad = k && prod > UINT64_MAX / k;
			prod *= k;
		}
		bad = bad || prod != a->len;
	}
	if (bad) {
		pmo_err_corrupt(p->path, off, "bad array");
		return NULL;
	}
	return a;
}

int pmo_array_snapshot(pmo_pool *p, pmo_array *a, size_t lo, size_t hi)
{
	if (lo > hi || hi > a->len)
		return pmo_err(EINVAL, "array range [%zu, %zu) outside its %llu items", lo, hi,
			       (unsigned long long)a->len);
	if (lo == hi)
		return 0;
	char *d = pmo_array_data(p, a) + lo * a->itemsize;
	size_t n = (hi - lo) * a->itemsize;
	/* A large range as a transaction's first change: the range log's
	 * copy, several times cheaper than libpmemobj's snapshot. */
	int logged = pmo_rangelog_save(p, d, n);
	if (logged)
		return logged < 0 ? -1 : 0;
	return pmo_tx_snapshot(p, d, n);
}

/* Room for n items (flat arrays); new room is zeroed. */
static int reserve(pmo_pool *p, pmo_array *a, size_t n)
{
	if (n <= a->cap)
		return 0;
	size_t limit = max_items(a->itemsize);
	if (n > limit)
		return pmo_err(ENOMEM, "an array of %zu items is too large", n);
	size_t cap = a->cap + (a->cap >> 3) + 8; /* growth in steps of 1/8 */
	if (cap < n)
		cap = n;
	if (cap > limit)
		cap = limit;
	if (pmo_tx_snapshot(p, &a->cap, 2 * sizeof(uint64_t)) != 0) /* cap, data */
		return -1;
	uint64_t data = a->data ? pmo_tx_realloc(p, a->data, cap * a->itemsize, PMO_TYPENUM_RAW, 1)
				: pmo_raw_new(p, cap * a->itemsize, 1);
	if (!data)
		return -1;
	/* The allocator zeroes what lies past the old block's usable size,
	 * not past our old capacity: clear [old cap, cap) ourselves. */
	char *d = pmo_direct(p, data);
	size_t from = a->cap * a->itemsize, to = cap * a->itemsize;
	if (pmo_tx_add_fresh(p, d + from, to - from) != 0)
		return -1;
	memset(d + from, 0, to - from);
	a->data = data;
	a->cap = cap;
	return 0;
}

int pmo_array_replace(pmo_pool *p, pmo_array *a, size_t lo, size_t hi, const void *src, size_t n)
{
	if (a->ndim != 1)
		return pmo_err(EINVAL, "cannot change the length of a %u-dimensional array",
			       a->ndim);
	if (lo > hi || hi > a->len)
		return pmo_err(EINVAL, "array range [%zu, %zu) outside its %llu items", lo, hi,
			       (unsigned long long)a->len);
	size_t len = a->len, isz = a->itemsize;
	size_t newlen = len - (hi - lo) + n;
	if (reserve(p, a, newlen) != 0)
		return -1;
	char *d = pmo_array_data(p, a);
	size_t end = newlen > len ? newlen : len;
	/* Items [lo, len) are committed: saved; [len, end) were zero past
	 * the length: only written back. */
	if (len > lo && pmo_tx_snapshot(p, d + lo * isz, (len - lo) * isz) != 0)
		return -1;
	if (end > len && pmo_tx_add_fresh(p, d + len * isz, (end - len) * isz) != 0)
		return -1;
	if (pmo_tx_snapshot(p, &a->len, sizeof a->len) != 0)
		return -1;
	if (d) {
		memmove(d + (lo + n) * isz, d + hi * isz, (len - hi) * isz);
		if (n)
			memcpy(d + lo * isz, src, n * isz);
		if (newlen < len)
			memset(d + newlen * isz, 0, (len - newlen) * isz);
	}
	a->len = newlen;
	return 0;
}

int pmo_array_resize(pmo_pool *p, pmo_array *a, size_t n)
{
	if (n <= a->len)
		return pmo_array_replace(p, a, n, a->len, NULL, 0);
	if (a->ndim != 1)
		return pmo_err(EINVAL, "cannot change the length of a %u-dimensional array",
			       a->ndim);
	/* The bytes past len are zero (committed so), and reserve zeroes what
	 * it adds: growing is a change of length only. */
	if (reserve(p, a, n) != 0 || pmo_tx_snapshot(p, &a->len, sizeof a->len) != 0)
		return -1;
	a->len = n;
	return 0;
}

static int array_traverse(pmo_pool *p, uint64_t off, pmo_visit *v)
{
	pmo_array *a = pmo_array_get(p, off);
	if (!a)
		return -1;
	return a->data ? v->sub(v, a->data) : 0;
}

static int array_validate(const pmo_pool *p, uint64_t off)
{
	return pmo_array_get(p, off) ? 0 : -1;
}

static const pmo_typeops array_ops = {"PersistentArray", array_traverse, array_validate};

void pmo_array_register(void)
{
	pmo_register_type(PMO_T_ARRAY, &array_ops);
}
