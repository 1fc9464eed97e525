/*
 * PersistentTuple: an immutable sequence kept in a pool, which may hold
 * persistent objects (a stored tuple value is read back as a new Python
 * tuple each time; a PersistentTuple is one object with an identity).
 *
 * Storage is a pmo_tuple with type code PMO_T_PTUPLE (value.h), sealed
 * with the core hash, so it equals and hashes like the tuple of its items
 * in the core too (PersistentDict keys).  pool.new(PersistentTuple, it)
 * follows the creation protocol of every type: _p_new_in makes an empty
 * tuple, then __init__ fills it; as the size is fixed at allocation,
 * __init__ of a fresh empty tuple allocates the filled one and moves the
 * proxy to it (only possible before anything refers to it).  Operations
 * that make a new tuple (+, *, slices) return a new PersistentTuple in the
 * same pool, as tuple's return a tuple.  Equality, ordering and hash are
 * those of the tuple of its items.
 */
#include "manager.h"

#include <errno.h>

#include "object.h"

typedef ProxyObject TupleObject;
extern PyTypeObject PersistentTuple_Type;

static const pmo_tuple *tuple_of(TupleObject *self)
{
	if (pyx_proxy_check(self))
		return NULL;
	/* Checked: n comes from the pool and must not reach past its end. */
	const pmo_tuple *t = pmo_tuple_get(self->pool->core, self->off, PMO_T_PTUPLE);
	if (!t)
		pyx_raise();
	return t;
}

static Py_ssize_t Tuple_len(TupleObject *self)
{
	const pmo_tuple *t = tuple_of(self);
	return t ? (Py_ssize_t)t->n : -1;
}

static PyObject *Tuple_item(TupleObject *self, Py_ssize_t i)
{
	const pmo_tuple *t = tuple_of(self);
	if (!t)
		return NULL;
	if (i < 0 || (uint64_t)i >= t->n) {
		PyErr_SetString(PyExc_IndexError, "tuple index out of range");
		return NULL;
	}
	pyx_lock(self->pool);
	PyObject *v = pyx_from_slot(self->pool, t->items[i]);
	pyx_unlock(self->pool);
	return v;
}

/* The items as a Python tuple. */
static PyObject *as_tuple(TupleObject *self)
{
	const pmo_tuple *t = tuple_of(self);
	if (!t)
		return NULL;
	PyObject *out = PyTuple_New((Py_ssize_t)t->n);
	pyx_lock(self->pool);
	for (uint64_t i = 0; out && i < t->n; i++) {
		PyObject *v = pyx_from_slot(self->pool, t->items[i]);
		if (!v)
			Py_CLEAR(out);
		else
			PyTuple_SET_ITEM(out, (Py_ssize_t)i, v);
	}
	pyx_unlock(self->pool);
	return out;
}

/* A Python tuple of the values of a tuple or PersistentTuple; NULL
 * without an exception if other is neither. */
static PyObject *values_of(PyObject *other)
{
	if (PyTuple_Check(other))
		return Py_NewRef(other);
	if (PyObject_TypeCheck(other, &PersistentTuple_Type))
		return as_tuple((TupleObject *)other);
	return NULL;
}

/* Allocate and fill a sealed PersistentTuple of the items of seq (a
 * sequence from PySequence_Fast), refcount 0; in a transaction. */
static uint64_t store_items(PoolObject *pool, PyObject *seq)
{
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
	PyObject **items = PySequence_Fast_ITEMS(seq);
	uint64_t off = pmo_tuple_new(pool->core, PMO_T_PTUPLE, (size_t)n);
	if (!off) {
		pyx_raise();
		return 0;
	}
	pmo_tuple *t = pmo_direct(pool->core, off);
	for (Py_ssize_t i = 0; i < n; i++) {
		pmo_slot s;
		if (pyx_to_slot(pool, items[i], &s) != 0)
			return 0;
		pmo_tuple_init_item(t, (size_t)i, s);
	}
	pmo_tuple_seal(pool->core, t);
	return off;
}

/* A new PersistentTuple in pool holding the items of seq. */
static PyObject *new_tuple_from(PoolObject *pool, PyObject *seq)
{
	if (pyx_check_all_storable(pool, seq) || pyx_op_begin(pool))
		return NULL;
	uint64_t off = store_items(pool, seq);
	return pyx_op_end_made(pool,
			       off ? pyx_proxy_adopt(pool, &PersistentTuple_Type, off) : NULL);
}

static const pyx_seqkind tuple_kind = {"tuple", values_of, new_tuple_from};

/* --- construction ---------------------------------------------------------- */

static PyObject *Tuple_p_new_in(PyTypeObject *cls, PyObject *pool_o)
{
	PoolObject *pool = pyx_new_in_pool(pool_o);
	if (!pool || pyx_op_begin(pool))
		return NULL;
	uint64_t off = pmo_tuple_new(pool->core, PMO_T_PTUPLE, 0);
	PyObject *o = NULL;
	if (!off)
		pyx_raise();
	else {
		pmo_tuple_seal(pool->core, pmo_direct(pool->core, off));
		o = pyx_proxy_adopt(pool, cls, off);
		if (o)
			((TupleObject *)o)->unfilled = 1; /* for the __init__ of pool.new */
	}
	return pyx_op_end_made(pool, o);
}

