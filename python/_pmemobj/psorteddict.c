/*
 * PersistentSortedDict: a mapping kept in key order, over the B+ tree of
 * src/btree.c.
 *
 * Keys are numbers (bool, int, float but NaN), str, bytes, or tuples of
 * those, and all keys of one dict must compare with each other, as
 * Python's `<` would have them (ints with floats, strs with strs).  The
 * core compares keys itself, so no user code runs inside a search, and
 * the binding only describes the Python key to it (sortkey below).
 *
 * Following dict's rules where they apply:
 *  - a lookup (d[k], `in`, get, pop, del) of a key that cannot be in the
 *    dict (another family, an unorderable value) finds nothing, as dict's
 *    hash lookup would; storing one raises TypeError, before the op opens,
 *    so the caller's transaction goes on;
 *  - every mutation is one op (pyx_op_begin/end): its own transaction, or
 *    a part of the caller's;
 *  - iterators raise RuntimeError when the dict changed size under them.
 *    An iterator converts up to a leaf's worth of entries at a time and
 *    hands them out only while the pool's epoch says nothing changed;
 *    otherwise it finds its place again by rank, so it never follows a
 *    node that may have been freed.
 *
 * Positions are ranks (0 .. len): peekitem(i), bisect_left/right, index,
 * and the ranges of irange() and of keys/values/items(min, max) are rank
 * intervals, each found in O(log n) through the subtree counts.  The range
 * views are in pmemobj/_sorted.py; their C side is _bounds and _iter.
 */
#include "proxy.h"

#include <errno.h>
#include <math.h>

#include "btree.h"

extern PyTypeObject PersistentSortedDict_Type;
static PyTypeObject SortedIter_Type;

typedef ProxyObject SortedObject;

static inline int is_sorted(PyObject *o)
{
	return Py_IS_TYPE(o, &PersistentSortedDict_Type);
}

/* The tree behind a proxy, or NULL with an exception. */
static pmo_btree *tree_of(SortedObject *self)
{
	if (pyx_proxy_check(self))
		return NULL;
	pmo_btree *t = pmo_btree_get(self->pool->core, self->off);
	if (!t)
		pyx_raise();
	return t;
}

/* A core error as an exception: EDOM (keys that do not compare) is
 * Python's TypeError; the rest as everywhere. */
static PyObject *raise_core(void)
{
	if (errno == EDOM) {
		PyErr_SetString(PyExc_TypeError, pmo_errormsg());
		pmo_err_clear();
		return NULL;
	}
	return pyx_raise();
}

/* --- keys ---------------------------------------------------------------- */

/* The core's view of a Python key.  Tuples hold the views of their items;
 * tmp owns whatever bytes data points into. */
typedef struct sortkey {
	pmo_key k;
	PyObject *tmp;
	struct sortkey *items;
	Py_ssize_t nitems;
} sortkey;

static int sk_item(const pmo_key *k, size_t i, pmo_key *out)
{
	const sortkey *sk = k->ctx;
	*out = sk->items[i].k;
	return 0;
}

static void sk_clear(sortkey *sk)
{
	Py_CLEAR(sk->tmp);
	for (Py_ssize_t i = 0; i < sk->nitems; i++)
		sk_clear(&sk->items[i]);
	PyMem_Free(sk->items);
	sk->items = NULL;
	sk->nitems = 0;
}

static int big_magnitude(PyObject *v, int negative, sortkey *sk)
{
	PyObject *mag = negative ? PyNumber_Negative(v) : Py_NewRef(v);
	if (!mag)
		return -1;
	size_t n = (_PyLong_NumBits(mag) + 7) / 8;
	sk->tmp = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
	int rc = -1;
	if (sk->tmp)
#if PY_VERSION_HEX >= 0x030d0000
		rc = _PyLong_AsByteArray((PyLongObject *)mag,
					 (unsigned char *)PyBytes_AS_STRING(sk->tmp), n, 1, 0, 1);
#else
		rc = _PyLong_AsByteArray((PyLongObject *)mag,
					 (unsigned char *)PyBytes_AS_STRING(sk->tmp), n, 1, 0);
#endif
	Py_DECREF(mag);
	sk->k.data = (const uint8_t *)(sk->tmp ? PyBytes_AS_STRING(sk->tmp) : NULL);
	sk->k.len = n;
	sk->k.neg = negative;
	return rc;
}

/* Describe key: 0; or -1 with TypeError/ValueError when it cannot be a
 * key of a sorted dict (ValueError for NaN), or another error. */
static int sk_prepare(sortkey *sk, PyObject *key, int depth)
{
	memset(sk, 0, sizeof *sk);
	if (PyBool_Check(key)) {
		sk->k.kind = PMO_K_INT;
		sk->k.i = key == Py_True;
		return 0;
	}
	if (PyLong_Check(key)) {
		int overflow;
		long long x = PyLong_AsLongLongAndOverflow(key, &overflow);
		if (!overflow) {
			if (x == -1 && PyErr_Occurred())
				return -1;
			sk->k.kind = PMO_K_INT;
			sk->k.i = x;
			return 0;
		}
		sk->k.kind = PMO_K_BIGINT;
		return big_magnitude(key, overflow < 0, sk);
	}
	if (PyFloat_Check(key)) {
		sk->k.kind = PMO_K_FLOAT;
		sk->k.f = PyFloat_AS_DOUBLE(key);
		if (isnan(sk->k.f)) {
			PyErr_SetString(
				PyExc_ValueError,
				"NaN cannot be a key of a PersistentSortedDict (it has no order)");
			return -1;
		}
		return 0;
	}
	if (PyUnicode_Check(key)) {
		const char *data;
		Py_ssize_t len;
		if (pyx_str_utf8(key, &data, &len, &sk->tmp) != 0)
			return -1;
		sk->k.kind = PMO_K_STR;
		sk->k.data = (const uint8_t *)data;
		sk->k.len = (size_t)len;
		return 0;
	}
	if (PyBytes_Check(key)) {
		sk->k.kind = PMO_K_BYTES;
		sk->k.data = (const uint8_t *)PyBytes_AS_STRING(key);
		sk->k.len = (size_t)PyBytes_GET_SIZE(key);
		return 0;
	}
	if (PyTuple_Check(key) && depth < 100) {
		Py_ssize_t n = PyTuple_GET_SIZE(key);
		sk->k.kind = PMO_K_TUPLE;
		sk->k.n = (size_t)n;
		sk->k.item = sk_item;
		sk->k.ctx = sk;
		sk->items = PyMem_Calloc((size_t)(n ? n : 1), sizeof(sortkey));
		if (!sk->items) {
			PyErr_NoMemory();
			return -1;
		}
		for (Py_ssize_t i = 0; i < n; i++) {
			if (sk_prepare(&sk->items[i], PyTuple_GET_ITEM(key, i), depth + 1) != 0) {
				sk_clear(sk);
				return -1;
			}
			sk->nitems = i + 1;
		}
		return 0;
	}
	PyErr_Format(PyExc_TypeError,
		     "a PersistentSortedDict key must be a number, str, bytes or a tuple of "
		     "those, not '%.200s'",
		     Py_TYPE(key)->tp_name);
	return -1;
}

