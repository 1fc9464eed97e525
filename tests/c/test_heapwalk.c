/*
 * The heap walk (src/heapwalk.h) against libpmemobj's own.
 *
 * On random heaps -- sizes from a byte to several MiB, the runtime's own
 * allocation classes, libpmemobj's defaults, classes with legacy headers,
 * no headers and aligned units, random type numbers, frees, a transaction
 * big enough to extend a lane's log, a close and reopen -- the walk must
 * yield exactly the (offset, usable size, type number) triples that
 * pmemobj_first/next, pmemobj_alloc_usable_size and pmemobj_type_num do.
 * The comparison is shown to catch a wrong walk (a doctored list).
 *
 * On damaged copies (a used block's header zeroed, bitmap bits set over
 * free units, run and chunk headers broken, and thousands of random
 * byte changes to the heap's metadata, in a malloc'd copy so that
 * AddressSanitizer sees any read past it) the walk must end, either
 * cleanly with every block inside the file or with EIO naming the damage;
 * and gc and check on a damaged pool must report it and free nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "gc.h"
#include "heap.h"
#include "heapwalk.h"
#include "list.h"
#include "pmdk_layout.h"
#include "pool.h"
#include "testutil.h"
#include "tx.h"
#include "value.h"

/* --- block lists and their comparison --------------------------------------- */

typedef struct blocks {
	pmo_block *v;
	size_t len, cap;
} blocks;

static int blocks_add(void *ctx, const pmo_block *b)
{
	blocks *l = ctx;
	if (l->len == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			abort();
	}
	l->v[l->len++] = *b;
	return 0;
}

/* What libpmemobj's own API says the heap holds. */
static blocks pmdk_blocks(pmo_pool *p)
{
	blocks l = {0};
	for (PMEMoid o = pmemobj_first(p->pop); !OID_IS_NULL(o); o = pmemobj_next(o)) {
		pmo_block b = {o.off, pmemobj_alloc_usable_size(o), pmemobj_type_num(o)};
		blocks_add(&l, &b);
	}
	return l;
}

static blocks walk_blocks(pmo_pool *p, int *rc)
{
	blocks l = {0};
	*rc = pmo_heap_walk(p, blocks_add, &l);
	return l;
}

/* The equivalence check: the number of differences between the walk's
 * list and libpmemobj's (both in address order), the first few printed. */
static size_t differences(const blocks *walk, const blocks *pmdk, int quiet)
{
	size_t n = 0, i = 0, j = 0;
	while (i < walk->len || j < pmdk->len) {
		const pmo_block *a = i < walk->len ? &walk->v[i] : NULL;
		const pmo_block *b = j < pmdk->len ? &pmdk->v[j] : NULL;
		const char *what = NULL;
		if (a && b && a->off == b->off) {
			if (a->size != b->size)
				what = "usable size";
			else if (a->type_num != b->type_num)
				what = "type number";
			i++, j++;
		} else if (a && (!b || a->off < b->off)) {
			what = "block only the walk yields";
			i++;
		} else {
			what = "block only libpmemobj yields";
			a = b;
			j++;
		}
		if (what && n++ < 5 && !quiet)
			fprintf(stderr,
				"  heap walk differs at offset %llu: %s (size %llu, type %llu)\n",
				(unsigned long long)a->off, what, (unsigned long long)a->size,
				(unsigned long long)a->type_num);
	}
	return n;
}

/* The check can fail: a list doctored in each way the walk could go
 * wrong differs from the true one. */
static void test_comparison_catches_a_wrong_walk(const blocks *truth)
{
	if (truth->len < 3)
		return;
	blocks d = {malloc(truth->len * sizeof *d.v), truth->len, truth->len};
	memcpy(d.v, truth->v, truth->len * sizeof *d.v);
	CHECK(differences(&d, truth, 1) == 0);
	d.v[1].size += 64; /* a wrong size */
	CHECK(differences(&d, truth, 1) == 1);
	d.v[1] = truth->v[1];
	d.v[2].type_num ^= 1; /* a wrong type number */
	CHECK(differences(&d, truth, 1) == 1);
	d.v[2] = truth->v[2];
	d.len--; /* a block missed */
	CHECK(differences(&d, truth, 1) == 1);
	d.len++;
	d.v[0].off += 16; /* a block misplaced */
	CHECK(differences(&d, truth, 1) == 2);
	free(d.v);
}

