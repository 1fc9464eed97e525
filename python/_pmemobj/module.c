/* The _pmemobj extension module: types and constants. */
#include "proxy.h"

#include "iofail.h"
#include "preflight.h"

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
	{NULL}
};

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
	    PyType_Ready(&Proxy_Type) < 0)
		return NULL;
	PyObject *m = PyModule_Create(&moduledef);
	if (!m)
		return NULL;
	if (PyModule_AddObjectRef(m, "PersistentObjectPool", (PyObject *)&Pool_Type) < 0 ||
	    PyModule_AddObjectRef(m, "Transaction", (PyObject *)&Transaction_Type) < 0 ||
	    PyModule_AddObjectRef(m, "_PersistentBase", (PyObject *)&Proxy_Type) < 0 ||
	    PyModule_AddIntConstant(m, "MIN_POOL_SIZE", (long)PMO_MIN_POOL_SIZE) < 0 ||
	    PyModule_AddIntConstant(m, "FORMAT_VERSION", PMO_FORMAT_VERSION) < 0 ||
	    PyModule_AddStringConstant(m, "LAYOUT", PMO_LAYOUT) < 0 ||
	    PyModule_AddIntConstant(m, "POBJECT_TYPE_NUM", PMO_TYPENUM_OBJ) < 0 ||
	    pyx_errors_ready(m) < 0 ||
	    pyx_list_ready(m) < 0 ||
	    pyx_dict_ready(m) < 0 ||
	    pyx_set_ready(m) < 0 ||
	    pyx_object_ready(m) < 0 ||
	    pyx_tuple_ready(m) < 0 ||
	    pyx_memory_ready(m) < 0 ||
	    pyx_array_ready(m) < 0 ||
	    pyx_sorteddict_ready(m) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
