/*
 * Python values <-> slots.
 *
 * Only exact builtin types map to slots and heap values (a subclass of
 * int could carry behaviour we would silently drop); instances of classes
 * nominated with persist_via_pickle are stored as pickles.  A plain list,
 * dict or set is stored as a persistent copy (PersistentList, -Dict,
 * -Set), made in the same transaction, with shared parts and cycles
 * copied once.  Storing is two passes: pyx_check_storable walks the value
 * first and raises TypeError before anything is allocated, so a bad value
 * never aborts the caller's transaction; pyx_to_slot then builds the heap
 * objects inside it.
 */
#include "proxy.h"
#include "manager.h"

#include <errno.h>

static PyObject *pickling_module(void)
{
	static PyObject *mod;
	if (!mod)
		mod = PyImport_ImportModule("pmemobj._pickling");
	return mod;
}

int pyx_is_pickled_type(PoolObject *pool, PyObject *v)
{
	return PySet_GET_SIZE(pool->pickle_types) > 0 &&
	       PySet_Contains(pool->pickle_types, (PyObject *)Py_TYPE(v)) == 1;
}

PyObject *pyx_pickle_dumps(PyObject *v)
{
	PyObject *mod = pickling_module();
	PyObject *data = mod ? PyObject_CallMethod(mod, "dumps", "(O)", v) : NULL;
	if (data && !PyBytes_Check(data)) {
		Py_DECREF(data);
		PyErr_SetString(PyExc_TypeError, "pickling did not produce bytes");
		return NULL;
	}
	return data;
}

/* A core call failed: errno and its message become the exception. */
static int core_failed(void)
{
	pyx_raise();
	return -1;
}

static int cannot_persist(PyObject *v)
{
	PyErr_Format(PyExc_TypeError, "Don't know how to persist %s", _PyType_Name(Py_TYPE(v)));
	return -1;
}

static int check_proxy(PoolObject *pool, ProxyObject *v)
{
	if (pyx_proxy_check(v))
		return -1;
	if (v->pool != pool) {
		PyErr_Format(PyExc_ValueError,
			     "cannot store a %s of pool %R in pool %R: persistent objects "
			     "belong to one pool",
			     Py_TYPE(v)->tp_name, v->pool->filename, pool->filename);
		return -1;
	}
	return 0;
}

static inline int is_plain_container(PyObject *v)
{
	return PyList_CheckExact(v) || PyDict_CheckExact(v) || PySet_CheckExact(v);
}

/* pyx_check_storable; *seen collects the plain containers already
 * checked (they may be shared or cyclic). */
static int check_value(PoolObject *pool, PyObject *v, PyObject **seen)
{
	if (v == Py_None || PyBool_Check(v) || PyLong_CheckExact(v) || PyFloat_CheckExact(v) ||
	    PyComplex_CheckExact(v) || PyUnicode_CheckExact(v) || PyBytes_CheckExact(v))
		return 0;
	int plain = is_plain_container(v);
	if (plain) {
		PyObject *id = PyLong_FromVoidPtr(v);
		int had = -1;
		if (id && (*seen || (*seen = PySet_New(NULL))))
			had = PySet_Contains(*seen, id);
		if (had == 0 && PySet_Add(*seen, id) != 0)
			had = -1;
		Py_XDECREF(id);
		if (had != 0)
			return had < 0 ? -1 : 0;
	}
	if (plain || PyTuple_CheckExact(v) || PyFrozenSet_CheckExact(v)) {
		if (Py_EnterRecursiveCall(" while checking a value to persist"))
			return -1;
		/* Only the containers' own storage is read: no Python code
		 * runs, so nothing can change them under the walk. */
		int rc = 0;
		if (PyTuple_CheckExact(v) || PyList_CheckExact(v)) {
			for (Py_ssize_t i = 0; rc == 0 && i < PySequence_Fast_GET_SIZE(v); i++)
				rc = check_value(pool, PySequence_Fast_GET_ITEM(v, i), seen);
		} else if (PyDict_CheckExact(v)) {
			Py_ssize_t pos = 0;
			PyObject *k, *x;
			while (rc == 0 && PyDict_Next(v, &pos, &k, &x))
				rc = check_value(pool, k, seen) ? -1 : check_value(pool, x, seen);
		} else {
			Py_ssize_t pos = 0;
			PyObject *item;
			Py_hash_t h;
			while (rc == 0 && _PySet_NextEntry(v, &pos, &item, &h))
				rc = check_value(pool, item, seen);
		}
		Py_LeaveRecursiveCall();
		return rc;
	}
	if (pyx_is_proxy(v))
		return check_proxy(pool, (ProxyObject *)v);
	if (pyx_is_pickled_type(pool, v))
		return 0;
	uint64_t off; /* an object of a persistent type written in Python? */
	int r = pyx_foreign_check(pool, v, &off);
	if (r != 0)
		return r < 0 ? -1 : 0;
	return cannot_persist(v);
}

