/*
 * PersistentArray: the sequence API of array.array over src/array.c, and
 * the buffer protocol, so that memoryview(a) and numpy.asarray(a) read the
 * persistent items in place.
 *
 * Invariants:
 * - Reads through a buffer never see memory that was freed or unmapped:
 *   while any buffer of an array is exported, its length cannot change
 *   (BufferError, as array.array does), so its block is never moved; and
 *   the pool cannot close while any buffer of any of its arrays is
 *   exported (close() raises BufferError).
 * - No write bypasses a transaction: the buffer of the array itself is
 *   read-only.  a.writable(lo, hi) is a context manager that joins (or
 *   opens) a transaction, snapshots items [lo, hi) once, and yields a
 *   writable memoryview of exactly that range; when the block ends the
 *   view is released (a view still exported then, e.g. kept by a NumPy
 *   array, is an error: BufferError, and the transaction rolls back).
 * - Values are converted with the array module's own rules and errors:
 *   the binding builds an array.array of the new items and copies its
 *   bytes, except on the fast paths for exact floats and ints.
 *
 * Multi-dimensional arrays (shape=...) index their items flat, in C
 * order; their buffer has the shape, so NumPy sees the n-d array.
 */
#include "proxy.h"

#include <errno.h>
#include <string.h>

#include "array.h"

typedef struct {
	ProxyObject base;
	Py_ssize_t exports; /* buffers of this array now exported */
} ArrayObject;

extern PyTypeObject PersistentArray_Type;
static PyTypeObject ArrayWriter_Type;

static PyObject *array_module; /* the `array` module */

/* --- access --------------------------------------------------------------- */

static pmo_array *array_of(ArrayObject *self)
{
	if (pyx_proxy_check(&self->base))
		return NULL;
	pmo_array *a = pmo_array_get(self->base.pool->core, self->base.off);
	if (!a)
		pyx_raise();
	return a;
}

static pmo_array *lock_array(ArrayObject *self)
{
	if (pyx_proxy_check(&self->base))
		return NULL;
	pyx_lock(self->base.pool);
	pmo_array *a = array_of(self);
	if (!a)
		pyx_unlock(self->base.pool);
	return a;
}

static char typecode_of(const pmo_array *a)
{
	return (char)a->head.flags;
}

/* The item at p as a Python number. */
static PyObject *item_value(char tc, const char *p)
{
	switch (tc) {
	case 'b':
		return PyLong_FromLong(*(const signed char *)p);
	case 'B':
		return PyLong_FromLong(*(const unsigned char *)p);
	case 'h': {
		short v;
		memcpy(&v, p, sizeof v);
		return PyLong_FromLong(v);
	}
	case 'H': {
		unsigned short v;
		memcpy(&v, p, sizeof v);
		return PyLong_FromLong(v);
	}
	case 'i': {
		int v;
		memcpy(&v, p, sizeof v);
		return PyLong_FromLong(v);
	}
	case 'I': {
		unsigned v;
		memcpy(&v, p, sizeof v);
		return PyLong_FromUnsignedLong(v);
	}
	case 'l': {
		long v;
		memcpy(&v, p, sizeof v);
		return PyLong_FromLong(v);
	}
	case 'L': {
		unsigned long v;
		memcpy(&v, p, sizeof v);
		return PyLong_FromUnsignedLong(v);
	}
	case 'q': {
		long long v;
		memcpy(&v, p, sizeof v);
		return PyLong_FromLongLong(v);
	}
	case 'Q': {
		unsigned long long v;
		memcpy(&v, p, sizeof v);
		return PyLong_FromUnsignedLongLong(v);
	}
	case 'f': {
		float v;
		memcpy(&v, p, sizeof v);
		return PyFloat_FromDouble(v);
	}
	case 'd': {
		double v;
		memcpy(&v, p, sizeof v);
		return PyFloat_FromDouble(v);
	}
	case 'u': {
		wchar_t v;
		memcpy(&v, p, sizeof v);
		return PyUnicode_FromWideChar(&v, 1);
	}
	}
	PyErr_SetString(PyExc_SystemError, "bad typecode");
	return NULL;
}

/* array.array(tc, iterable): the array module converts and checks the
 * values, with its own errors. */
static PyObject *make_array(char tc, PyObject *iterable)
{
	return PyObject_CallMethod(array_module, "array", "CO", tc, iterable);
}

static PyObject *empty_array(char tc)
{
	return PyObject_CallMethod(array_module, "array", "C", tc);
}

/* The bytes of one value v as an item of type tc, into out (8 bytes). */
static int item_bytes(char tc, PyObject *v, char *out, size_t isz)
{
	if (tc == 'd' && PyFloat_CheckExact(v)) {
		double d = PyFloat_AS_DOUBLE(v);
		memcpy(out, &d, sizeof d);
		return 0;
	}
	if ((tc == 'q' || tc == 'l') && PyLong_CheckExact(v)) {
		int overflow;
		long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
		if (!overflow && !(x == -1 && PyErr_Occurred())) {
			memcpy(out, &x, sizeof x);
			return 0;
		}
		PyErr_Clear(); /* let the array module say what is wrong */
	}
	PyObject *one = PyTuple_Pack(1, v);
	PyObject *arr = one ? make_array(tc, one) : NULL;
	Py_XDECREF(one);
	if (!arr)
		return -1;
	Py_buffer b;
	int rc = PyObject_GetBuffer(arr, &b, PyBUF_SIMPLE);
	if (rc == 0) {
		memcpy(out, b.buf, isz);
		PyBuffer_Release(&b);
	}
	Py_DECREF(arr);
	return rc;
}

/* --- construction ------------------------------------------------------------- */

