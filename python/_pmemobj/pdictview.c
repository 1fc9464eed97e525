/*
 * Iteration over the persistent hash tables, and the views of
 * PersistentDict.
 *
 * An iterator holds its table's proxy and a position in the entries array
 * (entries stay in insertion order until a rebuild), and re-reads the
 * table on every step under the pool lock, so it never holds a pointer
 * into the pool.  Like dict's and set's iterators it raises RuntimeError
 * when the table changed size under it, and keeps raising; a table of the
 * same size with other keys is caught by counting what is left.
 *
 * The views (keys, values, items) are live: each holds only the dict.
 * Keys and items views are set-like: len, in, iteration, reversed(),
 * isdisjoint(), comparisons with sets and the set operators, which return
 * plain sets computed as set(view) OP other, as dict's views do.
 */
#include "keys.h"

#include <errno.h>

static PyTypeObject TableIter_Type;
static PyTypeObject DictKeys_Type, DictValues_Type, DictItems_Type;

/* --- iteration ----------------------------------------------------------- */

typedef struct {
	PyObject_HEAD ProxyObject *owner; /* NULL when exhausted */
	uint32_t type;                    /* table type code of owner */
	int kind;                         /* ITER_KEYS, ITER_VALUES, ITER_ITEMS */
	int reversed;
	uint64_t pos;  /* forward: next entry; reversed: entries before it */
	uint64_t used; /* size at creation; UINT64_MAX once it raised */
	uint64_t remaining;
	/* The entry array and its length at creation: every change to a
	 * table moves one of them or used (entries are appended; a resize
	 * makes a new array), so a count that disagrees while all three
	 * are as they were is damage, not a change. */
	uint64_t table, nentries;
} TableIterObject;

PyObject *pyx_table_iter(ProxyObject *owner, uint32_t type, int kind, int reversed)
{
	if (pyx_proxy_check(owner))
		return NULL;
	pyx_lock(owner->pool);
	pmo_dict *d = pyx_table_of(owner, type);
	TableIterObject *it = d ? PyObject_New(TableIterObject, &TableIter_Type) : NULL;
	if (it) {
		it->owner = (ProxyObject *)Py_NewRef(owner);
		it->type = type;
		it->kind = kind;
		it->reversed = reversed;
		it->pos = reversed ? d->nentries : 0;
		it->used = it->remaining = d->used;
		it->table = d->table;
		it->nentries = d->nentries;
	}
	pyx_unlock(owner->pool);
	return (PyObject *)it;
}

ProxyObject *pyx_table_iter_owner(PyObject *o)
{
	return Py_IS_TYPE(o, &TableIter_Type) ? ((TableIterObject *)o)->owner : NULL;
}

static void changed_size(TableIterObject *it)
{
	PyErr_SetString(PyExc_RuntimeError, it->type == PMO_T_DICT
						    ? "dictionary changed size during iteration"
						    : "Set changed size during iteration");
	it->used = UINT64_MAX; /* keep failing, as dict's iterators do */
}