/* Prepare a key for a lookup: 1 ready, 0 it can be no key (nothing
 * found, no exception), -1 error. */
static int sk_lookup(sortkey *sk, PyObject *key)
{
	if (sk_prepare(sk, key, 0) == 0)
		return 1;
	if (PyErr_ExceptionMatches(PyExc_TypeError) || PyErr_ExceptionMatches(PyExc_ValueError)) {
		PyErr_Clear();
		return 0;
	}
	return -1;
}

/* Find key with the pool lock held: 1 found (at *pos), 0 not, -1 error.
 * A key that does not compare with the stored ones is not there. */
static int find(SortedObject *self, pmo_btree *t, const sortkey *sk, pmo_bt_pos *pos)
{
	int found = pmo_btree_find(self->pool->core, t, &sk->k, pos);
	if (found < 0) {
		if (errno == EDOM) {
			pmo_err_clear();
			return 0;
		}
		pyx_raise();
	}
	return found;
}

/* The value slot at a position find() just returned: the search checked
 * that leaf on its way down, so it is not checked again here. */
static pmo_slot *value_at(SortedObject *self, const pmo_bt_pos *pos)
{
	pmo_bleaf *lf = pmo_direct(self->pool->core, pos->leaf);
	return &lf->e[pos->i].value;
}

/* Before storing key: does it compare with the keys already there?  With
 * the pool lock held.  0, or -1 with TypeError.  A tuple key is looked
 * up in full (its items may meet other kinds anywhere); any other key
 * need only meet the first key. */
static int check_comparable(SortedObject *self, pmo_btree *t, const sortkey *sk)
{
	if (!t->len)
		return 0;
	pmo_pool *p = self->pool->core;
	int rc;
	if (sk->k.kind == PMO_K_TUPLE) {
		pmo_bt_pos pos;
		rc = pmo_btree_seek(p, t, &sk->k, 0, &pos, NULL);
	} else {
		pmo_bleaf *first = pmo_btree_leaf(p, t->first);
		pmo_key k0;
		int c;
		rc = !first || pmo_key_of_slot(p, &first->e[0].key, &k0) != 0 ||
				     pmo_key_cmp(&sk->k, &k0, &c) != 0
			     ? -1
			     : 0;
	}
	if (rc != 0)
		raise_core();
	return rc;
}

static void set_key_error(PyObject *key)
{
	PyObject *t = PyTuple_Pack(1, key);
	if (t) {
		PyErr_SetObject(PyExc_KeyError, t);
		Py_DECREF(t);
	}
}

/* --- reads --------------------------------------------------------------- */

static Py_ssize_t Sorted_len(SortedObject *self)
{
	pmo_btree *t = tree_of(self);
	return t ? (Py_ssize_t)t->len : -1;
}

/* The value of key (new reference), or NULL: *found = 0 and no exception
 * when it is missing. */
static PyObject *lookup(SortedObject *self, PyObject *key, int *found)
{
	*found = 0;
	sortkey sk;
	int ready = sk_lookup(&sk, key);
	if (ready <= 0)
		return NULL;
	PyObject *v = NULL;
	pyx_lock(self->pool);
	pmo_btree *t = tree_of(self);
	pmo_bt_pos pos;
	if (t && (*found = find(self, t, &sk, &pos)) == 1)
		v = pyx_from_slot(self->pool, *value_at(self, &pos));
	*found = *found == 1;
	pyx_unlock(self->pool);
	sk_clear(&sk);
	return v;
}

static PyObject *Sorted_subscript(SortedObject *self, PyObject *key)
{
	int found;
	PyObject *v = lookup(self, key, &found);
	if (!v && !found && !PyErr_Occurred())
		set_key_error(key);
	return v;
}

static int Sorted_contains(SortedObject *self, PyObject *key)
{
	sortkey sk;
	int ready = sk_lookup(&sk, key);
	if (ready <= 0)
		return ready;
	pyx_lock(self->pool);
	pmo_btree *t = tree_of(self);
	pmo_bt_pos pos;
	int rc = t ? find(self, t, &sk, &pos) : -1;
	pyx_unlock(self->pool);
	sk_clear(&sk);
	return rc;
}

static PyObject *Sorted_get(SortedObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	if (!_PyArg_CheckPositional("get", nargs, 1, 2))
		return NULL;
	int found;
	PyObject *v = lookup(self, args[0], &found);
	if (v || found || PyErr_Occurred())
		return v;
	return Py_NewRef(nargs > 1 ? args[1] : Py_None);
}

/* The entry at rank r as the kind of iter asks: key, value or (key, value). */
enum { KIND_KEYS = 0, KIND_VALUES = 1, KIND_ITEMS = 2 };

static PyObject *entry(SortedObject *self, const pmo_bt_pos *pos, int kind)
{
	pmo_bleaf *lf = pmo_btree_leaf(self->pool->core, pos->leaf);
	if (!lf)
		return pyx_raise();
	/* Read both slots before converting: a value's conversion may run
	 * code (unpickling) that changes the dict. */
	pmo_slot ks = lf->e[pos->i].key, vs = lf->e[pos->i].value;
	PyObject *k = kind != KIND_VALUES ? pyx_from_slot(self->pool, ks) : NULL;
	if (kind == KIND_KEYS || (kind == KIND_ITEMS && !k))
		return k;
	PyObject *v = pyx_from_slot(self->pool, vs);
	if (kind == KIND_VALUES || !v) {
		Py_XDECREF(k);
		return v;
	}
	PyObject *item = PyTuple_Pack(2, k, v);
	Py_DECREF(k);
	Py_DECREF(v);
	return item;
}

