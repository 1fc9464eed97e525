/*
 * Helpers shared by the persistent types implemented in C (see proxy.h):
 * the pool argument of _p_new_in, the end of an op that makes an object,
 * storability of a whole sequence, the ", "-joined body of a repr, and the
 * operations PersistentList and PersistentTuple both do on the Python
 * list or tuple of their values (comparison, +, *, slicing), storing a
 * result as a new persistent sequence in the same pool.
 */
#include "proxy.h"

PoolObject *pyx_new_in_pool(PyObject *pool)
{
	if (!PyObject_TypeCheck(pool, &Pool_Type)) {
		PyErr_SetString(PyExc_TypeError, "_p_new_in() needs a PersistentObjectPool");
		return NULL;
	}
	return (PoolObject *)pool;
}

PyObject *pyx_op_end_made(PoolObject *pool, PyObject *o)
{
	if (pyx_op_end(pool, !o) != 0) {
		Py_XDECREF(o);
		return NULL;
	}
	return o;
}

int pyx_check_all_storable(PoolObject *pool, PyObject *seq)
{
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
	PyObject **items = PySequence_Fast_ITEMS(seq);
	for (Py_ssize_t i = 0; i < n; i++)
		if (pyx_check_storable(pool, items[i]))
			return -1;
	return 0;
}

PyObject *pyx_iterate_all(PyObject *iterable, const char *not_iterable)
{
	if (PyList_CheckExact(iterable) || PyTuple_CheckExact(iterable))
		return Py_NewRef(iterable);
	PyObject *it = PyObject_GetIter(iterable);
	if (!it) {
		if (not_iterable && PyErr_ExceptionMatches(PyExc_TypeError)) {
			PyErr_Clear();
			PyErr_SetString(PyExc_TypeError, not_iterable);
		}
		return NULL;
	}
	/* Item by item: __length_hint__ may lie, and is not asked. */
	PyObject *list = PyList_New(0), *item;
	while (list && (item = PyIter_Next(it))) {
		if (PyList_Append(list, item) != 0)
			Py_CLEAR(list);
		Py_DECREF(item);
	}
	Py_DECREF(it);
	if (list && PyErr_Occurred())
		Py_CLEAR(list);
	return list;
}

/* --- plain copies (pmemobj/_plain.py) ------------------------------------ */

static PyObject *call_plain(const char *fn, PyObject *self, PyObject *arg)
{
	static PyObject *mod;
	if (!mod && !(mod = PyImport_ImportModule("pmemobj._plain")))
		return NULL;
	return arg ? PyObject_CallMethod(mod, fn, "OO", self, arg)
		   : PyObject_CallMethod(mod, fn, "(O)", self);
}

static PyObject *plain_to_python(PyObject *self, PyObject *unused)
{
	return call_plain("to_python", self, NULL);
}

static PyObject *plain_copy(PyObject *self, PyObject *unused)
{
	return call_plain("shallow", self, NULL);
}

static PyObject *plain_deepcopy(PyObject *self, PyObject *memo)
{
	return call_plain("to_python", self, memo);
}

static PyObject *plain_reduce(PyObject *self, PyObject *unused)
{
	return call_plain("reduce", self, NULL);
}

const PyMethodDef pyx_plain_methods[] = {
	{"to_python", plain_to_python, METH_NOARGS,
	 "A deep copy made of plain Python values (shared parts and cycles kept)."},
	{"__copy__", plain_copy, METH_NOARGS, "A plain container of the same items."},
	{"__deepcopy__", plain_deepcopy, METH_O, "The same as to_python()."},
	{"__reduce__", plain_reduce, METH_NOARGS, "Pickles the plain value (to_python())."},
	{NULL}};

int pyx_add_methods(PyTypeObject *type, const PyMethodDef *methods)
{
	for (const PyMethodDef *m = methods; m->ml_name; m++) {
		PyObject *f = PyDescr_NewMethod(type, (PyMethodDef *)m);
		int rc = f ? PyDict_SetItemString(type->tp_dict, m->ml_name, f) : -1;
		Py_XDECREF(f);
		if (rc != 0)
			return -1;
	}
	PyType_Modified(type);
	return 0;
}

PyObject *pyx_join_reprs(PyObject *parts, const char *fmt)
{
	if (!parts)
		return NULL;
	PyObject *sep = PyUnicode_FromString(", ");
	PyObject *body = sep ? PyUnicode_Join(sep, parts) : NULL;
	PyObject *r = body ? PyUnicode_FromFormat(fmt, body) : NULL;
	Py_XDECREF(sep);
	Py_XDECREF(body);
	Py_DECREF(parts);
	return r;
}

/* kind->new_from(pool, seq), dropping seq; NULL if seq is (the exception
 * is already set then). */
static PyObject *new_from_steal(const pyx_seqkind *kind, PoolObject *pool, PyObject *seq)
{
	if (!seq)
		return NULL;
	PyObject *r = kind->new_from(pool, seq);
	Py_DECREF(seq);
	return r;
}

/* values_of(self) is self's values: self is of the kind's persistent type. */

PyObject *pyx_seq_richcompare(const pyx_seqkind *kind, PyObject *self, PyObject *other, int op)
{
	PyObject *b = kind->values_of(other);
	if (!b) {
		if (PyErr_Occurred())
			return NULL;
		Py_RETURN_NOTIMPLEMENTED;
	}
	PyObject *a = kind->values_of(self);
	PyObject *r = a ? PyObject_RichCompare(a, b, op) : NULL;
	Py_XDECREF(a);
	Py_DECREF(b);
	return r;
}

PyObject *pyx_seq_concat(const pyx_seqkind *kind, PyObject *self, PyObject *other, int self_first)
{
	PyObject *b = kind->values_of(other);
	if (!b) {
		if (!PyErr_Occurred())
			PyErr_Format(PyExc_TypeError,
				     "can only concatenate %s (not \"%.200s\") to %s", kind->name,
				     Py_TYPE(other)->tp_name, kind->name);
		return NULL;
	}
	PyObject *a = kind->values_of(self);
	PyObject *sum = a ? (self_first ? PySequence_Concat(a, b) : PySequence_Concat(b, a)) : NULL;
	Py_XDECREF(a);
	Py_DECREF(b);
	return new_from_steal(kind, ((ProxyObject *)self)->pool, sum);
}

PyObject *pyx_seq_repeat(const pyx_seqkind *kind, PyObject *self, Py_ssize_t n)
{
	PyObject *a = kind->values_of(self);
	PyObject *rep = a ? PySequence_Repeat(a, n) : NULL;
	Py_XDECREF(a);
	return new_from_steal(kind, ((ProxyObject *)self)->pool, rep);
}

PyObject *pyx_seq_slice(const pyx_seqkind *kind, PyObject *self, PyObject *key)
{
	PyObject *all = kind->values_of(self);
	PyObject *part = all ? PyObject_GetItem(all, key) : NULL;
	Py_XDECREF(all);
	return new_from_steal(kind, ((ProxyObject *)self)->pool, part);
}
