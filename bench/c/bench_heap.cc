/*
 * Whole-heap work over pools of 10^3 to 10^6 objects: gc, the open of a
 * clean pool, and the recovery of an unclean one.
 *
 * The heap of n objects is a list of n distinct 10-character str objects
 * under the root (n + 2 allocations with the list and its item array),
 * built once per run by a child process (bench_heap_pool).
 *
 *   Gc/N          pmo_gc over the open pool: mark from the root, sweep with
 *                 the heap walk (src/heapwalk.h); everything is live, so
 *                 nothing is written and the run can repeat.  ns per
 *                 object = time / N.
 *   GcShuffled/N  the same over a heap whose list holds the strs in a
 *                 random order, so marking reads them out of address order
 *                 (what the mark phase's prefetching is for, src/gc.c).
 *   Sweep/N       the sweep's share: the heap walk alone, reading each
 *                 block's object header as gc's sweep does for a live one.
 *   SweepPmdk/N   the same over libpmemobj's walk (pmemobj_first/next), as
 *                 gc swept before the heap walk: the baseline it replaced.
 *   OpenClean/N   pmo_pool_open of a cleanly closed pool (timed), then
 *                 close (untimed; its time is the close_us counter).
 *   OpenNoPreflight/N  the same without the read-only check of
 *                 libpmemobj's metadata (src/preflight.h): what that
 *                 check costs is OpenClean / OpenNoPreflight.
 *   Recover/N     the pool is marked unclean (its clean flag cleared with
 *                 pwrite, as a process killed while it had the pool open
 *                 leaves it), then open + gc, which is what opening an
 *                 unclean pool costs (python/_pmemobj runs gc there).  No
 *                 transaction was in flight, so libpmemobj has no log to
 *                 replay: this is the cost of our recovery, not PMDK's.
 */
#include "bench_common.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

extern "C" {
#include "heapwalk.h"
}