/* A Python index (negative from the end) as a rank, or -1 with IndexError. */
static int64_t rank_of_index(pmo_btree *t, Py_ssize_t index, const char *what)
{
	Py_ssize_t n = (Py_ssize_t)t->len;
	if (index < 0)
		index += n;
	if (index < 0 || index >= n) {
		PyErr_Format(PyExc_IndexError, "%s index out of range", what);
		return -1;
	}
	return index;
}

static PyObject *Sorted_peekitem(SortedObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	Py_ssize_t index = -1;
	if (!_PyArg_CheckPositional("peekitem", nargs, 0, 1))
		return NULL;
	if (nargs && (index = PyNumber_AsSsize_t(args[0], PyExc_IndexError)) == -1 &&
	    PyErr_Occurred())
		return NULL;
	pyx_lock(self->pool);
	PyObject *r = NULL;
	pmo_btree *t = tree_of(self);
	int64_t rank = t ? rank_of_index(t, index, "peekitem") : -1;
	pmo_bt_pos pos;
	if (rank >= 0) {
		if (pmo_btree_at(self->pool->core, t, (uint64_t)rank, &pos) != 0)
			pyx_raise();
		else
			r = entry(self, &pos, KIND_ITEMS);
	}
	pyx_unlock(self->pool);
	return r;
}

/* The first or last key (KeyError when empty). */
static PyObject *end_key(SortedObject *self, int last)
{
	pyx_lock(self->pool);
	PyObject *r = NULL;
	pmo_btree *t = tree_of(self);
	if (t && !t->len) {
		PyErr_SetString(PyExc_KeyError, "PersistentSortedDict is empty");
	} else if (t) {
		pmo_bt_pos pos = {last ? t->last : t->first, 0, 0};
		pmo_bleaf *lf = pmo_btree_leaf(self->pool->core, pos.leaf);
		if (!lf)
			pyx_raise();
		else {
			pos.i = last ? lf->h.n - 1 : 0;
			r = entry(self, &pos, KIND_KEYS);
		}
	}
	pyx_unlock(self->pool);
	return r;
}

static PyObject *Sorted_first_key(SortedObject *self, PyObject *unused)
{
	return end_key(self, 0);
}

static PyObject *Sorted_last_key(SortedObject *self, PyObject *unused)
{
	return end_key(self, 1);
}

/* The rank where key would go: bisect_left (upper 0) or bisect_right. */
static PyObject *bisect(SortedObject *self, PyObject *key, int upper)
{
	sortkey sk;
	if (sk_prepare(&sk, key, 0) != 0)
		return NULL;
	pyx_lock(self->pool);
	PyObject *r = NULL;
	pmo_btree *t = tree_of(self);
	pmo_bt_pos pos;
	if (t) {
		if (pmo_btree_seek(self->pool->core, t, &sk.k, upper, &pos, NULL) != 0)
			raise_core();
		else
			r = PyLong_FromUnsignedLongLong(pos.rank);
	}
	pyx_unlock(self->pool);
	sk_clear(&sk);
	return r;
}

static PyObject *Sorted_bisect_left(SortedObject *self, PyObject *key)
{
	return bisect(self, key, 0);
}

static PyObject *Sorted_bisect_right(SortedObject *self, PyObject *key)
{
	return bisect(self, key, 1);
}

/* index(key): the rank of key; ValueError if it is not there. */
static PyObject *Sorted_index(SortedObject *self, PyObject *key)
{
	sortkey sk;
	int ready = sk_lookup(&sk, key);
	if (ready < 0)
		return NULL;
	PyObject *r = NULL;
	int found = 0;
	pmo_bt_pos pos;
	if (ready) {
		pyx_lock(self->pool);
		pmo_btree *t = tree_of(self);
		found = -1;
		if (t && pmo_btree_seek(self->pool->core, t, &sk.k, 0, &pos, &found) != 0) {
			found = errno == EDOM ? 0 : -1;
			if (found == 0)
				pmo_err_clear();
			else
				pyx_raise();
		}
		pyx_unlock(self->pool);
		sk_clear(&sk);
	}
	if (found == 1)
		r = PyLong_FromUnsignedLongLong(pos.rank);
	else if (found == 0)
		PyErr_Format(PyExc_ValueError, "%R is not in the PersistentSortedDict", key);
	return r;
}

/* The rank interval [*lo, *hi) of the keys between lo_key and hi_key
 * (None: unbounded), each bound included or not.  0, or -1 with an
 * exception (TypeError for a bound that does not compare). */
static int rank_range(SortedObject *self, PyObject *lo_key, PyObject *hi_key, int lo_incl,
		      int hi_incl, uint64_t *lo, uint64_t *hi)
{
	sortkey a, b;
	int has_lo = lo_key != Py_None, has_hi = hi_key != Py_None;
	if (has_lo && sk_prepare(&a, lo_key, 0) != 0)
		return -1;
	if (has_hi && sk_prepare(&b, hi_key, 0) != 0) {
		if (has_lo)
			sk_clear(&a);
		return -1;
	}
	pyx_lock(self->pool);
	int rc = -1;
	pmo_btree *t = tree_of(self);
	pmo_bt_pos pa = {0, 0, 0}, pb = {0, 0, t ? t->len : 0};
	if (t && ((has_lo && pmo_btree_seek(self->pool->core, t, &a.k, !lo_incl, &pa, NULL)) ||
		  (has_hi && pmo_btree_seek(self->pool->core, t, &b.k, hi_incl, &pb, NULL)))) {
		raise_core();
	} else if (t) {
		*lo = pa.rank;
		*hi = pb.rank < pa.rank ? pa.rank : pb.rank;
		rc = 0;
	}
	pyx_unlock(self->pool);
	if (has_lo)
		sk_clear(&a);
	if (has_hi)
		sk_clear(&b);
	return rc;
}

/* _bounds(minimum, maximum, inclusive_min, inclusive_max) -> (lo, hi). */
static PyObject *Sorted_bounds(SortedObject *self, PyObject *args)
{
	PyObject *lo_key, *hi_key;
	int lo_incl, hi_incl;
	uint64_t lo, hi;
	if (!PyArg_ParseTuple(args, "OOpp:_bounds", &lo_key, &hi_key, &lo_incl, &hi_incl) ||
	    rank_range(self, lo_key, hi_key, lo_incl, hi_incl, &lo, &hi) != 0)
		return NULL;
	return Py_BuildValue("KK", (unsigned long long)lo, (unsigned long long)hi);
}

