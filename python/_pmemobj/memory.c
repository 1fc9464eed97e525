/*
 * MemoryManager: the low-level API (docs/api.md) for persistent types
 * written in Python, and the oids it speaks in.
 *
 * Oids are (pool uuid_lo, offset) tuples; OID_NULL is (0, 0).  A type
 * written in Python allocates its PObject with alloc(size) (type_num
 * POBJECT_TYPE_NUM): the manager stamps the first 16 bytes as a pmo_head
 * (refcount 0, the type code of the class).  Which class?  The one whose
 * _p_new the manager is running (pool.new / mm.new push it on a stack),
 * so the API's calls work as written; code that allocates a PObject
 * elsewhere names it with alloc(size, cls=C).  Memory the object owns
 * besides (any other type_num) is reported by _p_substructures; gc frees
 * unreported blocks of unreachable objects.  How such objects are known
 * to the identity map, resurrected and reached by the core's hooks is in
 * foreign.c.
 *
 * Writes through direct() addresses are the caller's: snapshot_range()
 * (an addition to the spec's API) adds committed bytes to the current
 * transaction before they are changed, as libpmemobj requires.
 */
#include "manager.h"

#include <errno.h>

#include "object.h"

/* --- the manager object ------------------------------------------------ */

PyObject *pyx_pool_of_ref(PyObject *ref)
{
#if PY_VERSION_HEX >= 0x030d0000
	PyObject *p = NULL;
	if (PyWeakref_GetRef(ref, &p) < 0)
		PyErr_Clear();
	return p;
#else
	PyObject *p = PyWeakref_GetObject(ref);
	return p && p != Py_None ? Py_NewRef(p) : NULL;
#endif
}

/* The open pool of a manager (new reference), or NULL with ValueError. */
static PoolObject *mm_pool(MMObject *self)
{
	PoolObject *pool = (PoolObject *)pyx_pool_of_ref(self->pool_ref);
	if (!pool || !pool->core) {
		Py_XDECREF(pool);
		pyx_closed();
		return NULL;
	}
	return pool;
}

MMObject *pyx_mm(PoolObject *pool)
{
	if (pool->mm)
		return (MMObject *)pool->mm;
	if (Py_REFCNT(pool) == 0) {
		/* Being deallocated (closing): a weak reference made now would
		 * outlive it. */
		pyx_closed();
		return NULL;
	}
	MMObject *mm = PyObject_GC_New(MMObject, &MemoryManager_Type);
	if (!mm)
		return NULL;
	mm->classes = NULL;
	mm->nclasses = 0;
	mm->types_dirty = mm->names_dirty = 0;
	mm->names = mm->name_list = NULL;
	memset(mm->name_seen, 0, sizeof mm->name_seen);
	mm->weakreflist = NULL;
	mm->pool_ref = PyWeakref_NewRef((PyObject *)pool, NULL);
	mm->codes = PyDict_New();
	mm->creating = PyList_New(0);
	mm->registry = PyDict_New();
	PyObject_GC_Track(mm);
	if (!mm->pool_ref || !mm->codes || !mm->creating || !mm->registry) {
		Py_DECREF(mm);
		return NULL;
	}
	pool->mm = (PyObject *)mm;
	return mm;
}

PyObject *pyx_pool_get_mm(PoolObject *pool, void *closure)
{
	return Py_XNewRef((PyObject *)pyx_mm(pool));
}

static int MM_traverse(MMObject *self, visitproc visit, void *arg)
{
	Py_VISIT(self->pool_ref);
	Py_VISIT(self->codes);
	Py_VISIT(self->names);
	Py_VISIT(self->name_list);
	Py_VISIT(self->creating);
	Py_VISIT(self->registry);
	for (size_t i = 0; i < self->nclasses; i++)
		Py_VISIT(self->classes[i].cls);
	return 0;
}

static int MM_clear(MMObject *self)
{
	/* Registry first: its weak references die with it, so their
	 * callbacks (which borrow self) never run. */
	Py_CLEAR(self->registry);
	Py_CLEAR(self->creating);
	Py_CLEAR(self->names);
	Py_CLEAR(self->name_list);
	for (size_t i = 0; i < sizeof self->name_seen / sizeof self->name_seen[0]; i++)
		Py_CLEAR(self->name_seen[i].name);
	Py_CLEAR(self->codes);
	Py_CLEAR(self->pool_ref);
	for (size_t i = 0; i < self->nclasses; i++)
		Py_CLEAR(self->classes[i].cls);
	return 0;
}

