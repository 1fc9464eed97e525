/*
 * PersistentSet and PersistentFrozenSet: the set and frozenset APIs over
 * the hash table of src/dict.c (type codes PMO_T_SET and PMO_T_PFROZENSET,
 * entries without a value slot).
 *
 * Membership, add, remove, discard, pop and the in-place updates work on
 * the table directly, one op each (keys hashed and checked before the op,
 * as in pdict.c).  The algebra that builds a new set (union, &, -, ^ and
 * the comparisons) computes on Python sets of the items, which gives
 * exactly the builtin's semantics, and stores the result as a new
 * persistent set of the left operand's kind (set or frozenset, as the
 * builtins' results) in the pool of the persistent operand (the left one
 * when both are).
 *
 * A PersistentFrozenSet is hashable and never changes once made:
 * pool.new(PersistentFrozenSet, iterable) creates it empty and its
 * __init__ fills it, which it only allows while the frozenset is empty and
 * nothing persistent refers to it yet.  Its Python hash() is that of a
 * frozenset of the same items (so it can meet frozensets in plain dicts);
 * as a key of a persistent table it hashes by content with the stable
 * hashes (keys.c).
 */
#include "keys.h"

#include <errno.h>

#include "hash.h"

typedef ProxyObject SetObject;
PyTypeObject PersistentSet_Type, PersistentFrozenSet_Type;

int pyx_is_pset(PyObject *o)
{
	return Py_IS_TYPE(o, &PersistentSet_Type) || Py_IS_TYPE(o, &PersistentFrozenSet_Type);
}

static inline uint32_t code_of(SetObject *self)
{
	return Py_IS_TYPE(self, &PersistentSet_Type) ? PMO_T_SET : PMO_T_PFROZENSET;
}

static inline PyTypeObject *type_of_code(uint32_t code)
{
	return code == PMO_T_SET ? &PersistentSet_Type : &PersistentFrozenSet_Type;
}

static inline pmo_dict *set_of(SetObject *self)
{
	return pyx_table_of(self, code_of(self));
}

static Py_ssize_t Set_len(SetObject *self)
{
	pmo_dict *d = set_of(self);
	return d ? (Py_ssize_t)d->used : -1;
}

/* The items as a new list. */
static PyObject *items_of(SetObject *self)
{
	if (pyx_proxy_check(self))
		return NULL;
	PoolObject *pool = self->pool;
	pyx_lock(pool);
	pmo_dict *d = set_of(self);
	PyObject *out = d ? PyList_New(0) : NULL;
	for (uint64_t i = 0; out && d->size && i < d->nentries; i++) {
		pmo_dict_entry *e = pmo_dict_entry_at(pool->core, d, i);
		if (!pmo_dict_entry_live(e))
			continue;
		PyObject *k = pyx_from_slot(pool, e->key);
		if (!k || PyList_Append(out, k) != 0)
			Py_CLEAR(out);
		Py_XDECREF(k);
		if (out && !(d = set_of(self)))
			Py_CLEAR(out);
	}
	pyx_unlock(pool);
	return out;
}

PyObject *pyx_pset_as_frozenset(PyObject *o)
{
	PyObject *items = items_of((SetObject *)o);
	PyObject *r = items ? PyFrozenSet_New(items) : NULL;
	Py_XDECREF(items);
	return r;
}

static PyObject *as_pyset(SetObject *self)
{
	PyObject *items = items_of(self);
	PyObject *r = items ? PySet_New(items) : NULL;
	Py_XDECREF(items);
	return r;
}

/* An iterable of other's items that no change to a persistent set can
 * disturb: a list for persistent sets, other itself otherwise. */
static PyObject *items_or_self(PyObject *other)
{
	return pyx_is_pset(other) ? items_of((SetObject *)other) : Py_NewRef(other);
}

/* other as a Python set for the operators, or NULL without an exception
 * when it is no set (the operator returns NotImplemented). */
static PyObject *set_operand(PyObject *other)
{
	if (pyx_is_pset(other))
		return pyx_pset_as_frozenset(other);
	if (PyAnySet_Check(other))
		return Py_NewRef(other);
	return NULL;
}

/* --- lookups ------------------------------------------------------------- */

