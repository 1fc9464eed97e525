/*
 * Objects of persistent types written in Python (against MemoryManager and
 * the Persistent interface): their place in the identity map, their
 * resurrection, and the core hooks through which reference counting and
 * gc reach them.
 *
 * The Python object of such a type is registered in the pool's identity
 * map like a proxy (so a REF to it reads back as the same object, gc
 * counts it as a root and refcounting keeps its memory while it lives),
 * with a weak reference whose callback forgets it when it dies and frees
 * the memory if nothing persistent refers to it.  Freeing calls the
 * class's _p_deallocate on a fresh instance (_p_resurrect'ed) when it has
 * one; otherwise the core drops what _p_traverse and _p_substructures
 * report.  gc asks _p_traverse/_p_substructures of every reachable
 * object of such types (through Python: these types are Python code).
 */
#include "manager.h"

#include <errno.h>

/* --- Python-implemented objects: registration ---------------------------- */

/* The weak reference callback of a registered object. */
typedef struct {
	PyObject_HEAD MMObject *mm; /* borrowed: the weakref lives in mm->registry */
	uint64_t off;
} ForgetObject;

static PyTypeObject Forget_Type;

void pyx_foreign_forget(MMObject *mm, PoolObject *pool, uint64_t off)
{
	PyObject *o = pyx_idmap_get(pool, off);
	if (o && !pyx_is_proxy(o))
		pyx_idmap_del(pool, off);
	PyObject *key = PyLong_FromUnsignedLongLong(off);
	if (!key || !mm->registry || PyDict_DelItem(mm->registry, key) != 0)
		PyErr_Clear();
	Py_XDECREF(key);
}

int pyx_foreign_register(MMObject *mm, PoolObject *pool, uint64_t off, PyObject *obj)
{
	if (!PyType_SUPPORTS_WEAKREFS(Py_TYPE(obj))) {
		PyErr_Format(PyExc_TypeError,
			     "persistent type %s must support weak references (give it "
			     "'__weakref__' in __slots__)",
			     Py_TYPE(obj)->tp_name);
		return -1;
	}
	PyObject *cur = pyx_idmap_get(pool, off);
	if (cur) {
		if (cur == obj)
			return 0;
		PyErr_Format(PyExc_ValueError, "another live object already stands for offset %llu",
			     (unsigned long long)off);
		return -1;
	}
	ForgetObject *cb = PyObject_New(ForgetObject, &Forget_Type);
	if (!cb)
		return -1;
	cb->mm = mm;
	cb->off = off;
	PyObject *wr = PyWeakref_NewRef(obj, (PyObject *)cb);
	Py_DECREF(cb);
	PyObject *key = wr ? PyLong_FromUnsignedLongLong(off) : NULL;
	int rc = key ? PyDict_SetItem(mm->registry, key, wr) : -1;
	if (rc == 0 && pyx_idmap_put(pool, off, obj) != 0) {
		PyDict_DelItem(mm->registry, key);
		rc = -1;
	}
	Py_XDECREF(key);
	Py_XDECREF(wr);
	return rc;
}

/* The object died: forget it, and free its memory if nothing persistent
 * refers to it (as a dying proxy does). */
static PyObject *Forget_call(ForgetObject *self, PyObject *args, PyObject *kw)
{
	PyObject *wr;
	if (!PyArg_UnpackTuple(args, "forget", 1, 1, &wr))
		return NULL;
	MMObject *mm = (MMObject *)Py_NewRef(self->mm);
	uint64_t off = self->off;
	PyObject *key = PyLong_FromUnsignedLongLong(off);
	PyObject *cur = key && mm->registry ? PyDict_GetItemWithError(mm->registry, key) : NULL;
	PoolObject *pool = cur == wr ? (PoolObject *)pyx_pool_of_ref(mm->pool_ref) : NULL;
	if (cur == wr) {
		if (pool)
			pyx_foreign_forget(mm, pool, off);
		else
			PyDict_DelItem(mm->registry, key);
	}
	PyErr_Clear();
	Py_XDECREF(key);
	if (pool && pool->core && pmo_head_at(pool->core, off)->refcnt == 0) {
		if (pyx_op_begin(pool) == 0) {
			int failed = pmo_obj_free(pool->core, off) != 0;
			if (pyx_op_end(pool, failed) != 0)
				PyErr_WriteUnraisable((PyObject *)mm);
		} else {
			PyErr_WriteUnraisable((PyObject *)mm);
		}
	}
	Py_XDECREF(pool);
	Py_DECREF(mm);
	Py_RETURN_NONE;
}