/* --- mutation ------------------------------------------------------------ */

/* Is the key stored in the slot itself (no allocation to convert it)?
 * (A short tuple too, which store() asks the converter about.) */
static int inline_key(const sortkey *sk)
{
	return sk->k.kind == PMO_K_INT || sk->k.kind == PMO_K_FLOAT ||
	       ((sk->k.kind == PMO_K_STR || sk->k.kind == PMO_K_BYTES) &&
		sk->k.len <= PMO_SSTR_MAX) ||
	       (sk->k.kind == PMO_K_BIGINT && sk->k.len <= PMO_SBIG_MAX);
}

/* Inside an op: key -> value.  Converting the value may run code (a
 * pickled value), so it comes first and the tree is searched after.
 * only: this store is the op's only change (d[k] = v, not update()), so
 * an existing key's inline value may be replaced without a log. */
static int store(SortedObject *self, const sortkey *sk, PyObject *key, PyObject *value, int only)
{
	PoolObject *pool = self->pool;
	pmo_slot vs, ks;
	if (pyx_to_slot(pool, value, &vs) != 0)
		return -1;
	pmo_btree *t = tree_of(self);
	if (!t)
		return -1;
	int short_tuple = PyTuple_CheckExact(key) && pyx_short_tuple(key, &ks);
	if (!inline_key(sk) && !short_tuple) {
		/* A key that exists keeps its stored copy: no new one made. */
		pmo_bt_pos pos;
		int found = find(self, t, sk, &pos);
		if (found < 0)
			return -1;
		if (found) {
			if (only)
				pmo_tx_single_store();
			return pmo_slot_store(pool->core, value_at(self, &pos), vs);
		}
	}
	if (!short_tuple && pyx_to_slot(pool, key, &ks) != 0)
		return -1;
	/* If the key is there, storing its value is then the only change,
	 * and may go without a log (an inline value over an inline value).
	 * An insert never uses the permission: its first change is a
	 * snapshot, after which no store goes without the log. */
	if (only)
		pmo_tx_single_store();
	int added;
	if (pmo_btree_set(pool->core, t, &sk->k, ks, vs, &added) != 0) {
		if (errno == EDOM)
			raise_core();
		return -1;
	}
	return 0;
}

/* Prepare the key of a store and check key and value, before any op. */
static int store_prepare(SortedObject *self, sortkey *sk, PyObject *key, PyObject *value)
{
	if (pyx_proxy_check(self) || sk_prepare(sk, key, 0) != 0)
		return -1;
	if (pyx_check_storable(self->pool, key) || pyx_check_storable(self->pool, value)) {
		sk_clear(sk);
		return -1;
	}
	return 0;
}

static int set_item(SortedObject *self, PyObject *key, PyObject *value)
{
	sortkey sk;
	if (store_prepare(self, &sk, key, value) != 0)
		return -1;
	PoolObject *pool = self->pool;
	pyx_lock(pool);
	pmo_btree *t = tree_of(self);
	int rc = -1;
	if (t && check_comparable(self, t, &sk) == 0 && pyx_op_begin(pool) == 0)
		rc = pyx_op_end(pool, store(self, &sk, key, value, 1) != 0);
	pyx_unlock(pool);
	sk_clear(&sk);
	return rc;
}

/* Remove key inside a new op; its value handed back (new reference) in
 * *out if not NULL.  1 removed, 0 missing, -1 error. */
static int remove_key(SortedObject *self, PyObject *key, PyObject **out)
{
	sortkey sk;
	if (pyx_proxy_check(self))
		return -1;
	int ready = sk_lookup(&sk, key);
	if (ready <= 0)
		return ready;
	PoolObject *pool = self->pool;
	int rc = -1;
	pyx_lock(pool);
	pmo_btree *t = tree_of(self);
	pmo_bt_pos pos;
	int found = t ? find(self, t, &sk, &pos) : -1;
	if (found == 0)
		rc = 0;
	else if (found == 1 && pyx_op_begin(pool) == 0) {
		/* The value is read before it goes, and dropped after. */
		PyObject *v = out ? pyx_from_slot(pool, *value_at(self, &pos)) : NULL;
		int failed = (out && !v) || pmo_btree_del(pool->core, t, &sk.k, NULL, NULL) != 1;
		rc = pyx_op_end(pool, failed) == 0 ? 1 : -1;
		if (rc == 1 && out)
			*out = v;
		else
			Py_XDECREF(v);
	}
	pyx_unlock(pool);
	sk_clear(&sk);
	return rc;
}

static int Sorted_ass_subscript(SortedObject *self, PyObject *key, PyObject *value)
{
	if (value)
		return set_item(self, key, value);
	int rc = remove_key(self, key, NULL);
	if (rc == 0)
		set_key_error(key);
	return rc > 0 ? 0 : -1;
}

static PyObject *Sorted_pop(SortedObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	if (!_PyArg_CheckPositional("pop", nargs, 1, 2))
		return NULL;
	PyObject *v = NULL;
	int rc = remove_key(self, args[0], &v);
	if (rc == 1)
		return v;
	if (rc == 0) {
		if (nargs > 1)
			return Py_NewRef(args[1]);
		set_key_error(args[0]);
	}
	return NULL;
}

static PyObject *Sorted_setdefault(SortedObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	if (!_PyArg_CheckPositional("setdefault", nargs, 1, 2))
		return NULL;
	PyObject *dflt = nargs > 1 ? args[1] : Py_None;
	/* Under the lock, so no other thread adds the key in between. */
	pyx_lock(self->pool);
	int found;
	PyObject *v = lookup(self, args[0], &found);
	if (!v && !PyErr_Occurred())
		v = set_item(self, args[0], dflt) == 0 ? Py_NewRef(dflt) : NULL;
	pyx_unlock(self->pool);
	return v;
}

/* popitem(last=True): remove and return the (key, value) with the
 * largest key (the smallest with last=False). */
