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

PyObject *pyx_iter_values(PyObject *iterable, const char *msg)
{
	/* Only the exact builtins are read by storage: a subclass may
	 * override __iter__, and list(x) iterates it (as list.extend and
	 * PySequence_Fast do). */
	if (PyList_CheckExact(iterable) || PyTuple_CheckExact(iterable))
		return Py_NewRef(iterable);
	PyObject *it = PyObject_GetIter(iterable);
	if (!it) {
		if (msg && PyErr_ExceptionMatches(PyExc_TypeError)) {
			PyErr_Clear();
			PyErr_SetString(PyExc_TypeError, msg);
		}
		return NULL;
	}
	/* No __length_hint__: it may lie (sys.maxsize, or far more than the
	 * pool can hold), and it is only a hint; the list grows as the items
	 * come, and what is stored is sized from the items there are. */
	PyObject *out = PyList_New(0);
	PyObject *v;
	while (out && (v = PyIter_Next(it))) {
		if (PyList_Append(out, v) != 0)
			Py_CLEAR(out);
		Py_DECREF(v);
	}
	Py_DECREF(it);
	if (out && PyErr_Occurred())
		Py_CLEAR(out);
	return out;
}

PyObject *pyx_deepcopy(PyObject *o, PyObject *memo)
{
	PyObject *copy = PyImport_ImportModule("copy");
	PyObject *r = copy ? PyObject_CallMethod(copy, "deepcopy", "OO", o, memo) : NULL;
	Py_XDECREF(copy);
	return r;
}

PyObject *pyx_deepcopy_all(PyObject *seq, PyObject *memo)
{
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
	PyObject *out = PyList_New(n);
	for (Py_ssize_t i = 0; out && i < n; i++) {
		PyObject *c = pyx_deepcopy(PySequence_Fast_GET_ITEM(seq, i), memo);
		if (!c)
			Py_CLEAR(out);
		else
			PyList_SET_ITEM(out, i, c);
	}
	return out;
}

int pyx_memo_put(PyObject *memo, PyObject *o, PyObject *copy)
{
	if (!PyDict_Check(memo))
		return 0;   /* no memo to share: nothing to remember */
	PyObject *id = PyLong_FromVoidPtr(o);
	int rc = id ? PyDict_SetItem(memo, id, copy) : -1;
	Py_XDECREF(id);
	return rc;
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
				     "can only concatenate %s (not \"%.200s\") to %s",
				     kind->name, Py_TYPE(other)->tp_name, kind->name);
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