static void MM_dealloc(MMObject *self)
{
	PyObject_GC_UnTrack(self);
	if (self->weakreflist)
		PyObject_ClearWeakRefs((PyObject *)self);
	MM_clear(self);
	PyMem_Free(self->classes);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *MM_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"pool", "type_table", NULL};
	PyObject *pool, *table = Py_None;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|O:MemoryManager", kwlist, &Pool_Type, &pool,
					 &table))
		return NULL;
	/* One manager per pool: asking for another gives the pool's. */
	return Py_XNewRef((PyObject *)pyx_mm((PoolObject *)pool));
}

/* --- oids ---------------------------------------------------------------- */

/* The two numbers of an oid: a (uuid_lo, off) sequence, or an object with
 * pool_uuid_lo and off attributes (a ctypes PMEMoid, say). */
int pyx_oid_parts(PyObject *oid, unsigned long long *uuid, unsigned long long *off)
{
	PyObject *u = NULL, *o = NULL;
	if (PyTuple_Check(oid) || PyList_Check(oid)) {
		if (PySequence_Fast_GET_SIZE(oid) == 2) {
			u = Py_NewRef(PySequence_Fast_GET_ITEM(oid, 0));
			o = Py_NewRef(PySequence_Fast_GET_ITEM(oid, 1));
		}
	} else if (PyObject_HasAttrString(oid, "pool_uuid_lo") &&
		   PyObject_HasAttrString(oid, "off")) {
		u = PyObject_GetAttrString(oid, "pool_uuid_lo");
		o = u ? PyObject_GetAttrString(oid, "off") : NULL;
		if (!o) {
			Py_XDECREF(u);
			return -1;
		}
	}
	if (!u || !PyLong_Check(u) || !PyLong_Check(o)) {
		Py_XDECREF(u);
		Py_XDECREF(o);
		PyErr_Format(PyExc_TypeError,
			     "an oid is a (pool_uuid_lo, offset) pair of ints, not %R", oid);
		return -1;
	}
	*uuid = PyLong_AsUnsignedLongLong(u);
	*off = PyErr_Occurred() ? 0 : PyLong_AsUnsignedLongLong(o);
	Py_DECREF(u);
	Py_DECREF(o);
	if (PyErr_Occurred()) {
		PyErr_Format(PyExc_ValueError, "invalid oid %R", oid);
		return -1;
	}
	return 0;
}

/* The offset an oid names in pool (0 for OID_NULL), validated. */
static int parse_oid(PoolObject *pool, PyObject *oid, uint64_t *off)
{
	unsigned long long u, o;
	if (pyx_oid_parts(oid, &u, &o) != 0)
		return -1;
	if (o == 0) {
		*off = 0;
		return 0;
	}
	if (u != pool->core->uuid_lo) {
		PyErr_Format(PyExc_ValueError, "oid %R does not belong to pool %R", oid,
			     pool->filename);
		return -1;
	}
	if (!pmo_off_valid(pool->core, o, 1)) {
		PyErr_Format(PyExc_ValueError, "oid %R is not a valid offset in pool %R", oid,
			     pool->filename);
		return -1;
	}
	*off = o;
	return 0;
}

PyObject *pyx_make_oid(PoolObject *pool, uint64_t off)
{
	return Py_BuildValue("(KK)", off ? (unsigned long long)pool->core->uuid_lo : 0ULL,
			     (unsigned long long)off);
}

/* Does this thread have a transaction open on pool (a `with` block, or
 * an operation of the runtime, e.g. a decref calling _p_deallocate)? */
static int in_tx(PoolObject *pool)
{
	return pool->lock_depth > 0 && pool->owner == PyThread_get_thread_ident() &&
	       pmo_tx_depth() > 0;
}

static int outside_tx(const char *name)
{
	PyErr_Format(PyExc_RuntimeError,
		     "%s() called outside a transaction: use it inside "
		     "'with pool.transaction():'",
		     name);
	return -1;
}

int pyx_note_created(PoolObject *pool, uint64_t off)
{
	if (pool->ncreated == pool->capcreated) {
		size_t cap = pool->capcreated ? pool->capcreated * 2 : 16;
		uint64_t *c = realloc(pool->created, cap * sizeof *c);
		if (!c) {
			PyErr_NoMemory();
			return -1;
		}
		pool->created = c;
		pool->capcreated = cap;
	}
	pool->created[pool->ncreated++] = off;
	return 0;
}

/* --- MemoryManager methods --------------------------------------------------- */

