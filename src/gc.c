/* Mark and sweep; see gc.h. */
#include "gc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "heap.h"
#include "heapwalk.h"
#include "types.h"
#include "tx.h"

#define GC_FREE_BATCH 512

typedef struct offvec {
	uint64_t *v;
	size_t len, cap;
} offvec;

static int offvec_push(offvec *a, uint64_t off)
{
	if (a->len == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		uint64_t *v = realloc(a->v, cap * sizeof *v);
		if (!v)
			return pmo_err(ENOMEM, "gc: out of memory");
		a->v = v;
		a->cap = cap;
	}
	a->v[a->len++] = off;
	return 0;
}

/* How marking treats a built-in type code (marker.kinds). */
enum { KIND_UNKNOWN = 0, KIND_LEAF, KIND_CONTAINER };

/* References a traversal finds wait this many references in a ring,
 * their headers prefetched, before they are marked: marking reads each
 * target's header, a cache miss per object in a heap larger than the
 * cache, and the ring lets those misses overlap. */
#define MARK_AHEAD 16

typedef struct marker {
	pmo_pool *pool;
	uint8_t *bits;    /* marked heap objects */
	uint8_t *subbits; /* marked substructures */
	offvec stack;
	pmo_gc_result *res;
	uint64_t n_user_types; /* entries of the type table */
	/* the built-in codes' kinds, so that marking an object costs no
	 * call to look its type up */
	uint8_t kinds[PMO_T_BUILTIN_MAX + 1];
	uint64_t ahead[MARK_AHEAD]; /* 0: an empty place */
	unsigned ahead_pos;
	/* pmo_validate only: check each object before following it. */
	pmo_invalid_report check;
	void *check_ctx;
	uint64_t invalid;
	/* pmo_reachable_bytes only: everything newly marked, in order. */
	offvec *marked;
	/* pmo_check only: the target of every reference followed. */
	offvec *edges;
} marker;

static inline int note_marked(marker *m, uint64_t off)
{
	return m->marked ? offvec_push(m->marked, off) : 0;
}

static inline int is_marked(const uint8_t *bits, uint64_t off)
{
	uint64_t i = off >> 4;
	return bits[i >> 3] & (1u << (i & 7));
}