static PyObject *Sorted_popitem(SortedObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"last", NULL};
	int last = 1;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|p:popitem", kwlist, &last))
		return NULL;
	PoolObject *pool = self->pool;
	if (pyx_proxy_check(self))
		return NULL;
	pyx_lock(pool);
	PyObject *item = NULL;
	pmo_btree *t = tree_of(self);
	if (t && !t->len) {
		PyErr_SetString(PyExc_KeyError, "popitem(): PersistentSortedDict is empty");
	} else if (t && pyx_op_begin(pool) == 0) {
		uint64_t r = last ? t->len - 1 : 0;
		pmo_bt_pos pos;
		int failed = pmo_btree_at(pool->core, t, r, &pos) != 0 ||
			     !(item = entry(self, &pos, KIND_ITEMS));
		failed = failed || pmo_btree_del_at(pool->core, t, r, NULL, NULL) != 0;
		if (pyx_op_end(pool, failed) != 0)
			Py_CLEAR(item);
	}
	pyx_unlock(pool);
	return item;
}

static PyObject *Sorted_clear(SortedObject *self, PyObject *unused)
{
	PoolObject *pool = self->pool;
	if (pyx_proxy_check(self) || pyx_op_begin(pool))
		return NULL;
	pmo_btree *t = tree_of(self);
	if (pyx_op_end(pool, !t || pmo_btree_clear(pool->core, t) != 0) != 0)
		return NULL;
	Py_RETURN_NONE;
}

/* The (key, value) pairs of a mapping or an iterable of pairs, as a list
 * of 2-tuples (new reference), the way dict.update reads its argument. */
static PyObject *pairs_of(PyObject *arg)
{
	PyObject *items;
	if (PyDict_Check(arg))
		items = PyDict_Items(arg);
	else if (is_sorted(arg) || PyObject_HasAttrString(arg, "keys")) {
		PyObject *keys = PyMapping_Keys(arg);
		items = keys ? PyList_New(0) : NULL;
		PyObject *it = items ? PyObject_GetIter(keys) : NULL, *k;
		while (it && (k = PyIter_Next(it))) {
			PyObject *v = PyObject_GetItem(arg, k);
			PyObject *t = v ? PyTuple_Pack(2, k, v) : NULL;
			if (!t || PyList_Append(items, t) != 0)
				Py_CLEAR(it);
			Py_DECREF(k);
			Py_XDECREF(v);
			Py_XDECREF(t);
		}
		Py_XDECREF(it);
		Py_XDECREF(keys);
		if (items && PyErr_Occurred())
			Py_CLEAR(items);
	} else {
		items = pyx_iterate_all(arg, NULL);
		if (items && !PyList_Check(items)) {
			Py_SETREF(items, PySequence_List(items));
		}
		for (Py_ssize_t i = 0; items && i < PyList_GET_SIZE(items); i++) {
			PyObject *pair = PySequence_Tuple(PyList_GET_ITEM(items, i));
			if (pair && PyTuple_GET_SIZE(pair) != 2) {
				PyErr_Format(
					PyExc_ValueError,
					"dictionary update sequence element #%zd has length %zd; "
					"2 is required",
					i, PyTuple_GET_SIZE(pair));
				Py_CLEAR(pair);
			}
			if (!pair)
				Py_CLEAR(items);
			else
				PyList_SetItem(items, i, pair);
		}
	}
	return items;
}

/* Store every pair of the list in one op: all or nothing. */
static int store_pairs(SortedObject *self, PyObject *pairs)
{
	Py_ssize_t n = PyList_GET_SIZE(pairs);
	if (!n)
		return 0;
	sortkey *sks = PyMem_Calloc((size_t)n, sizeof *sks);
	if (!sks) {
		PyErr_NoMemory();
		return -1;
	}
	Py_ssize_t ready = 0;
	int rc = -1;
	for (; ready < n; ready++) {
		PyObject *t = PyList_GET_ITEM(pairs, ready);
		if (store_prepare(self, &sks[ready], PyTuple_GET_ITEM(t, 0),
				  PyTuple_GET_ITEM(t, 1)))
			break;
	}
	PoolObject *pool = self->pool;
	if (ready == n) {
		pyx_lock(pool);
		pmo_btree *t = tree_of(self);
		/* Each key must compare with those before it too: a pair with
		 * a key of another family fails before anything is stored. */
		int ok = t != NULL;
		for (Py_ssize_t i = 0; ok && i < n; i++) {
			int c;
			ok = check_comparable(self, t, &sks[i]) == 0;
			if (ok && i > 0 && pmo_key_cmp(&sks[i].k, &sks[0].k, &c) != 0) {
				raise_core();
				ok = 0;
			}
		}
		if (ok && pyx_op_begin(pool) == 0) {
			int failed = 0;
			for (Py_ssize_t i = 0; !failed && i < n; i++) {
				PyObject *pair = PyList_GET_ITEM(pairs, i);
				failed = store(self, &sks[i], PyTuple_GET_ITEM(pair, 0),
					       PyTuple_GET_ITEM(pair, 1), 0) != 0;
			}
			rc = pyx_op_end(pool, failed);
		}
		pyx_unlock(pool);
	}
	for (Py_ssize_t i = 0; i < ready; i++)
		sk_clear(&sks[i]);
	PyMem_Free(sks);
	return rc;
}

static int update(SortedObject *self, PyObject *arg, PyObject *kw)
{
	if (pyx_proxy_check(self))
		return -1;
	int rc = 0;
	if (arg) {
		PyObject *pairs = pairs_of(arg);
		rc = pairs ? store_pairs(self, pairs) : -1;
		Py_XDECREF(pairs);
	}
	if (rc == 0 && kw && PyDict_GET_SIZE(kw)) {
		PyObject *pairs = PyDict_Items(kw);
		rc = pairs ? store_pairs(self, pairs) : -1;
		Py_XDECREF(pairs);
	}
	return rc;
}

static PyObject *Sorted_update(SortedObject *self, PyObject *args, PyObject *kw)
{
	PyObject *arg = NULL;
	if (!PyArg_UnpackTuple(args, "update", 0, 1, &arg) || update(self, arg, kw))
		return NULL;
	Py_RETURN_NONE;
}

static int Sorted_init(SortedObject *self, PyObject *args, PyObject *kw)
{
	PyObject *arg = NULL;
	if (!PyArg_UnpackTuple(args, "PersistentSortedDict", 0, 1, &arg))
		return -1;
	return update(self, arg, kw);
}

