/*
 * PersistentObject: the base of user classes whose attributes persist.
 *
 * A user class is an ordinary Python subclass; its instances are proxies
 * (ProxyObject) of an attribute table in the pool (src/object.c), whose
 * type code names the class in the pool's type table.  Attribute access
 * splits by name:
 *   - names starting with "_v_", special names (__x__), and names the class
 *     defines as data descriptors (properties, __slots__, _p_oid...) work
 *     as on any object; the instance __dict__ (the proxy's vdict) is
 *     volatile and never stored;
 *   - every other name lives in the attribute table.  Reading looks there
 *     first and then falls back to the class (methods, class attributes),
 *     as an instance __dict__ would; setting and deleting change the table,
 *     each change atomic on its own or part of the enclosing transaction.
 * A lookup finds the name's index in the pool's name cache (a dict) and
 * scans the object's few pairs for it: nothing is allocated.
 *
 * Creation (pool.new(C, ...)): _p_new_in makes the table, then
 * _v__init__(), then pool.new calls __init__.  Resurrection (reading a
 * reference to the object) makes the proxy and calls _v__init__() only;
 * __init__ never runs again.  The same object read twice while a proxy
 * lives is the same Python object (the identity map).
 */
#include "manager.h"

#include <errno.h>

#include "object.h"

typedef ProxyObject PObject;

static PyObject *str_v_init;  /* "_v__init__" */
static PyObject *base_v_init; /* PersistentObject's own _v__init__ */

/* Does this name go the ordinary way (volatile) rather than to the table? */
static int is_ordinary_name(PyTypeObject *type, PyObject *name)
{
	Py_ssize_t n = PyUnicode_GET_LENGTH(name);
	int kind = PyUnicode_KIND(name);
	const void *d = PyUnicode_DATA(name);
	if (n >= 3 && PyUnicode_READ(kind, d, 0) == '_' && PyUnicode_READ(kind, d, 1) == 'v' &&
	    PyUnicode_READ(kind, d, 2) == '_')
		return 1;
	if (n >= 4 && PyUnicode_READ(kind, d, 0) == '_' && PyUnicode_READ(kind, d, 1) == '_' &&
	    PyUnicode_READ(kind, d, n - 1) == '_' && PyUnicode_READ(kind, d, n - 2) == '_')
		return 1;
	PyObject *descr = _PyType_Lookup(type, name);
	return descr && Py_TYPE(descr)->tp_descr_set != NULL;
}

/* The stored value of attribute name: a new reference, or NULL with no
 * exception if the object has no such attribute. */
static PyObject *get_stored(PObject *self, PyObject *name)
{
	if (pyx_proxy_check(self))
		return NULL;
	PoolObject *pool = self->pool;
	int64_t idx = pyx_name_lookup(pool, name);
	if (idx < 0)
		return NULL; /* never interned: no object has it (or an error) */
	pyx_lock(pool);
	PyObject *v = NULL;
	if (!pool->core) {
		pyx_closed();
	} else {
		/* Checked: the object's header, shape and table are validated
		 * before a slot is read. */
		pmo_slot *s;
		int found = pmo_object_lookup(pool->core, self->off, (uint64_t)idx, &s);
		if (found > 0)
			v = pyx_from_slot(pool, *s);
		else if (found < 0)
			pyx_raise();
	}
	pyx_unlock(pool);
	return v;
}

static PyObject *PObject_getattro(PObject *self, PyObject *name)
{
	if (!PyUnicode_Check(name) || is_ordinary_name(Py_TYPE(self), name))
		return PyObject_GenericGetAttr((PyObject *)self, name);
	PyObject *v = get_stored(self, name);
	if (v || PyErr_Occurred())
		return v;
	return PyObject_GenericGetAttr((PyObject *)self, name);
}

static int no_attribute(PObject *self, PyObject *name)
{
	PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '%U'",
		     Py_TYPE(self)->tp_name, name);
	return -1;
}

/* New instances of a class get room for the most attributes an instance
 * has needed (0: none seen yet). */
static void note_room(PObject *self, uint64_t room)
{
	MMObject *mm = (MMObject *)self->pool->mm;
	size_t i = pmo_head_at(self->pool->core, self->off)->type - PMO_T_FIRST_USER;
	if (mm && i < mm->nclasses && room > mm->classes[i].hint)
		mm->classes[i].hint =
			(uint32_t)(room < PMO_SHAPE_MAX_LEN ? room : PMO_SHAPE_MAX_LEN);
}