static inline void set_mark(uint8_t *bits, uint64_t off)
{
	uint64_t i = off >> 4;
	bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* The kind of the object at off: a built-in type code's, a container
 * for a user code the type table names, KIND_UNKNOWN for anything else
 * (damage).  (Asking libpmemobj for the type number costs ~400
 * instructions; marking touches every live object, and a bad reference
 * can only mark an offset the sweep never sees.) */
static inline int kind_of(const marker *m, uint64_t off)
{
	uint32_t type = pmo_head_at(m->pool, off)->type;
	if (type >= PMO_T_FIRST_USER)
		return type - PMO_T_FIRST_USER < m->n_user_types ? KIND_CONTAINER : KIND_UNKNOWN;
	return type <= PMO_T_BUILTIN_MAX ? m->kinds[type] : KIND_UNKNOWN;
}

static void report_invalid(marker *m, uint64_t off)
{
	m->invalid++;
	m->check(m->check_ctx, off, pmo_head_at(m->pool, off)->type, pmo_errormsg());
	pmo_err_clear();
}

/* pmo_validate: the type's own invariants; -1 (reported) if broken. */
static int check_object(marker *m, uint64_t off)
{
	const pmo_typeops *ops = pmo_core_ops(pmo_head_at(m->pool, off));
	if (ops && ops->validate && ops->validate(m->pool, off) != 0) {
		report_invalid(m, off);
		return -1;
	}
	return 0;
}

/* Mark one referenced object and queue it for traversal. */
static int mark_ref(marker *m, uint64_t off)
{
	if (!pmo_off_valid(m->pool, off, sizeof(pmo_head))) {
		m->res->bad_refs++;
		return 0;
	}
	if (is_marked(m->bits, off))
		return 0;
	int kind = kind_of(m, off);
	if (kind == KIND_UNKNOWN) {
		m->res->bad_refs++;
		return 0;
	}
	set_mark(m->bits, off);
	if (note_marked(m, off) != 0)
		return -1;
	/* Leaves (str, bytes, numbers) hold nothing: no need to visit them,
	 * but pmo_validate checks them here. */
	if (kind == KIND_LEAF) {
		if (m->check)
			check_object(m, off);
		return 0;
	}
	return offvec_push(&m->stack, off);
}

/* A reference from a slot (each slot of each object is visited once):
 * its header prefetched, it is marked MARK_AHEAD references later. */
static int mark_slot_ref(marker *m, uint64_t off)
{
	if (m->edges && offvec_push(m->edges, off) != 0)
		return -1;
	if (!pmo_off_valid(m->pool, off, sizeof(pmo_head))) {
		m->res->bad_refs++;
		return 0;
	}
	if (is_marked(m->bits, off))
		return 0;
	__builtin_prefetch(pmo_head_at(m->pool, off));
	uint64_t due = m->ahead[m->ahead_pos];
	m->ahead[m->ahead_pos] = off;
	m->ahead_pos = (m->ahead_pos + 1) % MARK_AHEAD;
	return due ? mark_ref(m, due) : 0;
}

/* Mark what waits in the ring; 1 if anything did, -1 on failure. */
static int mark_waiting(marker *m)
{
	int any = 0;
	for (unsigned i = 0; i < MARK_AHEAD; i++) {
		uint64_t off = m->ahead[i];
		if (!off)
			continue;
		m->ahead[i] = 0;
		any = 1;
		if (mark_ref(m, off) != 0)
			return -1;
	}
	return any;
}

static int mark_slot(pmo_visit *v, const pmo_slot *s)
{
	return pmo_slot_is_ref(*s) ? mark_slot_ref(v->ctx, s->val) : 0;
}

/* Mark a block that holds no object of its own (a container's item
 * array, the range log's block): it is live, nothing in it is traversed. */
static int mark_block(marker *m, uint64_t off)
{
	if (off && pmo_off_valid(m->pool, off, 1) && !is_marked(m->subbits, off)) {
		set_mark(m->subbits, off);
		return note_marked(m, off);
	}
	return 0;
}

static int mark_sub(pmo_visit *v, uint64_t off)
{
	return mark_block(v->ctx, off);
}

static int drain(marker *m);

static int mark_all(marker *m, const uint64_t *extra, size_t n_extra)
{
	struct pmo_root *r = m->pool->root;
	if (pmo_slot_is_ref(r->root) && mark_slot_ref(m, r->root.val))
		return -1;
	if (pmo_slot_is_ref(r->type_table) && mark_slot_ref(m, r->type_table.val))
		return -1;
	if (pmo_slot_is_ref(r->attr_names) && mark_slot_ref(m, r->attr_names.val))
		return -1;
	if (pmo_slot_is_ref(r->shapes) && mark_slot_ref(m, r->shapes.val))
		return -1;
	/* The blocks of the range log (rangelog.h) and the word log
	 * (wordlog.h): the pool's own, held by no object. */
	if (mark_block(m, r->range_log.off) || mark_block(m, r->word_log.off))
		return -1;
	for (size_t i = 0; i < n_extra; i++)
		if (mark_ref(m, extra[i]))
			return -1;
	return drain(m);
}

/* Traverse everything queued, and what it queues in turn. */
static int drain(marker *m)
{
	pmo_visit v = {mark_slot, mark_sub, m};
	int waiting;
	do {
		while (m->stack.len > 0) {
			uint64_t off = m->stack.v[--m->stack.len];
			if (m->check) {
				if (check_object(m, off) != 0)
					continue;
				if (pmo_traverse(m->pool, off, &v) != 0)
					report_invalid(m, off);
			} else if (pmo_traverse(m->pool, off, &v) != 0) {
				return -1;
			}
		}
	} while ((waiting = mark_waiting(m)) > 0);
	return waiting;
}

/* A marker with empty bitmaps (a bit per 16 bytes of pool) and the
 * optional parts unset; -1 if the bitmaps cannot be had.  Free it with
 * marker_free whatever the outcome. */
static int marker_init(marker *m, pmo_pool *p, pmo_gc_result *res)
{
	int64_t n_types = pmo_strtab_len(p, p->root->type_table);
	pmo_pool_grew(p); /* the bitmaps cover all the heap has taken */
	marker init = {p,   calloc(p->size / 128 + 1, 1),       calloc(p->size / 128 + 1, 1), {0},
		       res, n_types > 0 ? (uint64_t)n_types : 0};
	*m = init;
	for (uint32_t code = 0; code <= PMO_T_BUILTIN_MAX; code++) {
		const pmo_typeops *ops = pmo_typeops_of(code);
		m->kinds[code] = !ops ? KIND_UNKNOWN : ops->traverse ? KIND_CONTAINER : KIND_LEAF;
	}
	if (!m->bits || !m->subbits)
		return pmo_err(ENOMEM, "out of memory for the mark bitmap of pool %s", p->path);
	return 0;
}

static void marker_free(marker *m)
{
	free(m->bits);
	free(m->subbits);
	free(m->stack.v);
}

/* Mark with every object checked (and, if edges, every reference
 * recorded); marker_free afterwards whatever the outcome. */
static int validating_mark(marker *m, pmo_pool *p, pmo_gc_result *res, const uint64_t *extra_roots,
			   size_t n_extra, pmo_invalid_report report, void *report_ctx,
			   offvec *edges)
{
	if (marker_init(m, p, res) != 0)
		return -1;
	m->check = report;
	m->check_ctx = report_ctx;
	m->edges = edges;
	return mark_all(m, extra_roots, n_extra);
}

/* pmo_reachable_bytes: what each root marked first, by offset. */
typedef struct owned {
	uint64_t off;
	size_t root;
} owned;

static int cmp_owned(const void *a, const void *b)
{
	uint64_t x = ((const owned *)a)->off, y = ((const owned *)b)->off;
	return x < y ? -1 : x > y;
}

typedef struct sizer {
	const owned *v;
	size_t len, next;
	uint64_t *bytes;
} sizer;

/* Blocks come in address order, so do the sorted marks: one merge.  A
 * mark that is no block's start (a damaged reference) counts nothing. */
static int size_block(void *ctx, const pmo_block *b)
{
	sizer *z = ctx;
	while (z->next < z->len && z->v[z->next].off < b->off)
		z->next++;
	for (; z->next < z->len && z->v[z->next].off == b->off; z->next++)
		z->bytes[z->v[z->next].root] += b->size;
	return 0;
}

int pmo_reachable_bytes(pmo_pool *p, const uint64_t *offs, size_t n, uint64_t *bytes)
{
	pmo_gc_result res = {0};
	marker m;
	offvec marked = {0};
	owned *own = NULL;
	int rc = marker_init(&m, p, &res);
	m.marked = &marked;
	/* Mark from each root in turn; what it marks first is its own. */
	size_t *ends = rc == 0 ? malloc((n ? n : 1) * sizeof *ends) : NULL;
	if (rc == 0 && !ends)
		rc = pmo_err(ENOMEM, "out of memory measuring reachable bytes");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		bytes[i] = 0;
		if (offs[i] && (mark_ref(&m, offs[i]) != 0 || drain(&m) != 0))
			rc = -1;
		ends[i] = marked.len;
	}
	if (rc == 0 && marked.len) {
		own = malloc(marked.len * sizeof *own);
		if (!own)
			rc = pmo_err(ENOMEM, "out of memory measuring reachable bytes");
		for (size_t k = 0, i = 0; rc == 0 && k < marked.len; k++) {
			while (k >= ends[i])
				i++;
			own[k] = (owned){marked.v[k], i};
		}
		if (rc == 0)
			qsort(own, marked.len, sizeof *own, cmp_owned);
	}
	/* Then one walk of the heap gives every marked block's size. */
	if (rc == 0 && marked.len) {
		sizer z = {own, marked.len, 0, bytes};
		rc = pmo_heap_walk(p, size_block, &z);
	}
	marker_free(&m);
	free(marked.v);
	free(own);
	free(ends);
	return rc;
}