static PyObject *call_init(PyObject *obj, PyObject *args, PyObject *kw)
{
	PyObject *init = PyObject_GetAttrString(obj, "__init__");
	PyObject *r = init ? PyObject_Call(init, args, kw) : NULL;
	Py_XDECREF(init);
	if (r && r != Py_None) {
		PyErr_Format(PyExc_TypeError, "__init__() should return None, not '%.200s'",
			     Py_TYPE(r)->tp_name);
		Py_CLEAR(r);
	}
	if (!r)
		return NULL;
	Py_DECREF(r);
	return obj;
}

/* A Python-implemented type: __new__, _p_new(mm) with the class on the
 * creating stack, registration, __init__. */
static PyObject *new_foreign(MMObject *self, PoolObject *pool, PyTypeObject *typ, PyObject *args,
			     PyObject *kw)
{
	if (!PyType_SUPPORTS_WEAKREFS(typ)) {
		PyErr_Format(PyExc_TypeError,
			     "persistent type %s must support weak references (give it "
			     "'__weakref__' in __slots__)",
			     typ->tp_name);
		return NULL;
	}
	PyObject *obj = PyObject_CallMethod((PyObject *)typ, "__new__", "(O)", typ);
	if (!obj)
		return NULL;
	/* [class, object, offset once allocated, thread]: threads may create
	 * objects at the same time, each allocating for its own. */
	PyObject *entry = Py_BuildValue("[OOOk]", typ, obj, Py_None, PyThread_get_thread_ident());
	if (!entry || PyList_Append(self->creating, entry) != 0) {
		Py_XDECREF(entry);
		Py_DECREF(obj);
		return NULL;
	}
	PyObject *r = PyObject_CallMethod(obj, "_p_new", "(O)", self);
	/* Pop our entry (the innermost, unless _p_new misbehaved). */
	for (Py_ssize_t i = PyList_GET_SIZE(self->creating) - 1; i >= 0; i--)
		if (PyList_GET_ITEM(self->creating, i) == entry) {
			PySequence_DelItem(self->creating, i);
			break;
		}
	int registered = PyList_GET_ITEM(entry, 2) != Py_None;
	Py_DECREF(entry);
	if (!r) {
		Py_DECREF(obj);
		return NULL;
	}
	Py_DECREF(r);
	if (!registered) {
		/* _p_new allocated its PObject some other way (alloc(cls=...)
		 * or its own header): register what _p_oid names. */
		PyObject *oid = PyObject_GetAttrString(obj, "_p_oid");
		uint64_t off = 0;
		int rc = oid ? parse_oid(pool, oid, &off) : -1;
		Py_XDECREF(oid);
		if (rc == 0 && !off)
			PyErr_Format(PyExc_TypeError, "%s._p_new() did not set _p_oid",
				     typ->tp_name);
		else if (rc == 0) {
			const pmo_head *h = pmo_obj_checked(pool->core, off, sizeof(pmo_head));
			if (!h)
				pyx_raise();
			else if (h->type < PMO_T_FIRST_USER || pmo_is_object(h))
				PyErr_Format(PyExc_TypeError,
					     "%s._p_oid does not name a PObject of a Python type",
					     typ->tp_name);
			else
				rc = pyx_foreign_register(self, pool, off, obj) == 0 ? 1 : -1;
		}
		if (rc != 1) {
			Py_DECREF(obj);
			return NULL;
		}
	}
	if (!call_init(obj, args, kw)) {
		Py_DECREF(obj);
		return NULL;
	}
	return obj;
}

static PyObject *MM_new_object(MMObject *self, PyObject *args, PyObject *kw)
{
	if (PyTuple_GET_SIZE(args) < 1) {
		PyErr_SetString(PyExc_TypeError, "new() needs the type to create");
		return NULL;
	}
	PyObject *typ = PyTuple_GET_ITEM(args, 0);
	PyObject *rest = PyTuple_GetSlice(args, 1, PyTuple_GET_SIZE(args));
	PoolObject *pool = rest ? mm_pool(self) : NULL;
	PyObject *obj = NULL;
	if (!pool)
		goto out;
	if (PyType_Check(typ) && PyType_IsSubtype((PyTypeObject *)typ, &Proxy_Type)) {
		obj = PyObject_CallMethod(typ, "_p_new_in", "(O)", pool);
		if (obj && !call_init(obj, rest, kw))
			Py_CLEAR(obj);
	} else if (PyType_Check(typ) && PyObject_HasAttrString(typ, "_p_new") &&
		   PyObject_HasAttrString(typ, "_p_resurrect")) {
		obj = new_foreign(self, pool, (PyTypeObject *)typ, rest, kw);
	} else {
		PyErr_Format(PyExc_TypeError,
			     "%R does not support the Persistent API "
			     "(_p_new, _p_resurrect, ...)",
			     typ);
	}
out:
	Py_XDECREF(rest);
	Py_XDECREF(pool);
	return obj;
}

