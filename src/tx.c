/* Transactions; see tx.h for the protocol. */
#include "tx.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <libpmemobj.h>

#include "error.h"
#include "heap.h"
#include "iofail.h"
#include "planted.h"
#include "poolset.h"
#include "rangelog.h"
#include "wordlog.h"

/* libpmemobj keeps its transaction state per thread; so do we.  The
 * libpmemobj transaction starts lazily, at the first call that needs it
 * (snapshot, allocation, free): a transaction that changes nothing costs
 * no flush and no fence, and an operation that is a single failure-atomic
 * store can skip it (pmo_tx_store_atomic).  tx_err is the error of a
 * transaction aborted before it started. */
static PMO_THREAD_LOCAL pmo_pool *tx_pool;
static PMO_THREAD_LOCAL int tx_depth;
static PMO_THREAD_LOCAL int tx_started;
static PMO_THREAD_LOCAL int tx_err;
static PMO_THREAD_LOCAL int tx_single; /* pmo_tx_single_store was called */

static unsigned fault_kinds; /* armed kinds; 0: disarmed */
static long fault_left, fault_count;

void pmo_fault_arm(unsigned kinds, long n)
{
	fault_kinds = n > 0 ? kinds : 0;
	fault_left = n;
	fault_count = 0;
}

long pmo_fault_calls(void)
{
	return fault_count;
}

/* Is this call the one to fail? */
static inline int fault(unsigned kind)
{
	if (__builtin_expect(!(fault_kinds & kind), 1))
		return 0;
	fault_count++;
	if (--fault_left)
		return 0;
	fault_kinds = 0; /* once */
	return 1;
}

/* Fail as libpmemobj fails a transactional call: the transaction is
 * aborted, errno ENOMEM. */
static int injected_tx_failure(void)
{
	if (tx_started && pmemobj_tx_stage() == TX_STAGE_WORK)
		pmemobj_tx_abort(ENOMEM);
	errno = ENOMEM;
	return -1;
}

int pmo_tx_depth(void)
{
	return tx_depth;
}

int pmo_tx_fresh(void)
{
	return tx_depth > 0 && !tx_started && !tx_err;
}

int pmo_tx_active(void)
{
	if (tx_depth == 0)
		return 0;
	return tx_started ? pmemobj_tx_stage() == TX_STAGE_WORK : tx_err == 0;
}

/* Start libpmemobj's transaction if this one has not yet; -1 with errno
 * (the transaction is then aborted) if it cannot. */
static int tx_start(void)
{
	if (tx_started)
		return 0;
	pmo_pool *p = tx_pool;
	if (fault(PMO_FAULT_BEGIN)) {
		tx_err = ENOMEM;
		return pmo_err(ENOMEM, "cannot begin a transaction (injected fault)");
	}
	/* libpmemobj's transaction may change what a live word-log
	 * record holds: spend it first (wordlog.h). */
	pmo_wordlog_spend(p);
	if (pmemobj_tx_begin(p->pop, NULL, TX_PARAM_NONE) != 0) {
		int e = errno ? errno : ENOMEM;
		pmo_err_pmdk(e, "cannot begin a transaction");
		pmemobj_tx_end(); /* a failed begin leaves a level to end */
		tx_err = e;
		errno = e;
		return -1;
	}
	tx_started = 1;
	return 0;
}

/* Blocks snapshotted whole in this transaction (pmo_tx_snapshot_block):
 * an open-addressed set of their addresses, each entry tagged with the
 * number of the transaction that put it there, so that the next outermost
 * begin empties the set by taking a new number.  A block the set does not
 * remember is only snapshotted again, which libpmemobj absorbs with a
 * search of the ranges it has logged; the set exists to spare that search
 * (a bulk insert into a B+ tree of 10^5 keys touches thousands of leaves,
 * again and again: with a fixed 1024-entry cache it ran 1.35x slower).  So
 * it grows with the transaction, up to SNAP_MAX entries, and past that or
 * when memory runs short it simply stops remembering.  Per thread, as
 * libpmemobj's transactions are; freed when the thread exits. */
#define SNAP_MIN 1024
#define SNAP_MAX (1u << 22)
struct snap_entry {
	uint64_t tx;
	const void *ptr;
};
static PMO_THREAD_LOCAL uint64_t tx_number; /* > 0 once a transaction began */
static PMO_THREAD_LOCAL struct {
	struct snap_entry *e; /* cap entries; tx 0 never matches */
	size_t cap, used;     /* used: entries of transaction `tx` */
	uint64_t tx;
} snaps;
static pthread_key_t snaps_key;
static pthread_once_t snaps_once = PTHREAD_ONCE_INIT;
static int snaps_keyed;