static PyObject *new_sorted(PoolObject *pool)
{
	if (pyx_op_begin(pool))
		return NULL;
	uint64_t off = pmo_btree_new(pool->core);
	return pyx_op_end_made(pool,
			       off ? pyx_proxy_adopt(pool, &PersistentSortedDict_Type, off) : NULL);
}

static PyObject *Sorted_p_new_in(PyTypeObject *cls, PyObject *pool_o)
{
	PoolObject *pool = pyx_new_in_pool(pool_o);
	if (!pool || pyx_check_open(pool))
		return NULL;
	return new_sorted(pool);
}

/* --- iteration ----------------------------------------------------------- */

/* An iterator converts up to a leaf's worth of entries at a time, under
 * the lock, and hands them out while the pool's epoch says nothing
 * changed; any change drops what is left and the next call reads again
 * from the pool by rank. */
#define ITER_BATCH 32

typedef struct {
	PyObject_HEAD SortedObject *owner; /* NULL when exhausted */
	int kind;
	int reversed;
	uint64_t lo, hi; /* the rank interval [lo, hi) to visit */
	uint64_t next;   /* forward: rank of the next entry; reversed: one past it */
	uint64_t len;    /* the dict's length at creation; UINT64_MAX once it raised */
	uint64_t epoch;  /* pool epoch when batch was converted */
	int nbatch, ibatch;
	PyObject *batch[ITER_BATCH];
} SortedIterObject;

static void drop_batch(SortedIterObject *it)
{
	for (int i = it->ibatch; i < it->nbatch; i++)
		Py_CLEAR(it->batch[i]);
	it->nbatch = it->ibatch = 0;
}

static PyObject *make_iter(SortedObject *owner, int kind, int reversed, uint64_t lo, uint64_t hi)
{
	pyx_lock(owner->pool);
	pmo_btree *t = tree_of(owner);
	SortedIterObject *it = t ? PyObject_New(SortedIterObject, &SortedIter_Type) : NULL;
	if (it) {
		it->owner = (SortedObject *)Py_NewRef(owner);
		it->kind = kind;
		it->reversed = reversed;
		it->len = t->len;
		it->hi = hi > t->len ? t->len : hi;
		it->lo = lo > it->hi ? it->hi : lo;
		it->next = reversed ? it->hi : it->lo;
		it->nbatch = it->ibatch = 0;
	}
	pyx_unlock(owner->pool);
	return (PyObject *)it;
}

/* Convert the next entries from the pool into the batch (lock held). */
static int fill_batch(SortedIterObject *it, pmo_btree *t)
{
	PoolObject *pool = it->owner->pool;
	uint64_t rank = it->reversed ? it->next - 1 : it->next;
	pmo_bt_pos pos;
	if (pmo_btree_at(pool->core, t, rank, &pos) != 0 || !pos.leaf) {
		pyx_raise();
		return -1;
	}
	const pmo_bleaf *lf = pmo_btree_leaf(pool->core, pos.leaf);
	if (!lf) {
		pyx_raise();
		return -1;
	}
	uint64_t in_leaf = it->reversed ? pos.i + 1 : lf->h.n - pos.i;
	uint64_t left = it->reversed ? it->next - it->lo : it->hi - it->next;
	int m = (int)(in_leaf < left ? in_leaf : left);
	if (m > ITER_BATCH)
		m = ITER_BATCH;
	uint64_t epoch = pool->epoch;
	for (int j = 0; j < m; j++) {
		pos.i = it->reversed ? pos.i - (j > 0) : pos.i + (j > 0);
		PyObject *e = it->kind == KIND_KEYS ? pyx_from_slot(pool, lf->e[pos.i].key)
						    : entry(it->owner, &pos, it->kind);
		if (!e) {
			drop_batch(it);
			return -1;
		}
		it->batch[it->nbatch++] = e;
		/* A conversion that ran code which changed the pool: keep what
		 * was read before, read the rest again next time. */
		if (pool->epoch != epoch)
			break;
	}
	it->epoch = pool->epoch;
	return 0;
}

static PyObject *SortedIter_next(SortedIterObject *it)
{
	if (!it->owner)
		return NULL;
	PoolObject *pool = it->owner->pool;
	if (it->ibatch < it->nbatch && pool->core && it->epoch == pool->epoch) {
		PyObject *r = it->batch[it->ibatch];
		it->batch[it->ibatch++] = NULL;
		it->next += it->reversed ? (uint64_t)-1 : 1;
		return r;
	}
	drop_batch(it);
	pyx_lock(pool);
	PyObject *r = NULL;
	pmo_btree *t = tree_of(it->owner);
	if (!t)
		goto out;
	if (t->len != it->len) {
		PyErr_SetString(PyExc_RuntimeError,
				"PersistentSortedDict changed size during iteration");
		it->len = UINT64_MAX; /* and keeps raising */
		goto out;
	}
	if (it->reversed ? it->next <= it->lo : it->next >= it->hi) {
		Py_CLEAR(it->owner);
		goto out;
	}
	if (fill_batch(it, t) == 0) {
		r = it->batch[0];
		it->batch[0] = NULL;
		it->ibatch = 1;
		it->next += it->reversed ? (uint64_t)-1 : 1;
	}
out:
	pyx_unlock(pool);
	return r;
}

static PyObject *SortedIter_length_hint(SortedIterObject *it, PyObject *unused)
{
	if (!it->owner || it->len == UINT64_MAX)
		return PyLong_FromLong(0);
	return PyLong_FromUnsignedLongLong(it->reversed ? it->next - it->lo : it->hi - it->next);
}

static void SortedIter_dealloc(SortedIterObject *it)
{
	drop_batch(it);
	Py_XDECREF(it->owner);
	PyObject_Free(it);
}

static PyMethodDef SortedIter_methods[] = {
	{"__length_hint__", (PyCFunction)SortedIter_length_hint, METH_NOARGS, NULL}, {NULL}};

static PyTypeObject SortedIter_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj._SortedDictIterator",
	.tp_basicsize = sizeof(SortedIterObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_dealloc = (destructor)SortedIter_dealloc,
	.tp_iter = PyObject_SelfIter,
	.tp_iternext = (iternextfunc)SortedIter_next,
	.tp_methods = SortedIter_methods,
};

static PyObject *Sorted_iter(SortedObject *self)
{
	return make_iter(self, KIND_KEYS, 0, 0, UINT64_MAX);
}

