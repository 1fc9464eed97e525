/*
 * Shared declarations of the CPython binding (_pmemobj).
 *
 * The binding adds Python semantics on top of the C core in src/: which
 * Python values map to which slots, errors as exceptions, a per-pool lock
 * that serialises threads, and the transaction protocol users rely on.
 */
#ifndef PMO_EXT_H
#define PMO_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include "error.h"
#include "gc.h"
#include "heap.h"
#include "pool.h"
#include "slot.h"
#include "tx.h"
#include "value.h"

/* Kinds of transaction frame on a pool's stack. */
enum { FRAME_CONTEXT = 'C', FRAME_FREE = 'F' };
#define MAX_TX_FRAMES 1000

typedef struct PoolObject {
	PyObject_HEAD pmo_pool *core; /* NULL once closed */
	PyObject *filename;           /* str */
	PyObject *pickle_types;       /* set of classes stored via pickle */
	int debug;
	int verify;      /* check each immutable value's checksum on read */
	int readonly;    /* flag='r': every change raises (pyx_check_writable) */
	PyObject *txobj; /* the Transaction pool.transaction() returns (it
				    * holds nothing but the pool: one serves all) */
	/* Bumped by every operation that may change the pool (pyx_op_begin)
	 * and at the end of every transaction (a rollback changes it too):
	 * a reader may keep pointers into the pool while it is unchanged. */
	uint64_t epoch;
	/* While plain lists, dicts and sets are being copied in (convert.c):
	 * id(plain container) -> its persistent copy, so that shared ones
	 * and cycles are copied once.  NULL otherwise. */
	PyObject *plain_copies;
	/* The pool lock: held by one thread for a single operation, or for
	 * the whole of a transaction.  Recursive for its owner.  owner and
	 * lock_depth are only touched with the GIL held (see lock.c); `gate`
	 * is where other threads wait. */
	PyThread_type_lock gate;
	unsigned long owner;
	long lock_depth;
	long waiters;
	/* Transaction frames of the owning thread (valid while it holds the
	 * lock): a `with` block or a begin() call each push one. */
	char frames[MAX_TX_FRAMES];
	int nframes;
	PyObject *weakreflist;
	/* The item array and length of the list read last by index (plist.c),
	 * valid while epoch is unchanged: lst[i] of an inline item then needs
	 * neither the lock nor the list's validation again.  items NULL: none. */
	struct {
		uint64_t off, epoch;
		const pmo_slot *items;
		size_t len;
	} list_seen;
	struct idmap *idmap; /* offset -> live proxy (proxy.h) */
	/* Objects created in the current outermost transaction: their
	 * proxies are invalidated if it rolls back. */
	uint64_t *created;
	size_t ncreated, capcreated;
	PyObject *mm; /* the MemoryManager, made on first use */
	/* Buffers of PersistentArrays of this pool now exported: the pool
	 * cannot close (unmap) while any is (parray.c). */
	Py_ssize_t exports;
} PoolObject;

extern PyTypeObject Pool_Type;
extern PyTypeObject Transaction_Type;
int pyx_transaction_ready(void); /* after PyType_Ready(&Transaction_Type) */

/* errors.c */
extern PyObject *pyx_CorruptPoolError; /* OSError(EIO) subclass: damage in a pool file */
int pyx_errors_ready(PyObject *m);
PyObject *pyx_raise(void);  /* exception from errno + core message */
PyObject *pyx_closed(void); /* ValueError('pool is closed') */
/* After a commit: if the deferred frees failed (a type's _p_deallocate
 * raised, say), report it as unraisable, like an error in __del__, since
 * the transaction they followed did commit. */
void pyx_report_deferred_error(PoolObject *pool);
int pyx_check_open(PoolObject *pool); /* -1 with ValueError if closed */

/* The pool lock (lock.c).  Every read takes it, so the uncontended case
 * (free, or already this thread's) is inline; waiting for another thread
 * and waking a waiter are out of line. */
void pyx_lock_wait(PoolObject *pool, unsigned long me);
void pyx_lock_wake(PoolObject *pool);

static inline void pyx_lock(PoolObject *pool)
{
	unsigned long me = PyThread_get_thread_ident();
	if (pool->lock_depth > 0) {
		if (pool->owner == me) {
			pool->lock_depth++;
			return;
		}
		pyx_lock_wait(pool, me);
		return;
	}
	pool->owner = me;
	pool->lock_depth = 1;
}

static inline void pyx_unlock(PoolObject *pool)
{
	if (--pool->lock_depth == 0) {
		pool->owner = 0;
		if (pool->waiters > 0)
			pyx_lock_wake(pool);
	}
}

/* 0, or -1 with OSError(EROFS) if the pool was opened read-only. */
int pyx_check_writable(PoolObject *pool);

/* An autocommit operation: lock, open a transaction level (joining the
 * caller's).  pyx_op_end commits this level and unlocks; on failure it
 * rolls back and raises (a Python exception already set wins). */
int pyx_op_begin(PoolObject *pool);
int pyx_op_end(PoolObject *pool, int failed);

/* convert.c: Python values <-> slots */
int pyx_check_storable(PoolObject *pool, PyObject *v);
int pyx_to_slot(PoolObject *pool, PyObject *v, pmo_slot *out); /* in a tx */
/* The slot of an exact tuple that is stored in its slot (slot.h, STUP: at
 * most PMO_STUP_MAX ints of 32 bits, no bools): 1, else 0. */
int pyx_short_tuple(PyObject *v, pmo_slot *out);
PyObject *pyx_from_any_slot(PoolObject *pool, pmo_slot s);
/* The value in a slot (new ref), or NULL with an exception.  An int64,
 * the commonest read, is boxed here without a call into convert.c. */
static inline PyObject *pyx_from_slot(PoolObject *pool, pmo_slot s)
{
	if (s.tag == PMO_TAG_INT)
		return PyLong_FromLongLong(pmo_slot_as_int(s));
	return pyx_from_any_slot(pool, s);
}
/* The UTF-8 a str is stored as (lone surrogates passed through): the one
 * encoding of str for values, keys and their hashes.  *tmp receives the
 * bytes object the data lives in when one was needed (Py_XDECREF it). */
int pyx_str_utf8(PyObject *s, const char **data, Py_ssize_t *len, PyObject **tmp);
/* Is v of a class nominated with persist_via_pickle, and its pickle (the
 * bytes stored, and hashed when it is a key). */
int pyx_is_pickled_type(PoolObject *pool, PyObject *v);
PyObject *pyx_pickle_dumps(PyObject *v);

/* gc of a pool (collect.c), used at open, close and by pool.gc().  Live
 * proxies count as roots unless the pool is closing. */
PyObject *pyx_pool_gc(PoolObject *pool, int debug, int closing);
/* pool.check() (collect.c): a dict report, see the method's doc. */
PyObject *pyx_pool_check(PoolObject *pool);
/* pool._tables() (typetable.c): (class paths, attribute names), each
 * table in index order; pool._seed_tables(paths, names): append them to a
 * pool whose tables are empty, so that a copy of a pool (resize, salvage)
 * keeps every entry at its index. */
PyObject *pyx_tables_read(PoolObject *pool, PyObject *unused);
PyObject *pyx_tables_seed(PoolObject *pool, PyObject *args);

#endif