/* Move the proxy from the object at its offset to the one at off. */
static int move_proxy(TupleObject *self, uint64_t off)
{
	PoolObject *pool = self->pool;
	size_t i = pool->ncreated;
	while (i-- > 0 && pool->created[i] != self->off)
		;
	if (i < pool->ncreated)
		pool->created[i] = off;
	else if (pyx_note_created(pool, off) != 0) /* a rollback must reach the proxy */
		return -1;
	if (pyx_idmap_put(pool, off, (PyObject *)self) != 0)
		return -1;
	pyx_idmap_del(pool, self->off);
	self->off = off;
	return 0;
}

static int Tuple_init(TupleObject *self, PyObject *args, PyObject *kw)
{
	PyObject *iterable = NULL;
	/* Only the __init__ of pool.new fills a tuple; any other call is
	 * ignored, arguments and all, as tuple.__init__ ignores them. */
	if (!self->unfilled)
		return 0;
	if (!_PyArg_NoKeywords("PersistentTuple", kw) ||
	    !PyArg_UnpackTuple(args, "PersistentTuple", 0, 1, &iterable))
		return -1;
	self->unfilled = 0;
	if (!iterable)
		return 0;
	const pmo_tuple *t = tuple_of(self);
	if (!t)
		return -1;
	/* A PersistentTuple is read whole; anything else as tuple() reads it
	 * (a tuple subclass may override __iter__). */
	PyObject *seq = PyObject_TypeCheck(iterable, &PersistentTuple_Type)
				? as_tuple((TupleObject *)iterable)
				: pyx_iterate_all(iterable, NULL);
	if (!seq)
		return -1;
	PoolObject *pool = self->pool;
	int rc = -1;
	if (PySequence_Fast_GET_SIZE(seq) == 0) {
		rc = 0;
	} else if (t->n != 0 || t->head.refcnt != 0) {
		PyErr_SetString(PyExc_TypeError, "PersistentTuple is immutable: __init__ only "
						 "fills a new one");
	} else if (pyx_check_all_storable(pool, seq) == 0 && pyx_op_begin(pool) == 0) {
		uint64_t old = self->off;
		uint64_t off = store_items(pool, seq);
		/* The empty one held nothing and only this proxy refers to it. */
		int failed =
			!off || move_proxy(self, off) != 0 || pmo_tx_free(pool->core, old) != 0;
		if (!failed)
			pmo_obj_disown(pool->core, off);
		rc = pyx_op_end(pool, failed);
	}
	Py_DECREF(seq);
	return rc;
}

/* --- sequence ---------------------------------------------------------------- */

static PyObject *Tuple_subscript(TupleObject *self, PyObject *key)
{
	if (PyIndex_Check(key)) {
		Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
		if (i == -1 && PyErr_Occurred())
			return NULL;
		if (i < 0) {
			Py_ssize_t n = Tuple_len(self);
			if (n < 0)
				return NULL;
			i += n;
		}
		return Tuple_item(self, i);
	}
	if (!PySlice_Check(key))
		return PyErr_Format(PyExc_TypeError,
				    "tuple indices must be integers or slices, not %.200s",
				    Py_TYPE(key)->tp_name);
	Py_ssize_t start, stop, step, n = Tuple_len(self);
	if (n < 0 || PySlice_Unpack(key, &start, &stop, &step) < 0)
		return NULL;
	Py_ssize_t count = PySlice_AdjustIndices(n, &start, &stop, step);
	if (step == 1 && start == 0 && count == n)
		return Py_NewRef(self); /* immutable: the whole is itself */
	return pyx_seq_slice(&tuple_kind, (PyObject *)self, key);
}

static int Tuple_contains(TupleObject *self, PyObject *x)
{
	for (Py_ssize_t i = 0;; i++) {
		Py_ssize_t n = Tuple_len(self);
		if (n < 0)
			return -1;
		if (i >= n)
			return 0;
		PyObject *v = Tuple_item(self, i);
		if (!v)
			return -1;
		int eq = PyObject_RichCompareBool(v, x, Py_EQ);
		Py_DECREF(v);
		if (eq != 0)
			return eq;
	}
}

static PyObject *Tuple_count(TupleObject *self, PyObject *x)
{
	PyObject *all = as_tuple(self);
	if (!all)
		return NULL;
	PyObject *r = PyObject_CallMethod(all, "count", "(O)", x);
	Py_DECREF(all);
	return r;
}

static PyObject *Tuple_index(TupleObject *self, PyObject *args)
{
	PyObject *all = as_tuple(self);
	if (!all)
		return NULL;
	PyObject *meth = PyObject_GetAttrString(all, "index");
	PyObject *r = meth ? PyObject_Call(meth, args, NULL) : NULL;
	Py_XDECREF(meth);
	Py_DECREF(all);
	return r;
}