/* 1 if key is in the set, 0 if not, -1 on error. */
static int set_has(SetObject *self, PyObject *key)
{
	pyx_key k;
	if (pyx_proxy_check(self) || pyx_key_prepare(&k, self->pool, key))
		return -1;
	PoolObject *pool = self->pool;
	pyx_lock(pool);
	pmo_dict *d = set_of(self);
	int rc = -1;
	if (d) {
		int64_t ix = pyx_key_find(d, &k);
		rc = ix >= 0 ? 1 : ix == PMO_DICT_MISSING ? 0 : -1;
	}
	pyx_unlock(pool);
	pyx_key_clear(&k);
	return rc;
}

/* A set used as a key stands for the frozenset of its items, as in set. */
static PyObject *frozen_key(PyObject *key)
{
	if (!PyErr_ExceptionMatches(PyExc_TypeError))
		return NULL;
	if (PySet_Check(key)) {
		PyErr_Clear();
		return PyFrozenSet_New(key);
	}
	if (Py_IS_TYPE(key, &PersistentSet_Type)) {
		PyErr_Clear();
		return pyx_pset_as_frozenset(key);
	}
	return NULL;
}

static int Set_contains(SetObject *self, PyObject *key)
{
	int rc = set_has(self, key);
	if (rc < 0) {
		PyObject *fk = frozen_key(key);
		if (fk) {
			rc = set_has(self, fk);
			Py_DECREF(fk);
		}
	}
	return rc;
}

/* --- mutation ------------------------------------------------------------ */

/* Remove key: 0 removed, 1 missing (no exception), -1 error. */
static int remove_key(SetObject *self, PyObject *key)
{
	PoolObject *pool = self->pool;
	pyx_key k;
	if (pyx_proxy_check(self) || pyx_key_prepare(&k, pool, key)) {
		PyObject *fk = frozen_key(key);
		if (!fk)
			return -1;
		int rc = remove_key(self, fk);
		Py_DECREF(fk);
		return rc;
	}
	if (k.flags & KEYF_NOMATCH) {
		pyx_key_clear(&k);
		return 1;
	}
	if (pyx_op_begin(pool)) {
		pyx_key_clear(&k);
		return -1;
	}
	pmo_dict *d = set_of(self);
	int failed = !d, missing = 0;
	if (!failed) {
		int64_t ix = pyx_key_find(d, &k);
		if (ix == PMO_DICT_ERROR)
			failed = 1;
		else if (ix == PMO_DICT_MISSING)
			missing = 1;
		else
			failed = pmo_dict_remove(pool->core, d, (uint64_t)ix, NULL, NULL) != 0;
	}
	pyx_key_clear(&k);
	if (pyx_op_end(pool, failed))
		return -1;
	return missing;
}