static PyObject *MM_transaction(MMObject *self, PyObject *unused)
{
	PoolObject *pool = mm_pool(self);
	if (!pool)
		return NULL;
	PyObject *t = PyObject_CallMethod((PyObject *)pool, "transaction", NULL);
	Py_DECREF(pool);
	return t;
}

static PyObject *MM_otuple(MMObject *self, PyObject *oid)
{
	unsigned long long u, o;
	if (pyx_oid_parts(oid, &u, &o) != 0)
		return NULL;
	return Py_BuildValue("(KK)", o ? u : 0ULL, o);
}

/* The class alloc() stamps into a PObject: cls, else the innermost class
 * being created by new(), whose entry is returned in *entry. */
static PyObject *alloc_class(MMObject *self, PyObject *cls, PyObject **entry)
{
	*entry = NULL;
	if (cls != Py_None) {
		if (!PyType_Check(cls)) {
			PyErr_Format(PyExc_TypeError, "cls must be a class, not %R", cls);
			return NULL;
		}
		return cls;
	}
	unsigned long me = PyThread_get_thread_ident();
	for (Py_ssize_t i = PyList_GET_SIZE(self->creating) - 1; i >= 0; i--) {
		PyObject *e = PyList_GET_ITEM(self->creating, i);
		if (PyLong_AsUnsignedLong(PyList_GET_ITEM(e, 3)) == me) {
			*entry = e;
			return PyList_GET_ITEM(e, 0);
		}
	}
	PyErr_SetString(PyExc_RuntimeError,
			"alloc(type_num=POBJECT_TYPE_NUM) outside of _p_new: the manager "
			"does not know the object's class; pass cls=TheClass");
	return NULL;
}

static PyObject *alloc_impl(MMObject *self, PyObject *args, PyObject *kw, int zero,
			    const char *fname)
{
	static char *kwlist[] = {"size", "type_num", "cls", NULL};
	Py_ssize_t size;
	unsigned long long tn = PMO_TYPENUM_OBJ;
	PyObject *cls = Py_None;
	if (!PyArg_ParseTupleAndKeywords(args, kw, zero ? "n|K$O:zalloc" : "n|K$O:alloc", kwlist,
					 &size, &tn, &cls))
		return NULL;
	PoolObject *pool = mm_pool(self);
	if (!pool)
		return NULL;
	PyObject *result = NULL, *entry = NULL;
	if (!in_tx(pool)) {
		outside_tx(fname);
		goto out;
	}
	if (size <= 0) {
		PyErr_Format(PyExc_ValueError, "%s() size must be positive, not %zd", fname, size);
		goto out;
	}
	if (tn == PMO_TYPENUM_OBJ) {
		if ((size_t)size < sizeof(pmo_head)) {
			PyErr_Format(PyExc_ValueError,
				     "a PObject needs at least %zu bytes "
				     "for its header, not %zd",
				     sizeof(pmo_head), size);
			goto out;
		}
		if (!(cls = alloc_class(self, cls, &entry)))
			goto out;
		if (entry && PyList_GET_ITEM(entry, 2) != Py_None)
			entry = NULL; /* its object has its PObject already */
		Py_XINCREF(entry);
	}
	if (pyx_op_begin(pool))
		goto out;
	uint32_t code = 0;
	uint64_t off = 0;
	int failed = tn == PMO_TYPENUM_OBJ && !(code = pyx_type_code(pool, cls));
	if (!failed)
		failed = !(off = pmo_tx_alloc(pool->core, (size_t)size, tn, zero));
	if (!failed && tn == PMO_TYPENUM_OBJ) {
		/* Refcount 0: only the Python object holds it until it is
		 * stored somewhere. */
		pmo_obj_stamp(pool->core, off, code);
		failed = pyx_note_created(pool, off) != 0 ||
			 (entry &&
			  pyx_foreign_register(self, pool, off, PyList_GET_ITEM(entry, 1)) != 0);
		if (!failed && entry) {
			PyObject *o = PyLong_FromUnsignedLongLong(off);
			failed = !o || PyList_SetItem(entry, 2, o) != 0;
		}
	}
	if (pyx_op_end(pool, failed) == 0)
		result = pyx_make_oid(pool, off);
out:
	Py_XDECREF(entry);
	Py_DECREF(pool);
	return result;
}

static PyObject *MM_alloc(MMObject *self, PyObject *args, PyObject *kw)
{
	return alloc_impl(self, args, kw, 0, "alloc");
}