/* --- random heaps --------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static uint64_t between(uint64_t lo, uint64_t hi)
{
	return lo + rnd() % (hi - lo + 1);
}

/* Classes a user of libpmemobj could add beside the runtime's own. */
typedef struct extra_classes {
	unsigned legacy, none, aligned;
	size_t none_unit;
} extra_classes;

static unsigned add_class(pmo_pool *p, size_t unit, size_t align, enum pobj_header_type h)
{
	struct pobj_alloc_class_desc d = {
		.unit_size = unit,
		.alignment = align,
		.units_per_block = 200,
		.header_type = h,
	};
	if (pmemobj_ctl_set(p->pop, "heap.alloc_class.new.desc", &d) != 0) {
		fprintf(stderr, "  class of %zu-byte units: %s\n", unit, pmemobj_errormsg());
		CHECK(!"cannot register an allocation class");
		return 0;
	}
	return d.class_id;
}

static extra_classes add_classes(pmo_pool *p)
{
	extra_classes c;
	c.legacy = add_class(p, 256, 0, POBJ_HEADER_LEGACY);
	/* Past the runtime's own header-less classes (16 to 256 bytes, tx.c):
	 * libpmemobj refuses a second header-less class of the same 16-byte
	 * size step. */
	c.none_unit = 264;
	c.none = add_class(p, c.none_unit, 0, POBJ_HEADER_NONE);
	c.aligned = add_class(p, 1024, 512, POBJ_HEADER_COMPACT);
	return c;
}

typedef struct oids {
	PMEMoid *v;
	size_t len, cap;
} oids;

/* One random allocation; 0 if the pool had no room for it. */
static int alloc_one(pmo_pool *p, const extra_classes *c, oids *live)
{
	size_t size;
	uint64_t flags = 0;
	switch (rnd() % 10) {
	case 0:
	case 1:
	case 2: /* the runtime's 64-byte units; in pools of 64 MiB or more,
		 * half of these from its 16-byte units */
		if (p->cls_tiny && rnd() % 2) {
			size = between(1, 1024 - 16);
			flags = POBJ_CLASS_ID(p->cls_tiny);
			break;
		}
		size = between(1, 4096 - 16);
		flags = POBJ_CLASS_ID(p->cls_small);
		break;
	case 3: /* its 4 KiB units */
		size = between(4096, 64 * 4096 - 16);
		flags = POBJ_CLASS_ID(p->cls_mid);
		break;
	case 4: /* its 32 KiB units, in small pools */
		size = between(1, p->large_max ? p->large_max - 16 : 100000);
		flags = p->large_max ? POBJ_CLASS_ID(p->cls_large) : 0;
		break;
	case 5: /* libpmemobj's own classes */
		size = rnd() % 4 ? between(1, 2000) : between(2000, 600000);
		break;
	case 6: /* whole chunks, rarely */
		size = rnd() % 8 ? between(1, 5000) : between(300000, 3u << 20);
		break;
	case 7:
		size = between(1, 4 * 256 - 64);
		flags = POBJ_CLASS_ID(c->legacy);
		break;
	case 8:
		size = between(1, c->none_unit);
		flags = POBJ_CLASS_ID(c->none);
		break;
	default:
		size = between(1, 3 * 1024 - 16);
		flags = POBJ_CLASS_ID(c->aligned);
		break;
	}
	PMEMoid oid;
	if (pmemobj_xalloc(p->pop, &oid, size, between(0, 40), flags, NULL, NULL) != 0)
		return 0;
	if (live->len == live->cap) {
		live->cap = live->cap ? 2 * live->cap : 256;
		live->v = realloc(live->v, live->cap * sizeof *live->v);
		if (!live->v)
			abort();
	}
	live->v[live->len++] = oid;
	return 1;
}

static void free_one(oids *live)
{
	if (!live->len)
		return;
	size_t i = rnd() % live->len;
	pmemobj_free(&live->v[i]);
	live->v[i] = live->v[--live->len];
}

/* A transaction that snapshots more than a lane's undo log holds, so
 * libpmemobj extends the log with blocks of its own (internal ones,
 * which both walks skip). */