static PyObject *TableIter_next(TableIterObject *it)
{
	if (!it->owner || pyx_proxy_check(it->owner))
		return NULL;
	PoolObject *pool = it->owner->pool;
	pyx_lock(pool);
	pmo_dict *d = pyx_table_of(it->owner, it->type);
	if (!d) {
		pyx_unlock(pool);
		return NULL;
	}
	if (it->used != d->used) {
		changed_size(it);
		pyx_unlock(pool);
		return NULL;
	}
	pmo_dict_entry *e = NULL;
	if (d->size == 0) {
		/* empty table */
	} else if (it->reversed) {
		if (it->pos > d->nentries)
			it->pos = d->nentries;
		while (it->pos > 0) {
			pmo_dict_entry *c = pmo_dict_entry_at(pool->core, d, --it->pos);
			if (pmo_dict_entry_live(c)) {
				e = c;
				break;
			}
		}
	} else {
		while (it->pos < d->nentries) {
			pmo_dict_entry *c = pmo_dict_entry_at(pool->core, d, it->pos++);
			if (pmo_dict_entry_live(c)) {
				e = c;
				break;
			}
		}
	}
	if ((e && it->remaining == 0) || (!e && it->remaining != 0)) {
		if (d->table == it->table && d->nentries == it->nentries) {
			it->used = UINT64_MAX;
			pyx_table_corrupted(pool, it->owner->off);
			pyx_unlock(pool);
			return NULL;
		}
		/* Same size, different keys: deletions and insertions. */
		if (it->type == PMO_T_DICT) {
			PyErr_SetString(PyExc_RuntimeError,
					"dictionary keys changed during iteration");
			it->used = UINT64_MAX;
		} else {
			changed_size(it);
		}
		pyx_unlock(pool);
		return NULL;
	}
	if (!e) {
		pyx_unlock(pool);
		Py_CLEAR(it->owner);
		return NULL;
	}
	it->remaining--;
	pmo_slot ks = e->key, vs = it->type == PMO_T_DICT ? e->value : pmo_slot_none();
	PyObject *r;
	if (it->kind == ITER_KEYS) {
		r = pyx_from_slot(pool, ks);
	} else if (it->kind == ITER_VALUES) {
		r = pyx_from_slot(pool, vs);
	} else {
		/* the entry just found: pos moved past it (before it, reversed) */
		uint64_t ix = it->reversed ? it->pos : it->pos - 1;
		PyObject *k, *v;
		r = NULL;
		if (pyx_load_entry(it->owner, PMO_T_DICT, ix, &k, &v) == 0) {
			r = PyTuple_Pack(2, k, v);
			Py_DECREF(k);
			Py_DECREF(v);
		}
	}
	pyx_unlock(pool);
	return r;
}

static void TableIter_dealloc(TableIterObject *it)
{
	Py_XDECREF(it->owner);
	PyObject_Free(it);
}

static PyObject *TableIter_length_hint(TableIterObject *it, PyObject *unused)
{
	Py_ssize_t n = 0;
	if (it->owner && it->used != UINT64_MAX && !pyx_proxy_check(it->owner)) {
		pmo_dict *d = pyx_table_of(it->owner, it->type);
		if (d && d->used == it->used)
			n = (Py_ssize_t)it->remaining;
	}
	PyErr_Clear();
	return PyLong_FromSsize_t(n);
}

/* As set's and dict's iterators pickle: iter(list of what is left), read
 * from a copy of the iterator so that this one does not advance.  The
 * table itself is not pickled (it lives in a pool). */
static PyObject *TableIter_reduce(TableIterObject *it, PyObject *unused)
{
	PyObject *iter = PyDict_GetItemString(PyEval_GetBuiltins(), "iter"); /* borrowed */
	if (!iter)
		return PyErr_Format(PyExc_RuntimeError, "no builtin iter");
	PyObject *rest;
	if (!it->owner) {
		rest = PyList_New(0);
	} else {
		TableIterObject *copy = PyObject_New(TableIterObject, &TableIter_Type);
		if (!copy)
			return NULL;
		copy->owner = (ProxyObject *)Py_NewRef(it->owner);
		copy->type = it->type;
		copy->kind = it->kind;
		copy->reversed = it->reversed;
		copy->pos = it->pos;
		copy->used = it->used;
		copy->remaining = it->remaining;
		copy->table = it->table;
		copy->nentries = it->nentries;
		rest = PySequence_List((PyObject *)copy);
		Py_DECREF(copy);
	}
	if (!rest)
		return NULL;
	return Py_BuildValue("O(N)", iter, rest);
}

static PyMethodDef TableIter_methods[] = {
	{"__length_hint__", (PyCFunction)TableIter_length_hint, METH_NOARGS, NULL},
	{"__reduce__", (PyCFunction)TableIter_reduce, METH_NOARGS, NULL},
	{NULL}};

static PyTypeObject TableIter_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj._PersistentTableIterator",
	.tp_basicsize = sizeof(TableIterObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_dealloc = (destructor)TableIter_dealloc,
	.tp_iter = PyObject_SelfIter,
	.tp_iternext = (iternextfunc)TableIter_next,
	.tp_methods = TableIter_methods,
};