int pyx_check_storable(PoolObject *pool, PyObject *v)
{
	PyObject *seen = NULL;
	int rc = check_value(pool, v, &seen);
	Py_XDECREF(seen);
	return rc;
}

/* --- storing ------------------------------------------------------------ */

static int store_long(PoolObject *pool, PyObject *v, pmo_slot *out)
{
	int overflow;
	long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
	if (!overflow) {
		if (x == -1 && PyErr_Occurred())
			return -1;
		*out = pmo_slot_int(x);
		return 0;
	}
	/* Beyond 64 bits: sign and little-endian magnitude, in the slot if
	 * it fits (slot.h), else a heap object. */
	int negative = overflow < 0;
	PyObject *mag = negative ? PyNumber_Negative(v) : Py_NewRef(v);
	if (!mag)
		return -1;
	size_t nbits = _PyLong_NumBits(mag);
	size_t n = (nbits + 7) / 8;
	unsigned char small[PMO_SBIG_MAX];
	unsigned char *buf = n <= PMO_SBIG_MAX ? small : PyMem_Malloc(n);
	if (!buf) {
		Py_DECREF(mag);
		PyErr_NoMemory();
		return -1;
	}
#if PY_VERSION_HEX >= 0x030d0000
	int rc = _PyLong_AsByteArray((PyLongObject *)mag, buf, n, 1, 0, 1);
#else
	int rc = _PyLong_AsByteArray((PyLongObject *)mag, buf, n, 1, 0);
#endif
	Py_DECREF(mag);
	if (rc == 0 && buf == small) {
		*out = pmo_slot_sbig(negative, small, n);
		return 0;
	}
	uint64_t off = 0;
	if (rc == 0)
		off = pmo_long_new(pool->core, negative, buf, n);
	if (buf != small)
		PyMem_Free(buf);
	if (rc != 0)
		return -1;
	if (!off)
		return core_failed();
	*out = pmo_slot_ref(off);
	return 0;
}

int pyx_str_utf8(PyObject *s, const char **data, Py_ssize_t *len, PyObject **tmp)
{
	*tmp = NULL;
	if (PyUnicode_IS_COMPACT_ASCII(s)) { /* its characters are its UTF-8 */
		*data = (const char *)PyUnicode_DATA(s);
		*len = PyUnicode_GET_LENGTH(s);
		return 0;
	}
	*data = PyUnicode_AsUTF8AndSize(s, len);
	if (*data)
		return 0;
	if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
		return -1;
	/* Lone surrogates: keep them, as Python's str does. */
	PyErr_Clear();
	PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
	if (!b)
		return -1;
	*tmp = b;
	*data = PyBytes_AS_STRING(b);
	*len = PyBytes_GET_SIZE(b);
	return 0;
}

/* Short strs go into the slot itself (slot.h), longer ones to the heap. */
static int store_str(PoolObject *pool, PyObject *v, pmo_slot *out)
{
	const char *utf8;
	Py_ssize_t n;
	PyObject *tmp;
	if (pyx_str_utf8(v, &utf8, &n, &tmp) != 0)
		return -1;
	uint64_t off = 0;
	int failed = 0;
	if ((size_t)n <= PMO_SSTR_MAX)
		*out = pmo_slot_sstr(utf8, (size_t)n);
	else if ((off = pmo_str_new(pool->core, utf8, (size_t)n)))
		*out = pmo_slot_ref(off);
	else
		failed = 1;
	Py_XDECREF(tmp);
	return failed ? core_failed() : 0;
}

int pyx_short_tuple(PyObject *v, pmo_slot *out)
{
	Py_ssize_t n = PyTuple_GET_SIZE(v);
	if (n > PMO_STUP_MAX)
		return 0;
	int32_t items[PMO_STUP_MAX];
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *item = PyTuple_GET_ITEM(v, i);
		if (!PyLong_CheckExact(item))
			return 0;
		int overflow;
		long long x = PyLong_AsLongLongAndOverflow(item, &overflow);
		if (overflow || x < INT32_MIN || x > INT32_MAX)
			return 0; /* an exact int cannot fail otherwise */
		items[i] = (int32_t)x;
	}
	*out = pmo_slot_stup(items, (size_t)n);
	return 1;
}

