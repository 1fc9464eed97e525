/*
 * PersistentDict: the dict API over src/dict.c.
 *
 * Keys hash and compare as keys.c says (stable hashes stored in the table,
 * dict's equality, so 1, 1.0 and True are one key).  Reads hold the pool
 * lock and convert slots on demand; nothing is cached in the proxy.  Every
 * mutation is one op (pyx_op_begin/pyx_op_end): its own transaction, or a
 * part of the caller's.  Keys are hashed and keys and values checked for
 * storability before the op opens, so a TypeError never aborts the
 * caller's transaction; a missing key ends the op normally and raises
 * KeyError after it, for the same reason.  The one way user code runs
 * inside an op is a key's __eq__ on a path the fast comparisons cannot
 * decide (pickled keys, persistent objects with their own __eq__): an
 * exception there aborts the op, and so the enclosing transaction.
 *
 * Operations that build a dict (copy, fromkeys, |) return a new
 * PersistentDict in the same pool.  Iteration and the views (keys, values,
 * items) are in pdictview.c.
 */
#include "keys.h"

#include <errno.h>

extern PyTypeObject PersistentDict_Type;

static inline int is_pdict(PyObject *o)
{
	return Py_IS_TYPE(o, &PersistentDict_Type);
}

static inline pmo_dict *dict_of(DictObject *self)
{
	return pyx_table_of(self, PMO_T_DICT);
}

/* Take the pool lock for a read; NULL (unlocked) with an exception.  (The
 * lock outlives closing, so it is taken first and the pool checked after.) */
static pmo_dict *read_begin(DictObject *self)
{
	pyx_lock(self->pool);
	pmo_dict *d = dict_of(self);
	if (!d)
		pyx_unlock(self->pool);
	return d;
}

static void set_key_error(PyObject *key)
{
	/* Wrapped in a tuple so that a tuple key is not taken as args. */
	PyObject *t = PyTuple_Pack(1, key);
	if (t) {
		PyErr_SetObject(PyExc_KeyError, t);
		Py_DECREF(t);
	}
}

Py_ssize_t pyx_dict_len(DictObject *self)
{
	pmo_dict *d = dict_of(self);
	return d ? (Py_ssize_t)d->used : -1;
}

/* --- lookups ------------------------------------------------------------- */

/* The value of key: a new reference, or NULL with *found = 0 and no
 * exception when the key is missing, or NULL with an exception. */
PyObject *pyx_dict_lookup(DictObject *self, PyObject *key, int *found)
{
	pyx_key k;
	*found = 0;
	/* prepare refuses a closed pool; read_begin a rolled-back proxy */
	if (pyx_key_prepare(&k, self->pool, key))
		return NULL;
	PyObject *v = NULL;
	pmo_dict *d = read_begin(self);
	if (d) {
		int64_t ix = pyx_key_find(d, &k);
		if (ix >= 0) {
			*found = 1;
			v = pyx_from_slot(
				self->pool,
				pmo_dict_entry_at(self->pool->core, d, (uint64_t)ix)->value);
		}
		pyx_unlock(self->pool);
	}
	pyx_key_clear(&k);
	return v;
}

static PyObject *Dict_subscript(DictObject *self, PyObject *key)
{
	int found;
	PyObject *v = pyx_dict_lookup(self, key, &found);
	if (!v && !found && !PyErr_Occurred())
		set_key_error(key);
	return v;
}

int pyx_dict_contains(DictObject *self, PyObject *key)
{
	pyx_key k;
	if (pyx_key_prepare(&k, self->pool, key))
		return -1;
	int rc = -1;
	pmo_dict *d = read_begin(self);
	if (d) {
		int64_t ix = pyx_key_find(d, &k);
		rc = ix >= 0 ? 1 : ix == PMO_DICT_MISSING ? 0 : -1;
		pyx_unlock(self->pool);
	}
	pyx_key_clear(&k);
	return rc;
}

static PyObject *Dict_get(DictObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	if (!_PyArg_CheckPositional("get", nargs, 1, 2))
		return NULL;
	int found;
	PyObject *v = pyx_dict_lookup(self, args[0], &found);
	if (v || found || PyErr_Occurred())
		return v;
	return Py_NewRef(nargs > 1 ? args[1] : Py_None);
}

