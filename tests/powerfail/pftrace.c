/*
 * libpftrace.so: the tracing half of the power-failure simulator.
 *
 * Preloaded (LD_PRELOAD) into a workload, it interposes the libpmem calls
 * through which libpmemobj makes memory durable (pmem_flush, pmem_drain,
 * pmem_persist, pmem_msync, pmem_deep_*, pmem_memcpy/memmove/memset with
 * their flags), forwarding each to libpmem.  Once the workload calls
 * pf_start(base, len, trace_path) with the mapping of its pool, every
 * flushed cache line of that range is remembered with its content at the
 * flush, and every fence (a drain) writes one record to the trace:
 *
 *   u64 magic 'PFTRACE1' (first record only), then per fence:
 *   u64 fence number, u64 nflushed, u64 ndirty,
 *   nflushed x (u64 line, 64 bytes)   lines flushed since the last fence:
 *                                     durable from this fence on
 *   ndirty x (u64 line, 64 bytes)     lines that differ, after this fence,
 *                                     from the durable image: written but
 *                                     not flushed, which a cache could
 *                                     have evicted to pmem at any time
 *
 * From the file as it was at pf_start and this trace, crash images at any
 * fence, with any subset of in-flight or dirty lines, can be rebuilt
 * (tests/powerfail/powerfail.py).  pf_fences() tells the workload how
 * many fences have happened, so it can say when each transaction began
 * and ended.  Single-threaded workloads only.
 */
#define _GNU_SOURCE
#include <libpmem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libpmem_real.h" /* bench/c/flushcount */

#define LINE 64

static char *base, *shadow; /* the pool's mapping; its durable image */
static size_t length, nlines;
static uint8_t *pending;   /* lines flushed since the last fence */
static char *pending_data; /* their content at the flush */
static FILE *trace;
static uint64_t fences;
static __thread int depth;


int pf_start(void *b, size_t len, const char *path)
{
	base = b;
	length = len;
	nlines = len / LINE;
	shadow = malloc(len);
	pending = calloc(nlines, 1);
	pending_data = malloc(len);
	trace = fopen(path, "wb");
	if (!shadow || !pending || !pending_data || !trace)
		return -1;
	memcpy(shadow, base, len);              /* durable now: no transaction in flight */
	uint64_t magic = 0x3145434152544650ull; /* "PFTRACE1" */
	fwrite(&magic, 8, 1, trace);
	return 0;
}

void pf_stop(void)
{
	if (trace)
		fclose(trace);
	trace = NULL;
	base = NULL;
}

uint64_t pf_fences(void)
{
	return fences;
}

static void flushed(const void *addr, size_t len)
{
	if (!base || depth != 1 || !len)
		return;
	const char *a = addr;
	if (a + len <= base || a >= base + length)
		return;
	size_t lo = a < base ? 0 : (size_t)(a - base) / LINE;
	size_t hi = (size_t)((a + len > base + length ? base + length : a + len) - base - 1) / LINE;
	for (size_t l = lo; l <= hi && l < nlines; l++) {
		pending[l] = 1;
		memcpy(pending_data + l * LINE, base + l * LINE, LINE);
	}
}

static void fence(void)
{
	if (!base || depth != 1)
		return;
	fences++;
	uint64_t nflushed = 0, ndirty = 0;
	for (size_t l = 0; l < nlines; l++)
		nflushed += pending[l];
	long hdr = ftell(trace);
	uint64_t h[3] = {fences, nflushed, 0};
	fwrite(h, 8, 3, trace);
	for (size_t l = 0; l < nlines; l++) {
		if (!pending[l])
			continue;
		uint64_t line = l;
		fwrite(&line, 8, 1, trace);
		fwrite(pending_data + l * LINE, LINE, 1, trace);
		memcpy(shadow + l * LINE, pending_data + l * LINE, LINE);
		pending[l] = 0;
	}
	for (size_t l = 0; l < nlines; l++) {
		if (memcmp(shadow + l * LINE, base + l * LINE, LINE) == 0)
			continue;
		uint64_t line = l;
		fwrite(&line, 8, 1, trace);
		fwrite(base + l * LINE, LINE, 1, trace);
		ndirty++;
	}
	long end = ftell(trace);
	fseek(trace, hdr + 16, SEEK_SET);
	fwrite(&ndirty, 8, 1, trace);
	fseek(trace, end, SEEK_SET);
}

void pmem_flush(const void *addr, size_t len)
{
	REAL(void, pmem_flush, (const void *, size_t));
	depth++;
	flushed(addr, len);
	real_pmem_flush(addr, len);
	depth--;
}

void pmem_deep_flush(const void *addr, size_t len)
{
	REAL(void, pmem_deep_flush, (const void *, size_t));
	depth++;
	flushed(addr, len);
	real_pmem_deep_flush(addr, len);
	depth--;
}

void pmem_drain(void)
{
	REAL(void, pmem_drain, (void));
	depth++;
	real_pmem_drain();
	fence();
	depth--;
}

void pmem_persist(const void *addr, size_t len)
{
	REAL(void, pmem_persist, (const void *, size_t));
	depth++;
	flushed(addr, len);
	real_pmem_persist(addr, len);
	fence();
	depth--;
}

int pmem_msync(const void *addr, size_t len)
{
	REAL(int, pmem_msync, (const void *, size_t));
	depth++;
	flushed(addr, len);
	int rc = real_pmem_msync(addr, len);
	fence();
	depth--;
	return rc;
}

int pmem_deep_persist(const void *addr, size_t len)
{
	REAL(int, pmem_deep_persist, (const void *, size_t));
	depth++;
	flushed(addr, len);
	int rc = real_pmem_deep_persist(addr, len);
	fence();
	depth--;
	return rc;
}

/* The copies: the bytes land first, then they count as flushed (unless
 * NOFLUSH), then a fence unless NODRAIN. */
#define AFTER_COPY(dst, len, flags)                        \
	do {                                               \
		if (!((flags)&PMEM_F_MEM_NOFLUSH)) {       \
			flushed((dst), (len));             \
			if (!((flags)&PMEM_F_MEM_NODRAIN)) \
				fence();                   \
		}                                          \
	} while (0)

void *pmem_memcpy(void *dst, const void *src, size_t len, unsigned flags)
{
	REAL(void *, pmem_memcpy, (void *, const void *, size_t, unsigned));
	depth++;
	void *r = real_pmem_memcpy(dst, src, len, flags);
	AFTER_COPY(dst, len, flags);
	depth--;
	return r;
}

void *pmem_memmove(void *dst, const void *src, size_t len, unsigned flags)
{
	REAL(void *, pmem_memmove, (void *, const void *, size_t, unsigned));
	depth++;
	void *r = real_pmem_memmove(dst, src, len, flags);
	AFTER_COPY(dst, len, flags);
	depth--;
	return r;
}

void *pmem_memset(void *dst, int c, size_t len, unsigned flags)
{
	REAL(void *, pmem_memset, (void *, int, size_t, unsigned));
	depth++;
	void *r = real_pmem_memset(dst, c, len, flags);
	AFTER_COPY(dst, len, flags);
	depth--;
	return r;
}
