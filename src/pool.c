/* Pool lifecycle; see pool.h. */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "iofail.h"
#include "preflight.h"
#include "heap.h"
#include "pmdk_layout.h"
#include "poolset.h"
#include "rangelog.h"
#include "shape.h"
#include "tx.h"
#include "wordlog.h"

/* In the .c file: pool.h is C++'s too (bench/c). */
_Static_assert(sizeof(struct pmo_root) == 136 && offsetof(struct pmo_root, range_log) == 88 &&
		       offsetof(struct pmo_root, word_log) == 104 &&
		       offsetof(struct pmo_root, shapes) == 120,
	       "pmo_root layout is persistent");

/* Where libpmemobj (1.x) keeps what we check before opening a file: the
 * pool signature at offset 0 and the layout name at 4096.  Reading them
 * ourselves lets us refuse a foreign pool without pmemobj_open, which
 * would replay that pool's logs and so modify it. */
#define PMDK_SIGNATURE "PMEMOBJ"
#define PMDK_LAYOUT_OFFSET 4096

uint64_t pmo_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int pmo_check_off_slow(const pmo_pool *p, uint64_t off, size_t len)
{
	if (!pmo_off_valid(p, off, len))
		return pmo_err_corrupt(p->path, off, "invalid reference");
	return 0;
}

int pmo_root_block_check(const pmo_pool *p, PMEMoid oid, size_t min, const char *what,
			 size_t *usable)
{
	if (oid.pool_uuid_lo != p->uuid_lo)
		return pmo_err_corrupt(p->path, oid.off, "bad %s (not of this pool)", what);
	if (pmo_check_off(p, oid.off, min) != 0)
		return -1;
	*usable = pmemobj_alloc_usable_size(oid);
	if (*usable < min)
		return pmo_err_corrupt(p->path, oid.off, "bad %s (a block of %zu bytes)", what,
				       *usable);
	return 0;
}

/* Identify what kind of file path is, before handing it to libpmemobj:
 * a pool file, or (set != NULL) a growable pool's set, whose first part
 * gets the checks of a pool file.  The caller frees *set, also when this
 * fails. */
static int precheck_file(const char *path, pmo_set *set)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return pmo_err(errno, "cannot open pool %s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return pmo_err(EISDIR, "cannot open pool %s: is a directory", path);
	if (!S_ISREG(st.st_mode))
		return pmo_err(EINVAL, "cannot open pool %s: not a regular file", path);
	char *first = NULL;
	if (set && pmo_is_pool_set(path)) {
		if (pmo_set_read(path, set) != 0)
			return -1;
		if (set->unfinished) {
			/* Writable opens only (read-only ones open a copy
			 * without it): libpmemobj would refuse the pool. */
			char *pp = pmo_set_part_path(set, set->nparts);
			int gone = pp && unlink(pp) == 0;
			free(pp);
			if (!gone) {
				int e = errno ? errno : ENOMEM;
				return pmo_err(e,
					       "cannot open pool %s: cannot remove the unfinished "
					       "last part an interrupted extension left: %s",
					       path, strerror(e));
			}
		}
		/* libpmemobj creates the parts it adds; a directory it cannot
		 * write gives an error at the allocation that needs a part,
		 * so say it now.  (access() asks as this process would.) */
		if (access(set->dir, W_OK | X_OK) != 0) {
			int e = errno;
			return pmo_err(e,
				       "cannot open growable pool %s: its parts directory %s "
				       "is not writable (%s), so the pool could not grow",
				       path, set->dir, strerror(e));
		}
		if (!(first = pmo_set_part_path(set, 0)))
			return -1;
	} else if ((size_t)st.st_size < PMO_MIN_POOL_SIZE) {
		return pmo_err(EINVAL,
			       "%s is not a pmemobj pool (%lld bytes, smaller than any pool)", path,
			       (long long)st.st_size);
	}
	int fd = open(first ? first : path, O_RDONLY | O_CLOEXEC);
	int e = errno;
	free(first);
	if (fd < 0)
		return pmo_err(e, "cannot open pool %s: %s", path, strerror(e));
	char sig[8] = {0}, layout[PMEMOBJ_MAX_LAYOUT + 1] = {0};
	int ok = pread(fd, sig, sizeof sig, 0) == (ssize_t)sizeof sig &&
		 pread(fd, layout, PMEMOBJ_MAX_LAYOUT, PMDK_LAYOUT_OFFSET) == PMEMOBJ_MAX_LAYOUT;
	close(fd);
	if (!ok || memcmp(sig, PMDK_SIGNATURE, sizeof PMDK_SIGNATURE) != 0)
		return pmo_err(EINVAL, "%s is not a pmemobj pool (no libpmemobj header)", path);
	if (strcmp(layout, PMO_LAYOUT) != 0) {
		/* Print the foreign layout only if it looks like text. */
		for (char *c = layout; *c; c++)
			if (*c < 0x20 || *c > 0x7e) {
				strcpy(layout, "?");
				break;
			}
		return pmo_err(
			EINVAL,
			"%s is a libpmemobj pool of layout '%s', not a pmemobj pool (layout '%s')",
			path, layout, PMO_LAYOUT);
	}
	return 0;
}

