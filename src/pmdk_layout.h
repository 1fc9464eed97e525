/*
 * libpmemobj's on-media layout, as far as pmemobj reads it itself.
 *
 * pmemobj reads libpmemobj's metadata without libpmemobj in two places:
 * preflight.c checks a file before pmemobj_open trusts it, and
 * heapwalk.c enumerates the heap's allocations for gc and check, faster
 * than pmemobj_first/next and without following anything unchecked.
 * Both read the layout of PMDK 1.12 (src/libpmemobj/{obj.h, lane.h,
 * ulog.h, heap_layout.h, memblock.c}), written down here once.  The
 * layout is a file format: the sizes and offsets are pinned by the
 * _Static_asserts below, and the tests hold the walk to libpmemobj's own
 * on real pools (tests/c/test_heapwalk.c).
 *
 * All fields are little-endian, as libpmemobj writes them on x86-64.
 */
#ifndef PMO_PMDK_LAYOUT_H
#define PMO_PMDK_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* --- the pool descriptor (struct pmemobjpool, after the 4 KiB pool header) */
#define PMDK_DSC_OFF 4096
#define PMDK_DSC_SIZE 2048 /* the checksummed part */
#define PMDK_DSC_LANES_OFFSET (PMDK_DSC_OFF + 1024)
#define PMDK_DSC_NLANES (PMDK_DSC_OFF + 1032)
#define PMDK_DSC_HEAP_OFFSET (PMDK_DSC_OFF + 1040)
#define PMDK_DSC_CHECKSUM (PMDK_DSC_OFF + PMDK_DSC_SIZE - 8)
#define PMDK_DSC_ROOT_OFFSET (PMDK_DSC_OFF + PMDK_DSC_SIZE)
#define PMDK_DSC_RUN_ID (PMDK_DSC_OFF + PMDK_DSC_SIZE + 8)
#define PMDK_DSC_ROOT_SIZE (PMDK_DSC_OFF + PMDK_DSC_SIZE + 16)
/* The heap's size in bytes (from the heap offset), kept by libpmemobj and
 * raised, then persisted, by heap_extend before it formats the new chunks:
 * the bound of a growing pool (poolset.h). */
#define PMDK_DSC_HEAP_SIZE (PMDK_DSC_OFF + PMDK_DSC_SIZE + 32)
#define PMDK_MAX_LANES 1024

/* --- lanes: three logs of a 64-byte header each, capacities fixed --------- */
#define PMDK_LANE_SIZE 3072
#define PMDK_ULOG_HDR 64
#define PMDK_ULOG_NEXT 8
#define PMDK_ULOG_GEN_NUM 24
#define PMDK_ULOG_CAPACITY 16
/* Where each of a lane's logs starts in it, and its fixed capacity. */
#define PMDK_LANE_INTERNAL_LOG 0
#define PMDK_LANE_INTERNAL_CAPACITY 192
#define PMDK_LANE_EXTERNAL_LOG 256
#define PMDK_LANE_EXTERNAL_CAPACITY 640
#define PMDK_LANE_UNDO_LOG 960
#define PMDK_LANE_UNDO_CAPACITY 2048

/* --- the heap ----------------------------------------------------------- */
#define PMDK_CHUNKSIZE ((uint64_t)256 << 10)
#define PMDK_MAX_CHUNK 65528u /* chunks in a full zone */

struct pmdk_heap_header {
	char signature[16]; /* "MEMORY_HEAP_HDR\0" */
	uint64_t major;     /* 1 */
	uint64_t minor;
	uint64_t unused;
	uint64_t chunksize;       /* PMDK_CHUNKSIZE */
	uint64_t chunks_per_zone; /* PMDK_MAX_CHUNK */
	uint8_t reserved[960];
	uint64_t checksum;
};

#define PMDK_ZONE_MAGIC 0xC3F0A2D2u

struct pmdk_zone_header {
	uint32_t magic;    /* PMDK_ZONE_MAGIC, or 0: never used */
	uint32_t size_idx; /* chunks in the zone */
	uint8_t reserved[56];
};

enum pmdk_chunk_type {
	PMDK_CHUNK_FOOTER = 1, /* last header of a multi-chunk block */
	PMDK_CHUNK_FREE = 2,
	PMDK_CHUNK_USED = 3,    /* a huge allocation of whole chunks */
	PMDK_CHUNK_RUN = 4,     /* a run of small blocks */
	PMDK_CHUNK_RUN_DATA = 5 /* a later chunk of a run */
};

enum pmdk_chunk_flags {
	PMDK_CHUNK_FLAG_COMPACT_HEADER = 0x1,
	PMDK_CHUNK_FLAG_HEADER_NONE = 0x2,
	PMDK_CHUNK_FLAG_ALIGNED = 0x4,
	PMDK_CHUNK_FLAG_FLEX_BITMAP = 0x8,
	PMDK_CHUNK_FLAGS_VALID = 0xF
};

