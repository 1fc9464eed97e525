/*
 * PersistentObjectPool: the Python face of a pmo_pool.
 *
 * The object holds nothing derived from pool contents, so an aborted
 * transaction needs no clean-up here; after close() core is NULL and every
 * method raises ValueError('pool is closed') instead of touching unmapped
 * memory.
 */
#include "proxy.h"

#include <errno.h>
#include <unistd.h>

#include "heapwalk.h"
#include "iofail.h"
#include "poolset.h"
#include "types.h"

static PyObject *Pool_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	PoolObject *self = (PoolObject *)type->tp_alloc(type, 0);
	if (!self)
		return NULL;
	self->gate = PyThread_allocate_lock();
	if (self->gate)
		PyThread_acquire_lock(self->gate, NOWAIT_LOCK); /* closed until signalled */
	self->pickle_types = PySet_New(NULL);
	if (!self->gate || !self->pickle_types || pyx_idmap_init(self) != 0) {
		Py_DECREF(self);
		return PyErr_NoMemory();
	}
	self->filename = Py_NewRef(Py_None);
	return (PyObject *)self;
}

static int parse_int_arg(PyObject *o, const char *name, long long *out, int allow_negative)
{
	if (!PyLong_Check(o) || PyBool_Check(o)) {
		PyErr_Format(PyExc_TypeError, "%s must be an int, not %s", name,
			     Py_TYPE(o)->tp_name);
		return -1;
	}
	*out = PyLong_AsLongLong(o);
	if (*out == -1 && PyErr_Occurred())
		return -1;
	if (*out < 0 && !allow_negative) {
		PyErr_Format(PyExc_ValueError, "%s must not be negative, got %lld", name, *out);
		return -1;
	}
	return 0;
}

/* Open or create (flag 'w', 'x' or 'c'; a growable pool if max_size),
 * with the GIL released. */
static pmo_pool *open_core(const char *path, char flag, size_t size, uint64_t max_size, mode_t mode)
{
	pmo_pool *core = NULL;
	Py_BEGIN_ALLOW_THREADS
	if (flag == 'w') {
		core = pmo_pool_open(path);
	} else {
		core = max_size ? pmo_pool_create_grow(path, max_size, mode)
				: pmo_pool_create(path, size, mode);
		if (!core && errno == EEXIST && flag == 'c')
			core = pmo_pool_open(path);
	}
	Py_END_ALLOW_THREADS
	return core;
}

static int has_proxy(void *ctx, uint64_t off)
{
	return pyx_idmap_get((PoolObject *)ctx, off) != NULL;
}

static void tx_ended(void *ctx, int aborted)
{
	pyx_tx_ended((PoolObject *)ctx, aborted);
}