static void pool_free(pmo_pool *p)
{
	pmo_iofail_unwatch(p);
	pmo_shapes_free(p);
	free(p->parts_dir);
	free(p->dying);
	free(p->path);
	free(p);
}

/* The heap's end as libpmemobj keeps it (poolset.h).  libpmemobj checked
 * at open that it lies within what it mapped, and only raises it after
 * mapping a new part. */
static uint64_t heap_end(const pmo_pool *p)
{
	uint64_t heap_offset, heap_size;
	memcpy(&heap_offset, p->base + PMDK_DSC_HEAP_OFFSET, sizeof heap_offset);
	memcpy(&heap_size, p->base + PMDK_DSC_HEAP_SIZE, sizeof heap_size);
	return heap_offset + heap_size;
}

/* Transparent huge pages where the file's memory can have them (tmpfs
 * whose shmem_enabled is advise, DAX): NumPy scans a large array with
 * fewer TLB misses, as it asks for its own arrays.  Elsewhere the kernel
 * keeps the advice and ignores it, or refuses it: harmless either way.
 * Over [from, p->size): a growing pool's new parts are new mappings. */
static void advise_huge(pmo_pool *p, uint64_t from)
{
	from &= ~(uint64_t)4095;
	if (p->size > from)
		(void)madvise(p->base + from, p->size - from, MADV_HUGEPAGE);
}

int pmo_pool_grew(const pmo_pool *cp)
{
	pmo_pool *p = (pmo_pool *)cp;
	if (!p->max_size)
		return 0;
	uint64_t end = heap_end(p);
	if (end == p->size)
		return 0;
	uint64_t old = p->size;
	p->size = end;
	advise_huge(p, old);
	pmo_set s = {.dir = p->parts_dir};
	p->nparts = pmo_set_fix_modes(&s, p->nparts);
	return 1;
}

uint64_t pmo_pool_file_bytes(const pmo_pool *p)
{
	if (!p->max_size) {
		struct stat st;
		return stat(p->path, &st) == 0 ? (uint64_t)st.st_size : p->size;
	}
	uint64_t total = 0;
	pmo_set s = {.dir = p->parts_dir};
	for (unsigned i = 0;; i++) {
		char *pp = pmo_set_part_path(&s, i);
		struct stat st;
		int ok = pp && stat(pp, &st) == 0;
		free(pp);
		if (!ok)
			break;
		total += (uint64_t)st.st_size;
	}
	pmo_err_clear();
	return total;
}

static pmo_pool *pool_wrap(PMEMobjpool *pop, const char *path, const pmo_set *set)
{
	pmo_types_init();
	pmo_pool *p = calloc(1, sizeof *p);
	if (!p || !(p->path = strdup(path))) {
		free(p);
		pmo_err(ENOMEM, "out of memory");
		return NULL;
	}
	p->pop = pop;
	p->base = (char *)pop;
	if (set) {
		/* Every open sets the step (libpmemobj keeps it per open). */
		ssize_t step = (ssize_t)PMO_GROW_STEP;
		if (!(p->parts_dir = strdup(set->dir))) {
			pool_free(p);
			pmo_err(ENOMEM, "out of memory");
			return NULL;
		}
		if (pmemobj_ctl_set(pop, "heap.size.granularity", &step) != 0) {
			pmo_err_pmdk(errno ? errno : EINVAL, "cannot set the growth step of %s",
				     path);
			pool_free(p);
			return NULL;
		}
		p->max_size = set->max_size;
		p->nparts = pmo_set_fix_modes(set, 1);
		p->size = heap_end(p);
	} else {
		struct stat st;
		p->size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	}
	advise_huge(p, 0);
	/* The chunks start after the heap header, the first zone header and
	 * its chunk headers; the descriptor's heap offset was checked by
	 * preflight. */
	uint64_t heap_offset;
	memcpy(&heap_offset, (char *)pop + PMDK_DSC_HEAP_OFFSET, sizeof heap_offset);
	p->data_start = heap_offset + sizeof(struct pmdk_heap_header) + PMDK_ZONE_META;
	/* Any address in the pool gives its uuid (the root may not exist yet). */
	p->uuid_lo = pmemobj_oid(pop).pool_uuid_lo;
	if (pmo_alloc_classes_init(p) != 0) {
		pool_free(p);
		return NULL;
	}
	pmo_iofail_watch(p);
	return p;
}


