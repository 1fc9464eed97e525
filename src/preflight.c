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
#include "heapwalk.h"
#include "pmdk_layout.h"
#include "poolset.h"

/* Each lane's logs: internal, external, undo. */
static const struct {
	uint64_t off, capacity;
} lane_logs[3] = {{PMDK_LANE_INTERNAL_LOG, PMDK_LANE_INTERNAL_CAPACITY},
		  {PMDK_LANE_EXTERNAL_LOG, PMDK_LANE_EXTERNAL_CAPACITY},
		  {PMDK_LANE_UNDO_LOG, PMDK_LANE_UNDO_CAPACITY}};

static int disabled;

void pmo_preflight_disable(int disable)
{
	disabled = disable;
}

/* The file, mapped privately and read-only. */
typedef pmo_heap_view file_view;

static uint64_t u64(const file_view *f, uint64_t off)
{
	uint64_t v;
	memcpy(&v, f->base + off, sizeof v);
	return v;
}

static uint32_t u32(const file_view *f, uint64_t off)
{
	uint32_t v;
	memcpy(&v, f->base + off, sizeof v);
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

static int check_descriptor(const file_view *f, uint64_t *lanes, uint64_t *nlanes, uint64_t *heap)
{
	if (!inside(f, PMDK_DSC_OFF, PMDK_DSC_SIZE + 64))
		return bad(f, PMDK_DSC_OFF, "the pool descriptor is cut off");
	if (!checksum_ok(f, PMDK_DSC_OFF, PMDK_DSC_SIZE, PMDK_DSC_CHECKSUM))
		return bad(f, PMDK_DSC_CHECKSUM, "the pool descriptor's checksum does not match");
	*lanes = u64(f, PMDK_DSC_LANES_OFFSET);
	*nlanes = u64(f, PMDK_DSC_NLANES);
	*heap = u64(f, PMDK_DSC_HEAP_OFFSET);
	if (*lanes < PMDK_DSC_OFF + PMDK_DSC_SIZE || *nlanes == 0 || *nlanes > PMDK_MAX_LANES ||
	    *heap < *lanes + *nlanes * PMDK_LANE_SIZE ||
	    !inside(f, *heap, sizeof(struct pmdk_heap_header) + PMDK_ZONE_MIN_SIZE))
		return bad(f, PMDK_DSC_LANES_OFFSET,
			   "the pool descriptor's lane or heap offsets are "
			   "out of place");
	uint64_t root = u64(f, PMDK_DSC_ROOT_OFFSET), root_size = u64(f, PMDK_DSC_ROOT_SIZE);
	if (root && (root < *heap || (root & 15) || !inside(f, root, root_size)))
		return bad(f, PMDK_DSC_ROOT_OFFSET, "the root object's offset is outside the heap");
	if (u64(f, PMDK_DSC_RUN_ID) & 1)
		return bad(f, PMDK_DSC_RUN_ID, "the pool's run id is odd");
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
static int check_log(const file_view *f, uint64_t off, uint64_t capacity, int undo, uint64_t heap)
{
	uint64_t cap = u64(f, off + PMDK_ULOG_CAPACITY);
	if (undo ? cap != capacity : cap > capacity)
		return bad(f, off + PMDK_ULOG_CAPACITY, "a lane's log has the wrong capacity");
	uint64_t next = u64(f, off + PMDK_ULOG_NEXT);
	if (next && (next < heap || (next & 7) || !inside(f, next, PMDK_ULOG_HDR)))
		return bad(f, off + PMDK_ULOG_NEXT, "a lane's log points outside the heap");
	/* The entries, walked as libpmemobj walks them at open to decide
	 * whether the log needs recovery: it stops at an entry whose offset
	 * word is 0 or a buffer entry whose checksum fails, but before that
	 * it trusts an entry's kind (an unknown one has size 0: it loops for
	 * ever) and a buffer entry's size (it checksums that many bytes). */
	uint64_t data = off + PMDK_ULOG_HDR;
	for (uint64_t o = 0; o < cap;) {
		uint64_t e = data + o, word = u64(f, e), size;
		if (word == 0)
			break;
		/* Where the entry writes when it is applied (recovery applies
		 * a valid log's entries without further checks). */
		uint64_t target = word & (((uint64_t)1 << 61) - 1), tlen = 8;
		switch (word >> 61) {
		case 0:
		case 1:
		case 2: /* set, and, or: offset + value */
			size = 16;
			break;
		case 5:
		case 6: { /* buffer set, buffer copy */
			uint64_t n = u64(f, e + 16);
			if (n > f->size || !inside(f, e, (24 + n + 63) & ~(uint64_t)63))
				return bad(f, e + 16, "a log entry's size reaches past the pool");
			size = (24 + n + 63) & ~(uint64_t)63;
			uint64_t sum = fletcher(f, e, size, e + 8, 0);
			sum = fletcher(f, off + PMDK_ULOG_GEN_NUM, 8, UINT64_MAX, sum);
			if (u64(f, e + 8) != sum)
				return 0; /* libpmemobj stops here: the rest is stale */
			tlen = n;
			break;
		}
		default:
			return bad(f, e, "a lane's log holds an entry of an unknown kind");
		}
		if (!inside(f, target, tlen) || target < PMDK_DSC_OFF)
			return bad(f, e, "a lane's log entry writes outside the pool");
		o += size;
	}
	return 0;
}

static int check_lanes(const file_view *f, uint64_t lanes, uint64_t nlanes, uint64_t heap)
{
	for (uint64_t i = 0; i < nlanes; i++)
		for (int k = 0; k < 3; k++)
			if (check_log(f, lanes + i * PMDK_LANE_SIZE + lane_logs[k].off,
				      lane_logs[k].capacity, k == 2, heap) != 0)
				return -1;
	return 0;
}

/* The heap header, then its zones, chunks and runs as the heap walk
 * checks them (heapwalk.h), without reading the blocks. */
static int check_heap(const file_view *f, uint64_t heap)
{
	struct pmdk_heap_header h;
	memcpy(&h, f->base + heap, sizeof h);
	static const char sig[16] = "MEMORY_HEAP_HDR";
	if (memcmp(h.signature, sig, sizeof sig) != 0)
		return bad(f, heap, "the heap header's signature is wrong");
	uint64_t csum = heap + offsetof(struct pmdk_heap_header, checksum);
	if (!checksum_ok(f, heap, sizeof h, csum))
		return bad(f, csum, "the heap header's checksum does not match");
	if (h.major != 1 || h.chunksize != PMDK_CHUNKSIZE || h.chunks_per_zone != PMDK_MAX_CHUNK)
		return bad(f, heap + offsetof(struct pmdk_heap_header, major),
			   "the heap header's version or chunk geometry is wrong");
	return pmo_heap_walk_view(f, NULL, NULL);
}

/* The checks over a mapping of the whole pool.  In a growable pool the
 * heap ends where its persistent size says (poolset.h), which must lie
 * within the parts; after a kill in an extension the size may be ahead
 * of the last zone's header, which libpmemobj then completes at open and
 * the walk accepts (a zone's chunks may fall short of its room). */
static int preflight_view(const file_view *f, int growable)
{
	uint64_t lanes = 0, nlanes = 0, heap = 0;
	int rc = check_descriptor(f, &lanes, &nlanes, &heap);
	if (rc == 0)
		rc = check_lanes(f, lanes, nlanes, heap);
	if (rc != 0)
		return rc;
	file_view hv = *f;
	if (growable) {
		uint64_t hs = u64(f, PMDK_DSC_HEAP_SIZE);
		/* 0: libpmemobj sets it to all that is mapped at open. */
		if (hs != 0 && (hs < sizeof(struct pmdk_heap_header) + PMDK_ZONE_MIN_SIZE ||
				hs > f->size - heap))
			return bad(f, PMDK_DSC_HEAP_SIZE,
				   "the heap's size does not fit the pool's "
				   "parts");
		if (hs != 0)
			hv.size = heap + hs;
	}
	/* A zone header of zeros reads as a zone never used, which libpmemobj
	 * formats afresh at the next allocation -- over the objects in it.
	 * The root object always lies in a zone in use. */
	uint64_t root = u64(f, PMDK_DSC_ROOT_OFFSET);
	uint64_t zones = heap + sizeof(struct pmdk_heap_header);
	if (root >= zones && root < hv.size) {
		uint64_t zone = zones + (root - zones) / PMDK_ZONE_MAX_SIZE * PMDK_ZONE_MAX_SIZE;
		if (u32(f, zone + offsetof(struct pmdk_zone_header, magic)) == 0)
			return bad(f, zone,
				   "the heap zone that holds the root object has a zeroed "
				   "header (libpmemobj would reformat it over the objects in it)");
	}
	return check_heap(&hv, heap);
}

int pmo_preflight(const char *path)
{
	if (disabled)
		return 0;
	if (pmo_is_pool_set(path)) {
		pmo_set s;
		if (pmo_set_read(path, &s) != 0)
			return -1;
		void *m;
		int rc = pmo_set_map(&s, path, &m);
		if (rc == 0) {
			file_view f = {path, m, s.total, NULL};
			rc = preflight_view(&f, 1);
			munmap(m, s.total);
		}
		pmo_set_free(&s);
		return rc;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pmo_err(errno, "cannot open pool %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return pmo_err(e, "cannot open pool %s: %s", path, strerror(e));
	}
	file_view f = {path, NULL, (uint64_t)st.st_size, NULL};
	void *m = f.size ? mmap(NULL, f.size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
	if (m == MAP_FAILED) {
		int e = errno ? errno : EINVAL;
		close(fd);
		return pmo_err(e, "cannot map pool %s: %s", path, strerror(e));
	}
	f.base = m;
	/* The descriptor and the lanes, read word by word, through the
	 * mapping; the heap's headers, a word or two a chunk, by pread. */
	f.reader = pmo_heap_reader_new(fd);
	int rc = preflight_view(&f, 0);
	pmo_heap_reader_free(f.reader);
	munmap(m, f.size);
	close(fd);
	return rc;
}