static PyTypeObject Forget_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj._ForgetPersistent",
	.tp_basicsize = sizeof(ForgetObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_call = (ternaryfunc)Forget_call,
};

int pyx_foreign_check(PoolObject *pool, PyObject *v, uint64_t *off)
{
	static PyObject *name;
	if (!name && !(name = PyUnicode_InternFromString("_p_oid")))
		return -1;
	PyObject *oid;
#if PY_VERSION_HEX >= 0x030d0000
	int r = PyObject_GetOptionalAttr(v, name, &oid);
#else
	int r = _PyObject_LookupAttr(v, name, &oid);
#endif
	if (r <= 0)
		return r;
	unsigned long long u, o;
	r = pyx_oid_parts(oid, &u, &o);
	Py_DECREF(oid);
	if (r != 0) {
		PyErr_Clear(); /* some other kind of _p_oid: not ours */
		return 0;
	}
	if (pool->core && o && u == pool->core->uuid_lo && pyx_idmap_get(pool, o) == v) {
		*off = o;
		return 1;
	}
	PyErr_Format(PyExc_ValueError,
		     "cannot store this %s in pool %R: it is not a live persistent object "
		     "of that pool (it belongs to another pool, or was created in a "
		     "transaction that was rolled back)",
		     Py_TYPE(v)->tp_name, pool->filename);
	return -1;
}

/* typ.__new__(typ), registered (if reg) before _p_resurrect(mm, oid), so
 * that references back to it (cycles) find it. */
static PyObject *resurrect_obj(PoolObject *pool, PyTypeObject *type, uint64_t off, int reg)
{
	MMObject *mm = pyx_mm(pool);
	if (!mm)
		return NULL;
	PyObject *obj = PyObject_CallMethod((PyObject *)type, "__new__", "(O)", type);
	if (!obj)
		return NULL;
	if (reg && pyx_foreign_register(mm, pool, off, obj) != 0) {
		Py_DECREF(obj);
		return NULL;
	}
	PyObject *oid = pyx_make_oid(pool, off);
	PyObject *r = oid ? PyObject_CallMethod(obj, "_p_resurrect", "OO", mm, oid) : NULL;
	Py_XDECREF(oid);
	if (!r) {
		if (reg)
			pyx_foreign_forget(mm, pool, off);
		Py_DECREF(obj);
		return NULL;
	}
	Py_DECREF(r);
	return obj;
}

PyObject *pyx_foreign_resurrect(PoolObject *pool, PyTypeObject *type, uint64_t off)
{
	return resurrect_obj(pool, type, off, 1);
}

void pyx_mm_tx_ended(PoolObject *pool, int aborted)
{
	MMObject *mm = (MMObject *)pool->mm;
	PyObject *et, *ev, *tb;
	PyErr_Fetch(&et, &ev, &tb);
	if (aborted) {
		/* Python objects of types created in the rolled-back transaction
		 * stand for nothing any more. */
		for (size_t i = 0; i < pool->ncreated; i++) {
			PyObject *o = pyx_idmap_get(pool, pool->created[i]);
			if (o && !pyx_is_proxy(o))
				pyx_foreign_forget(mm, pool, pool->created[i]);
		}
	}
	pyx_tables_tx_ended(pool, mm, aborted);
	PyErr_Restore(et, ev, tb);
}

/* --- core hooks ------------------------------------------------------------ */

/* A hook failed with a Python exception: turn it into the core's error
 * (errno and a message naming the exception).  The exception is cleared:
 * the core may end up not reporting the error at all (freeing deferred
 * past a commit leaves its failures to gc), and must then not return to
 * Python with an exception set. */
static int hook_failed(PoolObject *pool, uint64_t off, const char *what)
{
	if (!PyErr_Occurred())
		return -1; /* a core error: errno and message are set */
	PyObject *et, *ev, *tb;
	PyErr_Fetch(&et, &ev, &tb);
	PyErr_NormalizeException(&et, &ev, &tb);
	PyObject *s = ev ? PyObject_Str(ev) : NULL;
	const char *msg = s ? PyUnicode_AsUTF8(s) : NULL;
	int e = et && PyErr_GivenExceptionMatches(et, PyExc_MemoryError) ? ENOMEM : EIO;
	pmo_err(e, "%s the persistent object at offset %llu in %s: %s: %s", what,
		(unsigned long long)off, pool->core ? pool->core->path : "a closed pool",
		et ? ((PyTypeObject *)et)->tp_name : "error", msg ? msg : "?");
	PyErr_Clear();
	Py_XDECREF(s);
	Py_XDECREF(et);
	Py_XDECREF(ev);
	Py_XDECREF(tb);
	errno = e;
	return -1;
}