int pmo_validate(pmo_pool *p, const uint64_t *extra_roots, size_t n_extra,
		 pmo_invalid_report report, void *report_ctx, uint64_t *n_invalid)
{
	pmo_gc_result res = {0};
	marker m;
	int rc = validating_mark(&m, p, &res, extra_roots, n_extra, report, report_ctx, NULL);
	*n_invalid = m.invalid + res.bad_refs;
	marker_free(&m);
	return rc;
}

static int cmp_off(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Grow a counts array to hold type. */
static int grow_counts(uint64_t **counts, size_t *n_counts, uint32_t type)
{
	size_t n = (size_t)type + 64;
	uint64_t *c = realloc(*counts, n * sizeof *c);
	if (!c)
		return pmo_err(ENOMEM, "out of memory counting objects by type");
	memset(c + *n_counts, 0, (n - *n_counts) * sizeof *c);
	*counts = c;
	*n_counts = n;
	return 0;
}

/* One more live object of type in a counts array grown on demand (once
 * per sweep, or so: this runs for every live object). */
static inline int count_type(uint64_t **counts, size_t *n_counts, uint32_t type)
{
	if (__builtin_expect(type >= *n_counts, 0) && grow_counts(counts, n_counts, type) != 0)
		return -1;
	(*counts)[type]++;
	return 0;
}

/* A live object whose count disagrees with the refs references found. */
static void report_count(marker *m, uint64_t off, uint64_t refs)
{
	const pmo_head *h = pmo_head_at(m->pool, off);
	char msg[112];
	snprintf(msg, sizeof msg, "reference count %llu, but %llu references reach it%s",
		 (unsigned long long)h->refcnt, (unsigned long long)refs,
		 h->refcnt > refs ? " (it would never be freed)" : "");
	m->invalid++;
	m->check(m->check_ctx, off, h->type, msg);
}

/* How many times off occurs in the sorted edges. */
static uint64_t count_of(const offvec *edges, uint64_t off)
{
	size_t lo = 0, hi = edges->len;
	while (lo < hi) { /* first index with v >= off */
		size_t mid = lo + (hi - lo) / 2;
		if (edges->v[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint64_t n = 0;
	while (lo + n < edges->len && edges->v[lo + n] == off)
		n++;
	return n;
}

/* pmo_check's walk of the heap. */
typedef struct checker {
	marker *m;
	pmo_check_result *out;
	const offvec *edges;
	offvec too_high;   /* live objects whose count may be too high */
	uint64_t root_off; /* libpmemobj's root object: ours, not a heap object */
	int failed;        /* out of memory (errno and message set) */
} checker;

static int check_block(void *ctx, const pmo_block *b)
{
	checker *c = ctx;
	marker *m = c->m;
	pmo_check_result *out = c->out;
	out->examined++;
	out->used_bytes += b->size;
	if (b->off == c->root_off || is_marked(m->subbits, b->off))
		return 0;
	if (!is_marked(m->bits, b->off)) {
		if (pmo_block_typenum(b) == PMO_TYPENUM_OBJ)
			out->unreachable++;
		return 0;
	}
	const pmo_head *h = pmo_head_at(m->pool, b->off);
	out->live++;
	if (count_type(&out->type_counts, &out->n_type_counts, h->type) != 0)
		goto failed;
	/* Its count against the references that reach it.  Too low: it
	 * would be freed while still referred to.  Too high is only wrong if
	 * no garbage (which may refer to it) is left: judged after the walk. */
	uint64_t refs = count_of(c->edges, b->off);
	if (h->refcnt < refs)
		report_count(m, b->off, refs);
	else if (h->refcnt > refs && offvec_push(&c->too_high, b->off) != 0)
		goto failed;
	return 0;
failed:
	c->failed = 1;
	return 1;
}

int pmo_check(pmo_pool *p, const uint64_t *extra_roots, size_t n_extra, pmo_invalid_report report,
	      void *report_ctx, pmo_check_result *out)
{
	memset(out, 0, sizeof *out);
	pmo_gc_result res = {0};
	marker m;
	offvec edges = {0};
	int rc = validating_mark(&m, p, &res, extra_roots, n_extra, report, report_ctx, &edges);
	if (rc == 0 && edges.len)
		qsort(edges.v, edges.len, sizeof *edges.v, cmp_off);
	checker c = {&m, out, &edges, {0}, pmemobj_root(p->pop, 0).off, 0};
	if (rc == 0) {
		int walked = pmo_heap_walk(p, check_block, &c);
		if (c.failed) {
			rc = -1;
		} else if (walked != 0) {
			/* Damaged heap metadata: reported, and the walk went no
			 * further, so its counts are partial and no count can be
			 * judged too high. */
			m.invalid++;
			report(report_ctx, 0, 0, pmo_errormsg());
			pmo_err_clear();
		} else if (out->unreachable == 0) {
			for (size_t i = 0; i < c.too_high.len; i++)
				report_count(&m, c.too_high.v[i],
					     count_of(&edges, c.too_high.v[i]));
		}
	}
	out->invalid = m.invalid + res.bad_refs;
	marker_free(&m);
	free(edges.v);
	free(c.too_high.v);
	if (rc != 0) {
		free(out->type_counts);
		out->type_counts = NULL;
		out->n_type_counts = 0;
	}
	return rc;
}

/* While freeing garbage: drop the references it holds on live objects
 * (garbage-to-garbage references die with their targets). */
typedef struct sweeper {
	pmo_pool *pool;
	const uint8_t *bits;
} sweeper;

static int unref_live(pmo_visit *v, const pmo_slot *s)
{
	sweeper *sw = v->ctx;
	if (!pmo_slot_is_ref(*s) || !pmo_off_valid(sw->pool, s->val, sizeof(pmo_head)) ||
	    !is_marked(sw->bits, s->val))
		return 0;
	pmo_head *h = pmo_head_at(sw->pool, s->val);
	if (h->refcnt == 0)
		return 0;
	if (pmo_tx_snapshot(sw->pool, &h->refcnt, sizeof h->refcnt) != 0)
		return -1;
	h->refcnt--;
	return 0;
}

static int ignore_sub(pmo_visit *v, uint64_t off)
{
	return 0; /* unmarked substructures are freed on their own */
}

static int free_batch(pmo_pool *p, const uint8_t *bits, const uint64_t *offs, size_t n, int objects)
{
	sweeper sw = {p, bits};
	pmo_visit v = {unref_live, ignore_sub, &sw};
	if (pmo_tx_begin(p) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (objects && pmo_traverse(p, offs[i], &v) != 0)
			return pmo_tx_fail(p);
		if (pmo_tx_free(p, offs[i]) != 0)
			return pmo_tx_fail(p);
	}
	return pmo_tx_end(p);
}

/* pmo_gc's sweep: counts the live, collects the garbage. */
typedef struct reaper {
	pmo_pool *pool;
	const marker *m;
	pmo_gc_result *res;
	uint64_t root_off;    /* libpmemobj's root object: ours, not a heap object */
	pmo_gc_report report; /* may be NULL */
	void *report_ctx;
	offvec garbage, garbage_subs;
	int failed; /* out of memory (errno and message set) */
} reaper;

static int reap_block(void *ctx, const pmo_block *b)
{
	reaper *r = ctx;
	pmo_gc_result *res = r->res;
	uint64_t off = b->off;
	res->examined++;
	if (off == r->root_off)
		return 0;
	if (is_marked(r->m->bits, off)) {
		res->live++;
		if (count_type(&res->type_counts, &res->n_type_counts,
			       pmo_head_at(r->pool, off)->type) != 0)
			goto failed;
		return 0;
	}
	if (is_marked(r->m->subbits, off)) {
		res->subs_live++;
		return 0;
	}
	if (pmo_block_typenum(b) == PMO_TYPENUM_OBJ) {
		const pmo_head *h = pmo_head_at(r->pool, off);
		if (h->refcnt == 0)
			res->orphans++;
		else
			res->cycles++;
		if (r->report)
			r->report(r->report_ctx, off, h->type, h->refcnt);
		if (offvec_push(&r->garbage, off) != 0)
			goto failed;
	} else {
		/* PMO_TYPENUM_RAW, or memory a Python type allocated with a
		 * number of its own (MemoryManager.alloc): every such block is
		 * owned by an object whose traversal reports it, so an
		 * unmarked one belongs to garbage. */
		res->subs_freed++;
		if (offvec_push(&r->garbage_subs, off) != 0)
			goto failed;
	}
	return 0;
failed:
	r->failed = 1;
	return 1;
}

int pmo_gc(pmo_pool *p, const uint64_t *extra_roots, size_t n_extra, pmo_gc_result *res,
	   pmo_gc_report report, void *report_ctx)
{
	uint64_t t0 = pmo_now_ns();
	memset(res, 0, sizeof *res);
	if (pmo_tx_depth() > 0)
		return pmo_err(EBUSY, "gc cannot run inside a transaction");

	marker m;
	reaper r = {p, &m, res, pmemobj_root(p->pop, 0).off, report, report_ctx, {0}, {0}, 0};
	const offvec *garbage = &r.garbage, *garbage_subs = &r.garbage_subs;
	int rc = -1;
	if (marker_init(&m, p, res) != 0)
		goto out;
	if (mark_all(&m, extra_roots, n_extra) != 0)
		goto out;
	/* The sweep: one walk of the heap, collecting what is unmarked.
	 * Nothing is freed until the walk is over, so damage it finds
	 * (EIO) leaves the pool as it was. */
	if (pmo_heap_walk(p, reap_block, &r) != 0)
		goto out;

	/* Objects first: unreffing what they hold reads their substructures. */
	for (size_t i = 0; i < garbage->len; i += GC_FREE_BATCH) {
		size_t n = garbage->len - i < GC_FREE_BATCH ? garbage->len - i : GC_FREE_BATCH;
		if (free_batch(p, m.bits, garbage->v + i, n, 1) != 0)
			goto out;
	}
	for (size_t i = 0; i < garbage_subs->len; i += GC_FREE_BATCH) {
		size_t n = garbage_subs->len - i < GC_FREE_BATCH ? garbage_subs->len - i
								 : GC_FREE_BATCH;
		if (free_batch(p, m.bits, garbage_subs->v + i, n, 0) != 0)
			goto out;
	}
	rc = 0;
out:
	res->ns = pmo_now_ns() - t0;
	PMO_STAT_ADD(p, gc_runs, 1);
	PMO_STAT_ADD(p, gc_examined, res->examined);
	PMO_STAT_ADD(p, gc_freed, res->orphans + res->cycles + res->subs_freed);
	PMO_STAT_ADD(p, gc_ns, res->ns);
	marker_free(&m);
	free(r.garbage.v);
	free(r.garbage_subs.v);
	if (rc != 0) {
		int e = errno;
		free(res->type_counts);
		res->type_counts = NULL;
		res->n_type_counts = 0;
		errno = e;
	}
	return rc;
}