/* --- views --------------------------------------------------------------- */

typedef struct {
	PyObject_HEAD DictObject *dict;
} ViewObject;

static int view_kind(ViewObject *v)
{
	return Py_IS_TYPE(v, &DictKeys_Type)     ? ITER_KEYS
	       : Py_IS_TYPE(v, &DictValues_Type) ? ITER_VALUES
						 : ITER_ITEMS;
}

PyObject *pyx_dict_view(DictObject *self, int kind)
{
	if (pyx_proxy_check(self))
		return NULL;
	PyTypeObject *type = kind == ITER_KEYS     ? &DictKeys_Type
			     : kind == ITER_VALUES ? &DictValues_Type
						   : &DictItems_Type;
	ViewObject *v = PyObject_New(ViewObject, type);
	if (v)
		v->dict = (DictObject *)Py_NewRef(self);
	return (PyObject *)v;
}

static void View_dealloc(ViewObject *v)
{
	Py_XDECREF(v->dict);
	PyObject_Free(v);
}

static Py_ssize_t View_len(ViewObject *v)
{
	return pyx_dict_len(v->dict);
}

static PyObject *View_iter(ViewObject *v)
{
	return pyx_table_iter(v->dict, PMO_T_DICT, view_kind(v), 0);
}

static PyObject *View_reversed(ViewObject *v, PyObject *unused)
{
	return pyx_table_iter(v->dict, PMO_T_DICT, view_kind(v), 1);
}

static int View_contains(ViewObject *v, PyObject *x)
{
	int kind = view_kind(v);
	if (kind == ITER_KEYS)
		return pyx_dict_contains(v->dict, x);
	if (kind == ITER_ITEMS) {
		if (!PyTuple_Check(x) || PyTuple_GET_SIZE(x) != 2)
			return 0;
		int found;
		PyObject *val = pyx_dict_lookup(v->dict, PyTuple_GET_ITEM(x, 0), &found);
		if (!val)
			return PyErr_Occurred() ? -1 : 0;
		int r = PyObject_RichCompareBool(val, PyTuple_GET_ITEM(x, 1), Py_EQ);
		Py_DECREF(val);
		return r;
	}
	PyObject *it = View_iter(v), *item;
	if (!it)
		return -1;
	int r = 0;
	while (r == 0 && (item = PyIter_Next(it))) {
		r = PyObject_RichCompareBool(item, x, Py_EQ);
		Py_DECREF(item);
	}
	Py_DECREF(it);
	return r == 0 && PyErr_Occurred() ? -1 : r;
}

static PyObject *View_repr(ViewObject *v)
{
	int rec = Py_ReprEnter((PyObject *)v);
	if (rec != 0)
		return rec > 0 ? PyUnicode_FromString("...") : NULL;
	PyObject *seq = PySequence_List((PyObject *)v);
	PyObject *r = seq ? PyUnicode_FromFormat("%s(%R)", _PyType_Name(Py_TYPE(v)), seq) : NULL;
	Py_XDECREF(seq);
	Py_ReprLeave((PyObject *)v);
	return r;
}

static PyObject *View_mapping(ViewObject *v, void *closure)
{
	return PyDictProxy_New((PyObject *)v->dict);
}

static int is_setlike_view(PyObject *o)
{
	return Py_IS_TYPE(o, &DictKeys_Type) || Py_IS_TYPE(o, &DictItems_Type) ||
	       PyDictKeys_Check(o) || PyDictItems_Check(o);
}

/* The set operators of keys and items views: set(a) OP= b, as dict's views
 * do (so the result is a plain set). */
static PyObject *view_setop(PyObject *a, PyObject *b, const char *method)
{
	PyObject *r = PySet_New(a);
	if (!r)
		return NULL;
	PyObject *done = PyObject_CallMethod(r, method, "(O)", b);
	if (!done) {
		Py_DECREF(r);
		return NULL;
	}
	Py_DECREF(done);
	return r;
}

static PyObject *View_and(PyObject *a, PyObject *b)
{
	return view_setop(a, b, "intersection_update");
}

