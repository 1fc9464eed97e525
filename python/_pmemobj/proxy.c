/* Proxies and the bookkeeping around them; see proxy.h. */
#include "proxy.h"

#include <errno.h>
#include <stdlib.h>

static PyTypeObject *proxy_types[PMO_T_BUILTIN_MAX + 1];
PyTypeObject *(*pyx_user_type_lookup)(PoolObject *pool, uint32_t code);

void pyx_register_proxy_type(uint32_t code, PyTypeObject *type)
{
	if (code <= PMO_T_BUILTIN_MAX)
		proxy_types[code] = type;
}

PyTypeObject *pyx_proxy_type(uint32_t code)
{
	return code <= PMO_T_BUILTIN_MAX ? proxy_types[code] : NULL;
}

int pyx_proxy_check_failed(ProxyObject *self)
{
	if (!self->pool || !self->pool->core) {
		pyx_closed();
		return -1;
	}
	if (!self->off) {
		PyErr_Format(PyExc_ValueError,
			     "this %s was created in a transaction that was rolled back",
			     Py_TYPE(self)->tp_name);
		return -1;
	}
	return 0;
}

static PyTypeObject *type_for_code(PoolObject *pool, uint32_t code)
{
	if (code <= PMO_T_BUILTIN_MAX)
		return proxy_types[code];
	return pyx_user_type_lookup ? pyx_user_type_lookup(pool, code) : NULL;
}

static PyObject *make_proxy(PoolObject *pool, PyTypeObject *type, uint64_t off)
{
	ProxyObject *o = (ProxyObject *)type->tp_alloc(type, 0);
	if (!o)
		return NULL;
	o->pool = (PoolObject *)Py_NewRef(pool);
	o->off = off;
	if (pyx_idmap_put(pool, off, (PyObject *)o) != 0) {
		o->off = 0; /* never in the map: dealloc must not touch it */
		Py_DECREF(o);
		return NULL;
	}
	return (PyObject *)o;
}

PyObject *pyx_proxy_make(PoolObject *pool, PyTypeObject *type, uint64_t off)
{
	return make_proxy(pool, type, off);
}

PyObject *pyx_proxy_for(PoolObject *pool, uint64_t off)
{
	PyObject *o = pyx_idmap_get(pool, off);
	if (o)
		return Py_NewRef(o);
	const pmo_head *h = pmo_obj_checked(pool->core, off, sizeof(pmo_head));
	if (!h)
		return pyx_raise();
	/* User classes: _v__init__ on resurrection, Python-implemented types. */
	if (h->type >= PMO_T_FIRST_USER)
		return pyx_user_object(pool, h->type, off);
	PyTypeObject *type = type_for_code(pool, h->type);
	if (!type) {
		if (PyErr_Occurred())
			return NULL;
		pmo_err_corrupt(pool->core->path, off, "no Python type for object type %u",
				h->type);
		return pyx_raise();
	}
	return make_proxy(pool, type, off);
}

PyObject *pyx_proxy_adopt(PoolObject *pool, PyTypeObject *type, uint64_t off)
{
	if (pool->ncreated == pool->capcreated) {
		size_t cap = pool->capcreated ? pool->capcreated * 2 : 16;
		uint64_t *c = realloc(pool->created, cap * sizeof *c);
		if (!c)
			return PyErr_NoMemory();
		pool->created = c;
		pool->capcreated = cap;
	}
	pmo_obj_disown(pool->core, off);
	PyObject *o = make_proxy(pool, type, off);
	if (o)
		pool->created[pool->ncreated++] = off;
	return o;
}

void pyx_tx_ended(PoolObject *pool, int aborted)
{
	pool->epoch++;
	if (pool->mm)
		pyx_mm_tx_ended(pool, aborted); /* user-type caches, Python objects */
	if (aborted) {
		for (size_t i = 0; i < pool->ncreated; i++) {
			ProxyObject *o = (ProxyObject *)pyx_idmap_get(pool, pool->created[i]);
			if (o && pyx_is_proxy((PyObject *)o)) {
				pyx_idmap_del(pool, o->off);
				o->off = 0;
			}
		}
	}
	pool->ncreated = 0;
}

/* The proxy is going: forget it, and free its object if nothing
 * persistent refers to it any more. */
static void proxy_release(ProxyObject *self)
{
	PoolObject *pool = self->pool;
	if (!pool || !self->off)
		return;
	pyx_idmap_del(pool, self->off);
	if (!pool->core)
		return;
	if (pmo_head_at(pool->core, self->off)->refcnt != 0)
		return;
	/* Inside a transaction that was aborted (a failed operation whose
	 * temporaries die before it ends): its rollback frees an object it
	 * made and restores the count of an older one; nothing to do here. */
	if (pmo_tx_depth() > 0 && !pmo_tx_active())
		return;
	PyObject *et, *ev, *tb;
	PyErr_Fetch(&et, &ev, &tb);
	if (pyx_op_begin(pool) == 0) {
		int failed = pmo_obj_free(pool->core, self->off) != 0;
		if (pyx_op_end(pool, failed) != 0)
			PyErr_WriteUnraisable(NULL);
	} else {
		/* Not the dying proxy itself: reporting it would revive it. */
		PyErr_WriteUnraisable(NULL);
	}
	PyErr_Restore(et, ev, tb);
}