static PyObject *Array_p_new_in(PyTypeObject *cls, PyObject *pool_o)
{
	PoolObject *pool = pyx_new_in_pool(pool_o);
	if (!pool || pyx_check_open(pool) || pyx_op_begin(pool))
		return NULL;
	/* No items yet: __init__ gives the array its typecode and items. */
	uint64_t off = pmo_array_new(pool->core, 'b', 0, 1, NULL);
	return pyx_op_end_made(pool,
			       off ? pyx_proxy_adopt(pool, &PersistentArray_Type, off) : NULL);
}

/* PersistentArray(typecode, initializer=0, shape=None): an int
 * initializer is a count of zero items, anything else an iterable of
 * values (the array module converts them).  Gives the array made by
 * _p_new_in its typecode, shape and items. */
static int Array_init(ArrayObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"typecode", "initializer", "shape", NULL};
	int tc;
	PyObject *init = NULL, *shape_o = Py_None;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "C|OO:PersistentArray", kwlist, &tc, &init,
					 &shape_o))
		return -1;
	if (!pmo_array_itemsize(tc)) {
		PyErr_SetString(PyExc_ValueError,
				"bad typecode (must be b, B, u, h, H, i, I, l, L, q, Q, f or d)");
		return -1;
	}
	uint64_t shape[PMO_ARRAY_MAXDIM];
	uint32_t ndim = 1;
	size_t want = 0; /* items the shape asks for */
	if (shape_o != Py_None) {
		PyObject *seq = PySequence_Fast(shape_o, "shape must be a sequence of ints");
		if (!seq)
			return -1;
		Py_ssize_t nd = PySequence_Fast_GET_SIZE(seq);
		if (nd < 1 || nd > PMO_ARRAY_MAXDIM) {
			Py_DECREF(seq);
			PyErr_Format(PyExc_ValueError, "shape must have 1 to %d dimensions",
				     PMO_ARRAY_MAXDIM);
			return -1;
		}
		want = 1;
		for (Py_ssize_t d = 0; d < nd; d++) {
			Py_ssize_t k = PyNumber_AsSsize_t(PySequence_Fast_GET_ITEM(seq, d),
							  PyExc_OverflowError);
			if (k < 0) {
				Py_DECREF(seq);
				if (!PyErr_Occurred())
					PyErr_SetString(PyExc_ValueError,
							"shape dimensions must be >= 0");
				return -1;
			}
			shape[d] = (uint64_t)k;
			if (k && want > (size_t)PY_SSIZE_T_MAX / (size_t)k) {
				Py_DECREF(seq);
				PyErr_SetString(PyExc_OverflowError, "shape too large");
				return -1;
			}
			want *= (size_t)k;
		}
		ndim = (uint32_t)nd;
		Py_DECREF(seq);
	}
	/* The items: n zeros for an int, else the values of an iterable,
	 * converted by the array module. */
	PyObject *arr = NULL;
	size_t n = 0;
	if (init && PyIndex_Check(init) && !PyUnicode_Check(init)) {
		Py_ssize_t k = PyNumber_AsSsize_t(init, PyExc_OverflowError);
		if (k == -1 && PyErr_Occurred())
			return -1;
		if (k < 0) {
			PyErr_SetString(PyExc_ValueError, "negative array size");
			return -1;
		}
		n = (size_t)k;
	} else if (init) {
		if (Py_IS_TYPE(init, &PersistentArray_Type)) {
			PyObject *b = PyObject_CallMethod(init, "tobytes", NULL);
			PyObject *src_tc = b ? PyObject_GetAttrString(init, "typecode") : NULL;
			if (src_tc && PyUnicode_GetLength(src_tc) == 1 &&
			    PyUnicode_READ_CHAR(src_tc, 0) == (Py_UCS4)tc) {
				arr = empty_array((char)tc);
				PyObject *r = arr ? PyObject_CallMethod(arr, "frombytes", "(O)", b)
						  : NULL;
				Py_XDECREF(r);
				if (!r)
					Py_CLEAR(arr);
			} else if (src_tc) {
				PyObject *l = PyObject_CallMethod(init, "tolist", NULL);
				arr = l ? make_array((char)tc, l) : NULL;
				Py_XDECREF(l);
			}
			Py_XDECREF(b);
			Py_XDECREF(src_tc);
		} else {
			arr = make_array((char)tc, init);
		}
		if (!arr)
			return -1;
		n = (size_t)PyObject_Length(arr);
	} else {
		n = shape_o != Py_None ? want : 0;
	}
	if (shape_o != Py_None && n != want) {
		Py_XDECREF(arr);
		PyErr_Format(PyExc_ValueError, "%zu items do not fill shape of %zu items", n, want);
		return -1;
	}
	Py_buffer b = {0};
	if (arr && PyObject_GetBuffer(arr, &b, PyBUF_SIMPLE) != 0) {
		Py_DECREF(arr);
		return -1;
	}
	PoolObject *pool = self->base.pool;
	int failed = 1;
	if (self->exports) {
		PyErr_SetString(PyExc_BufferError,
				"cannot re-initialize an array that is exporting buffers");
	} else if (pyx_op_begin(pool) == 0) {
		pmo_array *a = array_of(self);
		failed = !a || pmo_array_init(pool->core, a, tc, n, ndim, shape, b.buf) != 0;
		failed = pyx_op_end(pool, failed) != 0;
	}
	if (arr) {
		PyBuffer_Release(&b);
		Py_DECREF(arr);
	}
	return failed ? -1 : 0;
}

/* --- reading ------------------------------------------------------------------ */

static Py_ssize_t Array_len(ArrayObject *self)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return -1;
	Py_ssize_t n = (Py_ssize_t)a->len;
	pyx_unlock(self->base.pool);
	return n;
}

static PyObject *Array_item(ArrayObject *self, Py_ssize_t i)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return NULL;
	PyObject *r = NULL;
	if (i < 0 || (size_t)i >= a->len)
		PyErr_SetString(PyExc_IndexError, "array index out of range");
	else
		r = item_value(typecode_of(a),
			       pmo_array_data(self->base.pool->core, a) + (size_t)i * a->itemsize);
	pyx_unlock(self->base.pool);
	return r;
}

