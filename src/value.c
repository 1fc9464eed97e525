/* Immutable heap values; see value.h. */
#include "value.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "tx.h"

_Static_assert(sizeof(pmo_varobj) == 24 && offsetof(pmo_varobj, hash) == 16,
	       "compact varobj layout is persistent");
_Static_assert(sizeof(pmo_varobj_wide) == 32 && offsetof(pmo_varobj_wide, hash) == 24,
	       "wide varobj layout is persistent");

static uint64_t varobj_new(pmo_pool *p, uint32_t type, const void *data, size_t n, int64_t hash,
			   int negative)
{
	if (n > SIZE_MAX / 2) {
		pmo_err(ENOMEM, "value of %zu bytes is too large", n);
		return 0;
	}
	uint32_t sign = negative ? PMO_LONG_NEGATIVE : 0;
	char *dst;
	uint64_t off;
	/* A fresh object of this transaction: written without snapshots. */
	if (n <= PMO_VAR_COMPACT_MAX) {
		if (!(off = pmo_obj_new(p, type, sizeof(pmo_varobj) + n + 1, 0)))
			return 0;
		pmo_varobj *o = pmo_direct(p, off);
		o->head.flags = (uint32_t)n << PMO_VAR_SIZE_SHIFT | PMO_VAR_COMPACT | sign;
		o->hash = hash;
		dst = o->data;
	} else {
		if (!(off = pmo_obj_new(p, type, sizeof(pmo_varobj_wide) + n + 1, 0)))
			return 0;
		pmo_varobj_wide *o = pmo_direct(p, off);
		o->head.flags = sign;
		o->size = n;
		o->hash = hash;
		dst = o->data;
	}
	memcpy(dst, data, n);
	dst[n] = '\0';
	return off;
}

uint64_t pmo_str_new(pmo_pool *p, const char *utf8, size_t n)
{
	return varobj_new(p, PMO_T_STR, utf8, n,
			  pmo_hash_bytes_keyed(p->hash_k0, p->hash_k1, utf8, n), 0);
}

uint64_t pmo_bytes_new(pmo_pool *p, const void *data, size_t n)
{
	return varobj_new(p, PMO_T_BYTES, data, n,
			  pmo_hash_bytes_keyed(p->hash_k0, p->hash_k1, data, n), 0);
}

uint64_t pmo_pickle_new(pmo_pool *p, const void *data, size_t n)
{
	/* Not a hash Python sees (pmo_slot_hash does not answer for
	 * pickles): a checksum of the bytes, for pmo_value_verify. */
	return varobj_new(p, PMO_T_PICKLE, data, n,
			  pmo_hash_bytes_keyed(p->hash_k0, p->hash_k1, data, n), 0);
}

uint64_t pmo_long_new(pmo_pool *p, int negative, const uint8_t *mag_le, size_t n)
{
	int sign = n == 0 ? 0 : (negative ? -1 : 1);
	return varobj_new(p, PMO_T_LONG, mag_le, n, pmo_hash_bigint(sign, mag_le, n), sign < 0);
}

uint64_t pmo_complex_new(pmo_pool *p, double real, double imag)
{
	uint64_t off = pmo_obj_new(p, PMO_T_COMPLEX, sizeof(pmo_complex), 0);
	if (!off)
		return 0;
	pmo_complex *c = pmo_direct(p, off);
	c->real = real;
	c->imag = imag;
	return off;
}

uint64_t pmo_tuple_new(pmo_pool *p, uint32_t type, size_t n)
{
	if (n > (SIZE_MAX - sizeof(pmo_tuple)) / sizeof(pmo_slot)) {
		pmo_err(ENOMEM, "tuple of %zu items is too large", n);
		return 0;
	}
	uint64_t off = pmo_obj_new(p, type, sizeof(pmo_tuple) + n * sizeof(pmo_slot), 1);
	if (!off)
		return 0;
	pmo_tuple *t = pmo_direct(p, off);
	t->n = n;
	t->hash = PMO_HASH_UNKNOWN;
	return off;
}

/* The hash a tuple or frozenset is sealed with: PMO_HASH_UNKNOWN if an
 * item has none, or (*oom set) if there was no memory to compute it. */