static PyObject *Tuple_iter(TupleObject *self)
{
	if (!tuple_of(self))
		return NULL;
	return PySeqIter_New((PyObject *)self);
}

static Py_hash_t Tuple_hash(TupleObject *self)
{
	PyObject *all = as_tuple(self);
	if (!all)
		return -1;
	Py_hash_t h = PyObject_Hash(all);
	Py_DECREF(all);
	return h;
}

static PyObject *Tuple_richcompare(TupleObject *self, PyObject *other, int op)
{
	return pyx_seq_richcompare(&tuple_kind, (PyObject *)self, other, op);
}

static PyObject *Tuple_repr(TupleObject *self)
{
	if (pyx_proxy_check(self))
		return NULL;
	int rec = Py_ReprEnter((PyObject *)self);
	if (rec != 0)
		return rec > 0 ? PyUnicode_FromString("(...)") : NULL;
	PyObject *all = as_tuple(self);
	PyObject *r = all ? PyObject_Repr(all) : NULL;
	Py_XDECREF(all);
	Py_ReprLeave((PyObject *)self);
	return r;
}

static PyObject *Tuple_concat(TupleObject *self, PyObject *other)
{
	return pyx_seq_concat(&tuple_kind, (PyObject *)self, other, 1);
}

/* nb_add: also tuple + PersistentTuple, which tuple's own + refuses. */
static PyObject *Tuple_add(PyObject *a, PyObject *b)
{
	if (PyObject_TypeCheck(a, &PersistentTuple_Type) &&
	    (PyTuple_Check(b) || PyObject_TypeCheck(b, &PersistentTuple_Type)))
		return pyx_seq_concat(&tuple_kind, a, b, 1);
	if (PyTuple_Check(a) && PyObject_TypeCheck(b, &PersistentTuple_Type))
		return pyx_seq_concat(&tuple_kind, b, a, 0);
	Py_RETURN_NOTIMPLEMENTED;
}

static PyObject *Tuple_repeat(TupleObject *self, Py_ssize_t n)
{
	if (n == 1)
		return Py_NewRef(self);
	return pyx_seq_repeat(&tuple_kind, (PyObject *)self, n);
}

static PyMethodDef Tuple_methods[] = {
	{"_p_new_in", (PyCFunction)Tuple_p_new_in, METH_O | METH_CLASS,
	 "Create an empty instance in the given pool (used by pool.new)."},
	{"count", (PyCFunction)Tuple_count, METH_O, "Return number of occurrences of value."},
	{"index", (PyCFunction)Tuple_index, METH_VARARGS,
	 "Return first index of value (start and stop as for tuple.index)."},
	/* tuple's __add__ is its concatenation, which refuses a non-tuple with
	 * TypeError; the nb_add slot (for tuple + PersistentTuple) answers
	 * NotImplemented instead, so __add__ is spelled out. */
	{"__add__", (PyCFunction)Tuple_concat, METH_O | METH_COEXIST, "Return self+value."},
	{"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, "See PEP 585"},
	{NULL}};

static PySequenceMethods Tuple_as_sequence = {
	.sq_length = (lenfunc)Tuple_len,
	.sq_concat = (binaryfunc)Tuple_concat,
	.sq_repeat = (ssizeargfunc)Tuple_repeat,
	.sq_item = (ssizeargfunc)Tuple_item,
	.sq_contains = (objobjproc)Tuple_contains,
};

static PyMappingMethods Tuple_as_mapping = {
	.mp_length = (lenfunc)Tuple_len,
	.mp_subscript = (binaryfunc)Tuple_subscript,
};

static PyNumberMethods Tuple_as_number = {
	.nb_add = Tuple_add,
};

PyTypeObject PersistentTuple_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentTuple",
	.tp_basicsize = sizeof(TupleObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_SEQUENCE, /* GC inherited */
	.tp_doc = "PersistentTuple([iterable]): an immutable sequence kept in a pool.\n\n"
		  "Create with pool.new(PersistentTuple, iterable).",
	.tp_base = &Proxy_Type,
	.tp_init = (initproc)Tuple_init,
	.tp_repr = (reprfunc)Tuple_repr,
	.tp_hash = (hashfunc)Tuple_hash,
	.tp_richcompare = (richcmpfunc)Tuple_richcompare,
	.tp_iter = (getiterfunc)Tuple_iter,
	.tp_methods = Tuple_methods,
	.tp_as_sequence = &Tuple_as_sequence,
	.tp_as_mapping = &Tuple_as_mapping,
	.tp_as_number = &Tuple_as_number,
};

int pyx_tuple_ready(PyObject *module)
{
	if (PyType_Ready(&PersistentTuple_Type) < 0 ||
	    pyx_register_abc("Sequence", &PersistentTuple_Type) < 0 ||
	    pyx_add_methods(&PersistentTuple_Type, pyx_plain_methods) < 0)
		return -1;
	pyx_register_proxy_type(PMO_T_PTUPLE, &PersistentTuple_Type);
	return PyModule_AddObjectRef(module, "PersistentTuple", (PyObject *)&PersistentTuple_Type);
}
