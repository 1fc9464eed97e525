/* Keys of the persistent hash tables: stable hashing and equality; see
 * keys.h. */
#include "keys.h"

#include <errno.h>

#include "hash.h"

/* --- hashing ------------------------------------------------------------ */

static inline int64_t keyed(PoolObject *pool, const char *data, Py_ssize_t len)
{
	return pmo_hash_bytes_keyed(pool->core->hash_k0, pool->core->hash_k1, data, (size_t)len);
}

static int64_t str_hash(PoolObject *pool, PyObject *s, int *err)
{
	const char *data;
	Py_ssize_t len;
	PyObject *tmp = NULL;
	if (pyx_str_utf8(s, &data, &len, &tmp) != 0) {
		*err = 1;
		return 0;
	}
	int64_t h = keyed(pool, data, len);
	Py_XDECREF(tmp);
	return h;
}

static int64_t identity_hash(uint64_t off)
{
	return pmo_hash_int64((int64_t)(off >> 4));
}

static int hash_value(PoolObject *pool, PyObject *v, int64_t *h, int *flags);

/* Room for the item hashes of a container key of n items (on_stack when
 * they fit, no allocation for small keys), inside a recursion guard since
 * keys nest; NULL with an exception.  Pair with item_hashes_done. */
#define ITEM_HASHES_ON_STACK 16
static inline int64_t *item_hashes_begin(Py_ssize_t n, int64_t *on_stack)
{
	int64_t *hs = n <= ITEM_HASHES_ON_STACK ? on_stack : PyMem_Malloc((size_t)n * sizeof *hs);
	if (!hs) {
		PyErr_NoMemory();
		return NULL;
	}
	if (Py_EnterRecursiveCall(" while hashing a key")) {
		if (hs != on_stack)
			PyMem_Free(hs);
		return NULL;
	}
	return hs;
}

static inline void item_hashes_done(int64_t *hs, int64_t *on_stack)
{
	Py_LeaveRecursiveCall();
	if (hs != on_stack)
		PyMem_Free(hs);
}

/* Tuple rule over item hashes (also for tuple subclasses, as base). */
static int hash_tuple(PoolObject *pool, PyObject *v, int64_t *h, int *flags)
{
	Py_ssize_t n = PyTuple_GET_SIZE(v);
	int64_t on_stack[ITEM_HASHES_ON_STACK];
	int64_t *hs = item_hashes_begin(n, on_stack);
	if (!hs)
		return -1;
	int rc = 0;
	for (Py_ssize_t i = 0; rc == 0 && i < n; i++)
		rc = hash_value(pool, PyTuple_GET_ITEM(v, i), &hs[i], flags);
	if (rc == 0)
		*h = pmo_hash_tuple(hs, (size_t)n);
	item_hashes_done(hs, on_stack);
	return rc;
}

static int hash_frozenset(PoolObject *pool, PyObject *v, int64_t *h, int *flags)
{
	Py_ssize_t n = PySet_GET_SIZE(v);
	int64_t on_stack[ITEM_HASHES_ON_STACK];
	int64_t *hs = item_hashes_begin(n, on_stack);
	if (!hs)
		return -1;
	Py_ssize_t pos = 0, i = 0;
	PyObject *item;
	Py_hash_t ph;
	int rc = 0;
	while (rc == 0 && i < n && _PySet_NextEntry(v, &pos, &item, &ph))
		rc = hash_value(pool, item, &hs[i++], flags);
	if (rc == 0)
		*h = pmo_hash_frozenset(hs, (size_t)i);
	item_hashes_done(hs, on_stack);
	return rc;
}

