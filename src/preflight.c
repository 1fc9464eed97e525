/* The read-only check of libpmemobj's metadata before open; see preflight.h. */
#include "preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "pool.h"

/* The pool descriptor (struct pmemobjpool, after the 4 KiB pool header). */
#define DSC_OFF 4096
#define DSC_SIZE 2048                    /* checksummed part */
#define DSC_LANES_OFFSET (DSC_OFF + 1024)
#define DSC_NLANES (DSC_OFF + 1032)
#define DSC_HEAP_OFFSET (DSC_OFF + 1040)
#define DSC_CHECKSUM (DSC_OFF + DSC_SIZE - 8)
#define DSC_ROOT_OFFSET (DSC_OFF + DSC_SIZE)
#define DSC_RUN_ID (DSC_OFF + DSC_SIZE + 8)
#define DSC_ROOT_SIZE (DSC_OFF + DSC_SIZE + 16)
#define MAX_LANES 1024

/* Lanes: three logs of a 64-byte header each, capacities fixed. */
#define LANE_SIZE 3072
#define ULOG_HDR 64
#define ULOG_NEXT 8
#define ULOG_GEN_NUM 24
#define ULOG_CAPACITY 16
static const struct {
	uint64_t off, capacity;
} lane_logs[3] = {{0, 192}, {256, 640}, {960, 2048}};   /* internal, external, undo */

/* The heap. */
#define CHUNKSIZE ((uint64_t)256 << 10)
#define MAX_CHUNK 65528u
#define HEAP_HDR_SIZE 1024
#define ZONE_HDR_SIZE 64
#define ZONE_META (ZONE_HDR_SIZE + 8 * (uint64_t)MAX_CHUNK)
#define ZONE_MAX_SIZE (ZONE_META + (uint64_t)MAX_CHUNK * CHUNKSIZE)
#define ZONE_MIN_SIZE (ZONE_META + CHUNKSIZE)
#define ZONE_MAGIC 0xC3F0A2D2u
enum { CHUNK_FREE = 2, CHUNK_USED = 3, CHUNK_RUN = 4, CHUNK_RUN_DATA = 5 };
#define CHUNK_FLAGS_VALID 0xFu
#define CHUNK_FLAG_COMPACT 0x1u
#define CHUNK_FLAG_HEADER_NONE 0x2u
#define CHUNK_FLAG_ALIGNED 0x4u
#define CHUNK_FLAG_FLEX_BITMAP 0x8u
#define RUN_HDR 16                        /* block_size, alignment */

static int disabled;

void pmo_preflight_disable(int disable)
{
	disabled = disable;
}

typedef struct {
	const char *path;
	const unsigned char *map;
	uint64_t size;
} file_view;

static uint64_t u64(const file_view *f, uint64_t off)
{
	uint64_t v;
	memcpy(&v, f->map + off, sizeof v);
	return v;
}

static uint32_t u32(const file_view *f, uint64_t off)
{
	uint32_t v;
	memcpy(&v, f->map + off, sizeof v);
	return v;
}

static uint16_t u16(const file_view *f, uint64_t off)
{
	uint16_t v;
	memcpy(&v, f->map + off, sizeof v);
	return v;
}

/* Does [off, off + len) lie inside the file? */
static int inside(const file_view *f, uint64_t off, uint64_t len)
{
	return off <= f->size && len <= f->size - off;
}

/* libpmemobj's checksum: a Fletcher-like sum over 32-bit words, starting
 * from `init`, in which the 8-byte word at csum_off (if inside) counts as
 * zero (PMDK's util_checksum_compute and util_checksum_seq). */
static uint64_t fletcher(const file_view *f, uint64_t off, uint64_t len, uint64_t csum_off,
			 uint64_t init)
{
	uint32_t lo = (uint32_t)init, hi = (uint32_t)(init >> 32);
	for (uint64_t p = off; p < off + len; p += 4) {
		if (p != csum_off && p != csum_off + 4)
			lo += u32(f, p);
		hi += lo;
	}
	return (uint64_t)hi << 32 | lo;
}

static int checksum_ok(const file_view *f, uint64_t off, uint64_t len, uint64_t csum_off)
{
	return u64(f, csum_off) == fletcher(f, off, len, csum_off, 0);
}

