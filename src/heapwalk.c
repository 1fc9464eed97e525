/* The heap walk; see heapwalk.h.  Layout: pmdk_layout.h. */
#include "heapwalk.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "pmdk_layout.h"
#include "pool.h"

/* The reader's pages: few, since the walk goes forward through the heap
 * and comes back only to the zone's chunk headers. */
#define READER_PAGE 4096
#define READER_SLOTS 8
struct pmo_heap_reader {
	int fd;
	uint64_t page[READER_SLOTS]; /* page number + 1 held in the slot; 0: none */
	unsigned char data[READER_SLOTS][READER_PAGE];
};

struct pmo_heap_reader *pmo_heap_reader_new(int fd)
{
	struct pmo_heap_reader *r = calloc(1, sizeof *r);
	if (r)
		r->fd = fd;
	return r;
}

void pmo_heap_reader_free(struct pmo_heap_reader *r)
{
	free(r);
}

/* Page pg of the file through the reader, or NULL if it cannot be read
 * whole (as far as the view reaches). */
static const unsigned char *reader_page(const pmo_heap_view *v, uint64_t pg)
{
	struct pmo_heap_reader *r = v->reader;
	/* Hashed, not pg % SLOTS: the run headers a walk reads lie a chunk
	 * (64 pages) apart, which would all share one slot. */
	unsigned s = (unsigned)((pg * 0x9E3779B97F4A7C15ull) >> 61);
	if (r->page[s] != pg + 1) {
		uint64_t want = v->size - pg * READER_PAGE;
		if (want > READER_PAGE)
			want = READER_PAGE;
		ssize_t got = pread(r->fd, r->data[s], READER_PAGE, (off_t)(pg * READER_PAGE));
		if (got < 0 || (uint64_t)got < want) {
			r->page[s] = 0;
			return NULL;
		}
		r->page[s] = pg + 1;
	}
	return r->data[s];
}

/* len bytes at off, which the caller has checked lie in the view. */
static void view_read(const pmo_heap_view *v, uint64_t off, void *dst, size_t len)
{
	if (!v->reader) {
		memcpy(dst, v->base + off, len);
		return;
	}
	unsigned char *d = dst;
	while (len) {
		uint64_t in = off % READER_PAGE;
		size_t n = READER_PAGE - in < len ? READER_PAGE - in : len;
		const unsigned char *page = reader_page(v, off / READER_PAGE);
		memcpy(d, page ? page + in : v->base + off, n);
		d += n;
		off += n;
		len -= n;
	}
}

static inline uint64_t u64(const pmo_heap_view *v, uint64_t off)
{
	uint64_t x;
	view_read(v, off, &x, sizeof x);
	return x;
}

static inline uint32_t u32(const pmo_heap_view *v, uint64_t off)
{
	uint32_t x;
	view_read(v, off, &x, sizeof x);
	return x;
}

/* ceil(a / b), for any a (a legacy header's size is a whole word). */
static inline uint64_t div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* Does [off, off + len) lie inside the view? */
static inline int inside(const pmo_heap_view *v, uint64_t off, uint64_t len)
{
	return off <= v->size && len <= v->size - off;
}

static int bad(const pmo_heap_view *v, uint64_t off, const char *what)
{
	return pmo_err_corrupt(v->path, off, "%s", what);
}

static struct pmdk_chunk_header chunk_header(const pmo_heap_view *v, uint64_t off)
{
	struct pmdk_chunk_header h;
	view_read(v, off, &h, sizeof h);
	return h;
}

/* The allocation header's kind, by the chunk's flags (compact wins, as in
 * libpmemobj's memblock_header_type). */
enum hdr_kind { HDR_LEGACY, HDR_COMPACT, HDR_NONE };

static enum hdr_kind hdr_kind(uint16_t flags)
{
	if (flags & PMDK_CHUNK_FLAG_COMPACT_HEADER)
		return HDR_COMPACT;
	if (flags & PMDK_CHUNK_FLAG_HEADER_NONE)
		return HDR_NONE;
	return HDR_LEGACY;
}

static const uint64_t hdr_size[] = {
	[HDR_LEGACY] = sizeof(struct pmdk_alloc_header_legacy),
	[HDR_COMPACT] = sizeof(struct pmdk_alloc_header_compact),
	[HDR_NONE] = 0,
};

/* The size (header included), flags and type number an allocation header
 * at off holds; the caller has checked that the header lies in the view. */