/* Items [lo, hi) with step as an array.array (a copy). */
static PyObject *slice_copy(ArrayObject *self, Py_ssize_t start, Py_ssize_t step, Py_ssize_t n)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return NULL;
	char tc = typecode_of(a);
	size_t isz = a->itemsize;
	PyObject *bytes = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)isz);
	if (bytes) {
		const char *d = pmo_array_data(self->base.pool->core, a);
		char *o = PyBytes_AS_STRING(bytes);
		for (Py_ssize_t k = 0; k < n; k++)
			memcpy(o + k * isz, d + (size_t)(start + k * step) * isz, isz);
	}
	pyx_unlock(self->base.pool);
	if (!bytes)
		return NULL;
	PyObject *r = empty_array(tc);
	PyObject *ok = r ? PyObject_CallMethod(r, "frombytes", "(O)", bytes) : NULL;
	Py_DECREF(bytes);
	Py_XDECREF(ok);
	if (!ok)
		Py_CLEAR(r);
	return r;
}

static PyObject *Array_subscript(ArrayObject *self, PyObject *key)
{
	if (PyIndex_Check(key)) {
		Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
		if (i == -1 && PyErr_Occurred())
			return NULL;
		if (i < 0) {
			Py_ssize_t n = Array_len(self);
			if (n < 0)
				return NULL;
			i += n;
		}
		return Array_item(self, i);
	}
	if (PySlice_Check(key)) {
		Py_ssize_t start, stop, step;
		if (PySlice_Unpack(key, &start, &stop, &step) < 0)
			return NULL;
		Py_ssize_t len = Array_len(self);
		if (len < 0)
			return NULL;
		Py_ssize_t n = PySlice_AdjustIndices(len, &start, &stop, step);
		return slice_copy(self, start, step, n);
	}
	PyErr_Format(PyExc_TypeError, "array indices must be integers, not %.200s",
		     Py_TYPE(key)->tp_name);
	return NULL;
}

/* All items as an array.array. */
static PyObject *as_array(ArrayObject *self)
{
	Py_ssize_t n = Array_len(self);
	return n < 0 ? NULL : slice_copy(self, 0, 1, n);
}

static PyObject *Array_tolist(ArrayObject *self, PyObject *unused)
{
	PyObject *arr = as_array(self);
	PyObject *r = arr ? PyObject_CallMethod(arr, "tolist", NULL) : NULL;
	Py_XDECREF(arr);
	return r;
}

static PyObject *Array_tobytes(ArrayObject *self, PyObject *unused)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return NULL;
	PyObject *r =
		PyBytes_FromStringAndSize(a->len ? pmo_array_data(self->base.pool->core, a) : "",
					  (Py_ssize_t)(a->len * a->itemsize));
	pyx_unlock(self->base.pool);
	return r;
}

/* A plain copy: an array.array (flat) -- what copy, pickle and
 * to_python give, never a reference into a pool that may close. */
static PyObject *Array_to_python(ArrayObject *self, PyObject *unused)
{
	return as_array(self);
}

static PyObject *Array_to_numpy(ArrayObject *self, PyObject *unused)
{
	PyObject *np = PyImport_ImportModule("numpy");
	if (!np)
		return NULL;
	PyObject *r = PyObject_CallMethod(np, "array", "(O)", (PyObject *)self);
	Py_DECREF(np);
	return r;
}

static PyObject *Array_reduce(ArrayObject *self, PyObject *unused)
{
	PyObject *arr = as_array(self);
	if (!arr)
		return NULL;
	PyObject *r = PyObject_CallMethod(arr, "__reduce_ex__", "i", 4);
	Py_DECREF(arr);
	return r;
}

static PyObject *Array_iter(ArrayObject *self)
{
	/* A copy of the items, as iterating a list under change is not
	 * something an array of numbers needs. */
	PyObject *l = Array_tolist(self, NULL);
	PyObject *it = l ? PyObject_GetIter(l) : NULL;
	Py_XDECREF(l);
	return it;
}

static int Array_contains(ArrayObject *self, PyObject *v)
{
	PyObject *l = Array_tolist(self, NULL);
	if (!l)
		return -1;
	int r = PySequence_Contains(l, v);
	Py_DECREF(l);
	return r;
}

static PyObject *Array_count(ArrayObject *self, PyObject *v)
{
	PyObject *l = Array_tolist(self, NULL);
	PyObject *r = l ? PyObject_CallMethod(l, "count", "(O)", v) : NULL;
	Py_XDECREF(l);
	return r;
}

static PyObject *Array_index(ArrayObject *self, PyObject *args)
{
	PyObject *arr = as_array(self);
	if (!arr)
		return NULL;
	PyObject *m = PyObject_GetAttrString(arr, "index");
	PyObject *r = m ? PyObject_Call(m, args, NULL) : NULL;
	Py_XDECREF(m);
	Py_DECREF(arr);
	return r;
}

static PyObject *Array_repr(ArrayObject *self)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return NULL;
	char tc = typecode_of(a);
	uint32_t ndim = a->ndim;
	uint64_t shape[PMO_ARRAY_MAXDIM];
	memcpy(shape, a->shape, sizeof shape);
	pyx_unlock(self->base.pool);
	PyObject *l = Array_tolist(self, NULL);
	if (!l)
		return NULL;
	PyObject *r;
	if (ndim > 1) {
		PyObject *sh = PyTuple_New(ndim);
		for (uint32_t d = 0; sh && d < ndim; d++)
			PyTuple_SET_ITEM(sh, d, PyLong_FromUnsignedLongLong(shape[d]));
		r = sh ? PyUnicode_FromFormat("PersistentArray('%c', %R, shape=%R)", tc, l, sh)
		       : NULL;
		Py_XDECREF(sh);
	} else {
		r = PyList_GET_SIZE(l) ? PyUnicode_FromFormat("PersistentArray('%c', %R)", tc, l)
				       : PyUnicode_FromFormat("PersistentArray('%c')", tc);
	}
	Py_DECREF(l);
	return r;
}