static int store_items(PoolObject *pool, PyObject *v, uint32_t type, pmo_slot *out)
{
	Py_ssize_t n = PyTuple_CheckExact(v) ? PyTuple_GET_SIZE(v) : PySet_GET_SIZE(v);
	uint64_t off = pmo_tuple_new(pool->core, type, (size_t)n);
	if (!off)
		return core_failed();
	pmo_tuple *t = pmo_direct(pool->core, off);
	if (Py_EnterRecursiveCall(" while persisting a value"))
		return -1;
	int rc = 0;
	if (type == PMO_T_TUPLE) {
		for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
			pmo_slot s;
			rc = pyx_to_slot(pool, PyTuple_GET_ITEM(v, i), &s);
			if (rc == 0)
				pmo_tuple_init_item(t, (size_t)i, s);
		}
	} else {
		Py_ssize_t pos = 0, i = 0;
		PyObject *item;
		Py_hash_t h;
		while (rc == 0 && _PySet_NextEntry(v, &pos, &item, &h)) {
			pmo_slot s;
			rc = pyx_to_slot(pool, item, &s);
			if (rc == 0)
				pmo_tuple_init_item(t, (size_t)i++, s);
		}
	}
	Py_LeaveRecursiveCall();
	if (rc != 0)
		return -1;
	pmo_tuple_seal(pool->core, t);
	*out = pmo_slot_ref(off);
	return 0;
}

static int store_pickle(PoolObject *pool, PyObject *v, pmo_slot *out)
{
	PyObject *data = pyx_pickle_dumps(v);
	if (!data)
		return -1;
	uint64_t off =
		pmo_pickle_new(pool->core, PyBytes_AS_STRING(data), (size_t)PyBytes_GET_SIZE(data));
	Py_DECREF(data);
	if (!off)
		return core_failed();
	*out = pmo_slot_ref(off);
	return 0;
}

static int store_ref_to(PoolObject *pool, PyObject *proxy, pmo_slot *out)
{
	if (check_proxy(pool, (ProxyObject *)proxy))
		return -1;
	uint64_t off = ((ProxyObject *)proxy)->off;
	if (pmo_incref(pool->core, off) != 0)
		return core_failed();
	*out = pmo_slot_ref(off);
	return 0;
}

/* A plain list, dict or set: its persistent copy, made through the
 * types' own constructors (which join the transaction) and filled by
 * their extend/update, which store the items through here again. */
static int store_plain(PoolObject *pool, PyObject *v, pmo_slot *out)
{
	int outermost = !pool->plain_copies;
	if (outermost && !(pool->plain_copies = PyDict_New()))
		return -1;
	int rc = -1;
	PyObject *id = PyLong_FromVoidPtr(v), *copy = NULL;
	if (!id)
		goto out;
	copy = Py_XNewRef(PyDict_GetItemWithError(pool->plain_copies, id));
	if (!copy && !PyErr_Occurred()) {
		uint32_t code = PyList_CheckExact(v)   ? PMO_T_LIST
				: PyDict_CheckExact(v) ? PMO_T_DICT
						       : PMO_T_SET;
		copy = PyObject_CallMethod((PyObject *)pool, "new", "(O)",
					   (PyObject *)pyx_proxy_type(code));
		/* Registered before filling: a cycle back to v finds it. */
		PyObject *r = NULL;
		if (copy && PyDict_SetItem(pool->plain_copies, id, copy) == 0)
			r = PyObject_CallMethod(copy, code == PMO_T_LIST ? "extend" : "update",
						"(O)", v);
		if (!r)
			Py_CLEAR(copy);
		Py_XDECREF(r);
	}
	if (copy)
		rc = store_ref_to(pool, copy, out);
out:
	Py_XDECREF(id);
	Py_XDECREF(copy);
	if (outermost)
		Py_CLEAR(pool->plain_copies);
	return rc;
}

