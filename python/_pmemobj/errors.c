/* Turning core errors into Python exceptions. */
#include "ext.h"

#include <errno.h>

PyObject *pyx_CorruptPoolError;

int pyx_errors_ready(PyObject *m)
{
	/* offset None on the class: one made in Python has the attribute too. */
	PyObject *dict = Py_BuildValue("{s:O}", "offset", Py_None);
	pyx_CorruptPoolError =
		dict ? PyErr_NewExceptionWithDoc(
			       "pmemobj.CorruptPoolError",
			       "The pool file is damaged: a structure in it is not what the "
			       "runtime\n"
			       "wrote.  An OSError with errno EIO; `filename` is the pool file "
			       "and\n"
			       "`offset` the byte offset in it where the damage was seen (0 if it\n"
			       "cannot be pinned to one; None if the error was not raised by "
			       "pmemobj).",
			       PyExc_OSError, dict)
		     : NULL;
	Py_XDECREF(dict);
	if (!pyx_CorruptPoolError)
		return -1;
	return PyModule_AddObjectRef(m, "CorruptPoolError", pyx_CorruptPoolError);
}

/* CorruptPoolError(EIO, msg) with .filename and .offset.  The message
 * names the file already, so filename is set after construction (passed
 * to the constructor, OSError would print it a second time). */
static void raise_corrupt(const char *msg, unsigned long long off, const char *path)
{
	/* The core's message reads "corrupted pool PATH: what"; the exception
	 * shows the path once, from its filename, as OSError does. */
	size_t plen = strlen(path);
	if (plen && strncmp(msg, "corrupted pool ", 15) == 0 &&
	    strncmp(msg + 15, path, plen) == 0 && msg[15 + plen] == ':')
		msg += 15 + plen + 2;
	PyObject *exc = PyObject_CallFunction(pyx_CorruptPoolError, "is", EIO, msg);
	if (!exc)
		return;
	PyObject *o = PyLong_FromUnsignedLongLong(off);
	PyObject *f = PyUnicode_DecodeFSDefault(path);
	if (o && f && PyObject_SetAttrString(exc, "offset", o) == 0 &&
	    PyObject_SetAttrString(exc, "filename", f) == 0)
		PyErr_SetObject(pyx_CorruptPoolError, exc);
	Py_XDECREF(o);
	Py_XDECREF(f);
	Py_DECREF(exc);
}

PyObject *pyx_raise(void)
{
	int e = errno > 0 ? errno : EIO; /* never OSError(-1) or (0) */
	const char *msg = pmo_errormsg();
	unsigned long long off;
	const char *path;
	if (!msg[0])
		msg = strerror(e);
	if (e == EIO && pmo_err_is_corrupt(&off, &path)) {
		raise_corrupt(msg, off, path);
		pmo_err_clear();
		return NULL;
	}
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

void pyx_report_deferred_error(PoolObject *pool)
{
	if (!pool->core || !pool->core->deferred_failed)
		return;
	pool->core->deferred_failed = 0;
	pyx_raise();
	PyObject *where = PyUnicode_FromString(
		"freeing objects after the transaction committed (the commit stands; "
		"gc frees what was left)");
	PyErr_WriteUnraisable(where);
	Py_XDECREF(where);
}

PyObject *pyx_closed(void)
{
	PyErr_SetString(PyExc_ValueError, "pool is closed");
	return NULL;
}

int pyx_check_writable(PoolObject *pool)
{
	if (!pool->readonly)
		return 0;
	const char *name = PyUnicode_AsUTF8(pool->filename);
	if (!name)
		return -1;
	pmo_err(EROFS, "pool %s was opened read-only (flag='r')", name);
	pyx_raise();
	return -1;
}

int pyx_check_open(PoolObject *pool)
{
	if (pool->core)
		return 0;
	pyx_closed();
	return -1;
}