/* The stable hash of any key (keys.h lists the rules). */
static int hash_value(PoolObject *pool, PyObject *v, int64_t *h, int *flags)
{
	if (v == Py_None) {
		*h = PMO_HASH_NONE;
		return 0;
	}
	if (PyBool_Check(v)) {
		*h = v == Py_True;
		return 0;
	}
	if (PyLong_CheckExact(v)) {
		int overflow;
		long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
		if (!overflow) {
			if (x == -1 && PyErr_Occurred())
				return -1;
			*h = pmo_hash_int64(x);
			return 0;
		}
		Py_hash_t ph = PyObject_Hash(v); /* == pmo_hash_bigint by design */
		*h = ph;
		return ph == -1 ? -1 : 0;
	}
	if (PyFloat_CheckExact(v)) {
		*h = pmo_hash_double(PyFloat_AS_DOUBLE(v));
		return 0;
	}
	if (PyUnicode_CheckExact(v)) {
		int err = 0;
		*h = str_hash(pool, v, &err);
		return err ? -1 : 0;
	}
	if (PyBytes_CheckExact(v)) {
		*h = keyed(pool, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
		return 0;
	}
	if (PyComplex_CheckExact(v)) {
		Py_complex c = PyComplex_AsCComplex(v);
		*h = pmo_hash_complex(c.real, c.imag);
		return 0;
	}
	if (PyTuple_CheckExact(v))
		return hash_tuple(pool, v, h, flags);
	if (PyFrozenSet_CheckExact(v))
		return hash_frozenset(pool, v, h, flags);
	if (pyx_is_proxy(v)) {
		ProxyObject *o = (ProxyObject *)v;
		if (pyx_proxy_check(o))
			return -1;
		if (o->pool != pool)
			*flags |= KEYF_UNSTORABLE;
		uint32_t code = pmo_ref_type(o->pool->core, o->off);
		/* The hashable persistent containers equal the value of their
		 * content (in any pool), so they hash by content. */
		if (code == PMO_T_PFROZENSET) {
			*h = pyx_frozenset_content_hash(o);
			return *h == PMO_HASH_UNKNOWN ? -1 : 0;
		}
		if (code == PMO_T_PTUPLE) {
			PyObject *t = PySequence_Tuple(v);
			int rc = t ? hash_tuple(pool, t, h, flags) : -1;
			Py_XDECREF(t);
			return rc;
		}
		/* Other persistent objects are keys by identity. */
		if (PyObject_Hash(v) == -1) /* unhashable containers raise here */
			return -1;
		if (o->pool != pool)
			*flags |= KEYF_NOMATCH;
		*h = identity_hash(o->off);
		return 0;
	}
	/* Everything else must be hashable in Python's eyes first. */
	Py_hash_t ph = PyObject_Hash(v);
	if (ph == -1)
		return -1;
	if (pyx_is_pickled_type(pool, v)) {
		PyObject *data = pyx_pickle_dumps(v);
		if (!data)
			return -1;
		*h = keyed(pool, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data));
		Py_DECREF(data);
		*flags |= KEYF_PICKLES;
		return 0;
	}
	/* Objects of persistent types written in Python: keys by identity. */
	uint64_t foff;
	int r = pyx_foreign_check(pool, v, &foff);
	if (r > 0) {
		*h = identity_hash(foff);
		return 0;
	}
	if (r < 0) { /* one of another pool: never stored here */
		PyErr_Clear();
		*flags |= KEYF_UNSTORABLE | KEYF_NOMATCH;
		*h = 0;
		return 0;
	}
	*flags |= KEYF_UNSTORABLE;
	/* Subclasses of the value types that keep their base's hash equal
	 * stored base values (as dict finds them), so hash them as the base. */
	PyTypeObject *t = Py_TYPE(v);
	if (PyLong_Check(v) && t->tp_hash == PyLong_Type.tp_hash) {
		*h = ph;
		return 0;
	}
	if (PyFloat_Check(v) && t->tp_hash == PyFloat_Type.tp_hash) {
		*h = pmo_hash_double(PyFloat_AS_DOUBLE(v));
		return 0;
	}
	if (PyComplex_Check(v) && t->tp_hash == PyComplex_Type.tp_hash) {
		Py_complex c = PyComplex_AsCComplex(v);
		*h = pmo_hash_complex(c.real, c.imag);
		return 0;
	}
	if (PyUnicode_Check(v) && t->tp_hash == PyUnicode_Type.tp_hash) {
		int err = 0;
		*h = str_hash(pool, v, &err);
		return err ? -1 : 0;
	}
	if (PyBytes_Check(v) && t->tp_hash == PyBytes_Type.tp_hash) {
		*h = keyed(pool, PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v));
		return 0;
	}
	if (PyTuple_Check(v) && t->tp_hash == PyTuple_Type.tp_hash)
		return hash_tuple(pool, v, h, flags);
	if (PyFrozenSet_Check(v) && t->tp_hash == PyFrozenSet_Type.tp_hash)
		return hash_frozenset(pool, v, h, flags);
	*flags |= KEYF_NOMATCH;
	*h = 0;
	return 0;
}

int64_t pyx_frozenset_content_hash(ProxyObject *fs)
{
	PoolObject *pool = fs->pool;
	pyx_lock(pool);
	int64_t h = PMO_HASH_UNKNOWN;
	if (!pool->core) {
		pyx_closed();
	} else {
		pmo_dict *d = pmo_dict_get(pool->core, fs->off);
		if (!d)
			pyx_raise();
		else if ((h = pmo_dict_content_hash(pool->core, d)) == PMO_HASH_UNKNOWN)
			pyx_raise();
	}
	pyx_unlock(pool);
	return h;
}