/* --- mutation ------------------------------------------------------------ */

static int set_item(DictObject *self, PyObject *key, PyObject *value)
{
	PoolObject *pool = self->pool;
	pyx_key k;
	if (pyx_proxy_check(self) || pyx_key_prepare_store(&k, pool, key))
		return -1;
	if (pyx_check_storable(pool, value) || pyx_op_begin(pool)) {
		pyx_key_clear(&k);
		return -1;
	}
	pmo_dict *d = dict_of(self);
	/* d[k] = v is one store: if k is there, and v and the old value are
	 * inline, it may go without a log; if k is new and needs no
	 * allocation, it is published through the word log (pmo_tx_publish).
	 * (Never in update(): an earlier pair stored without the log would
	 * survive a later pair's failure.) */
	pmo_tx_single_store();
	int failed = !d || pyx_key_store(d, &k, value) != 0;
	pyx_key_clear(&k);
	return pyx_op_end(pool, failed);
}

/* Remove key.  With out, *out receives its value (new reference).
 * Returns 0 when removed, 1 when missing (no exception), -1 on error. */
static int remove_key(DictObject *self, PyObject *key, PyObject **out)
{
	PoolObject *pool = self->pool;
	pyx_key k;
	if (out)
		*out = NULL;
	if (pyx_proxy_check(self) || pyx_key_prepare(&k, pool, key))
		return -1;
	if (k.flags & KEYF_NOMATCH) {
		pyx_key_clear(&k);
		return 1;
	}
	if (pyx_op_begin(pool)) {
		pyx_key_clear(&k);
		return -1;
	}
	pmo_dict *d = dict_of(self);
	int failed = !d, missing = 0;
	if (!failed) {
		int64_t ix = pyx_key_find(d, &k);
		if (ix == PMO_DICT_ERROR) {
			failed = 1;
		} else if (ix == PMO_DICT_MISSING) {
			missing = 1;
		} else {
			/* Take the slots out first, then make the Python value
			 * (a proxy made now keeps the object alive), then drop. */
			pmo_slot ks, vs;
			pmo_pool *p = pool->core;
			failed = pmo_dict_remove(p, d, (uint64_t)ix, &ks, &vs) != 0;
			if (!failed && out)
				failed = !(*out = pyx_from_slot(pool, vs));
			if (!failed)
				failed = pmo_slot_decref(p, ks) != 0 || pmo_slot_decref(p, vs) != 0;
		}
	}
	pyx_key_clear(&k);
	if (pyx_op_end(pool, failed)) {
		if (out)
			Py_CLEAR(*out);
		return -1;
	}
	return missing;
}

static int Dict_ass_subscript(DictObject *self, PyObject *key, PyObject *value)
{
	if (value)
		return set_item(self, key, value);
	int rc = remove_key(self, key, NULL);
	if (rc == 1) {
		set_key_error(key);
		return -1;
	}
	return rc;
}

static PyObject *Dict_pop(DictObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	if (!_PyArg_CheckPositional("pop", nargs, 1, 2))
		return NULL;
	PyObject *v;
	int rc = remove_key(self, args[0], &v);
	if (rc < 0)
		return NULL;
	if (rc == 0)
		return v;
	if (nargs > 1)
		return Py_NewRef(args[1]);
	set_key_error(args[0]);
	return NULL;
}