static int64_t items_hash(const pmo_pool *p, const pmo_tuple *t, int *oom)
{
	int64_t on_stack[16];
	int64_t *h = t->n <= 16 ? on_stack : malloc(t->n * sizeof *h);
	*oom = !h;
	if (!h)
		return PMO_HASH_UNKNOWN;
	int64_t result = PMO_HASH_UNKNOWN;
	uint64_t i;
	for (i = 0; i < t->n; i++)
		if ((h[i] = pmo_slot_hash(p, t->items[i])) == PMO_HASH_UNKNOWN)
			break;
	if (i == t->n)
		result = t->head.type == PMO_T_FROZENSET ? pmo_hash_frozenset(h, t->n)
							 : pmo_hash_tuple(h, t->n);
	if (h != on_stack)
		free(h);
	return result;
}

void pmo_tuple_seal(pmo_pool *p, pmo_tuple *t)
{
	int oom;
	/* Without memory the hash stays unknown: Python hashes it on demand. */
	t->hash = items_hash(p, t, &oom);
}

uint32_t pmo_ref_type(const pmo_pool *p, uint64_t off)
{
	if (!pmo_off_valid(p, off, sizeof(pmo_head)))
		return 0;
	return pmo_head_at(p, off)->type;
}

/* Reads use the cheap bounds check (pmo_obj_at): every length is checked
 * against the end of the pool, which is what memory safety needs. */
int pmo_var_get(const pmo_pool *p, uint64_t off, uint32_t type, pmo_var *out)
{
	const pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_varobj));
	if (!h)
		return -1;
	size_t fixed = pmo_var_fixed(h);
	uint64_t avail = p->size - off;
	/* Only a big int has a sign; only the compact layout anything else. */
	uint32_t sign = type == PMO_T_LONG ? PMO_LONG_NEGATIVE : 0;
	uint32_t allowed = h->flags & PMO_VAR_COMPACT ? ~PMO_LONG_NEGATIVE | sign : sign;
	if (h->type != type || (h->flags & ~allowed) || avail < fixed)
		return pmo_err_corrupt(p->path, off, "bad %s object", pmo_type_name(type));
	pmo_var_decode(h, out);
	if (out->size >= avail - fixed) /* the data and its NUL */
		return pmo_err_corrupt(p->path, off, "bad %s object", pmo_type_name(type));
	return 0;
}

const pmo_complex *pmo_complex_get(const pmo_pool *p, uint64_t off)
{
	const pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_complex));
	if (h && h->type != PMO_T_COMPLEX) {
		pmo_err_corrupt(p->path, off, "bad complex");
		return NULL;
	}
	return (const pmo_complex *)h;
}

const pmo_tuple *pmo_tuple_get(const pmo_pool *p, uint64_t off, uint32_t type)
{
	const pmo_head *h = pmo_obj_at(p, off, sizeof(pmo_tuple));
	if (!h)
		return NULL;
	const pmo_tuple *t = (const pmo_tuple *)h;
	uint64_t room = p->size - off - sizeof(pmo_tuple);
	if (h->type != type || t->n > room / sizeof(pmo_slot)) {
		pmo_err_corrupt(p->path, off, "bad %s", pmo_type_name(type));
		return NULL;
	}
	return t;
}

int64_t pmo_slot_hash(const pmo_pool *p, pmo_slot s)
{
	switch (pmo_slot_tag(s)) {
	case PMO_TAG_NONE:
		return PMO_HASH_NONE;
	case PMO_TAG_FALSE:
		return 0;
	case PMO_TAG_TRUE:
		return 1;
	case PMO_TAG_INT:
		return pmo_hash_int64(pmo_slot_as_int(s));
	case PMO_TAG_FLOAT:
		return pmo_hash_double(pmo_slot_as_float(s));
	case PMO_TAG_SSTR:
	case PMO_TAG_SBYT: /* keyed as heap strs and bytes are */
		if (!pmo_slot_well_formed(s))
			return PMO_HASH_UNKNOWN;
		return pmo_hash_bytes_keyed(p->hash_k0, p->hash_k1, pmo_sstr_data(&s),
					    pmo_sstr_len(&s));
	case PMO_TAG_SBIG:
		if (!pmo_slot_well_formed(s))
			return PMO_HASH_UNKNOWN;
		return pmo_hash_bigint(pmo_sbig_negative(&s) ? -1 : 1, pmo_sbig_data(&s),
				       pmo_sbig_len(&s));
	case PMO_TAG_STUP: {
		/* As a heap tuple of the same ints is sealed with. */
		if (!pmo_slot_well_formed(s))
			return PMO_HASH_UNKNOWN;
		int64_t h[PMO_STUP_MAX];
		size_t n = pmo_stup_len(&s);
		for (size_t i = 0; i < n; i++)
			h[i] = pmo_hash_int64(pmo_stup_item(&s, i));
		return pmo_hash_tuple(h, n);
	}
	case PMO_TAG_REF:
		break;
	default:
		return PMO_HASH_UNKNOWN;
	}
	if (!pmo_off_valid(p, s.val, sizeof(pmo_head)))
		return PMO_HASH_UNKNOWN;
	const pmo_head *h = pmo_head_at(p, s.val);
	switch (h->type) {
	case PMO_T_STR:
	case PMO_T_BYTES:
	case PMO_T_LONG: {
		pmo_var v;
		if (!pmo_off_valid(p, s.val, pmo_var_fixed(h)))
			return PMO_HASH_UNKNOWN;
		pmo_var_decode(h, &v);
		return v.hash;
	}
	case PMO_T_COMPLEX: {
		if (!pmo_off_valid(p, s.val, sizeof(pmo_complex)))
			return PMO_HASH_UNKNOWN;
		const pmo_complex *c = (const pmo_complex *)h;
		return pmo_hash_complex(c->real, c->imag);
	}
	case PMO_T_TUPLE:
	case PMO_T_FROZENSET:
	case PMO_T_PTUPLE: /* a PersistentTuple equals the tuple of its items */
		if (!pmo_off_valid(p, s.val, sizeof(pmo_tuple)))
			return PMO_HASH_UNKNOWN;
		return ((const pmo_tuple *)h)->hash;
	default:
		return PMO_HASH_UNKNOWN;
	}
}

