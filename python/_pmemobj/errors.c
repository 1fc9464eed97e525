/* Turning core errors into Python exceptions. */
#include "ext.h"

#include <errno.h>

PyObject *pyx_raise(void)
{
	int e = errno;
	const char *msg = pmo_errormsg();
	if (!msg[0])
		msg = strerror(e);
	switch (e) {
	case ENOMEM:
		PyErr_SetString(PyExc_MemoryError, msg);
		break;
	case EINVAL:
		PyErr_SetString(PyExc_ValueError, msg);
		break;
	default: {
		/* OSError(errno, msg) picks the subclass (FileNotFoundError...). */
		PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", e, msg);
		if (exc) {
			PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
			Py_DECREF(exc);
		}
	}
	}
	pmo_err_clear();
	return NULL;
}

PyObject *pyx_closed(void)
{
	PyErr_SetString(PyExc_ValueError, "pool is closed");
	return NULL;
}

int pyx_check_open(PoolObject *pool)
{
	if (pool->core)
		return 0;
	pyx_closed();
	return -1;
}