static PyObject *Dict_popitem(DictObject *self, PyObject *unused)
{
	PoolObject *pool = self->pool;
	if (pyx_proxy_check(self) || pyx_op_begin(pool))
		return NULL;
	pmo_dict *d = dict_of(self);
	int failed = !d, empty = 0;
	PyObject *k = NULL, *v = NULL;
	if (!failed) {
		int64_t ix = pmo_dict_last(pool->core, d);
		if (ix < 0) {
			empty = 1;
		} else {
			pmo_slot ks, vs;
			pmo_pool *p = pool->core;
			failed = pmo_dict_remove(p, d, (uint64_t)ix, &ks, &vs) != 0 ||
				 !(k = pyx_from_slot(pool, ks)) || !(v = pyx_from_slot(pool, vs)) ||
				 pmo_slot_decref(p, ks) != 0 || pmo_slot_decref(p, vs) != 0;
		}
	}
	if (pyx_op_end(pool, failed)) {
		Py_XDECREF(k);
		Py_XDECREF(v);
		return NULL;
	}
	if (empty) {
		PyErr_SetString(PyExc_KeyError, "popitem(): dictionary is empty");
		return NULL;
	}
	PyObject *r = PyTuple_Pack(2, k, v);
	Py_DECREF(k);
	Py_DECREF(v);
	return r;
}

static PyObject *Dict_setdefault(DictObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	if (!_PyArg_CheckPositional("setdefault", nargs, 1, 2))
		return NULL;
	PyObject *key = args[0], *dflt = nargs > 1 ? args[1] : Py_None;
	PoolObject *pool = self->pool;
	pyx_key k;
	if (pyx_proxy_check(self) || pyx_key_prepare_store(&k, pool, key))
		return NULL;
	if (pyx_check_storable(pool, dflt) || pyx_op_begin(pool)) {
		pyx_key_clear(&k);
		return NULL;
	}
	pmo_dict *d = dict_of(self);
	PyObject *v = NULL;
	int failed = !d;
	if (!failed) {
		int64_t ix = pyx_key_find(d, &k);
		if (ix >= 0)
			failed = !(v = pyx_from_slot(
					   pool,
					   pmo_dict_entry_at(pool->core, d, (uint64_t)ix)->value));
		else if (ix == PMO_DICT_MISSING)
			failed = pyx_key_store(d, &k, dflt) != 0 || !(v = Py_NewRef(dflt));
		else
			failed = 1;
	}
	pyx_key_clear(&k);
	if (pyx_op_end(pool, failed)) {
		Py_XDECREF(v);
		return NULL;
	}
	return v;
}

static PyObject *Dict_clear(DictObject *self, PyObject *unused)
{
	PoolObject *pool = self->pool;
	if (pyx_proxy_check(self) || pyx_op_begin(pool))
		return NULL;
	pmo_dict *d = dict_of(self);
	int failed = !d || pmo_dict_clear(pool->core, d) != 0;
	if (pyx_op_end(pool, failed))
		return NULL;
	Py_RETURN_NONE;
}

/* --- bulk: update, construction ------------------------------------------ */

/* Items of a PersistentDict as a list of (key, value) tuples (new ref). */
static PyObject *items_list(DictObject *self)
{
	pmo_dict *d = read_begin(self);
	if (!d)
		return NULL;
	PoolObject *pool = self->pool;
	PyObject *out = PyList_New(0);
	for (uint64_t i = 0; out && d->size && i < d->nentries; i++) {
		pmo_dict_entry *e = pmo_dict_entry_at(pool->core, d, i);
		if (!pmo_dict_entry_live(e))
			continue;
		PyObject *k, *v;
		if (pyx_load_entry(self, PMO_T_DICT, i, &k, &v) != 0) {
			Py_CLEAR(out);
			break;
		}
		PyObject *t = PyTuple_Pack(2, k, v);
		Py_XDECREF(k);
		Py_XDECREF(v);
		if (!t || PyList_Append(out, t) != 0)
			Py_CLEAR(out);
		Py_XDECREF(t);
		/* Loading may run code (unpickling) that changes the dict. */
		if (out && !(d = dict_of(self)))
			Py_CLEAR(out);
	}
	pyx_unlock(pool);
	return out;
}

/* Append the tuple (k, v) to the list pairs. */
static int append_pair(PyObject *pairs, PyObject *k, PyObject *v)
{
	PyObject *t = PyTuple_Pack(2, k, v);
	int rc = t ? PyList_Append(pairs, t) : -1;
	Py_XDECREF(t);
	return rc;
}

/* Append the (key, value) pairs of `arg` (anything dict.update takes) to
 * the list `pairs`.  Runs all the user code (iteration, __getitem__) before
 * any transaction opens. */