static PyObject *Sorted_reversed(SortedObject *self, PyObject *unused)
{
	return make_iter(self, KIND_KEYS, 1, 0, UINT64_MAX);
}

/* _iter(lo, hi, kind, reverse): an iterator over the ranks [lo, hi). */
static PyObject *Sorted_iter_range(SortedObject *self, PyObject *args)
{
	unsigned long long lo, hi;
	int kind, reversed;
	if (!PyArg_ParseTuple(args, "KKip:_iter", &lo, &hi, &kind, &reversed))
		return NULL;
	if (kind < KIND_KEYS || kind > KIND_ITEMS) {
		PyErr_SetString(PyExc_ValueError, "_iter(): kind is 0, 1 or 2");
		return NULL;
	}
	return make_iter(self, kind, reversed, lo, hi);
}

static PyObject *Sorted_irange(SortedObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"minimum", "maximum", "inclusive", "reverse", NULL};
	PyObject *lo_key = Py_None, *hi_key = Py_None, *incl = NULL;
	int reversed = 0, lo_incl = 1, hi_incl = 1;
	uint64_t lo, hi;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOOp:irange", kwlist, &lo_key, &hi_key, &incl,
					 &reversed))
		return NULL;
	if (incl) {
		PyObject *pair = PySequence_Fast(incl, "");
		if (!pair || PySequence_Fast_GET_SIZE(pair) != 2) {
			Py_XDECREF(pair);
			PyErr_SetString(PyExc_TypeError,
					"inclusive must be a pair of bools, e.g. (True, False)");
			return NULL;
		}
		lo_incl = PyObject_IsTrue(PySequence_Fast_GET_ITEM(pair, 0));
		hi_incl = PyObject_IsTrue(PySequence_Fast_GET_ITEM(pair, 1));
		Py_DECREF(pair);
		if (lo_incl < 0 || hi_incl < 0)
			return NULL;
	}
	if (rank_range(self, lo_key, hi_key, lo_incl, hi_incl, &lo, &hi) != 0)
		return NULL;
	return make_iter(self, KIND_KEYS, reversed, lo, hi);
}

/* keys/values/items: the views of pmemobj/_sorted.py. */
static PyObject *call_sorted_py(const char *name, SortedObject *self, PyObject *args, PyObject *kw)
{
	static PyObject *mod; /* imported once, kept for the process */
	if (!mod)
		mod = PyImport_ImportModule("pmemobj._sorted");
	PyObject *f = mod ? PyObject_GetAttrString(mod, name) : NULL;
	if (!f)
		return NULL;
	PyObject *full = PyTuple_New(PyTuple_GET_SIZE(args) + 1);
	if (!full) {
		Py_DECREF(f);
		return NULL;
	}
	PyTuple_SET_ITEM(full, 0, Py_NewRef(self));
	for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); i++)
		PyTuple_SET_ITEM(full, i + 1, Py_NewRef(PyTuple_GET_ITEM(args, i)));
	PyObject *r = PyObject_Call(f, full, kw);
	Py_DECREF(full);
	Py_DECREF(f);
	return r;
}

#define PY_SIDE(fn, name)                                                     \
	static PyObject *fn(SortedObject *self, PyObject *args, PyObject *kw) \
	{                                                                     \
		return call_sorted_py(name, self, args, kw);                  \
	}
PY_SIDE(Sorted_keys, "keys")
PY_SIDE(Sorted_values, "values")
PY_SIDE(Sorted_items, "items")
PY_SIDE(Sorted_repr, "repr")

static PyObject *Sorted_repr0(SortedObject *self)
{
	PyObject *args = PyTuple_New(0);
	PyObject *r = args ? Sorted_repr(self, args, NULL) : NULL;
	Py_XDECREF(args);
	return r;
}

/* --- comparison and copies ----------------------------------------------- */

/* Equal to any mapping with the same items, as dict compares. */
static PyObject *Sorted_richcompare(SortedObject *self, PyObject *other, int op)
{
	if ((op != Py_EQ && op != Py_NE))
		Py_RETURN_NOTIMPLEMENTED;
	static PyObject *mapping; /* collections.abc.Mapping, kept for the process */
	if (!mapping) {
		PyObject *abc = PyImport_ImportModule("collections.abc");
		mapping = abc ? PyObject_GetAttrString(abc, "Mapping") : NULL;
		Py_XDECREF(abc);
	}
	int is_map = mapping ? PyObject_IsInstance(other, mapping) : -1;
	if (is_map < 0)
		return NULL;
	if (!is_map)
		Py_RETURN_NOTIMPLEMENTED;
	PyObject *mine = PyDict_New(), *theirs = PyDict_New();
	PyObject *r = NULL;
	if (mine && theirs && PyDict_Merge(mine, (PyObject *)self, 1) == 0 &&
	    PyDict_Merge(theirs, other, 1) == 0)
		r = PyObject_RichCompare(mine, theirs, op);
	Py_XDECREF(mine);
	Py_XDECREF(theirs);
	return r;
}

/* A shallow copy: a new PersistentSortedDict in the same pool. */
static PyObject *Sorted_copy(SortedObject *self, PyObject *unused)
{
	if (pyx_proxy_check(self))
		return NULL;
	PoolObject *pool = self->pool;
	PyObject *items = PyDict_New();
	if (!items || PyDict_Merge(items, (PyObject *)self, 1) != 0) {
		Py_XDECREF(items);
		return NULL;
	}
	/* One op: the copy is made whole or not at all. */
	pyx_lock(pool);
	PyObject *made = NULL;
	if (pyx_op_begin(pool) == 0) {
		made = new_sorted(pool);
		int failed = !made || update((SortedObject *)made, items, NULL) != 0;
		if (pyx_op_end(pool, failed) != 0 || failed)
			Py_CLEAR(made);
	}
	pyx_unlock(pool);
	Py_DECREF(items);
	return made;
}

static PyObject *Sorted_contains_meth(SortedObject *self, PyObject *key)
{
	int rc = Sorted_contains(self, key);
	return rc < 0 ? NULL : PyBool_FromLong(rc);
}

