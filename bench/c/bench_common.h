/*
 * Shared pieces of the C benchmark harness (pmo_bench): the measurement
 * mode, pool files per benchmark family, and the counters reported beside
 * every timing.
 *
 * The harness is one executable that runs in one mode per process, because
 * libpmem reads PMEM_IS_PMEM_FORCE once, at its first use:
 *
 *   pmem         tmpfs (/dev/shm), PMEM_IS_PMEM_FORCE=1: cache-line flushes
 *   file         a disk directory (/var/tmp), PMEM_IS_PMEM_FORCE=0: msync
 *   tmpfs-msync  tmpfs, PMEM_IS_PMEM_FORCE=0: msync without a disk behind it
 *   dax          a DAX mount (PMO_BENCH_DIR), detection left to libpmem
 *
 * chosen by PMO_BENCH_MODE / PMO_BENCH_DIR or --pmo_mode= / --pmo_dir=
 * (see bench_main.cc; bench/modes.py defines the modes, and the
 * experiments run pmo_bench in each: experiments/modes.py, c_bench.py).
 *
 * Benchmarks are registered at run time (not with static BENCHMARK macros)
 * so the size lists can depend on --pmo_quick and on the mode.
 */
#ifndef PMO_BENCH_COMMON_H
#define PMO_BENCH_COMMON_H

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include <libpmemobj.h>

extern "C" {
#include "error.h"
#include "gc.h"
#include "heap.h"
#include "list.h"
#include "pool.h"
#include "preflight.h"
#include "slot.h"
#include "stats.h"
#include "tx.h"
#include "value.h"
}

struct BenchConfig {
	std::string mode;       /* pmem | file | tmpfs-msync | dax */
	std::string dir;        /* where pool files go */
	bool quick = false;     /* fewer sizes (an experiment's --quick) */
	int64_t iterations = 0; /* fixed iteration count, 0: Google Benchmark decides */
};

const BenchConfig &bench_config();

/* Path of a pool file of this process for a family ("tx", "alloc", ...). */
std::string bench_pool_path(const std::string &family);

/* The family's pool, created on first use (size bytes) and closed and
 * removed when the run ends.  NULL on failure, with the message in
 * bench_error(). */
pmo_pool *bench_family_pool(const std::string &family, size_t size);
PMEMobjpool *bench_raw_pool(const std::string &family, size_t size, const char *layout);
std::string bench_error();

/* Fixture pools, built once per run by a child process (see
 * bench_built_pool in bench_main.cc) and removed at the end:
 *   "heap"    a list of n distinct small str objects under the root
 *   "lookup"  a list of n ints, and a dict of n int keys and n str keys
 *             (bench_dict.cc), under the root as a list [list, dict]
 * bench_heap_pool returns the path ("" on failure); bench_open_built
 * opens the pool once per run and keeps it open until the end. */
std::string bench_built_pool(const std::string &kind, size_t n);
std::string bench_heap_pool(size_t n);
pmo_pool *bench_open_built(const std::string &kind, size_t n);

/* The lookup fixture (kLookupN entries): its pool, the offsets of its
 * list of ints and of its dict.  false (and the benchmark skipped) on
 * failure. */
constexpr size_t kLookupN = 4096;
bool bench_lookup_fixture(benchmark::State &state, pmo_pool **p, uint64_t *list_off,
			  uint64_t *dict_off);

/* Flushes libpmemobj asked libpmem for: calls of pmem_persist /
 * pmem_flush / pmem_msync and of the flushing forms of pmem_memcpy /
 * memmove / memset, with the bytes they covered, and store fences
 * (drains).  Counted by libpmo_flushcount.so (bench/c/flushcount/) when
 * it is preloaded; all zero and bench_flush_counting() false otherwise. */
struct FlushCounts {
	uint64_t flushes, flush_bytes, drains;
};
FlushCounts bench_flush_counts();
bool bench_flush_counting();

/*
 * Counters of a benchmark run: pool stats and flush counts, per iteration
 * (kAvgIterations).  Work done while timing is paused (between pause()
 * and resume()) is left out of the counters as it is of the time.
 */
class RunCounters {
public:
	RunCounters(benchmark::State &state, pmo_pool *p);
	void pause();  /* state.PauseTiming() and stop counting */
	void resume(); /* count again and state.ResumeTiming() */
	void finish(); /* write the counters into state.counters */

private:
	benchmark::State &state_;
	pmo_pool *p_;
	pmo_stats s0_{}, excl_{}, mark_{};
	FlushCounts f0_{}, fexcl_{}, fmark_{};
};

/* Report the error of the last core call and stop the benchmark. */
void bench_fail(benchmark::State &state, const char *what);

/* RegisterBenchmark, remembering the benchmark so main can apply run-wide
 * settings to it (PMO_BENCH_ITERATIONS: a fixed iteration count, for
 * instruction counting under valgrind). */
void bench_remember(benchmark::internal::Benchmark *b);
template <class Fn>
benchmark::internal::Benchmark *bench_register(const char *name, Fn &&fn)
{
	benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(name, fn);
	bench_remember(b);
	return b;
}

/* Registration of each family (one .cc file each). */
void register_tx_benchmarks();
void register_btree_benchmarks();
void register_raw_benchmarks();
void register_alloc_benchmarks();
void register_list_benchmarks();
void register_dict_benchmarks();
void register_heap_benchmarks(); /* gc, open, recovery */

/* Builders of the fixture pools (child process entries). */
int bench_build_heap(const char *path, size_t n, bool shuffled);
int bench_build_lookup(const char *path, size_t n);

#endif