struct pmdk_chunk_header {
	uint16_t type;     /* enum pmdk_chunk_type */
	uint16_t flags;    /* enum pmdk_chunk_flags */
	uint32_t size_idx; /* chunks in the block (RUN_DATA: its
					    * distance from the run's first chunk) */
};

/* A zone: its header, the headers of all its chunks, then the chunks. */
#define PMDK_ZONE_META                     \
	(sizeof(struct pmdk_zone_header) + \
	 sizeof(struct pmdk_chunk_header) * (uint64_t)PMDK_MAX_CHUNK)
#define PMDK_ZONE_MAX_SIZE (PMDK_ZONE_META + (uint64_t)PMDK_MAX_CHUNK * PMDK_CHUNKSIZE)
#define PMDK_ZONE_MIN_SIZE (PMDK_ZONE_META + PMDK_CHUNKSIZE)

/* The first chunk of a run starts with this, then the allocation bitmap
 * (a set bit per used unit), then the units. */
struct pmdk_run_header {
	uint64_t block_size; /* the unit */
	uint64_t alignment;  /* of user data; only with CHUNK_FLAG_ALIGNED */
};

/* Every allocation (a run's block, or a huge block's first chunk) starts
 * with a header of the kind its chunk's flags name; the user data follows. */
struct pmdk_alloc_header_compact {
	uint64_t size;  /* low 48 bits: the block's bytes, header
					    * included; high 16: flags */
	uint64_t extra; /* the type number */
};

struct pmdk_alloc_header_legacy {
	uint8_t unused[8];
	uint64_t size; /* the block's bytes, header included */
	uint8_t unused2[32];
	uint64_t root_size; /* high 16 bits: flags */
	uint64_t type_num;
};

#define PMDK_ALLOC_SIZE_MASK (((uint64_t)1 << 48) - 1)
#define PMDK_ALLOC_FLAGS_SHIFT 48
/* A flag of libpmemobj's own allocations (log extensions), which
 * pmemobj_first/next skip. */
#define PMDK_ALLOC_FLAG_INTERNAL ((uint64_t)1 << 15)

#define PMDK_RUN_BITS_PER_VALUE 64u
#define PMDK_CACHELINE 64u

_Static_assert(sizeof(struct pmdk_heap_header) == 1024, "PMDK 1.12 heap header");
_Static_assert(offsetof(struct pmdk_heap_header, chunksize) == 40, "PMDK 1.12 heap header");
_Static_assert(offsetof(struct pmdk_heap_header, checksum) == 1016, "PMDK 1.12 heap header");
_Static_assert(sizeof(struct pmdk_zone_header) == 64, "PMDK 1.12 zone header");
_Static_assert(sizeof(struct pmdk_chunk_header) == 8, "PMDK 1.12 chunk header");
_Static_assert(offsetof(struct pmdk_chunk_header, size_idx) == 4, "PMDK 1.12 chunk header");
_Static_assert(sizeof(struct pmdk_run_header) == 16, "PMDK 1.12 run header");
_Static_assert(sizeof(struct pmdk_alloc_header_compact) == 16, "PMDK 1.12 compact header");
_Static_assert(sizeof(struct pmdk_alloc_header_legacy) == 64, "PMDK 1.12 legacy header");
_Static_assert(offsetof(struct pmdk_alloc_header_legacy, size) == 8, "PMDK 1.12 legacy header");
_Static_assert(offsetof(struct pmdk_alloc_header_legacy, root_size) == 48,
	       "PMDK 1.12 legacy header");
_Static_assert(offsetof(struct pmdk_alloc_header_legacy, type_num) == 56,
	       "PMDK 1.12 legacy header");
_Static_assert(PMDK_LANE_INTERNAL_LOG + PMDK_ULOG_HDR + PMDK_LANE_INTERNAL_CAPACITY ==
			       PMDK_LANE_EXTERNAL_LOG &&
		       PMDK_LANE_EXTERNAL_LOG + PMDK_ULOG_HDR + PMDK_LANE_EXTERNAL_CAPACITY ==
			       PMDK_LANE_UNDO_LOG &&
		       PMDK_LANE_UNDO_LOG + PMDK_ULOG_HDR + PMDK_LANE_UNDO_CAPACITY ==
			       PMDK_LANE_SIZE,
	       "PMDK 1.12 lane: three logs, each a header and its capacity, back to back");
_Static_assert(PMDK_ZONE_META == 524288, "PMDK 1.12 zone: 64 + 8 * 65528 bytes of headers");
_Static_assert((PMDK_ZONE_META + sizeof(struct pmdk_heap_header)) % PMDK_CACHELINE == 0,
	       "the first chunk is cache-line aligned");

#endif