static void Proxy_dealloc(ProxyObject *self)
{
	PyObject_GC_UnTrack(self);
	if (self->weakreflist)
		PyObject_ClearWeakRefs((PyObject *)self);
	proxy_release(self);
	Py_CLEAR(self->vdict);
	Py_CLEAR(self->pool);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Proxy_traverse(ProxyObject *self, visitproc visit, void *arg)
{
	Py_VISIT(self->pool);
	Py_VISIT(self->vdict);
	return 0;
}

static int Proxy_clear(ProxyObject *self)
{
	Py_CLEAR(self->vdict);
	return 0;
}

static PyObject *Proxy_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	PyErr_Format(PyExc_TypeError,
		     "%s objects live in a pool: create them with pool.new(%s, ...)", type->tp_name,
		     type->tp_name);
	return NULL;
}

static PyObject *Proxy_get_oid(ProxyObject *self, void *closure)
{
	if (pyx_proxy_check(self))
		return NULL;
	return Py_BuildValue("(KK)", (unsigned long long)self->pool->core->uuid_lo,
			     (unsigned long long)self->off);
}

static PyObject *Proxy_get_pool(ProxyObject *self, void *closure)
{
	return Py_NewRef(self->pool ? (PyObject *)self->pool : Py_None);
}

static PyObject *Proxy_get_mm(ProxyObject *self, void *closure)
{
	if (!self->pool)
		Py_RETURN_NONE;
	return PyObject_GetAttrString((PyObject *)self->pool, "mm");
}

static PyGetSetDef Proxy_getset[] = {
	{"_p_oid", (getter)Proxy_get_oid, NULL, "The oid (pool uuid, offset) of the object.", NULL},
	{"_p_pool", (getter)Proxy_get_pool, NULL, "The pool the object lives in.", NULL},
	{"_p_mm", (getter)Proxy_get_mm, NULL, "The MemoryManager of the object's pool.", NULL},
	{NULL}};

PyTypeObject Proxy_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj._PersistentBase",
	.tp_basicsize = sizeof(ProxyObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
	.tp_doc = "Base of the persistent types implemented in C.",
	.tp_new = Proxy_new,
	.tp_dealloc = (destructor)Proxy_dealloc,
	.tp_traverse = (traverseproc)Proxy_traverse,
	.tp_clear = (inquiry)Proxy_clear,
	.tp_getset = Proxy_getset,
	.tp_methods = pyx_proxy_methods,
	.tp_weaklistoffset = offsetof(ProxyObject, weakreflist),
};

int pyx_register_abc(const char *abc, PyTypeObject *cls)
{
	PyObject *mod = PyImport_ImportModule("collections.abc");
	PyObject *base = mod ? PyObject_GetAttrString(mod, abc) : NULL;
	Py_XDECREF(mod);
	PyObject *r = base ? PyObject_CallMethod(base, "register", "(O)", (PyObject *)cls) : NULL;
	Py_XDECREF(base);
	if (!r)
		return -1;
	Py_DECREF(r);
	return 0;
}

/* --- _p_traverse / _p_substructures of the C types ------------------------ */


typedef struct {
	PoolObject *pool;
	PyObject *list;
} collector;

static int collect_slot(pmo_visit *v, const pmo_slot *s)
{
	collector *c = v->ctx;
	if (!pmo_slot_is_ref(*s))
		return 0;
	PyObject *oid = pyx_make_oid(c->pool, s->val);
	int rc = oid ? PyList_Append(c->list, oid) : -1;
	Py_XDECREF(oid);
	return rc;
}

static int collect_sub(pmo_visit *v, uint64_t off)
{
	collector *c = v->ctx;
	PyObject *oid = pyx_make_oid(c->pool, off);
	int rc = oid ? PyList_Append(c->list, oid) : -1;
	Py_XDECREF(oid);
	return rc;
}

static int ignore_slot(pmo_visit *v, const pmo_slot *s)
{
	return 0;
}

static int ignore_sub(pmo_visit *v, uint64_t off)
{
	return 0;
}

static PyObject *proxy_collect(ProxyObject *self, int subs)
{
	if (pyx_proxy_check(self))
		return NULL;
	collector c = {self->pool, PyList_New(0)};
	if (!c.list)
		return NULL;
	pmo_visit v = {subs ? ignore_slot : collect_slot, subs ? collect_sub : ignore_sub, &c};
	pyx_lock(self->pool);
	int rc = self->pool->core ? pmo_traverse(self->pool->core, self->off, &v) : -1;
	pyx_unlock(self->pool);
	if (rc != 0) {
		if (!PyErr_Occurred())
			self->pool->core ? pyx_raise() : pyx_closed();
		Py_CLEAR(c.list);
	}
	return c.list;
}

static PyObject *Proxy_p_traverse(ProxyObject *self, PyObject *unused)
{
	return proxy_collect(self, 0);
}

static PyObject *Proxy_p_substructures(ProxyObject *self, PyObject *unused)
{
	return proxy_collect(self, 1);
}

PyMethodDef pyx_proxy_methods[] = {
	{"_p_traverse", (PyCFunction)Proxy_p_traverse, METH_NOARGS,
	 "Return a list of the oids of the objects this one refers to."},
	{"_p_substructures", (PyCFunction)Proxy_p_substructures, METH_NOARGS,
	 "Return a list of the oids of the memory this object owns besides itself."},
	{NULL}};
