/*
 * The type table and attribute name table, seen from Python: class <->
 * type code and name <-> index, cached per pool in its MemoryManager (see
 * manager.h; the persistent tables are src/types.c).
 *
 * A class is stored by its path "module:qualname" and found again by
 * importing the module and walking the qualname, the first time an object
 * of that code is read in a process.  A class that cannot be found gives a
 * ClassNotFoundError (a TypeError) naming the path and the object, except
 * in a pool opened read-only, where an object the core can read by itself
 * (a PersistentObject's attribute table) comes back as an OpaqueObject
 * that shows its class path and attributes (pmemobj/_opaque.py).
 * Importing runs the named module's code: pools should come from trusted
 * sources, as the modules they name are imported.
 */
#include "manager.h"

#include <errno.h>

#include "object.h"
#include "types.h"

PyObject *pyx_ClassNotFoundError;

/* The cache entry for code, growing the array as needed. */
static pyx_class_entry *entry_slot(MMObject *mm, uint32_t code)
{
	size_t i = code - PMO_T_FIRST_USER;
	if (i >= mm->nclasses) {
		size_t n = mm->nclasses ? mm->nclasses * 2 : 16;
		if (n <= i)
			n = i + 16;
		pyx_class_entry *c = PyMem_Realloc(mm->classes, n * sizeof *c);
		if (!c) {
			PyErr_NoMemory();
			return NULL;
		}
		memset(c + mm->nclasses, 0, (n - mm->nclasses) * sizeof *c);
		mm->classes = c;
		mm->nclasses = n;
	}
	return &mm->classes[i];
}

PyObject *pyx_class_path(PyObject *cls)
{
	PyObject *mod = PyObject_GetAttrString(cls, "__module__");
	PyObject *qn = mod ? PyObject_GetAttrString(cls, "__qualname__") : NULL;
	PyObject *path = NULL;
	if (qn && (!PyUnicode_Check(mod) || !PyUnicode_Check(qn)))
		PyErr_Format(PyExc_TypeError,
			     "cannot store instances of %R: its __module__ and __qualname__ "
			     "must be str",
			     cls);
	else if (qn)
		path = PyUnicode_FromFormat("%U:%U", mod, qn);
	Py_XDECREF(mod);
	Py_XDECREF(qn);
	return path;
}

static int need_tx(const char *what)
{
	if (pmo_tx_depth() > 0)
		return 0;
	PyErr_Format(PyExc_SystemError, "%s outside a transaction", what);
	return -1;
}

/* Remember code <-> cls in both directions. */
static pyx_class_entry *cache_class(MMObject *mm, uint32_t code, PyObject *cls)
{
	pyx_class_entry *e = entry_slot(mm, code);
	if (!e)
		return NULL;
	PyObject *c = PyLong_FromUnsignedLong(code);
	if (!c || PyDict_SetItem(mm->codes, cls, c) != 0) {
		Py_XDECREF(c);
		return NULL;
	}
	Py_DECREF(c);
	Py_XSETREF(e->cls, Py_NewRef(cls)); /* the latest definition wins */
	return e;
}

/* Registering a class of __main__ warns: no other program can import it.
 * -1 if the warning was turned into an error. */
static int warn_if_main(PyObject *cls)
{
	PyObject *mod = PyObject_GetAttrString(cls, "__module__");
	int in_main = mod && PyUnicode_Check(mod) &&
		      PyUnicode_CompareWithASCIIString(mod, "__main__") == 0;
	Py_XDECREF(mod);
	PyErr_Clear();
	if (!in_main)
		return 0;
	return PyErr_WarnFormat(PyExc_UserWarning, 1,
				"storing an instance of %R, a class defined in __main__: "
				"no other program can import it, so they cannot read the "
				"object (define the class in a module both can import)",
				cls);
}