static inline void read_header(const pmo_heap_view *v, uint64_t off, enum hdr_kind k,
			       uint64_t *size, uint64_t *flags, uint64_t *type_num)
{
	if (k == HDR_COMPACT) {
		struct pmdk_alloc_header_compact h;
		view_read(v, off, &h, sizeof h);
		*size = h.size & PMDK_ALLOC_SIZE_MASK;
		*flags = h.size >> PMDK_ALLOC_FLAGS_SHIFT;
		*type_num = h.extra;
	} else {
		*size = u64(v, off + offsetof(struct pmdk_alloc_header_legacy, size));
		*flags = u64(v, off + offsetof(struct pmdk_alloc_header_legacy, root_size)) >>
			 PMDK_ALLOC_FLAGS_SHIFT;
		*type_num = u64(v, off + offsetof(struct pmdk_alloc_header_legacy, type_num));
	}
}

/* A run's geometry (PMDK 1.12 memblock_run_bitmap, flexible bitmaps):
 * the bitmap's words, the units it covers, and where unit 0 starts. */
typedef struct run_geometry {
	uint64_t unit;
	int unit_shift;   /* log2(unit) if a power of two, else -1 */
	uint64_t nbits;   /* units */
	uint64_t nvalues; /* bitmap words holding them */
	uint64_t data;    /* offset of unit 0 (its allocation header) */
	uint64_t end;     /* offset just past the run */
	enum hdr_kind kind;
} run_geometry;

static int run_geometry_of(const pmo_heap_view *v, uint64_t chunk, uint32_t n, uint16_t flags,
			   run_geometry *g)
{
	const uint64_t base_meta = sizeof(struct pmdk_run_header);
	uint64_t unit = u64(v, chunk + offsetof(struct pmdk_run_header, block_size));
	uint64_t align = u64(v, chunk + offsetof(struct pmdk_run_header, alignment));
	uint64_t content = (uint64_t)n * PMDK_CHUNKSIZE - base_meta;
	if (unit == 0 || unit > content || (unit & 7))
		return bad(v, chunk, "a run's block size does not fit the run");
	/* libpmemobj sets the alignment exactly when the class has one (a
	 * power of two dividing the unit), and counts one unit less for it
	 * whether or not the flag says so. */
	if ((flags & PMDK_CHUNK_FLAG_ALIGNED)
		    ? (align == 0 || (align & (align - 1)) || align > unit)
		    : align != 0)
		return bad(v, chunk + offsetof(struct pmdk_run_header, alignment),
			   "a run's alignment is invalid");
	/* PMDK 1.12 writes every run with the flexible bitmap; the older
	 * fixed one is laid out differently and is not read here. */
	if (!(flags & PMDK_CHUNK_FLAG_FLEX_BITMAP))
		return bad(v, chunk,
			   "a run's chunk header lacks the flexible-bitmap flag "
			   "PMDK 1.12 always sets");
	uint64_t nbits = content / unit;
	uint64_t nvalues = (nbits + PMDK_RUN_BITS_PER_VALUE - 1) / PMDK_RUN_BITS_PER_VALUE;
	/* Rounded so that, with the run header's words, unit 0 starts on a
	 * cache line. */
	const uint64_t per_line = PMDK_CACHELINE / sizeof(uint64_t);
	const uint64_t meta_values = base_meta / sizeof(uint64_t);
	nvalues = (nvalues + meta_values + per_line - 1) / per_line * per_line - meta_values;
	uint64_t bitmap = nvalues * sizeof(uint64_t);
	if (bitmap >= content || (content - bitmap) / unit <= (align ? 1 : 0))
		return bad(v, chunk, "a run's bitmap does not fit the run");
	nbits = (content - bitmap) / unit - (align ? 1 : 0);
	nvalues -= (nvalues * PMDK_RUN_BITS_PER_VALUE - nbits) / PMDK_RUN_BITS_PER_VALUE;

	g->unit = unit;
	g->unit_shift = (unit & (unit - 1)) ? -1 : __builtin_ctzll(unit);
	g->nbits = nbits;
	g->nvalues = nvalues;
	g->kind = hdr_kind(flags);
	g->end = chunk + (uint64_t)n * PMDK_CHUNKSIZE;
	g->data = chunk + base_meta + bitmap;
	if (flags & PMDK_CHUNK_FLAG_ALIGNED) {
		/* The user data is aligned as an address: libpmemobj aligns
		 * the pointer into its own mapping, the one an open pool's
		 * walk reads.  (Preflight's private mapping may be less
		 * aligned; the shift stays under a unit either way, which the
		 * unit counted less covers.) */
		uint64_t hs = hdr_size[g->kind];
		uintptr_t at = (uintptr_t)(v->base + g->data) + hs;
		at = (at + align - 1) & ~(uintptr_t)(align - 1);
		g->data = (uint64_t)(at - (uintptr_t)v->base) - hs;
	}
	if (g->data > g->end || nbits > (g->end - g->data) / unit)
		return bad(v, chunk, "a run's units do not fit the run");
	return 0;
}