/* Verify our root struct: magic, version and size. */
static int check_root(pmo_pool *p)
{
	size_t have = pmemobj_root_size(p->pop);
	if (have == 0)
		return pmo_err(EINVAL,
			       "%s is an incompletely created pmemobj pool (no root); delete it "
			       "and create it again",
			       p->path);
	if (have < sizeof(struct pmo_root))
		return pmo_err(EINVAL,
			       "%s: root object too small (%zu bytes): damaged or foreign pool",
			       p->path, have);
	PMEMoid r = pmemobj_root(p->pop, sizeof(struct pmo_root));
	p->root = pmemobj_direct(r);
	if (memcmp(p->root->magic, PMO_MAGIC, sizeof p->root->magic) != 0) {
		/* libpmemobj allocates the root before our transaction fills
		 * it: a crash in between leaves it zeroed. */
		static const char zeros[sizeof p->root->magic];
		if (memcmp(p->root->magic, zeros, sizeof zeros) == 0)
			return pmo_err(EINVAL,
				       "%s is an incompletely created pmemobj pool (the process "
				       "creating it "
				       "stopped); delete it and create it again",
				       p->path);
		return pmo_err(EINVAL, "%s: bad magic in root: damaged or foreign pool", p->path);
	}
	if (p->root->format_version < PMO_FORMAT_VERSION_MIN ||
	    p->root->format_version > PMO_FORMAT_VERSION)
		return pmo_err(EINVAL,
			       "%s has pool format version %u; this build of pmemobj reads "
			       "versions %u to %u%s",
			       p->path, p->root->format_version, PMO_FORMAT_VERSION_MIN,
			       PMO_FORMAT_VERSION,
			       p->root->format_version > PMO_FORMAT_VERSION
				       ? " (the pool was written by a newer pmemobj)"
				       : "");
	p->hash_k0 = p->root->hash_key[0];
	p->hash_k1 = p->root->hash_key[1];
	return 0;
}

/* Create a pool file of size bytes, or with max_size a growable pool. */
static pmo_pool *pool_create(const char *path, size_t size, uint64_t max_size, mode_t mode)
{
	uint64_t t0 = pmo_now_ns();
	if (size < PMO_MIN_POOL_SIZE || (max_size && max_size < PMO_MIN_POOL_SIZE)) {
		pmo_err(EINVAL, "%s %llu is smaller than the minimum pool size %zu",
			max_size ? "max_size" : "pool_size",
			(unsigned long long)(max_size ? max_size : size), PMO_MIN_POOL_SIZE);
		return NULL;
	}
	if (access(path, F_OK) == 0) {
		pmo_err(EEXIST, "cannot create pool %s: file exists", path);
		return NULL;
	}
	/* libpmemobj sets the mode it is given, umask or not; apply the
	 * process umask as open(2) would.  (umask can only be read by
	 * setting it: put it straight back.) */
	mode_t um = umask(0);
	umask(um);
	pmo_set set = {0};
	if (max_size) {
		/* The set names the parts directory the open will expect. */
		char *dir = pmo_set_parts_dir(path);
		int rc = dir ? 0 : -1;
		if (rc == 0 && access(dir, F_OK) == 0)
			rc = pmo_err(EEXIST, "cannot create pool %s: %s exists", path, dir);
		if (rc == 0)
			rc = pmo_set_write(path, dir, max_size, mode & ~um & 07777);
		free(dir);
		if (rc != 0)
			return NULL;
		size = 0; /* libpmemobj sizes the first part itself */
	}
	PMEMobjpool *pop = pmemobj_create(path, PMO_LAYOUT, size, mode & ~um & 07777);
	if (!pop) {
		int e = errno ? errno : EINVAL;
		pmo_err_pmdk(e, "cannot create pool %s", path);
		if (max_size) {
			pmo_set_remove(path);
			pmo_set_free(&set);
		}
		errno = e;
		return NULL;
	}
	if (max_size) {
		/* Now the first part exists: list it. */
		pmo_set_free(&set);
		if (pmo_set_read(path, &set) != 0) {
			int e = errno;
			pmemobj_close(pop);
			pmo_set_remove(path);
			errno = e;
			return NULL;
		}
	}
	pmo_pool *p = pool_wrap(pop, path, max_size ? &set : NULL);
	pmo_set_free(&set);
	if (!p)
		goto fail_close;

	uint64_t key[2];
	if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key) {
		pmo_err(errno, "cannot read random bytes for the hash key");
		goto fail_close;
	}
	if (pmo_tx_begin(p) != 0)
		goto fail_close;
	PMEMoid r = pmemobj_root(pop, sizeof(struct pmo_root));
	if (OID_IS_NULL(r)) {
		pmo_err_pmdk(ENOMEM, "cannot allocate the root of %s", path);
		pmo_tx_fail(p);
		goto fail_close;
	}
	struct pmo_root *root = pmemobj_direct(r);
	if (pmo_tx_snapshot(p, root, sizeof *root) != 0) {
		pmo_tx_fail(p);
		goto fail_close;
	}
	memcpy(root->magic, PMO_MAGIC, sizeof root->magic);
	root->format_version = PMO_FORMAT_VERSION;
	root->clean = 0;
	root->hash_key[0] = key[0];
	root->hash_key[1] = key[1];
	root->root = pmo_slot_none();
	root->type_table = pmo_slot_none();
	if (pmo_tx_end(p) != 0)
		goto fail_close;
	if (check_root(p) != 0)
		goto fail_close;
	pmo_wordlog_reserve(p);
	p->stats = (pmo_stats){0};
	p->stats.open_ns = pmo_now_ns() - t0;
	return p;