static int collect_pairs(PyObject *arg, PyObject *pairs)
{
	/* A dict's own storage only where dict.update reads it: a dict, or a
	 * subclass that keeps dict's __iter__ (CPython's dict_merge rule); a
	 * subclass with its own __iter__ goes through keys() and [] below. */
	if (PyDict_CheckExact(arg) ||
	    (PyDict_Check(arg) && Py_TYPE(arg)->tp_iter == PyDict_Type.tp_iter)) {
		Py_ssize_t pos = 0;
		PyObject *k, *v;
		while (PyDict_Next(arg, &pos, &k, &v))
			if (append_pair(pairs, k, v) != 0)
				return -1;
		return 0;
	}
	if (is_pdict(arg)) {
		PyObject *items = items_list((DictObject *)arg);
		if (!items)
			return -1;
		int rc = PyList_SetSlice(pairs, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, items);
		Py_DECREF(items);
		return rc;
	}
	static PyObject *keys_name;
	if (!keys_name && !(keys_name = PyUnicode_InternFromString("keys")))
		return -1;
	PyObject *keys_attr;
#if PY_VERSION_HEX >= 0x030d0000
	if (PyObject_GetOptionalAttr(arg, keys_name, &keys_attr) < 0)
#else
	if (_PyObject_LookupAttr(arg, keys_name, &keys_attr) < 0)
#endif
		return -1;
	if (keys_attr) {
		PyObject *keys = PyObject_CallNoArgs(keys_attr);
		Py_DECREF(keys_attr);
		PyObject *it = keys ? PyObject_GetIter(keys) : NULL;
		Py_XDECREF(keys);
		if (!it)
			return -1;
		PyObject *k;
		while ((k = PyIter_Next(it))) {
			PyObject *v = PyObject_GetItem(arg, k);
			int rc = v ? append_pair(pairs, k, v) : -1;
			Py_DECREF(k);
			Py_XDECREF(v);
			if (rc != 0) {
				Py_DECREF(it);
				return -1;
			}
		}
		Py_DECREF(it);
		return PyErr_Occurred() ? -1 : 0;
	}
	PyObject *it = PyObject_GetIter(arg);
	if (!it)
		return -1;
	PyObject *item;
	for (Py_ssize_t i = 0; (item = PyIter_Next(it)); i++) {
		PyObject *seq = PySequence_Fast(item, "");
		Py_DECREF(item);
		if (!seq) {
			if (PyErr_ExceptionMatches(PyExc_TypeError)) {
				PyErr_Clear();
				PyErr_Format(PyExc_TypeError,
					     "cannot convert dictionary update sequence element "
					     "#%zd to a sequence",
					     i);
			}
			Py_DECREF(it);
			return -1;
		}
		Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
		if (n != 2) {
			PyErr_Format(PyExc_ValueError,
				     "dictionary update sequence element #%zd has length %zd; 2 is "
				     "required",
				     i, n);
			Py_DECREF(seq);
			Py_DECREF(it);
			return -1;
		}
		int rc = append_pair(pairs, PySequence_Fast_GET_ITEM(seq, 0),
				     PySequence_Fast_GET_ITEM(seq, 1));
		Py_DECREF(seq);
		if (rc != 0) {
			Py_DECREF(it);
			return -1;
		}
	}
	Py_DECREF(it);
	return PyErr_Occurred() ? -1 : 0;
}

/* Store every (key, value) of the list `pairs` in self, in one op.  With
 * made != NULL the op first makes a new dict in pool and stores into it
 * instead (*made receives its proxy). */
