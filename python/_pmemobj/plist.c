/*
 * PersistentList: the list API over src/list.c.
 *
 * Reads convert slots to Python values on demand; nothing is cached, so
 * what a proxy shows is always what the pool holds.  Every mutation is
 * one core operation in the caller's transaction or its own.  Values are
 * checked for storability before the transaction opens, so a TypeError
 * never rolls back the caller's enclosing transaction.  Operations that
 * build a new list (slicing, copy, +, *) return a new PersistentList in
 * the same pool, as list's return a list.
 */
#include "proxy.h"

#include <errno.h>

#include "list.h"

typedef ProxyObject ListObject;
extern PyTypeObject PersistentList_Type;

/* The list behind a proxy, or NULL with an exception. */
static pmo_list *list_of(ListObject *self)
{
	if (pyx_proxy_check(self))
		return NULL;
	pmo_list *l = pmo_direct(self->pool->core, self->off);
	if (l->head.type != PMO_T_LIST || l->len > l->cap) {
		pmo_err(EIO, "corrupted pool: bad list at %llu", (unsigned long long)self->off);
		pyx_raise();
		return NULL;
	}
	return l;
}

static Py_ssize_t List_len(ListObject *self)
{
	pmo_list *l = list_of(self);
	return l ? (Py_ssize_t)l->len : -1;
}

/* Item i (already in range) as a Python value. */
static PyObject *item_at(ListObject *self, pmo_list *l, size_t i)
{
	return pyx_from_slot(self->pool, pmo_list_items(self->pool->core, l)[i]);
}

/* All items as a new Python list. */
static PyObject *as_pylist(ListObject *self)
{
	pmo_list *l = list_of(self);
	if (!l)
		return NULL;
	pyx_lock(self->pool);
	PyObject *out = PyList_New((Py_ssize_t)l->len);
	for (size_t i = 0; out && i < l->len; i++) {
		PyObject *v = item_at(self, l, i);
		if (!v)
			Py_CLEAR(out);
		else
			PyList_SET_ITEM(out, (Py_ssize_t)i, v);
	}
	pyx_unlock(self->pool);
	return out;
}

/* A Python list of the values of a list or PersistentList; NULL without an
 * exception set if other is neither. */
static PyObject *values_of(PyObject *other)
{
	if (PyList_Check(other))
		return Py_NewRef(other);
	if (PyObject_TypeCheck(other, &PersistentList_Type))
		return as_pylist((ListObject *)other);
	return NULL;
}

/* Check every item of seq (a list or tuple) is storable here. */
static int check_all(PoolObject *pool, PyObject *seq)
{
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
	PyObject **items = PySequence_Fast_ITEMS(seq);
	for (Py_ssize_t i = 0; i < n; i++)
		if (pyx_check_storable(pool, items[i]))
			return -1;
	return 0;
}

/* Convert the items of seq into a new array of slots (in a transaction).
 * On failure the slots made so far are owned by the aborting transaction. */
static pmo_slot *to_slots(PoolObject *pool, PyObject *seq)
{
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
	PyObject **items = PySequence_Fast_ITEMS(seq);
	pmo_slot *slots = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *slots);
	if (!slots) {
		PyErr_NoMemory();
		return NULL;
	}
	for (Py_ssize_t i = 0; i < n; i++)
		if (pyx_to_slot(pool, items[i], &slots[i]) != 0) {
			PyMem_Free(slots);
			return NULL;
		}
	return slots;
}

/* Replace [lo, hi) by the items of seq: the one primitive behind slice
 * assignment, extend, insert, clear and __init__. */
static int replace_range(ListObject *self, size_t lo, size_t hi, PyObject *seq)
{
	PoolObject *pool = self->pool;
	if (seq && check_all(pool, seq))
		return -1;
	if (pyx_op_begin(pool))
		return -1;
	pmo_list *l = list_of(self);
	int failed = !l;
	pmo_slot *slots = NULL;
	size_t n = seq ? (size_t)PySequence_Fast_GET_SIZE(seq) : 0;
	if (!failed && hi > l->len)
		hi = l->len;
	if (!failed && lo > hi)
		lo = hi;
	if (!failed && n)
		failed = !(slots = to_slots(pool, seq));
	if (!failed)
		failed = pmo_list_replace(pool->core, l, lo, hi, slots, n, NULL) != 0;
	PyMem_Free(slots);
	return pyx_op_end(pool, failed);
}