static PyObject *Array_richcompare(ArrayObject *self, PyObject *other, int op)
{
	/* Like array.array: equal to another array (persistent or not) with
	 * equal items, whatever the typecodes; ordered item by item. */
	int is_array = Py_IS_TYPE(other, &PersistentArray_Type);
	if (!is_array) {
		PyObject *cls = PyObject_GetAttrString(array_module, "array");
		is_array = cls ? PyObject_IsInstance(other, cls) : -1;
		Py_XDECREF(cls);
		if (is_array < 0)
			return NULL;
	}
	if (!is_array)
		Py_RETURN_NOTIMPLEMENTED;
	PyObject *a = Array_tolist(self, NULL);
	PyObject *b = a ? PyObject_CallMethod(other, "tolist", NULL) : NULL;
	PyObject *r = b ? PyObject_RichCompare(a, b, op) : NULL;
	Py_XDECREF(a);
	Py_XDECREF(b);
	return r;
}

static PyObject *get_typecode(ArrayObject *self, void *c)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return NULL;
	char tc = typecode_of(a);
	pyx_unlock(self->base.pool);
	return PyUnicode_FromOrdinal((unsigned char)tc);
}

static PyObject *get_itemsize(ArrayObject *self, void *c)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return NULL;
	size_t isz = a->itemsize;
	pyx_unlock(self->base.pool);
	return PyLong_FromSize_t(isz);
}

static PyObject *get_shape(ArrayObject *self, void *c)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return NULL;
	uint32_t nd = a->ndim;
	PyObject *r = PyTuple_New(nd);
	for (uint32_t d = 0; r && d < nd; d++)
		PyTuple_SET_ITEM(r, d, PyLong_FromUnsignedLongLong(nd > 1 ? a->shape[d] : a->len));
	pyx_unlock(self->base.pool);
	return r;
}

static PyObject *get_ndim(ArrayObject *self, void *c)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return NULL;
	uint32_t nd = a->ndim;
	pyx_unlock(self->base.pool);
	return PyLong_FromUnsignedLong(nd);
}

/* --- writing ------------------------------------------------------------------- */

/* Refuse changes of length while buffers are exported: their memory
 * would move (array.array's own rule). */
static int check_resizable(ArrayObject *self)
{
	if (self->exports) {
		PyErr_SetString(PyExc_BufferError,
				"cannot resize an array that is exporting buffers");
		return -1;
	}
	return 0;
}

/* The bytes of the values of iterable as items of the array's type (an
 * array.array; its buffer in *b). */
static PyObject *items_of(ArrayObject *self, PyObject *iterable, Py_buffer *b)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return NULL;
	char tc = typecode_of(a);
	pyx_unlock(self->base.pool);
	PyObject *arr;
	if (Py_IS_TYPE(iterable, &PersistentArray_Type)) {
		PyObject *l = Array_tolist((ArrayObject *)iterable, NULL);
		arr = l ? make_array(tc, l) : NULL;
		Py_XDECREF(l);
	} else {
		arr = make_array(tc, iterable);
	}
	if (arr && PyObject_GetBuffer(arr, b, PyBUF_SIMPLE) != 0)
		Py_CLEAR(arr);
	return arr;
}

/* Replace items [lo, hi) (clamped under the lock) by those of vals. */
static int replace(ArrayObject *self, Py_ssize_t lo, Py_ssize_t hi, PyObject *vals)
{
	Py_buffer b = {0};
	PyObject *arr = NULL;
	if (vals && !(arr = items_of(self, vals, &b)))
		return -1;
	int rc = -1;
	if (check_resizable(self) == 0 && pyx_op_begin(self->base.pool) == 0) {
		pmo_array *a = array_of(self);
		int failed = !a;
		if (a) {
			size_t len = a->len;
			size_t l = lo < 0 ? 0 : (size_t)lo > len ? len : (size_t)lo;
			size_t h = hi < 0 ? 0 : (size_t)hi > len ? len : (size_t)hi;
			if (h < l)
				h = l;
			failed = pmo_array_replace(self->base.pool->core, a, l, h, b.buf,
						   arr ? (size_t)b.len / a->itemsize : 0) != 0;
		}
		rc = pyx_op_end(self->base.pool, failed);
	}
	if (arr) {
		PyBuffer_Release(&b);
		Py_DECREF(arr);
	}
	return rc;
}

/* Write one item in place (i already normalised and checked). */
static int set_item(ArrayObject *self, Py_ssize_t i, PyObject *v)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return -1;
	char tc = typecode_of(a);
	size_t isz = a->itemsize;
	pyx_unlock(self->base.pool);
	char buf[8];
	if (item_bytes(tc, v, buf, isz) != 0)
		return -1;
	if (pyx_op_begin(self->base.pool))
		return -1;
	a = array_of(self);
	int failed = !a;
	if (a && (i < 0 || (size_t)i >= a->len)) {
		PyErr_SetString(PyExc_IndexError, "array assignment index out of range");
		failed = 1;
	}
	if (!failed)
		failed =
			pmo_array_snapshot(self->base.pool->core, a, (size_t)i, (size_t)i + 1) != 0;
	if (!failed)
		memcpy(pmo_array_data(self->base.pool->core, a) + (size_t)i * isz, buf, isz);
	return pyx_op_end(self->base.pool, failed);
}