uint32_t pyx_type_code(PoolObject *pool, PyObject *cls)
{
	MMObject *mm = pyx_mm(pool);
	if (!mm)
		return 0;
	PyObject *c = PyDict_GetItemWithError(mm->codes, cls);
	if (c)
		return (uint32_t)PyLong_AsUnsignedLong(c);
	if (PyErr_Occurred())
		return 0;
	PyObject *path = pyx_class_path(cls);
	if (!path)
		return 0;
	PyObject *keep;
	Py_ssize_t n;
	const char *s;
	uint32_t code = 0;
	if (pyx_str_utf8(path, &s, &n, &keep) == 0) {
		code = pmo_type_lookup(pool->core, s, (size_t)n);
		if (!code && errno)
			pyx_raise();
		else if (!code && need_tx("registering a class") == 0 && warn_if_main(cls) == 0) {
			code = pmo_type_register(pool->core, s, (size_t)n);
			if (code)
				mm->types_dirty = 1;
			else
				pyx_raise();
		}
	}
	Py_XDECREF(keep);
	Py_DECREF(path);
	if (code && !cache_class(mm, code, cls))
		code = 0;
	return code;
}

/* Import the module of path and walk the qualname (new reference). */
static PyObject *resolve_path(PyObject *path)
{
	Py_ssize_t colon = PyUnicode_FindChar(path, ':', 0, PyUnicode_GET_LENGTH(path), 1);
	if (colon < 0) {
		if (colon == -1)
			PyErr_SetString(PyExc_ValueError, "the class path has no ':'");
		return NULL;
	}
	PyObject *modname = PyUnicode_Substring(path, 0, colon);
	PyObject *qn = PyUnicode_Substring(path, colon + 1, PyUnicode_GET_LENGTH(path));
	PyObject *dot = PyUnicode_FromString(".");
	PyObject *parts = qn && dot ? PyUnicode_Split(qn, dot, -1) : NULL;
	PyObject *obj = modname && parts ? PyImport_Import(modname) : NULL;
	for (Py_ssize_t i = 0; obj && i < PyList_GET_SIZE(parts); i++)
		Py_SETREF(obj, PyObject_GetAttr(obj, PyList_GET_ITEM(parts, i)));
	if (!obj && qn) {
		/* A hint for the usual cause: classes local to a function. */
		PyObject *locals = PyUnicode_FromString("<locals>");
		if (locals && PyUnicode_Contains(qn, locals) == 1) {
			PyObject *et, *ev, *tb;
			PyErr_Fetch(&et, &ev, &tb);
			PyErr_NormalizeException(&et, &ev, &tb);
			PyErr_Format(PyExc_AttributeError,
				     "%S (a class defined inside a function cannot be found "
				     "again: define persistent classes at module level)",
				     ev);
			PyObject *et2, *ev2, *tb2;
			PyErr_Fetch(&et2, &ev2, &tb2);
			PyErr_NormalizeException(&et2, &ev2, &tb2);
			PyException_SetContext(ev2, ev); /* steals ev */
			Py_XDECREF(et);
			Py_XDECREF(tb);
			PyErr_Restore(et2, ev2, tb2);
		}
		Py_XDECREF(locals);
	}
	Py_XDECREF(modname);
	Py_XDECREF(qn);
	Py_XDECREF(dot);
	Py_XDECREF(parts);
	return obj;
}

/* Replace the current exception by a ClassNotFoundError caused by it. */
static void class_not_found(PoolObject *pool, PyObject *path, uint64_t off)
{
	PyObject *et, *ev, *tb;
	PyErr_Fetch(&et, &ev, &tb);
	PyErr_NormalizeException(&et, &ev, &tb);
	if (tb && ev)
		PyException_SetTraceback(ev, tb);
	PyObject *main = PyUnicode_FromString("__main__:");
	int in_main = main && PyUnicode_Tailmatch(path, main, 0, 9, -1) == 1;
	Py_XDECREF(main);
	PyObject *msg = PyUnicode_FromFormat(
		"cannot find class '%U' of the persistent object at offset %llu in pool %R: %S "
		"(%s)",
		path, (unsigned long long)off, pool->filename, ev ? ev : Py_None,
		in_main ? "it was defined in the __main__ of the program that stored it; "
			  "move it to a module and import it from there in both programs"
			: "the part before ':' is the module to import: make it importable "
			  "(on sys.path or PYTHONPATH) before reading the object");
	PyObject *exc = msg ? PyObject_CallOneArg(pyx_ClassNotFoundError, msg) : NULL;
	Py_XDECREF(msg);
	Py_XDECREF(et);
	Py_XDECREF(tb);
	if (!exc) {
		Py_XDECREF(ev);
		return;
	}
	if (ev)
		PyException_SetCause(exc, ev); /* steals ev */
	PyErr_SetObject(pyx_ClassNotFoundError, exc);
	Py_DECREF(exc);
}

