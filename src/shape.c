/* The pool's shapes and their volatile copy; see shape.h. */
#include "shape.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "list.h"
#include "types.h"

static uint32_t map_hash(uint32_t parent, uint64_t name, uint32_t mask)
{
	uint64_t k = ((uint64_t)parent << 32 | name) * 0x9E3779B97F4A7C15ull;
	return (uint32_t)(k >> 32) & mask;
}

/* The last name of shape id > 0: the one it adds to its parent. */
static uint32_t last_name(const pmo_shapes *s, uint32_t id)
{
	return s->names[s->first[id] + s->len[id] - 1];
}

/* The child of parent named name in the copy, or 0. */
static uint32_t map_get(const pmo_shapes *s, uint32_t parent, uint64_t name)
{
	if (!s->mapcap)
		return 0;
	uint32_t mask = s->mapcap - 1;
	for (uint32_t h = map_hash(parent, name, mask);; h = (h + 1) & mask) {
		uint32_t c = s->map[h];
		if (!c || (s->parent[c] == parent && last_name(s, c) == name))
			return c;
	}
}

static void map_put(pmo_shapes *s, uint32_t id)
{
	uint32_t mask = s->mapcap - 1;
	uint32_t h = map_hash(s->parent[id], last_name(s, id), mask);
	while (s->map[h])
		h = (h + 1) & mask;
	s->map[h] = id;
}

static int no_memory(void)
{
	return pmo_err(ENOMEM, "out of memory for the shape table");
}

/* Room for shapes 0 .. n-1 and for `names` more names, and a map at most
 * half full; the map is rebuilt from shapes 1 .. s->n - 1 when it is
 * remade. */
static int reserve(pmo_shapes *s, uint32_t n, size_t names, int rebuild)
{
	if (n > s->cap) {
		uint32_t cap = s->cap ? s->cap : 16;
		while (cap < n)
			cap *= 2;
		uint32_t *parent = realloc(s->parent, cap * sizeof *parent);
		if (parent)
			s->parent = parent;
		uint32_t *first = realloc(s->first, cap * sizeof *first);
		if (first)
			s->first = first;
		uint8_t *len = realloc(s->len, cap);
		if (len)
			s->len = len;
		if (!parent || !first || !len)
			return no_memory();
		s->cap = cap;
	}
	if (s->nnames + names > s->capnames) {
		size_t cap = s->capnames ? s->capnames : 64;
		while (cap < s->nnames + names)
			cap *= 2;
		uint32_t *all = realloc(s->names, cap * sizeof *all);
		if (!all)
			return no_memory();
		s->names = all;
		s->capnames = cap;
	}
	if (rebuild || 2 * (uint64_t)n > s->mapcap) {
		uint32_t mapcap = s->mapcap ? s->mapcap : 32;
		while (2 * (uint64_t)n > mapcap)
			mapcap *= 2;
		uint32_t *map = calloc(mapcap, sizeof *map);
		if (!map)
			return no_memory();
		free(s->map);
		s->map = map;
		s->mapcap = mapcap;
		for (uint32_t id = 1; id < s->n; id++)
			map_put(s, id);
	}
	return 0;
}

/* Add shape s->n = parent + name to the copy (reserve made room). */
static uint32_t add(pmo_shapes *s, uint32_t parent, uint32_t name)
{
	uint32_t id = s->n++;
	unsigned len = s->len[parent];
	s->parent[id] = parent;
	s->first[id] = (uint32_t)s->nnames;
	s->len[id] = (uint8_t)(len + 1);
	memcpy(s->names + s->nnames, s->names + s->first[parent], len * sizeof *s->names);
	s->names[s->nnames + len] = name;
	s->nnames += len + 1;
	map_put(s, id);
	return id;
}

/* Load what the list holds beyond the copy, dropping copied entries it no
 * longer holds; the list (NULL while the pool has none) into *list.  0, or
 * -1 with errno EIO (damaged list or entry) or ENOMEM. */