/* --- preparing ----------------------------------------------------------- */

int pyx_key_prepare(pyx_key *k, PoolObject *pool, PyObject *key)
{
	k->pool = pool;
	k->obj = key;
	k->kind = KEY_OTHER;
	k->flags = 0;
	k->tmp = NULL;
	k->short_slot = pmo_slot_make(PMO_TAG_EMPTY, 0);
	if (!pool->core) {
		pyx_closed();
		return -1;
	}
	/* The hot kinds first, with their fast-path data. */
	if (PyLong_CheckExact(key)) {
		int overflow;
		long long x = PyLong_AsLongLongAndOverflow(key, &overflow);
		if (!overflow) {
			if (x == -1 && PyErr_Occurred())
				return -1;
			k->kind = KEY_INT;
			k->ival = x;
			k->hash = pmo_hash_int64(x);
			return 0;
		}
	} else if (PyUnicode_CheckExact(key)) {
		if (pyx_str_utf8(key, &k->data, &k->len, &k->tmp) != 0)
			return -1;
		k->kind = KEY_STR;
		k->hash = keyed(pool, k->data, k->len);
		/* A stored short str equals it when its slot is this one. */
		if ((size_t)k->len <= PMO_SSTR_MAX)
			k->short_slot = pmo_slot_sstr(k->data, (size_t)k->len);
		return 0;
	} else if (PyBytes_CheckExact(key)) {
		k->kind = KEY_BYTES;
		k->data = PyBytes_AS_STRING(key);
		k->len = PyBytes_GET_SIZE(key);
		k->hash = keyed(pool, k->data, k->len);
		if ((size_t)k->len <= PMO_SSTR_MAX)
			k->short_slot = pmo_slot_sbytes(k->data, (size_t)k->len);
		return 0;
	} else if (PyFloat_CheckExact(key)) {
		k->kind = KEY_FLOAT;
		k->fval = PyFloat_AS_DOUBLE(key);
		k->hash = pmo_hash_double(k->fval);
		return 0;
	} else if (key == Py_None) {
		k->kind = KEY_NONE;
		k->hash = PMO_HASH_NONE;
		return 0;
	} else if (PyBool_Check(key)) {
		k->kind = KEY_INT;
		k->ival = key == Py_True;
		k->hash = k->ival;
		return 0;
	}
	if (PyTuple_CheckExact(key) && pyx_short_tuple(key, &k->short_slot)) {
		/* Hashed from its slot as the core hashes a stored one: no
		 * walk of the items through hash_value. */
		k->kind = KEY_STUP;
		k->hash = pmo_slot_hash(pool->core, k->short_slot);
		return 0;
	}
	if (hash_value(pool, key, &k->hash, &k->flags) != 0)
		return -1;
	if (pyx_is_proxy(key) && ((ProxyObject *)key)->pool == pool) {
		k->kind = KEY_PROXY;
		k->off = ((ProxyObject *)key)->off;
		uint32_t code = pmo_ref_type(pool->core, k->off);
		if (code == PMO_T_PFROZENSET || code == PMO_T_PTUPLE)
			k->flags |= KEYF_CONTENT;
	} else if (!(k->flags & (KEYF_UNSTORABLE | KEYF_PICKLES)) && !PyTuple_CheckExact(key) &&
		   !PyFrozenSet_CheckExact(key) && !PyLong_CheckExact(key) &&
		   !PyComplex_CheckExact(key)) {
		/* a Python-implemented persistent object: by identity too */
		uint64_t foff;
		if (pyx_foreign_check(pool, key, &foff) > 0) {
			k->kind = KEY_PROXY;
			k->off = foff;
		}
		PyErr_Clear();
	}
	return 0;
}

int pyx_key_prepare_store(pyx_key *k, PoolObject *pool, PyObject *key)
{
	if (pyx_key_prepare(k, pool, key) != 0)
		return -1;
	if (k->flags & KEYF_UNSTORABLE) {
		if (pyx_check_storable(pool, key) == 0)
			PyErr_Format(PyExc_TypeError, "Don't know how to persist %s",
				     Py_TYPE(key)->tp_name);
		pyx_key_clear(k);
		return -1;
	}
	return 0;
}

void pyx_key_clear(pyx_key *k)
{
	Py_CLEAR(k->tmp);
}

/* --- equality ------------------------------------------------------------ */

/* Is an int64 equal to a double, exactly? */
static inline int int_eq_double(int64_t i, double f)
{
	if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
		return 0;
	int64_t fi = (int64_t)f;
	return (double)fi == f && fi == i;
}

