/* pool.gc(): run the core collector and report in Python terms. */
#include "proxy.h"
#include "types.h"

#include <errno.h>

typedef struct orphan_log {
	PyObject *list; /* (offset, type name, refcount) of each unreachable object */
} orphan_log;

static void note_unreachable(void *ctx, uint64_t off, uint32_t type, uint64_t refcnt)
{
	orphan_log *log = ctx;
	if (!log->list)
		return;
	const char *name = pmo_type_name(type);
	PyObject *t =
		name ? Py_BuildValue("Ksk", (unsigned long long)off, name, (unsigned long)refcnt)
		     : Py_BuildValue("KIk", (unsigned long long)off, type, (unsigned long)refcnt);
	if (!t || PyList_Append(log->list, t) != 0)
		Py_CLEAR(log->list); /* logging is best effort; gc goes on */
	Py_XDECREF(t);
}

static void note_invalid(void *ctx, uint64_t off, uint32_t type, const char *problem)
{
	orphan_log *log = ctx;
	if (!log->list)
		return;
	const char *name = pmo_type_name(type);
	PyObject *t = Py_BuildValue("Kss", (unsigned long long)off,
				    name        ? name
				    : type == 0 ? "heap"
						: "?",
				    problem);
	if (!t || PyList_Append(log->list, t) != 0)
		Py_CLEAR(log->list);
	Py_XDECREF(t);
}

/* Each entry as a warning on the 'pmemobj' logger. */
static int log_warnings(const char *fmt, PyObject *entries)
{
	PyObject *logging = PyImport_ImportModule("logging");
	if (!logging)
		return -1;
	PyObject *logger = PyObject_CallMethod(logging, "getLogger", "s", "pmemobj");
	Py_DECREF(logging);
	if (!logger)
		return -1;
	for (Py_ssize_t i = 0; i < PyList_GET_SIZE(entries); i++) {
		PyObject *r = PyObject_CallMethod(logger, "warning", "sO", fmt,
						  PyList_GET_ITEM(entries, i));
		if (!r) {
			Py_DECREF(logger);
			return -1;
		}
		Py_DECREF(r);
	}
	Py_DECREF(logger);
	return 0;
}

static int set_count(PyObject *d, const char *key, uint64_t v)
{
	PyObject *o = PyLong_FromUnsignedLongLong(v);
	int rc = o ? PyDict_SetItemString(d, key, o) : -1;
	Py_XDECREF(o);
	return rc;
}

static PyObject *type_counts_dict(PoolObject *pool, const uint64_t *counts, size_t n)
{
	PyObject *d = PyDict_New();
	if (!d)
		return NULL;
	for (size_t code = 0; code < n; code++) {
		if (!counts[code])
			continue;
		const char *name = pmo_type_name((uint32_t)code);
		if (!name && code >= PMO_T_FIRST_USER && pool->core) {
			/* A user class: its path in the type table. */
			name = pmo_type_path(pool->core, (uint32_t)code, NULL);
			pmo_err_clear();
		}
		char buf[32];
		if (!name) {
			snprintf(buf, sizeof buf, "type#%zu", code);
			name = buf;
		}
		if (set_count(d, name, counts[code]) != 0) {
			Py_DECREF(d);
			return NULL;
		}
	}
	return d;
}

PyObject *pyx_pool_check(PoolObject *pool)
{
	if (pyx_check_open(pool))
		return NULL;
	orphan_log bad = {PyList_New(0)};
	if (!bad.list)
		return NULL;
	pyx_lock(pool);
	size_t nroots = 0;
	uint64_t *roots = NULL;
	pmo_check_result res = {0};
	PyObject *types = NULL;
	uint64_t pool_bytes = pool->core->size;
	int rc = pyx_idmap_offsets(pool, &roots, &nroots);
	if (rc == 0) {
		rc = pmo_check(pool->core, roots, nroots, note_invalid, &bad, &res);
		PyMem_Free(roots);
		if (rc != 0)
			pyx_raise();
		else
			types = type_counts_dict(pool, res.type_counts, res.n_type_counts);
		free(res.type_counts);
	}
	pyx_unlock(pool);
	if (rc == 0 && !bad.list) /* a report could not be recorded */
		PyErr_NoMemory();
	if (rc != 0 || !types || PyErr_Occurred()) {
		Py_XDECREF(bad.list);
		Py_XDECREF(types);
		return NULL;
	}
	PyObject *d = Py_BuildValue(
		"{s:O,s:N,s:N,s:K,s:K,s:K,s:K,s:K}", "ok", res.invalid == 0 ? Py_True : Py_False,
		"problems", bad.list, "types", types, "live", (unsigned long long)res.live,
		"unreachable", (unsigned long long)res.unreachable, "examined",
		(unsigned long long)res.examined, "used_bytes", (unsigned long long)res.used_bytes,
		"pool_bytes", (unsigned long long)pool_bytes);
	return d;
}

