/*
 * Proxies: the Python objects that stand for persistent heap objects.
 *
 * A proxy holds its pool and the object's offset, nothing else, so it is
 * never stale after an abort.  The pool's identity map (offset -> proxy,
 * borrowed) makes reading the same object twice give the same proxy while
 * one lives.  An object a proxy holds is never freed by refcounting: when
 * its persistent count drops to zero it stays allocated until the proxy
 * goes (then it is freed), and gc counts live proxies as roots.
 *
 * Objects created inside a transaction that is then rolled back do not
 * exist any more: their proxies are invalidated (offset 0) when the
 * outermost transaction ends aborted, and raise on use.
 */
#ifndef PMO_PROXY_H
#define PMO_PROXY_H

#include "ext.h"

typedef struct ProxyObject {
	PyObject_HEAD PoolObject *pool;
	uint64_t off; /* 0: rolled back */
	PyObject *weakreflist;
	PyObject *vdict; /* volatile attributes (PersistentObject _v_*) */
	/* Immutable types (PersistentTuple, PersistentFrozenSet): set by
	 * _p_new_in, cleared by the first __init__ (pool.new's), which fills
	 * the new object.  Any later __init__ call is ignored, as frozenset's
	 * and tuple's are. */
	int unfilled;
} ProxyObject;

/* The base of every persistent type implemented in C. */
extern PyTypeObject Proxy_Type;

static inline int pyx_is_proxy(PyObject *v)
{
	return PyObject_TypeCheck(v, &Proxy_Type);
}

/* -1 with ValueError if the pool is closed or the object rolled back
 * (inline: every operation starts with it; the errors are out of line). */
int pyx_proxy_check_failed(ProxyObject *self);

static inline int pyx_proxy_check(ProxyObject *self)
{
	if (__builtin_expect(self->pool && self->pool->core && self->off, 1))
		return 0;
	return pyx_proxy_check_failed(self);
}

/* The proxy type for a built-in container type code. */
void pyx_register_proxy_type(uint32_t code, PyTypeObject *type);

/* Find or make the proxy of the object at off (new reference). */
PyObject *pyx_proxy_for(PoolObject *pool, uint64_t off);

/* Make the proxy of an object just allocated in the current transaction
 * (its refcount is set to 0: only the proxy holds it). */
PyObject *pyx_proxy_adopt(PoolObject *pool, PyTypeObject *type, uint64_t off);

/* The outermost transaction has ended (the core's hook_tx_end). */
void pyx_tx_ended(PoolObject *pool, int aborted);

/* Per-type module set-up: ready the type, register it, add it to m. */
int pyx_list_ready(PyObject *m);
int pyx_dict_ready(PyObject *m);       /* PersistentDict (pdict.c) */
int pyx_set_ready(PyObject *m);        /* PersistentSet, PersistentFrozenSet (pset.c) */
int pyx_object_ready(PyObject *m);     /* PersistentObject, ClassNotFoundError (pobject.c) */
int pyx_tuple_ready(PyObject *m);      /* PersistentTuple (ptuple.c) */
int pyx_memory_ready(PyObject *m);     /* MemoryManager, OID_NULL (memory.c) */
int pyx_array_ready(PyObject *m);      /* PersistentArray (parray.c) */
int pyx_sorteddict_ready(PyObject *m); /* PersistentSortedDict (psorteddict.c) */

/* Identity map (idmap.c) */
int pyx_idmap_init(PoolObject *pool);
void pyx_idmap_free(PoolObject *pool);
PyObject *pyx_idmap_get(PoolObject *pool, uint64_t off); /* borrowed */
int pyx_idmap_put(PoolObject *pool, uint64_t off, PyObject *proxy);
void pyx_idmap_del(PoolObject *pool, uint64_t off);
/* Offsets of all live proxies, for gc's roots: *out is a PyMem array
 * (NULL when there are none).  -1 with MemoryError when it cannot be
 * made: gc must then not run, or it would free what only proxies hold. */
int pyx_idmap_offsets(PoolObject *pool, uint64_t **out, size_t *n);

/* The proxy type registered for a built-in type code (NULL if none). */
PyTypeObject *pyx_proxy_type(uint32_t code);

/* Resolve the Python class of a user type code (>= PMO_T_FIRST_USER);
 * set by the PersistentObject/type-table code, NULL until then. */
extern PyTypeObject *(*pyx_user_type_lookup)(PoolObject *pool, uint32_t code);

/* --- user types (pobject.c, memory.c, typetable.c; see manager.h) --- */

