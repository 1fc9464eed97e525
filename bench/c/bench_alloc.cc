/*
 * Allocation and free by size, 16 B to 1 MiB, through src/tx.h
 * (pmo_tx_alloc / pmo_tx_free, each in a transaction of its own, as an
 * autocommit operation does it).
 *
 *   AllocFree/S   a transaction allocating S bytes, then one freeing them
 *                 (compare RawAllocFree32)
 *   Alloc/S       one allocation per transaction; the objects are freed in
 *                 batches while the timer is paused
 *   Free/S        one free per transaction; the objects are allocated in
 *                 batches while the timer is paused
 *
 * Memory is not zeroed (zero=0): that is a memset, not the allocator.
 */
#include "bench_common.h"

#include <vector>

namespace {

constexpr size_t kAllocPoolSize = (size_t)64 << 20;

/* Objects allocated or freed between two pauses: enough to make the pause
 * negligible, few enough to fit the pool at 1 MiB each. */
size_t batch_for(size_t size)
{
	size_t b = ((size_t)16 << 20) / size;
	return b < 1 ? 1 : b > 256 ? 256 : b;
}

uint64_t alloc_one(pmo_pool *p, size_t size)
{
	if (pmo_tx_begin(p) != 0)
		return 0;
	uint64_t off = pmo_tx_alloc(p, size, PMO_TYPENUM_RAW, 0);
	if (!off) {
		pmo_tx_fail(p);
		return 0;
	}
	return pmo_tx_end(p) == 0 ? off : 0;
}

int free_one(pmo_pool *p, uint64_t off)
{
	if (pmo_tx_begin(p) != 0)
		return -1;
	if (pmo_tx_free(p, off) != 0)
		return pmo_tx_fail(p);
	return pmo_tx_end(p);
}

/* Allocate or free a whole batch in one transaction (untimed set-up). */
int alloc_batch(pmo_pool *p, size_t size, std::vector<uint64_t> &offs, size_t n)
{
	if (pmo_tx_begin(p) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint64_t off = pmo_tx_alloc(p, size, PMO_TYPENUM_RAW, 0);
		if (!off)
			return pmo_tx_fail(p);
		offs.push_back(off);
	}
	return pmo_tx_end(p);
}

int free_batch(pmo_pool *p, std::vector<uint64_t> &offs)
{
	if (offs.empty())
		return 0;
	if (pmo_tx_begin(p) != 0)
		return -1;
	for (uint64_t off : offs)
		if (pmo_tx_free(p, off) != 0)
			return pmo_tx_fail(p);
	offs.clear();
	return pmo_tx_end(p);
}

#define ALLOC_SETUP                                               \
	size_t size = (size_t)state.range(0);                     \
	pmo_pool *p = bench_family_pool("alloc", kAllocPoolSize); \
	if (!p) {                                                 \
		state.SkipWithError(bench_error().c_str());       \
		return;                                           \
	}

void BM_AllocFree(benchmark::State &state)
{
	ALLOC_SETUP
	RunCounters c(state, p);
	for (auto _ : state) {
		uint64_t off = alloc_one(p, size);
		if (!off || free_one(p, off) != 0) {
			bench_fail(state, "alloc/free");
			break;
		}
	}
	c.finish();
	state.SetBytesProcessed((int64_t)(state.iterations() * size));
}

void BM_Alloc(benchmark::State &state)
{
	ALLOC_SETUP
	size_t batch = batch_for(size);
	std::vector<uint64_t> offs;
	offs.reserve(batch);
	RunCounters c(state, p);
	for (auto _ : state) {
		uint64_t off = alloc_one(p, size);
		if (!off) {
			bench_fail(state, "alloc");
			break;
		}
		offs.push_back(off);
		if (offs.size() == batch) {
			c.pause();
			int rc = free_batch(p, offs);
			c.resume();
			if (rc != 0) {
				bench_fail(state, "free batch");
				break;
			}
		}
	}
	c.finish();
	if (free_batch(p, offs) != 0)
		bench_fail(state, "free batch");
	state.SetBytesProcessed((int64_t)(state.iterations() * size));
}

void BM_Free(benchmark::State &state)
{
	ALLOC_SETUP
	size_t batch = batch_for(size);
	std::vector<uint64_t> offs;
	offs.reserve(batch);
	RunCounters c(state, p);
	for (auto _ : state) {
		if (offs.empty()) {
			c.pause();
			int rc = alloc_batch(p, size, offs, batch);
			c.resume();
			if (rc != 0) {
				bench_fail(state, "alloc batch");
				break;
			}
		}
		uint64_t off = offs.back();
		offs.pop_back();
		if (free_one(p, off) != 0) {
			bench_fail(state, "free");
			break;
		}
	}
	c.finish();
	if (free_batch(p, offs) != 0)
		bench_fail(state, "free batch");
	state.SetBytesProcessed((int64_t)(state.iterations() * size));
}

} // namespace

void register_alloc_benchmarks()
{
	bool quick = bench_config().quick;
	std::vector<int64_t> sizes, pair_sizes;
	if (quick) {
		sizes = {16, 32, 1024, 64 << 10, 1 << 20};
		pair_sizes = {32};
	} else {
		sizes = {16, 32, 64, 256, 1024, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20};
		pair_sizes = {32, 1024, 1 << 20};
	}
	auto *b = bench_register("AllocFree", BM_AllocFree);
	for (int64_t s : pair_sizes)
		b->Arg(s);
	b = bench_register("Alloc", BM_Alloc);
	for (int64_t s : sizes)
		b->Arg(s);
	b = bench_register("Free", BM_Free);
	for (int64_t s : sizes)
		b->Arg(s);
}