static PyObject *MM_zalloc(MMObject *self, PyObject *args, PyObject *kw)
{
	return alloc_impl(self, args, kw, 1, "zalloc");
}

static PyObject *MM_free(MMObject *self, PyObject *oid)
{
	PoolObject *pool = mm_pool(self);
	if (!pool)
		return NULL;
	PyObject *result = NULL;
	uint64_t off;
	if (!in_tx(pool)) {
		outside_tx("free");
		goto out;
	}
	if (parse_oid(pool, oid, &off) != 0)
		goto out;
	if (!off) {
		result = Py_NewRef(Py_None);
		goto out;
	}
	if (off == pool->core->freeing) {
		PyErr_SetString(PyExc_ValueError,
				"cannot free an object from its own "
				"_p_deallocate: the runtime frees it when that returns");
		goto out;
	}
	PyObject *live = pyx_idmap_get(pool, off);
	if (live && pyx_is_proxy(live)) {
		PyErr_Format(PyExc_ValueError, "cannot free a %s: reference counting frees it",
			     Py_TYPE(live)->tp_name);
		goto out;
	}
	if (pmo_block_type(pool->core, off, NULL) == PMO_TYPENUM_OBJ) {
		const pmo_head *h = pmo_obj_checked(pool->core, off, sizeof(pmo_head));
		if (!h) {
			pyx_raise();
			goto out;
		}
		if (h->refcnt) {
			PyErr_Format(PyExc_ValueError,
				     "cannot free the object at %R: %llu "
				     "references to it are stored",
				     oid, (unsigned long long)h->refcnt);
			goto out;
		}
	}
	if (pyx_op_begin(pool))
		goto out;
	if (pyx_op_end(pool, pmo_tx_free(pool->core, off) != 0) == 0) {
		if (live)
			pyx_foreign_forget(self, pool, off);
		result = Py_NewRef(Py_None);
	}
out:
	Py_DECREF(pool);
	return result;
}

static PyObject *realloc_impl(MMObject *self, PyObject *args, PyObject *kw, int zero,
			      const char *fname)
{
	static char *kwlist[] = {"oid", "size", "type_num", NULL};
	PyObject *oid, *tn_o = Py_None;
	Py_ssize_t size;
	if (!PyArg_ParseTupleAndKeywords(args, kw, zero ? "On|O:zrealloc" : "On|O:realloc", kwlist,
					 &oid, &size, &tn_o))
		return NULL;
	PoolObject *pool = mm_pool(self);
	if (!pool)
		return NULL;
	PyObject *result = NULL;
	uint64_t off;
	if (!in_tx(pool)) {
		outside_tx(fname);
		goto out;
	}
	if (parse_oid(pool, oid, &off) != 0)
		goto out;
	if (size <= 0) {
		PyErr_Format(PyExc_ValueError, "%s() size must be positive, not %zd", fname, size);
		goto out;
	}
	unsigned long long tn = PMO_TYPENUM_RAW;
	if (tn_o != Py_None) {
		tn = PyLong_AsUnsignedLongLong(tn_o);
		if (PyErr_Occurred())
			goto out;
	}
	if (off) {
		uint64_t have = pmo_block_type(pool->core, off, NULL);
		if (tn_o != Py_None && have != tn) {
			PyErr_Format(PyExc_ValueError,
				     "%s(): the memory at %R has type number "
				     "%llu, not %llu",
				     fname, oid, (unsigned long long)have, tn);
			goto out;
		}
		tn = have;
	}
	if (tn == PMO_TYPENUM_OBJ) {
		PyErr_Format(PyExc_ValueError,
			     "%s() of a PObject: its oid is its identity, which stored references "
			     "hold; reallocate the substructures it owns instead",
			     fname);
		goto out;
	}
	if (pyx_op_begin(pool))
		goto out;
	uint64_t noff = pmo_tx_realloc(pool->core, off, (size_t)size, tn, zero);
	if (pyx_op_end(pool, !noff) == 0)
		result = pyx_make_oid(pool, noff);
out:
	Py_DECREF(pool);
	return result;
}

static PyObject *MM_realloc(MMObject *self, PyObject *args, PyObject *kw)
{
	return realloc_impl(self, args, kw, 0, "realloc");
}

static PyObject *MM_zrealloc(MMObject *self, PyObject *args, PyObject *kw)
{
	return realloc_impl(self, args, kw, 1, "zrealloc");
}