static int store_pairs(DictObject *self, PoolObject *pool, PyObject *pairs, PyObject **made)
{
	Py_ssize_t n = PyList_GET_SIZE(pairs);
	PyObject **keys = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *keys);
	if (!keys) {
		PyErr_NoMemory();
		return -1;
	}
	for (Py_ssize_t i = 0; i < n; i++)
		keys[i] = PyTuple_GET_ITEM(PyList_GET_ITEM(pairs, i), 0);
	pyx_key *ks = pyx_keys_prepare_store(pool, keys, n);
	PyMem_Free(keys);
	if (!ks)
		return -1;
	for (Py_ssize_t i = 0; i < n; i++)
		if (pyx_check_storable(pool, PyTuple_GET_ITEM(PyList_GET_ITEM(pairs, i), 1))) {
			pyx_keys_free(ks, n);
			return -1;
		}
	if (pyx_op_begin(pool)) {
		pyx_keys_free(ks, n);
		return -1;
	}
	int failed = 0;
	if (made)
		*made = NULL;
	if (made) {
		uint64_t off = pmo_dict_new(pool->core, PMO_T_DICT, (size_t)n);
		failed = !off || !(*made = pyx_proxy_adopt(pool, &PersistentDict_Type, off));
		self = failed ? NULL : (DictObject *)*made;
	}
	pmo_dict *d = failed ? NULL : dict_of(self);
	failed = !d;
	if (!failed && n > 8)
		failed = pmo_dict_reserve(pool->core, d, (size_t)n) != 0;
	for (Py_ssize_t i = 0; !failed && i < n; i++)
		failed = pyx_key_store(d, &ks[i], PyTuple_GET_ITEM(PyList_GET_ITEM(pairs, i), 1)) !=
			 0;
	pyx_keys_free(ks, n);
	if (pyx_op_end(pool, failed)) {
		if (made)
			Py_CLEAR(*made);
		return -1;
	}
	return 0;
}

/* dict.update(arg, **kw) semantics. */
static int dict_update(DictObject *self, PyObject *arg, PyObject *kw)
{
	if (pyx_proxy_check(self))
		return -1;
	PyObject *pairs = PyList_New(0);
	if (!pairs)
		return -1;
	int rc = (arg && collect_pairs(arg, pairs)) || (kw && collect_pairs(kw, pairs)) ? -1 : 0;
	if (rc == 0 && PyList_GET_SIZE(pairs) > 0)
		rc = store_pairs(self, self->pool, pairs, NULL);
	Py_DECREF(pairs);
	return rc;
}

static PyObject *Dict_update(DictObject *self, PyObject *args, PyObject *kw)
{
	PyObject *arg = NULL;
	if (!PyArg_UnpackTuple(args, "update", 0, 1, &arg) || dict_update(self, arg, kw))
		return NULL;
	Py_RETURN_NONE;
}

static int Dict_init(DictObject *self, PyObject *args, PyObject *kw)
{
	PyObject *arg = NULL;
	if (!PyArg_UnpackTuple(args, "PersistentDict", 0, 1, &arg))
		return -1;
	return dict_update(self, arg, kw);
}

/* A new, empty PersistentDict in pool. */
static PyObject *new_dict(PoolObject *pool)
{
	if (pyx_op_begin(pool))
		return NULL;
	uint64_t off = pmo_dict_new(pool->core, PMO_T_DICT, 0);
	return pyx_op_end_made(pool, off ? pyx_proxy_adopt(pool, &PersistentDict_Type, off) : NULL);
}

static PyObject *Dict_p_new_in(PyTypeObject *cls, PyObject *pool_o)
{
	PoolObject *pool = pyx_new_in_pool(pool_o);
	if (!pool || pyx_check_open(pool))
		return NULL;
	return new_dict(pool);
}

/* A shallow copy: the new table shares the stored keys and values (their
 * counts go up), so nothing is converted. */
static PyObject *dict_copy(DictObject *self)
{
	PoolObject *pool = self->pool;
	if (pyx_proxy_check(self) || pyx_op_begin(pool))
		return NULL;
	pmo_dict *d = dict_of(self);
	uint64_t off = d ? pmo_dict_copy(pool->core, d, PMO_T_DICT) : 0;
	return pyx_op_end_made(pool, off ? pyx_proxy_adopt(pool, &PersistentDict_Type, off) : NULL);
}

static PyObject *Dict_copy(DictObject *self, PyObject *unused)
{
	return dict_copy(self);
}

/* fromkeys works on an instance (the new dict goes to its pool) and on the
 * class with pool=...: a descriptor hands the C function whichever it was
 * looked up on. */