/* A new, empty PersistentList in pool (its own autocommit op). */
static ListObject *new_list(PoolObject *pool, size_t cap)
{
	if (pyx_op_begin(pool))
		return NULL;
	uint64_t off = pmo_list_new(pool->core, cap);
	PyObject *o = off ? pyx_proxy_adopt(pool, &PersistentList_Type, off) : NULL;
	if (pyx_op_end(pool, !o) != 0) {
		Py_XDECREF(o);
		return NULL;
	}
	return (ListObject *)o;
}

/* A new PersistentList holding the values of seq. */
static PyObject *new_list_from(PoolObject *pool, PyObject *seq)
{
	ListObject *r = new_list(pool, (size_t)PySequence_Fast_GET_SIZE(seq));
	if (r && replace_range(r, 0, 0, seq) != 0)
		Py_CLEAR(r);
	return (PyObject *)r;
}

/* --- construction -------------------------------------------------------- */

static PyObject *List_p_new_in(PyTypeObject *cls, PyObject *pool)
{
	if (!PyObject_TypeCheck(pool, &Pool_Type)) {
		PyErr_SetString(PyExc_TypeError, "_p_new_in() needs a PersistentObjectPool");
		return NULL;
	}
	if (pyx_check_open((PoolObject *)pool))
		return NULL;
	return (PyObject *)new_list((PoolObject *)pool, 0);
}

static int List_init(ListObject *self, PyObject *args, PyObject *kw)
{
	PyObject *iterable = NULL;
	if (!_PyArg_NoKeywords("PersistentList", kw) ||
	    !PyArg_UnpackTuple(args, "PersistentList", 0, 1, &iterable))
		return -1;
	pmo_list *l = list_of(self);
	if (!l)
		return -1;
	PyObject *seq = iterable ? PySequence_Fast(iterable, "PersistentList() argument must be iterable")
				 : PyList_New(0);
	if (!seq)
		return -1;
	int rc = replace_range(self, 0, l->len, seq);
	Py_DECREF(seq);
	return rc;
}

/* --- indexing ------------------------------------------------------------ */

static int norm_index(Py_ssize_t *i, Py_ssize_t len, const char *what)
{
	if (*i < 0)
		*i += len;
	if (*i < 0 || *i >= len) {
		PyErr_Format(PyExc_IndexError, "%s index out of range", what);
		return -1;
	}
	return 0;
}

static PyObject *List_item(ListObject *self, Py_ssize_t i)
{
	pmo_list *l = list_of(self);
	if (!l)
		return NULL;
	if (i < 0 || (size_t)i >= l->len) {
		PyErr_SetString(PyExc_IndexError, "list index out of range");
		return NULL;
	}
	pyx_lock(self->pool);
	PyObject *v = item_at(self, l, (size_t)i);
	pyx_unlock(self->pool);
	return v;
}

static PyObject *List_subscript(ListObject *self, PyObject *key)
{
	pmo_list *l = list_of(self);
	if (!l)
		return NULL;
	if (PyIndex_Check(key)) {
		Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
		if (i == -1 && PyErr_Occurred())
			return NULL;
		if (i < 0)
			i += (Py_ssize_t)l->len;
		return List_item(self, i);
	}
	if (!PySlice_Check(key))
		return PyErr_Format(PyExc_TypeError,
				    "list indices must be integers or slices, not %.200s",
				    Py_TYPE(key)->tp_name);
	PyObject *all = as_pylist(self);
	if (!all)
		return NULL;
	PyObject *part = PyObject_GetItem(all, key);
	Py_DECREF(all);
	if (!part)
		return NULL;
	PyObject *r = new_list_from(self->pool, part);
	Py_DECREF(part);
	return r;
}