static int del_stored(PObject *self, PyObject *name)
{
	if (pyx_proxy_check(self))
		return -1;
	PoolObject *pool = self->pool;
	int64_t idx = pyx_name_lookup(pool, name);
	if (idx == -2)
		return -1;
	if (idx == -1)
		return no_attribute(self, name);
	/* Look before opening the transaction: a missing attribute raises
	 * AttributeError without rolling back the caller's transaction. */
	pyx_lock(pool);
	pmo_slot *s;
	int found = pool->core ? pmo_object_lookup(pool->core, self->off, (uint64_t)idx, &s) : 0;
	int rc = -1;
	if (!pool->core)
		pyx_closed();
	else if (found < 0)
		pyx_raise();
	else if (!found)
		no_attribute(self, name);
	else if (pyx_op_begin(pool) == 0)
		rc = pyx_op_end(pool, pmo_object_del(pool->core, self->off, (uint64_t)idx) != 0);
	pyx_unlock(pool);
	return rc;
}

/* obj.__class__ = C: the stored type code follows, in the same
 * transaction, so the object comes back as a C. */
static int set_class(PObject *self, PyObject *name, PyObject *cls)
{
	PoolObject *pool = self->pool;
	if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &PersistentObject_Type)) {
		PyErr_Format(PyExc_TypeError,
			     "__class__ of a persistent object must be a "
			     "PersistentObject subclass, not %R",
			     cls);
		return -1;
	}
	if (pyx_proxy_check(self) || pyx_op_begin(pool))
		return -1;
	/* Checked: the whole object, as every access to it. */
	pmo_head *h = pmo_object_check(pool->core, self->off) == 0
			      ? pmo_head_at(pool->core, self->off)
			      : (pyx_raise(), NULL);
	uint32_t code = h ? pyx_type_code(pool, cls) : 0;
	int failed = !code || pmo_tx_snapshot(pool->core, &h->type, sizeof h->type) != 0;
	if (!failed)
		h->type = code;
	if (!failed)
		failed = PyObject_GenericSetAttr((PyObject *)self, name, cls) != 0;
	return pyx_op_end(pool, failed);
}

static int PObject_setattro(PObject *self, PyObject *name, PyObject *value)
{
	static PyObject *class_name;
	if (!class_name && !(class_name = PyUnicode_InternFromString("__class__")))
		return -1;
	if (value &&
	    (name == class_name || (PyUnicode_Check(name) && PyUnicode_GET_LENGTH(name) == 9 &&
				    PyUnicode_Compare(name, class_name) == 0)))
		return set_class(self, name, value);
	if (!PyUnicode_Check(name) || is_ordinary_name(Py_TYPE(self), name))
		return PyObject_GenericSetAttr((PyObject *)self, name, value);
	if (!value)
		return del_stored(self, name);
	PoolObject *pool = self->pool;
	if (pyx_proxy_check(self) || pyx_check_storable(pool, value) || pyx_op_begin(pool))
		return -1;
	int64_t idx = pyx_name_intern(pool, name);
	pmo_slot s;
	uint64_t room = 0;
	/* Overwriting an attribute is the operation's only store. */
	int failed = idx < 0 || pyx_to_slot(pool, value, &s) != 0 ||
		     (pmo_tx_single_store(),
		      pmo_object_set(pool->core, self->off, (uint64_t)idx, s, &room)) != 0;
	if (!failed && room)
		note_room(self, room);
	return pyx_op_end(pool, failed);
}

/* --- creation and resurrection ---------------------------------------------- */

int pyx_object_v_init(PyObject *o)
{
	PyObject *m = _PyType_Lookup(Py_TYPE(o), str_v_init);
	if (!m || m == base_v_init)
		return 0;
	PyObject *r = PyObject_CallMethodNoArgs(o, str_v_init);
	if (!r)
		return -1;
	Py_DECREF(r);
	return 0;
}

PyObject *pyx_user_object(PoolObject *pool, uint32_t code, uint64_t off)
{
	pyx_class_entry *e = pyx_class_entry_of(pool, code, off);
	if (!e)
		return NULL;
	PyTypeObject *type = (PyTypeObject *)e->cls;
	int is_table = pmo_is_object(pmo_head_at(pool->core, off));
	if (PyType_IsSubtype(type, &PersistentObject_Type) != is_table ||
	    (!is_table && PyType_IsSubtype(type, &Proxy_Type))) {
		PyErr_Format(PyExc_TypeError,
			     "the persistent object at offset %llu in pool %R is stored as %s, "
			     "but its class %R is %s",
			     (unsigned long long)off, pool->filename,
			     is_table ? "a PersistentObject" : "a Python-implemented type", type,
			     is_table ? "not a PersistentObject subclass"
				      : "not a Python-implemented type");
		return NULL;
	}
	if (!is_table)
		return pyx_foreign_resurrect(pool, type, off);
	PyObject *o = pyx_proxy_make(pool, type, off);
	if (o && pyx_object_v_init(o) != 0)
		Py_CLEAR(o);
	return o;
}