static PyObject *View_or(PyObject *a, PyObject *b)
{
	return view_setop(a, b, "update");
}

static PyObject *View_xor(PyObject *a, PyObject *b)
{
	return view_setop(a, b, "symmetric_difference_update");
}

static PyObject *View_sub(PyObject *a, PyObject *b)
{
	return view_setop(a, b, "difference_update");
}

static PyObject *View_isdisjoint(ViewObject *v, PyObject *other)
{
	PyObject *it = PyObject_GetIter(other), *item;
	if (!it)
		return NULL;
	int r = 0;
	while (r == 0 && (item = PyIter_Next(it))) {
		r = View_contains(v, item);
		Py_DECREF(item);
	}
	Py_DECREF(it);
	if (r < 0 || PyErr_Occurred())
		return NULL;
	return PyBool_FromLong(!r);
}

static PyObject *View_richcompare(PyObject *v, PyObject *other, int op)
{
	if (!PyAnySet_Check(other) && !is_setlike_view(other) && !pyx_is_pset(other))
		Py_RETURN_NOTIMPLEMENTED;
	PyObject *a = PySet_New(v);
	PyObject *b = a ? PySet_New(other) : NULL;
	PyObject *r = b ? PyObject_RichCompare(a, b, op) : NULL;
	Py_XDECREF(a);
	Py_XDECREF(b);
	return r;
}

static PyNumberMethods View_as_number = {
	.nb_subtract = View_sub,
	.nb_and = View_and,
	.nb_xor = View_xor,
	.nb_or = View_or,
};

static PySequenceMethods View_as_sequence = {
	.sq_length = (lenfunc)View_len,
	.sq_contains = (objobjproc)View_contains,
};

static PyMethodDef SetView_methods[] = {
	{"isdisjoint", (PyCFunction)View_isdisjoint, METH_O,
	 "Return True if the view and the given iterable have a null intersection."},
	{"__reversed__", (PyCFunction)View_reversed, METH_NOARGS, NULL},
	{NULL}};

static PyMethodDef ValuesView_methods[] = {
	{"__reversed__", (PyCFunction)View_reversed, METH_NOARGS, NULL}, {NULL}};

static PyGetSetDef View_getset[] = {{"mapping", (getter)View_mapping, NULL,
				     "A read-only proxy of the dict the view refers to.", NULL},
				    {NULL}};

#define VIEW_TYPE_COMMON                                                        \
	.tp_basicsize = sizeof(ViewObject), .tp_flags = Py_TPFLAGS_DEFAULT,     \
	.tp_dealloc = (destructor)View_dealloc, .tp_repr = (reprfunc)View_repr, \
	.tp_iter = (getiterfunc)View_iter, .tp_as_sequence = &View_as_sequence, \
	.tp_getset = View_getset

static PyTypeObject DictKeys_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentDict_keys",
	VIEW_TYPE_COMMON,
	.tp_hash = PyObject_HashNotImplemented,
	.tp_as_number = &View_as_number,
	.tp_richcompare = View_richcompare,
	.tp_methods = SetView_methods,
};

static PyTypeObject DictItems_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentDict_items",
	VIEW_TYPE_COMMON,
	.tp_hash = PyObject_HashNotImplemented,
	.tp_as_number = &View_as_number,
	.tp_richcompare = View_richcompare,
	.tp_methods = SetView_methods,
};

static PyTypeObject DictValues_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentDict_values",
	VIEW_TYPE_COMMON,
	.tp_methods = ValuesView_methods,
};

int pyx_dictview_ready(void)
{
	if (PyType_Ready(&TableIter_Type) < 0 || PyType_Ready(&DictKeys_Type) < 0 ||
	    PyType_Ready(&DictValues_Type) < 0 || PyType_Ready(&DictItems_Type) < 0)
		return -1;
	if (pyx_register_abc("KeysView", &DictKeys_Type) < 0 ||
	    pyx_register_abc("ValuesView", &DictValues_Type) < 0 ||
	    pyx_register_abc("ItemsView", &DictItems_Type) < 0)
		return -1;
	return 0;
}