static int set_item(ListObject *self, Py_ssize_t i, PyObject *v)
{
	if (pyx_check_storable(self->pool, v))
		return -1;
	if (pyx_op_begin(self->pool))
		return -1;
	pmo_list *l = list_of(self);
	int failed = !l;
	if (!failed && (i < 0 || (size_t)i >= l->len)) {
		PyErr_SetString(PyExc_IndexError, "list assignment index out of range");
		failed = 1;
	}
	pmo_slot s;
	if (!failed)
		failed = pyx_to_slot(self->pool, v, &s) != 0 ||
			 pmo_list_set(self->pool->core, l, (size_t)i, s) != 0;
	return pyx_op_end(self->pool, failed);
}

/* Delete the items at the (ascending, distinct) indices of an extended
 * slice: rebuild by deleting from the back. */
static int delete_extended(ListObject *self, Py_ssize_t start, Py_ssize_t step,
			   Py_ssize_t count)
{
	if (pyx_op_begin(self->pool))
		return -1;
	pmo_list *l = list_of(self);
	int failed = !l;
	if (step < 0) {
		start += (count - 1) * step;
		step = -step;
	}
	for (Py_ssize_t k = count - 1; !failed && k >= 0; k--) {
		size_t i = (size_t)(start + k * step);
		failed = pmo_list_replace(self->pool->core, l, i, i + 1, NULL, 0, NULL) != 0;
	}
	return pyx_op_end(self->pool, failed);
}

static int assign_extended(ListObject *self, Py_ssize_t start, Py_ssize_t step,
			   Py_ssize_t count, PyObject *seq)
{
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
	if (n != count) {
		PyErr_Format(PyExc_ValueError,
			     "attempt to assign sequence of size %zd to extended slice of size %zd",
			     n, count);
		return -1;
	}
	if (check_all(self->pool, seq))
		return -1;
	if (pyx_op_begin(self->pool))
		return -1;
	pmo_list *l = list_of(self);
	int failed = !l;
	PyObject **items = PySequence_Fast_ITEMS(seq);
	for (Py_ssize_t k = 0; !failed && k < n; k++) {
		pmo_slot s;
		failed = pyx_to_slot(self->pool, items[k], &s) != 0 ||
			 pmo_list_set(self->pool->core, l, (size_t)(start + k * step), s) != 0;
	}
	return pyx_op_end(self->pool, failed);
}

static int List_ass_subscript(ListObject *self, PyObject *key, PyObject *v)
{
	pmo_list *l = list_of(self);
	if (!l)
		return -1;
	Py_ssize_t len = (Py_ssize_t)l->len;
	if (PyIndex_Check(key)) {
		Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
		if (i == -1 && PyErr_Occurred())
			return -1;
		if (norm_index(&i, len, "list assignment"))
			return -1;
		if (v)
			return set_item(self, i, v);
		return replace_range(self, (size_t)i, (size_t)i + 1, NULL);
	}
	if (!PySlice_Check(key)) {
		PyErr_Format(PyExc_TypeError, "list indices must be integers or slices, not %.200s",
			     Py_TYPE(key)->tp_name);
		return -1;
	}
	Py_ssize_t start, stop, step;
	if (PySlice_Unpack(key, &start, &stop, &step) < 0)
		return -1;
	Py_ssize_t count = PySlice_AdjustIndices(len, &start, &stop, step);
	PyObject *seq = NULL;
	if (v) {
		/* Materialise first: v may be this very list. */
		PyObject *vals = values_of(v);
		if (!vals && PyErr_Occurred())
			return -1;
		seq = vals ? vals : PySequence_Fast(v, "can only assign an iterable");
		if (vals && seq != vals)
			Py_DECREF(vals);
		if (!seq)
			return -1;
	}
	int rc;
	if (step == 1) {
		if (stop < start)
			stop = start;
		rc = replace_range(self, (size_t)start, (size_t)stop, seq);
	} else if (!v) {
		rc = count ? delete_extended(self, start, step, count) : 0;
	} else {
		rc = assign_extended(self, start, step, count, seq);
	}
	Py_XDECREF(seq);
	return rc;
}

