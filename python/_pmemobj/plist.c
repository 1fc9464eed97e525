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
 *
 * Threads: anything that depends on the length (range checks, negative
 * index normalisation, "the end" for extend) is decided under the pool
 * lock, in the same critical section as the read or the change it guards;
 * a length read before taking the lock may be stale, since another thread
 * can change the list while this one waits.  Refusals decided inside an
 * operation (index out of range, extended-slice size mismatch) end the
 * operation without rolling back, so an IndexError or ValueError caught by
 * the caller never aborts its enclosing transaction (as a TypeError from
 * pyx_check_storable never does).
 */
#include "proxy.h"

#include <errno.h>

#include "list.h"

typedef ProxyObject ListObject;
extern PyTypeObject PersistentList_Type;

typedef struct {
	PyObject_HEAD ListObject *list; /* NULL when exhausted */
	Py_ssize_t next;
	int reversed;
	/* The item array and length as last seen, valid while the pool's
	 * epoch is still `epoch`: inline items are then read without taking
	 * the lock or validating the list again.  items NULL: not cached. */
	const pmo_slot *items;
	size_t len;
	uint64_t epoch;
} ListIterObject;

static PyTypeObject ListIter_Type;

/* The list behind a proxy, or NULL with an exception. */
static pmo_list *list_of(ListObject *self)
{
	if (pyx_proxy_check(self))
		return NULL;
	/* The core's checked accessor: items and cap come from the pool and
	 * are bounds-checked before anything indexes the array. */
	pmo_list *l = pmo_list_get(self->pool->core, self->off);
	if (!l)
		pyx_raise();
	return l;
}

/* Lock the pool and return the list (NULL with an exception, unlocked,
 * if the pool was closed meanwhile).  Pair with pyx_unlock. */
static pmo_list *lock_list(ListObject *self)
{
	if (pyx_proxy_check(self))
		return NULL;
	pyx_lock(self->pool);
	pmo_list *l = list_of(self); /* the pool may have closed while we waited */
	if (!l)
		pyx_unlock(self->pool);
	return l;
}

/* Under the lock: the length cannot change between reading it and using
 * it, and a reader never sees a transaction of another thread half done
 * (that thread holds the lock until it ends). */
static Py_ssize_t List_len(ListObject *self)
{
	pmo_list *l = lock_list(self);
	if (!l)
		return -1;
	Py_ssize_t n = (Py_ssize_t)l->len;
	pyx_unlock(self->pool);
	return n;
}

/* Item i (already in range, pool locked) as a Python value. */
static PyObject *item_at(ListObject *self, pmo_list *l, size_t i)
{
	return pyx_from_slot(self->pool, pmo_list_items(self->pool->core, l)[i]);
}

/* Item i read under the lock, the range checked in the same critical
 * section (a check made before waiting for the lock may be stale: the
 * slot could be past the end, or in a freed array).  A negative i counts
 * from the end when wrap is set.  Returns 1 with *out set, 0 if i is out
 * of range (no exception), -1 on error. */
static int get_item(ListObject *self, Py_ssize_t i, int wrap, PyObject **out)
{
	PoolObject *pool = self->pool;
	/* The fast path, as ListIter_next's: nothing changed the pool since
	 * this list's array was seen (pool->list_seen) and no other thread
	 * holds the lock (whose transaction could be half done), so the
	 * array and length seen are the list's, and an inline item needs
	 * nothing else of the pool.  Anything else takes the locked path. */
	if (pool && pool->list_seen.items && pool->list_seen.off == self->off &&
	    pool->list_seen.epoch == pool->epoch && pool->core &&
	    (pool->lock_depth == 0 || pool->owner == PyThread_get_thread_ident())) {
		Py_ssize_t n = (Py_ssize_t)pool->list_seen.len, j = wrap && i < 0 ? i + n : i;
		if (j >= 0 && j < n && !pmo_slot_is_ref(pool->list_seen.items[j]))
			return (*out = pyx_from_slot(pool, pool->list_seen.items[j])) ? 1 : -1;
	}
	pmo_list *l = lock_list(self);
	if (!l)
		return -1;
	int rc = 0;
	if (wrap && i < 0)
		i += (Py_ssize_t)l->len;
	if (i >= 0 && (size_t)i < l->len) {
		pool->list_seen.off = self->off;
		pool->list_seen.epoch = pool->epoch;
		pool->list_seen.items = pmo_list_items(pool->core, l);
		pool->list_seen.len = l->len;
		rc = (*out = item_at(self, l, (size_t)i)) ? 1 : -1;
	}
	pyx_unlock(pool);
	return rc;
}