static int Pool_init(PoolObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"filename", "flag", "pool_size", "mode", "debug",
				 "verify",   "grow", "max_size",  NULL};
	PyObject *fname, *size_o = NULL, *mode_o = NULL, *max_o = NULL, *grow_o = NULL;
	const char *flag = "w";
	int debug = 0, verify = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|sOOpp$OO:PersistentObjectPool", kwlist,
					 &fname, &flag, &size_o, &mode_o, &debug, &verify, &grow_o,
					 &max_o))
		return -1;
	if (self->core) {
		PyErr_SetString(PyExc_RuntimeError, "pool is already open");
		return -1;
	}
	if (strlen(flag) != 1 || !strchr("wxc", flag[0])) {
		PyErr_Format(PyExc_ValueError, "flag must be 'r', 'w', 'x' or 'c', not '%s'", flag);
		return -1;
	}
	long long size = (long long)PMO_MIN_POOL_SIZE, mode = 0666;
	int has_size = size_o && size_o != Py_None, has_max = max_o && max_o != Py_None;
	/* A negative size gets the same message as a too small one. */
	if (has_size && parse_int_arg(size_o, "pool_size", &size, 1))
		return -1;
	if (mode_o && parse_int_arg(mode_o, "mode", &mode, 0))
		return -1;
	if (size < (long long)PMO_MIN_POOL_SIZE) {
		PyErr_Format(
			PyExc_ValueError,
			"pool_size %lld smaller than %zu, the minimum pool size (MIN_POOL_SIZE)",
			size, PMO_MIN_POOL_SIZE);
		return -1;
	}
	/* Which kind of pool a create makes.  grow=None (the default) means
	 * growable unless a pool_size is given: pool_size=N is pynvm's
	 * signature for one file of N bytes, and keeps that meaning; with
	 * neither, a pool starts small and grows instead of being full at
	 * MIN_POOL_SIZE.  An open (flag 'w') finds the kind from the file. */
	int grow = 0;
	if (grow_o && grow_o != Py_None) {
		grow = PyObject_IsTrue(grow_o);
		if (grow < 0)
			return -1;
		if (grow && flag[0] == 'w') {
			PyErr_SetString(PyExc_ValueError,
					"grow=True is for creating a pool (flag 'x' or 'c'); "
					"an open finds out whether a pool grows from its file");
			return -1;
		}
	} else {
		grow = flag[0] != 'w' && !has_size;
	}
	if (has_max && !grow) {
		const char *why = "max_size is for growable pools, not grow=False";
		if (flag[0] == 'w')
			why = "max_size is for creating a growable pool, not for an open";
		else if (has_size)
			why = "pool_size and max_size do not go together: pool_size makes a fixed "
			      "pool, max_size bounds a growable one";
		PyErr_SetString(PyExc_ValueError, why);
		return -1;
	}
	/* A growable pool starts at the minimum and grows to max_size; a
	 * pool_size with grow would be a second, conflicting size. */
	long long max_size = 0;
	if (grow) {
		if (has_size) {
			PyErr_SetString(PyExc_ValueError,
					"pool_size and grow=True do not go together: a growable "
					"pool starts at MIN_POOL_SIZE and grows up to max_size");
			return -1;
		}
		max_size = (long long)PMO_GROW_DEFAULT_MAX;
		if (has_max && parse_int_arg(max_o, "max_size", &max_size, 1))
			return -1;
		if (max_size < (long long)PMO_MIN_POOL_SIZE) {
			PyErr_Format(PyExc_ValueError,
				     "max_size %lld smaller than %zu, the minimum pool size "
				     "(MIN_POOL_SIZE)",
				     max_size, PMO_MIN_POOL_SIZE);
			return -1;
		}
	}
	PyObject *path_b = NULL;
	if (!PyUnicode_FSConverter(fname, &path_b)) /* NUL bytes: ValueError */
		return -1;
	PyObject *path_s = PyUnicode_DecodeFSDefault(PyBytes_AS_STRING(path_b));
	if (!path_s) {
		Py_DECREF(path_b);
		return -1;
	}
	pmo_pool *core = open_core(PyBytes_AS_STRING(path_b), flag[0], (size_t)size,
				   (uint64_t)max_size, (mode_t)mode);
	Py_DECREF(path_b);
	if (!core) {
		Py_DECREF(path_s);
		pyx_raise();
		return -1;
	}
	self->core = core;
	core->hook_ctx = self;
	core->hook_has_proxy = has_proxy;
	core->hook_tx_end = tx_ended;
	pyx_mm_install_hooks(core); /* before gc: user types take part */
	Py_SETREF(self->filename, path_s);
	self->debug = debug;
	self->verify = verify;
	if (core->was_unclean) {
		/* The spec: a pool not closed cleanly is collected at open. */
		uint64_t t0 = pmo_now_ns();
		PyObject *r = pyx_pool_gc(self, debug, 0);
		if (!r) {
			/* The open fails: close now, unrecovered (still marked
			 * unclean, so a later open tries again), so that nothing
			 * runs gc or reports on this pool when it is freed. */
			self->core = NULL;
			pmo_pool_abandon(core);
			return -1;
		}
		Py_DECREF(r);
		core->stats.recovery_ns = pmo_now_ns() - t0;
	}
	return 0;
}

/* Close quietly: used by close(), dealloc and interpreter exit. */
static int pool_close(PoolObject *self, int run_gc)
{
	if (!self->core)
		return 0;
	pyx_lock(self);
	if (!self->core) {
		pyx_unlock(self);
		return 0;
	}
	if (self->exports > 0) {
		/* Unmapping now would leave those views on freed memory. */
		pyx_unlock(self);
		PyErr_Format(PyExc_BufferError,
			     "cannot close the pool: %zd buffer view(s) of its PersistentArrays "
			     "are still alive (release memoryviews and NumPy arrays made from "
			     "them first)",
			     self->exports);
		return -1;
	}
	int rc = 0;
	/* No gc on a read-only pool (a private copy) or on one that had an
	 * I/O error (it takes no more transactions; the next open collects). */
	if (run_gc && !self->readonly && !pmo_pool_failed(self->core)) {
		PyObject *r = pyx_pool_gc(self, self->debug, 1);
		if (r)
			Py_DECREF(r);
		else
			rc = -1; /* still close: the exception tells why gc failed */
	}
	pmo_pool *core = self->core;
	self->core = NULL;
	if (rc == 0)
		pmo_pool_close(core);
	else
		/* gc failed (damage, a class that cannot be imported): close
		 * without marking the pool clean -- no write to a damaged file,
		 * and the next open recovers. */
		pmo_pool_abandon(core);
	pyx_unlock(self);
	return rc;
}

