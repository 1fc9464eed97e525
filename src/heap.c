/* Heap objects and reference counting; see heap.h. */
#include "heap.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "error.h"
#include "tx.h"
#include "array.h"
#include "btree.h"
#include "dict.h"
#include "list.h"
#include "object.h"
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
	pmo_object_register();
	pmo_dict_register();
	pmo_array_register();
	pmo_btree_register();
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

const pmo_typeops *pmo_core_ops(const pmo_head *h)
{
	/* PersistentObject attribute tables are core storage whatever their
	 * class: handled here, without the binding, so gc, checks and freeing
	 * of such objects never call into Python. */
	if (h->type >= PMO_T_FIRST_USER)
		return pmo_is_object(h) ? pmo_typeops_of(PMO_T_OBJECT) : NULL;
	return pmo_typeops_of(h->type);
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

uint64_t pmo_block_type(const pmo_pool *p, uint64_t off, size_t *usable)
{
	uint64_t unit = 0, type = 0;
	size_t size = 0;
	switch (pmo_heap_block_at(p, off, &unit)) {
	case PMO_BLOCK_HEADLESS:
		size = unit;
		type = unit >= sizeof(pmo_head) ? PMO_TYPENUM_OBJ : 0;
		break;
	case PMO_BLOCK_HEADER: {
		PMEMoid oid = pmo_oid(p, off);
		size = pmemobj_alloc_usable_size(oid);
		type = pmemobj_type_num(oid);
		break;
	}
	}
	if (usable)
		*usable = size;
	return type;
}

pmo_head *pmo_obj_checked(const pmo_pool *p, uint64_t off, size_t size)
{
	if (pmo_check_off(p, off, size < sizeof(pmo_head) ? sizeof(pmo_head) : size))
		return NULL;
	size_t usable;
	if (pmo_block_type(p, off, &usable) != PMO_TYPENUM_OBJ || usable < size) {
		pmo_err_corrupt(p->path, off, "no object of %zu bytes", size);
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
 * Freeing.  An object whose last reference goes joins the pool's list of
 * dying objects; freeing one drops the references it holds (children
 * whose last reference that was join the list), frees its substructures,
 * then the object.  The list replaces recursion, so a chain of a million
 * nested objects cannot overflow the C stack.
 *
 * A transaction frees at most FREE_BATCH of them; the rest are freed after
 * the outermost transaction commits, FREE_BATCH per transaction of their
 * own (pmo_free_pending), so dropping a huge structure never needs a huge
 * transaction.  If the process dies before that, they are unreachable and
 * the gc at the next open frees them; if the transaction aborts, the list
 * is forgotten with the decrements that filled it.
 *
 * An object about to be freed keeps its count as it is: nothing reads it
 * again, and not writing it saves a snapshot per object.
 */
#define FREE_BATCH 256

static int dying_push(pmo_pool *p, uint64_t off)
{
	if (p->ndying == p->capdying) {
		size_t cap = p->capdying ? p->capdying * 2 : 64;
		uint64_t *items = realloc(p->dying, cap * sizeof *items);
		if (!items)
			return pmo_err(ENOMEM, "out of memory while freeing objects");
		p->dying = items;
		p->capdying = cap;
	}
	p->dying[p->ndying++] = off;
	return 0;
}

static inline int held_by_proxy(pmo_pool *p, uint64_t off)
{
	return p->hook_has_proxy && p->hook_has_proxy(p->hook_ctx, off);
}

/* Drop one reference to the checked object h at off. */
static int unref(pmo_pool *p, pmo_head *h, uint64_t off)
{
	if (h->refcnt == 1 && !held_by_proxy(p, off))
		return dying_push(p, off);
	if (pmo_tx_snapshot(p, &h->refcnt, sizeof h->refcnt) != 0)
		return -1;
	h->refcnt--;
	return 0;
}

static int drop_ref(pmo_visit *v, const pmo_slot *s)
{
	pmo_pool *p = v->ctx;
	if (!pmo_slot_is_ref(*s))
		return 0;
	pmo_head *h = pmo_obj_checked(p, s->val, sizeof(pmo_head));
	if (!h)
		return -1;
	if (h->refcnt == 0) /* only a proxy holds it: it stays */
		return 0;
	return unref(p, h, s->val);
}

static int free_sub(pmo_visit *v, uint64_t off)
{
	return off ? pmo_tx_free(v->ctx, off) : 0;
}

/* Set while free_dying runs in this thread.  A decref made meanwhile (a
 * Python type's _p_deallocate dropping its references, through the
 * hooks) only queues what dies, and the running loop frees it: freeing
 * never recurses through the hooks, however long a chain of such objects
 * is, and the batch limit holds for them too. */
static PMO_THREAD_LOCAL int freeing;

/* Free up to limit dying objects in the current transaction. */
static int free_dying(pmo_pool *p, size_t limit)
{
	if (freeing)
		return 0;
	freeing = 1;
	pmo_visit v = {drop_ref, free_sub, p};
	int rc = 0;
	for (size_t n = 0; n < limit && p->ndying > 0 && rc == 0; n++) {
		uint64_t off = p->dying[--p->ndying];
		/* A Python type may release what it holds itself (its
		 * _p_deallocate): then the core must not drop it again. */
		const pmo_head *h = pmo_head_at(p, off);
		int released = 0;
		if (h->type >= PMO_T_FIRST_USER && !pmo_is_object(h) && p->hook_dealloc) {
			/* The hook must not free the object itself: it is freed
			 * right after (MemoryManager.free checks this). */
			p->freeing = off;
			released = p->hook_dealloc(p->hook_ctx, off);
			p->freeing = 0;
		}
		if (released < 0)
			rc = -1;
		else if (released == 0)
			rc = pmo_traverse(p, off, &v);
		if (rc == 0)
			rc = pmo_tx_free(p, off);
	}
	freeing = 0;
	return rc;
}

int pmo_free_pending(pmo_pool *p)
{
	if (p->draining)
		return 0;
	p->draining = 1;
	int rc = 0;
	while (p->ndying > 0 && rc == 0) {
		if (pmo_tx_begin(p) != 0)
			rc = -1;
		else if (free_dying(p, FREE_BATCH) != 0)
			rc = pmo_tx_fail(p);
		else
			rc = pmo_tx_end(p);
	}
	p->ndying = 0; /* whatever is left is unreachable: gc's to free */
	p->draining = 0;
	return rc;
}

void pmo_forget_pending(pmo_pool *p)
{
	p->ndying = 0;
}

int pmo_decref(pmo_pool *p, uint64_t off)
{
	/* Checked: a damaged pool must give an error, never a wild free. */
	pmo_head *h = pmo_obj_checked(p, off, sizeof(pmo_head));
	if (!h)
		return -1;
	if (h->refcnt == 0)
		return pmo_err_corrupt(p->path, off, "reference count underflow");
	if (unref(p, h, off) != 0)
		return -1;
	return free_dying(p, FREE_BATCH);
}

int pmo_obj_free(pmo_pool *p, uint64_t off)
{
	if (dying_push(p, off) != 0)
		return -1;
	return free_dying(p, FREE_BATCH);
}

int pmo_slot_store(pmo_pool *p, pmo_slot *dst, pmo_slot v)
{
	if (pmo_tx_store_atomic(p, dst, v))
		return 0; /* both inline: no reference to drop */
	pmo_slot old = *dst;
	if (pmo_tx_snapshot(p, dst, sizeof *dst) != 0)
		return -1;
	*dst = v;
	return pmo_slot_decref(p, old);
}

int pmo_traverse(pmo_pool *p, uint64_t off, pmo_visit *v)
{
	const pmo_head *h = pmo_head_at(p, off);
	const pmo_typeops *ops = pmo_core_ops(h);
	if (!ops && h->type >= PMO_T_FIRST_USER) /* the binding's */
		return p->hook_traverse ? p->hook_traverse(p->hook_ctx, off, v) : 0;
	if (!ops)
		return pmo_err_corrupt(p->path, off, "unknown type code %u", h->type);
	return ops->traverse ? ops->traverse(p, off, v) : 0;
}