static int Array_ass_subscript(ArrayObject *self, PyObject *key, PyObject *v)
{
	Py_ssize_t len = Array_len(self);
	if (len < 0)
		return -1;
	if (PyIndex_Check(key)) {
		Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
		if (i == -1 && PyErr_Occurred())
			return -1;
		if (i < 0)
			i += len;
		if (i < 0 || i >= len) {
			PyErr_SetString(PyExc_IndexError, "array assignment index out of range");
			return -1;
		}
		return v ? set_item(self, i, v) : replace(self, i, i + 1, NULL);
	}
	if (!PySlice_Check(key)) {
		PyErr_Format(PyExc_TypeError, "array indices must be integers, not %.200s",
			     Py_TYPE(key)->tp_name);
		return -1;
	}
	Py_ssize_t start, stop, step;
	if (PySlice_Unpack(key, &start, &stop, &step) < 0)
		return -1;
	Py_ssize_t n = PySlice_AdjustIndices(len, &start, &stop, step);
	if (step == 1)
		return replace(self, start, stop < start ? start : stop, v);
	/* Extended slice: the same number of items, written in place (one
	 * snapshot of the range they span), or deleted. */
	if (!v) {
		PyObject *keep = as_array(self);
		if (!keep)
			return -1;
		int rc = PyObject_DelItem(keep, key);
		rc = rc ? rc : replace(self, 0, PY_SSIZE_T_MAX, keep);
		Py_DECREF(keep);
		return rc;
	}
	Py_buffer b;
	PyObject *arr = items_of(self, v, &b);
	if (!arr)
		return -1;
	int rc = -1;
	pmo_array *a = NULL;
	if ((Py_ssize_t)(b.len / (Py_ssize_t)(b.itemsize ? b.itemsize : 1)) != n &&
	    (a = lock_array(self)) != NULL) {
		size_t k = (size_t)b.len / a->itemsize;
		pyx_unlock(self->base.pool);
		PyErr_Format(PyExc_ValueError,
			     "attempt to assign array of size %zu to extended slice of size %zd", k,
			     n);
	} else if (n == 0) {
		rc = 0;
	} else if (pyx_op_begin(self->base.pool) == 0) {
		a = array_of(self);
		int failed = !a || a->len != (size_t)len;
		if (a && failed)
			PyErr_SetString(PyExc_RuntimeError, "array changed size during assignment");
		if (!failed) {
			Py_ssize_t first = step > 0 ? start : start + (n - 1) * step;
			Py_ssize_t last = step > 0 ? start + (n - 1) * step : start;
			failed = pmo_array_snapshot(self->base.pool->core, a, (size_t)first,
						    (size_t)last + 1) != 0;
		}
		if (!failed) {
			char *d = pmo_array_data(self->base.pool->core, a);
			for (Py_ssize_t k = 0; k < n; k++)
				memcpy(d + (size_t)(start + k * step) * a->itemsize,
				       (char *)b.buf + (size_t)k * a->itemsize, a->itemsize);
		}
		rc = pyx_op_end(self->base.pool, failed);
	}
	PyBuffer_Release(&b);
	Py_DECREF(arr);
	return rc;
}

static PyObject *done(int rc)
{
	if (rc)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *Array_append(ArrayObject *self, PyObject *v)
{
	PyObject *one = PyTuple_Pack(1, v);
	int rc = one ? replace(self, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, one) : -1;
	Py_XDECREF(one);
	return done(rc);
}

static PyObject *Array_extend(ArrayObject *self, PyObject *iterable)
{
	return done(replace(self, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, iterable));
}

static PyObject *Array_frombytes(ArrayObject *self, PyObject *arg)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return NULL;
	char tc = typecode_of(a);
	pyx_unlock(self->base.pool);
	PyObject *arr = empty_array(tc);
	PyObject *ok = arr ? PyObject_CallMethod(arr, "frombytes", "(O)", arg) : NULL;
	Py_XDECREF(ok);
	int rc = ok ? replace(self, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, arr) : -1;
	Py_XDECREF(arr);
	return done(rc);
}

static PyObject *Array_fromlist(ArrayObject *self, PyObject *list)
{
	if (!PyList_Check(list)) {
		PyErr_SetString(PyExc_TypeError, "arg must be list");
		return NULL;
	}
	return Array_extend(self, list);
}

static PyObject *Array_insert(ArrayObject *self, PyObject *args)
{
	Py_ssize_t i;
	PyObject *v;
	if (!PyArg_ParseTuple(args, "nO:insert", &i, &v))
		return NULL;
	Py_ssize_t len = Array_len(self);
	if (len < 0)
		return NULL;
	if (i < 0 && (i += len) < 0)
		i = 0;
	PyObject *one = PyTuple_Pack(1, v);
	int rc = one ? replace(self, i, i, one) : -1;
	Py_XDECREF(one);
	return done(rc);
}

static PyObject *Array_pop(ArrayObject *self, PyObject *args)
{
	Py_ssize_t i = -1;
	if (!PyArg_ParseTuple(args, "|n:pop", &i))
		return NULL;
	Py_ssize_t len = Array_len(self);
	if (len < 0)
		return NULL;
	if (len == 0) {
		PyErr_SetString(PyExc_IndexError, "pop from empty array");
		return NULL;
	}
	if (i < 0)
		i += len;
	if (i < 0 || i >= len) {
		PyErr_SetString(PyExc_IndexError, "pop index out of range");
		return NULL;
	}
	PyObject *v = Array_item(self, i);
	if (v && replace(self, i, i + 1, NULL) != 0)
		Py_CLEAR(v);
	return v;
}

static PyObject *Array_remove(ArrayObject *self, PyObject *v)
{
	PyObject *l = Array_tolist(self, NULL);
	if (!l)
		return NULL;
	Py_ssize_t i = PySequence_Index(l, v);
	Py_DECREF(l);
	if (i < 0) {
		if (PyErr_ExceptionMatches(PyExc_ValueError)) {
			PyErr_Clear();
			PyErr_SetString(PyExc_ValueError, "array.remove(x): x not in array");
		}
		return NULL;
	}
	return done(replace(self, i, i + 1, NULL));
}