int pyx_to_slot(PoolObject *pool, PyObject *v, pmo_slot *out)
{
	if (v == Py_None) {
		*out = pmo_slot_none();
		return 0;
	}
	if (PyBool_Check(v)) {
		*out = pmo_slot_bool(v == Py_True);
		return 0;
	}
	if (PyLong_CheckExact(v))
		return store_long(pool, v, out);
	if (PyFloat_CheckExact(v)) {
		*out = pmo_slot_float(PyFloat_AS_DOUBLE(v));
		return 0;
	}
	if (PyUnicode_CheckExact(v))
		return store_str(pool, v, out);
	if (PyBytes_CheckExact(v)) {
		if (PyBytes_GET_SIZE(v) <= PMO_SSTR_MAX) {
			*out = pmo_slot_sbytes(PyBytes_AS_STRING(v), (size_t)PyBytes_GET_SIZE(v));
			return 0;
		}
		uint64_t off = pmo_bytes_new(pool->core, PyBytes_AS_STRING(v),
					     (size_t)PyBytes_GET_SIZE(v));
		if (!off)
			return core_failed();
		*out = pmo_slot_ref(off);
		return 0;
	}
	if (PyComplex_CheckExact(v)) {
		Py_complex c = PyComplex_AsCComplex(v);
		uint64_t off = pmo_complex_new(pool->core, c.real, c.imag);
		if (!off)
			return core_failed();
		*out = pmo_slot_ref(off);
		return 0;
	}
	if (PyTuple_CheckExact(v))
		return pyx_short_tuple(v, out) ? 0 : store_items(pool, v, PMO_T_TUPLE, out);
	if (PyFrozenSet_CheckExact(v))
		return store_items(pool, v, PMO_T_FROZENSET, out);
	if (pyx_is_proxy(v))
		return store_ref_to(pool, v, out);
	if (is_plain_container(v))
		return store_plain(pool, v, out);
	if (pyx_is_pickled_type(pool, v))
		return store_pickle(pool, v, out);
	uint64_t off;
	int r = pyx_foreign_check(pool, v, &off);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (pmo_incref(pool->core, off) != 0)
			return core_failed();
		*out = pmo_slot_ref(off);
		return 0;
	}
	return cannot_persist(v);
}

/* --- loading ------------------------------------------------------------ */

static PyObject *load_ref(PoolObject *pool, uint64_t off);

static PyObject *load_items(PoolObject *pool, const pmo_tuple *t, uint32_t type)
{
	if (Py_EnterRecursiveCall(" while reading a persistent value"))
		return NULL;
	PyObject *result = NULL;
	PyObject *tup = PyTuple_New((Py_ssize_t)t->n);
	if (!tup)
		goto out;
	for (uint64_t i = 0; i < t->n; i++) {
		PyObject *item = pyx_from_slot(pool, t->items[i]);
		if (!item) {
			Py_DECREF(tup);
			goto out;
		}
		PyTuple_SET_ITEM(tup, (Py_ssize_t)i, item);
	}
	if (type == PMO_T_TUPLE) {
		result = tup;
	} else {
		result = PyFrozenSet_New(tup);
		Py_DECREF(tup);
	}
out:
	Py_LeaveRecursiveCall();
	return result;
}

/* A big int from its little-endian magnitude and sign (heap or slot). */
static PyObject *int_from_magnitude(const unsigned char *mag_le, size_t n, int negative)
{
	PyObject *mag = _PyLong_FromByteArray(mag_le, n, 1, 0);
	if (!mag || !negative)
		return mag;
	PyObject *neg = PyNumber_Negative(mag);
	Py_DECREF(mag);
	return neg;
}

static PyObject *load_pickle(PoolObject *pool, const pmo_var *o)
{
	PyObject *mod = pickling_module();
	if (!mod)
		return NULL;
	PyObject *data = PyBytes_FromStringAndSize(o->data, (Py_ssize_t)o->size);
	if (!data)
		return NULL;
	PyObject *v = PyObject_CallMethod(mod, "loads", "OO", data, pool->pickle_types);
	Py_DECREF(data);
	return v;
}

/* Replace the current exception, raised while decoding the stored bytes
 * of the object at off, by a CorruptPoolError saying what they failed to
 * be (the original stays as its __cause__).  Not for MemoryError. */
static PyObject *undecodable(PoolObject *pool, uint64_t off, const char *what)
{
	if (PyErr_ExceptionMatches(PyExc_MemoryError) ||
	    PyErr_ExceptionMatches(pyx_ClassNotFoundError))
		return NULL;
	PyObject *et, *ev, *tb;
	PyErr_Fetch(&et, &ev, &tb);
	PyErr_NormalizeException(&et, &ev, &tb);
	if (ev && PyObject_HasAttrString(ev, "refused_by_policy")) {
		PyErr_Restore(et, ev, tb); /* _pickling.py refused a class */
		return NULL;
	}
	pmo_err_corrupt(pool->core->path, off, "%s", what);
	pyx_raise();
	PyObject *et2, *ev2, *tb2;
	PyErr_Fetch(&et2, &ev2, &tb2);
	PyErr_NormalizeException(&et2, &ev2, &tb2);
	if (ev2 && ev)
		PyException_SetCause(ev2, Py_NewRef(ev));
	PyErr_Restore(et2, ev2, tb2);
	Py_XDECREF(et);
	Py_XDECREF(ev);
	Py_XDECREF(tb);
	return NULL;
}