static PyObject *fromkeys_impl(PyObject *bound, PyObject *args, PyObject *kw)
{
	/* As dict.fromkeys(iterable, value=None, /), plus the keyword pool=. */
	static char *kwlist[] = {"", "", "pool", NULL};
	PyObject *iterable, *value = Py_None, *pool = NULL;
	if (!_PyArg_CheckPositional("fromkeys", PyTuple_GET_SIZE(args), 1, 2) ||
	    !PyArg_ParseTupleAndKeywords(args, kw, "O|O$O:fromkeys", kwlist, &iterable, &value,
					 &pool))
		return NULL;
	if (PyType_Check(bound)) {
		if (!pool || !PyObject_TypeCheck(pool, &Pool_Type)) {
			PyErr_SetString(PyExc_TypeError,
					"PersistentDict.fromkeys() needs the pool: call it on a "
					"PersistentDict or pass pool=");
			return NULL;
		}
	} else {
		if (pyx_proxy_check((ProxyObject *)bound))
			return NULL;
		if (pool && pool != (PyObject *)((ProxyObject *)bound)->pool) {
			PyErr_SetString(PyExc_ValueError, "fromkeys(): pool= names another pool");
			return NULL;
		}
		pool = (PyObject *)((ProxyObject *)bound)->pool;
	}
	if (pyx_check_open((PoolObject *)pool))
		return NULL;
	PyObject *pairs = PyList_New(0);
	PyObject *it = pairs ? PyObject_GetIter(iterable) : NULL;
	PyObject *k;
	while (it && (k = PyIter_Next(it))) {
		PyObject *t = PyTuple_Pack(2, k, value);
		Py_DECREF(k);
		if (!t || PyList_Append(pairs, t) != 0)
			Py_CLEAR(it);
		Py_XDECREF(t);
	}
	PyObject *made = NULL;
	if (it && !PyErr_Occurred())
		store_pairs(NULL, (PoolObject *)pool, pairs, &made);
	Py_XDECREF(it);
	Py_XDECREF(pairs);
	return made;
}

static PyMethodDef fromkeys_def = {
	"fromkeys", (PyCFunction)(void (*)(void))fromkeys_impl, METH_VARARGS | METH_KEYWORDS,
	"fromkeys(iterable, value=None, /, *, pool=None): a new PersistentDict with keys from "
	"iterable and values set to value, in the pool of the dict it is called on (or pool=)."};

static PyObject *FromKeys_get(PyObject *descr, PyObject *obj, PyObject *type)
{
	return PyCFunction_New(&fromkeys_def, obj && obj != Py_None ? obj : type);
}

static PyTypeObject FromKeys_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj._FromKeysDescriptor",
	.tp_basicsize = sizeof(PyObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_descr_get = FromKeys_get,
};

/* --- operators ----------------------------------------------------------- */

static PyObject *Dict_or(PyObject *a, PyObject *b)
{
	PyObject *r;
	if (is_pdict(a)) {
		if (!PyDict_Check(b) && !is_pdict(b))
			Py_RETURN_NOTIMPLEMENTED;
		r = dict_copy((DictObject *)a);
		if (r && dict_update((DictObject *)r, b, NULL) != 0)
			Py_CLEAR(r);
		return r;
	}
	if (!PyDict_Check(a))
		Py_RETURN_NOTIMPLEMENTED;
	if (pyx_proxy_check((ProxyObject *)b))
		return NULL;
	r = new_dict(((DictObject *)b)->pool);
	if (r && (dict_update((DictObject *)r, a, NULL) != 0 ||
		  dict_update((DictObject *)r, b, NULL) != 0))
		Py_CLEAR(r);
	return r;
}

static PyObject *Dict_ior(DictObject *self, PyObject *other)
{
	if (dict_update(self, other, NULL) != 0)
		return NULL;
	return Py_NewRef(self);
}

/* Value of key in a dict or PersistentDict (new ref), NULL with *found = 0
 * when missing. */
static PyObject *value_in(PyObject *map, PyObject *key, int *found)
{
	if (is_pdict(map))
		return pyx_dict_lookup((DictObject *)map, key, found);
	PyObject *v = PyDict_GetItemWithError(map, key);
	*found = v != NULL;
	return Py_XNewRef(v);
}