/* Rewrite all items in place from a transformed copy (reverse, byteswap). */
static PyObject *rewrite(ArrayObject *self, const char *method)
{
	PyObject *arr = as_array(self);
	if (!arr)
		return NULL;
	PyObject *ok = PyObject_CallMethod(arr, method, NULL);
	Py_buffer b;
	int rc = -1;
	if (ok && PyObject_GetBuffer(arr, &b, PyBUF_SIMPLE) == 0) {
		if (pyx_op_begin(self->base.pool) == 0) {
			pmo_array *a = array_of(self);
			int failed = !a || a->len * a->itemsize != (size_t)b.len;
			if (a && failed)
				PyErr_SetString(PyExc_RuntimeError, "array changed size");
			if (!failed)
				failed = pmo_array_snapshot(self->base.pool->core, a, 0, a->len) !=
					 0;
			if (!failed && b.len)
				memcpy(pmo_array_data(self->base.pool->core, a), b.buf,
				       (size_t)b.len);
			rc = pyx_op_end(self->base.pool, failed);
		}
		PyBuffer_Release(&b);
	}
	Py_XDECREF(ok);
	Py_DECREF(arr);
	return done(rc);
}

static PyObject *Array_reverse(ArrayObject *self, PyObject *unused)
{
	return rewrite(self, "reverse");
}

static PyObject *Array_byteswap(ArrayObject *self, PyObject *unused)
{
	return rewrite(self, "byteswap");
}

static PyObject *Array_resize(ArrayObject *self, PyObject *arg)
{
	Py_ssize_t n = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
	if (n == -1 && PyErr_Occurred())
		return NULL;
	if (n < 0) {
		PyErr_SetString(PyExc_ValueError, "negative array size");
		return NULL;
	}
	if (check_resizable(self) || pyx_op_begin(self->base.pool))
		return NULL;
	pmo_array *a = array_of(self);
	int failed = !a || pmo_array_resize(self->base.pool->core, a, (size_t)n) != 0;
	return done(pyx_op_end(self->base.pool, failed));
}

/* --- the buffer protocol ------------------------------------------------------------ */

/* Shape and strides live with the view (view->internal) until release. */
typedef struct {
	Py_ssize_t shape[PMO_ARRAY_MAXDIM];
	Py_ssize_t strides[PMO_ARRAY_MAXDIM];
	char format[2];
} view_dims;

/* Fill view over items [lo, hi) of self's array (the whole shape when
 * lo == 0, hi == len and the array is n-d).  Counts the export on the
 * array and its pool. */
static int fill_view(ArrayObject *self, PyObject *owner, Py_buffer *view, int flags, int readonly,
		     size_t lo, size_t hi)
{
	pmo_array *a = lock_array(self);
	if (!a)
		return -1;
	view_dims *dims = PyMem_Calloc(1, sizeof *dims);
	if (!dims) {
		pyx_unlock(self->base.pool);
		PyErr_NoMemory();
		return -1;
	}
	size_t isz = a->itemsize;
	static char empty;
	char *data = a->len ? pmo_array_data(self->base.pool->core, a) : &empty;
	int whole = lo == 0 && hi == a->len;
	int nd = whole && a->ndim > 1 ? (int)a->ndim : 1;
	if (nd > 1) {
		for (int d = 0; d < nd; d++)
			dims->shape[d] = (Py_ssize_t)a->shape[d];
	} else {
		dims->shape[0] = (Py_ssize_t)(hi - lo);
	}
	Py_ssize_t stride = (Py_ssize_t)isz;
	for (int d = nd - 1; d >= 0; d--) {
		dims->strides[d] = stride;
		stride *= dims->shape[d] ? dims->shape[d] : 1;
	}
	/* The array module's format for its typecode ('u' is wchar_t). */
	dims->format[0] = typecode_of(a) == 'u' ? 'w' : typecode_of(a);
	pyx_unlock(self->base.pool);

	view->buf = a->len ? data + lo * isz : data;
	view->obj = Py_NewRef(owner);
	view->len = (Py_ssize_t)((hi - lo) * isz);
	view->readonly = readonly;
	view->itemsize = (Py_ssize_t)isz;
	view->format = (flags & PyBUF_FORMAT) ? dims->format : NULL;
	view->ndim = nd;
	view->shape = (flags & PyBUF_ND) == PyBUF_ND ? dims->shape : NULL;
	view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? dims->strides : NULL;
	view->suboffsets = NULL;
	view->internal = dims;
	if (!view->shape && nd > 1 && !(flags & PyBUF_ND)) {
		/* A flat request of an n-d array: one dimension of bytes. */
		view->ndim = 1;
	}
	self->exports++;
	self->base.pool->exports++;
	return 0;
}

static void drop_view(ArrayObject *self, Py_buffer *view)
{
	PyMem_Free(view->internal);
	self->exports--;
	self->base.pool->exports--;
}

static int Array_getbuffer(ArrayObject *self, Py_buffer *view, int flags)
{
	if (flags & PyBUF_WRITABLE) {
		PyErr_SetString(PyExc_BufferError,
				"a PersistentArray is read-only: write through a.writable(lo, hi) "
				"inside a transaction, or a[i] = x");
		view->obj = NULL;
		return -1;
	}
	Py_ssize_t len = Array_len(self);
	if (len < 0) {
		view->obj = NULL;
		return -1;
	}
	if (fill_view(self, (PyObject *)self, view, flags, 1, 0, (size_t)len) != 0) {
		view->obj = NULL;
		return -1;
	}
	return 0;
}

static void Array_releasebuffer(ArrayObject *self, Py_buffer *view)
{
	drop_view(self, view);
}

/* --- writable ranges ------------------------------------------------------------------ */

typedef struct {
	PyObject_HEAD ArrayObject *array;
	Py_ssize_t lo, hi;  /* items, clamped at enter */
	PyObject *tx;       /* the transaction context joined at enter */
	PyObject *view;     /* the memoryview handed out */
	Py_ssize_t exports; /* buffers of this range now exported */
	int entered;
} WriterObject;