/* pyx_user_type_lookup: the class of a user type code. */
static PyTypeObject *user_type_lookup(PoolObject *pool, uint32_t code)
{
	pyx_class_entry *e = pyx_class_entry_of(pool, code, 0);
	return e ? (PyTypeObject *)e->cls : NULL;
}

/* The room for the first instance of cls in this pool session, before any
 * instance has shown what it needs: one more than the attributes its
 * __init__s assign (pmemobj/_room.py), at least 8.  0 with an exception. */
static uint32_t first_room(PyTypeObject *cls)
{
	static PyObject *guess;
	if (!guess) {
		PyObject *mod = PyImport_ImportModule("pmemobj._room");
		guess = mod ? PyObject_GetAttrString(mod, "init_attributes") : NULL;
		Py_XDECREF(mod);
		if (!guess)
			return 0;
	}
	PyObject *r = PyObject_CallOneArg(guess, (PyObject *)cls);
	long n = r ? PyLong_AsLong(r) : -1;
	Py_XDECREF(r);
	if (n < 0)
		return PyErr_Occurred() ? 0 : 8;
	n = n < PMO_SHAPE_MAX_LEN ? n : PMO_SHAPE_MAX_LEN;
	return n < 8 ? 8 : (uint32_t)n + 1;
}

static PyObject *PObject_p_new_in(PyTypeObject *cls, PyObject *pool_o)
{
	PoolObject *pool = pyx_new_in_pool(pool_o);
	if (!pool || pyx_op_begin(pool))
		return NULL;
	uint32_t code = pyx_type_code(pool, (PyObject *)cls);
	/* Room for the most attributes an instance of the class has needed,
	 * and one spare slot: an attribute added later is then published in
	 * place (an object cannot grow where it is, its offset being its
	 * identity; without room it spills, an allocation in a transaction,
	 * several times the cost).  The slot costs 16 bytes.  Until an
	 * instance is seen: what the class's __init__ looks like it sets. */
	pyx_class_entry *e = code ? pyx_class_entry_of(pool, code, 0) : NULL;
	uint64_t off = 0;
	if (e) {
		if (!e->hint && !e->first_room)
			e->first_room = first_room(cls);
		uint32_t room = e->hint ? e->hint + 1 : e->first_room; /* 0: it raised */
		if (room && !(off = pmo_object_new(pool->core, code, room)))
			pyx_raise();
	}
	PyObject *o = off ? pyx_proxy_adopt(pool, cls, off) : NULL;
	o = pyx_op_end_made(pool, o);
	if (o && pyx_object_v_init(o) != 0)
		Py_CLEAR(o);
	return o;
}

static PyObject *PObject_v_init(PObject *self, PyObject *unused)
{
	Py_RETURN_NONE;
}

typedef struct name_sink {
	PoolObject *pool;
	PyObject *names;
} name_sink;

static int append_name(void *ctx, uint64_t name, pmo_slot v)
{
	(void)v;
	name_sink *sink = ctx;
	PyObject *n = pyx_name_of(sink->pool, name); /* borrowed */
	return n && PyList_Append(sink->names, n) == 0 ? 0 : -2;
}

/* Append the names of the stored attributes to names; -1 on error. */
static int append_attr_names(PObject *self, PyObject *names)
{
	PoolObject *pool = self->pool;
	pyx_lock(pool);
	name_sink sink = {pool, names};
	int rc = pool->core ? pmo_object_each(pool->core, self->off, append_name, &sink)
			    : (pyx_closed(), -2);
	if (rc == -1)
		pyx_raise();
	pyx_unlock(pool);
	return rc ? -1 : 0;
}

static PyObject *PObject_dir(PObject *self, PyObject *unused)
{
	PyObject *base = PyObject_GetAttrString((PyObject *)&PyBaseObject_Type, "__dir__");
	PyObject *names = base ? PyObject_CallOneArg(base, (PyObject *)self) : NULL;
	Py_XDECREF(base);
	if (!names || !self->pool || !self->pool->core || !self->off)
		return names; /* closed or rolled back: the class's names only */
	if (append_attr_names(self, names) != 0)
		Py_CLEAR(names);
	return names;
}

static PyObject *PObject_p_attr_names(PObject *self, PyObject *unused)
{
	if (pyx_proxy_check(self))
		return NULL;
	PyObject *names = PyList_New(0);
	if (names && append_attr_names(self, names) != 0)
		Py_CLEAR(names);
	return names;
}