/* Abort transactions this thread left open (begin() without commit). */
static void abandon_frames(PoolObject *self)
{
	if (self->nframes == 0 || self->owner != PyThread_get_thread_ident())
		return;
	pmo_tx_abort(self->core, ECANCELED);
	while (self->nframes > 0) {
		pmo_tx_end(self->core);
		self->nframes--;
		pyx_unlock(self);
	}
}

static void Pool_dealloc(PoolObject *self)
{
	PyObject_GC_UnTrack(self);
	if (self->weakreflist)
		PyObject_ClearWeakRefs((PyObject *)self);
	if (self->core) {
		PyObject *et, *ev, *tb;
		PyErr_Fetch(&et, &ev, &tb);
		abandon_frames(self);
		if (self->nframes == 0 && pool_close(self, 1) != 0) {
			/* Never pass the dying pool itself: its refcount is 0
			 * and the report would take and drop a reference. */
			PyObject *where = PyUnicode_FromFormat(
				"closing the pool %S as it was freed", self->filename);
			PyErr_WriteUnraisable(where);
			Py_XDECREF(where);
		}
		PyErr_Restore(et, ev, tb);
	}
	if (self->gate) {
		PyThread_release_lock(self->gate);
		PyThread_free_lock(self->gate);
	}
	Py_CLEAR(self->filename);
	Py_CLEAR(self->pickle_types);
	Py_CLEAR(self->mm);
	Py_CLEAR(self->txobj);
	pyx_idmap_free(self);
	free(self->created);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Pool_traverse(PoolObject *self, visitproc visit, void *arg)
{
	Py_VISIT(self->pickle_types);
	Py_VISIT(self->mm);
	Py_VISIT(self->txobj);
	return 0;
}

static int Pool_clear(PoolObject *self)
{
	/* The Transaction refers back to the pool: that cycle can go.  The
	 * others cannot be broken without closing. */
	Py_CLEAR(self->txobj);
	return 0;
}

/* --- methods ----------------------------------------------------------- */

static PyObject *Pool_close(PoolObject *self, PyObject *unused)
{
	if (self->core && self->nframes > 0 && self->owner == PyThread_get_thread_ident()) {
		PyErr_SetString(PyExc_RuntimeError, "cannot close the pool inside a transaction");
		return NULL;
	}
	if (pool_close(self, 1) != 0)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *Pool_enter(PoolObject *self, PyObject *unused)
{
	if (pyx_check_open(self))
		return NULL;
	return Py_NewRef(self);
}

static PyObject *Pool_exit(PoolObject *self, PyObject *args)
{
	abandon_frames(self);
	if (pool_close(self, 1) != 0)
		return NULL;
	Py_RETURN_FALSE;
}

static PyObject *Pool_transaction(PoolObject *self, PyObject *unused)
{
	if (pyx_check_open(self))
		return NULL;
	/* One object for every call: `with pool.transaction():` then costs
	 * no allocation (about a third of an empty transaction's time). */
	if (!self->txobj &&
	    !(self->txobj = PyObject_CallOneArg((PyObject *)&Transaction_Type, (PyObject *)self)))
		return NULL;
	return Py_NewRef(self->txobj);
}

static PyObject *Pool_persist_via_pickle(PoolObject *self, PyObject *args)
{
	for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); i++) {
		PyObject *t = PyTuple_GET_ITEM(args, i);
		if (!PyType_Check(t)) {
			PyErr_Format(PyExc_TypeError,
				     "persist_via_pickle takes classes, not %s instances",
				     Py_TYPE(t)->tp_name);
			return NULL;
		}
	}
	for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); i++)
		if (PySet_Add(self->pickle_types, PyTuple_GET_ITEM(args, i)) != 0)
			return NULL;
	Py_RETURN_NONE;
}