static void snaps_make_key(void)
{
	snaps_keyed = pthread_key_create(&snaps_key, free) == 0;
}

static size_t snap_slot(const void *ptr, size_t cap)
{
	return (size_t)((((uintptr_t)ptr >> 6) * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static int snap_seen(const void *ptr)
{
	if (snaps.tx != tx_number || snaps.used == 0)
		return 0;
	for (size_t i = snap_slot(ptr, snaps.cap);; i = (i + 1) & (snaps.cap - 1)) {
		if (snaps.e[i].tx != tx_number)
			return 0;
		if (snaps.e[i].ptr == ptr)
			return 1;
	}
}

static void snap_put(struct snap_entry *e, size_t cap, const void *ptr)
{
	size_t i = snap_slot(ptr, cap);
	while (e[i].tx == tx_number)
		i = (i + 1) & (cap - 1);
	e[i].tx = tx_number;
	e[i].ptr = ptr;
}

/* Double the set (or make it), keeping this transaction's entries; -1 if
 * it may not or cannot grow. */
static int snap_grow(void)
{
	size_t cap = snaps.cap ? snaps.cap * 2 : SNAP_MIN;
	pthread_once(&snaps_once, snaps_make_key);
	if (cap > SNAP_MAX || !snaps_keyed)
		return -1;
	struct snap_entry *e = calloc(cap, sizeof *e);
	if (!e || pthread_setspecific(snaps_key, e) != 0) {
		free(e);
		return -1;
	}
	for (size_t i = 0; i < snaps.cap; i++)
		if (snaps.e[i].tx == tx_number)
			snap_put(e, cap, snaps.e[i].ptr);
	free(snaps.e);
	snaps.e = e;
	snaps.cap = cap;
	return 0;
}

static void snap_remember(const void *ptr)
{
	if (snaps.tx != tx_number) {
		snaps.tx = tx_number;
		snaps.used = 0;
	}
	/* At most half full, so that a probe always ends at a free entry. */
	if ((snaps.used + 1) * 2 > snaps.cap && snap_grow() != 0)
		return;
	snap_put(snaps.e, snaps.cap, ptr);
	snaps.used++;
}

int pmo_tx_begin(pmo_pool *p)
{
	if (tx_depth > 0) {
		if (tx_pool != p)
			return pmo_err(EINVAL,
				       "a transaction on another pool (%s) is open in this thread",
				       tx_pool->path);
		if (!pmo_tx_active())
			return pmo_err(ECANCELED, "the enclosing transaction was aborted; end it "
						  "before making more changes");
		/* Inner levels are ours alone: libpmemobj would flatten them
		 * into the outermost anyway, and a level of its own costs a
		 * begin, a commit and an end (~100 ns) per operation. */
		tx_depth++;
		PMO_STAT_ADD(p, tx_nested, 1);
		return 0;
	}
	if (pmo_pool_failed(p))
		return pmo_err_pool_failed(p);
	tx_depth = 1;
	tx_number++;
	tx_pool = p;
	tx_started = 0;
	tx_err = 0;
	tx_single = 0;
	PMO_STAT_ADD(p, tx_begun, 1);
	return 0;
}

void pmo_tx_single_store(void)
{
	tx_single = 1;
}

/* Use up the binding's single-store permission: may this operation write
 * without a log?  Only outside any caller's transaction (depth 1, the
 * operation's own level) and before it logged anything. */
static int take_single(void)
{
	int single = tx_single;
	tx_single = 0;
	return single && tx_depth == 1 && pmo_tx_fresh();
}

int pmo_tx_store_atomic(pmo_pool *p, pmo_slot *dst, pmo_slot v)
{
	if (!take_single())
		return 0;
	pmo_slot old = *dst;
	if (pmo_slot_is_ref(old) || pmo_slot_is_ref(v) || old.tag == PMO_TAG_EMPTY)
		return 0;
	uint64_t *word, value;
	if (old.tag == v.tag) {
		word = &dst->val;
		value = v.val;
	} else if (old.val == v.val) {
		word = &dst->tag;
		value = v.tag;
	} else {
		return 0;
	}
	pmo_wordlog_spend(p);
	*word = value;
	if (!pmo_planted("skip_atomic_persist"))
		pmemobj_persist(p->pop, word, sizeof *word);
	PMO_STAT_ADD(p, atomic_stores, 1);
	return 1;
}

int pmo_tx_publish(pmo_pool *p, void *dst, const void *src, size_t len, const pmo_word *w,
		   unsigned n)
{
	if (!take_single() || (n > 1 && !pmo_wordlog_ready(p)))
		return 0;
	/* The order is the whole guarantee: the new bytes are durable before
	 * the words that make them reachable change. */
	if (n > 1) {
		pmo_wordlog_set(p, dst, src, len, w, n);
		PMO_STAT_ADD(p, published, 1);
		return 1;
	}
	pmo_wordlog_spend(p);
	int planted = pmo_planted("publish_before_persist");
	memcpy(dst, src, len);
	if (!planted)
		pmemobj_persist(p->pop, dst, len);
	struct pobj_action act;
	pmemobj_set_value(p->pop, &act, w->word, w->value);
	/* A single set action libpmemobj applies directly (the store, one
	 * flush, one fence), with no redo log; more words would go through
	 * the lane's redo log, which costs more than the undo-logged
	 * transaction it replaces (bench/c/bench_raw.cc,
	 * RawPublishDictAdd): they take the word log above. */
	if (fault(PMO_FAULT_PUBLISH))
		return pmo_err(ENOMEM, "cannot publish an appended item (injected fault)");
	if (pmemobj_publish(p->pop, &act, 1) != 0)
		return pmo_err_pmdk(errno ? errno : ENOMEM, "cannot publish an appended item");
	if (planted)
		pmemobj_persist(p->pop, dst, len);
	PMO_STAT_ADD(p, published, 1);
	return 1;
}

int pmo_tx_end(pmo_pool *p)
{
	if (tx_depth > 1) {
		/* An inner level: nothing to commit yet.  If the transaction
		 * was aborted, say so to the code that ends this level. */
		tx_depth--;
		if (pmo_tx_active())
			return 0;
		errno = tx_started ? pmemobj_tx_errno() : tx_err;
		if (!errno)
			errno = ECANCELED;
		return -1;
	}
	int err = tx_err;
	/* An I/O error under the pool before the commit: what this
	 * transaction read or wrote may be lost, so it is rolled back. */
	int io_abort = tx_started && pmo_pool_failed(p) && pmemobj_tx_stage() == TX_STAGE_WORK;
	if (tx_started) {
		if (io_abort)
			pmemobj_tx_abort(EIO);
		else if (pmemobj_tx_stage() == TX_STAGE_WORK)
			pmemobj_tx_commit();
		err = pmemobj_tx_end();
	}
	tx_started = 0;
	tx_err = 0;
	tx_single = 0;
	/* After libpmemobj's rollback, the range log's (rangelog.h). */
	pmo_rangelog_end(p, err != 0);
	if (--tx_depth == 0) {
		tx_pool = NULL;
		/* A growable pool's heap may have taken new parts: follow the
		 * bound and give them the pool's mode now, not at the first
		 * reference that needs it. */
		if (p->max_size) {
			int e = errno;
			pmo_pool_grew(p);
			errno = e;
		}
		if (err) {
			PMO_STAT_ADD(p, tx_aborted, 1);
			pmo_forget_pending(p);
		} else {
			PMO_STAT_ADD(p, tx_committed, 1);
		}
		/* The outcome is fixed: report it before any deferred work,
		 * whose transactions of their own (and their failures) must
		 * not be taken for this one's. */
		if (p->hook_tx_end)
			p->hook_tx_end(p->hook_ctx, err != 0);
		if (!err && p->ndying && !pmo_pool_failed(p)) {
			/* Freeing what this transaction left dying.  A failure
			 * leaves those objects unreachable, for gc; it does not
			 * change this transaction's outcome (the binding reports
			 * it as a failure of the deferred free). */
			int e = errno;
			p->deferred_failed = pmo_free_pending(p) != 0;
			errno = e;
		}
	}
	if (err) {
		errno = err;
		if (io_abort)
			pmo_err_pool_failed(p);
		else if (err == ECANCELED && pmo_errormsg()[0] == '\0')
			pmo_err(ECANCELED, "transaction aborted");
		return -1;
	}
	if (pmo_pool_failed(p))
		/* During the commit (or a log-free store): the change stands
		 * in memory, but whether it reached the file is not known. */
		return pmo_err(EIO,
			       "pool %s had an I/O error while this transaction committed (%s): "
			       "the change was made but may not be durable; the pool accepts no "
			       "more changes (close it and open it again)",
			       p->path, strerror(pmo_pool_failed(p)));
	return 0;
}

void pmo_tx_abort(pmo_pool *p, int errnum)
{
	(void)p;
	if (!tx_started) {
		if (tx_depth > 0 && !tx_err)
			tx_err = errnum ? errnum : ECANCELED;
	} else if (pmemobj_tx_stage() == TX_STAGE_WORK) {
		pmemobj_tx_abort(errnum ? errnum : ECANCELED);
	}
}

int pmo_tx_fail(pmo_pool *p)
{
	int e = errno ? errno : EIO;
	pmo_tx_abort(p, e);
	pmo_tx_end(p);
	errno = e;
	return -1;
}

/* libpmemobj aborts the process on a transactional call made outside the
 * work stage.  Python code run in the middle of an operation (pickling a
 * value, comparing keys) can abort the transaction and swallow the
 * exception, and the operation then goes on: refuse its calls here. */
static int not_working(void)
{
	if (pmo_tx_active())
		return tx_start();
	return pmo_err(ECANCELED,
		       tx_depth > 0 ? "the transaction was aborted" : "no transaction is open");
}

int pmo_tx_snapshot(pmo_pool *p, void *ptr, size_t len)
{
	if (not_working())
		return -1;
	if (fault(PMO_FAULT_SNAPSHOT) ? injected_tx_failure()
				      : pmemobj_tx_add_range_direct(ptr, len) != 0)
		return pmo_err_pmdk(errno ? errno : ENOMEM, "cannot snapshot %zu bytes", len);
	PMO_STAT_ADD(p, snapshots, 1);
	PMO_STAT_ADD(p, snapshot_bytes, len);
	return 0;
}

int pmo_tx_snapshot_block(pmo_pool *p, void *ptr, size_t len)
{
	if (snap_seen(ptr))
		return 0;
	if (pmo_tx_snapshot(p, ptr, len) != 0)
		return -1;
	snap_remember(ptr);
	return 0;
}

int pmo_tx_add_fresh(pmo_pool *p, void *ptr, size_t len)
{
	if (not_working())
		return -1;
	if (fault(PMO_FAULT_ADD)
		    ? injected_tx_failure()
		    : pmemobj_tx_xadd_range_direct(ptr, len, POBJ_XADD_NO_SNAPSHOT) != 0)
		return pmo_err_pmdk(errno ? errno : ENOMEM,
				    "cannot add %zu bytes to the transaction", len);
	return 0;
}

static int alloc_failed(const pmo_pool *p, size_t size)
{
	int e = errno ? errno : ENOMEM;
	if (e != ENOMEM)
		return pmo_err_pmdk(e, "cannot allocate %zu bytes", size);
	/* How full: the committed allocations, by a walk of the heap (paid
	 * only here, never on a successful allocation).  The walk cannot see
	 * the failing transaction's own allocations: the message says so. */
	uint64_t used = 0;
	for (PMEMoid o = pmemobj_first(p->pop); !OID_IS_NULL(o); o = pmemobj_next(o))
		used += pmemobj_alloc_usable_size(o);
	if (p->max_size)
		return pmo_err(ENOMEM,
			       "growable pool is full: cannot allocate %zu bytes in %s, whose heap "
			       "ends at %.1f MiB of its max_size %.1f MiB, with committed "
			       "allocations taking %.1f MiB; it could not take another part of "
			       "%.0f MiB in %s (max_size reached, or the disk is full or not "
			       "writable)",
			       size, p->path, (double)p->size / (1 << 20),
			       (double)p->max_size / (1 << 20), (double)used / (1 << 20),
			       (double)PMO_GROW_STEP / (1 << 20), p->parts_dir);
	return pmo_err(ENOMEM,
		       "pool is full: cannot allocate %zu bytes in %s, a pool of %.1f MiB in which "
		       "committed allocations take %.1f MiB (%.0f%%; not counted: what the failed "
		       "transaction allocated, libpmemobj's metadata, free space in runs of other "
		       "sizes); close it and make it larger with "
		       "pmemobj.resize(path, new_size) or the command `pmemobj resize POOL SIZE`",
		       size, p->path, (double)p->size / (1 << 20), (double)used / (1 << 20),
		       p->size ? 100.0 * (double)used / (double)p->size : 0.0);
}

/* The classes (see tx.h).  An object of a class spans at most 64 units
 * (and at most a run), and each carries the 16-byte compact header. */
#define TINY_UNIT 16
#define SMALL_UNIT 64
#define MID_UNIT 4096
#define MAX_UNITS 64
#define ALLOC_HEADER 16
#define CHUNK ((size_t)256 << 10)
/* Small pools only: 32 KiB units in runs of 4 chunks, for objects up to
 * a whole run (31 units after the run's header). */
#define LARGE_UNIT ((size_t)32 << 10)

/* Below this pool size, libpmemobj's big-run classes do not fit. */
#define SMALL_POOL ((uint64_t)64 << 20)

/* The size that picks the classes: a growable pool's max_size, which
 * does not change as it grows, so it has the same classes at every open
 * (objects already in runs of a class that is not registered again stay
 * readable, but pmo_alloc_room would round differently). */
static uint64_t class_size(const pmo_pool *p)
{
	return p->max_size ? p->max_size : p->size;
}

/* Registers a class of runs of at least run_bytes; *units receives how
 * many units libpmemobj made each run hold. */
static int new_class(pmo_pool *p, size_t unit, size_t run_bytes, enum pobj_header_type header,
		     unsigned *id, unsigned *units)
{
	struct pobj_alloc_class_desc d = {
		.unit_size = unit,
		.alignment = 0,
		.units_per_block = (unsigned)(run_bytes / unit),
		.header_type = header,
	};
	if (pmemobj_ctl_set(p->pop, "heap.alloc_class.new.desc", &d) != 0)
		return pmo_err_pmdk(errno ? errno : EINVAL,
				    "cannot register an allocation class of %zu-byte units in %s",
				    unit, p->path);
	*id = d.class_id;
	*units = d.units_per_block;
	return 0;
}

int pmo_alloc_classes_init(pmo_pool *p)
{
	/* One 256 KiB chunk per run for the general classes: the smallest
	 * run, so a class takes no more of a small pool than it uses. */
	unsigned units;
	if (new_class(p, SMALL_UNIT, CHUNK, POBJ_HEADER_COMPACT, &p->cls_small, &units) != 0 ||
	    new_class(p, MID_UNIT, CHUNK, POBJ_HEADER_COMPACT, &p->cls_mid, &units) != 0)
		return -1;
	p->cls_tiny = 0;
	p->cls_large = 0;
	p->large_max = 0;
	memset(p->cls_headless, 0, sizeof p->cls_headless);
	if (class_size(p) >= SMALL_POOL) {
		/* 16-byte units for objects up to 1 KiB: a small object is
		 * rounded up by at most 15 bytes instead of 63 (a 100-byte str
		 * takes 160 bytes, not 192).  A pool under 64 MiB has no room
		 * for it: its heap has about 17 chunks for a fixed 8 MiB file,
		 * and one more run would take the last stretch of 8 free chunks
		 * a large list's items need (measured: 58,831 ints instead of
		 * 131,039 in such a pool). */
		if (new_class(p, TINY_UNIT, CHUNK, POBJ_HEADER_COMPACT, &p->cls_tiny, &units) != 0)
			return -1;
		/* And objects (PMO_TYPENUM_OBJ) of up to PMO_HEADLESS_MAX
		 * bytes without the 16-byte allocation header: a class per
		 * 16-byte size, since a header-less block is one unit.  The
		 * header's type number is implied by the run (heap.h,
		 * pmo_block_type); its size is the run's unit.  A PersistentObject
		 * of 3 attributes and a spare slot takes 80 bytes instead
		 * of 96.  Each size used claims a chunk: up to 4 MiB in all,
		 * which a pool of this size can spare. */
		for (size_t k = 1; k < sizeof p->cls_headless / sizeof *p->cls_headless; k++)
			if (new_class(p, 16 * k, CHUNK, POBJ_HEADER_NONE, &p->cls_headless[k],
				      &units) != 0)
				return -1;
		return 0;
	}
	/* libpmemobj rounds a run up to whole chunks: asking for 3 chunks'
	 * worth of units and the run header gives 4 chunks, 31 units. */
	if (new_class(p, LARGE_UNIT, 3 * CHUNK, POBJ_HEADER_COMPACT, &p->cls_large, &units) != 0)
		return -1;
	p->large_max = LARGE_UNIT * (units < MAX_UNITS ? units : MAX_UNITS);
	return 0;
}

/* libpmemobj serves requests below this from run classes whose runs span
 * up to 19 chunks, more than a small pool has in one piece; from here up
 * it hands out whole chunks (measured on PMDK 1.12: 2096625 bytes). */
#define HUGE_MIN ((size_t)2096625)

size_t pmo_alloc_room(const pmo_pool *p, size_t size)
{
	if (class_size(p) < SMALL_POOL && size + ALLOC_HEADER > p->large_max && size < HUGE_MIN)
		return HUGE_MIN;
	return size;
}

uint64_t pmo_alloc_flags(const pmo_pool *p, size_t size, uint64_t type_num, int zero)
{
	uint64_t f = zero ? POBJ_XALLOC_ZERO : 0;
	/* Only objects go header-less: the run then says what the block is. */
	if (type_num == PMO_TYPENUM_OBJ && size <= PMO_HEADLESS_MAX &&
	    p->cls_headless[(size + 15) / 16])
		return f | POBJ_CLASS_ID(p->cls_headless[(size + 15) / 16]);
	if (p->cls_tiny && size + ALLOC_HEADER <= TINY_UNIT * MAX_UNITS)
		return f | POBJ_CLASS_ID(p->cls_tiny);
	if (size + ALLOC_HEADER <= SMALL_UNIT * MAX_UNITS)
		return f | POBJ_CLASS_ID(p->cls_small);
	if (size + ALLOC_HEADER <= MID_UNIT * MAX_UNITS)
		return f | POBJ_CLASS_ID(p->cls_mid);
	if (size + ALLOC_HEADER <= p->large_max)
		return f | POBJ_CLASS_ID(p->cls_large);
	return f; /* libpmemobj's own classes, or whole chunks */
}

static int size_ok(pmo_pool *p, size_t size)
{
	if (size == 0 || size > PMEMOBJ_MAX_ALLOC_SIZE) {
		pmo_err(size ? ENOMEM : EINVAL, "cannot allocate %zu bytes (limit %llu)", size,
			(unsigned long long)PMEMOBJ_MAX_ALLOC_SIZE);
		pmo_tx_abort(p, errno);
		return 0;
	}
	return 1;
}

uint64_t pmo_tx_alloc(pmo_pool *p, size_t size, uint64_t type_num, int zero)
{
	if (not_working() || !size_ok(p, size))
		return 0;
	/* In a small pool, between the classes' reach and libpmemobj's
	 * whole-chunk allocations, ask for the latter: 8 chunks, where its
	 * own class would claim a run of up to 19 that the pool does not
	 * have.  A larger pool has room for those runs, which pack several
	 * such objects each. */
	size = pmo_alloc_room(p, size);
	PMEMoid oid = fault(PMO_FAULT_ALLOC)
			      ? (injected_tx_failure(), OID_NULL)
			      : pmemobj_tx_xalloc(size, type_num,
						  pmo_alloc_flags(p, size, type_num, zero));
	if (OID_IS_NULL(oid)) {
		alloc_failed(p, size);
		return 0;
	}
	PMO_STAT_ADD(p, allocs, 1);
	PMO_STAT_ADD(p, alloc_bytes, size);
	return oid.off;
}

uint64_t pmo_tx_realloc(pmo_pool *p, uint64_t off, size_t size, uint64_t type_num, int zero)
{
	/* libpmemobj's transactional realloc takes no class: a new block of
	 * ours, the contents copied into it (fresh memory of this
	 * transaction: no snapshot), the old block freed. */
	uint64_t n = pmo_tx_alloc(p, size, type_num, zero);
	if (!n || !off)
		return n;
	size_t old = pmemobj_alloc_usable_size(pmo_oid(p, off));
	memcpy(pmo_direct(p, n), pmo_direct(p, off), old < size ? old : size);
	if (pmo_tx_free(p, off) != 0)
		return 0;
	return n;
}

int pmo_tx_free(pmo_pool *p, uint64_t off)
{
	if (not_working())
		return -1;
	if (fault(PMO_FAULT_FREE) ? injected_tx_failure() : pmemobj_tx_free(pmo_oid(p, off)) != 0)
		return pmo_err_pmdk(errno ? errno : EINVAL, "cannot free object at %llu",
				    (unsigned long long)off);
	PMO_STAT_ADD(p, frees, 1);
	return 0;
}