/* PersistentObject may not be mixed with the other persistent types. */
static PyObject *PObject_init_subclass(PyTypeObject *cls, PyObject *args, PyObject *kw)
{
	PyObject *mro = cls->tp_mro;
	for (Py_ssize_t i = 0; mro && i < PyTuple_GET_SIZE(mro); i++) {
		PyTypeObject *t = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
		if (t != &Proxy_Type && PyType_IsSubtype(t, &Proxy_Type) &&
		    !PyType_IsSubtype(t, &PersistentObject_Type))
			return PyErr_Format(PyExc_TypeError,
					    "%s cannot derive from both PersistentObject and %s: "
					    "PersistentObject may not be mixed with another "
					    "persistent type",
					    cls->tp_name, t->tp_name);
	}
	PyObject *sup = PyObject_CallFunctionObjArgs((PyObject *)&PySuper_Type,
						     (PyObject *)&PersistentObject_Type, cls, NULL);
	PyObject *m = sup ? PyObject_GetAttrString(sup, "__init_subclass__") : NULL;
	Py_XDECREF(sup);
	PyObject *r = m ? PyObject_Call(m, args, kw) : NULL;
	Py_XDECREF(m);
	return r;
}

/* Identity hash from the object's place in the pool, not the proxy's
 * address: proxies come and go (a tuple holding the object as a dict key
 * must hash the same each time it makes a new one).  Equality stays
 * identity, which the identity map makes persistent identity. */
static Py_hash_t PObject_hash(PObject *self)
{
	if (pyx_proxy_check(self))
		return -1;
	uint64_t h = (self->off >> 4) * 0x9E3779B97F4A7C15ull ^ self->pool->core->uuid_lo;
	Py_hash_t r = (Py_hash_t)(h >> 1);
	return r == -1 ? -2 : r;
}

static PyObject *PObject_reduce_ex(PObject *self, PyObject *protocol)
{
	PyErr_Format(PyExc_TypeError,
		     "%s objects live in a pool: they cannot be "
		     "pickled or copied (create another with pool.new)",
		     Py_TYPE(self)->tp_name);
	return NULL;
}

static PyMethodDef PObject_methods[] = {
	{"__reduce_ex__", (PyCFunction)PObject_reduce_ex, METH_O, NULL},
	{"_p_new_in", (PyCFunction)PObject_p_new_in, METH_O | METH_CLASS,
	 "Create an instance with no attributes in the given pool (used by pool.new)."},
	{"_v__init__", (PyCFunction)PObject_v_init, METH_NOARGS,
	 "Called when the object is created (before __init__) and every time it is\n"
	 "resurrected; does nothing by default.  Override it to (re)acquire volatile\n"
	 "resources, kept in _v_ attributes."},
	{"__dir__", (PyCFunction)PObject_dir, METH_NOARGS, NULL},
	{"_p_attr_names", (PyCFunction)PObject_p_attr_names, METH_NOARGS,
	 "The names of the stored (persistent) attributes, in table order."},
	{"__init_subclass__", (PyCFunction)(void (*)(void))PObject_init_subclass,
	 METH_VARARGS | METH_KEYWORDS | METH_CLASS, NULL},
	{NULL}};

static PyGetSetDef PObject_getset[] = {
	{"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict,
	 "The volatile attributes (those whose names start with _v_).", NULL},
	{NULL}};

PyTypeObject PersistentObject_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentObject",
	.tp_basicsize = sizeof(PObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, /* GC inherited */
	.tp_doc = "Base class of user defined persistent objects.\n\n"
		  "Attributes persist, except those whose names start with _v_ (volatile).\n"
		  "Create instances with pool.new(cls, *args, **kw): __init__ runs once, at\n"
		  "creation; _v__init__() runs at creation and at every resurrection.",
	.tp_base = &Proxy_Type,
	.tp_getattro = (getattrofunc)PObject_getattro,
	.tp_setattro = (setattrofunc)PObject_setattro,
	.tp_hash = (hashfunc)PObject_hash,
	.tp_dictoffset = offsetof(ProxyObject, vdict),
	.tp_methods = PObject_methods,
	.tp_getset = PObject_getset,
};

int pyx_object_ready(PyObject *m)
{
	if (PyType_Ready(&PersistentObject_Type) < 0)
		return -1;
	str_v_init = PyUnicode_InternFromString("_v__init__");
	if (!str_v_init)
		return -1;
	base_v_init =
		_PyType_Lookup(&PersistentObject_Type, str_v_init); /* borrowed, static type */
	pyx_ClassNotFoundError = PyErr_NewExceptionWithDoc(
		"pmemobj.ClassNotFoundError",
		"The class of a persistent object cannot be found by its stored path\n"
		"(module:qualname): its module cannot be imported or no longer defines it.",
		PyExc_TypeError, NULL);
	if (!pyx_ClassNotFoundError)
		return -1;
	pyx_user_type_lookup = user_type_lookup;
	if (PyModule_AddObjectRef(m, "ClassNotFoundError", pyx_ClassNotFoundError) < 0)
		return -1;
	return PyModule_AddObjectRef(m, "PersistentObject", (PyObject *)&PersistentObject_Type);
}