/* incref (delta 1), decref (-1) and xdecref (-1, OID_NULL allowed). */
static PyObject *refcount_impl(MMObject *self, PyObject *oid, int delta, int null_ok)
{
	PoolObject *pool = mm_pool(self);
	if (!pool)
		return NULL;
	PyObject *result = NULL;
	uint64_t off;
	if (parse_oid(pool, oid, &off) != 0)
		goto out;
	if (!off) {
		if (null_ok)
			result = Py_NewRef(Py_None);
		else
			PyErr_Format(PyExc_ValueError, "%s of OID_NULL",
				     delta > 0 ? "incref" : "decref");
		goto out;
	}
	const pmo_head *h = pmo_obj_checked(pool->core, off, sizeof(pmo_head));
	if (!h) {
		pyx_raise();
		goto out;
	}
	if (delta < 0 && h->refcnt == 0) {
		PyErr_Format(PyExc_ValueError,
			     "decref of the object at %R, whose reference "
			     "count is already 0",
			     oid);
		goto out;
	}
	if (pyx_op_begin(pool))
		goto out;
	int failed = (delta > 0 ? pmo_incref(pool->core, off) : pmo_decref(pool->core, off)) != 0;
	if (pyx_op_end(pool, failed) == 0)
		result = Py_NewRef(Py_None);
out:
	Py_DECREF(pool);
	return result;
}

static PyObject *MM_incref(MMObject *self, PyObject *oid)
{
	return refcount_impl(self, oid, 1, 0);
}

static PyObject *MM_decref(MMObject *self, PyObject *oid)
{
	return refcount_impl(self, oid, -1, 0);
}

static PyObject *MM_xdecref(MMObject *self, PyObject *oid)
{
	return refcount_impl(self, oid, -1, 1);
}

static PyObject *MM_persist(MMObject *self, PyObject *obj)
{
	PoolObject *pool = mm_pool(self);
	if (!pool)
		return NULL;
	PyObject *result = NULL;
	uint64_t off = 0;
	if (pyx_is_proxy(obj)) {
		if (pyx_check_storable(pool, obj) == 0)
			result = pyx_make_oid(pool, ((ProxyObject *)obj)->off);
		goto out;
	}
	int r = pyx_foreign_check(pool, obj, &off);
	if (r != 0) {
		if (r > 0)
			result = pyx_make_oid(pool, off);
		goto out;
	}
	if (pyx_check_storable(pool, obj) || pyx_op_begin(pool))
		goto out;
	pmo_slot s;
	int failed = pyx_to_slot(pool, obj, &s) != 0;
	if (!failed && !pmo_slot_is_ref(s))
		failed = !(off = pmo_box_new(pool->core, s));
	else if (!failed)
		off = s.val;
	/* A value's stored form is made fresh in this transaction, so its
	 * count needs no snapshot.  The caller gets no reference: it increfs
	 * the oid when it stores it (as the spec's containers do). */
	if (!failed)
		pmo_obj_disown(pool->core, off);
	if (pyx_op_end(pool, failed) == 0)
		result = pyx_make_oid(pool, off);
out:
	Py_DECREF(pool);
	return result;
}

static PyObject *MM_resurrect(MMObject *self, PyObject *oid)
{
	PoolObject *pool = mm_pool(self);
	if (!pool)
		return NULL;
	PyObject *result = NULL;
	uint64_t off;
	if (parse_oid(pool, oid, &off) != 0)
		goto out;
	if (!off) {
		result = Py_NewRef(Py_None);
		goto out;
	}
	pyx_lock(pool);
	if (!pool->core) {
		pyx_closed();
	} else if (pmo_ref_type(pool->core, off) == PMO_T_BOX) {
		const pmo_box *b = pmo_box_get(pool->core, off);
		result = b ? pyx_from_slot(pool, b->value) : pyx_raise();
	} else {
		result = pyx_from_slot(pool, pmo_slot_ref(off));
	}
	pyx_unlock(pool);
out:
	Py_DECREF(pool);
	return result;
}

static PyObject *MM_direct(MMObject *self, PyObject *oid)
{
	PoolObject *pool = mm_pool(self);
	if (!pool)
		return NULL;
	uint64_t off;
	PyObject *result = NULL;
	if (parse_oid(pool, oid, &off) == 0)
		result = off ? PyLong_FromVoidPtr(pmo_direct(pool->core, off)) : PyLong_FromLong(0);
	Py_DECREF(pool);
	return result;
}

static PyObject *MM_usable_size(MMObject *self, PyObject *oid)
{
	PoolObject *pool = mm_pool(self);
	if (!pool)
		return NULL;
	uint64_t off;
	PyObject *result = NULL;
	if (parse_oid(pool, oid, &off) == 0)
		result = PyLong_FromSize_t(off ? pmemobj_alloc_usable_size(pmo_oid(pool->core, off))
					       : 0);
	Py_DECREF(pool);
	return result;
}