static int bad(const file_view *f, uint64_t off, const char *what)
{
	return pmo_err_corrupt(f->path, off, "%s", what);
}

static int check_descriptor(const file_view *f, uint64_t *lanes, uint64_t *nlanes,
			    uint64_t *heap)
{
	if (!inside(f, DSC_OFF, DSC_SIZE + 64))
		return bad(f, DSC_OFF, "the pool descriptor is cut off");
	if (!checksum_ok(f, DSC_OFF, DSC_SIZE, DSC_CHECKSUM))
		return bad(f, DSC_CHECKSUM, "the pool descriptor's checksum does not match");
	*lanes = u64(f, DSC_LANES_OFFSET);
	*nlanes = u64(f, DSC_NLANES);
	*heap = u64(f, DSC_HEAP_OFFSET);
	if (*lanes < DSC_OFF + DSC_SIZE || *nlanes == 0 || *nlanes > MAX_LANES ||
	    *heap < *lanes + *nlanes * LANE_SIZE || !inside(f, *heap, HEAP_HDR_SIZE + ZONE_MIN_SIZE))
		return bad(f, DSC_LANES_OFFSET, "the pool descriptor's lane or heap offsets are "
			   "out of place");
	uint64_t root = u64(f, DSC_ROOT_OFFSET), root_size = u64(f, DSC_ROOT_SIZE);
	if (root && (root < *heap || (root & 15) || !inside(f, root, root_size)))
		return bad(f, DSC_ROOT_OFFSET, "the root object's offset is outside the heap");
	if (u64(f, DSC_RUN_ID) & 1)
		return bad(f, DSC_RUN_ID, "the pool's run id is odd");
	return 0;
}

/* A lane's log.  Its capacity: the undo log (snapshots) always has its
 * full 2048 bytes, which libpmemobj writes up to without checking; a redo
 * log is seen with its full size, 0, or a smaller value after a crash in
 * the middle of an operation, never more.  Its `next` offset, which
 * libpmemobj follows at open before it checks the log's checksum, must
 * stand in the heap.  Only that first hop is checked: after a crash an
 * extension can legitimately hold anything, and libpmemobj copes with
 * that once it stands on an address in the heap. */
static int check_log(const file_view *f, uint64_t off, uint64_t capacity, int undo,
		     uint64_t heap)
{
	uint64_t cap = u64(f, off + ULOG_CAPACITY);
	if (undo ? cap != capacity : cap > capacity)
		return bad(f, off + ULOG_CAPACITY, "a lane's log has the wrong capacity");
	uint64_t next = u64(f, off + ULOG_NEXT);
	if (next && (next < heap || (next & 7) || !inside(f, next, ULOG_HDR)))
		return bad(f, off + ULOG_NEXT, "a lane's log points outside the heap");
	/* The entries, walked as libpmemobj walks them at open to decide
	 * whether the log needs recovery: it stops at an entry whose offset
	 * word is 0 or a buffer entry whose checksum fails, but before that
	 * it trusts an entry's kind (an unknown one has size 0: it loops for
	 * ever) and a buffer entry's size (it checksums that many bytes). */
	uint64_t data = off + ULOG_HDR;
	for (uint64_t o = 0; o < cap;) {
		uint64_t e = data + o, word = u64(f, e), size;
		if (word == 0)
			break;
		/* Where the entry writes when it is applied (recovery applies
		 * a valid log's entries without further checks). */
		uint64_t target = word & (((uint64_t)1 << 61) - 1), tlen = 8;
		switch (word >> 61) {
		case 0: case 1: case 2:        /* set, and, or: offset + value */
			size = 16;
			break;
		case 5: case 6: {              /* buffer set, buffer copy */
			uint64_t n = u64(f, e + 16);
			if (n > f->size || !inside(f, e, (24 + n + 63) & ~(uint64_t)63))
				return bad(f, e + 16, "a log entry's size reaches past the pool");
			size = (24 + n + 63) & ~(uint64_t)63;
			uint64_t sum = fletcher(f, e, size, e + 8, 0);
			sum = fletcher(f, off + ULOG_GEN_NUM, 8, UINT64_MAX, sum);
			if (u64(f, e + 8) != sum)
				return 0;      /* libpmemobj stops here: the rest is stale */
			tlen = n;
			break;
		}
		default:
			return bad(f, e, "a lane's log holds an entry of an unknown kind");
		}
		if (!inside(f, target, tlen) || target < DSC_OFF)
			return bad(f, e, "a lane's log entry writes outside the pool");
		o += size;
	}
	return 0;
}

