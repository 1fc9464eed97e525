/* Heap objects and reference counting; see heap.h. */
#include "heap.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "error.h"
#include "tx.h"
#include "list.h"
#include "value.h"

static const pmo_typeops *builtin_ops[PMO_T_BUILTIN_MAX + 1];

void pmo_register_type(uint32_t code, const pmo_typeops *ops)
{
	if (code <= PMO_T_BUILTIN_MAX)
		builtin_ops[code] = ops;
}

static void register_builtin_types(void)
{
	pmo_value_register();
	pmo_list_register();
}

void pmo_types_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_builtin_types);
}

const pmo_typeops *pmo_typeops_of(uint32_t code)
{
	return code <= PMO_T_BUILTIN_MAX ? builtin_ops[code] : NULL;
}

const char *pmo_type_name(uint32_t code)
{
	const pmo_typeops *ops = pmo_typeops_of(code);
	return ops ? ops->name : NULL;
}

uint64_t pmo_obj_new(pmo_pool *p, uint32_t type, size_t size, int zero)
{
	uint64_t off = pmo_tx_alloc(p, size, PMO_TYPENUM_OBJ, zero);
	if (!off)
		return 0;
	/* Fresh memory of this transaction: no snapshot needed. */
	pmo_head *h = pmo_head_at(p, off);
	h->refcnt = 1;
	h->type = type;
	h->flags = 0;
	return off;
}

uint64_t pmo_raw_new(pmo_pool *p, size_t size, int zero)
{
	return pmo_tx_alloc(p, size, PMO_TYPENUM_RAW, zero);
}

pmo_head *pmo_obj_checked(const pmo_pool *p, uint64_t off, size_t size)
{
	if (pmo_check_off(p, off, size < sizeof(pmo_head) ? sizeof(pmo_head) : size))
		return NULL;
	PMEMoid oid = pmo_oid(p, off);
	if (pmemobj_type_num(oid) != PMO_TYPENUM_OBJ ||
	    pmemobj_alloc_usable_size(oid) < size) {
		pmo_err(EIO, "corrupted pool %s: no object of %zu bytes at %llu",
			p->path, size, (unsigned long long)off);
		return NULL;
	}
	return pmo_head_at(p, off);
}

int pmo_incref(pmo_pool *p, uint64_t off)
{
	pmo_head *h = pmo_head_at(p, off);
	if (pmo_tx_snapshot(p, &h->refcnt, sizeof h->refcnt) != 0)
		return -1;
	h->refcnt++;
	return 0;
}

/*
 * Freeing: a work list of objects whose count reached zero.  Each is
 * traversed; every reference it holds is dropped (children reaching zero
 * join the list), its substructures are freed, then the object itself.
 */
typedef struct worklist {
	uint64_t *items;
	size_t len, cap;
	pmo_pool *pool;
	int failed;
} worklist;

static int worklist_push(worklist *w, uint64_t off)
{
	if (w->len == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		uint64_t *items = realloc(w->items, cap * sizeof *items);
		if (!items)
			return pmo_err(ENOMEM, "out of memory while freeing objects");
		w->items = items;
		w->cap = cap;
	}
	w->items[w->len++] = off;
	return 0;
}

static inline int held_by_proxy(pmo_pool *p, uint64_t off)
{
	return p->hook_has_proxy && p->hook_has_proxy(p->hook_ctx, off);
}

static int drop_ref(pmo_visit *v, const pmo_slot *s)
{
	worklist *w = v->ctx;
	if (!pmo_slot_is_ref(*s))
		return 0;
	pmo_head *h = pmo_obj_checked(w->pool, s->val, sizeof(pmo_head));
	if (!h)
		return -1;
	if (h->refcnt == 0)   /* already garbage (shared by a dying cycle) */
		return 0;
	if (pmo_tx_snapshot(w->pool, &h->refcnt, sizeof h->refcnt) != 0)
		return -1;
	if (--h->refcnt == 0 && !held_by_proxy(w->pool, s->val))
		return worklist_push(w, s->val);
	return 0;
}

static int free_sub(pmo_visit *v, uint64_t off)
{
	worklist *w = v->ctx;
	return off ? pmo_tx_free(w->pool, off) : 0;
}

/* Free every object on the list and whatever dies with them. */
static int worklist_drain(worklist *w)
{
	pmo_visit v = {drop_ref, free_sub, w};
	int rc = 0;
	while (w->len > 0 && rc == 0) {
		uint64_t off = w->items[--w->len];
		rc = pmo_traverse(w->pool, off, &v);
		if (rc == 0 && w->pool->hook_dealloc &&
		    pmo_head_at(w->pool, off)->type >= PMO_T_FIRST_USER)
			rc = w->pool->hook_dealloc(w->pool->hook_ctx, off);
		if (rc == 0)
			rc = pmo_tx_free(w->pool, off);
	}
	free(w->items);
	return rc;
}

int pmo_decref(pmo_pool *p, uint64_t off)
{
	/* Checked: a damaged pool must give an error, never a wild free. */
	pmo_head *h = pmo_obj_checked(p, off, sizeof(pmo_head));
	if (!h)
		return -1;
	if (h->refcnt == 0)
		return pmo_err(EIO, "corrupted pool %s: reference count underflow at %llu",
			       p->path, (unsigned long long)off);
	if (pmo_tx_snapshot(p, &h->refcnt, sizeof h->refcnt) != 0)
		return -1;
	if (--h->refcnt > 0 || held_by_proxy(p, off))
		return 0;
	worklist w = {NULL, 0, 0, p, 0};
	if (worklist_push(&w, off) != 0)
		return -1;
	return worklist_drain(&w);
}

int pmo_obj_free(pmo_pool *p, uint64_t off)
{
	worklist w = {NULL, 0, 0, p, 0};
	if (worklist_push(&w, off) != 0)
		return -1;
	return worklist_drain(&w);
}

int pmo_slot_store(pmo_pool *p, pmo_slot *dst, pmo_slot v)
{
	pmo_slot old = *dst;
	if (pmo_tx_snapshot(p, dst, sizeof *dst) != 0)
		return -1;
	*dst = v;
	return pmo_slot_decref(p, old);
}

int pmo_traverse(pmo_pool *p, uint64_t off, pmo_visit *v)
{
	uint32_t type = pmo_head_at(p, off)->type;
	if (type >= PMO_T_FIRST_USER) {
		if (!p->hook_traverse)
			return 0;
		return p->hook_traverse(p->hook_ctx, off, v);
	}
	const pmo_typeops *ops = pmo_typeops_of(type);
	if (!ops)
		return pmo_err(EIO, "corrupted pool %s: unknown type code %u at %llu",
			       p->path, type, (unsigned long long)off);
	return ops->traverse ? ops->traverse(p, off, v) : 0;
}