PyObject *pyx_pool_gc(PoolObject *pool, int debug, int closing)
{
	if (pyx_check_open(pool) || pyx_check_writable(pool))
		return NULL;
	pyx_lock(pool);
	if (pool->nframes > 0) {
		pyx_unlock(pool);
		PyErr_SetString(PyExc_RuntimeError, "gc cannot run inside a transaction");
		return NULL;
	}
	orphan_log log = {debug ? PyList_New(0) : NULL};
	orphan_log bad = {debug ? PyList_New(0) : NULL};
	pmo_gc_result res;
	uint64_t invalid = 0;
	size_t nroots = 0;
	uint64_t *roots = NULL;
	if (!closing && pyx_idmap_offsets(pool, &roots, &nroots) != 0) {
		pyx_unlock(pool);
		Py_XDECREF(log.list);
		Py_XDECREF(bad.list);
		return NULL;
	}
	/* debug: check every reachable container's invariants first. */
	int rc = debug ? pmo_validate(pool->core, roots, nroots, note_invalid, &bad, &invalid) : 0;
	if (rc == 0 && invalid > 0) {
		/* Sweeping a damaged heap could free what only the broken
		 * objects still lead to: report, collect nothing. */
		PyMem_Free(roots);
		pyx_unlock(pool);
		if (bad.list)
			log_warnings("gc: invalid object (offset, type, problem) %r", bad.list);
		Py_XDECREF(bad.list);
		Py_XDECREF(log.list);
		if (PyErr_Occurred())
			return NULL;
		pmo_err_corrupt(pool->core->path, 0,
				"gc found %llu invalid objects (logged "
				"on the 'pmemobj' logger); nothing was collected",
				(unsigned long long)invalid);
		return pyx_raise();
	}
	if (rc == 0)
		rc = pmo_gc(pool->core, roots, nroots, &res, debug ? note_unreachable : NULL, &log);
	PyMem_Free(roots);
	pyx_unlock(pool);
	if (rc != 0) {
		Py_XDECREF(log.list);
		Py_XDECREF(bad.list);
		return pyx_raise();
	}
	pyx_lock(pool);
	PyObject *types = type_counts_dict(pool, res.type_counts, res.n_type_counts);
	pyx_unlock(pool);
	free(res.type_counts);
	PyObject *counts = PyDict_New();
	if (!types || !counts || set_count(counts, "examined", res.examined) ||
	    set_count(counts, "live", res.live) || set_count(counts, "orphans", res.orphans) ||
	    set_count(counts, "cycles", res.cycles) ||
	    set_count(counts, "collected", res.orphans + res.cycles) ||
	    set_count(counts, "substructures", res.subs_live) ||
	    set_count(counts, "substructures_freed", res.subs_freed) ||
	    set_count(counts, "bad_references", res.bad_refs) ||
	    set_count(counts, "nanoseconds", res.ns) ||
	    (debug && set_count(counts, "invalid", invalid)) ||
	    (log.list && log_warnings("gc: freeing unreachable object (offset, type, refcount) %r",
				      log.list))) {
		Py_XDECREF(types);
		Py_XDECREF(counts);
		Py_XDECREF(log.list);
		Py_XDECREF(bad.list);
		return NULL;
	}
	Py_XDECREF(log.list);
	Py_XDECREF(bad.list);
	return Py_BuildValue("(NN)", types, counts);
}