static PyObject *load_ref(PoolObject *pool, uint64_t off)
{
	pmo_pool *p = pool->core;
	uint32_t type = pmo_ref_type(p, off);
	if (pool->verify && pmo_value_verify(p, off) != 0)
		return pyx_raise();
	pmo_var o;
	switch (type) {
	case PMO_T_STR:
		if (pmo_var_get(p, off, type, &o) != 0)
			return pyx_raise();
		PyObject *s = PyUnicode_DecodeUTF8(o.data, (Py_ssize_t)o.size, "surrogatepass");
		return s ? s : undecodable(pool, off, "a str object holds invalid UTF-8");
	case PMO_T_BYTES:
		if (pmo_var_get(p, off, type, &o) != 0)
			return pyx_raise();
		return PyBytes_FromStringAndSize(o.data, (Py_ssize_t)o.size);
	case PMO_T_LONG:
		if (pmo_var_get(p, off, type, &o) != 0)
			return pyx_raise();
		return int_from_magnitude((const unsigned char *)o.data, o.size, o.negative);
	case PMO_T_COMPLEX: {
		const pmo_complex *c = pmo_complex_get(p, off);
		if (!c)
			return pyx_raise();
		return PyComplex_FromDoubles(c->real, c->imag);
	}
	case PMO_T_TUPLE:
	case PMO_T_FROZENSET: {
		const pmo_tuple *t = pmo_tuple_get(p, off, type);
		if (!t)
			return pyx_raise();
		return load_items(pool, t, type);
	}
	case PMO_T_PICKLE:
		if (pmo_var_get(p, off, type, &o) != 0)
			return pyx_raise();
		PyObject *v = load_pickle(pool, &o);
		return v ? v : undecodable(pool, off, "a pickled value cannot be unpickled");
	default:
		return pyx_proxy_for(pool, off);
	}
}

PyObject *pyx_from_any_slot(PoolObject *pool, pmo_slot s)
{
	switch (pmo_slot_tag(s)) {
	case PMO_TAG_NONE:
		Py_RETURN_NONE;
	case PMO_TAG_FALSE:
		Py_RETURN_FALSE;
	case PMO_TAG_TRUE:
		Py_RETURN_TRUE;
	case PMO_TAG_INT:
		return PyLong_FromLongLong(pmo_slot_as_int(s));
	case PMO_TAG_FLOAT:
		return PyFloat_FromDouble(pmo_slot_as_float(s));
	case PMO_TAG_REF:
		return load_ref(pool, s.val);
	case PMO_TAG_SBIG:
		if (!pmo_slot_well_formed(s))
			goto invalid;
		return int_from_magnitude(pmo_sbig_data(&s), pmo_sbig_len(&s),
					  pmo_sbig_negative(&s));
	case PMO_TAG_SBYT:
		if (!pmo_slot_well_formed(s))
			goto invalid;
		return PyBytes_FromStringAndSize(pmo_sstr_data(&s), (Py_ssize_t)pmo_sstr_len(&s));
	case PMO_TAG_STUP: {
		if (!pmo_slot_well_formed(s))
			goto invalid;
		size_t n = pmo_stup_len(&s);
		PyObject *tup = PyTuple_New((Py_ssize_t)n);
		for (size_t i = 0; tup && i < n; i++) {
			PyObject *item = PyLong_FromLongLong(pmo_stup_item(&s, i));
			if (!item)
				Py_CLEAR(tup);
			else
				PyTuple_SET_ITEM(tup, (Py_ssize_t)i, item);
		}
		return tup;
	}
	case PMO_TAG_SSTR:
		if (pmo_slot_well_formed(s)) {
			PyObject *str = PyUnicode_DecodeUTF8(
				pmo_sstr_data(&s), (Py_ssize_t)pmo_sstr_len(&s), "surrogatepass");
			return str ? str : undecodable(pool, 0, "a short str holds invalid UTF-8");
		}
		/* fall through */
	default:
	invalid:
		pmo_err_corrupt(pool->core->path, 0, "a slot holds the invalid tag %llu",
				(unsigned long long)s.tag);
		return pyx_raise();
	}
}