/* Every used block of a run, in address order. */
static int walk_run(const pmo_heap_view *v, uint64_t chunk, const run_geometry *g, pmo_block_fn fn,
		    void *ctx)
{
	const uint64_t bitmap = chunk + sizeof(struct pmdk_run_header);
	const uint64_t hs = hdr_size[g->kind];
	for (uint64_t w = 0; w < g->nvalues; w++) {
		uint64_t word = u64(v, bitmap + w * sizeof(uint64_t));
		uint64_t first = w * PMDK_RUN_BITS_PER_VALUE;
		/* Bits past the last unit are set (never to be allocated). */
		if (g->nbits - first < PMDK_RUN_BITS_PER_VALUE)
			word &= ((uint64_t)1 << (g->nbits - first)) - 1;
		while (word) {
			unsigned j = (unsigned)__builtin_ctzll(word);
			uint64_t at = g->data + (first + j) * g->unit;
			uint64_t size = g->unit, flags = 0, type_num = 0, units = 1;
			if (g->kind != HDR_NONE) {
				if (hs > g->end - at)
					return bad(v, at,
						   "a used block's header lies past its run");
				read_header(v, at, g->kind, &size, &flags, &type_num);
				if (size < hs)
					return bad(v, at,
						   size ? "a used block of a run is smaller than "
							  "its allocation header"
							: "a used block of a run has no size in "
							  "its header");
				/* A division per block was a third of the walk:
				 * the runtime's units are powers of two. */
				units = g->unit_shift >= 0 ? (size >> g->unit_shift) +
								     ((size & (g->unit - 1)) != 0)
							   : div_up(size, g->unit);
			}
			/* A block lies in one word of the bitmap (libpmemobj
			 * sets and clears a block's bits with one word's OR
			 * and AND), and every one of its units is used. */
			if (units > PMDK_RUN_BITS_PER_VALUE - j)
				return bad(v, at,
					   "a used block's size reaches past its word of the "
					   "run's bitmap");
			uint64_t mask =
				units == 64 ? ~(uint64_t)0 : (((uint64_t)1 << units) - 1) << j;
			if ((word & mask) != mask)
				return bad(v, at,
					   "a used block's size covers units the run's "
					   "bitmap says are free");
			word &= ~mask;
			if (flags & PMDK_ALLOC_FLAG_INTERNAL)
				continue;
			pmo_block b = {at + hs, units * g->unit - hs, type_num,
				       g->kind == HDR_NONE};
			int rc = fn(ctx, &b);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* What a run of n chunks holds free: the units its bitmap has clear. */
static void run_space(const pmo_heap_view *v, uint64_t chunk, const run_geometry *g, uint32_t n,
		      pmo_heap_space *space)
{
	const uint64_t bitmap = chunk + sizeof(struct pmdk_run_header);
	uint64_t used = 0;
	for (uint64_t w = 0; w < g->nvalues; w++) {
		uint64_t word = u64(v, bitmap + w * sizeof(uint64_t));
		uint64_t first = w * PMDK_RUN_BITS_PER_VALUE;
		if (g->nbits - first < PMDK_RUN_BITS_PER_VALUE) /* bits past the units */
			word &= ((uint64_t)1 << (g->nbits - first)) - 1;
		used += (uint64_t)__builtin_popcountll(word);
	}
	space->run_bytes += (uint64_t)n * PMDK_CHUNKSIZE;
	space->run_free_bytes += (g->nbits - used) * g->unit;
}

/* A huge block: n whole chunks, the header at the first one's start. */
static int walk_huge(const pmo_heap_view *v, uint64_t chunk, uint32_t n, uint16_t flags,
		     pmo_block_fn fn, void *ctx)
{
	enum hdr_kind k = hdr_kind(flags);
	if (k == HDR_NONE)
		return bad(v, chunk, "a huge block has no allocation header");
	uint64_t size, hflags, type_num;
	read_header(v, chunk, k, &size, &hflags, &type_num);
	if (size < hdr_size[k] || div_up(size, PMDK_CHUNKSIZE) != n)
		return bad(v, chunk,
			   "a huge block's header disagrees with its chunk header "
			   "about its size");
	if (hflags & PMDK_ALLOC_FLAG_INTERNAL)
		return 0;
	pmo_block b = {chunk + hdr_size[k], (uint64_t)n * PMDK_CHUNKSIZE - hdr_size[k], type_num};
	return fn(ctx, &b);
}

/* One zone: its header, and its chunk headers walked block by block as
 * libpmemobj walks them; with fn, every used block. */
static int walk_zone(const pmo_heap_view *v, uint64_t zone, uint64_t max_chunks, pmo_block_fn fn,
		     void *ctx, pmo_heap_space *space)
{
	uint32_t magic = u32(v, zone + offsetof(struct pmdk_zone_header, magic));
	if (magic == 0)
		return 0; /* never used: libpmemobj allows it */
	if (magic != PMDK_ZONE_MAGIC)
		return bad(v, zone, "a heap zone header has a bad magic number");
	uint32_t nchunks = u32(v, zone + offsetof(struct pmdk_zone_header, size_idx));
	if (nchunks == 0 || nchunks > max_chunks)
		return bad(v, zone + offsetof(struct pmdk_zone_header, size_idx),
			   "a heap zone's size does not fit the heap");
	const uint64_t hdrs = zone + sizeof(struct pmdk_zone_header);
	const uint64_t data = zone + PMDK_ZONE_META;
	uint64_t stretch = 0; /* free chunks in a row so far */
	if (space)
		space->heap_bytes += (uint64_t)nchunks * PMDK_CHUNKSIZE;
	for (uint32_t i = 0; i < nchunks;) {
		uint64_t h = hdrs + sizeof(struct pmdk_chunk_header) * (uint64_t)i;
		struct pmdk_chunk_header ch = chunk_header(v, h);
		if ((ch.type != PMDK_CHUNK_FREE && ch.type != PMDK_CHUNK_USED &&
		     ch.type != PMDK_CHUNK_RUN) ||
		    (ch.flags & ~PMDK_CHUNK_FLAGS_VALID))
			return bad(v, h, "a chunk header has an invalid type or flags");
		uint32_t n = ch.size_idx;
		if (n == 0 || n > nchunks - i)
			return bad(v, h, "a chunk header's size does not fit its zone");
		uint64_t chunk = data + (uint64_t)i * PMDK_CHUNKSIZE;
		if (space) {
			stretch = ch.type == PMDK_CHUNK_FREE
					  ? stretch + (uint64_t)n * PMDK_CHUNKSIZE
					  : 0;
			if (stretch > space->largest_free_chunks)
				space->largest_free_chunks = stretch;
			if (ch.type == PMDK_CHUNK_FREE)
				space->free_chunk_bytes += (uint64_t)n * PMDK_CHUNKSIZE;
		}
		if (ch.type == PMDK_CHUNK_RUN) {
			/* libpmemobj finds a run from any of its chunks by the
			 * distance each later one records. */
			for (uint32_t k = 1; k < n; k++) {
				struct pmdk_chunk_header d =
					chunk_header(v, h + sizeof ch * (uint64_t)k);
				if (d.type != PMDK_CHUNK_RUN_DATA || d.size_idx != k)
					return bad(v, h + sizeof ch * (uint64_t)k,
						   "a chunk inside a run is not marked as its run "
						   "data");
			}
			run_geometry g = {0};
			if (run_geometry_of(v, chunk, n, ch.flags, &g) != 0)
				return -1;
			if (space)
				run_space(v, chunk, &g, n, space);
			if (fn) {
				int rc = walk_run(v, chunk, &g, fn, ctx);
				if (rc)
					return rc;
			}
		} else if (ch.type == PMDK_CHUNK_USED && fn) {
			int rc = walk_huge(v, chunk, n, ch.flags, fn, ctx);
			if (rc)
				return rc;
		}
		i += n;
	}
	return 0;
}

static int walk_heap(const pmo_heap_view *v, pmo_block_fn fn, void *ctx, pmo_heap_space *space)
{
	const uint64_t hdr = sizeof(struct pmdk_heap_header);
	if (!inside(v, PMDK_DSC_HEAP_OFFSET, sizeof(uint64_t)))
		return bad(v, PMDK_DSC_HEAP_OFFSET, "the pool descriptor is cut off");
	uint64_t heap = u64(v, PMDK_DSC_HEAP_OFFSET);
	if (heap < PMDK_DSC_OFF || !inside(v, heap, hdr + PMDK_ZONE_MIN_SIZE))
		return bad(v, PMDK_DSC_HEAP_OFFSET, "the heap lies outside the pool");
	/* Zones as libpmemobj lays them out over what follows the header
	 * (heap_max_zone): full ones, then a last one of at least a chunk. */
	for (uint64_t zone = heap + hdr; v->size - zone >= PMDK_ZONE_MIN_SIZE;) {
		uint64_t len =
			v->size - zone < PMDK_ZONE_MAX_SIZE ? v->size - zone : PMDK_ZONE_MAX_SIZE;
		int rc =
			walk_zone(v, zone, (len - PMDK_ZONE_META) / PMDK_CHUNKSIZE, fn, ctx, space);
		if (rc)
			return rc;
		zone += len;
	}
	return 0;
}

int pmo_heap_walk_view(const pmo_heap_view *v, pmo_block_fn fn, void *ctx)
{
	return walk_heap(v, fn, ctx, NULL);
}

int pmo_heap_walk(const pmo_pool *p, pmo_block_fn fn, void *ctx)
{
	pmo_pool_grew(p); /* walk all the heap has taken */
	pmo_heap_view v = {p->path, (const unsigned char *)p->base, p->size};
	return pmo_heap_walk_view(&v, fn, ctx);
}

int pmo_heap_block_at(const pmo_pool *p, uint64_t off, uint64_t *unit)
{
	pmo_heap_view v = {p->path, (const unsigned char *)p->base, p->size};
	/* The first zone's chunks start at data_start, found at open. */
	const uint64_t zone0 = p->data_start - PMDK_ZONE_META;
	if (off < p->data_start || !inside(&v, off, 1))
		return PMO_BLOCK_NONE;
	uint64_t zone = zone0 + (off - zone0) / PMDK_ZONE_MAX_SIZE * PMDK_ZONE_MAX_SIZE;
	uint64_t data = zone + PMDK_ZONE_META;
	if (off < data ||
	    u32(&v, zone + offsetof(struct pmdk_zone_header, magic)) != PMDK_ZONE_MAGIC)
		return PMO_BLOCK_NONE;
	uint32_t nchunks = u32(&v, zone + offsetof(struct pmdk_zone_header, size_idx));
	uint64_t i = (off - data) / PMDK_CHUNKSIZE;
	if (i >= nchunks)
		return PMO_BLOCK_NONE;
	const uint64_t hdrs = zone + sizeof(struct pmdk_zone_header);
	struct pmdk_chunk_header ch = chunk_header(&v, hdrs + sizeof ch * i);
	if (ch.type == PMDK_CHUNK_RUN_DATA) {
		if (ch.size_idx == 0 || ch.size_idx > i)
			return PMO_BLOCK_NONE;
		i -= ch.size_idx;
		ch = chunk_header(&v, hdrs + sizeof ch * i);
	}
	uint64_t chunk = data + i * PMDK_CHUNKSIZE;
	/* (The zone's last chunks may lie past what the view holds: a
	 * growable pool's heap grows before p->size follows it.) */
	if (ch.flags & ~PMDK_CHUNK_FLAGS_VALID || ch.size_idx == 0 || ch.size_idx > nchunks - i ||
	    !inside(&v, chunk, (uint64_t)ch.size_idx * PMDK_CHUNKSIZE))
		return PMO_BLOCK_NONE;
	enum hdr_kind k = hdr_kind(ch.flags);
	if (ch.type == PMDK_CHUNK_USED) /* a huge block: its data at its start */
		return k != HDR_NONE && off == chunk + hdr_size[k] ? PMO_BLOCK_HEADER
								   : PMO_BLOCK_NONE;
	if (ch.type != PMDK_CHUNK_RUN)
		return PMO_BLOCK_NONE;
	run_geometry g;
	if (run_geometry_of(&v, chunk, ch.size_idx, ch.flags, &g) != 0) {
		pmo_err_clear(); /* not damage to report here: the caller's
				  * "no object" says it */
		return PMO_BLOCK_NONE;
	}
	/* A unit's start (after its header).  Not whether the bitmap has it
	 * used: a block allocated in the running transaction is marked only
	 * when it commits (as an allocation header names a block whether or
	 * not it is still allocated). */
	uint64_t at = off - hdr_size[k];
	if (off < hdr_size[k] || at < g.data || (at - g.data) % g.unit != 0 ||
	    (at - g.data) / g.unit >= g.nbits)
		return PMO_BLOCK_NONE;
	*unit = g.unit;
	return k == HDR_NONE ? PMO_BLOCK_HEADLESS : PMO_BLOCK_HEADER;
}

int pmo_heap_space_of(const pmo_pool *p, pmo_heap_space *space, pmo_block_fn fn, void *ctx)
{
	pmo_pool_grew(p);
	pmo_heap_view v = {p->path, (const unsigned char *)p->base, p->size};
	*space = (pmo_heap_space){0};
	return walk_heap(&v, fn, ctx, space);
}