/* In a read-only pool, a class that cannot be found stands in as an
 * OpaqueObject subclass (pmemobj/_opaque.py) when the object is an
 * attribute table the core can read by itself; NULL (the import error
 * still set) otherwise. */
static PyObject *opaque_class(PoolObject *pool, PyObject *path, uint64_t off)
{
	const pmo_head *h = pmo_obj_at(pool->core, off, sizeof(pmo_head));
	if (!h || !pmo_is_object(h)) {
		pmo_err_clear();
		return NULL;
	}
	PyObject *et, *ev, *tb;
	PyErr_Fetch(&et, &ev, &tb);
	PyObject *mod = PyImport_ImportModule("pmemobj._opaque");
	PyObject *cls = mod ? PyObject_CallMethod(mod, "opaque_class", "O", path) : NULL;
	Py_XDECREF(mod);
	if (!cls) {
		Py_XDECREF(et);
		Py_XDECREF(ev);
		Py_XDECREF(tb);
		return NULL;
	}
	PyErr_Restore(et, ev, tb);
	return cls;
}

pyx_class_entry *pyx_class_entry_of(PoolObject *pool, uint32_t code, uint64_t off)
{
	MMObject *mm = pyx_mm(pool);
	if (!mm)
		return NULL;
	size_t i = code - PMO_T_FIRST_USER;
	if (code >= PMO_T_FIRST_USER && i < mm->nclasses && mm->classes[i].cls)
		return &mm->classes[i];
	size_t n;
	const char *s = pmo_type_path(pool->core, code, &n);
	if (!s) {
		pmo_err_corrupt(pool->core->path, off,
				"an object has type code %u, which the type table does not name",
				code);
		pyx_raise();
		return NULL;
	}
	PyObject *path = PyUnicode_DecodeUTF8(s, (Py_ssize_t)n, "surrogatepass");
	if (!path)
		return NULL;
	PyObject *cls = resolve_path(path);
	if (!cls && pool->readonly && (cls = opaque_class(pool, path, off)))
		PyErr_Clear();
	if (!cls) {
		class_not_found(pool, path, off);
		Py_DECREF(path);
		return NULL;
	}
	int ok = PyType_Check(cls) &&
		 (PyType_IsSubtype((PyTypeObject *)cls, &PersistentObject_Type) ||
		  PyObject_HasAttrString(cls, "_p_resurrect"));
	if (!ok) {
		PyErr_Format(pyx_ClassNotFoundError,
			     "'%U' names %R, which is not a persistent class (the persistent "
			     "object at offset %llu in pool %R needs one)",
			     path, cls, (unsigned long long)off, pool->filename);
		Py_DECREF(cls);
		Py_DECREF(path);
		return NULL;
	}
	Py_DECREF(path);
	pyx_class_entry *e = cache_class(mm, code, cls);
	Py_DECREF(cls);
	return e;
}

/* --- attribute names ----------------------------------------------------- */

/* Load the whole name table into the cache (once per pool and process, or
 * after a rollback dropped it). */
static int names_load(PoolObject *pool, MMObject *mm)
{
	if (mm->names)
		return 0;
	PyObject *names = PyDict_New(), *list = PyList_New(0);
	if (!names || !list)
		goto fail;
	pyx_lock(pool);
	int rc = 0;
	pmo_pool *p = pool->core;
	int64_t len = p ? pmo_strtab_len(p, p->root->attr_names) : 0;
	if (len < 0) {
		pyx_raise();
		rc = -1;
	}
	for (int64_t i = 0; rc == 0 && i < len; i++) {
		size_t n;
		const char *name = pmo_name_get(p, (uint64_t)i, &n);
		PyObject *s = name ? PyUnicode_DecodeUTF8(name, (Py_ssize_t)n, "surrogatepass")
				   : pyx_raise();
		PyObject *idx = s ? PyLong_FromLongLong(i) : NULL;
		if (idx)
			PyUnicode_InternInPlace(&s);
		if (!idx || PyList_Append(list, s) != 0 || PyDict_SetItem(names, s, idx) != 0)
			rc = -1;
		Py_XDECREF(s);
		Py_XDECREF(idx);
	}
	pyx_unlock(pool);
	if (rc != 0)
		goto fail;
	mm->names = names;
	mm->name_list = list;
	return 0;
fail:
	Py_XDECREF(names);
	Py_XDECREF(list);
	return -1;
}