static int check_lanes(const file_view *f, uint64_t lanes, uint64_t nlanes, uint64_t heap)
{
	for (uint64_t i = 0; i < nlanes; i++)
		for (int k = 0; k < 3; k++)
			if (check_log(f, lanes + i * LANE_SIZE + lane_logs[k].off,
				      lane_logs[k].capacity, k == 2, heap) != 0)
				return -1;
	return 0;
}

/* One zone: its header, and its chunk headers walked block by block. */
static int check_zone(const file_view *f, uint64_t zone, uint64_t max_chunks)
{
	uint32_t magic = u32(f, zone);
	if (magic == 0)
		return 0;                      /* never used: libpmemobj allows it */
	if (magic != ZONE_MAGIC)
		return bad(f, zone, "a heap zone header has a bad magic number");
	uint32_t nchunks = u32(f, zone + 4);
	if (nchunks == 0 || nchunks > max_chunks)
		return bad(f, zone + 4, "a heap zone's size does not fit the heap");
	uint64_t hdrs = zone + ZONE_HDR_SIZE, data = zone + ZONE_META;
	for (uint32_t i = 0; i < nchunks;) {
		uint64_t h = hdrs + 8 * (uint64_t)i;
		uint16_t type = u16(f, h), flags = u16(f, h + 2);
		uint32_t n = u32(f, h + 4);
		if ((type != CHUNK_FREE && type != CHUNK_USED && type != CHUNK_RUN) ||
		    (flags & ~CHUNK_FLAGS_VALID))
			return bad(f, h, "a chunk header has an invalid type or flags");
		if (n == 0 || n > nchunks - i)
			return bad(f, h, "a chunk header's size does not fit its zone");
		uint64_t chunk = data + (uint64_t)i * CHUNKSIZE;
		if (type == CHUNK_RUN) {
			uint64_t block = u64(f, chunk), align = u64(f, chunk + 8);
			uint64_t room = (uint64_t)n * CHUNKSIZE - RUN_HDR;
			if (block == 0 || block > room || (block & 7))
				return bad(f, chunk, "a run's block size does not fit the run");
			if ((flags & CHUNK_FLAG_ALIGNED) &&
			    (align == 0 || (align & (align - 1)) || align > room))
				return bad(f, chunk + 8, "a run's alignment is invalid");
			for (uint32_t k = 1; k < n; k++)
				if (u16(f, h + 8 * (uint64_t)k) != CHUNK_RUN_DATA)
					return bad(f, h + 8 * (uint64_t)k,
						   "a chunk inside a run is not marked as run data");
		}
		i += n;
	}
	return 0;
}

static int check_heap(const file_view *f, uint64_t heap)
{
	static const char sig[16] = "MEMORY_HEAP_HDR";
	if (memcmp(f->map + heap, sig, sizeof sig) != 0)
		return bad(f, heap, "the heap header's signature is wrong");
	if (!checksum_ok(f, heap, HEAP_HDR_SIZE, heap + HEAP_HDR_SIZE - 8))
		return bad(f, heap + HEAP_HDR_SIZE - 8, "the heap header's checksum does not match");
	if (u64(f, heap + 16) != 1 || u64(f, heap + 40) != CHUNKSIZE ||
	    u64(f, heap + 48) != MAX_CHUNK)
		return bad(f, heap + 16, "the heap header's version or chunk geometry is wrong");
	/* Zones as libpmemobj lays them out over what follows the header. */
	uint64_t zone = heap + HEAP_HDR_SIZE;
	while (f->size - zone >= ZONE_MIN_SIZE) {
		uint64_t len = f->size - zone < ZONE_MAX_SIZE ? f->size - zone : ZONE_MAX_SIZE;
		if (check_zone(f, zone, (len - ZONE_META) / CHUNKSIZE) != 0)
			return -1;
		zone += len;
	}
	return 0;
}

/* The used blocks of one run (a flexible-bitmap run of n chunks at
 * `chunk`, PMDK 1.12 memblock.c memblock_run_bitmap): each must have a
 * nonzero size in its allocation header. */
