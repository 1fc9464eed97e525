/* The _pmemobj extension module: types and constants. */
#include "proxy.h"

#include "iofail.h"
#include "poolset.h"
#include "preflight.h"
#include "wordlog.h"

/* Is path a pool set file (a growable pool)?  The core's test, by the
 * signature, so that Python and C tell the two kinds apart alike. */
static PyObject *is_pool_set(PyObject *m, PyObject *arg)
{
	PyObject *b = NULL;
	if (!PyUnicode_FSConverter(arg, &b))
		return NULL;
	int set = pmo_is_pool_set(PyBytes_AS_STRING(b));
	Py_DECREF(b);
	return PyBool_FromLong(set);
}

/* The growable pool's set at path, checked as an open checks it (shape,
 * parts): (max_size, [part paths]).  For the private copies of
 * flag='r' (pmemobj/__init__.py). */
static PyObject *pool_set_parts(PyObject *m, PyObject *arg)
{
	PyObject *b = NULL;
	if (!PyUnicode_FSConverter(arg, &b))
		return NULL;
	pmo_set s;
	int rc = pmo_set_read(PyBytes_AS_STRING(b), &s);
	Py_DECREF(b);
	if (rc != 0)
		return pyx_raise();
	PyObject *parts = PyList_New(0);
	for (unsigned i = 0; parts && i < s.nparts; i++) {
		char *pp = pmo_set_part_path(&s, i);
		PyObject *o = pp ? PyUnicode_DecodeFSDefault(pp) : PyErr_NoMemory();
		free(pp);
		if (!o || PyList_Append(parts, o) != 0)
			Py_CLEAR(parts);
		Py_XDECREF(o);
	}
	PyObject *r = parts ? Py_BuildValue("KN", (unsigned long long)s.max_size, parts) : NULL;
	pmo_set_free(&s);
	return r;
}

/* Write a growable pool's set at path (and make its empty parts
 * directory), for a private copy whose parts are copied in next. */
static PyObject *write_pool_set(PyObject *m, PyObject *args)
{
	PyObject *b = NULL;
	unsigned long long max;
	if (!PyArg_ParseTuple(args, "O&K:_write_pool_set", PyUnicode_FSConverter, &b, &max))
		return NULL;
	char *dir = pmo_set_parts_dir(PyBytes_AS_STRING(b));
	int rc = dir ? pmo_set_write(PyBytes_AS_STRING(b), dir, max, 0600) : -1;
	free(dir);
	Py_DECREF(b);
	if (rc != 0)
		return pyx_raise();
	Py_RETURN_NONE;
}

/* For the fuzzer's planted-bug check and the open benchmark only: opening
 * without the preflight check of libpmemobj's metadata. */
static PyObject *set_preflight(PyObject *m, PyObject *on)
{
	int v = PyObject_IsTrue(on);
	if (v < 0)
		return NULL;
	pmo_preflight_disable(!v);
	Py_RETURN_NONE;
}

static PyObject *fault_inject(PyObject *m, PyObject *args)
{
	long n;
	unsigned kinds = PMO_FAULT_ALL;
	if (!PyArg_ParseTuple(args, "l|I:_fault_inject", &n, &kinds))
		return NULL;
	pmo_fault_arm(kinds, n);
	Py_RETURN_NONE;
}

static PyObject *fault_calls(PyObject *m, PyObject *unused)
{
	return PyLong_FromLong(pmo_fault_calls());
}

static PyObject *inject_msync_failure(PyObject *m, PyObject *arg)
{
	long n = PyLong_AsLong(arg);
	if (n == -1 && PyErr_Occurred())
		return NULL;
	return PyLong_FromLong(pmo_iofail_inject_msync(n));
}