static PyObject *Array_writable(ArrayObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"lo", "hi", NULL};
	Py_ssize_t lo = 0, hi = PY_SSIZE_T_MAX;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|nn:writable", kwlist, &lo, &hi))
		return NULL;
	if (pyx_proxy_check(&self->base))
		return NULL;
	WriterObject *w = PyObject_GC_New(WriterObject, &ArrayWriter_Type);
	if (!w)
		return NULL;
	w->array = (ArrayObject *)Py_NewRef(self);
	w->lo = lo;
	w->hi = hi;
	w->tx = w->view = NULL;
	w->exports = 0;
	w->entered = 0;
	PyObject_GC_Track(w);
	return (PyObject *)w;
}

static PyObject *Writer_enter(WriterObject *self, PyObject *unused)
{
	if (self->entered) {
		PyErr_SetString(PyExc_RuntimeError, "a writable range can be entered once");
		return NULL;
	}
	ArrayObject *arr = self->array;
	Py_ssize_t len = Array_len(arr);
	if (len < 0)
		return NULL;
	Py_ssize_t lo = self->lo < 0 ? self->lo + len : self->lo;
	Py_ssize_t hi = self->hi < 0 ? self->hi + len : self->hi;
	lo = lo < 0 ? 0 : lo > len ? len : lo;
	hi = hi < lo ? lo : hi > len ? len : hi;
	self->lo = lo;
	self->hi = hi;
	/* Join the caller's transaction (or open one) as a `with` block
	 * would, so nesting, rollback and the pool lock behave alike. */
	PyObject *tx = PyObject_CallMethod((PyObject *)arr->base.pool, "transaction", NULL);
	PyObject *r = tx ? PyObject_CallMethod(tx, "__enter__", NULL) : NULL;
	if (!r) {
		Py_XDECREF(tx);
		return NULL;
	}
	Py_DECREF(r);
	self->tx = tx;
	self->entered = 1;
	pmo_array *a = lock_array(arr);
	int failed = !a || pmo_array_snapshot(arr->base.pool->core, a, (size_t)lo, (size_t)hi) != 0;
	if (a) {
		if (failed)
			pyx_raise();
		pyx_unlock(arr->base.pool);
	}
	if (!failed)
		self->view = PyMemoryView_FromObject((PyObject *)self);
	if (!self->view) {
		PyObject *et, *ev, *tb;
		PyErr_Fetch(&et, &ev, &tb);
		PyErr_NormalizeException(&et, &ev, &tb);
		PyObject *x = PyObject_CallMethod(tx, "__exit__", "OOO", et ? et : Py_None,
						  ev ? ev : Py_None, tb ? tb : Py_None);
		Py_XDECREF(x);
		PyErr_Restore(et, ev, tb);
		Py_CLEAR(self->tx);
		return NULL;
	}
	return Py_NewRef(self->view);
}

static PyObject *Writer_exit(WriterObject *self, PyObject *args)
{
	PyObject *et = Py_None, *ev = Py_None, *tb = Py_None;
	if (!PyArg_UnpackTuple(args, "__exit__", 0, 3, &et, &ev, &tb))
		return NULL;
	if (!self->tx) {
		PyErr_SetString(PyExc_RuntimeError, "writable range not entered");
		return NULL;
	}
	/* The view ends here.  If something still exports it (a NumPy array
	 * made from it, say), writes through that would bypass the
	 * transaction: refuse, and roll the transaction back. */
	if (self->view) {
		PyObject *r = PyObject_CallMethod(self->view, "release", NULL);
		if (!r)
			PyErr_Clear(); /* still exported: counted below */
		Py_XDECREF(r);
	}
	/* NumPy and memoryview slices take views of their own of the range
	 * (sharing its buffer): any still alive keeps an export. */
	int escaped = self->exports > 0;
	PyObject *x;
	if (escaped && et == Py_None) {
		PyErr_SetString(PyExc_BufferError,
				"a view of a.writable() is still in use at the end of its block "
				"(keep no NumPy array or memoryview made from it): the "
				"transaction is rolled back");
		PyObject *e, *v, *t;
		PyErr_Fetch(&e, &v, &t);
		PyErr_NormalizeException(&e, &v, &t);
		x = PyObject_CallMethod(self->tx, "__exit__", "OOO", e, v, t ? t : Py_None);
		Py_XDECREF(x);
		PyErr_Restore(e, v, t);
		Py_CLEAR(self->tx);
		return NULL;
	}
	x = PyObject_CallMethod(self->tx, "__exit__", "OOO", et, ev, tb);
	Py_CLEAR(self->tx);
	return x;
}

static int Writer_getbuffer(WriterObject *self, Py_buffer *view, int flags)
{
	if (!self->tx || self->view) {
		PyErr_SetString(PyExc_BufferError,
				"use the view that `with a.writable(...) as view` gives");
		view->obj = NULL;
		return -1;
	}
	if (fill_view(self->array, (PyObject *)self, view, flags, 0, (size_t)self->lo,
		      (size_t)self->hi) != 0) {
		view->obj = NULL;
		return -1;
	}
	self->exports++;
	return 0;
}

static void Writer_releasebuffer(WriterObject *self, Py_buffer *view)
{
	self->exports--;
	drop_view(self->array, view);
}

static int Writer_traverse(WriterObject *self, visitproc visit, void *arg)
{
	Py_VISIT(self->array);
	Py_VISIT(self->tx);
	Py_VISIT(self->view);
	return 0;
}

static void Writer_dealloc(WriterObject *self)
{
	PyObject_GC_UnTrack(self);
	Py_CLEAR(self->view);
	Py_CLEAR(self->tx);
	Py_CLEAR(self->array);
	PyObject_GC_Del(self);
}

static PyMethodDef Writer_methods[] = {{"__enter__", (PyCFunction)Writer_enter, METH_NOARGS, NULL},
				       {"__exit__", (PyCFunction)Writer_exit, METH_VARARGS, NULL},
				       {NULL}};