static int dict_equal(DictObject *self, PyObject *other)
{
	PyObject *items = items_list(self);
	if (!items)
		return -1;
	Py_ssize_t n = PyObject_Size(other);
	int r = n < 0 ? -1 : n == PyList_GET_SIZE(items);
	for (Py_ssize_t i = 0; r == 1 && i < PyList_GET_SIZE(items); i++) {
		PyObject *t = PyList_GET_ITEM(items, i);
		int found;
		PyObject *ov = value_in(other, PyTuple_GET_ITEM(t, 0), &found);
		if (!ov) {
			r = PyErr_Occurred() ? -1 : 0;
			break;
		}
		r = PyObject_RichCompareBool(PyTuple_GET_ITEM(t, 1), ov, Py_EQ);
		Py_DECREF(ov);
	}
	Py_DECREF(items);
	return r;
}

static PyObject *Dict_richcompare(DictObject *self, PyObject *other, int op)
{
	if ((op != Py_EQ && op != Py_NE) || (!PyDict_Check(other) && !is_pdict(other)))
		Py_RETURN_NOTIMPLEMENTED;
	int eq = (PyObject *)self == other ? 1 : dict_equal(self, other);
	if (eq < 0)
		return NULL;
	return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static PyObject *Dict_repr(DictObject *self)
{
	if (pyx_proxy_check(self))
		return NULL;
	int rec = Py_ReprEnter((PyObject *)self);
	if (rec != 0)
		return rec > 0 ? PyUnicode_FromString("{...}") : NULL;
	PyObject *items = items_list(self);
	PyObject *parts = items ? PyList_New(0) : NULL;
	for (Py_ssize_t i = 0; parts && i < PyList_GET_SIZE(items); i++) {
		PyObject *t = PyList_GET_ITEM(items, i);
		PyObject *s = PyUnicode_FromFormat("%R: %R", PyTuple_GET_ITEM(t, 0),
						   PyTuple_GET_ITEM(t, 1));
		if (!s || PyList_Append(parts, s) != 0)
			Py_CLEAR(parts);
		Py_XDECREF(s);
	}
	PyObject *r = pyx_join_reprs(parts, "{%U}");
	Py_XDECREF(items);
	Py_ReprLeave((PyObject *)self);
	return r;
}

/* --- iteration and views (pdictview.c) --------------------------------- */

static PyObject *Dict_iter(DictObject *self)
{
	return pyx_table_iter(self, PMO_T_DICT, ITER_KEYS, 0);
}

static PyObject *Dict_reversed(DictObject *self, PyObject *unused)
{
	return pyx_table_iter(self, PMO_T_DICT, ITER_KEYS, 1);
}

static PyObject *Dict_keys(DictObject *self, PyObject *unused)
{
	return pyx_dict_view(self, ITER_KEYS);
}

static PyObject *Dict_values(DictObject *self, PyObject *unused)
{
	return pyx_dict_view(self, ITER_VALUES);
}

static PyObject *Dict_items(DictObject *self, PyObject *unused)
{
	return pyx_dict_view(self, ITER_ITEMS);
}

/* --- type ---------------------------------------------------------------- */

/* dict's __getitem__ and __contains__ are methods of their own (beside the
 * slot wrappers), whose wrong-argument-count errors name the method. */
static PyObject *Dict_contains_meth(DictObject *self, PyObject *key)
{
	int rc = pyx_dict_contains(self, key);
	return rc < 0 ? NULL : PyBool_FromLong(rc);
}

static PyMethodDef Dict_methods[] = {
	{"_p_new_in", (PyCFunction)Dict_p_new_in, METH_O | METH_CLASS,
	 "Create an empty instance in the given pool (used by pool.new)."},
	{"__getitem__", (PyCFunction)Dict_subscript, METH_O | METH_COEXIST,
	 "x.__getitem__(y) <==> x[y]"},
	{"__contains__", (PyCFunction)Dict_contains_meth, METH_O | METH_COEXIST,
	 "True if the dictionary has the specified key, else False."},
	{"get", (PyCFunction)(void (*)(void))Dict_get, METH_FASTCALL,
	 "Return the value for key if key is in the dictionary, else default."},
	{"setdefault", (PyCFunction)(void (*)(void))Dict_setdefault, METH_FASTCALL,
	 "Insert key with a value of default if key is not in the dictionary; return the value."},
	{"pop", (PyCFunction)(void (*)(void))Dict_pop, METH_FASTCALL,
	 "D.pop(k[,d]) -> v, remove specified key and return the corresponding value."},
	{"popitem", (PyCFunction)Dict_popitem, METH_NOARGS,
	 "Remove and return a (key, value) pair as a 2-tuple, in LIFO order."},
	{"keys", (PyCFunction)Dict_keys, METH_NOARGS, "A set-like live view of the keys."},
	{"values", (PyCFunction)Dict_values, METH_NOARGS, "A live view of the values."},
	{"items", (PyCFunction)Dict_items, METH_NOARGS, "A set-like live view of the items."},
	{"update", (PyCFunction)(void (*)(void))Dict_update, METH_VARARGS | METH_KEYWORDS,
	 "D.update([E, ]**F): update D from the mapping or iterable E and F, in one transaction."},
	{"clear", (PyCFunction)Dict_clear, METH_NOARGS, "Remove all items."},
	{"copy", (PyCFunction)Dict_copy, METH_NOARGS,
	 "A shallow copy: a new PersistentDict in the same pool."},
	{"__reversed__", (PyCFunction)Dict_reversed, METH_NOARGS,
	 "Return a reverse iterator over the dict keys."},
	{"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, NULL},
	{NULL}};

static PySequenceMethods Dict_as_sequence = {
	.sq_contains = (objobjproc)pyx_dict_contains,
};

static PyMappingMethods Dict_as_mapping = {
	.mp_length = (lenfunc)pyx_dict_len,
	.mp_subscript = (binaryfunc)Dict_subscript,
	.mp_ass_subscript = (objobjargproc)Dict_ass_subscript,
};

static PyNumberMethods Dict_as_number = {
	.nb_or = Dict_or,
	.nb_inplace_or = (binaryfunc)Dict_ior,
};

PyTypeObject PersistentDict_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentDict",
	.tp_basicsize = sizeof(DictObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_MAPPING, /* GC inherited */
	.tp_doc = "PersistentDict([mapping_or_iterable], **kwarg): a dict kept in a pool.\n\n"
		  "Create with pool.new(PersistentDict, ...).  Keys must be hashable\n"
		  "values a pool can store; they hash stably across processes.",
	.tp_base = &Proxy_Type,
	.tp_init = (initproc)Dict_init,
	.tp_repr = (reprfunc)Dict_repr,
	.tp_hash = PyObject_HashNotImplemented,
	.tp_richcompare = (richcmpfunc)Dict_richcompare,
	.tp_iter = (getiterfunc)Dict_iter,
	.tp_methods = Dict_methods,
	.tp_as_number = &Dict_as_number,
	.tp_as_sequence = &Dict_as_sequence,
	.tp_as_mapping = &Dict_as_mapping,
};

int pyx_dict_ready(PyObject *module)
{
	if (PyType_Ready(&PersistentDict_Type) < 0 || PyType_Ready(&FromKeys_Type) < 0 ||
	    pyx_dictview_ready() < 0)
		return -1;
	PyObject *fk = PyObject_New(PyObject, &FromKeys_Type);
	if (!fk || PyDict_SetItemString(PersistentDict_Type.tp_dict, "fromkeys", fk) < 0) {
		Py_XDECREF(fk);
		return -1;
	}
	Py_DECREF(fk);
	PyType_Modified(&PersistentDict_Type);
	if (pyx_register_abc("MutableMapping", &PersistentDict_Type) < 0 ||
	    pyx_add_methods(&PersistentDict_Type, pyx_plain_methods) < 0)
		return -1;
	pyx_register_proxy_type(PMO_T_DICT, &PersistentDict_Type);
	return PyModule_AddObjectRef(module, "PersistentDict", (PyObject *)&PersistentDict_Type);
}