static PyObject *Pool_gc(PoolObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"debug", NULL};
	PyObject *debug = Py_None;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O:gc", kwlist, &debug))
		return NULL;
	if (pyx_check_open(self))
		return NULL;
	int d = debug == Py_None ? self->debug : PyObject_IsTrue(debug);
	if (d < 0)
		return NULL;
	return pyx_pool_gc(self, d, 0);
}

/* flag='r' (pmemobj/__init__.py): self is open on a private copy of
 * `shown`; make every change raise, and name the original in messages. */
static PyObject *Pool_make_readonly(PoolObject *self, PyObject *shown)
{
	if (pyx_check_open(self))
		return NULL;
	self->readonly = 1;
	Py_SETREF(self->filename, Py_NewRef(shown));
	Py_RETURN_NONE;
}

static PyObject *Pool_get_readonly(PoolObject *self, void *closure)
{
	return PyBool_FromLong(self->readonly);
}

static PyObject *Pool_check(PoolObject *self, PyObject *unused)
{
	return pyx_pool_check(self);
}

static PyObject *Pool_get_verify(PoolObject *self, void *closure)
{
	return PyBool_FromLong(self->verify);
}

static int Pool_set_verify(PoolObject *self, PyObject *v, void *closure)
{
	int b = v ? PyObject_IsTrue(v) : -1;
	if (b < 0) {
		if (!v)
			PyErr_SetString(PyExc_AttributeError, "cannot delete verify");
		return -1;
	}
	self->verify = b;
	return 0;
}

/* What a heap walk counts for stats(): the allocations, their bytes, how
 * many have no allocation header, and the heap objects among them by type
 * code (garbage not yet collected included). */
typedef struct space_count {
	const pmo_pool *p;
	uint64_t allocations, used_bytes, headerless;
	uint64_t builtin[PMO_T_BUILTIN_MAX + 1];
	PyObject *user; /* type code -> count, for user classes */
} space_count;

static int count_block(void *ctx, const pmo_block *b)
{
	space_count *c = ctx;
	c->allocations++;
	c->used_bytes += b->size;
	c->headerless += b->headless != 0;
	if (pmo_block_typenum(b) != PMO_TYPENUM_OBJ || b->size < sizeof(pmo_head))
		return 0;
	uint32_t type = pmo_head_at(c->p, b->off)->type;
	if (type <= PMO_T_BUILTIN_MAX) {
		c->builtin[type]++;
		return 0;
	}
	PyObject *k = PyLong_FromUnsignedLong(type);
	PyObject *n = k ? PyDict_GetItemWithError(c->user, k) : NULL;
	PyObject *n1 =
		k && !PyErr_Occurred()
			? PyLong_FromUnsignedLongLong((n ? PyLong_AsUnsignedLongLong(n) : 0) + 1)
			: NULL;
	int rc = n1 ? PyDict_SetItem(c->user, k, n1) : -1;
	Py_XDECREF(k);
	Py_XDECREF(n1);
	return rc ? 1 : 0; /* 1 stops the walk: a Python error is set */
}

static int set_u64(PyObject *d, const char *key, uint64_t v)
{
	PyObject *o = PyLong_FromUnsignedLongLong(v);
	int rc = o ? PyDict_SetItemString(d, key, o) : -1;
	Py_XDECREF(o);
	return rc;
}

/* The space figures of stats(), from one walk of the heap (its headers,
 * bitmaps and blocks).  A damaged heap gives "heap_error" instead. */
