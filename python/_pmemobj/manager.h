/*
 * The MemoryManager and the per-pool state behind user types (private to
 * memory.c, typetable.c, pobject.c and ptuple.c).
 *
 * A pool's MemoryManager (pool->mm, made on first use) holds everything
 * volatile that user types need per pool:
 *   - the type table cache in both directions: code -> class (resolved
 *     lazily from the class path in the pool) and class -> code;
 *   - the attribute name cache: name -> index, index -> name (loaded whole
 *     on first use, so a miss means "not interned" without a pool scan);
 *   - the registry of live Python-implemented persistent objects (objects
 *     of classes written against the MemoryManager API): a weak reference
 *     per object, whose callback forgets the object and frees its memory
 *     if nothing persistent refers to it, as a dying proxy does;
 *   - the classes whose _p_new is running (MemoryManager.new), so that
 *     alloc(size, POBJECT_TYPE_NUM) knows which type code to stamp.
 * Appends to the type and name tables made in a transaction that rolls
 * back are dropped from the caches when it ends (pyx_mm_tx_ended).
 *
 * The manager refers to its pool by a weak reference: the pool owns the
 * manager, so a strong one would make every pool that ever used a user
 * type a reference cycle, closed only by Python's cyclic gc instead of
 * when the last reference goes.  A manager that outlives its pool raises
 * ValueError('pool is closed').
 */
#ifndef PMO_MANAGER_H
#define PMO_MANAGER_H

#include "proxy.h"

typedef struct pyx_class_entry {
	PyObject *cls;       /* strong; NULL until registered or resolved */
	uint32_t hint;       /* most attributes an instance has needed (pobject.c) */
	uint32_t first_room; /* room for the first instance; 0: not guessed yet */
} pyx_class_entry;

typedef struct MMObject {
	PyObject_HEAD PyObject *pool_ref; /* weakref to the PoolObject */
	pyx_class_entry *classes;         /* by code - PMO_T_FIRST_USER */
	size_t nclasses;                  /* entries allocated in classes */
	PyObject *codes;                  /* dict: class -> code (int) */
	int types_dirty;                  /* appended to the type table in this tx */
	PyObject *names;                  /* dict: name -> index; NULL until loaded */
	PyObject *name_list;              /* list: index -> name */
	int names_dirty;
	/* Names looked up lately (pyx_name_lookup), by the str object's
	 * address: each entry holds its str (so the address stays that
	 * name's) and is valid while the pool's epoch is unchanged, since
	 * only an operation or a transaction's end changes the table. */
	struct {
		PyObject *name; /* strong; an exact str */
		int64_t idx;
		uint64_t epoch;
	} name_seen[16];
	PyObject *creating; /* list of [cls, obj, off or None, thread] */
	PyObject *registry; /* dict: offset -> weakref */
	PyObject *weakreflist;
} MMObject;

extern PyTypeObject MemoryManager_Type;
extern PyTypeObject PersistentObject_Type;
extern PyObject *pyx_ClassNotFoundError;

/* The pool's manager (borrowed), made on first use; NULL with an
 * exception. */
MMObject *pyx_mm(PoolObject *pool);

/* typetable.c ------------------------------------------------------------ */

/* The code of cls, registering its class path in the current transaction
 * if the pool does not know it.  0 with an exception on failure. */
uint32_t pyx_type_code(PoolObject *pool, PyObject *cls);

/* The cache entry of a user code, its class resolved (importing the
 * module if need be); NULL with an exception (ClassNotFoundError if the
 * class cannot be found).  off is only for the error message. */
pyx_class_entry *pyx_class_entry_of(PoolObject *pool, uint32_t code, uint64_t off);

/* The "module:qualname" path of a class (new reference). */
PyObject *pyx_class_path(PyObject *cls);

/* Index of an attribute name: -1 if it is not interned (no exception),
 * -2 with an exception. */
int64_t pyx_name_lookup(PoolObject *pool, PyObject *name);

/* Index of an attribute name, interning it in the current transaction if
 * needed; -1 with an exception. */
int64_t pyx_name_intern(PoolObject *pool, PyObject *name);

/* The name with index i (borrowed), NULL with an exception. */
PyObject *pyx_name_of(PoolObject *pool, uint64_t i);

/* Drop cache entries a rolled-back transaction made stale (called with no
 * exception set). */
void pyx_tables_tx_ended(PoolObject *pool, MMObject *mm, int aborted);

/* pobject.c -------------------------------------------------------------- */

/* Call o._v__init__() unless the class keeps the default (a no-op). */
int pyx_object_v_init(PyObject *o);

/* memory.c --------------------------------------------------------------- */

/* Note an object allocated in the current transaction, so that a
 * rollback forgets its proxy or Python object. */
int pyx_note_created(PoolObject *pool, uint64_t off);

/* The object a weak reference names (new reference), NULL if it died. */
PyObject *pyx_pool_of_ref(PyObject *ref);

/* foreign.c -------------------------------------------------------------- */

/* Register obj as the live Python object of the Python-implemented
 * persistent object at off (identity map and a weak reference that
 * forgets it, and frees the memory if nothing refers to it, when it dies). */
int pyx_foreign_register(MMObject *mm, PoolObject *pool, uint64_t off, PyObject *obj);

/* Forget the registered Python object of off (identity map and registry). */
void pyx_foreign_forget(MMObject *mm, PoolObject *pool, uint64_t off);

/* Make and register the Python object of a Python-implemented persistent
 * type stored at off: typ.__new__(typ), then _p_resurrect(mm, oid). */
PyObject *pyx_foreign_resurrect(PoolObject *pool, PyTypeObject *type, uint64_t off);

int pyx_foreign_ready(void);

#endif