static PyObject *MM_reachable_bytes(MMObject *self, PyObject *oids)
{
	PyObject *seq = PySequence_Fast(oids, "reachable_bytes() takes a sequence of oids");
	if (!seq)
		return NULL;
	PoolObject *pool = mm_pool(self);
	Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
	uint64_t *offs = pool ? PyMem_Calloc((size_t)n + 1, sizeof *offs) : NULL;
	uint64_t *bytes = offs ? PyMem_Calloc((size_t)n + 1, sizeof *bytes) : NULL;
	PyObject *result = NULL;
	if (pool && !bytes)
		PyErr_NoMemory();
	int rc = bytes ? 0 : -1;
	for (Py_ssize_t i = 0; rc == 0 && i < n; i++)
		rc = parse_oid(pool, PySequence_Fast_GET_ITEM(seq, i), &offs[i]);
	if (rc == 0) {
		pyx_lock(pool);
		rc = pmo_reachable_bytes(pool->core, offs, (size_t)n, bytes);
		pyx_unlock(pool);
		if (rc != 0)
			pyx_raise();
	}
	if (rc == 0 && (result = PyList_New(n)))
		for (Py_ssize_t i = 0; result && i < n; i++) {
			PyObject *b = PyLong_FromUnsignedLongLong(bytes[i]);
			if (!b)
				Py_CLEAR(result);
			else
				PyList_SET_ITEM(result, i, b);
		}
	PyMem_Free(offs);
	PyMem_Free(bytes);
	Py_XDECREF(pool);
	Py_DECREF(seq);
	return result;
}

static PyObject *MM_snapshot_range(MMObject *self, PyObject *args)
{
	PyObject *addr_o;
	Py_ssize_t size;
	if (!PyArg_ParseTuple(args, "On:snapshot_range", &addr_o, &size))
		return NULL;
	void *addr = PyLong_AsVoidPtr(addr_o);
	if (!addr && PyErr_Occurred())
		return NULL;
	PoolObject *pool = mm_pool(self);
	if (!pool)
		return NULL;
	PyObject *result = NULL;
	pmo_pool *p = pool->core;
	if (!in_tx(pool)) {
		outside_tx("snapshot_range");
		goto out;
	}
	uint64_t off = (uint64_t)((char *)addr - p->base);
	if ((char *)addr < p->base || size <= 0 || !pmo_off_valid(p, off & ~(uint64_t)15, 1) ||
	    (uint64_t)size > p->size - off) {
		PyErr_Format(PyExc_ValueError,
			     "snapshot_range(): %zd bytes at %R are not "
			     "inside pool %R",
			     size, addr_o, pool->filename);
		goto out;
	}
	if (pyx_op_begin(pool))
		goto out;
	if (pyx_op_end(pool, pmo_tx_snapshot(p, addr, (size_t)size) != 0) == 0)
		result = Py_NewRef(Py_None);
out:
	Py_DECREF(pool);
	return result;
}

static PyObject *MM_type_code(MMObject *self, PyObject *cls)
{
	if (!PyType_Check(cls))
		return PyErr_Format(PyExc_TypeError, "type_code() takes a class, not %R", cls);
	PoolObject *pool = mm_pool(self);
	if (!pool || pyx_op_begin(pool)) {
		Py_XDECREF(pool);
		return NULL;
	}
	uint32_t code = pyx_type_code(pool, cls);
	PyObject *r = pyx_op_end(pool, !code) == 0 ? PyLong_FromUnsignedLong(code) : NULL;
	Py_DECREF(pool);
	return r;
}

static PyObject *MM_get_pool(MMObject *self, void *closure)
{
	PyObject *p = pyx_pool_of_ref(self->pool_ref);
	return p ? p : Py_NewRef(Py_None);
}