static PyBufferProcs Writer_as_buffer = {
	(getbufferproc)Writer_getbuffer,
	(releasebufferproc)Writer_releasebuffer,
};

static PyTypeObject ArrayWriter_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.ArrayWriter",
	.tp_doc = "A writable range of a PersistentArray: `with a.writable(lo, hi) as view:`.",
	.tp_basicsize = sizeof(WriterObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.tp_dealloc = (destructor)Writer_dealloc,
	.tp_traverse = (traverseproc)Writer_traverse,
	.tp_methods = Writer_methods,
	.tp_as_buffer = &Writer_as_buffer,
};

/* --- the type -------------------------------------------------------------------------- */

static PyMethodDef Array_methods[] = {
	{"_p_new_in", (PyCFunction)Array_p_new_in, METH_O | METH_CLASS,
	 "Create an empty array in the given pool (used by pool.new)."},
	{"append", (PyCFunction)Array_append, METH_O, "Append one item."},
	{"extend", (PyCFunction)Array_extend, METH_O, "Append the items of an iterable."},
	{"insert", (PyCFunction)Array_insert, METH_VARARGS, "insert(i, x): insert x before i."},
	{"pop", (PyCFunction)Array_pop, METH_VARARGS, "pop(i=-1): remove and return item i."},
	{"remove", (PyCFunction)Array_remove, METH_O, "Remove the first item equal to x."},
	{"index", (PyCFunction)Array_index, METH_VARARGS,
	 "index(x[, start[, stop]]): the first index of x."},
	{"count", (PyCFunction)Array_count, METH_O, "The number of items equal to x."},
	{"reverse", (PyCFunction)Array_reverse, METH_NOARGS, "Reverse the items in place."},
	{"byteswap", (PyCFunction)Array_byteswap, METH_NOARGS, "Swap the bytes of every item."},
	{"frombytes", (PyCFunction)Array_frombytes, METH_O,
	 "Append items from the machine values in a bytes-like object."},
	{"fromlist", (PyCFunction)Array_fromlist, METH_O, "Append the items of a list."},
	{"tolist", (PyCFunction)Array_tolist, METH_NOARGS, "The items as a list."},
	{"tobytes", (PyCFunction)Array_tobytes, METH_NOARGS, "The items' machine values."},
	{"to_numpy", (PyCFunction)Array_to_numpy, METH_NOARGS,
	 "A NumPy copy of the array (numpy.asarray(a) is a read-only view)."},
	{"to_python", (PyCFunction)Array_to_python, METH_NOARGS,
	 "A plain array.array copy of the items."},
	{"resize", (PyCFunction)Array_resize, METH_O,
	 "resize(n): truncate, or grow with zero items."},
	{"writable", (PyCFunction)(void (*)(void))Array_writable, METH_VARARGS | METH_KEYWORDS,
	 "writable(lo=0, hi=len): `with a.writable(lo, hi) as view:` joins (or opens) a "
	 "transaction, snapshots items [lo, hi) once and gives a writable memoryview of them."},
	{"__copy__", (PyCFunction)Array_to_python, METH_NOARGS, "A plain array.array copy."},
	{"__deepcopy__", (PyCFunction)Array_to_python, METH_O, "A plain array.array copy."},
	{"__reduce__", (PyCFunction)Array_reduce, METH_NOARGS,
	 "Pickles as the plain array.array of its items."},
	{NULL}};

static PyGetSetDef Array_getset[] = {
	{"typecode", (getter)get_typecode, NULL, "The array module typecode of the items.", NULL},
	{"itemsize", (getter)get_itemsize, NULL, "Bytes per item.", NULL},
	{"shape", (getter)get_shape, NULL, "The shape (a tuple).", NULL},
	{"ndim", (getter)get_ndim, NULL, "The number of dimensions.", NULL},
	{NULL}};

static PySequenceMethods Array_as_sequence = {
	.sq_length = (lenfunc)Array_len,
	.sq_item = (ssizeargfunc)Array_item,
	.sq_contains = (objobjproc)Array_contains,
};

static PyMappingMethods Array_as_mapping = {
	.mp_length = (lenfunc)Array_len,
	.mp_subscript = (binaryfunc)Array_subscript,
	.mp_ass_subscript = (objobjargproc)Array_ass_subscript,
};

static PyBufferProcs Array_as_buffer = {
	(getbufferproc)Array_getbuffer,
	(releasebufferproc)Array_releasebuffer,
};

PyTypeObject PersistentArray_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentArray",
	.tp_doc = "PersistentArray(typecode, initializer=0, shape=None)\n\n"
		  "A typed array of numbers in a pool, with the API of array.array; "
		  "memoryview(a) and numpy.asarray(a) read it in place.  Create it "
		  "with pool.new(PersistentArray, typecode, size_or_iterable).",
	.tp_basicsize = sizeof(ArrayObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_SEQUENCE,
	.tp_base = &Proxy_Type,
	.tp_init = (initproc)Array_init,
	.tp_repr = (reprfunc)Array_repr,
	.tp_richcompare = (richcmpfunc)Array_richcompare,
	.tp_iter = (getiterfunc)Array_iter,
	.tp_methods = Array_methods,
	.tp_getset = Array_getset,
	.tp_as_sequence = &Array_as_sequence,
	.tp_as_mapping = &Array_as_mapping,
	.tp_as_buffer = &Array_as_buffer,
	.tp_hash = PyObject_HashNotImplemented,
};

int pyx_array_ready(PyObject *m)
{
	if (!(array_module = PyImport_ImportModule("array")))
		return -1;
	if (PyType_Ready(&PersistentArray_Type) < 0 || PyType_Ready(&ArrayWriter_Type) < 0)
		return -1;
	pyx_register_proxy_type(PMO_T_ARRAY, &PersistentArray_Type);
	return PyModule_AddObjectRef(m, "PersistentArray", (PyObject *)&PersistentArray_Type);
}