/* Make a proxy of type for the object at off, registered in the identity
 * map (no other set-up). */
PyObject *pyx_proxy_make(PoolObject *pool, PyTypeObject *type, uint64_t off);

/* The Python object for the object at off of user type code: a
 * PersistentObject proxy (after its _v__init__), or the resurrected
 * object of a Python-implemented type.  New reference. */
PyObject *pyx_user_object(PoolObject *pool, uint32_t code, uint64_t off);

/* Is v a live Python-implemented persistent object of pool?  1 (and
 * *off) if so, 0 if v is no persistent object at all, -1 with an
 * exception if it is one but cannot be stored here. */
int pyx_foreign_check(PoolObject *pool, PyObject *v, uint64_t *off);

/* The outermost transaction ended: bookkeeping of pool->mm (if set). */
void pyx_mm_tx_ended(PoolObject *pool, int aborted);

/* Set the core hooks for Python-implemented types on a pool just opened. */
void pyx_mm_install_hooks(pmo_pool *core);

/* pool.mm */
PyObject *pyx_pool_get_mm(PoolObject *pool, void *closure);

/* _p_traverse() and _p_substructures() of every C persistent type. */
extern PyMethodDef pyx_proxy_methods[];

/* Oids (memory.c): the two numbers of an oid, a (uuid_lo, off) sequence
 * or an object with pool_uuid_lo and off attributes (a ctypes PMEMoid,
 * say), 0 or -1 with TypeError/ValueError; and the oid of the object at
 * off in pool (OID_NULL for 0). */
int pyx_oid_parts(PyObject *oid, unsigned long long *uuid, unsigned long long *off);
PyObject *pyx_make_oid(PoolObject *pool, uint64_t off);

/* --- shared helpers of the C persistent types (sequtil.c) --- */

/* The pool argument of _p_new_in, or NULL with TypeError if it is not one. */
PoolObject *pyx_new_in_pool(PyObject *pool);

/* End an op that made the object o (NULL if making it failed): o, or NULL
 * with the exception (o dropped) if the op fails. */
PyObject *pyx_op_end_made(PoolObject *pool, PyObject *o);

/* pyx_check_storable of every item of seq (a list or tuple). */
int pyx_check_all_storable(PoolObject *pool, PyObject *seq);

/* fmt (one %U) around the strings of the list parts joined by ", ";
 * takes the reference to parts, NULL (an exception set) passes through. */
PyObject *pyx_join_reprs(PyObject *parts, const char *fmt);

/* The items of an iterable as a list or tuple (new reference): an exact
 * list or tuple itself, anything else (subclasses too, which may iterate
 * differently from their storage) by iterating it, without trusting its
 * __length_hint__.  not_iterable (if given) replaces the TypeError of a
 * non-iterable. */
PyObject *pyx_iterate_all(PyObject *iterable, const char *not_iterable);

/* to_python, __copy__, __deepcopy__ and __reduce__ of the containers
 * (copies of plain values, see pmemobj/_plain.py), to be appended to a
 * type's methods at module init with pyx_add_methods. */
extern const PyMethodDef pyx_plain_methods[];
int pyx_add_methods(PyTypeObject *type, const PyMethodDef *methods);

/* What the shared operations of PersistentList and PersistentTuple need of
 * their type.  They compute on the Python list or tuple of the values, so
 * they behave exactly as list's and tuple's, and store a result as a new
 * persistent sequence in self's pool. */
typedef struct {
	const char *name; /* "list", "tuple": in error messages */
	/* The values of a builtin one or a persistent one of this type, as the
	 * builtin (new reference); NULL without an exception if o is neither. */
	PyObject *(*values_of)(PyObject *o);
	/* A new persistent one in pool holding the items of seq. */
	PyObject *(*new_from)(PoolObject *pool, PyObject *seq);
} pyx_seqkind;

PyObject *pyx_seq_richcompare(const pyx_seqkind *kind, PyObject *self, PyObject *other, int op);
/* self + other (other + self unless self_first); TypeError as list's and
 * tuple's if other is not of the kind. */
PyObject *pyx_seq_concat(const pyx_seqkind *kind, PyObject *self, PyObject *other, int self_first);
PyObject *pyx_seq_repeat(const pyx_seqkind *kind, PyObject *self, Py_ssize_t n);
/* self[key] for a slice key. */
PyObject *pyx_seq_slice(const pyx_seqkind *kind, PyObject *self, PyObject *key);

/* Register a persistent container type with collections.abc.<abc>, as
 * its builtin is registered. */
int pyx_register_abc(const char *abc, PyTypeObject *cls);

#endif