static PyMethodDef MM_methods[] = {
	{"new", (PyCFunction)(void (*)(void))MM_new_object, METH_VARARGS | METH_KEYWORDS,
	 "new(typ, *args, **kw): create an instance of the Persistent type typ in the pool."},
	{"transaction", (PyCFunction)MM_transaction, METH_NOARGS,
	 "Return a transaction of the pool (a context manager)."},
	{"otuple", (PyCFunction)MM_otuple, METH_O,
	 "otuple(oid): the oid as a (pool_uuid_lo, offset) tuple."},
	{"alloc", (PyCFunction)(void (*)(void))MM_alloc, METH_VARARGS | METH_KEYWORDS,
	 "alloc(size, type_num=POBJECT_TYPE_NUM, *, cls=None) -> oid, inside a transaction.\n\n"
	 "A POBJECT_TYPE_NUM block gets a PObject header (refcount 0, the type code of\n"
	 "cls, or of the class whose _p_new is running)."},
	{"zalloc", (PyCFunction)(void (*)(void))MM_zalloc, METH_VARARGS | METH_KEYWORDS,
	 "zalloc(size, type_num=POBJECT_TYPE_NUM, *, cls=None): alloc, zeroed."},
	{"free", (PyCFunction)MM_free, METH_O, "free(oid), inside a transaction."},
	{"realloc", (PyCFunction)(void (*)(void))MM_realloc, METH_VARARGS | METH_KEYWORDS,
	 "realloc(oid, size, type_num=None) -> oid, inside a transaction."},
	{"zrealloc", (PyCFunction)(void (*)(void))MM_zrealloc, METH_VARARGS | METH_KEYWORDS,
	 "zrealloc(oid, size, type_num=None) -> oid: realloc, growth zeroed."},
	{"incref", (PyCFunction)MM_incref, METH_O, "Increment the PObject's reference count."},
	{"decref", (PyCFunction)MM_decref, METH_O,
	 "Decrement the PObject's reference count; at zero free it (calling its\n"
	 "_p_deallocate if it has one) unless a live Python object holds it."},
	{"xdecref", (PyCFunction)MM_xdecref, METH_O, "decref, doing nothing for OID_NULL."},
	{"persist", (PyCFunction)MM_persist, METH_O,
	 "persist(obj) -> oid of obj's stored form (made if needed; no reference taken)."},
	{"resurrect", (PyCFunction)MM_resurrect, METH_O,
	 "resurrect(oid) -> the Python object for the stored object (None for OID_NULL)."},
	{"direct", (PyCFunction)MM_direct, METH_O,
	 "direct(oid) -> the memory address (an int, e.g. for ctypes)."},
	{"usable_size", (PyCFunction)MM_usable_size, METH_O,
	 "The bytes of the allocation at oid (0 for OID_NULL)."},
	{"reachable_bytes", (PyCFunction)MM_reachable_bytes, METH_O,
	 "reachable_bytes(oids) -> list: for each oid, the bytes of all it reaches\n"
	 "that no earlier oid of the list reaches (objects and their substructures)."},
	{"snapshot_range", (PyCFunction)MM_snapshot_range, METH_VARARGS,
	 "snapshot_range(address, size): add committed bytes to the current transaction\n"
	 "before changing them through direct()."},
	{"type_code", (PyCFunction)MM_type_code, METH_O,
	 "type_code(cls) -> the type code of cls in this pool (registering it)."},
	{NULL}};

static PyGetSetDef MM_getset[] = {
	{"pool", (getter)MM_get_pool, NULL, "The pool (None once it is gone).", NULL}, {NULL}};

PyTypeObject MemoryManager_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.MemoryManager",
	.tp_basicsize = sizeof(MMObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.tp_doc = "MemoryManager(pool, type_table=None): the low-level memory API of a pool.\n\n"
		  "Reach it as pool.mm (constructing one returns the pool's).",
	.tp_new = MM_new,
	.tp_dealloc = (destructor)MM_dealloc,
	.tp_traverse = (traverseproc)MM_traverse,
	.tp_clear = (inquiry)MM_clear,
	.tp_methods = MM_methods,
	.tp_getset = MM_getset,
	.tp_weaklistoffset = offsetof(MMObject, weakreflist),
};

int pyx_memory_ready(PyObject *m)
{
	if (PyType_Ready(&MemoryManager_Type) < 0 || pyx_foreign_ready() < 0)
		return -1;
	PyObject *null = Py_BuildValue("(ii)", 0, 0);
	PyObject *tn = PyLong_FromLong(PMO_TYPENUM_OBJ);
	int rc = null && tn &&
				 PyDict_SetItemString(MemoryManager_Type.tp_dict, "OID_NULL",
						      null) == 0 &&
				 PyDict_SetItemString(MemoryManager_Type.tp_dict,
						      "POBJECT_TYPE_NUM", tn) == 0 &&
				 PyModule_AddObjectRef(m, "OID_NULL", null) == 0 &&
				 PyModule_AddObjectRef(m, "MemoryManager",
						       (PyObject *)&MemoryManager_Type) == 0
			 ? 0
			 : -1;
	PyType_Modified(&MemoryManager_Type);
	Py_XDECREF(null);
	Py_XDECREF(tn);
	return rc;
}