static int add_space(PoolObject *self, PyObject *d)
{
	pmo_heap_space sp;
	space_count c = {self->core, 0, 0, 0, {0}, PyDict_New()};
	if (!c.user)
		return -1;
	int rc = pmo_heap_space_of(self->core, &sp, count_block, &c);
	if (rc == 1 || (rc != 0 && PyErr_Occurred())) {
		Py_DECREF(c.user);
		return -1;
	}
	if (rc != 0) {
		PyObject *msg = PyUnicode_FromString(pmo_errormsg());
		pmo_err_clear();
		rc = msg ? PyDict_SetItemString(d, "heap_error", msg) : -1;
		Py_XDECREF(msg);
		Py_DECREF(c.user);
		return rc;
	}
	PyObject *types = PyDict_New();
	rc = types ? 0 : -1;
	for (uint32_t t = 0; rc == 0 && t <= PMO_T_BUILTIN_MAX; t++)
		if (c.builtin[t])
			rc = set_u64(types, pmo_type_name(t), c.builtin[t]);
	PyObject *k, *v;
	Py_ssize_t pos = 0;
	while (rc == 0 && PyDict_Next(c.user, &pos, &k, &v)) {
		size_t n;
		const char *path =
			pmo_type_path(self->core, (uint32_t)PyLong_AsUnsignedLong(k), &n);
		PyObject *name = path ? PyUnicode_DecodeUTF8(path, (Py_ssize_t)n, "replace")
				      : PyUnicode_FromFormat("user type %S", k);
		pmo_err_clear();
		rc = name ? PyDict_SetItem(types, name, v) : -1;
		Py_XDECREF(name);
	}
	Py_DECREF(c.user);
	if (rc == 0)
		rc = PyDict_SetItemString(d, "objects_by_type", types);
	Py_XDECREF(types);
	uint64_t free = sp.free_chunk_bytes + sp.run_free_bytes;
	if (rc == 0)
		rc = set_u64(d, "pool_bytes", pmo_pool_file_bytes(self->core)) ||
				     set_u64(d, "max_size",
					     self->core->max_size
						     ? self->core->max_size
						     : pmo_pool_file_bytes(self->core)) ||
				     set_u64(d, "heap_bytes", sp.heap_bytes) ||
				     set_u64(d, "allocations", c.allocations) ||
				     set_u64(d, "headerless_allocations", c.headerless) ||
				     set_u64(d, "used_bytes", c.used_bytes) ||
				     set_u64(d, "free_bytes", free) ||
				     set_u64(d, "largest_free_bytes", sp.largest_free_chunks)
			     ? -1
			     : 0;
	return rc;
}