/* Heap value types whose instances never equal a number. */
static inline int non_numeric_value(uint32_t t)
{
	return t == PMO_T_STR || t == PMO_T_BYTES || t == PMO_T_TUPLE || t == PMO_T_FROZENSET;
}

static inline int builtin_value(uint32_t t)
{
	return non_numeric_value(t) || t == PMO_T_LONG || t == PMO_T_COMPLEX;
}

/* Compare through Python: load the stored key and ask ==. */
static int generic_eq(pyx_key *k, pmo_slot s)
{
	PoolObject *pool = k->pool;
	PyObject *o = pyx_from_slot(pool, s);
	if (!o)
		return -1;
	int r = PyObject_RichCompareBool(o, k->obj, Py_EQ);
	Py_DECREF(o);
	if (!pool->core) {
		/* The comparison closed the pool: the core must not go on. */
		if (r >= 0)
			pyx_closed();
		return -1;
	}
	return r;
}

static inline int bytes_eq(const pmo_pool *p, uint64_t off, const char *data, Py_ssize_t len)
{
	/* pmo_ref_type checked the head; the rest of the fixed part and the
	 * data are checked against the end of the pool before they are read. */
	const pmo_head *h = pmo_direct(p, off);
	size_t fixed = pmo_var_fixed(h);
	if (p->size - off < fixed + (uint64_t)len)
		return 0;
	pmo_var o;
	pmo_var_decode(h, &o);
	return o.size == (uint64_t)len && memcmp(o.data, data, (size_t)len) == 0;
}

int pyx_key_eq(void *ctx, const pmo_slot *stored)
{
	pyx_key *k = ctx;
	pmo_slot s = *stored;
	const pmo_pool *p = k->pool->core;
	uint32_t t;
	switch (k->kind) {
	case KEY_INT:
		switch (pmo_slot_tag(s)) {
		case PMO_TAG_INT:
			return pmo_slot_as_int(s) == k->ival;
		case PMO_TAG_TRUE:
			return k->ival == 1;
		case PMO_TAG_FALSE:
			return k->ival == 0;
		case PMO_TAG_FLOAT:
			return int_eq_double(k->ival, pmo_slot_as_float(s));
		case PMO_TAG_REF:
			t = pmo_ref_type(p, s.val);
			/* A big int never fits int64: never equal. */
			if (non_numeric_value(t) || t == PMO_T_LONG)
				return 0;
			break;
		default:
			return 0;
		}
		break;
	case KEY_FLOAT:
		switch (pmo_slot_tag(s)) {
		case PMO_TAG_FLOAT:
			return pmo_slot_as_float(s) == k->fval;
		case PMO_TAG_INT:
			return int_eq_double(pmo_slot_as_int(s), k->fval);
		case PMO_TAG_TRUE:
			return k->fval == 1.0;
		case PMO_TAG_FALSE:
			return k->fval == 0.0;
		case PMO_TAG_SBIG: /* an integral float beyond 2^63: Python decides */
			break;
		case PMO_TAG_REF:
			if (non_numeric_value(pmo_ref_type(p, s.val)))
				return 0;
			break;
		default:
			return 0;
		}
		break;
	case KEY_NONE:
		if (s.tag != PMO_TAG_REF)
			return s.tag == PMO_TAG_NONE;
		if (builtin_value(pmo_ref_type(p, s.val)))
			return 0;
		break;
	case KEY_STR:
	case KEY_BYTES:
		/* A short str key equals only a stored SSTR of the same slot,
		 * a short bytes key only such an SBYT; a longer key's
		 * short_slot is empty and equals neither. */
		t = (uint32_t)pmo_slot_tag(s);
		if (t == PMO_TAG_SSTR || t == PMO_TAG_SBYT)
			return s.tag == k->short_slot.tag && s.val == k->short_slot.val;
		if (s.tag != PMO_TAG_REF)
			return 0;
		t = pmo_ref_type(p, s.val);
		if (t == (k->kind == KEY_STR ? PMO_T_STR : PMO_T_BYTES))
			return bytes_eq(p, s.val, k->data, k->len);
		if (builtin_value(t))
			return 0;
		break;
	case KEY_STUP:
		/* Equal to a stored STUP tuple only if the slots are equal; a
		 * heap tuple (older pools) or PersistentTuple is compared by
		 * Python. */
		if (pmo_slot_tag(s) == PMO_TAG_STUP)
			return s.tag == k->short_slot.tag && s.val == k->short_slot.val;
		if (s.tag != PMO_TAG_REF)
			return 0;
		t = pmo_ref_type(p, s.val);
		if (builtin_value(t) && t != PMO_T_TUPLE)
			return 0;
		break;
	case KEY_PROXY:
		if (s.tag != PMO_TAG_REF)
			/* A PersistentTuple equals the tuple of its items. */
			return (k->flags & KEYF_CONTENT) && pmo_slot_tag(s) == PMO_TAG_STUP
				       ? generic_eq(k, s)
				       : 0;
		if (s.val == k->off)
			return 1;
		/* Persistent objects are keys by identity, except the
		 * hashable containers, which equal values of their content. */
		if (!(k->flags & KEYF_CONTENT))
			return 0;
		break;
	default:
		break;
	}
	return generic_eq(k, s);
}