static int List_contains(ListObject *self, PyObject *x)
{
	pmo_list *l = list_of(self);
	if (!l)
		return -1;
	for (size_t i = 0; i < l->len; i++) {
		PyObject *v = List_item(self, (Py_ssize_t)i);
		if (!v)
			return -1;
		int eq = PyObject_RichCompareBool(v, x, Py_EQ);
		Py_DECREF(v);
		if (eq != 0)
			return eq;
		if (!(l = list_of(self)))
			return -1;
	}
	return 0;
}

/* --- methods ------------------------------------------------------------- */

static PyObject *List_append(ListObject *self, PyObject *v)
{
	if (pyx_check_storable(self->pool, v))
		return NULL;
	if (pyx_op_begin(self->pool))
		return NULL;
	pmo_list *l = list_of(self);
	pmo_slot s;
	int failed = !l || pyx_to_slot(self->pool, v, &s) != 0 ||
		     pmo_list_append(self->pool->core, l, s) != 0;
	if (pyx_op_end(self->pool, failed))
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *List_extend(ListObject *self, PyObject *iterable)
{
	pmo_list *l = list_of(self);
	if (!l)
		return NULL;
	PyObject *seq = values_of(iterable);
	if (!seq && PyErr_Occurred())
		return NULL;
	if (!seq && !(seq = PySequence_Fast(iterable, "PersistentList.extend() argument must be iterable")))
		return NULL;
	int rc = replace_range(self, l->len, l->len, seq);
	Py_DECREF(seq);
	if (rc)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *List_insert(ListObject *self, PyObject *args)
{
	Py_ssize_t i;
	PyObject *v;
	if (!PyArg_ParseTuple(args, "nO:insert", &i, &v))
		return NULL;
	pmo_list *l = list_of(self);
	if (!l)
		return NULL;
	Py_ssize_t len = (Py_ssize_t)l->len;
	if (i < 0)
		i = i + len < 0 ? 0 : i + len;
	if (i > len)
		i = len;
	PyObject *one = PyTuple_Pack(1, v);
	if (!one)
		return NULL;
	int rc = replace_range(self, (size_t)i, (size_t)i, one);
	Py_DECREF(one);
	if (rc)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *List_pop(ListObject *self, PyObject *args)
{
	Py_ssize_t i = -1;
	if (!PyArg_ParseTuple(args, "|n:pop", &i))
		return NULL;
	if (pyx_op_begin(self->pool))
		return NULL;
	pmo_list *l = list_of(self);
	PyObject *v = NULL;
	int failed = !l;
	if (!failed && l->len == 0) {
		PyErr_SetString(PyExc_IndexError, "pop from empty list");
		failed = 1;
	}
	if (!failed && norm_index(&i, (Py_ssize_t)l->len, "pop"))
		failed = 1;
	pmo_slot gone;
	/* Make the Python value before the slot's reference goes: a proxy
	 * made now keeps a persistent object alive. */
	if (!failed)
		failed = !(v = item_at(self, l, (size_t)i)) ||
			 pmo_list_replace(self->pool->core, l, (size_t)i, (size_t)i + 1,
					  NULL, 0, &gone) != 0 ||
			 pmo_slot_decref(self->pool->core, gone) != 0;
	if (pyx_op_end(self->pool, failed)) {
		Py_XDECREF(v);
		return NULL;
	}
	return v;
}

/* Index of the first item equal to x in [start, stop), or -1 (no error)
 * if there is none, -2 on error. */
static Py_ssize_t find(ListObject *self, PyObject *x, Py_ssize_t start, Py_ssize_t stop)
{
	for (Py_ssize_t i = start;; i++) {
		pmo_list *l = list_of(self);
		if (!l)
			return -2;
		if (i >= stop || (size_t)i >= l->len)
			return -1;
		PyObject *v = List_item(self, i);
		if (!v)
			return -2;
		int eq = PyObject_RichCompareBool(v, x, Py_EQ);
		Py_DECREF(v);
		if (eq < 0)
			return -2;
		if (eq)
			return i;
	}
}

static PyObject *List_remove(ListObject *self, PyObject *x)
{
	Py_ssize_t i = find(self, x, 0, PY_SSIZE_T_MAX);
	if (i == -2)
		return NULL;
	if (i == -1) {
		PyErr_SetString(PyExc_ValueError, "list.remove(x): x not in list");
		return NULL;
	}
	if (replace_range(self, (size_t)i, (size_t)i + 1, NULL))
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *List_index(ListObject *self, PyObject *args)
{
	PyObject *x;
	Py_ssize_t start = 0, stop = PY_SSIZE_T_MAX;
	if (!PyArg_ParseTuple(args, "O|O&O&:index", &x, _PyEval_SliceIndexNotNone, &start,
			      _PyEval_SliceIndexNotNone, &stop))
		return NULL;
	pmo_list *l = list_of(self);
	if (!l)
		return NULL;
	Py_ssize_t len = (Py_ssize_t)l->len;
	if (start < 0 && (start += len) < 0)
		start = 0;
	if (stop < 0 && (stop += len) < 0)
		stop = 0;
	Py_ssize_t i = find(self, x, start, stop);
	if (i == -2)
		return NULL;
	if (i == -1)
		return PyErr_Format(PyExc_ValueError, "%R is not in list", x);
	return PyLong_FromSsize_t(i);
}

static PyObject *List_count(ListObject *self, PyObject *x)
{
	Py_ssize_t n = 0;
	for (Py_ssize_t i = 0;; i++) {
		pmo_list *l = list_of(self);
		if (!l)
			return NULL;
		if ((size_t)i >= l->len)
			break;
		PyObject *v = List_item(self, i);
		if (!v)
			return NULL;
		int eq = PyObject_RichCompareBool(v, x, Py_EQ);
		Py_DECREF(v);
		if (eq < 0)
			return NULL;
		n += eq;
	}
	return PyLong_FromSsize_t(n);
}

/* Apply a permutation computed from a snapshot of n items. */
static PyObject *permute(ListObject *self, PyObject *order, size_t n)
{
	size_t *perm = PyMem_Malloc((n ? n : 1) * sizeof *perm);
	if (!perm)
		return PyErr_NoMemory();
	for (size_t i = 0; i < n; i++)
		perm[i] = PyLong_AsSize_t(PyList_GET_ITEM(order, (Py_ssize_t)i));
	if (pyx_op_begin(self->pool)) {
		PyMem_Free(perm);
		return NULL;
	}
	pmo_list *l = list_of(self);
	int failed = !l;
	if (!failed && l->len != n) {
		PyErr_SetString(PyExc_ValueError, "list modified during sort");
		failed = 1;
	}
	if (!failed)
		failed = pmo_list_permute(self->pool->core, l, perm) != 0;
	PyMem_Free(perm);
	if (pyx_op_end(self->pool, failed))
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *List_sort(ListObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"key", "reverse", NULL};
	PyObject *key = Py_None;
	int reverse = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|$Op:sort", kwlist, &key, &reverse))
		return NULL;
	PyObject *vals = as_pylist(self);
	if (!vals)
		return NULL;
	size_t n = (size_t)PyList_GET_SIZE(vals);
	PyObject *keys = vals, *order = NULL, *r = NULL;
	if (key != Py_None) {
		keys = PyList_New((Py_ssize_t)n);
		for (size_t i = 0; keys && i < n; i++) {
			PyObject *k = PyObject_CallOneArg(key, PyList_GET_ITEM(vals, (Py_ssize_t)i));
			if (!k) {
				Py_CLEAR(keys);
				break;
			}
			PyList_SET_ITEM(keys, (Py_ssize_t)i, k);
		}
		if (!keys)
			goto out;
	}
	/* sorted(range(n), key=keys.__getitem__, reverse=...) is list.sort's
	 * order, stability included. */
	PyObject *range = PyObject_CallFunction((PyObject *)&PyRange_Type, "n", (Py_ssize_t)n);
	PyObject *getter = keys ? PyObject_GetAttrString(keys, "__getitem__") : NULL;
	PyObject *sort_kw = getter ? Py_BuildValue("{sOsO}", "key", getter, "reverse",
						   reverse ? Py_True : Py_False) : NULL;
	order = range && sort_kw ? PySequence_List(range) : NULL;
	if (order) {
		PyObject *sort = PyObject_GetAttrString(order, "sort");
		PyObject *empty = PyTuple_New(0);
		PyObject *done = sort && empty ? PyObject_Call(sort, empty, sort_kw) : NULL;
		Py_XDECREF(sort);
		Py_XDECREF(empty);
		if (!done)
			Py_CLEAR(order);
		Py_XDECREF(done);
	}
	Py_XDECREF(range);
	Py_XDECREF(getter);
	Py_XDECREF(sort_kw);
	if (order)
		r = permute(self, order, n);
out:
	if (keys != vals)
		Py_XDECREF(keys);
	Py_DECREF(vals);
	Py_XDECREF(order);
	return r;
}

static PyObject *List_reverse(ListObject *self, PyObject *unused)
{
	pmo_list *l = list_of(self);
	if (!l)
		return NULL;
	size_t n = l->len;
	PyObject *order = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; order && i < n; i++) {
		PyObject *k = PyLong_FromSize_t(n - 1 - i);
		if (!k) {
			Py_CLEAR(order);
			break;
		}
		PyList_SET_ITEM(order, (Py_ssize_t)i, k);
	}
	if (!order)
		return NULL;
	PyObject *r = permute(self, order, n);
	Py_DECREF(order);
	return r;
}

static PyObject *List_clear(ListObject *self, PyObject *unused)
{
	pmo_list *l = list_of(self);
	if (!l || replace_range(self, 0, l->len, NULL))
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *List_copy(ListObject *self, PyObject *unused)
{
	PyObject *vals = as_pylist(self);
	if (!vals)
		return NULL;
	PyObject *r = new_list_from(self->pool, vals);
	Py_DECREF(vals);
	return r;
}

/* --- operators ----------------------------------------------------------- */

static PyObject *List_concat(ListObject *self, PyObject *other)
{
	PyObject *b = values_of(other);
	if (!b) {
		if (!PyErr_Occurred())
			PyErr_Format(PyExc_TypeError,
				     "can only concatenate list (not \"%.200s\") to list",
				     Py_TYPE(other)->tp_name);
		return NULL;
	}
	PyObject *a = as_pylist(self);
	PyObject *sum = a ? PySequence_Concat(a, b) : NULL;
	Py_XDECREF(a);
	Py_DECREF(b);
	if (!sum)
		return NULL;
	PyObject *r = new_list_from(self->pool, sum);
	Py_DECREF(sum);
	return r;
}

static PyObject *List_repeat(ListObject *self, Py_ssize_t n)
{
	PyObject *a = as_pylist(self);
	PyObject *rep = a ? PySequence_Repeat(a, n) : NULL;
	Py_XDECREF(a);
	if (!rep)
		return NULL;
	PyObject *r = new_list_from(self->pool, rep);
	Py_DECREF(rep);
	return r;
}

static PyObject *List_inplace_concat(ListObject *self, PyObject *other)
{
	PyObject *r = List_extend(self, other);
	if (!r)
		return NULL;
	Py_DECREF(r);
	return Py_NewRef(self);
}

static PyObject *List_inplace_repeat(ListObject *self, Py_ssize_t n)
{
	pmo_list *l = list_of(self);
	if (!l)
		return NULL;
	if (n <= 0) {
		if (replace_range(self, 0, l->len, NULL))
			return NULL;
		return Py_NewRef(self);
	}
	PyObject *a = as_pylist(self);
	PyObject *more = a ? PySequence_Repeat(a, n - 1) : NULL;
	Py_XDECREF(a);
	if (!more)
		return NULL;
	int rc = (l = list_of(self)) ? replace_range(self, l->len, l->len, more) : -1;
	Py_DECREF(more);
	if (rc)
		return NULL;
	return Py_NewRef(self);
}

static PyObject *List_richcompare(ListObject *self, PyObject *other, int op)
{
	PyObject *b = values_of(other);
	if (!b) {
		if (PyErr_Occurred())
			return NULL;
		Py_RETURN_NOTIMPLEMENTED;
	}
	PyObject *a = as_pylist(self);
	PyObject *r = a ? PyObject_RichCompare(a, b, op) : NULL;
	Py_XDECREF(a);
	Py_DECREF(b);
	return r;
}

static PyObject *List_repr(ListObject *self)
{
	if (pyx_proxy_check(self))
		return NULL;
	int rec = Py_ReprEnter((PyObject *)self);
	if (rec != 0)
		return rec > 0 ? PyUnicode_FromString("[...]") : NULL;
	PyObject *r = NULL;
	pmo_list *l = list_of(self);
	PyObject *parts = l ? PyList_New(0) : NULL;
	for (size_t i = 0; parts && i < l->len; i++) {
		PyObject *v = List_item(self, (Py_ssize_t)i);
		PyObject *s = v ? PyObject_Repr(v) : NULL;
		Py_XDECREF(v);
		if (!s || PyList_Append(parts, s) != 0)
			Py_CLEAR(parts);
		Py_XDECREF(s);
		if (parts && !(l = list_of(self)))
			Py_CLEAR(parts);
	}
	if (parts) {
		PyObject *sep = PyUnicode_FromString(", ");
		PyObject *body = sep ? PyUnicode_Join(sep, parts) : NULL;
		r = body ? PyUnicode_FromFormat("[%U]", body) : NULL;
		Py_XDECREF(sep);
		Py_XDECREF(body);
		Py_DECREF(parts);
	}
	Py_ReprLeave((PyObject *)self);
	return r;
}

/* --- iteration ----------------------------------------------------------- */

typedef struct {
	PyObject_HEAD
	ListObject *list;   /* NULL when exhausted */
	Py_ssize_t next;
	int reversed;
} ListIterObject;

static PyTypeObject ListIter_Type;

static PyObject *make_iter(ListObject *self, int reversed)
{
	pmo_list *l = list_of(self);
	if (!l)
		return NULL;
	ListIterObject *it = PyObject_New(ListIterObject, &ListIter_Type);
	if (!it)
		return NULL;
	it->list = (ListObject *)Py_NewRef(self);
	it->reversed = reversed;
	it->next = reversed ? (Py_ssize_t)l->len - 1 : 0;
	return (PyObject *)it;
}

static PyObject *List_iter(ListObject *self)
{
	return make_iter(self, 0);
}

static PyObject *List_reversed(ListObject *self, PyObject *unused)
{
	return make_iter(self, 1);
}

static PyObject *ListIter_next(ListIterObject *it)
{
	if (!it->list)
		return NULL;
	pmo_list *l = list_of(it->list);
	if (!l)
		return NULL;
	if (it->next >= 0 && (size_t)it->next < l->len) {
		PyObject *v = List_item(it->list, it->next);
		it->next += it->reversed ? -1 : 1;
		return v;
	}
	Py_CLEAR(it->list);
	return NULL;
}

static void ListIter_dealloc(ListIterObject *it)
{
	Py_XDECREF(it->list);
	PyObject_Free(it);
}

static PyObject *ListIter_length_hint(ListIterObject *it, PyObject *unused)
{
	Py_ssize_t n = 0;
	if (it->list) {
		Py_ssize_t len = List_len(it->list);
		if (len < 0)
			return NULL;
		n = it->reversed ? it->next + 1 : len - it->next;
	}
	return PyLong_FromSsize_t(n < 0 ? 0 : n);
}

static PyMethodDef ListIter_methods[] = {
	{"__length_hint__", (PyCFunction)ListIter_length_hint, METH_NOARGS, NULL},
	{NULL}
};

static PyTypeObject ListIter_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "pmemobj.PersistentListIterator",
	.tp_basicsize = sizeof(ListIterObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_dealloc = (destructor)ListIter_dealloc,
	.tp_iter = PyObject_SelfIter,
	.tp_iternext = (iternextfunc)ListIter_next,
	.tp_methods = ListIter_methods,
};

/* --- type ---------------------------------------------------------------- */

static PyMethodDef List_methods[] = {
	{"_p_new_in", (PyCFunction)List_p_new_in, METH_O | METH_CLASS,
	 "Create an empty instance in the given pool (used by pool.new)."},
	{"append", (PyCFunction)List_append, METH_O, "Append object to the end of the list."},
	{"extend", (PyCFunction)List_extend, METH_O, "Extend list by appending elements from the iterable."},
	{"insert", (PyCFunction)List_insert, METH_VARARGS, "Insert object before index."},
	{"pop", (PyCFunction)List_pop, METH_VARARGS, "Remove and return item at index (default last)."},
	{"remove", (PyCFunction)List_remove, METH_O, "Remove first occurrence of value."},
	{"index", (PyCFunction)List_index, METH_VARARGS, "Return first index of value."},
	{"count", (PyCFunction)List_count, METH_O, "Return number of occurrences of value."},
	{"sort", (PyCFunction)(void (*)(void))List_sort, METH_VARARGS | METH_KEYWORDS,
	 "Sort the list in place, stably (key=None, reverse=False)."},
	{"reverse", (PyCFunction)List_reverse, METH_NOARGS, "Reverse *IN PLACE*."},
	{"clear", (PyCFunction)List_clear, METH_NOARGS, "Remove all items from list."},
	{"copy", (PyCFunction)List_copy, METH_NOARGS, "Return a shallow copy (a new PersistentList in the same pool)."},
	{"__reversed__", (PyCFunction)List_reversed, METH_NOARGS, NULL},
	{NULL}
};

static PySequenceMethods List_as_sequence = {
	.sq_length = (lenfunc)List_len,
	.sq_concat = (binaryfunc)List_concat,
	.sq_repeat = (ssizeargfunc)List_repeat,
	.sq_item = (ssizeargfunc)List_item,
	.sq_contains = (objobjproc)List_contains,
	.sq_inplace_concat = (binaryfunc)List_inplace_concat,
	.sq_inplace_repeat = (ssizeargfunc)List_inplace_repeat,
};

static PyMappingMethods List_as_mapping = {
	.mp_length = (lenfunc)List_len,
	.mp_subscript = (binaryfunc)List_subscript,
	.mp_ass_subscript = (objobjargproc)List_ass_subscript,
};

PyTypeObject PersistentList_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "pmemobj.PersistentList",
	.tp_basicsize = sizeof(ListObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_SEQUENCE,  /* GC inherited */
	.tp_doc = "PersistentList([iterable]): a list kept in a pool.\n\n"
		  "Create with pool.new(PersistentList, iterable).",
	.tp_base = &Proxy_Type,
	.tp_init = (initproc)List_init,
	.tp_repr = (reprfunc)List_repr,
	.tp_hash = PyObject_HashNotImplemented,
	.tp_richcompare = (richcmpfunc)List_richcompare,
	.tp_iter = (getiterfunc)List_iter,
	.tp_methods = List_methods,
	.tp_as_sequence = &List_as_sequence,
	.tp_as_mapping = &List_as_mapping,
};

int pyx_list_ready(PyObject *module)
{
	if (PyType_Ready(&PersistentList_Type) < 0 || PyType_Ready(&ListIter_Type) < 0)
		return -1;
	pyx_register_proxy_type(PMO_T_LIST, &PersistentList_Type);
	return PyModule_AddObjectRef(module, "PersistentList", (PyObject *)&PersistentList_Type);
}
