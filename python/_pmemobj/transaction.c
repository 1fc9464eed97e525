/*
 * Transaction objects: pool.transaction().
 *
 * Used as a `with` block (commit on normal exit, roll back and re-raise on
 * an exception) or through begin()/commit()/abort().  Both push frames on
 * the pool's stack; libpmemobj flattens them into one transaction, so an
 * abort anywhere rolls back the outermost and nothing is durable before
 * the outermost frame ends.  The semantics follow the earlier pure-Python
 * implementation, which users rely on:
 *   - abort(errno=ECANCELED) rolls back and raises OSError(errno), as
 *     pynvm's does;
 *   - commit() inside a `with` block raises RuntimeError and rolls back;
 *   - commit()/abort() with no transaction open raise RuntimeError.
 */
#include "proxy.h"

#include <errno.h>
#include <limits.h>

typedef struct {
	PyObject_HEAD PoolObject *pool;
	/* tx.__enter__ and tx.__exit__, bound once (see SPECIAL below). */
	PyObject *bound[2];
} TransactionObject;

static PyMethodDef special_defs[2];

static PyObject *Tx_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	PyObject *pool;
	if (!PyArg_ParseTuple(args, "O!:Transaction", &Pool_Type, &pool))
		return NULL;
	TransactionObject *self = (TransactionObject *)type->tp_alloc(type, 0);
	if (!self)
		return NULL;
	self->pool = (PoolObject *)Py_NewRef(pool);
	for (int i = 0; i < 2; i++) {
		if (!(self->bound[i] = PyCFunction_New(&special_defs[i], (PyObject *)self))) {
			Py_DECREF(self);
			return NULL;
		}
	}
	return (PyObject *)self;
}