int64_t pyx_name_lookup(PoolObject *pool, PyObject *name)
{
	/* Every o.a asks this: first the recent names (manager.h). */
	MMObject *mm = (MMObject *)pool->mm;
	size_t h = ((uintptr_t)name >> 4) % (sizeof mm->name_seen / sizeof mm->name_seen[0]);
	if (mm && mm->name_seen[h].name == name && mm->name_seen[h].epoch == pool->epoch)
		return mm->name_seen[h].idx;
	mm = pyx_mm(pool);
	if (!mm || names_load(pool, mm) != 0)
		return -2;
	PyObject *i = PyDict_GetItemWithError(mm->names, name);
	if (!i)
		return PyErr_Occurred() ? -2 : -1;
	int64_t idx = PyLong_AsLongLong(i);
	if (idx >= 0 && PyUnicode_CheckExact(name)) {
		/* (An exact str's release runs no Python code.) */
		Py_XSETREF(mm->name_seen[h].name, Py_NewRef(name));
		mm->name_seen[h].idx = idx;
		mm->name_seen[h].epoch = pool->epoch;
	}
	return idx;
}

int64_t pyx_name_intern(PoolObject *pool, PyObject *name)
{
	int64_t i = pyx_name_lookup(pool, name);
	if (i >= 0)
		return i;
	if (i == -2 || need_tx("interning a name") != 0)
		return -1;
	MMObject *mm = (MMObject *)pool->mm;
	/* The cache holds the whole table: no need to search the pool. */
	PyObject *s = PyUnicode_CheckExact(name) ? Py_NewRef(name) : PyUnicode_FromObject(name);
	if (!s)
		return -1;
	PyObject *keep;
	Py_ssize_t n;
	const char *u;
	if (pyx_str_utf8(s, &u, &n, &keep) == 0) {
		i = pmo_strtab_append(pool->core, &pool->core->root->attr_names, u, (size_t)n);
		if (i < 0)
			pyx_raise();
		else
			mm->names_dirty = 1;
	}
	Py_XDECREF(keep);
	if (i >= 0 && i != PyList_GET_SIZE(mm->name_list)) {
		pmo_err(EIO, "the name table of pool %s changed behind its cache",
			pool->core->path);
		pyx_raise();
		i = -1;
	}
	PyObject *idx = i >= 0 ? PyLong_FromLongLong(i) : NULL;
	if (idx)
		PyUnicode_InternInPlace(&s);
	if (!idx || PyList_Append(mm->name_list, s) != 0 || PyDict_SetItem(mm->names, s, idx) != 0)
		i = -1;
	Py_XDECREF(idx);
	Py_DECREF(s);
	return i;
}

PyObject *pyx_name_of(PoolObject *pool, uint64_t i)
{
	MMObject *mm = pyx_mm(pool);
	if (!mm || names_load(pool, mm) != 0)
		return NULL;
	if (i >= (uint64_t)PyList_GET_SIZE(mm->name_list)) {
		pmo_err_corrupt(pool->core ? pool->core->path : "?", 0,
				"attribute name %llu is not in the name table",
				(unsigned long long)i);
		return pyx_raise();
	}
	return PyList_GET_ITEM(mm->name_list, (Py_ssize_t)i);
}

/* --- end of a transaction ------------------------------------------------ */

/* Forget what a rolled-back transaction appended (called with no
 * exception set, from pyx_mm_tx_ended). */