static PyObject *Pool_stats(PoolObject *self, PyObject *unused)
{
	if (pyx_check_open(self))
		return NULL;
	const pmo_stats *s = &self->core->stats;
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
#define ADD_STAT(f)                                              \
	{                                                        \
		PyObject *v = PyLong_FromUnsignedLongLong(s->f); \
		if (!v || PyDict_SetItemString(d, #f, v) != 0) { \
			Py_XDECREF(v);                           \
			Py_DECREF(d);                            \
			return NULL;                             \
		}                                                \
		Py_DECREF(v);                                    \
	}
	PMO_STATS_FIELDS(ADD_STAT)
#undef ADD_STAT
	if (add_space(self, d) != 0) {
		Py_DECREF(d);
		return NULL;
	}
	return d;
}

static PyObject *Pool_reset_stats(PoolObject *self, PyObject *unused)
{
	if (pyx_check_open(self))
		return NULL;
	self->core->stats = (pmo_stats){0};
	Py_RETURN_NONE;
}

/* --- attributes -------------------------------------------------------- */

static PyObject *Pool_get_root(PoolObject *self, void *closure)
{
	if (pyx_check_open(self))
		return NULL;
	pyx_lock(self);
	PyObject *v = self->core ? pyx_from_slot(self, self->core->root->root) : pyx_closed();
	pyx_unlock(self);
	return v;
}

static int Pool_set_root(PoolObject *self, PyObject *v, void *closure)
{
	if (!v) {
		PyErr_SetString(PyExc_AttributeError,
				"the pool root cannot be deleted; set it to None");
		return -1;
	}
	if (pyx_check_open(self) || pyx_check_storable(self, v))
		return -1;
	if (pyx_op_begin(self))
		return -1;
	pmo_slot s;
	int failed = pyx_to_slot(self, v, &s) != 0 ||
		     (pmo_tx_single_store(),
		      pmo_slot_store(self->core, &self->core->root->root, s)) != 0;
	return pyx_op_end(self, failed);
}

static PyObject *Pool_get_closed(PoolObject *self, void *closure)
{
	return PyBool_FromLong(self->core == NULL);
}

static PyObject *Pool_get_filename(PoolObject *self, void *closure)
{
	return Py_NewRef(self->filename);
}

static PyObject *Pool_repr(PoolObject *self)
{
	return PyUnicode_FromFormat("<%s %R%s>", Py_TYPE(self)->tp_name, self->filename,
				    self->core ? "" : " (closed)");
}

static PyMethodDef Pool_methods[] = {
	{"close", (PyCFunction)Pool_close, METH_NOARGS,
	 "Collect garbage, mark the pool clean and close the file.  Idempotent."},
	{"transaction", (PyCFunction)Pool_transaction, METH_NOARGS,
	 "Return a transaction: use it as a context manager, or begin()/commit()/abort()."},
	{"persist_via_pickle", (PyCFunction)Pool_persist_via_pickle, METH_VARARGS,
	 "Store instances of the given (immutable, non-container) classes via pickle."},
	{"gc", (PyCFunction)(void (*)(void))Pool_gc, METH_VARARGS | METH_KEYWORDS,
	 "gc(debug=None) -> (type_counts, gc_counts): free unreachable objects."},
	{"_make_readonly", (PyCFunction)Pool_make_readonly, METH_O,
	 "Used by flag='r': refuse every change from now on."},
	{"_tables", (PyCFunction)pyx_tables_read, METH_NOARGS,
	 "_tables() -> (class paths, attribute names): the type and name tables."},
	{"_seed_tables", (PyCFunction)pyx_tables_seed, METH_VARARGS,
	 "_seed_tables(paths, names): fill a new pool's empty tables (resize, salvage)."},
	{"check", (PyCFunction)Pool_check, METH_NOARGS,
	 "check() -> dict: verify everything reachable (each container's invariants,\n"
	 "every reference, every immutable value's checksum) and the heap, changing\n"
	 "nothing.  Keys: ok (bool), problems (list of (offset, type, problem)),\n"
	 "types (live objects by type), live, unreachable (objects the next gc\n"
	 "frees), examined (allocations), used_bytes and pool_bytes."},
	{"stats", (PyCFunction)Pool_stats, METH_NOARGS, "Return the pool's counters as a dict."},
	{"reset_stats", (PyCFunction)Pool_reset_stats, METH_NOARGS,
	 "Set all of the pool's counters to zero."},
	{"__enter__", (PyCFunction)Pool_enter, METH_NOARGS, NULL},
	{"__exit__", (PyCFunction)Pool_exit, METH_VARARGS, NULL},
	{NULL}};

static PyGetSetDef Pool_getset[] = {
	{"root", (getter)Pool_get_root, (setter)Pool_set_root,
	 "The root value of the pool: everything reachable from it is kept.", NULL},
	{"closed", (getter)Pool_get_closed, NULL, "True once the pool is closed.", NULL},
	{"filename", (getter)Pool_get_filename, NULL, "The pool's file name.", NULL},
	{"mm", (getter)pyx_pool_get_mm, NULL, "The pool's MemoryManager.", NULL},
	{"readonly", (getter)Pool_get_readonly, NULL,
	 "True for a pool opened with flag='r' (every change raises OSError(EROFS)).", NULL},
	{"verify", (getter)Pool_get_verify, (setter)Pool_set_verify,
	 "True: every read of a str, bytes, big int, tuple, frozenset or pickle checks "
	 "its checksum first (CorruptPoolError if it fails).",
	 NULL},
	{NULL}};

PyTypeObject Pool_Type = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pmemobj.PersistentObjectPool",
	.tp_basicsize = sizeof(PoolObject),
	.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
	.tp_doc = "PersistentObjectPool(filename, flag='w', pool_size=None, "
		  "mode=0o666, debug=False, verify=False, *, grow=None, max_size=None)\n\n"
		  "A pool of persistent objects in a libpmemobj file (or, growable, a pool "
		  "set file and its parts).  Creating (flag 'x' or 'c'): with pool_size, "
		  "one fixed file of that many bytes; with neither pool_size nor grow, or "
		  "grow=True, a growable pool starting at MIN_POOL_SIZE and growing up to "
		  "max_size (default GROW_DEFAULT_MAX); grow=False, one fixed file of "
		  "MIN_POOL_SIZE.",
	.tp_new = Pool_new,
	.tp_init = (initproc)Pool_init,
	.tp_dealloc = (destructor)Pool_dealloc,
	.tp_traverse = (traverseproc)Pool_traverse,
	.tp_clear = (inquiry)Pool_clear,
	.tp_repr = (reprfunc)Pool_repr,
	.tp_methods = Pool_methods,
	.tp_getset = Pool_getset,
	.tp_weaklistoffset = offsetof(PoolObject, weakreflist),
};