int pmo_value_verify(const pmo_pool *p, uint64_t off)
{
	uint32_t type = pmo_ref_type(p, off);
	int64_t want, have;
	if (type == PMO_T_TUPLE || type == PMO_T_FROZENSET) {
		const pmo_tuple *t = pmo_tuple_get(p, off, type);
		if (!t)
			return -1;
		int oom;
		want = t->hash;
		have = items_hash(p, t, &oom);
		if (oom)
			return 0; /* could not check: not a finding */
	} else if (type == PMO_T_STR || type == PMO_T_BYTES || type == PMO_T_PICKLE ||
		   type == PMO_T_LONG) {
		pmo_var v;
		if (pmo_var_get(p, off, type, &v) != 0)
			return -1;
		want = v.hash;
		if (type == PMO_T_LONG)
			have = pmo_hash_bigint(v.size == 0  ? 0
					       : v.negative ? -1
							    : 1,
					       (const uint8_t *)v.data, v.size);
		else
			have = pmo_hash_bytes_keyed(p->hash_k0, p->hash_k1, v.data, v.size);
		/* Pools before checksums on pickles stored no hash for them. */
		if (type == PMO_T_PICKLE && want == PMO_HASH_UNKNOWN)
			return 0;
	} else {
		return 0; /* complex, and mutable objects: no checksum */
	}
	if (have != want)
		return pmo_err_corrupt(p->path, off,
				       "%s object fails its checksum (stored %llx, "
				       "computed %llx)",
				       pmo_type_name(type), (unsigned long long)want,
				       (unsigned long long)have);
	return 0;
}

static int tuple_traverse(pmo_pool *p, uint64_t off, pmo_visit *v)
{
	const pmo_tuple *t = pmo_tuple_get(p, off, pmo_head_at(p, off)->type);
	if (!t)
		return -1;
	for (uint64_t i = 0; i < t->n; i++)
		if (pmo_slot_is_ref(t->items[i]) && v->slot(v, &t->items[i]) != 0)
			return -1;
	return 0;
}

static const pmo_typeops str_ops = {"str", NULL, pmo_value_verify};
static const pmo_typeops bytes_ops = {"bytes", NULL, pmo_value_verify};
static const pmo_typeops long_ops = {"int", NULL, pmo_value_verify};
static const pmo_typeops complex_ops = {"complex", NULL, NULL};
static const pmo_typeops pickle_ops = {"pickle", NULL, pmo_value_verify};
static const pmo_typeops tuple_ops = {"tuple", tuple_traverse, pmo_value_verify};
static const pmo_typeops frozenset_ops = {"frozenset", tuple_traverse, pmo_value_verify};

void pmo_value_register(void)
{
	pmo_register_type(PMO_T_STR, &str_ops);
	pmo_register_type(PMO_T_BYTES, &bytes_ops);
	pmo_register_type(PMO_T_LONG, &long_ops);
	pmo_register_type(PMO_T_COMPLEX, &complex_ops);
	pmo_register_type(PMO_T_PICKLE, &pickle_ops);
	pmo_register_type(PMO_T_TUPLE, &tuple_ops);
	pmo_register_type(PMO_T_FROZENSET, &frozenset_ops);
}