void pyx_tables_tx_ended(PoolObject *pool, MMObject *mm, int aborted)
{
	if (aborted && mm->names_dirty) {
		/* Reloaded on next use. */
		Py_CLEAR(mm->names);
		Py_CLEAR(mm->name_list);
	}
	if (aborted && mm->types_dirty && pool->core) {
		int64_t len = pmo_strtab_len(pool->core, pool->core->root->type_table);
		if (len < 0) {
			pmo_err_clear();
			len = 0;
		}
		uint64_t limit = PMO_T_FIRST_USER + (uint64_t)len;
		for (size_t i = (size_t)len; i < mm->nclasses; i++) {
			Py_CLEAR(mm->classes[i].cls);
			mm->classes[i].hint = 0;
			mm->classes[i].first_room = 0;
		}
		PyObject *gone = PyList_New(0);
		Py_ssize_t pos = 0;
		PyObject *k, *v;
		while (gone && PyDict_Next(mm->codes, &pos, &k, &v))
			if (PyLong_AsUnsignedLongLong(v) >= limit && PyList_Append(gone, k) != 0)
				Py_CLEAR(gone);
		if (gone) {
			for (Py_ssize_t i = 0; i < PyList_GET_SIZE(gone); i++)
				PyDict_DelItem(mm->codes, PyList_GET_ITEM(gone, i));
			Py_DECREF(gone);
		} else {
			PyDict_Clear(mm->codes); /* out of memory: forget all, safely */
		}
		PyErr_Clear();
	}
	mm->names_dirty = 0;
	mm->types_dirty = 0;
}

/* --- copying the tables (resize and salvage, pmemobj/_repair.py) ---------- */

PyObject *pyx_tables_read(PoolObject *pool, PyObject *unused)
{
	if (pyx_check_open(pool))
		return NULL;
	PyObject *out[2] = {PyList_New(0), PyList_New(0)};
	int rc = out[0] && out[1] ? 0 : -1;
	pyx_lock(pool);
	pmo_pool *p = pool->core;
	pmo_slot tabs[2] = {p->root->type_table, p->root->attr_names};
	for (int t = 0; t < 2 && rc == 0; t++) {
		int64_t len = pmo_strtab_len(p, tabs[t]);
		if (len < 0) {
			pyx_raise();
			rc = -1;
		}
		for (int64_t i = 0; rc == 0 && i < len; i++) {
			pmo_var o;
			PyObject *s = pmo_strtab_get(p, tabs[t], (uint64_t)i, &o) == 0
					      ? PyUnicode_DecodeUTF8(o.data, (Py_ssize_t)o.size,
								     "surrogatepass")
					      : pyx_raise();
			if (!s || PyList_Append(out[t], s) != 0)
				rc = -1;
			Py_XDECREF(s);
		}
	}
	pyx_unlock(pool);
	if (rc == 0)
		return Py_BuildValue("(NN)", out[0], out[1]);
	Py_XDECREF(out[0]);
	Py_XDECREF(out[1]);
	return NULL;
}

/* Append each str of list to a table, requiring entry i to land at index
 * i: the table was empty and the list has no duplicates. */
static int seed_table(PoolObject *pool, PyObject *list, int types)
{
	for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
		PyObject *s = PyList_GET_ITEM(list, i);
		if (!PyUnicode_Check(s)) {
			PyErr_Format(PyExc_TypeError, "_seed_tables takes lists of str, not %s",
				     Py_TYPE(s)->tp_name);
			return -1;
		}
		int64_t at;
		if (types) {
			PyObject *keep;
			Py_ssize_t n;
			const char *u;
			if (pyx_str_utf8(s, &u, &n, &keep) != 0)
				return -1;
			uint32_t code = pmo_type_register(pool->core, u, (size_t)n);
			Py_XDECREF(keep);
			if (!code) {
				pyx_raise();
				return -1;
			}
			((MMObject *)pool->mm)->types_dirty = 1;
			at = (int64_t)code - PMO_T_FIRST_USER;
		} else if ((at = pyx_name_intern(pool, s)) < 0) {
			return -1;
		}
		if (at != i) {
			PyErr_Format(PyExc_ValueError,
				     "_seed_tables: %R would be entry %lld, not %zd (the pool's "
				     "table is not empty, or the list repeats it)",
				     s, (long long)at, i);
			return -1;
		}
	}
	return 0;
}

PyObject *pyx_tables_seed(PoolObject *pool, PyObject *args)
{
	PyObject *paths, *names;
	if (!PyArg_ParseTuple(args, "O!O!:_seed_tables", &PyList_Type, &paths, &PyList_Type,
			      &names))
		return NULL;
	if (!pyx_mm(pool) || pyx_op_begin(pool) != 0)
		return NULL;
	int failed = seed_table(pool, paths, 1) || seed_table(pool, names, 0);
	if (pyx_op_end(pool, failed) != 0)
		return NULL;
	Py_RETURN_NONE;
}
