/*
 * Keys of the persistent hash tables (PersistentDict, PersistentSet,
 * PersistentFrozenSet): stable hashing and equality of Python keys against
 * stored slots, shared by pdict.c and pset.c.
 *
 * The hash of a key is a function of its value that every process computes
 * alike (so a table built by one process is found again by the next),
 * and the one stored in the table entry:
 *   None -> PMO_HASH_NONE; bool, int, float, complex -> Python's numeric
 *   hash (float and complex through hash.h, so a NaN hashes to 0 instead of
 *   by identity); str -> keyed SipHash of its UTF-8 (surrogates passed
 *   through, exactly as convert.c stores it); bytes -> keyed SipHash; tuple
 *   and frozenset -> Python's combining rules over these item hashes;
 *   PersistentFrozenSet -> the frozenset rule over its stored item hashes
 *   and PersistentTuple -> the tuple rule over its items (each equals the
 *   value of its content, and hashes like it); other
 *   persistent objects -> by identity, a hash of their offset; values of
 *   persist_via_pickle types -> keyed SipHash of their pickle (equal objects
 *   whose pickles differ are then different keys: a documented limit).
 * Subclasses of str/bytes/int/float/complex that keep the base hash cannot
 * be stored but are looked up as their base value (as dict finds them).
 * Any other hashable object cannot be stored and is never found.
 *
 * Equality has fast paths in C for the common pairs (int, float, bool,
 * None, str and bytes against inline slots and str/bytes objects) and
 * otherwise loads the stored key and asks PyObject_RichCompareBool, which
 * may run Python code; the core's lookup re-validates the table afterwards.
 */
#ifndef PMO_KEYS_H
#define PMO_KEYS_H

#include "proxy.h"
#include "dict.h"

enum pyx_key_kind {
	KEY_OTHER = 0, /* compare through Python */
	KEY_NONE,
	KEY_INT,   /* bool or int fitting int64: ival */
	KEY_FLOAT, /* fval */
	KEY_STR,   /* data, len: UTF-8 */
	KEY_BYTES, /* data, len */
	KEY_PROXY, /* persistent object of this pool: off */
	KEY_STUP   /* a tuple stored in its slot (slot.h): short_slot */
};

/* Flags of a prepared key. */
#define KEYF_UNSTORABLE 1 /* may not be stored (storing raises TypeError) */
#define KEYF_NOMATCH 2    /* cannot equal any stored key: skip the lookup */
#define KEYF_PICKLES 4    /* storing it runs Python code (pickling) */
#define KEYF_CONTENT 8    /* a persistent object that compares by content */

typedef struct pyx_key {
	PoolObject *pool;
	PyObject *obj; /* borrowed */
	int64_t hash;
	int kind;
	int flags;
	int64_t ival;
	double fval;
	uint64_t off;
	const char *data;
	Py_ssize_t len;
	pmo_slot short_slot; /* a short str's, bytes' or STUP tuple's slot, else empty */
	PyObject *tmp;       /* owned: bytes data points into, if any */
} pyx_key;

/* Prepare a key: compute its stable hash and fast-path data.  -1 with
 * TypeError("unhashable type: ...") for an unhashable key, or another
 * error; 0 otherwise (check k->flags).  Release with pyx_key_clear. */
int pyx_key_prepare(pyx_key *k, PoolObject *pool, PyObject *key);
void pyx_key_clear(pyx_key *k);

/* Prepare a key that is about to be stored: as pyx_key_prepare, plus the
 * storability check (TypeError/ValueError as for any stored value). */
int pyx_key_prepare_store(pyx_key *k, PoolObject *pool, PyObject *key);

/* Prepare n keys for storing (an array to free with pyx_keys_free), or
 * NULL with an exception. */
pyx_key *pyx_keys_prepare_store(PoolObject *pool, PyObject *const *keys, Py_ssize_t n);
void pyx_keys_free(pyx_key *ks, Py_ssize_t n);

/* The pmo_dict_eq callback; ctx is a pyx_key. */
int pyx_key_eq(void *ctx, const pmo_slot *stored);

/* Find k in d: entry index, PMO_DICT_MISSING, or PMO_DICT_ERROR with an
 * exception set.  The pool lock must be held. */
int64_t pyx_key_find(pmo_dict *d, pyx_key *k);

/* Store k -> value (value NULL for sets) in d, inside an op: converts
 * what it needs and inserts or (dicts) replaces the value.  0 or -1 with an
 * exception or core error set (pyx_op_end reports it).  A caller whose op
 * is this one store may call pmo_tx_single_store() first (tx.h). */
int pyx_key_store(pmo_dict *d, pyx_key *k, PyObject *value);

/* The stable hash of a PersistentFrozenSet's content. */
int64_t pyx_frozenset_content_hash(ProxyObject *fs);

/* pdictview.c: an iterator over the live entries of a table (kind: 0 keys,
 * 1 values, 2 items), forward or reversed, that raises RuntimeError when
 * the table changes size under it. */
enum { ITER_KEYS = 0, ITER_VALUES = 1, ITER_ITEMS = 2 };
PyObject *pyx_table_iter(ProxyObject *owner, uint32_t type, int kind, int reversed);
/* The table a live iterator made by pyx_table_iter walks (borrowed), or
 * NULL if o is no such iterator or is exhausted. */
ProxyObject *pyx_table_iter_owner(PyObject *o);

/* A damaged table at off: EIO as an exception; returns NULL. */
PyObject *pyx_table_corrupted(PoolObject *pool, uint64_t off);

/* The table behind a proxy of type code `type`, or NULL with an exception
 * (cheap checks only: the hot paths run it on every call). */
static inline pmo_dict *pyx_table_of(ProxyObject *self, uint32_t type)
{
	if (pyx_proxy_check(self))
		return NULL;
	pmo_dict *d = pmo_direct(self->pool->core, self->off);
	if (d->head.type != type || d->used > d->nentries ||
	    d->nentries > pmo_dict_usable(d->size)) {
		pyx_table_corrupted(self->pool, self->off);
		return NULL;
	}
	return d;
}

/* Load the key and value of live entry i of a dict (new refs), with the
 * pool lock held.  RuntimeError if loading the key ran code that changed
 * the table. */
int pyx_load_entry(ProxyObject *owner, uint32_t type, uint64_t i, PyObject **key, PyObject **value);

/* pdict.c, for the views */
typedef ProxyObject DictObject;
Py_ssize_t pyx_dict_len(DictObject *self);
int pyx_dict_contains(DictObject *self, PyObject *key);
/* The value of key (new ref), or NULL: *found = 0 and no exception when
 * the key is missing. */
PyObject *pyx_dict_lookup(DictObject *self, PyObject *key, int *found);

/* pdictview.c: a live view (kind ITER_KEYS, ITER_VALUES or ITER_ITEMS). */
PyObject *pyx_dict_view(DictObject *self, int kind);
int pyx_dictview_ready(void);

/* pset.c: is o a PersistentSet or PersistentFrozenSet? */
int pyx_is_pset(PyObject *o);

/* pset.c: a Python frozenset of a persistent set's items (new ref). */
PyObject *pyx_pset_as_frozenset(PyObject *o);

#endif