static void Tx_dealloc(TransactionObject *self)
{
	PyObject_GC_UnTrack(self);
	Py_CLEAR(self->pool);
	Py_CLEAR(self->bound[0]);
	Py_CLEAR(self->bound[1]);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The pool keeps its Transaction (pool.transaction() returns it), and the
 * Transaction its bound __enter__ and __exit__, which hold it: cycles that
 * the collector must see. */
static int Tx_traverse(TransactionObject *self, visitproc visit, void *arg)
{
	Py_VISIT(self->pool);
	Py_VISIT(self->bound[0]);
	Py_VISIT(self->bound[1]);
	return 0;
}

static int Tx_clear(TransactionObject *self)
{
	Py_CLEAR(self->pool);
	Py_CLEAR(self->bound[0]);
	Py_CLEAR(self->bound[1]);
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

/* Roll back the whole transaction and end the top frame if it is a
 * begin() one (a `with` frame is ended by __exit__, which sees the
 * exception being raised), keeping the exception that is set. */
static void roll_back_top(PoolObject *pool)
{
	int n = pool->core ? my_frames(pool) : 0;
	if (n == 0)
		return; /* user code run meanwhile (__index__) ended it */
	pmo_tx_abort(pool->core, ECANCELED);
	if (pool->frames[n - 1] == FRAME_FREE) {
		PyObject *et, *ev, *tb;
		PyErr_Fetch(&et, &ev, &tb); /* ending runs the tx-end hooks */
		pop_frame(pool);
		PyErr_Restore(et, ev, tb);
	}
}

static PyObject *Tx_commit(TransactionObject *self, PyObject *args, PyObject *kw)
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
	/* commit() takes no arguments; a call with some is a mistake that
	 * commits nothing, and must not leave the transaction open either
	 * (every later transaction of the thread would find it): roll back. */
	if (PyTuple_GET_SIZE(args) != 0 || (kw && PyDict_GET_SIZE(kw) != 0)) {
		PyErr_Format(PyExc_TypeError,
			     "commit() takes no arguments (%zd given); "
			     "the transaction was rolled back",
			     PyTuple_GET_SIZE(args) + (kw ? PyDict_GET_SIZE(kw) : 0));
		roll_back_top(pool);
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

/* abort(errno=ECANCELED), pynvm's signature: roll back the whole
 * transaction and raise OSError(errno) (MemoryError for ENOMEM and
 * ValueError for EINVAL, as every error of the pool).  A bad errno argument
 * still aborts, with ECANCELED, and then raises its TypeError or
 * ValueError: an exception out of abort() never leaves a begin() frame
 * open, or every later transaction of the thread would find it. */
static PyObject *Tx_abort(TransactionObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"errno", NULL};
	PyObject *errno_o = NULL;
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
	int errnum = ECANCELED;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:abort", kwlist, &errno_o)) {
		errnum = -1;
	} else if (errno_o) {
		long e = PyLong_AsLong(errno_o);
		if (e == -1 && PyErr_Occurred())
			errnum = -1;
		else if (e < 0 || e > INT_MAX) {
			PyErr_Format(PyExc_ValueError,
				     "abort(): errno must be a positive int, not %ld", e);
			errnum = -1;
		} else if (e > 0)
			errnum = (int)e; /* 0 means the default, as in libpmemobj */
	}
	if (errnum < 0) {
		roll_back_top(pool);
		return NULL;
	}
	/* Converting the argument may have run Python code (__index__) that
	 * ended the transaction: look at the frames again. */
	if (!pool->core || (n = my_frames(pool)) == 0) {
		PyErr_SetString(PyExc_RuntimeError, "abort() called outside transaction");
		return NULL;
	}
	pmo_tx_abort(pool->core, errnum);
	/* A `with` frame is ended by __exit__, which sees this exception. */
	if (pool->frames[n - 1] == FRAME_FREE)
		pop_frame(pool);
	pmo_err(errnum, "transaction aborted");
	return pyx_raise();
}

static PyObject *Tx_enter(TransactionObject *self, PyObject *unused)
{
	return push_frame(self, FRAME_CONTEXT);
}

/* METH_FASTCALL: the `with` statement calls this with three arguments on
 * every block, and an argument tuple would cost more than the rest. */
static PyObject *Tx_exit(TransactionObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	PyObject *et = Py_None;
	PoolObject *pool = tx_pool(self);
	if (!pool)
		return NULL;
	int n = my_frames(pool);
	if (!pool->core || n == 0) {
		PyErr_SetString(PyExc_RuntimeError,
				"transaction context exited without being entered");
		return NULL;
	}
	/* Called by hand with the wrong arguments: the block still ends,
	 * rolled back, rather than staying open; the TypeError is raised. */
	int bad_args = !_PyArg_CheckPositional("__exit__", nargs, 3, 3);
	if (!bad_args)
		et = args[0];
	PyObject *xt = NULL, *xv = NULL, *xb = NULL;
	if (bad_args)
		PyErr_Fetch(&xt, &xv, &xb); /* ending runs the tx-end hooks */
	int stray = 0;
	while (pool->nframes > 0 && pool->frames[pool->nframes - 1] == FRAME_FREE) {
		/* begin() without commit() inside this block: roll all back. */
		pmo_tx_abort(pool->core, ECANCELED);
		pop_frame(pool);
		stray = 1;
	}
	if (pool->nframes == 0) {
		/* Only begin() frames were open (__exit__ called by hand). */
		if (bad_args) {
			PyErr_Restore(xt, xv, xb);
			return NULL;
		}
		PyErr_SetString(PyExc_RuntimeError,
				"transaction context exited without being entered; "
				"the begin() transaction was rolled back");
		return NULL;
	}
	if (stray || bad_args || et != Py_None)
		pmo_tx_abort(pool->core, ECANCELED);
	int rc = pop_frame(pool);
	if (bad_args) {
		PyErr_Restore(xt, xv, xb);
		return NULL;
	}
	if (et != Py_None)
		Py_RETURN_FALSE; /* rolled back; the exception propagates */
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
	{"commit", (PyCFunction)(void (*)(void))Tx_commit, METH_VARARGS | METH_KEYWORDS,
	 "commit()\n--\n\nCommit the transaction begun last."},
	{"abort", (PyCFunction)(void (*)(void))Tx_abort, METH_VARARGS | METH_KEYWORDS,
	 "abort(errno=ECANCELED)\n--\n\n"
	 "Roll back the whole transaction and raise OSError(errno)."},
	{NULL}};

/*
 * __enter__ and __exit__.  The `with` statement looks both up on every
 * block, and a method of a C type is then bound afresh each time: two
 * allocations and two frees of a GC-tracked object, about a fifth of an
 * empty transaction.  A Transaction is made once per pool and reused
 * (Pool_transaction), so it binds its two methods once, in Tx_new, and
 * these descriptors hand out those bound methods.  On the class
 * (Transaction.__enter__) they give the plain method descriptor.
 */
static PyMethodDef special_defs[2] = {
	{"__enter__", (PyCFunction)Tx_enter, METH_NOARGS, NULL},
	{"__exit__", (PyCFunction)(void (*)(void))Tx_exit, METH_FASTCALL, NULL},
};

typedef struct {
	PyObject_HEAD int which; /* index into special_defs and bound[] */
	PyObject *plain;         /* the method descriptor, for the class */
} SpecialObject;

static PyObject *Special_get(SpecialObject *self, PyObject *obj, PyObject *type)
{
	if (obj && Py_IS_TYPE(obj, &Transaction_Type)) {
		PyObject *b = ((TransactionObject *)obj)->bound[self->which];
		if (b)
			return Py_NewRef(b);
	}
	/* The class, or a Transaction the collector has cleared. */
	return Py_TYPE(self->plain)->tp_descr_get(self->plain, obj, type);
}

static void Special_dealloc(SpecialObject *self)
{
	Py_CLEAR(self->plain);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject Special_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj._TransactionSpecialMethod",
	.tp_basicsize = sizeof(SpecialObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_dealloc = (destructor)Special_dealloc,
	.tp_descr_get = (descrgetfunc)Special_get,
};

/* Put the two descriptors in the Transaction type (after PyType_Ready). */
int pyx_transaction_ready(void)
{
	if (PyType_Ready(&Special_Type) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		SpecialObject *d = PyObject_New(SpecialObject, &Special_Type);
		if (!d)
			return -1;
		d->which = i;
		d->plain = PyDescr_NewMethod(&Transaction_Type, &special_defs[i]);
		int rc = d->plain ? PyDict_SetItemString(Transaction_Type.tp_dict,
							 special_defs[i].ml_name, (PyObject *)d)
				  : -1;
		Py_DECREF(d);
		if (rc < 0)
			return -1;
	}
	PyType_Modified(&Transaction_Type);
	return 0;
}

static PyObject *Tx_get_depth(TransactionObject *self, void *closure)
{
	return PyLong_FromLong(self->pool ? my_frames(self->pool) : 0);
}

static PyGetSetDef Tx_getset[] = {{"depth", (getter)Tx_get_depth, NULL,
				   "How many transaction levels this thread has open on the pool.",
				   NULL},
				  {NULL}};

PyTypeObject Transaction_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.Transaction",
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