namespace {

std::string heap_or_skip(benchmark::State &state, const char *kind = "heap")
{
	std::string path = bench_built_pool(kind, (size_t)state.range(0));
	if (path.empty())
		state.SkipWithError(bench_error().c_str());
	return path;
}

void gc(benchmark::State &state, const char *kind)
{
	size_t n = (size_t)state.range(0);
	std::string path = heap_or_skip(state, kind);
	if (path.empty())
		return;
	pmo_pool *p = pmo_pool_open(path.c_str());
	if (!p) {
		bench_fail(state, "open");
		return;
	}
	/* One untimed run first: the first pass over a freshly opened pool
	 * faults its pages in, which is open's cost, not gc's. */
	pmo_gc_result warm;
	if (pmo_gc(p, nullptr, 0, &warm, nullptr, nullptr) != 0) {
		bench_fail(state, "gc");
		pmo_pool_close(p);
		return;
	}
	free(warm.type_counts);
	RunCounters c(state, p);
	uint64_t examined = 0;
	for (auto _ : state) {
		pmo_gc_result res;
		if (pmo_gc(p, nullptr, 0, &res, nullptr, nullptr) != 0) {
			bench_fail(state, "gc");
			break;
		}
		free(res.type_counts);
		if (res.live != n + 1 || res.orphans || res.cycles) {
			state.SkipWithError("gc found the heap not as built");
			break;
		}
		examined += res.examined;
	}
	c.finish();
	state.counters["objects"] = (double)n;
	state.counters["examined"] =
		benchmark::Counter((double)examined, benchmark::Counter::kAvgIterations);
	state.SetItemsProcessed((int64_t)(state.iterations() * n));
	pmo_pool_close(p);
}

/* Per block, what gc's sweep does for a live object: read its type
 * (summed, so that the reads are made). */
struct SweepSum {
	pmo_pool *pool;
	uint64_t types;
};

int sweep_block(void *ctx, const pmo_block *b)
{
	auto *s = static_cast<SweepSum *>(ctx);
	s->types += pmo_head_at(s->pool, b->off)->type;
	return 0;
}

void sweep(benchmark::State &state, bool pmdk)
{
	size_t n = (size_t)state.range(0);
	std::string path = heap_or_skip(state);
	if (path.empty())
		return;
	pmo_pool *p = pmo_pool_open(path.c_str());
	if (!p) {
		bench_fail(state, "open");
		return;
	}
	SweepSum sum = {p, 0};
	for (auto _ : state) {
		if (pmdk) {
			PMEMoid oid;
			POBJ_FOREACH(p->pop, oid)
			{
				pmo_block b = {oid.off, 0, 0};
				sweep_block(&sum, &b);
			}
		} else if (pmo_heap_walk(p, sweep_block, &sum) != 0) {
			bench_fail(state, "heap walk");
			break;
		}
		benchmark::DoNotOptimize(sum.types);
	}
	state.counters["objects"] = (double)n;
	state.SetItemsProcessed((int64_t)(state.iterations() * n));
	pmo_pool_close(p);
}

void BM_Sweep(benchmark::State &state)
{
	sweep(state, false);
}

void BM_SweepPmdk(benchmark::State &state)
{
	sweep(state, true);
}

void BM_Gc(benchmark::State &state)
{
	gc(state, "heap");
}

void BM_GcShuffled(benchmark::State &state)
{
	gc(state, "heap-shuffled");
}

void open_clean(benchmark::State &state, bool preflight)
{
	pmo_preflight_disable(!preflight);
	size_t n = (size_t)state.range(0);
	std::string path = heap_or_skip(state);
	if (path.empty())
		return;
	/* One untimed open and close first (the first after the build is
	 * cold: its page tables and libpmemobj's first mapping of the file). */
	pmo_pool *warm = pmo_pool_open(path.c_str());
	if (!warm) {
		bench_fail(state, "open");
		return;
	}
	pmo_pool_close(warm);
	uint64_t close_ns = 0;
	for (auto _ : state) {
		uint64_t t0 = pmo_now_ns();
		pmo_pool *p = pmo_pool_open(path.c_str());
		uint64_t t1 = pmo_now_ns();
		if (!p) {
			bench_fail(state, "open");
			break;
		}
		state.SetIterationTime((t1 - t0) / 1e9);
		if (p->was_unclean) {
			state.SkipWithError("pool was not clean");
			break;
		}
		if (pmo_pool_close(p) != 0) {
			bench_fail(state, "close");
			break;
		}
		close_ns += pmo_now_ns() - t1;
	}
	state.counters["objects"] = (double)n;
	state.counters["close_us"] =
		benchmark::Counter(close_ns / 1e3, benchmark::Counter::kAvgIterations);
	pmo_preflight_disable(0);
}

void BM_OpenClean(benchmark::State &state)
{
	open_clean(state, true);
}

void BM_OpenNoPreflight(benchmark::State &state)
{
	open_clean(state, false);
}

void BM_Recover(benchmark::State &state)
{
	size_t n = (size_t)state.range(0);
	std::string path = heap_or_skip(state);
	if (path.empty())
		return;
	/* Where the clean flag lives in the file (the pool maps from offset 0). */
	pmo_pool *p = pmo_pool_open(path.c_str());
	if (!p) {
		bench_fail(state, "open");
		return;
	}
	off_t clean_off = (off_t)pmo_offset(p, &p->root->clean);
	pmo_pool_close(p);
	int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		state.SkipWithError("cannot open the pool file");
		return;
	}
	uint64_t open_ns = 0, gc_ns = 0, freed = 0;
	for (auto _ : state) {
		const uint64_t zero = 0;
		if (pwrite(fd, &zero, sizeof zero, clean_off) != (ssize_t)sizeof zero) {
			state.SkipWithError("cannot clear the clean flag");
			break;
		}
		uint64_t t0 = pmo_now_ns();
		p = pmo_pool_open(path.c_str());
		uint64_t t1 = pmo_now_ns();
		if (!p) {
			bench_fail(state, "open");
			break;
		}
		pmo_gc_result res;
		int rc = p->was_unclean ? pmo_gc(p, nullptr, 0, &res, nullptr, nullptr) : -1;
		uint64_t t2 = pmo_now_ns();
		if (rc == 0) {
			free(res.type_counts);
			freed += res.orphans + res.cycles + res.subs_freed;
		}
		state.SetIterationTime((t2 - t0) / 1e9);
		open_ns += t1 - t0;
		gc_ns += t2 - t1;
		bool unclean = p->was_unclean;
		pmo_pool_close(p);
		if (!unclean) {
			state.SkipWithError("pool was not seen as unclean");
			break;
		}
		if (rc != 0) {
			state.SkipWithError("recovery gc failed");
			break;
		}
	}
	close(fd);
	state.counters["objects"] = (double)n;
	state.counters["open_us"] =
		benchmark::Counter(open_ns / 1e3, benchmark::Counter::kAvgIterations);
	state.counters["gc_us"] =
		benchmark::Counter(gc_ns / 1e3, benchmark::Counter::kAvgIterations);
	state.counters["freed"] =
		benchmark::Counter((double)freed, benchmark::Counter::kAvgIterations);
}

} // namespace

void register_heap_benchmarks()
{
	std::vector<int64_t> sizes;
	if (bench_config().quick)
		sizes = {1000, 100000};
	else
		sizes = {1000, 10000, 100000, 1000000};
	auto *b = bench_register("Gc", BM_Gc);
	for (int64_t n : sizes)
		b->Arg(n);
	b->Unit(benchmark::kMillisecond);
	for (auto [name, fn] :
	     {std::pair{"GcShuffled", BM_GcShuffled}, std::pair{"Sweep", BM_Sweep},
	      std::pair{"SweepPmdk", BM_SweepPmdk}}) {
		b = bench_register(name, fn);
		for (int64_t n : sizes)
			b->Arg(n);
		b->Unit(benchmark::kMillisecond);
	}
	b = bench_register("OpenClean", BM_OpenClean);
	for (int64_t n : sizes)
		b->Arg(n);
	b->UseManualTime()->Unit(benchmark::kMicrosecond);
	b = bench_register("OpenNoPreflight", BM_OpenNoPreflight);
	for (int64_t n : sizes)
		b->Arg(n);
	b->UseManualTime()->Unit(benchmark::kMicrosecond);
	b = bench_register("Recover", BM_Recover);
	for (int64_t n : sizes)
		b->Arg(n);
	b->UseManualTime()->Unit(benchmark::kMillisecond);
}