/* All items as a new Python list. */
static PyObject *as_pylist(ListObject *self)
{
	pmo_list *l = lock_list(self);
	if (!l)
		return NULL;
	size_t n = l->len;
	PyObject *out = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; out && i < n; i++) {
		PyObject *v = NULL;
		/* Loading a pickle runs Python code, which could shrink the
		 * list in this very thread: never read past the end. */
		if (i >= l->len)
			PyErr_SetString(PyExc_RuntimeError, "list changed size during iteration");
		else
			v = item_at(self, l, i);
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

/* The values of any iterable as a list or tuple (new reference), read
 * before any transaction opens (the iteration runs user code), with
 * list()'s error for a non-iterable ("'int' object is not iterable"), or
 * msg instead.  A PersistentList is read under its lock in one go (it may
 * be self); a list or tuple subclass is iterated, as list() does, since it
 * may override __iter__. */
static PyObject *as_values(PyObject *iterable, const char *msg)
{
	if (Py_IS_TYPE(iterable, &PersistentList_Type))
		return as_pylist((ListObject *)iterable);
	return pyx_iterate_all(iterable, msg);
}

/* End an operation that refused its arguments after looking at the list
 * (say, an index out of range): nothing was changed, so commit the empty
 * level instead of rolling back the caller's transaction, and keep the
 * exception.  Returns -1. */
static int op_refuse(PoolObject *pool)
{
	PyObject *et, *ev, *tb;
	PyErr_Fetch(&et, &ev, &tb);
	if (pyx_op_end(pool, 0) == 0) {
		PyErr_Restore(et, ev, tb);
	} else {
		Py_XDECREF(et);
		Py_XDECREF(ev);
		Py_XDECREF(tb);
	}
	return -1;
}

/* CPython's wording for a wrong number of positional arguments. */
static int check_nargs(const char *name, Py_ssize_t n, Py_ssize_t min, Py_ssize_t max)
{
	if (n < min)
		PyErr_Format(PyExc_TypeError, "%s expected %s%zd argument%s, got %zd", name,
			     min == max ? "" : "at least ", min, min == 1 ? "" : "s", n);
	else if (n > max)
		PyErr_Format(PyExc_TypeError, "%s expected %s%zd argument%s, got %zd", name,
			     min == max ? "" : "at most ", max, max == 1 ? "" : "s", n);
	else
		return 0;
	return -1;
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

/* Replace [lo, hi) by the items of seq: the primitive behind extend,
 * remove, clear and __init__.  lo and hi are clamped to the length read
 * inside the operation, so SIZE_MAX means "the end" as it is then. */
static int replace_range(ListObject *self, size_t lo, size_t hi, PyObject *seq)
{
	PoolObject *pool = self->pool;
	if (seq && pyx_check_all_storable(pool, seq))
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
	return (ListObject *)pyx_op_end_made(
		pool, off ? pyx_proxy_adopt(pool, &PersistentList_Type, off) : NULL);
}

/* A new PersistentList holding the values of seq. */
static PyObject *new_list_from(PoolObject *pool, PyObject *seq)
{
	ListObject *r = new_list(pool, (size_t)PySequence_Fast_GET_SIZE(seq));
	if (r && replace_range(r, 0, 0, seq) != 0)
		Py_CLEAR(r);
	return (PyObject *)r;
}

static const pyx_seqkind list_kind = {"list", values_of, new_list_from};

/* --- construction -------------------------------------------------------- */

static PyObject *List_p_new_in(PyTypeObject *cls, PyObject *pool_o)
{
	PoolObject *pool = pyx_new_in_pool(pool_o);
	if (!pool || pyx_check_open(pool))
		return NULL;
	return (PyObject *)new_list(pool, 0);
}

static int List_init(ListObject *self, PyObject *args, PyObject *kw)
{
	PyObject *iterable = NULL;
	if (!_PyArg_NoKeywords("PersistentList", kw) ||
	    !PyArg_UnpackTuple(args, "PersistentList", 0, 1, &iterable))
		return -1;
	if (!list_of(self))
		return -1;
	/* list.__init__ empties the list, then iterates the argument: the
	 * list itself, or an iterator over it, then gives nothing. */
	if (iterable && Py_IS_TYPE(iterable, &ListIter_Type) &&
	    ((ListIterObject *)iterable)->list == self) {
		Py_CLEAR(((ListIterObject *)iterable)->list); /* exhausted, as list's */
		iterable = NULL;
	}
	if (iterable == (PyObject *)self)
		iterable = NULL;
	PyObject *seq = iterable ? as_values(iterable, NULL) : PyList_New(0);
	if (!seq)
		return -1;
	int rc = replace_range(self, 0, SIZE_MAX, seq);
	Py_DECREF(seq);
	return rc;
}

/* --- indexing ------------------------------------------------------------ */

/* Normalise a possibly negative index against len; -1 with IndexError
 * ("<what> index out of range") if it is outside. */
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

/* get_item with list's IndexError for an index out of range. */
static PyObject *item_or_error(ListObject *self, Py_ssize_t i, int wrap)
{
	PyObject *v = NULL;
	int rc = get_item(self, i, wrap, &v);
	if (rc == 0)
		PyErr_SetString(PyExc_IndexError, "list index out of range");
	return rc > 0 ? v : NULL;
}

/* sq_item: i is not wrapped (PySequence_GetItem wraps it). */
static PyObject *List_item(ListObject *self, Py_ssize_t i)
{
	return item_or_error(self, i, 0);
}

/* An exact int that fits a single CPython digit, read without a call
 * (PyIndex_Check and PyLong_AsSsize_t are calls into libpython). */
static inline int small_index(PyObject *key, Py_ssize_t *i)
{
	if (!PyLong_CheckExact(key))
		return 0;
#if PY_VERSION_HEX >= 0x030c0000
	if (!PyUnstable_Long_IsCompact((PyLongObject *)key))
		return 0;
	*i = PyUnstable_Long_CompactValue((PyLongObject *)key);
#else
	Py_ssize_t size = Py_SIZE(key);
	if (size < -1 || size > 1)
		return 0;
	*i = size * (Py_ssize_t)((PyLongObject *)key)->ob_digit[0];
#endif
	return 1;
}

static PyObject *List_subscript(ListObject *self, PyObject *key)
{
	Py_ssize_t i;
	if (small_index(key, &i)) /* l[int], the hot path */
		return item_or_error(self, i, 1);
	if (PyIndex_Check(key)) {
		/* An index too big for Py_ssize_t raises list's IndexError. */
		i = PyNumber_AsSsize_t(key, PyExc_IndexError);
		if (i == -1 && PyErr_Occurred())
			return NULL;
		return item_or_error(self, i, 1);
	}
	if (!list_of(self))
		return NULL;
	if (!PySlice_Check(key))
		return PyErr_Format(PyExc_TypeError,
				    "list indices must be integers or slices, not %.200s",
				    Py_TYPE(key)->tp_name);
	return pyx_seq_slice(&list_kind, (PyObject *)self, key);
}

/* self[i] = v, or del self[i] when v is NULL; i may be negative.  The
 * index is normalised inside the operation: normalised against a length
 * read earlier, two threads each deleting self[-1] could delete one item
 * between them. */
static int assign_index(ListObject *self, Py_ssize_t i, PyObject *v)
{
	PoolObject *pool = self->pool;
	if (v && pyx_check_storable(pool, v))
		return -1;
	if (pyx_op_begin(pool))
		return -1;
	pmo_list *l = list_of(self);
	if (!l)
		return pyx_op_end(pool, 1);
	if (norm_index(&i, (Py_ssize_t)l->len, "list assignment"))
		return op_refuse(pool);
	pmo_slot s;
	int failed =
		v ? pyx_to_slot(pool, v, &s) != 0 ||
				(pmo_tx_single_store(),
				 pmo_list_set(pool->core, l, (size_t)i, s)) != 0
		  : pmo_list_replace(pool->core, l, (size_t)i, (size_t)i + 1, NULL, 0, NULL) != 0;
	return pyx_op_end(pool, failed);
}

/* self[key] = seq (a list or tuple), or del self[key] when seq is NULL,
 * for a slice key whose start, stop and step are already unpacked.  The
 * indices are adjusted to the length inside the operation. */
static int assign_slice(ListObject *self, Py_ssize_t start, Py_ssize_t stop, Py_ssize_t step,
			PyObject *seq)
{
	PoolObject *pool = self->pool;
	if (seq && pyx_check_all_storable(pool, seq))
		return -1;
	if (pyx_op_begin(pool))
		return -1;
	pmo_list *l = list_of(self);
	if (!l)
		return pyx_op_end(pool, 1);
	pmo_pool *core = pool->core;
	Py_ssize_t count = PySlice_AdjustIndices((Py_ssize_t)l->len, &start, &stop, step);
	Py_ssize_t n = seq ? PySequence_Fast_GET_SIZE(seq) : 0;
	int failed = 0;
	if (step == 1) {
		if (stop < start)
			stop = start;
		pmo_slot *slots = NULL;
		if (n && !(slots = to_slots(pool, seq)))
			return pyx_op_end(pool, 1);
		failed = pmo_list_replace(core, l, (size_t)start, (size_t)stop, slots, (size_t)n,
					  NULL) != 0;
		PyMem_Free(slots);
	} else if (!seq) {
		/* Delete from the highest index down so that the indices still
		 * to go do not move. */
		if (step < 0) {
			start += (count - 1) * step;
			step = -step;
		}
		for (Py_ssize_t k = count - 1; !failed && k >= 0; k--) {
			size_t i = (size_t)(start + k * step);
			failed = pmo_list_replace(core, l, i, i + 1, NULL, 0, NULL) != 0;
		}
	} else {
		if (n != count) {
			PyErr_Format(PyExc_ValueError,
				     "attempt to assign sequence of size %zd to extended slice of "
				     "size %zd",
				     n, count);
			return op_refuse(pool);
		}
		PyObject **items = PySequence_Fast_ITEMS(seq);
		for (Py_ssize_t k = 0; !failed && k < n; k++) {
			pmo_slot s;
			failed = pyx_to_slot(pool, items[k], &s) != 0 ||
				 pmo_list_set(core, l, (size_t)(start + k * step), s) != 0;
		}
	}
	return pyx_op_end(pool, failed);
}

static int List_ass_subscript(ListObject *self, PyObject *key, PyObject *v)
{
	if (!list_of(self))
		return -1;
	if (PyIndex_Check(key)) {
		Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
		if (i == -1 && PyErr_Occurred())
			return -1;
		return assign_index(self, i, v);
	}
	if (!PySlice_Check(key)) {
		PyErr_Format(PyExc_TypeError, "list indices must be integers or slices, not %.200s",
			     Py_TYPE(key)->tp_name);
		return -1;
	}
	Py_ssize_t start, stop, step;
	if (PySlice_Unpack(key, &start, &stop, &step) < 0)
		return -1;
	PyObject *seq = NULL;
	if (v) {
		/* Materialise first: v may be this very list. */
		seq = as_values(v, step == 1 ? "can only assign an iterable"
					     : "must assign iterable to extended slice");
		if (!seq)
			return -1;
	}
	int rc = assign_slice(self, start, stop, step, seq);
	Py_XDECREF(seq);
	return rc;
}

/* Index of the first item equal to x in [start, stop), or -1 (no error)
 * if there is none, -2 on error.  The comparisons run Python code that
 * may change the list; like list's, the search goes on by index. */
static Py_ssize_t find(ListObject *self, PyObject *x, Py_ssize_t start, Py_ssize_t stop)
{
	for (Py_ssize_t i = start; i < stop; i++) {
		PyObject *v = NULL;
		int rc = get_item(self, i, 0, &v);
		if (rc <= 0)
			return rc == 0 ? -1 : -2;
		int eq = PyObject_RichCompareBool(v, x, Py_EQ);
		Py_DECREF(v);
		if (eq < 0)
			return -2;
		if (eq)
			return i;
	}
	return -1;
}

static int List_contains(ListObject *self, PyObject *x)
{
	Py_ssize_t i = find(self, x, 0, PY_SSIZE_T_MAX);
	return i == -2 ? -1 : i >= 0;
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
	/* The append is the operation's only change: published, not
	 * logged, when nothing else was (pmo_tx_publish). */
	int failed = !l || pyx_to_slot(self->pool, v, &s) != 0 ||
		     (pmo_tx_single_store(), pmo_list_append(self->pool->core, l, s)) != 0;
	if (pyx_op_end(self->pool, failed))
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *List_extend(ListObject *self, PyObject *iterable)
{
	if (!list_of(self))
		return NULL;
	PyObject *seq = as_values(iterable, NULL);
	if (!seq)
		return NULL;
	/* At the end as it is inside the operation, not as it was before
	 * (another thread may append meanwhile). */
	int rc = replace_range(self, SIZE_MAX, SIZE_MAX, seq);
	Py_DECREF(seq);
	if (rc)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *List_insert(ListObject *self, PyObject *args)
{
	Py_ssize_t i;
	PyObject *v;
	if (check_nargs("insert", PyTuple_GET_SIZE(args), 2, 2) ||
	    !PyArg_ParseTuple(args, "nO:insert", &i, &v))
		return NULL;
	PoolObject *pool = self->pool;
	if (!list_of(self) || pyx_check_storable(pool, v) || pyx_op_begin(pool))
		return NULL;
	pmo_list *l = list_of(self);
	pmo_slot s;
	int failed = !l;
	if (!failed) {
		/* Clamp against the length inside the operation. */
		Py_ssize_t len = (Py_ssize_t)l->len;
		if (i < 0)
			i = i + len < 0 ? 0 : i + len;
		if (i > len)
			i = len;
		failed = pyx_to_slot(pool, v, &s) != 0 ||
			 pmo_list_insert(pool->core, l, (size_t)i, s) != 0;
	}
	if (pyx_op_end(pool, failed))
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *List_pop(ListObject *self, PyObject *args)
{
	Py_ssize_t i = -1;
	if (check_nargs("pop", PyTuple_GET_SIZE(args), 0, 1) ||
	    !PyArg_ParseTuple(args, "|n:pop", &i))
		return NULL;
	if (pyx_op_begin(self->pool))
		return NULL;
	pmo_list *l = list_of(self);
	if (!l) {
		pyx_op_end(self->pool, 1);
		return NULL;
	}
	/* An empty list or a bad index is refused without rolling back the
	 * caller's transaction: `try: x.pop() except IndexError` is common. */
	if (l->len == 0) {
		PyErr_SetString(PyExc_IndexError, "pop from empty list");
		op_refuse(self->pool);
		return NULL;
	}
	if (norm_index(&i, (Py_ssize_t)l->len, "pop")) {
		op_refuse(self->pool);
		return NULL;
	}
	pmo_slot gone;
	/* Make the Python value before the slot's reference goes: a proxy
	 * made now keeps a persistent object alive. */
	PyObject *v = item_at(self, l, (size_t)i);
	int failed = !v ||
		     pmo_list_replace(self->pool->core, l, (size_t)i, (size_t)i + 1, NULL, 0,
				      &gone) != 0 ||
		     pmo_slot_decref(self->pool->core, gone) != 0;
	if (pyx_op_end(self->pool, failed)) {
		Py_XDECREF(v);
		return NULL;
	}
	return v;
}

static PyObject *List_remove(ListObject *self, PyObject *x)
{
	/* Search and delete under one hold of the pool lock, so that another
	 * thread cannot move the item between finding and deleting it. */
	if (!lock_list(self))
		return NULL;
	PyObject *r = NULL;
	Py_ssize_t i = find(self, x, 0, PY_SSIZE_T_MAX);
	if (i == -1)
		PyErr_SetString(PyExc_ValueError, "list.remove(x): x not in list");
	else if (i >= 0 && replace_range(self, (size_t)i, (size_t)i + 1, NULL) == 0)
		r = Py_NewRef(Py_None);
	pyx_unlock(self->pool);
	return r;
}

static PyObject *List_index(ListObject *self, PyObject *args)
{
	PyObject *x;
	Py_ssize_t start = 0, stop = PY_SSIZE_T_MAX;
	if (check_nargs("index", PyTuple_GET_SIZE(args), 1, 3) ||
	    !PyArg_ParseTuple(args, "O|O&O&:index", &x, _PyEval_SliceIndexNotNone, &start,
			      _PyEval_SliceIndexNotNone, &stop))
		return NULL;
	if (start < 0 || stop < 0) {
		Py_ssize_t len = List_len(self);
		if (len < 0)
			return NULL;
		if (start < 0 && (start += len) < 0)
			start = 0;
		if (stop < 0 && (stop += len) < 0)
			stop = 0;
	}
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
		PyObject *v = NULL;
		int rc = get_item(self, i, 0, &v);
		if (rc < 0)
			return NULL;
		if (rc == 0)
			break;
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
		PyMem_Free(perm);
		PyErr_SetString(PyExc_ValueError, "list modified during sort");
		op_refuse(self->pool);
		return NULL;
	}
	if (!failed)
		failed = pmo_list_permute(self->pool->core, l, perm) != 0;
	PyMem_Free(perm);
	if (pyx_op_end(self->pool, failed))
		return NULL;
	Py_RETURN_NONE;
}

/* The permutation (a list of n ints) that sorts vals as list.sort would. */
static PyObject *sort_order(PyObject *vals, PyObject *key, int reverse)
{
	Py_ssize_t n = PyList_GET_SIZE(vals);
	PyObject *keys = vals, *order = NULL;
	if (key != Py_None) {
		keys = PyList_New(n);
		for (Py_ssize_t i = 0; keys && i < n; i++) {
			PyObject *k = PyObject_CallOneArg(key, PyList_GET_ITEM(vals, i));
			if (!k) {
				Py_CLEAR(keys);
				break;
			}
			PyList_SET_ITEM(keys, i, k);
		}
		if (!keys)
			return NULL;
	}
	/* sorted(range(n), key=keys.__getitem__, reverse=...) is list.sort's
	 * order, stability included: it compares the same keys. */
	PyObject *range = PyObject_CallFunction((PyObject *)&PyRange_Type, "n", n);
	PyObject *getter = PyObject_GetAttrString(keys, "__getitem__");
	PyObject *sort_kw = getter ? Py_BuildValue("{sOsO}", "key", getter, "reverse",
						   reverse ? Py_True : Py_False)
				   : NULL;
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
	if (keys != vals)
		Py_DECREF(keys);
	return order;
}

static PyObject *List_sort(ListObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"key", "reverse", NULL};
	PyObject *key = Py_None;
	int reverse = 0;
	/* "i" as list.sort: reverse must be an int (or bool). */
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|$Oi:sort", kwlist, &key, &reverse))
		return NULL;
	/* One hold of the lock from reading to rearranging: another thread's
	 * change in between would be scrambled by a stale permutation. */
	if (!lock_list(self))
		return NULL;
	PyObject *r = NULL, *order = NULL;
	PyObject *vals = as_pylist(self);
	if (vals)
		order = sort_order(vals, key, reverse);
	if (order)
		r = permute(self, order, (size_t)PyList_GET_SIZE(vals));
	Py_XDECREF(vals);
	Py_XDECREF(order);
	pyx_unlock(self->pool);
	return r;
}

static PyObject *List_reverse(ListObject *self, PyObject *unused)
{
	pmo_list *l = lock_list(self);
	if (!l)
		return NULL;
	size_t n = l->len;
	PyObject *r = NULL, *order = PyList_New((Py_ssize_t)n);
	for (size_t i = 0; order && i < n; i++) {
		PyObject *k = PyLong_FromSize_t(n - 1 - i);
		if (!k) {
			Py_CLEAR(order);
			break;
		}
		PyList_SET_ITEM(order, (Py_ssize_t)i, k);
	}
	if (order)
		r = permute(self, order, n);
	Py_XDECREF(order);
	pyx_unlock(self->pool);
	return r;
}

static PyObject *List_clear(ListObject *self, PyObject *unused)
{
	if (!list_of(self) || replace_range(self, 0, SIZE_MAX, NULL))
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
	return pyx_seq_concat(&list_kind, (PyObject *)self, other, 1);
}

/* nb_add: list + PersistentList, which list's own + refuses (it takes a
 * list only); a new PersistentList in the persistent operand's pool, as
 * tuple + PersistentTuple.  PersistentList + x is sq_concat's. */
static PyObject *List_add(PyObject *a, PyObject *b)
{
	if (PyList_Check(a) && PyObject_TypeCheck(b, &PersistentList_Type))
		return pyx_seq_concat(&list_kind, b, a, 0);
	Py_RETURN_NOTIMPLEMENTED;
}

static PyObject *List_repeat(ListObject *self, Py_ssize_t n)
{
	return pyx_seq_repeat(&list_kind, (PyObject *)self, n);
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
	if (!list_of(self))
		return NULL;
	if (n <= 0) {
		if (replace_range(self, 0, SIZE_MAX, NULL))
			return NULL;
		return Py_NewRef(self);
	}
	/* Read and append under one hold of the lock: the copies must be of
	 * the list as it is when they are appended. */
	if (!lock_list(self))
		return NULL;
	PyObject *a = as_pylist(self);
	PyObject *more = a ? PySequence_Repeat(a, n - 1) : NULL;
	Py_XDECREF(a);
	int rc = more ? replace_range(self, SIZE_MAX, SIZE_MAX, more) : -1;
	Py_XDECREF(more);
	pyx_unlock(self->pool);
	if (rc)
		return NULL;
	return Py_NewRef(self);
}

static PyObject *List_richcompare(ListObject *self, PyObject *other, int op)
{
	return pyx_seq_richcompare(&list_kind, (PyObject *)self, other, op);
}

static PyObject *List_repr(ListObject *self)
{
	if (pyx_proxy_check(self))
		return NULL;
	int rec = Py_ReprEnter((PyObject *)self);
	if (rec != 0)
		return rec > 0 ? PyUnicode_FromString("[...]") : NULL;
	PyObject *parts = PyList_New(0);
	for (Py_ssize_t i = 0; parts; i++) {
		PyObject *v = NULL;
		int rc = get_item(self, i, 0, &v);
		if (rc == 0)
			break;
		PyObject *s = rc > 0 ? PyObject_Repr(v) : NULL;
		Py_XDECREF(v);
		if (!s || PyList_Append(parts, s) != 0)
			Py_CLEAR(parts);
		Py_XDECREF(s);
	}
	PyObject *r = pyx_join_reprs(parts, "[%U]");
	Py_ReprLeave((PyObject *)self);
	return r;
}

/* --- iteration ----------------------------------------------------------- */


static PyObject *make_iter(ListObject *self, int reversed)
{
	Py_ssize_t len = reversed ? List_len(self) : (list_of(self) ? 0 : -1);
	if (len < 0)
		return NULL;
	ListIterObject *it = PyObject_New(ListIterObject, &ListIter_Type);
	if (!it)
		return NULL;
	it->list = (ListObject *)Py_NewRef(self);
	it->reversed = reversed;
	it->next = reversed ? len - 1 : 0;
	it->items = NULL;
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

/* As list's iterators: by index, so a change to the list shows up, and
 * once past an end the iterator stays exhausted. */
static PyObject *ListIter_next(ListIterObject *it)
{
	if (!it->list)
		return NULL;
	PoolObject *pool = it->list->pool;
	/* The fast path: nothing changed the pool since the array was seen
	 * and no other thread holds the lock (whose transaction could be half
	 * done), so the cached array is the list's; an inline item needs
	 * nothing else of the pool.  Anything else takes the locked path. */
	if (it->items && it->epoch == pool->epoch && pool->core &&
	    (pool->lock_depth == 0 || pool->owner == PyThread_get_thread_ident()) &&
	    it->next >= 0 && (size_t)it->next < it->len && !pmo_slot_is_ref(it->items[it->next])) {
		PyObject *v = pyx_from_slot(pool, it->items[it->next]);
		if (v)
			it->next += it->reversed ? -1 : 1;
		return v;
	}
	PyObject *v = NULL;
	int rc = 0;
	if (it->next >= 0) {
		pmo_list *l = lock_list(it->list);
		if (!l) {
			rc = -1;
		} else {
			if ((size_t)it->next < l->len) {
				it->items = pmo_list_items(pool->core, l);
				it->len = l->len;
				it->epoch = pool->epoch;
				rc = (v = item_at(it->list, l, (size_t)it->next)) ? 1 : -1;
			}
			pyx_unlock(pool);
		}
	}
	if (rc > 0) {
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
		if (!it->reversed)
			n = len - it->next;
		else if (it->next < len) /* list's reversed iterator: 0 once it shrank below */
			n = it->next + 1;
	}
	return PyLong_FromSsize_t(n < 0 ? 0 : n);
}

static PyMethodDef ListIter_methods[] = {
	{"__length_hint__", (PyCFunction)ListIter_length_hint, METH_NOARGS, NULL}, {NULL}};

static PyTypeObject ListIter_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentListIterator",
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
	{"extend", (PyCFunction)List_extend, METH_O,
	 "Extend list by appending elements from the iterable."},
	{"insert", (PyCFunction)List_insert, METH_VARARGS, "Insert object before index."},
	{"pop", (PyCFunction)List_pop, METH_VARARGS,
	 "Remove and return item at index (default last)."},
	{"remove", (PyCFunction)List_remove, METH_O, "Remove first occurrence of value."},
	{"index", (PyCFunction)List_index, METH_VARARGS, "Return first index of value."},
	{"count", (PyCFunction)List_count, METH_O, "Return number of occurrences of value."},
	{"sort", (PyCFunction)(void (*)(void))List_sort, METH_VARARGS | METH_KEYWORDS,
	 "Sort the list in place, stably (key=None, reverse=False)."},
	{"reverse", (PyCFunction)List_reverse, METH_NOARGS, "Reverse *IN PLACE*."},
	{"clear", (PyCFunction)List_clear, METH_NOARGS, "Remove all items from list."},
	{"copy", (PyCFunction)List_copy, METH_NOARGS,
	 "Return a shallow copy (a new PersistentList in the same pool)."},
	{"__reversed__", (PyCFunction)List_reversed, METH_NOARGS, NULL},
	/* list's __getitem__ is a method of its own (errors name it). */
	{"__getitem__", (PyCFunction)List_subscript, METH_O | METH_COEXIST,
	 "x.__getitem__(y) <==> x[y]"},
	{"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS, "See PEP 585"},
	/* list's __add__ is its concatenation, which refuses a non-list with
	 * TypeError; the nb_add slot (for list + PersistentList) answers
	 * NotImplemented instead, so __add__ is spelled out. */
	{"__add__", (PyCFunction)List_concat, METH_O | METH_COEXIST, "Return self+value."},
	{NULL}};

static PyNumberMethods List_as_number = {
	.nb_add = List_add,
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
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentList",
	.tp_basicsize = sizeof(ListObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_SEQUENCE, /* GC inherited */
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
	.tp_as_number = &List_as_number,
};

int pyx_list_ready(PyObject *module)
{
	if (PyType_Ready(&PersistentList_Type) < 0 || PyType_Ready(&ListIter_Type) < 0 ||
	    pyx_register_abc("MutableSequence", &PersistentList_Type) < 0 ||
	    pyx_add_methods(&PersistentList_Type, pyx_plain_methods) < 0)
		return -1;
	pyx_register_proxy_type(PMO_T_LIST, &PersistentList_Type);
	return PyModule_AddObjectRef(module, "PersistentList", (PyObject *)&PersistentList_Type);
}
