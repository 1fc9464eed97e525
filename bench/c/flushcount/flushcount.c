/*
 * libpmo_flushcount.so: counts the flushes libpmemobj makes, for the
 * benchmarks' "flushes" counters.  Loaded with LD_PRELOAD by the counting
 * pass of the experiments (experiments/common.py, flush_counts); pmo_bench finds pmo_flushcount_get() with
 * dlsym and reports the counts per iteration.
 *
 * libpmemobj does not count its flushes, but makes every one of them
 * through libpmem's exported functions (pmem_persist, pmem_flush,
 * pmem_msync, pmem_drain and the pmem_mem* copies), through the PLT.  A
 * preloaded library that defines those symbols interposes them: each
 * definition here counts the call and forwards to libpmem's own (found
 * with dlvsym(RTLD_NEXT)).  So the counts are real calls, not an estimate:
 * in pmem mode a flush writes back its range's cache lines (the pmem_mem*
 * copies use non-temporal stores or flush after copying); in the msync
 * modes it is an msync(2) of the pages of its range.  "drains" are store
 * fences (pmem_drain, pmem_persist and the copies without NODRAIN).
 *
 * A call libpmem makes to its own exported functions inside one of these
 * (pmem_persist calling pmem_flush, say) is not counted again: a
 * per-thread depth guard counts only the outermost call.
 *
 * Why a preloaded library and not definitions in pmo_bench itself: being
 * in the call path costs several ns per flush, 5-12% of a transaction
 * here, which would skew the timings.  So timings come from a run without
 * it, and the counts from a separate, short run with it.
 */
#define _GNU_SOURCE
#include <libpmem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "libpmem_real.h"

static uint64_t n_flushes, n_flush_bytes, n_drains;
static __thread int depth;

void pmo_flushcount_get(uint64_t out[3])
{
	out[0] = n_flushes;
	out[1] = n_flush_bytes;
	out[2] = n_drains;
}


static inline int enter(void)
{
	return depth++ == 0;
}

static inline void leave(void)
{
	depth--;
}

static inline void count(int outer, size_t len, int drain)
{
	if (outer) {
		if (len != (size_t)-1) {
			n_flushes++;
			n_flush_bytes += len;
		}
		n_drains += drain != 0;
	}
}

void pmem_persist(const void *addr, size_t len)
{
	REAL(void, pmem_persist, (const void *, size_t));
	int outer = enter();
	count(outer, len, 1);
	real_pmem_persist(addr, len);
	leave();
}

void pmem_flush(const void *addr, size_t len)
{
	REAL(void, pmem_flush, (const void *, size_t));
	int outer = enter();
	count(outer, len, 0);
	real_pmem_flush(addr, len);
	leave();
}

int pmem_msync(const void *addr, size_t len)
{
	REAL(int, pmem_msync, (const void *, size_t));
	int outer = enter();
	count(outer, len, 0);
	int rc = real_pmem_msync(addr, len);
	leave();
	return rc;
}

void pmem_deep_flush(const void *addr, size_t len)
{
	REAL(void, pmem_deep_flush, (const void *, size_t));
	int outer = enter();
	count(outer, len, 0);
	real_pmem_deep_flush(addr, len);
	leave();
}

void pmem_drain(void)
{
	REAL(void, pmem_drain, (void));
	int outer = enter();
	count(outer, (size_t)-1, 1);
	real_pmem_drain();
	leave();
}

#define COPY_COUNT(len, flags)                                              \
	do {                                                                \
		if (!((flags)&PMEM_F_MEM_NOFLUSH))                          \
			count(outer, (len), !((flags)&PMEM_F_MEM_NODRAIN)); \
	} while (0)

void *pmem_memcpy(void *dst, const void *src, size_t len, unsigned flags)
{
	REAL(void *, pmem_memcpy, (void *, const void *, size_t, unsigned));
	int outer = enter();
	COPY_COUNT(len, flags);
	void *r = real_pmem_memcpy(dst, src, len, flags);
	leave();
	return r;
}

void *pmem_memmove(void *dst, const void *src, size_t len, unsigned flags)
{
	REAL(void *, pmem_memmove, (void *, const void *, size_t, unsigned));
	int outer = enter();
	COPY_COUNT(len, flags);
	void *r = real_pmem_memmove(dst, src, len, flags);
	leave();
	return r;
}

void *pmem_memset(void *dst, int c, size_t len, unsigned flags)
{
	REAL(void *, pmem_memset, (void *, int, size_t, unsigned));
	int outer = enter();
	COPY_COUNT(len, flags);
	void *r = real_pmem_memset(dst, c, len, flags);
	leave();
	return r;
}