/* The Python object standing for a Python-implemented object: the live
 * one, or a fresh unregistered one for the occasion (new reference). */
static PyObject *instance_for(PoolObject *pool, uint64_t off)
{
	PyObject *o = pyx_idmap_get(pool, off);
	if (o && !pyx_is_proxy(o))
		return Py_NewRef(o);
	pyx_class_entry *e = pyx_class_entry_of(pool, pmo_head_at(pool->core, off)->type, off);
	if (!e)
		return NULL;
	if (PyType_IsSubtype((PyTypeObject *)e->cls, &Proxy_Type)) {
		PyErr_Format(PyExc_TypeError,
			     "class %R is not implemented in Python, but the "
			     "object at offset %llu is not one of its attribute tables",
			     e->cls, (unsigned long long)off);
		return NULL;
	}
	return resurrect_obj(pool, (PyTypeObject *)e->cls, off, 0);
}

/* Visit the oids an object's method returns: references, or (subs)
 * substructures.  -1 with a Python exception or a core error. */
static int visit_oids(PoolObject *pool, PyObject *obj, const char *meth, pmo_visit *v, int subs)
{
	PyObject *r = PyObject_CallMethod(obj, meth, NULL);
	PyObject *it = r ? PyObject_GetIter(r) : NULL;
	Py_XDECREF(r);
	if (!it)
		return -1;
	PyObject *item;
	int rc = 0;
	while (rc == 0 && (item = PyIter_Next(it))) {
		/* An oid that names nothing in this pool (a type reading memory
		 * it never initialised, say) is skipped, as gc skips bad
		 * references: traversing must not fail on what it cannot use. */
		unsigned long long u, off;
		rc = pyx_oid_parts(item, &u, &off);
		Py_DECREF(item);
		if (rc == 0 && off && u == pool->core->uuid_lo &&
		    pmo_off_valid(pool->core, off, sizeof(pmo_head))) {
			if (subs) {
				rc = v->sub(v, off);
			} else {
				pmo_slot s = pmo_slot_ref(off);
				rc = v->slot(v, &s);
			}
		}
	}
	Py_DECREF(it);
	return rc == 0 && PyErr_Occurred() ? -1 : rc;
}

static int hook_traverse(void *ctx, uint64_t off, void *visit)
{
	PoolObject *pool = ctx;
	PyObject *obj = instance_for(pool, off);
	if (!obj)
		return hook_failed(pool, off, "cannot traverse");
	int rc = visit_oids(pool, obj, "_p_traverse", visit, 0);
	if (rc == 0)
		rc = visit_oids(pool, obj, "_p_substructures", visit, 1);
	Py_DECREF(obj);
	return rc ? hook_failed(pool, off, "cannot traverse") : 0;
}

static int hook_dealloc(void *ctx, uint64_t off)
{
	static PyObject *name;
	PoolObject *pool = ctx;
	if (!name && !(name = PyUnicode_InternFromString("_p_deallocate")))
		return hook_failed(pool, off, "cannot free");
	pyx_class_entry *e = pyx_class_entry_of(pool, pmo_head_at(pool->core, off)->type, off);
	if (!e)
		return hook_failed(pool, off, "cannot free");
	PyObject *d = _PyType_Lookup((PyTypeObject *)e->cls, name);
	if (!d || d == Py_None)
		return 0; /* the core drops what _p_traverse/_p_substructures report */
	PyObject *obj = instance_for(pool, off);
	PyObject *r = obj ? PyObject_CallMethodNoArgs(obj, name) : NULL;
	Py_XDECREF(obj);
	if (!r)
		return hook_failed(pool, off, "cannot free");
	Py_DECREF(r);
	return 1;
}

void pyx_mm_install_hooks(pmo_pool *core)
{
	core->hook_traverse = hook_traverse;
	core->hook_dealloc = hook_dealloc;
}

int pyx_foreign_ready(void)
{
	return PyType_Ready(&Forget_Type);
}