static int sync(pmo_pool *p, pmo_list **list)
{
	if (!p->shapes) {
		p->shapes = calloc(1, sizeof *p->shapes);
		if (!p->shapes || reserve(p->shapes, 1, 0, 0) != 0)
			return no_memory();
		p->shapes->n = 1; /* the empty shape */
		p->shapes->len[0] = 0;
		p->shapes->first[0] = 0;
	}
	pmo_shapes *s = p->shapes;
	pmo_list *l = *list = pmo_root_table(p, p->root->shapes);
	if (!l && errno)
		return -1;
	uint64_t stored = l ? l->len : 0;
	if (stored > PMO_SHAPE_MAX_ID)
		return pmo_err_corrupt(p->path, p->root->shapes.val,
				       "the shape table holds %llu shapes",
				       (unsigned long long)stored);
	if (stored + 1 < s->n) { /* entries a rollback took back */
		s->n = (uint32_t)stored + 1;
		s->nnames = s->first[s->n];
		return reserve(s, s->n, 0, 1);
	}
	if (stored + 1 == s->n)
		return 0;
	int64_t names = pmo_strtab_len(p, p->root->attr_names);
	if (names < 0 || reserve(s, (uint32_t)stored + 1, 0, 0) != 0)
		return -1;
	const pmo_slot *items = pmo_list_items(p, l);
	for (uint32_t id = s->n; id <= stored; id++) {
		pmo_slot e = items[id - 1];
		uint64_t parent = e.val >> 32, name = e.val & 0xFFFFFFFFu;
		if (e.tag != PMO_TAG_INT || parent >= id || name >= (uint64_t)names ||
		    s->len[parent] >= PMO_SHAPE_MAX_LEN || map_get(s, (uint32_t)parent, name))
			return pmo_err_corrupt(p->path, p->root->shapes.val,
					       "shape %u is damaged (tag %llu, value %llu)", id,
					       (unsigned long long)e.tag,
					       (unsigned long long)e.val);
		if (pmo_shape_find(p, (uint32_t)parent, name) >= 0)
			return pmo_err_corrupt(p->path, p->root->shapes.val,
					       "shape %u names %llu twice", id,
					       (unsigned long long)name);
		if (reserve(s, id + 1, s->len[parent] + 1u, 0) != 0)
			return -1;
		add(s, (uint32_t)parent, (uint32_t)name);
	}
	return 0;
}

int pmo_shape_valid(pmo_pool *p, uint32_t id)
{
	if (pmo_shape_loaded(p, id))
		return 1;
	pmo_list *l;
	if (sync(p, &l) != 0)
		return 0;
	if (id < p->shapes->n)
		return 1;
	pmo_err_corrupt(p->path, 0, "no shape %u in a table of %u", id, p->shapes->n - 1);
	return 0;
}

uint32_t pmo_shape_child(pmo_pool *p, uint32_t id, uint64_t name)
{
	pmo_list *l;
	if (sync(p, &l) != 0)
		return 0;
	pmo_shapes *s = p->shapes;
	uint32_t c = map_get(s, id, name);
	if (c)
		return c;
	if (s->len[id] >= PMO_SHAPE_MAX_LEN || s->n > PMO_SHAPE_MAX_ID || name > UINT32_MAX) {
		errno = ENOSPC;
		return 0;
	}
	if (!l) {
		uint64_t off = pmo_list_new(p, 16);
		/* pmo_list_new's reference goes to the root slot. */
		if (!off || pmo_slot_store(p, &p->root->shapes, pmo_slot_ref(off)) != 0)
			return 0;
		l = pmo_direct(p, off);
	}
	if (reserve(s, s->n + 1, s->len[id] + 1u, 0) != 0 ||
	    pmo_list_append(p, l, pmo_slot_int((int64_t)((uint64_t)id << 32 | name))) != 0)
		return 0;
	return add(s, id, (uint32_t)name);
}

void pmo_shapes_free(pmo_pool *p)
{
	if (!p->shapes)
		return;
	free(p->shapes->parent);
	free(p->shapes->first);
	free(p->shapes->len);
	free(p->shapes->names);
	free(p->shapes->map);
	free(p->shapes);
	p->shapes = NULL;
}