fail_close : {
	/* Leave no half-made pool behind. */
	int e = errno;
	pmemobj_close(pop);
	if (max_size)
		pmo_set_remove(path);
	else
		unlink(path);
	if (p)
		pool_free(p);
	errno = e;
	return NULL;
}
}

pmo_pool *pmo_pool_create(const char *path, size_t size, mode_t mode)
{
	return pool_create(path, size, 0, mode);
}

pmo_pool *pmo_pool_create_grow(const char *path, uint64_t max_size, mode_t mode)
{
	if (max_size == 0) {
		pmo_err(EINVAL, "max_size 0 is smaller than the minimum pool size %zu",
			PMO_MIN_POOL_SIZE);
		return NULL;
	}
	return pool_create(path, PMO_MIN_POOL_SIZE, max_size, mode);
}

pmo_pool *pmo_pool_open(const char *path)
{
	uint64_t t0 = pmo_now_ns();
	pmo_set set = {0};
	if (precheck_file(path, &set) != 0 || pmo_preflight(path) != 0) {
		pmo_set_free(&set);
		return NULL;
	}
	PMEMobjpool *pop = pmemobj_open(path, PMO_LAYOUT);
	if (!pop) {
		int e = errno ? errno : EINVAL;
		pmo_set_free(&set);
		if (e == EWOULDBLOCK || e == EAGAIN)
			pmo_err(EBUSY,
				"cannot open pool %s: it is already open (in this or another "
				"process)",
				path);
		else
			pmo_err_pmdk(e, "cannot open pool %s", path);
		return NULL;
	}
	pmo_pool *p = pool_wrap(pop, path, set.dir ? &set : NULL);
	pmo_set_free(&set);
	if (!p || check_root(p) != 0) {
		int e = errno;
		pmemobj_close(pop);
		if (p)
			pool_free(p);
		errno = e;
		return NULL;
	}
	/* libpmemobj recovered its logs in pmemobj_open; then ours. */
	if (pmo_rangelog_recover(p) != 0 || pmo_wordlog_recover(p) != 0) {
		int e = errno;
		pmemobj_close(pop);
		pool_free(p);
		errno = e;
		return NULL;
	}
	p->was_unclean = p->root->clean != 1;
	/* From now until close the pool counts as not cleanly shut down.
	 * An aligned 8-byte store is failure-atomic; persist it at once. */
	p->root->clean = 0;
	pmemobj_persist(pop, &p->root->clean, sizeof p->root->clean);
	if (p->root->format_version != PMO_FORMAT_VERSION) {
		/* Aligned 4-byte store: failure-atomic, like clean above. */
		p->root->format_version = PMO_FORMAT_VERSION;
		pmemobj_persist(pop, &p->root->format_version, sizeof p->root->format_version);
	}
	pmo_wordlog_reserve(p);
	p->stats.open_ns = pmo_now_ns() - t0;
	return p;
}

void pmo_pool_abandon(pmo_pool *p)
{
	pmemobj_close(p->pop);
	pool_free(p);
}

int pmo_pool_close(pmo_pool *p)
{
	if (pmo_tx_depth() > 0)
		return pmo_err(EBUSY, "cannot close pool %s: a transaction is open", p->path);
	if (pmo_pool_failed(p)) {
		/* What is durable is not known: leave it to recovery. */
		pmo_pool_abandon(p);
		return 0;
	}
	/* A cleanly closed pool holds no live record. */
	pmo_wordlog_spend(p);
	p->root->clean = 1;
	pmemobj_persist(p->pop, &p->root->clean, sizeof p->root->clean);
	pmemobj_close(p->pop);
	pool_free(p);
	return 0;
}