static PyMethodDef module_methods[] = {
	{"_is_pool_set", is_pool_set, METH_O,
	 "_is_pool_set(path) -> True if path is a pool set file (a growable pool)."},
	{"_pool_set_parts", pool_set_parts, METH_O,
	 "_pool_set_parts(path) -> (max_size, [part paths]) of a growable pool's "
	 "set, checked as an open checks it."},
	{"_write_pool_set", write_pool_set, METH_VARARGS,
	 "_write_pool_set(path, max_size): a growable pool's set naming path.parts/ "
	 "(made here, empty), for a private copy."},
	{"_fault_inject", fault_inject, METH_VARARGS,
	 "Testing only: _fault_inject(n, kinds=31) makes the n-th call into "
	 "libpmemobj of those kinds (1 begin, 2 snapshot, 4 add, 8 alloc, 16 free) "
	 "fail as libpmemobj's own failure would; n = 0 disarms."},
	{"_fault_calls", fault_calls, METH_NOARGS,
	 "Testing only: armed calls made since _fault_inject."},
	{"_inject_msync_failure", inject_msync_failure, METH_O,
	 "Testing only: _inject_msync_failure(n) makes the n-th msync of an open "
	 "pool's memory from now on report EIO (pools not on persistent memory "
	 "persist by msync); n = 0 disarms.  Returns the msyncs made since the "
	 "last call."},
	{"_set_preflight", set_preflight, METH_O,
	 "Testing only: _set_preflight(False) opens pools without checking "
	 "libpmemobj's metadata first (a damaged file can then crash the process)."},
	{NULL}};

static struct PyModuleDef moduledef = {
	PyModuleDef_HEAD_INIT,
	.m_name = "pmemobj._pmemobj",
	.m_doc = "C runtime of pmemobj: persistent Python objects over libpmemobj.",
	.m_size = -1,
	.m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__pmemobj(void)
{
	if (PyType_Ready(&Pool_Type) < 0 || PyType_Ready(&Transaction_Type) < 0 ||
	    pyx_transaction_ready() < 0 || PyType_Ready(&Proxy_Type) < 0)
		return NULL;
	PyObject *m = PyModule_Create(&moduledef);
	if (!m)
		return NULL;
	/* Where the word log's fields are, for the tests and the fuzzer that
	 * find the block in a file and change it (one home: the struct). */
	uint64_t magic = PMO_WORDLOG_MAGIC;
	PyObject *wordlog = Py_BuildValue(
		"{sy#snsnsn}", "magic", (const char *)&magic, (Py_ssize_t)sizeof magic, "magic_at",
		(Py_ssize_t)offsetof(pmo_wordlog, magic), "e_at",
		(Py_ssize_t)offsetof(pmo_wordlog, e), "size", (Py_ssize_t)sizeof(pmo_wordlog));
	int added = wordlog && PyModule_AddObjectRef(m, "_WORDLOG_LAYOUT", wordlog) == 0;
	Py_XDECREF(wordlog);
	if (!added ||
	    PyModule_AddObjectRef(m, "PersistentObjectPool", (PyObject *)&Pool_Type) < 0 ||
	    PyModule_AddObjectRef(m, "Transaction", (PyObject *)&Transaction_Type) < 0 ||
	    PyModule_AddObjectRef(m, "_PersistentBase", (PyObject *)&Proxy_Type) < 0 ||
	    PyModule_AddIntConstant(m, "MIN_POOL_SIZE", (long)PMO_MIN_POOL_SIZE) < 0 ||
	    PyModule_AddIntConstant(m, "GROW_DEFAULT_MAX", (long)PMO_GROW_DEFAULT_MAX) < 0 ||
	    PyModule_AddIntConstant(m, "GROW_STEP", (long)PMO_GROW_STEP) < 0 ||
	    PyModule_AddIntConstant(m, "FORMAT_VERSION", PMO_FORMAT_VERSION) < 0 ||
	    PyModule_AddStringConstant(m, "LAYOUT", PMO_LAYOUT) < 0 ||
	    PyModule_AddIntConstant(m, "POBJECT_TYPE_NUM", PMO_TYPENUM_OBJ) < 0 ||
	    pyx_errors_ready(m) < 0 || pyx_list_ready(m) < 0 || pyx_dict_ready(m) < 0 ||
	    pyx_set_ready(m) < 0 || pyx_object_ready(m) < 0 || pyx_tuple_ready(m) < 0 ||
	    pyx_memory_ready(m) < 0 || pyx_array_ready(m) < 0 || pyx_sorteddict_ready(m) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