static PyObject *Set_add(SetObject *self, PyObject *key)
{
	PoolObject *pool = self->pool;
	pyx_key k;
	if (pyx_proxy_check(self) || pyx_key_prepare_store(&k, pool, key))
		return NULL;
	if (pyx_op_begin(pool)) {
		pyx_key_clear(&k);
		return NULL;
	}
	pmo_dict *d = set_of(self);
	/* A new key that needs no allocation is published through the word
	 * log, not a transaction (pmo_tx_publish). */
	pmo_tx_single_store();
	int failed = !d || pyx_key_store(d, &k, NULL) != 0;
	pyx_key_clear(&k);
	if (pyx_op_end(pool, failed))
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *Set_remove(SetObject *self, PyObject *key)
{
	int rc = remove_key(self, key);
	if (rc < 0)
		return NULL;
	if (rc == 1) {
		PyObject *t = PyTuple_Pack(1, key);
		if (t) {
			PyErr_SetObject(PyExc_KeyError, t);
			Py_DECREF(t);
		}
		return NULL;
	}
	Py_RETURN_NONE;
}

static PyObject *Set_discard(SetObject *self, PyObject *key)
{
	if (remove_key(self, key) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *Set_pop(SetObject *self, PyObject *unused)
{
	PoolObject *pool = self->pool;
	if (pyx_proxy_check(self) || pyx_op_begin(pool))
		return NULL;
	pmo_dict *d = set_of(self);
	int failed = !d, empty = 0;
	PyObject *k = NULL;
	if (!failed) {
		int64_t ix = pmo_dict_last(pool->core, d);
		pmo_slot ks;
		if (ix < 0)
			empty = 1;
		else
			failed = pmo_dict_remove(pool->core, d, (uint64_t)ix, &ks, NULL) != 0 ||
				 !(k = pyx_from_slot(pool, ks)) ||
				 pmo_slot_decref(pool->core, ks) != 0;
	}
	if (pyx_op_end(pool, failed)) {
		Py_XDECREF(k);
		return NULL;
	}
	if (empty) {
		PyErr_SetString(PyExc_KeyError, "pop from an empty set");
		return NULL;
	}
	return k;
}

/* Apply to self, in one op: optionally clear it, then add every item of
 * `add` and remove every item of `drop` (lists or tuples of Python values,
 * or NULL), and for `toggle` remove the present and add the absent. */
static int set_apply(SetObject *self, int clear, PyObject *add, PyObject *drop, PyObject *toggle)
{
	PoolObject *pool = self->pool;
	if (pyx_proxy_check(self))
		return -1;
	Py_ssize_t na = add ? PySequence_Fast_GET_SIZE(add) : 0;
	Py_ssize_t nd = drop ? PySequence_Fast_GET_SIZE(drop) : 0;
	Py_ssize_t nt = toggle ? PySequence_Fast_GET_SIZE(toggle) : 0;
	pyx_key *ka = pyx_keys_prepare_store(pool, add ? PySequence_Fast_ITEMS(add) : NULL, na);
	pyx_key *kt =
		ka ? pyx_keys_prepare_store(pool, toggle ? PySequence_Fast_ITEMS(toggle) : NULL, nt)
		   : NULL;
	pyx_key *kd = kt ? PyMem_Malloc((size_t)(nd ? nd : 1) * sizeof *kd) : NULL;
	Py_ssize_t prepared = 0;
	int failed = !kd;
	if (kt && !kd)
		PyErr_NoMemory();
	for (; !failed && prepared < nd; prepared++)
		if (pyx_key_prepare(&kd[prepared], pool,
				    PySequence_Fast_GET_ITEM(drop, prepared)) != 0) {
			failed = 1;
			break;
		}
	if (!failed && pyx_op_begin(pool))
		failed = 2;
	if (!failed) {
		pmo_dict *d = set_of(self);
		int f = !d;
		if (!f && clear)
			f = pmo_dict_clear(pool->core, d) != 0;
		if (!f && na > 8)
			f = pmo_dict_reserve(pool->core, d, (size_t)na) != 0;
		for (Py_ssize_t i = 0; !f && i < na; i++)
			f = pyx_key_store(d, &ka[i], NULL) != 0;
		for (Py_ssize_t i = 0; !f && i < nd; i++) {
			if (kd[i].flags & KEYF_NOMATCH)
				continue;
			int64_t ix = pyx_key_find(d, &kd[i]);
			f = ix == PMO_DICT_ERROR ||
			    (ix >= 0 &&
			     pmo_dict_remove(pool->core, d, (uint64_t)ix, NULL, NULL) != 0);
		}
		for (Py_ssize_t i = 0; !f && i < nt; i++) {
			int64_t ix = pyx_key_find(d, &kt[i]);
			if (ix == PMO_DICT_ERROR)
				f = 1;
			else if (ix >= 0)
				f = pmo_dict_remove(pool->core, d, (uint64_t)ix, NULL, NULL) != 0;
			else
				f = pyx_key_store(d, &kt[i], NULL) != 0;
		}
		failed = pyx_op_end(pool, f) != 0;
	}
	pyx_keys_free(ka, na);
	pyx_keys_free(kt, nt);
	if (kd) {
		for (Py_ssize_t i = 0; i < prepared; i++)
			pyx_key_clear(&kd[i]);
		PyMem_Free(kd);
	}
	return failed ? -1 : 0;
}

/* A list or tuple of the items of an iterable (persistent sets included),
 * never trusting a __length_hint__ (pyx_iterate_all). */
static PyObject *list_of_items(PyObject *iterable)
{
	if (pyx_is_pset(iterable))
		return items_of((SetObject *)iterable);
	return pyx_iterate_all(iterable, NULL);
}

/* All items of several iterables, deduplicated by Python's set. */
static PyObject *union_list(PyObject *args)
{
	PyObject *acc = PySet_New(NULL);
	for (Py_ssize_t i = 0; acc && i < PyTuple_GET_SIZE(args); i++) {
		PyObject *items = items_or_self(PyTuple_GET_ITEM(args, i));
		PyObject *r = items ? PyObject_CallMethod(acc, "update", "(O)", items) : NULL;
		Py_XDECREF(items);
		if (!r)
			Py_CLEAR(acc);
		Py_XDECREF(r);
	}
	PyObject *l = acc ? PySequence_List(acc) : NULL;
	Py_XDECREF(acc);
	return l;
}

static PyObject *Set_update(SetObject *self, PyObject *args)
{
	/* Items in the order given (sets dedupe on their own). */
	PyObject *all = PyList_New(0);
	for (Py_ssize_t i = 0; all && i < PyTuple_GET_SIZE(args); i++) {
		PyObject *items = list_of_items(PyTuple_GET_ITEM(args, i));
		if (!items || PyList_SetSlice(all, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, items) != 0)
			Py_CLEAR(all);
		Py_XDECREF(items);
	}
	int rc = all ? set_apply(self, 0, all, NULL, NULL) : -1;
	Py_XDECREF(all);
	if (rc)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *Set_difference_update(SetObject *self, PyObject *args)
{
	PyObject *drop = union_list(args);
	int rc = drop ? set_apply(self, 0, NULL, drop, NULL) : -1;
	Py_XDECREF(drop);
	if (rc)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *Set_intersection_update(SetObject *self, PyObject *args)
{
	PyObject *keep = as_pyset(self);
	for (Py_ssize_t i = 0; keep && i < PyTuple_GET_SIZE(args); i++) {
		PyObject *items = items_or_self(PyTuple_GET_ITEM(args, i));
		PyObject *r = items ? PyObject_CallMethod(keep, "intersection_update", "(O)", items)
				    : NULL;
		Py_XDECREF(items);
		if (!r)
			Py_CLEAR(keep);
		Py_XDECREF(r);
	}
	PyObject *mine = keep ? items_of(self) : NULL;
	PyObject *drop = mine ? PyList_New(0) : NULL;
	for (Py_ssize_t i = 0; drop && i < PyList_GET_SIZE(mine); i++) {
		PyObject *x = PyList_GET_ITEM(mine, i);
		int in = PySet_Contains(keep, x);
		if (in < 0 || (in == 0 && PyList_Append(drop, x) != 0))
			Py_CLEAR(drop);
	}
	int rc = drop ? set_apply(self, 0, NULL, drop, NULL) : -1;
	Py_XDECREF(keep);
	Py_XDECREF(mine);
	Py_XDECREF(drop);
	if (rc)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *Set_symmetric_difference_update(SetObject *self, PyObject *other)
{
	PyObject *args = PyTuple_Pack(1, other);
	PyObject *toggle = args ? union_list(args) : NULL;
	Py_XDECREF(args);
	int rc = toggle ? set_apply(self, 0, NULL, NULL, toggle) : -1;
	Py_XDECREF(toggle);
	if (rc)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *Set_clear(SetObject *self, PyObject *unused)
{
	if (set_apply(self, 1, NULL, NULL, NULL))
		return NULL;
	Py_RETURN_NONE;
}

/* --- construction -------------------------------------------------------- */

/* A new persistent set of type code `code` in pool holding the items of
 * the Python iterable `items` (one op). */
static PyObject *new_set_from(PoolObject *pool, uint32_t code, PyObject *items)
{
	PyObject *list = items ? PySequence_List(items) : PyList_New(0);
	if (!list)
		return NULL;
	Py_ssize_t n = PyList_GET_SIZE(list);
	pyx_key *ks = pyx_keys_prepare_store(pool, PySequence_Fast_ITEMS(list), n);
	if (!ks || pyx_op_begin(pool)) {
		pyx_keys_free(ks, n);
		Py_DECREF(list);
		return NULL;
	}
	uint64_t off = pmo_dict_new(pool->core, code, (size_t)n);
	PyObject *o = off ? pyx_proxy_adopt(pool, type_of_code(code), off) : NULL;
	int failed = !o;
	pmo_dict *d = o ? set_of((SetObject *)o) : NULL;
	for (Py_ssize_t i = 0; !failed && i < n; i++)
		failed = !d || pyx_key_store(d, &ks[i], NULL) != 0;
	pyx_keys_free(ks, n);
	Py_DECREF(list);
	if (pyx_op_end(pool, failed)) {
		Py_XDECREF(o);
		return NULL;
	}
	return o;
}

static PyObject *Set_p_new_in(PyTypeObject *cls, PyObject *pool_o)
{
	PoolObject *pool = pyx_new_in_pool(pool_o);
	if (!pool || pyx_check_open(pool))
		return NULL;
	uint32_t code = cls == &PersistentSet_Type ? PMO_T_SET : PMO_T_PFROZENSET;
	PyObject *o = new_set_from(pool, code, NULL);
	if (o && code == PMO_T_PFROZENSET)
		((SetObject *)o)->unfilled = 1; /* for the __init__ of pool.new */
	return o;
}

static int Set_init(SetObject *self, PyObject *args, PyObject *kw)
{
	PyObject *iterable = NULL;
	const char *name = _PyType_Name(Py_TYPE(self));
	int frozen = code_of(self) == PMO_T_PFROZENSET;
	/* Only the __init__ of pool.new fills a frozenset; any other call is
	 * ignored, arguments and all, as frozenset.__init__ ignores them. */
	if (frozen && !self->unfilled)
		return 0;
	if (!_PyArg_NoKeywords(name, kw) || !PyArg_UnpackTuple(args, name, 0, 1, &iterable))
		return -1;
	pmo_dict *d = set_of(self);
	if (!d)
		return -1;
	if (frozen) {
		self->unfilled = 0;
		if (!iterable)
			return 0;
		/* ... and only while nothing can have seen the content: a
		 * persistent table may hold it, hashed by that content. */
		if (d->used != 0 || d->head.refcnt != 0) {
			PyErr_SetString(
				PyExc_TypeError,
				"PersistentFrozenSet is immutable: fill it when creating it, "
				"with pool.new(PersistentFrozenSet, iterable)");
			return -1;
		}
	}
	/* set.__init__ empties the set, then iterates the argument: the set
	 * itself is then empty, and an iterator over it finds it changed. */
	if (!frozen && iterable == (PyObject *)self)
		iterable = NULL;
	if (!frozen && iterable && pyx_table_iter_owner(iterable) == self && d->used != 0) {
		PyErr_SetString(PyExc_RuntimeError, "Set changed size during iteration");
		return -1;
	}
	PyObject *items = iterable ? list_of_items(iterable) : PyList_New(0);
	if (!items)
		return -1;
	/* set.__init__ empties the set first. */
	int rc = set_apply(self, !frozen, items, NULL, NULL);
	Py_DECREF(items);
	return rc;
}

static PyObject *Set_copy(SetObject *self, PyObject *unused)
{
	uint32_t code = code_of(self);
	if (code == PMO_T_PFROZENSET) {
		if (pyx_proxy_check(self))
			return NULL;
		return Py_NewRef(self); /* immutable: as frozenset.copy() */
	}
	PoolObject *pool = self->pool;
	if (pyx_proxy_check(self) || pyx_op_begin(pool))
		return NULL;
	pmo_dict *d = set_of(self);
	uint64_t off = d ? pmo_dict_copy(pool->core, d, code) : 0;
	return pyx_op_end_made(pool, off ? pyx_proxy_adopt(pool, type_of_code(code), off) : NULL);
}

/* --- algebra ------------------------------------------------------------- */

/* result = set(self); result.<method>(each of args); as a new persistent
 * set of self's type. */
static PyObject *algebra(SetObject *self, PyObject *args, const char *method)
{
	PyObject *acc = as_pyset(self);
	for (Py_ssize_t i = 0; acc && i < PyTuple_GET_SIZE(args); i++) {
		PyObject *items = items_or_self(PyTuple_GET_ITEM(args, i));
		PyObject *r = items ? PyObject_CallMethod(acc, method, "(O)", items) : NULL;
		Py_XDECREF(items);
		if (!r)
			Py_CLEAR(acc);
		Py_XDECREF(r);
	}
	PyObject *out = acc ? new_set_from(self->pool, code_of(self), acc) : NULL;
	Py_XDECREF(acc);
	return out;
}

static PyObject *Set_union(SetObject *self, PyObject *args)
{
	return algebra(self, args, "update");
}

static PyObject *Set_intersection(SetObject *self, PyObject *args)
{
	return algebra(self, args, "intersection_update");
}

static PyObject *Set_difference(SetObject *self, PyObject *args)
{
	return algebra(self, args, "difference_update");
}

static PyObject *Set_symmetric_difference(SetObject *self, PyObject *other)
{
	PyObject *args = PyTuple_Pack(1, other);
	PyObject *r = args ? algebra(self, args, "symmetric_difference_update") : NULL;
	Py_XDECREF(args);
	return r;
}

/* frozenset(self).<method>(other) for the predicates. */
static PyObject *predicate(SetObject *self, PyObject *other, const char *method)
{
	PyObject *mine = pyx_pset_as_frozenset((PyObject *)self);
	PyObject *items = mine ? items_or_self(other) : NULL;
	PyObject *r = items ? PyObject_CallMethod(mine, method, "(O)", items) : NULL;
	Py_XDECREF(mine);
	Py_XDECREF(items);
	return r;
}

static PyObject *Set_issubset(SetObject *self, PyObject *other)
{
	return predicate(self, other, "issubset");
}

static PyObject *Set_issuperset(SetObject *self, PyObject *other)
{
	return predicate(self, other, "issuperset");
}

static PyObject *Set_isdisjoint(SetObject *self, PyObject *other)
{
	return predicate(self, other, "isdisjoint");
}

/* The binary operators: compute on Python sets; the result is a new
 * persistent set of the left operand's kind (set or frozenset), in the
 * pool of the persistent operand (the left one if both are). */
static PyObject *binop(PyObject *a, PyObject *b, binaryfunc op)
{
	SetObject *owner = (SetObject *)(pyx_is_pset(a) ? a : b);
	PyObject *x = set_operand(a);
	PyObject *y = x ? set_operand(b) : NULL;
	if (!y) {
		Py_XDECREF(x);
		if (PyErr_Occurred())
			return NULL;
		Py_RETURN_NOTIMPLEMENTED;
	}
	PyObject *r = op(x, y);
	Py_DECREF(x);
	Py_DECREF(y);
	if (!r)
		return NULL;
	/* The kind of the left operand, as set | frozenset is a set and
	 * frozenset | set a frozenset; in the persistent operand's pool. */
	uint32_t code = pyx_is_pset(a)         ? code_of((SetObject *)a)
			: PyFrozenSet_Check(a) ? PMO_T_PFROZENSET
					       : PMO_T_SET;
	PyObject *out = new_set_from(owner->pool, code, r);
	Py_DECREF(r);
	return out;
}

static PyObject *Set_or(PyObject *a, PyObject *b)
{
	return binop(a, b, PyNumber_Or);
}

static PyObject *Set_and(PyObject *a, PyObject *b)
{
	return binop(a, b, PyNumber_And);
}

static PyObject *Set_sub(PyObject *a, PyObject *b)
{
	return binop(a, b, PyNumber_Subtract);
}

static PyObject *Set_xor(PyObject *a, PyObject *b)
{
	return binop(a, b, PyNumber_Xor);
}

static int is_setlike(PyObject *o)
{
	return PyAnySet_Check(o) || pyx_is_pset(o);
}

static PyObject *inplace(SetObject *self, PyObject *other,
			 PyObject *(*method)(SetObject *, PyObject *), int wrap)
{
	if (!is_setlike(other))
		Py_RETURN_NOTIMPLEMENTED;
	PyObject *arg = wrap ? PyTuple_Pack(1, other) : Py_NewRef(other);
	PyObject *r = arg ? method(self, arg) : NULL;
	Py_XDECREF(arg);
	if (!r)
		return NULL;
	Py_DECREF(r);
	return Py_NewRef(self);
}

static PyObject *Set_ior(SetObject *self, PyObject *other)
{
	return inplace(self, other, Set_update, 1);
}

static PyObject *Set_iand(SetObject *self, PyObject *other)
{
	return inplace(self, other, Set_intersection_update, 1);
}

static PyObject *Set_isub(SetObject *self, PyObject *other)
{
	return inplace(self, other, Set_difference_update, 1);
}

static PyObject *Set_ixor(SetObject *self, PyObject *other)
{
	return inplace(self, other, Set_symmetric_difference_update, 0);
}

static PyObject *Set_richcompare(SetObject *self, PyObject *other, int op)
{
	PyObject *y = set_operand(other);
	if (!y) {
		if (PyErr_Occurred())
			return NULL;
		Py_RETURN_NOTIMPLEMENTED;
	}
	PyObject *x = pyx_pset_as_frozenset((PyObject *)self);
	PyObject *r = x ? PyObject_RichCompare(x, y, op) : NULL;
	Py_XDECREF(x);
	Py_DECREF(y);
	return r;
}

/* hash(frozenset(self)), from Python's hashes of the items. */
static Py_hash_t FrozenSet_hash(SetObject *self)
{
	PyObject *items = items_of(self);
	if (!items)
		return -1;
	Py_ssize_t n = PyList_GET_SIZE(items);
	int64_t *hs = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *hs);
	Py_hash_t r = -1;
	if (!hs) {
		PyErr_NoMemory();
	} else {
		Py_ssize_t i;
		for (i = 0; i < n; i++)
			if ((hs[i] = PyObject_Hash(PyList_GET_ITEM(items, i))) == -1)
				break;
		if (i == n)
			r = (Py_hash_t)pmo_hash_frozenset(hs, (size_t)n);
		PyMem_Free(hs);
	}
	Py_DECREF(items);
	return r;
}

static PyObject *Set_repr(SetObject *self)
{
	if (pyx_proxy_check(self))
		return NULL;
	int frozen = code_of(self) == PMO_T_PFROZENSET;
	int rec = Py_ReprEnter((PyObject *)self);
	if (rec != 0)
		return rec > 0 ? PyUnicode_FromString(frozen ? "frozenset(...)" : "set(...)")
			       : NULL;
	PyObject *r = NULL, *items = items_of(self);
	if (items && PyList_GET_SIZE(items) == 0) {
		r = PyUnicode_FromString(frozen ? "frozenset()" : "set()");
	} else if (items) {
		/* "[a, b]" -> "{a, b}" */
		PyObject *lr = PyObject_Repr(items);
		PyObject *body =
			lr ? PyUnicode_Substring(lr, 1, PyUnicode_GET_LENGTH(lr) - 1) : NULL;
		if (body)
			r = frozen ? PyUnicode_FromFormat("frozenset({%U})", body)
				   : PyUnicode_FromFormat("{%U}", body);
		Py_XDECREF(lr);
		Py_XDECREF(body);
	}
	Py_XDECREF(items);
	Py_ReprLeave((PyObject *)self);
	return r;
}

static PyObject *Set_iter(SetObject *self)
{
	return pyx_table_iter(self, code_of(self), ITER_KEYS, 0);
}

/* --- types --------------------------------------------------------------- */

/* set's __contains__ is a method of its own too (errors name it). */
static PyObject *Set_contains_meth(SetObject *self, PyObject *key)
{
	int rc = Set_contains(self, key);
	return rc < 0 ? NULL : PyBool_FromLong(rc);
}

/* clang-format off: a table of entries, one per method, as the others */
#define COMMON_METHODS                                                                      \
	{"_p_new_in", (PyCFunction)Set_p_new_in, METH_O | METH_CLASS,                       \
	 "Create an empty instance in the given pool (used by pool.new)."},                 \
		{"__contains__", (PyCFunction)Set_contains_meth, METH_O | METH_COEXIST,     \
		 "x.__contains__(y) <==> y in x."},                                         \
		{"copy", (PyCFunction)Set_copy, METH_NOARGS,                                \
		 "Return a shallow copy (same pool)."},                                     \
		{"union", (PyCFunction)Set_union, METH_VARARGS,                             \
		 "Return the union of sets as a new set (same persistent type and pool)."}, \
		{"intersection", (PyCFunction)Set_intersection, METH_VARARGS,               \
		 "Return the intersection of sets as a new set."},                          \
		{"difference", (PyCFunction)Set_difference, METH_VARARGS,                   \
		 "Return the difference of two or more sets as a new set."},                \
		{"symmetric_difference", (PyCFunction)Set_symmetric_difference, METH_O,     \
		 "Return the symmetric difference of two sets as a new set."},              \
		{"issubset", (PyCFunction)Set_issubset, METH_O,                             \
		 "Report whether another set contains this set."},                          \
		{"issuperset", (PyCFunction)Set_issuperset, METH_O,                         \
		 "Report whether this set contains another set."},                          \
		{"isdisjoint", (PyCFunction)Set_isdisjoint, METH_O,                         \
		 "Return True if two sets have a null intersection."},                      \
	{                                                                                   \
		"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, NULL             \
	}
/* clang-format on */

static PyMethodDef Set_methods[] = {
	COMMON_METHODS,
	{"add", (PyCFunction)Set_add, METH_O, "Add an element to a set."},
	{"remove", (PyCFunction)Set_remove, METH_O,
	 "Remove an element from a set; it must be a member (else KeyError)."},
	{"discard", (PyCFunction)Set_discard, METH_O,
	 "Remove an element from a set if it is a member."},
	{"pop", (PyCFunction)Set_pop, METH_NOARGS, "Remove and return an arbitrary set element."},
	{"clear", (PyCFunction)Set_clear, METH_NOARGS, "Remove all elements from this set."},
	{"update", (PyCFunction)Set_update, METH_VARARGS,
	 "Update a set with the union of itself and others."},
	{"difference_update", (PyCFunction)Set_difference_update, METH_VARARGS,
	 "Remove all elements of other sets from this set."},
	{"intersection_update", (PyCFunction)Set_intersection_update, METH_VARARGS,
	 "Update a set with the intersection of itself and others."},
	{"symmetric_difference_update", (PyCFunction)Set_symmetric_difference_update, METH_O,
	 "Update a set with the symmetric difference of itself and another."},
	{NULL}};

static PyMethodDef FrozenSet_methods[] = {COMMON_METHODS, {NULL}};

static PySequenceMethods Set_as_sequence = {
	.sq_length = (lenfunc)Set_len,
	.sq_contains = (objobjproc)Set_contains,
};

static PyNumberMethods Set_as_number = {
	.nb_subtract = Set_sub,
	.nb_and = Set_and,
	.nb_xor = Set_xor,
	.nb_or = Set_or,
	.nb_inplace_subtract = (binaryfunc)Set_isub,
	.nb_inplace_and = (binaryfunc)Set_iand,
	.nb_inplace_xor = (binaryfunc)Set_ixor,
	.nb_inplace_or = (binaryfunc)Set_ior,
};

static PyNumberMethods FrozenSet_as_number = {
	.nb_subtract = Set_sub,
	.nb_and = Set_and,
	.nb_xor = Set_xor,
	.nb_or = Set_or,
};

PyTypeObject PersistentSet_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentSet",
	.tp_basicsize = sizeof(SetObject),
	.tp_flags = Py_TPFLAGS_DEFAULT, /* GC inherited */
	.tp_doc = "PersistentSet([iterable]): a set kept in a pool.\n\n"
		  "Create with pool.new(PersistentSet, iterable).",
	.tp_base = &Proxy_Type,
	.tp_init = (initproc)Set_init,
	.tp_repr = (reprfunc)Set_repr,
	.tp_hash = PyObject_HashNotImplemented,
	.tp_richcompare = (richcmpfunc)Set_richcompare,
	.tp_iter = (getiterfunc)Set_iter,
	.tp_methods = Set_methods,
	.tp_as_number = &Set_as_number,
	.tp_as_sequence = &Set_as_sequence,
};

PyTypeObject PersistentFrozenSet_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentFrozenSet",
	.tp_basicsize = sizeof(SetObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "PersistentFrozenSet([iterable]): an immutable, hashable set kept in a pool.\n\n"
		  "Create with pool.new(PersistentFrozenSet, iterable); it cannot change after.",
	.tp_base = &Proxy_Type,
	.tp_init = (initproc)Set_init,
	.tp_repr = (reprfunc)Set_repr,
	.tp_hash = (hashfunc)FrozenSet_hash,
	.tp_richcompare = (richcmpfunc)Set_richcompare,
	.tp_iter = (getiterfunc)Set_iter,
	.tp_methods = FrozenSet_methods,
	.tp_as_number = &FrozenSet_as_number,
	.tp_as_sequence = &Set_as_sequence,
};

int pyx_set_ready(PyObject *module)
{
	if (PyType_Ready(&PersistentSet_Type) < 0 || PyType_Ready(&PersistentFrozenSet_Type) < 0)
		return -1;
	if (pyx_register_abc("MutableSet", &PersistentSet_Type) < 0 ||
	    pyx_register_abc("Set", &PersistentFrozenSet_Type) < 0 ||
	    pyx_add_methods(&PersistentSet_Type, pyx_plain_methods) < 0 ||
	    pyx_add_methods(&PersistentFrozenSet_Type, pyx_plain_methods) < 0)
		return -1;
	pyx_register_proxy_type(PMO_T_SET, &PersistentSet_Type);
	pyx_register_proxy_type(PMO_T_PFROZENSET, &PersistentFrozenSet_Type);
	if (PyModule_AddObjectRef(module, "PersistentSet", (PyObject *)&PersistentSet_Type) < 0)
		return -1;
	return PyModule_AddObjectRef(module, "PersistentFrozenSet",
				     (PyObject *)&PersistentFrozenSet_Type);
}