static PyMethodDef Sorted_methods[] = {
	{"_p_new_in", (PyCFunction)Sorted_p_new_in, METH_O | METH_CLASS,
	 "Create an empty instance in the given pool (used by pool.new)."},
	{"__getitem__", (PyCFunction)Sorted_subscript, METH_O | METH_COEXIST,
	 "x.__getitem__(y) <==> x[y]"},
	{"__contains__", (PyCFunction)Sorted_contains_meth, METH_O | METH_COEXIST,
	 "True if the dict has the key, else False."},
	{"get", (PyCFunction)(void (*)(void))Sorted_get, METH_FASTCALL,
	 "Return the value for key if key is in the dict, else default."},
	{"setdefault", (PyCFunction)(void (*)(void))Sorted_setdefault, METH_FASTCALL,
	 "Insert key with a value of default if key is not in the dict; return the value."},
	{"pop", (PyCFunction)(void (*)(void))Sorted_pop, METH_FASTCALL,
	 "D.pop(k[,d]) -> v, remove the key and return its value (or d)."},
	{"popitem", (PyCFunction)(void (*)(void))Sorted_popitem, METH_VARARGS | METH_KEYWORDS,
	 "popitem(last=True): remove and return the (key, value) pair with the largest key "
	 "(the smallest with last=False)."},
	{"peekitem", (PyCFunction)(void (*)(void))Sorted_peekitem, METH_FASTCALL,
	 "peekitem(index=-1): the (key, value) pair at index in key order."},
	{"first_key", (PyCFunction)Sorted_first_key, METH_NOARGS,
	 "The smallest key (KeyError if the dict is empty)."},
	{"last_key", (PyCFunction)Sorted_last_key, METH_NOARGS,
	 "The largest key (KeyError if the dict is empty)."},
	{"bisect_left", (PyCFunction)Sorted_bisect_left, METH_O,
	 "The index where key would be inserted, before any equal key."},
	{"bisect_right", (PyCFunction)Sorted_bisect_right, METH_O,
	 "The index where key would be inserted, after any equal key."},
	{"bisect", (PyCFunction)Sorted_bisect_right, METH_O, "The same as bisect_right."},
	{"index", (PyCFunction)Sorted_index, METH_O,
	 "The index of key in key order (ValueError if it is not there)."},
	{"keys", (PyCFunction)(void (*)(void))Sorted_keys, METH_VARARGS | METH_KEYWORDS,
	 "keys(minimum=None, maximum=None, inclusive=(True, True)): a live, sorted, "
	 "set-like view of the keys in the range (all keys by default)."},
	{"values", (PyCFunction)(void (*)(void))Sorted_values, METH_VARARGS | METH_KEYWORDS,
	 "values(minimum=None, maximum=None, inclusive=(True, True)): a live view of the "
	 "values of the keys in the range, in key order."},
	{"items", (PyCFunction)(void (*)(void))Sorted_items, METH_VARARGS | METH_KEYWORDS,
	 "items(minimum=None, maximum=None, inclusive=(True, True)): a live, set-like view "
	 "of the (key, value) pairs of the keys in the range, in key order."},
	{"irange", (PyCFunction)(void (*)(void))Sorted_irange, METH_VARARGS | METH_KEYWORDS,
	 "irange(minimum=None, maximum=None, inclusive=(True, True), reverse=False): an "
	 "iterator over the keys in the range."},
	{"_bounds", (PyCFunction)Sorted_bounds, METH_VARARGS,
	 "_bounds(minimum, maximum, inclusive_min, inclusive_max) -> (lo, hi): the index "
	 "range of the keys in that range."},
	{"_iter", (PyCFunction)Sorted_iter_range, METH_VARARGS,
	 "_iter(lo, hi, kind, reverse): an iterator over the indices [lo, hi) giving keys "
	 "(kind 0), values (1) or items (2)."},
	{"update", (PyCFunction)(void (*)(void))Sorted_update, METH_VARARGS | METH_KEYWORDS,
	 "D.update([E, ]**F): update D from the mapping or iterable E and F, in one transaction."},
	{"clear", (PyCFunction)Sorted_clear, METH_NOARGS, "Remove all items."},
	{"copy", (PyCFunction)Sorted_copy, METH_NOARGS,
	 "A shallow copy: a new PersistentSortedDict in the same pool."},
	{"__reversed__", (PyCFunction)Sorted_reversed, METH_NOARGS,
	 "An iterator over the keys, largest first."},
	{"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, NULL},
	{NULL}};

static PySequenceMethods Sorted_as_sequence = {
	.sq_contains = (objobjproc)Sorted_contains,
};

static PyMappingMethods Sorted_as_mapping = {
	.mp_length = (lenfunc)Sorted_len,
	.mp_subscript = (binaryfunc)Sorted_subscript,
	.mp_ass_subscript = (objobjargproc)Sorted_ass_subscript,
};

PyTypeObject PersistentSortedDict_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentSortedDict",
	.tp_basicsize = sizeof(SortedObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_MAPPING, /* GC inherited */
	.tp_doc = "PersistentSortedDict([mapping_or_iterable], **kwarg): a mapping kept in key\n"
		  "order in a pool (a B+ tree).\n\n"
		  "Create with pool.new(PersistentSortedDict, ...).  Keys are numbers, str,\n"
		  "bytes or tuples of those, and must compare with each other.",
	.tp_base = &Proxy_Type,
	.tp_init = (initproc)Sorted_init,
	.tp_repr = (reprfunc)Sorted_repr0,
	.tp_hash = PyObject_HashNotImplemented,
	.tp_richcompare = (richcmpfunc)Sorted_richcompare,
	.tp_iter = (getiterfunc)Sorted_iter,
	.tp_methods = Sorted_methods,
	.tp_as_sequence = &Sorted_as_sequence,
	.tp_as_mapping = &Sorted_as_mapping,
};

int pyx_sorteddict_ready(PyObject *module)
{
	if (PyType_Ready(&PersistentSortedDict_Type) < 0 || PyType_Ready(&SortedIter_Type) < 0)
		return -1;
	if (pyx_register_abc("MutableMapping", &PersistentSortedDict_Type) < 0 ||
	    pyx_add_methods(&PersistentSortedDict_Type, pyx_plain_methods) < 0)
		return -1;
	pyx_register_proxy_type(PMO_T_SORTEDDICT, &PersistentSortedDict_Type);
	return PyModule_AddObjectRef(module, "PersistentSortedDict",
				     (PyObject *)&PersistentSortedDict_Type);
}