static int big_transaction(pmo_pool *p, const oids *live)
{
	int rc = 0;
	CHECK(pmo_tx_begin(p) == 0);
	for (size_t i = 0; i < live->len && rc == 0; i++) {
		size_t n = pmemobj_alloc_usable_size(live->v[i]);
		rc = pmo_tx_snapshot(p, pmemobj_direct(live->v[i]), n < 4096 ? n : 4096);
	}
	if (rc)
		pmo_tx_fail(p);
	else
		CHECK(pmo_tx_end(p) == 0);
	return rc;
}

/* Does some lane's undo log have an extension (an internal block)? */
static int has_log_extension(pmo_pool *p)
{
	uint64_t lanes, nlanes;
	memcpy(&lanes, p->base + PMDK_DSC_LANES_OFFSET, sizeof lanes);
	memcpy(&nlanes, p->base + PMDK_DSC_NLANES, sizeof nlanes);
	for (uint64_t i = 0; i < nlanes; i++) {
		uint64_t next;
		memcpy(&next,
		       p->base + lanes + i * PMDK_LANE_SIZE + PMDK_LANE_UNDO_LOG + PMDK_ULOG_NEXT,
		       sizeof next);
		if (next)
			return 1;
	}
	return 0;
}

/* pmo_heap_block_at against the walk: at every block, HEADLESS with the
 * block's size in a header-less run, else HEADER; NONE a word inside a
 * header-less block.  The number of disagreements; *seen counts the
 * header-less blocks. */
static size_t block_at_disagreements(pmo_pool *p, const blocks *w, size_t *seen)
{
	size_t n = 0;
	for (size_t i = 0; i < w->len; i++) {
		const pmo_block *b = &w->v[i];
		uint64_t unit = 0;
		int got = pmo_heap_block_at(p, b->off, &unit);
		if (got != (b->headless ? PMO_BLOCK_HEADLESS : PMO_BLOCK_HEADER) ||
		    (b->headless && unit != b->size))
			n++;
		if (b->headless) {
			++*seen;
			if (pmo_heap_block_at(p, b->off + 8, &unit) != PMO_BLOCK_NONE)
				n++;
		}
	}
	return n;
}

static size_t headless_seen;

static size_t check_equivalent(pmo_pool *p, const char *when)
{
	int rc;
	blocks w = walk_blocks(p, &rc), d = pmdk_blocks(p);
	CHECK(rc == 0);
	if (rc)
		fprintf(stderr, "  walk failed %s: %s\n", when, pmo_errormsg());
	size_t n = differences(&w, &d, 0);
	if (n)
		fprintf(stderr, "  %zu differences %s\n", n, when);
	CHECK(n == 0);
	size_t h = block_at_disagreements(p, &w, &headless_seen);
	if (h)
		fprintf(stderr, "  %zu blocks misjudged by pmo_heap_block_at %s\n", h, when);
	CHECK(h == 0);
	size_t len = d.len;
	if (n == 0)
		test_comparison_catches_a_wrong_walk(&d);
	free(w.v);
	free(d.v);
	return len;
}

static void test_random_heaps(void)
{
	static const size_t sizes[] = {8u << 20, 24u << 20, 80u << 20};
	size_t most = 0, rounds = 0;
	int extended = 0;
	for (unsigned seed = 1; seed <= 12; seed++) {
		rng_state = 0x9e3779b97f4a7c15ull * seed;
		size_t size = sizes[seed % 3];
		pmo_pool *p = test_pool_fresh("walk", size);
		if (!p)
			return;
		char path[256];
		snprintf(path, sizeof path, "%s", p->path);
		extra_classes c = add_classes(p);
		oids live = {0};
		for (int round = 0; round < 6; round++) {
			/* fill to a random level, then free a random share */
			int n = (int)between(50, 3000);
			for (int i = 0; i < n; i++)
				if (!alloc_one(p, &c, &live))
					free_one(&live);
			int f = (int)(live.len * between(0, 90) / 100);
			for (int i = 0; i < f; i++)
				free_one(&live);
			if (round == 2 && big_transaction(p, &live) == 0)
				extended |= has_log_extension(p);
			size_t len = check_equivalent(p, "on a random heap");
			most = len > most ? len : most;
			rounds++;
		}
		/* Reopened: libpmemobj rebuilds its volatile state; the walk
		 * reads only the file and must agree still. */
		CHECK(pmo_pool_close(p) == 0);
		p = pmo_pool_open(path);
		CHECK(p != NULL);
		if (p) {
			check_equivalent(p, "after a reopen");
			test_pool_done(p);
		}
		free(live.v);
	}
	printf("heap walk: %zu random heaps equal to pmemobj_first/next (up to %zu blocks); "
	       "log extensions seen: %s; header-less blocks judged: %zu\n",
	       rounds, most, extended ? "yes" : "no", headless_seen);
	CHECK(extended);
	CHECK(headless_seen > 0);
}

