/*
 * The identity map: offset -> proxy (borrowed), open addressing with
 * linear probing.  A proxy removes itself when it dies, so entries are
 * always live objects.  Deletion uses backward-shift, so there are no
 * tombstones and lookups stay short.
 */
#include "proxy.h"

#include <stdlib.h>

struct idmap {
	uint64_t *keys; /* 0 = empty (no object lives at offset 0) */
	PyObject **vals;
	size_t cap; /* power of two */
	size_t len;
};

static inline size_t slot_of(uint64_t off, size_t cap)
{
	/* Offsets are 16-aligned; mix so neighbours spread. */
	uint64_t h = (off >> 4) * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (cap - 1);
}

int pyx_idmap_init(PoolObject *pool)
{
	struct idmap *m = calloc(1, sizeof *m);
	if (!m)
		return -1;
	m->cap = 64;
	m->keys = calloc(m->cap, sizeof *m->keys);
	m->vals = calloc(m->cap, sizeof *m->vals);
	if (!m->keys || !m->vals) {
		free(m->keys);
		free(m->vals);
		free(m);
		return -1;
	}
	pool->idmap = m;
	return 0;
}

void pyx_idmap_free(PoolObject *pool)
{
	struct idmap *m = pool->idmap;
	if (!m)
		return;
	free(m->keys);
	free(m->vals);
	free(m);
	pool->idmap = NULL;
}

PyObject *pyx_idmap_get(PoolObject *pool, uint64_t off)
{
	struct idmap *m = pool->idmap;
	if (!m || m->len == 0)
		return NULL;
	for (size_t i = slot_of(off, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == off)
			return m->vals[i];
		if (m->keys[i] == 0)
			return NULL;
	}
}

static int grow(struct idmap *m)
{
	size_t cap = m->cap * 2;
	uint64_t *keys = calloc(cap, sizeof *keys);
	PyObject **vals = calloc(cap, sizeof *vals);
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -1;
	}
	for (size_t j = 0; j < m->cap; j++) {
		if (!m->keys[j])
			continue;
		size_t i = slot_of(m->keys[j], cap);
		while (keys[i])
			i = (i + 1) & (cap - 1);
		keys[i] = m->keys[j];
		vals[i] = m->vals[j];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

int pyx_idmap_put(PoolObject *pool, uint64_t off, PyObject *proxy)
{
	struct idmap *m = pool->idmap;
	if (!m)
		return -1;
	if ((m->len + 1) * 2 > m->cap && grow(m) != 0) {
		PyErr_NoMemory();
		return -1;
	}
	size_t i = slot_of(off, m->cap);
	while (m->keys[i] && m->keys[i] != off)
		i = (i + 1) & (m->cap - 1);
	if (!m->keys[i])
		m->len++;
	m->keys[i] = off;
	m->vals[i] = proxy;
	return 0;
}

void pyx_idmap_del(PoolObject *pool, uint64_t off)
{
	struct idmap *m = pool->idmap;
	if (!m || m->len == 0)
		return;
	size_t mask = m->cap - 1, i = slot_of(off, m->cap);
	while (m->keys[i] != off) {
		if (!m->keys[i])
			return;
		i = (i + 1) & mask;
	}
	/* Backward-shift: move later entries of the run into the hole when
	 * their home slot does not lie strictly after the hole. */
	size_t hole = i;
	for (size_t j = (hole + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		size_t home = slot_of(m->keys[j], m->cap);
		int movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
		if (movable) {
			m->keys[hole] = m->keys[j];
			m->vals[hole] = m->vals[j];
			hole = j;
		}
	}
	m->keys[hole] = 0;
	m->vals[hole] = NULL;
	m->len--;
}

int pyx_idmap_offsets(PoolObject *pool, uint64_t **out, size_t *n)
{
	struct idmap *m = pool->idmap;
	*out = NULL;
	*n = 0;
	if (!m || m->len == 0)
		return 0;
	/* PyMem, so tests can make it fail with _testcapi.set_nomemory. */
	uint64_t *o = PyMem_Malloc(m->len * sizeof *o);
	if (!o) {
		PyErr_NoMemory();
		return -1;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			o[(*n)++] = m->keys[i];
	*out = o;
	return 0;
}