int64_t pyx_key_find(pmo_dict *d, pyx_key *k)
{
	if (k->flags & KEYF_NOMATCH)
		return PMO_DICT_MISSING;
	int64_t ix = pmo_dict_find(k->pool->core, d, k->hash, pyx_key_eq, k);
	if (ix == PMO_DICT_ERROR && !PyErr_Occurred())
		pyx_raise();
	return ix;
}

int pyx_key_store(pmo_dict *d, pyx_key *k, PyObject *value)
{
	PoolObject *pool = k->pool;
	pmo_slot ks = {0, 0}, vs = pmo_slot_none();
	int have_key = 0;
	/* Conversions that run Python code (pickling) happen before the
	 * lookup, so nothing can change the table between the lookup and
	 * the store that acts on it. */
	if (k->flags & KEYF_PICKLES) {
		if (pyx_to_slot(pool, k->obj, &ks) != 0)
			return -1;
		have_key = 1;
	}
	if (value && pyx_to_slot(pool, value, &vs) != 0)
		return -1;
	if (!pool->core) {
		pyx_closed();
		return -1;
	}
	int64_t ix = pyx_key_find(d, k);
	if (ix == PMO_DICT_ERROR)
		return -1;
	pmo_pool *p = pool->core;
	if (ix >= 0) {
		/* The stored key stays, as in dict. */
		if (have_key && pmo_slot_decref(p, ks) != 0)
			return -1;
		if (!value)
			return 0;
		return pmo_dict_set_value(p, d, (uint64_t)ix, vs);
	}
	if (!have_key && pyx_to_slot(pool, k->obj, &ks) != 0)
		return -1;
	return pmo_dict_add(p, d, k->hash, ks, vs);
}

pyx_key *pyx_keys_prepare_store(PoolObject *pool, PyObject *const *keys, Py_ssize_t n)
{
	pyx_key *ks = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *ks);
	if (!ks) {
		PyErr_NoMemory();
		return NULL;
	}
	for (Py_ssize_t i = 0; i < n; i++)
		if (pyx_key_prepare_store(&ks[i], pool, keys[i]) != 0) {
			pyx_keys_free(ks, i);
			return NULL;
		}
	return ks;
}

void pyx_keys_free(pyx_key *ks, Py_ssize_t n)
{
	if (!ks)
		return;
	for (Py_ssize_t i = 0; i < n; i++)
		pyx_key_clear(&ks[i]);
	PyMem_Free(ks);
}

PyObject *pyx_table_corrupted(PoolObject *pool, uint64_t off)
{
	pmo_err_corrupt(pool->core->path, off, "bad hash table");
	return pyx_raise();
}


int pyx_load_entry(ProxyObject *owner, uint32_t type, uint64_t i, PyObject **key, PyObject **value)
{
	PoolObject *pool = owner->pool;
	*key = *value = NULL;
	pmo_dict *d = pyx_table_of(owner, type);
	if (!d)
		return -1;
	uint64_t table = d->table;
	pmo_dict_entry *e = pmo_dict_entry_at(pool->core, d, i);
	pmo_slot ks = e->key, vs = e->value;
	if (!(*key = pyx_from_slot(pool, ks)))
		return -1;
	/* Loading the key may have run code (unpickling) that changed the
	 * table: then the value slot may name a freed object. */
	d = pyx_table_of(owner, type);
	if (!d || d->table != table || i >= d->nentries ||
	    (e = pmo_dict_entry_at(pool->core, d, i))->key.tag != ks.tag || e->key.val != ks.val ||
	    e->value.tag != vs.tag || e->value.val != vs.val) {
		if (d)
			PyErr_SetString(PyExc_RuntimeError, "dictionary changed during iteration");
		Py_CLEAR(*key);
		return -1;
	}
	if (!(*value = pyx_from_slot(pool, vs))) {
		Py_CLEAR(*key);
		return -1;
	}
	return 0;
}