/* --- damage ---------------------------------------------------------------- */

/* A pool file in memory (malloc'd: AddressSanitizer sees reads past it). */
typedef struct image {
	unsigned char *bytes;
	uint64_t size;
} image;

static image load(const char *path)
{
	image im = {0};
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		CHECK(!"cannot read the pool file");
		if (fd >= 0)
			close(fd);
		return im;
	}
	im.size = (uint64_t)st.st_size;
	im.bytes = malloc(im.size);
	CHECK(im.bytes && pread(fd, im.bytes, im.size, 0) == (ssize_t)im.size);
	close(fd);
	return im;
}

static int save(const image *im, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && pwrite(fd, im->bytes, im->size, 0) == (ssize_t)im->size;
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

typedef struct walked {
	uint64_t size, blocks, outside;
} walked;

static int note_block(void *ctx, const pmo_block *b)
{
	walked *w = ctx;
	w->blocks++;
	if (b->off > w->size || b->size > w->size - b->off)
		w->outside++;
	return 0;
}

static int walk_image(const image *im, walked *w)
{
	pmo_heap_view v = {"image", im->bytes, im->size, NULL};
	*w = (walked){im->size, 0, 0};
	return pmo_heap_walk_view(&v, note_block, w);
}

/* The walk reads the same heap through a reader (pread of a file holding
 * the image) as through memory: the same result, the same message, the
 * same blocks; with fn NULL (preflight's walk) as with fn. */
static void same_through_a_reader(const image *im, int rc, const walked *w)
{
	const char *path = test_pool_path("reader");
	CHECK(save(im, path) == 0);
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	struct pmo_heap_reader *r = pmo_heap_reader_new(fd);
	CHECK(r != NULL);
	char msg[512];
	for (int with_fn = 0; with_fn < 2; with_fn++) {
		pmo_heap_view plain = {"image", im->bytes, im->size, NULL};
		pmo_heap_view read = {"image", im->bytes, im->size, r};
		walked a = {im->size, 0, 0}, b = {im->size, 0, 0};
		int ra = pmo_heap_walk_view(&plain, with_fn ? note_block : NULL, &a);
		snprintf(msg, sizeof msg, "%s", ra ? pmo_errormsg() : "");
		pmo_err_clear();
		int rb = pmo_heap_walk_view(&read, with_fn ? note_block : NULL, &b);
		CHECK(ra == rb && strcmp(msg, rb ? pmo_errormsg() : "") == 0);
		CHECK(a.blocks == b.blocks && a.outside == b.outside);
		if (with_fn)
			CHECK(rb == rc && b.blocks == w->blocks);
		pmo_err_clear();
	}
	pmo_heap_reader_free(r);
	close(fd);
	unlink(path);
}

/* The heap's layout in an image: the first zone's chunk headers. */
static uint64_t heap_of(const image *im)
{
	uint64_t heap;
	memcpy(&heap, im->bytes + PMDK_DSC_HEAP_OFFSET, sizeof heap);
	return heap;
}

static uint64_t zone0(const image *im)
{
	return heap_of(im) + sizeof(struct pmdk_heap_header);
}

static struct pmdk_chunk_header *chunk_hdr(const image *im, uint32_t i)
{
	return (struct pmdk_chunk_header *)(im->bytes + zone0(im) +
					    sizeof(struct pmdk_zone_header) +
					    i * sizeof(struct pmdk_chunk_header));
}

static uint64_t chunk_at(const image *im, uint32_t i)
{
	return zone0(im) + PMDK_ZONE_META + (uint64_t)i * PMDK_CHUNKSIZE;
}

/* A run of the runtime's 64-byte units with a used block: its first
 * chunk, and the header of its first used block (the walk's first block
 * in that run, which the first set bit of the bitmap must name). */
static int find_used_block(const image *im, uint32_t *chunk, uint64_t *hdr)
{
	blocks all = {0};
	pmo_heap_view v = {"image", im->bytes, im->size, NULL};
	int rc = -1;
	if (pmo_heap_walk_view(&v, blocks_add, &all) != 0)
		return -1;
	for (size_t k = 0; k < all.len && rc; k++) {
		uint32_t i =
			(uint32_t)((all.v[k].off - zone0(im) - PMDK_ZONE_META) / PMDK_CHUNKSIZE);
		uint64_t unit;
		memcpy(&unit, im->bytes + chunk_at(im, i), sizeof unit);
		if (chunk_hdr(im, i)->type == PMDK_CHUNK_RUN && unit == 64) {
			*chunk = i;
			*hdr = all.v[k].off - sizeof(struct pmdk_alloc_header_compact);
			rc = 0;
		}
	}
	free(all.v);
	return rc;
}

static void expect_damage(const image *im, const char *what, const char *msg_part)
{
	walked w;
	int rc = walk_image(im, &w);
	CHECK(rc == -1 && errno == EIO);
	if (rc != -1 || !strstr(pmo_errormsg(), msg_part))
		fprintf(stderr, "  %s: walk returned %d: '%s' (expected '%s')\n", what, rc,
			pmo_errormsg(), msg_part);
	CHECK(strstr(pmo_errormsg(), msg_part) != NULL);
	pmo_err_clear();
}

/* A pool with a list of strs and some garbage (a cycle of two lists). */
static int build_small_heap(const char *path, int garbage)
{
	pmo_pool *p = pmo_pool_create(path, 8u << 20, 0600);
	if (!p)
		return -1;
	int rc = pmo_tx_begin(p);
	uint64_t list = rc ? 0 : pmo_list_new(p, 0);
	for (int i = 0; list && rc == 0 && i < 300; i++) {
		char s[32];
		snprintf(s, sizeof s, "a str of some length %d", i);
		uint64_t str = pmo_str_new(p, s, strlen(s));
		rc = str ? pmo_list_append(p, pmo_list_get(p, list), pmo_slot_ref(str)) : -1;
	}
	if (rc == 0 && list)
		rc = pmo_slot_store(p, &p->root->root, pmo_slot_ref(list));
	if (rc == 0 && garbage) {
		uint64_t a = pmo_list_new(p, 0), b = pmo_list_new(p, 0);
		/* each holds the other, and nothing else holds either */
		rc = !a || !b || pmo_list_append(p, pmo_list_get(p, a), pmo_slot_ref(b)) ||
		     pmo_list_append(p, pmo_list_get(p, b), pmo_slot_ref(a));
	}
	rc = rc ? pmo_tx_fail(p) : pmo_tx_end(p);
	CHECK(pmo_pool_close(p) == 0);
	return rc;
}

typedef struct problems {
	int n, heap_level;
} problems;

static void note_problem(void *ctx, uint64_t off, uint32_t type, const char *problem)
{
	problems *pr = ctx;
	pr->n++;
	if (off == 0 && type == 0 && strstr(problem, "has no size in its header"))
		pr->heap_level = 1;
}

static void test_planted_damage(void)
{
	char path[256], copy[256];
	snprintf(path, sizeof path, "%s", test_pool_path("damage"));
	snprintf(copy, sizeof copy, "%s", test_pool_path("damage-copy"));
	CHECK(build_small_heap(path, 1) == 0);
	image im = load(path);
	if (!im.bytes)
		return;
	walked w;
	CHECK(walk_image(&im, &w) == 0 && w.blocks > 300 && w.outside == 0);
	uint32_t ci = 0;
	uint64_t hdr = 0;
	if (find_used_block(&im, &ci, &hdr) != 0) {
		CHECK(!"no used block of 64-byte units in the pool");
		free(im.bytes);
		return;
	}
	image d = {malloc(im.size), im.size};
	uint64_t word;
#define RESET() memcpy(d.bytes, im.bytes, im.size)

	/* The case libpmemobj's walk loops on for ever: a used block's
	 * header without a size. */
	RESET();
	memset(d.bytes + hdr, 0, 16);
	expect_damage(&d, "zeroed header", "has no size in its header");

	/* A size reaching past the block's word of the bitmap. */
	RESET();
	word = 65 * 64;
	memcpy(d.bytes + hdr, &word, sizeof word);
	expect_damage(&d, "long header", "reaches past its word");

	/* Bits set over free units: the first word of the bitmap with a
	 * free unit gets them all marked used, under headers that are zero
	 * or stale. */
	RESET();
	uint64_t bm = chunk_at(&d, ci) + 16;
	for (int i = 0; i < 64; i++) {
		memcpy(&word, d.bytes + bm + 8 * i, sizeof word);
		if (word != ~(uint64_t)0) {
			word = ~(uint64_t)0;
			memcpy(d.bytes + bm + 8 * i, &word, sizeof word);
			break;
		}
	}
	expect_damage(&d, "bits over free units", "a used block of a run");

	/* A block whose header claims units the bitmap says are free. */
	RESET();
	memcpy(&word, d.bytes + bm, sizeof word);
	word &= ~((uint64_t)1 << (__builtin_ctzll(word) + 1)); /* its second unit... */
	memcpy(d.bytes + bm, &word, sizeof word);
	word = 2 * 64; /* ...claimed by it */
	memcpy(d.bytes + hdr, &word, sizeof word);
	expect_damage(&d, "size over free units", "bitmap says are free");

	/* Run headers: no unit size, an alignment without the flag, the
	 * fixed bitmap of older PMDK. */
	RESET();
	memset(d.bytes + chunk_at(&d, ci), 0, 8);
	expect_damage(&d, "unit size 0", "block size does not fit");
	RESET();
	word = 64;
	memcpy(d.bytes + chunk_at(&d, ci) + 8, &word, sizeof word);
	expect_damage(&d, "stray alignment", "alignment is invalid");
	RESET();
	chunk_hdr(&d, ci)->flags &= (uint16_t)~PMDK_CHUNK_FLAG_FLEX_BITMAP;
	expect_damage(&d, "fixed bitmap", "flexible-bitmap");

	/* Chunk headers: a size of 0, past the zone, an unknown type. */
	RESET();
	chunk_hdr(&d, ci)->size_idx = 0;
	expect_damage(&d, "chunk size 0", "size does not fit its zone");
	RESET();
	chunk_hdr(&d, ci)->size_idx = 1u << 30;
	expect_damage(&d, "chunk size huge", "size does not fit its zone");
	RESET();
	chunk_hdr(&d, ci)->type = PMDK_CHUNK_FOOTER;
	expect_damage(&d, "footer type", "invalid type or flags");

	/* A huge block whose header disagrees with its chunk header. */
	RESET();
	{
		uint32_t n;
		int found = 0;
		memcpy(&n, d.bytes + zone0(&d) + 4, sizeof n);
		for (uint32_t i = 0; i < n; i += chunk_hdr(&d, i)->size_idx)
			if (chunk_hdr(&d, i)->type == PMDK_CHUNK_FREE &&
			    chunk_hdr(&d, i)->size_idx > 2) {
				/* make the free chunk a used one of 2 chunks with a
				 * header saying 3, the rest free */
				uint32_t rest = chunk_hdr(&d, i)->size_idx - 2;
				*chunk_hdr(&d, i) = (struct pmdk_chunk_header){
					PMDK_CHUNK_USED, PMDK_CHUNK_FLAG_COMPACT_HEADER, 2};
				*chunk_hdr(&d, i + 2) =
					(struct pmdk_chunk_header){PMDK_CHUNK_FREE, 0, rest};
				word = 3 * PMDK_CHUNKSIZE;
				memcpy(d.bytes + chunk_at(&d, i), &word, sizeof word);
				found = 1;
				break;
			}
		CHECK(found);
		expect_damage(&d, "huge size", "disagrees with its chunk header");
	}

	/* An open pool with the zeroed header (preflight does not read
	 * blocks, so it opens): gc and check report the damage, and gc
	 * frees nothing. */
	RESET();
	memset(d.bytes + hdr, 0, 16);
	CHECK(save(&d, copy) == 0);
	pmo_pool *p = pmo_pool_open(copy);
	CHECK(p != NULL);
	if (p) {
		pmo_gc_result r;
		CHECK(pmo_gc(p, NULL, 0, &r, NULL, NULL) == -1 && errno == EIO);
		CHECK(strstr(pmo_errormsg(), "has no size in its header") != NULL);
		CHECK_EQ_I64(p->stats.frees, 0);
		pmo_err_clear();
		problems pr = {0};
		pmo_check_result cr;
		CHECK(pmo_check(p, NULL, 0, note_problem, &pr, &cr) == 0);
		CHECK(cr.invalid >= 1 && pr.n >= 1 && pr.heap_level);
		free(cr.type_counts);
		test_pool_done(p);
	}
	free(d.bytes);
	free(im.bytes);
	unlink(path);
#undef RESET
}

/* Random damage to the heap's metadata: zone and chunk headers, run
 * headers and bitmaps, and the allocation headers of used blocks. */
static void test_random_damage(void)
{
	char path[256];
	snprintf(path, sizeof path, "%s", test_pool_path("fuzz"));
	CHECK(build_small_heap(path, 1) == 0);
	image im = load(path);
	if (!im.bytes)
		return;
	unlink(path);
	walked w;
	CHECK(walk_image(&im, &w) == 0);
	/* Where to aim: chunk headers in use, each run's first 1 KiB
	 * (header and bitmap), and every block header the walk reports. */
	typedef struct {
		uint64_t off, len;
	} range;
	range targets[4096];
	size_t nt = 0;
	targets[nt++] = (range){zone0(&im), 64 + 8 * 64};
	uint32_t n;
	memcpy(&n, im.bytes + zone0(&im) + 4, sizeof n);
	for (uint32_t i = 0; i < n && nt < 64; i += chunk_hdr(&im, i)->size_idx)
		if (chunk_hdr(&im, i)->type != PMDK_CHUNK_FREE)
			targets[nt++] = (range){chunk_at(&im, i), 1024};
	blocks all = {0};
	pmo_heap_view v = {"image", im.bytes, im.size, NULL};
	CHECK(pmo_heap_walk_view(&v, blocks_add, &all) == 0);
	for (size_t i = 0; i < all.len && nt < 4096; i++)
		targets[nt++] = (range){all.v[i].off - 16, 16};
	free(all.v);

	image d = {malloc(im.size), im.size};
	unsigned long clean = 0, damaged = 0;
	rng_state = 0x2545f4914f6cdd1dull;
	for (int trial = 0; trial < 3000; trial++) {
		memcpy(d.bytes, im.bytes, im.size);
		int changes = (int)between(1, 4);
		for (int k = 0; k < changes; k++) {
			range t = targets[rnd() % nt];
			uint64_t at = t.off + rnd() % t.len;
			switch (rnd() % 4) {
			case 0:
				d.bytes[at] ^= (unsigned char)(1u << (rnd() % 8));
				break;
			case 1:
				d.bytes[at] = (unsigned char)rnd();
				break;
			case 2: {
				uint64_t x = rnd() % 3 == 0 ? 0 : rnd() % 2 ? ~(uint64_t)0 : rnd();
				at &= ~(uint64_t)7;
				memcpy(d.bytes + at, &x, sizeof x);
				break;
			}
			default:
				d.bytes[at] = 0;
			}
		}
		int rc = walk_image(&d, &w);
		if (rc == 0) {
			clean++;
			CHECK(w.outside == 0);
		} else {
			damaged++;
			CHECK(rc == -1 && errno == EIO && strstr(pmo_errormsg(), "image") != NULL);
			pmo_err_clear();
		}
		if (trial % 30 == 0)
			same_through_a_reader(&d, rc, &w);
	}
	printf("heap walk: 3000 randomly damaged heaps: %lu reported, %lu walked "
	       "(no block outside the file)\n",
	       damaged, clean);
	CHECK(damaged > 1000);
	free(d.bytes);
	free(im.bytes);
}

int main(void)
{
	test_random_heaps();
	test_planted_damage();
	test_random_damage();
	return test_finish();
}
