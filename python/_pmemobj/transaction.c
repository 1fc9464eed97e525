/*
 * Transaction objects: pool.transaction().
 *
 * Used as a `with` block (commit on normal exit, roll back and re-raise on
 * an exception) or through begin()/commit()/abort().  Both push frames on
 * the pool's stack; libpmemobj flattens them into one transaction, so an
 * abort anywhere rolls back the outermost and nothing is durable before
 * the outermost frame ends.  The semantics follow the earlier pure-Python
 * implementation, which users rely on:
 *   - abort() rolls back and raises OSError(ECANCELED);
 *   - commit() inside a `with` block raises RuntimeError and rolls back;
 *   - commit()/abort() with no transaction open raise RuntimeError.
 */
#include "proxy.h"

#include <errno.h>

typedef struct {
	PyObject_HEAD
	PoolObject *pool;
} TransactionObject;

static PyObject *Tx_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	PyObject *pool;
	if (!PyArg_ParseTuple(args, "O!:Transaction", &Pool_Type, &pool))
		return NULL;
	TransactionObject *self = (TransactionObject *)type->tp_alloc(type, 0);
	if (self)
		self->pool = (PoolObject *)Py_NewRef(pool);
	return (PyObject *)self;
}

static void Tx_dealloc(TransactionObject *self)
{
	PyObject_GC_UnTrack(self);
	Py_CLEAR(self->pool);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The pool keeps its Transaction (pool.transaction() returns it), so the
 * two form a cycle that the collector must see. */
static int Tx_traverse(TransactionObject *self, visitproc visit, void *arg)
{
	Py_VISIT(self->pool);
	return 0;
}

static int Tx_clear(TransactionObject *self)
{
	Py_CLEAR(self->pool);
	return 0;
}

/* The pool, or NULL with the closed-pool error once the collector has
 * cleared a Transaction it found in a cycle. */
static PoolObject *tx_pool(TransactionObject *self)
{
	if (!self->pool)
		pyx_closed();
	return self->pool;
}

/* Frames of this thread, or 0 if another thread owns the pool. */
static int my_frames(PoolObject *pool)
{
	return pool->owner == PyThread_get_thread_ident() ? pool->nframes : 0;
}

static PyObject *push_frame(TransactionObject *self, char kind)
{
	PoolObject *pool = tx_pool(self);
	if (!pool)
		return NULL;
	if (pyx_check_open(pool) || pyx_check_writable(pool))
		return NULL;
	pyx_lock(pool);
	if (!pool->core) {
		pyx_unlock(pool);
		return pyx_closed();
	}
	if (pool->nframes == MAX_TX_FRAMES) {
		pyx_unlock(pool);
		PyErr_SetString(PyExc_RecursionError, "transactions nested too deeply");
		return NULL;
	}
	if (pmo_tx_begin(pool->core) != 0) {
		pyx_unlock(pool);
		return pyx_raise();
	}
	pool->frames[pool->nframes++] = kind;
	return Py_NewRef(self);
}

/* End the top frame (committing it unless aborted) and release its hold
 * on the lock.  Returns 0 or -1 with errno from the core. */
static int pop_frame(PoolObject *pool)
{
	int rc = pmo_tx_end(pool->core);
	if (rc == 0)
		pyx_report_deferred_error(pool);
	pool->nframes--;
	pyx_unlock(pool);
	return rc;
}

static PyObject *Tx_begin(TransactionObject *self, PyObject *unused)
{
	PyObject *r = push_frame(self, FRAME_FREE);
	Py_XDECREF(r);
	if (!r)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *Tx_commit(TransactionObject *self, PyObject *unused)
{
	PoolObject *pool = tx_pool(self);
	if (!pool)
		return NULL;
	if (pyx_check_open(pool))
		return NULL;
	int n = my_frames(pool);
	if (n == 0) {
		PyErr_SetString(PyExc_RuntimeError, "commit() called outside transaction");
		return NULL;
	}
	if (pool->frames[n - 1] == FRAME_CONTEXT) {
		pmo_tx_abort(pool->core, ECANCELED);
		PyErr_SetString(PyExc_RuntimeError,
				"commit() called inside a 'with' transaction block; "
				"the transaction was rolled back");
		return NULL;
	}
	if (pop_frame(pool) != 0)
		return pyx_raise();
	Py_RETURN_NONE;
}

static PyObject *Tx_abort(TransactionObject *self, PyObject *const *args, Py_ssize_t nargs,
			  PyObject *kwnames)
{
	PoolObject *pool = tx_pool(self);
	if (!pool)
		return NULL;
	if (pyx_check_open(pool))
		return NULL;
	int n = my_frames(pool);
	if (n == 0) {
		PyErr_SetString(PyExc_RuntimeError, "abort() called outside transaction");
		return NULL;
	}
	/* abort(errno=ECANCELED), as pynvm has it.  A bad argument still
	 * aborts: no exception may leave a transaction open behind it. */
	int err = ECANCELED;
	PyObject *arg = NULL;
	Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
	const char *bad = NULL;
	if (nargs + nkw > 1)
		bad = "abort() takes at most 1 argument";
	else if (nkw && PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "errno") != 0)
		bad = "abort() got an unexpected keyword argument";
	else if (nargs + nkw == 1)
		arg = args[0];
	if (arg && !bad) {
		long v = PyLong_Check(arg) ? PyLong_AsLong(arg) : -1;
		if (v <= 0 || v > INT_MAX) {
			PyErr_Clear();
			bad = "abort(): errno must be a positive int";
		} else {
			err = (int)v;
		}
	}
	pmo_tx_abort(pool->core, err);
	/* A `with` frame is ended by __exit__, which sees this exception. */
	if (pool->frames[n - 1] == FRAME_FREE)
		pop_frame(pool);
	if (bad) {
		PyErr_SetString(PyExc_TypeError, bad);
		return NULL;
	}
	/* OSError(errno, strerror) whatever the errno (pyx_raise would map
	 * some to ValueError or MemoryError). */
	PyObject *e = PyObject_CallFunction(PyExc_OSError, "is", err, strerror(err));
	if (e) {
		PyErr_SetObject((PyObject *)Py_TYPE(e), e);
		Py_DECREF(e);
	}
	return NULL;
}

static PyObject *Tx_enter(TransactionObject *self, PyObject *unused)
{
	return push_frame(self, FRAME_CONTEXT);
}

static PyObject *Tx_exit(TransactionObject *self, PyObject *args)
{
	PyObject *et, *ev, *tb;
	if (!PyArg_UnpackTuple(args, "__exit__", 3, 3, &et, &ev, &tb))
		return NULL;
	PoolObject *pool = tx_pool(self);
	if (!pool)
		return NULL;
	int n = my_frames(pool);
	if (!pool->core || n == 0) {
		PyErr_SetString(PyExc_RuntimeError, "transaction context exited without being entered");
		return NULL;
	}
	int stray = 0;
	while (pool->frames[pool->nframes - 1] == FRAME_FREE) {
		/* begin() without commit() inside this block: roll all back. */
		pmo_tx_abort(pool->core, ECANCELED);
		pop_frame(pool);
		stray = 1;
	}
	if (stray || et != Py_None)
		pmo_tx_abort(pool->core, ECANCELED);
	int rc = pop_frame(pool);
	if (et != Py_None)
		Py_RETURN_FALSE;  /* rolled back; the exception propagates */
	if (stray) {
		PyErr_SetString(PyExc_RuntimeError,
				"begin() without commit() inside a 'with' transaction block; "
				"the transaction was rolled back");
		return NULL;
	}
	if (rc != 0)
		return pyx_raise();
	Py_RETURN_FALSE;
}

static PyMethodDef Tx_methods[] = {
	{"begin", (PyCFunction)Tx_begin, METH_NOARGS, "Begin a (nested) transaction."},
	{"commit", (PyCFunction)Tx_commit, METH_NOARGS, "Commit the transaction begun last."},
	{"abort", (PyCFunction)(void (*)(void))Tx_abort, METH_FASTCALL | METH_KEYWORDS,
	 "abort(errno=ECANCELED): roll back the whole transaction and raise OSError(errno)."},
	{"__enter__", (PyCFunction)Tx_enter, METH_NOARGS, NULL},
	{"__exit__", (PyCFunction)Tx_exit, METH_VARARGS, NULL},
	{NULL}
};

static PyObject *Tx_get_depth(TransactionObject *self, void *closure)
{
	return PyLong_FromLong(self->pool ? my_frames(self->pool) : 0);
}

static PyGetSetDef Tx_getset[] = {
	{"depth", (getter)Tx_get_depth, NULL,
	 "How many transaction levels this thread has open on the pool.", NULL},
	{NULL}
};

PyTypeObject Transaction_Type = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "pmemobj.Transaction",
	.tp_basicsize = sizeof(TransactionObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
	.tp_doc = "A transaction on a pool (see PersistentObjectPool.transaction).",
	.tp_new = Tx_new,
	.tp_dealloc = (destructor)Tx_dealloc,
	.tp_traverse = (traverseproc)Tx_traverse,
	.tp_clear = (inquiry)Tx_clear,
	.tp_methods = Tx_methods,
	.tp_getset = Tx_getset,
};