static int check_run_blocks(const file_view *f, uint64_t chunk, uint32_t n, uint16_t flags)
{
	if (!(flags & CHUNK_FLAG_FLEX_BITMAP) || (flags & CHUNK_FLAG_HEADER_NONE))
		return 0;        /* older layouts, or blocks without headers */
	uint64_t unit = u64(f, chunk), align = u64(f, chunk + 8);
	uint64_t content = (uint64_t)n * CHUNKSIZE - RUN_HDR;
	uint64_t nbits = content / unit;
	uint64_t nvalues = (nbits + 63) / 64;
	/* Rounded so that, with the 2 words of the run header, the data
	 * starts on a cache line. */
	nvalues = ((nvalues + 2 + 7) & ~(uint64_t)7) - 2;
	uint64_t bitmap = nvalues * 8;
	if (bitmap >= content)
		return bad(f, chunk, "a run's bitmap does not fit the run");
	nbits = (content - bitmap) / unit - (align ? 1 : 0);
	uint64_t hsize = (flags & CHUNK_FLAG_COMPACT) ? 16 : 64;
	uint64_t start = chunk + RUN_HDR + bitmap;
	if (flags & CHUNK_FLAG_ALIGNED)
		start = ((start + hsize + align - 1) & ~(align - 1)) - hsize;
	/* The size word: first in a compact header, second in a legacy one. */
	uint64_t size_at = (flags & CHUNK_FLAG_COMPACT) ? 0 : 8;
	for (uint64_t b = 0; b < nbits;) {
		uint64_t word = u64(f, chunk + RUN_HDR + 8 * (b / 64));
		if (!(word >> (b % 64) & 1)) {
			b++;
			continue;
		}
		uint64_t h = start + b * unit;
		if (!inside(f, h, 16))
			return bad(f, chunk, "a run's block lies outside the pool");
		uint64_t size = u64(f, h + size_at) & (((uint64_t)1 << 48) - 1);
		if (size == 0)
			return bad(f, h, "a used block of a run has no size in its header");
		b += (size + unit - 1) / unit;
	}
	return 0;
}

int pmo_heap_runs_check(const pmo_pool *p)
{
	file_view f = {p->path, (const unsigned char *)p->base, p->size};
	uint64_t heap = u64(&f, DSC_HEAP_OFFSET);
	for (uint64_t zone = heap + HEAP_HDR_SIZE; f.size - zone >= ZONE_MIN_SIZE;) {
		uint64_t len = f.size - zone < ZONE_MAX_SIZE ? f.size - zone : ZONE_MAX_SIZE;
		if (u32(&f, zone) == ZONE_MAGIC) {
			uint32_t nchunks = u32(&f, zone + 4);
			for (uint32_t i = 0; i < nchunks;) {
				uint64_t h = zone + ZONE_HDR_SIZE + 8 * (uint64_t)i;
				uint32_t n = u32(&f, h + 4);
				if (n == 0 || n > nchunks - i)
					return bad(&f, h, "a chunk header's size does not fit its zone");
				if (u16(&f, h) == CHUNK_RUN &&
				    check_run_blocks(&f, zone + ZONE_META + (uint64_t)i * CHUNKSIZE, n,
						     u16(&f, h + 2)) != 0)
					return -1;
				i += n;
			}
		}
		zone += len;
	}
	return 0;
}

int pmo_preflight(const char *path)
{
	if (disabled)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pmo_err(errno, "cannot open pool %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return pmo_err(e, "cannot open pool %s: %s", path, strerror(e));
	}
	file_view f = {path, NULL, (uint64_t)st.st_size};
	void *m = f.size ? mmap(NULL, f.size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	close(fd);
	if (m == MAP_FAILED)
		return pmo_err(errno ? errno : EINVAL, "cannot map pool %s: %s", path,
			       strerror(errno ? errno : EINVAL));
	f.map = m;
	uint64_t lanes = 0, nlanes = 0, heap = 0;
	int rc = check_descriptor(&f, &lanes, &nlanes, &heap);
	if (rc == 0)
		rc = check_lanes(&f, lanes, nlanes, heap);
	if (rc == 0)
		rc = check_heap(&f, heap);
	munmap(m, f.size);
	return rc;
}
