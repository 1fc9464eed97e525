/*
 * pmo_bench: entry point, measurement mode, pool files and counters.
 *
 * Usage:
 *   PMO_BENCH_MODE=pmem pmo_bench [--pmo_mode=MODE] [--pmo_dir=DIR]
 *                                 [--pmo_quick] [--pmo_iterations=N]
 *                                 [benchmark flags...]
 *
 * (or PMO_BENCH_MODE, PMO_BENCH_DIR, PMO_BENCH_QUICK=1,
 * PMO_BENCH_ITERATIONS=N in the environment).  --pmo_quick registers fewer
 * sizes; --pmo_iterations fixes every benchmark's iteration count (for
 * instruction counts under valgrind, see scripts/perf.sh).
 *
 * The mode sets PMEM_IS_PMEM_FORCE before anything touches libpmem (it is
 * read once per process): 1 for pmem, 0 for file and tmpfs-msync, unset
 * for dax (libpmem detects real pmem).  Pool files are
 * DIR/pmo_bench-PID-FAMILY.pool, one per benchmark family, removed at the
 * end of the run (also on SIGINT/SIGTERM).  The JSON context names the
 * mode, the directory, the force flag, whether libpmem saw the directory
 * as pmem, whether the pool counters are compiled in (PMO_NO_STATS) and
 * whether flushes are counted (libpmo_flushcount.so preloaded).
 */
#include "bench_common.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

namespace {

BenchConfig config;
std::string last_error;

struct Family {
	std::string path;
	pmo_pool *pool = nullptr;
	PMEMobjpool *raw = nullptr;
};
std::map<std::string, Family> families;
std::map<std::string, std::string> built; /* kind+n -> path */
std::vector<benchmark::internal::Benchmark *> registered;

/* Paths to unlink from a signal handler: fixed storage, no allocation. */
constexpr int kMaxPaths = 64;
char cleanup_paths[kMaxPaths][512];
volatile sig_atomic_t n_cleanup;

void remember_path(const std::string &path)
{
	if (n_cleanup < kMaxPaths) {
		std::snprintf(cleanup_paths[n_cleanup], sizeof cleanup_paths[0], "%s",
			      path.c_str());
		n_cleanup = n_cleanup + 1;
	}
}

void unlink_all_paths()
{
	for (int i = 0; i < n_cleanup; i++)
		unlink(cleanup_paths[i]);
}

void on_signal(int sig)
{
	unlink_all_paths();
	signal(sig, SIG_DFL);
	raise(sig);
}

void close_all()
{
	for (auto &kv : families) {
		if (kv.second.pool)
			pmo_pool_close(kv.second.pool);
		if (kv.second.raw)
			pmemobj_close(kv.second.raw);
		kv.second.pool = nullptr;
		kv.second.raw = nullptr;
	}
	unlink_all_paths();
}

const char *default_dir(const std::string &mode)
{
	if (mode == "file")
		return "/var/tmp";
	return "/dev/shm";
}

/* Ask libpmem (the real one) whether a file mapped in dir is pmem: the
 * force flag decides in pmem and the msync modes, MAP_SYNC on dax. */
int probe_is_pmem(const std::string &dir)
{
	using map_fn = void *(*)(const char *, size_t, int, mode_t, size_t *, int *);
	using unmap_fn = int (*)(void *, size_t);
	auto map = (map_fn)dlsym(RTLD_DEFAULT, "pmem_map_file");
	auto unmap = (unmap_fn)dlsym(RTLD_DEFAULT, "pmem_unmap");
	if (!map || !unmap)
		return -1;
	std::string path = dir + "/pmo_bench-" + std::to_string(getpid()) + "-probe";
	size_t len = 0;
	int is_pmem = -1;
	void *addr = map(path.c_str(), 1 << 16, 1 /* PMEM_FILE_CREATE */, 0600, &len, &is_pmem);
	if (addr)
		unmap(addr, len);
	unlink(path.c_str());
	return addr ? is_pmem : -1;
}

using flushcount_fn = void (*)(uint64_t out[3]);
flushcount_fn flushcount_get;

/* Write the file's dirty pages back now, so the set-up of a pool (its
 * prefaulting, or building a fixture) is not still being written back to
 * the disk while the next benchmark measures msync in file mode. */
void settle(const std::string &path)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

bool starts_with(const char *s, const char *prefix)
{
	return std::strncmp(s, prefix, std::strlen(prefix)) == 0;
}

} // namespace

void bench_remember(benchmark::internal::Benchmark *b)
{
	registered.push_back(b);
}

const BenchConfig &bench_config()
{
	return config;
}

std::string bench_error()
{
	return last_error;
}

std::string bench_pool_path(const std::string &family)
{
	return config.dir + "/pmo_bench-" + std::to_string(getpid()) + "-" + family + ".pool";
}

pmo_pool *bench_family_pool(const std::string &family, size_t size)
{
	Family &f = families[family];
	if (f.pool)
		return f.pool;
	f.path = bench_pool_path(family);
	unlink(f.path.c_str());
	remember_path(f.path);
	f.pool = pmo_pool_create(f.path.c_str(), size, 0600);
	if (!f.pool)
		last_error = std::string("create ") + f.path + ": " + pmo_errormsg();
	else
		settle(f.path);
	return f.pool;
}

PMEMobjpool *bench_raw_pool(const std::string &family, size_t size, const char *layout)
{
	Family &f = families[family];
	if (f.raw)
		return f.raw;
	f.path = bench_pool_path(family);
	unlink(f.path.c_str());
	remember_path(f.path);
	f.raw = pmemobj_create(f.path.c_str(), layout, size, 0600);
	if (!f.raw)
		last_error = std::string("pmemobj_create ") + f.path + ": " + pmemobj_errormsg();
	else
		settle(f.path);
	return f.raw;
}

void bench_fail(benchmark::State &state, const char *what)
{
	std::string msg = std::string(what) + ": " + pmo_errormsg();
	state.SkipWithError(msg.c_str());
}

/*
 * Fixture pools (a heap of n objects, the lookup tables) are built by a
 * child process (this executable again, with --pmo-build KIND PATH N) that
 * runs with PMEM_IS_PMEM_FORCE=1 whatever the mode: building them with an
 * msync per flush would take longer than the whole suite in file mode
 * (filling a dict of 8192 keys makes ~16k flushes, ~1 ms each on disk),
 * and how the file was written does not matter to benchmarks that only
 * read it or open it.
 */
std::string bench_built_pool(const std::string &kind, size_t n)
{
	std::string key = kind + std::to_string(n);
	auto it = built.find(key);
	if (it != built.end())
		return it->second;
	std::string path = bench_pool_path(key);
	unlink(path.c_str());
	remember_path(path);
	uint64_t t0 = pmo_now_ns();
	std::fflush(nullptr);
	pid_t pid = fork();
	if (pid < 0) {
		last_error = std::string("fork: ") + std::strerror(errno);
		return "";
	}
	if (pid == 0) {
		setenv("PMEM_IS_PMEM_FORCE", "1", 1);
		std::string ns = std::to_string(n);
		execl("/proc/self/exe", "pmo_bench", "--pmo-build", kind.c_str(), path.c_str(),
		      ns.c_str(), (char *)nullptr);
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		last_error = "building the " + kind + " pool of " + std::to_string(n) +
			     " objects failed";
		return "";
	}
	settle(path);
	std::fprintf(stderr, "pmo_bench: built the %s pool of %zu in %.2f s\n", kind.c_str(), n,
		     (pmo_now_ns() - t0) / 1e9);
	built[key] = path;
	return path;
}

std::string bench_heap_pool(size_t n)
{
	return bench_built_pool("heap", n);
}

pmo_pool *bench_open_built(const std::string &kind, size_t n)
{
	std::string key = "open:" + kind + std::to_string(n);
	Family &f = families[key];
	if (f.pool)
		return f.pool;
	std::string path = bench_built_pool(kind, n);
	if (path.empty())
		return nullptr;
	f.pool = pmo_pool_open(path.c_str());
	if (!f.pool)
		last_error = "open " + path + ": " + pmo_errormsg();
	return f.pool;
}

/* Pool size for a heap of n small str objects: about 100 bytes each with
 * the allocator's header and the list slot; generous so as not to fill. */
static size_t heap_pool_size(size_t n)
{
	size_t size = (size_t)32 << 20;
	return size + n * 192;
}

/* shuffled: the list's items put in a random (fixed) order, so that
 * following them visits the strs out of address order. */
int bench_build_heap(const char *path, size_t n, bool shuffled)
{
	pmo_pool *p = pmo_pool_create(path, heap_pool_size(n), 0600);
	if (!p) {
		std::fprintf(stderr, "pmo_bench: create %s: %s\n", path, pmo_errormsg());
		return 1;
	}
	const size_t batch = 1024;
	pmo_list *l = nullptr;
	char buf[32];
	for (size_t done = 0; done < n || !l;) {
		if (pmo_tx_begin(p) != 0)
			goto fail;
		if (!l) {
			uint64_t off = pmo_list_new(p, n);
			if (!off || pmo_slot_store(p, &p->root->root, pmo_slot_ref(off)) != 0) {
				pmo_tx_fail(p);
				goto fail;
			}
			l = pmo_list_get(p, off);
		}
		for (size_t end = done + batch < n ? done + batch : n; done < end; done++) {
			int len = std::snprintf(buf, sizeof buf, "k%09zu", done);
			uint64_t s = pmo_str_new(p, buf, (size_t)len);
			if (!s || pmo_list_append(p, l, pmo_slot_ref(s)) != 0) {
				pmo_tx_fail(p);
				goto fail;
			}
		}
		if (pmo_tx_end(p) != 0)
			goto fail;
	}
	if (shuffled) {
		std::vector<size_t> order(n);
		for (size_t i = 0; i < n; i++)
			order[i] = i;
		std::mt19937_64 rng(1);
		std::shuffle(order.begin(), order.end(), rng);
		if (pmo_tx_begin(p) != 0)
			goto fail;
		if (pmo_list_permute(p, l, order.data()) != 0) {
			pmo_tx_fail(p);
			goto fail;
		}
		if (pmo_tx_end(p) != 0)
			goto fail;
	}
	return pmo_pool_close(p) == 0 ? 0 : 1;
fail:
	std::fprintf(stderr, "pmo_bench: building %s: %s\n", path, pmo_errormsg());
	pmo_pool_close(p);
	return 1;
}

FlushCounts bench_flush_counts()
{
	uint64_t c[3] = {0, 0, 0};
	if (flushcount_get)
		flushcount_get(c);
	return FlushCounts{c[0], c[1], c[2]};
}

bool bench_flush_counting()
{
	return flushcount_get != nullptr;
}

/* --- counters ------------------------------------------------------------- */

static pmo_stats stats_of(pmo_pool *p)
{
	return p ? p->stats : pmo_stats{};
}

RunCounters::RunCounters(benchmark::State &state, pmo_pool *p) : state_(state), p_(p)
{
	s0_ = stats_of(p);
	f0_ = bench_flush_counts();
}

void RunCounters::pause()
{
	state_.PauseTiming();
	mark_ = stats_of(p_);
	fmark_ = bench_flush_counts();
}

void RunCounters::resume()
{
	pmo_stats s = stats_of(p_);
	FlushCounts f = bench_flush_counts();
#define X(field) excl_.field += s.field - mark_.field;
	PMO_STATS_FIELDS(X)
#undef X
	fexcl_.flushes += f.flushes - fmark_.flushes;
	fexcl_.flush_bytes += f.flush_bytes - fmark_.flush_bytes;
	fexcl_.drains += f.drains - fmark_.drains;
	state_.ResumeTiming();
}

void RunCounters::finish()
{
	pmo_stats s = stats_of(p_);
	FlushCounts f = bench_flush_counts();
	auto avg = [&](const char *name, uint64_t v) {
		state_.counters[name] =
			benchmark::Counter((double)v, benchmark::Counter::kAvgIterations);
	};
	if (p_) {
		avg("tx", s.tx_begun - s0_.tx_begun - excl_.tx_begun);
		avg("snapshots", s.snapshots - s0_.snapshots - excl_.snapshots);
		avg("snapshot_bytes", s.snapshot_bytes - s0_.snapshot_bytes - excl_.snapshot_bytes);
		avg("allocs", s.allocs - s0_.allocs - excl_.allocs);
		avg("alloc_bytes", s.alloc_bytes - s0_.alloc_bytes - excl_.alloc_bytes);
		avg("frees", s.frees - s0_.frees - excl_.frees);
	}
	if (bench_flush_counting()) {
		avg("flushes", f.flushes - f0_.flushes - fexcl_.flushes);
		avg("flush_bytes", f.flush_bytes - f0_.flush_bytes - fexcl_.flush_bytes);
		avg("drains", f.drains - f0_.drains - fexcl_.drains);
	}
}

/* --- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	if (argc == 5 && std::strcmp(argv[1], "--pmo-build") == 0) {
		size_t n = std::strtoull(argv[4], nullptr, 10);
		if (std::strcmp(argv[2], "heap") == 0)
			return bench_build_heap(argv[3], n, false);
		if (std::strcmp(argv[2], "heap-shuffled") == 0)
			return bench_build_heap(argv[3], n, true);
		if (std::strcmp(argv[2], "lookup") == 0)
			return bench_build_lookup(argv[3], n);
		return 2;
	}

	const char *env;
	config.mode = (env = getenv("PMO_BENCH_MODE")) && *env ? env : "pmem";
	if ((env = getenv("PMO_BENCH_DIR")) && *env)
		config.dir = env;
	config.quick = (env = getenv("PMO_BENCH_QUICK")) && *env && std::strcmp(env, "0");
	if ((env = getenv("PMO_BENCH_ITERATIONS")) && *env)
		config.iterations = std::strtoll(env, nullptr, 10);

	/* Take our flags out of argv before Google Benchmark sees it. */
	std::vector<char *> args{argv[0]};
	for (int i = 1; i < argc; i++) {
		if (starts_with(argv[i], "--pmo_mode="))
			config.mode = argv[i] + std::strlen("--pmo_mode=");
		else if (starts_with(argv[i], "--pmo_dir="))
			config.dir = argv[i] + std::strlen("--pmo_dir=");
		else if (std::strcmp(argv[i], "--pmo_quick") == 0)
			config.quick = true;
		else if (starts_with(argv[i], "--pmo_iterations="))
			config.iterations = std::strtoll(argv[i] + std::strlen("--pmo_iterations="),
							 nullptr, 10);
		else
			args.push_back(argv[i]);
	}
	args.push_back(nullptr);
	int nargs = (int)args.size() - 1;

	const std::string &mode = config.mode;
	if (mode == "pmem")
		setenv("PMEM_IS_PMEM_FORCE", "1", 1);
	else if (mode == "file" || mode == "tmpfs-msync")
		setenv("PMEM_IS_PMEM_FORCE", "0", 1);
	else if (mode == "dax")
		unsetenv("PMEM_IS_PMEM_FORCE");
	else {
		std::fprintf(stderr,
			     "pmo_bench: unknown mode '%s' (pmem, file, tmpfs-msync, dax)\n",
			     mode.c_str());
		return 2;
	}
	if (config.dir.empty()) {
		if (mode == "dax") {
			std::fprintf(stderr,
				     "pmo_bench: dax mode needs PMO_BENCH_DIR or --pmo_dir\n");
			return 2;
		}
		config.dir = default_dir(mode);
	}
	struct statfs sfs;
	if (statfs(config.dir.c_str(), &sfs) != 0) {
		std::fprintf(stderr, "pmo_bench: %s: %s\n", config.dir.c_str(),
			     std::strerror(errno));
		return 2;
	}
	bool on_tmpfs = sfs.f_type == TMPFS_MAGIC;
	if ((mode == "pmem" || mode == "tmpfs-msync") && !on_tmpfs)
		std::fprintf(stderr, "pmo_bench: warning: %s is not tmpfs (mode %s)\n",
			     config.dir.c_str(), mode.c_str());
	if (mode == "file" && on_tmpfs)
		std::fprintf(stderr, "pmo_bench: warning: %s is tmpfs, not a disk (mode file)\n",
			     config.dir.c_str());

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	std::atexit(close_all);

	/* Touch every page of a pool when it is created, so the benchmarks
	 * measure a pool in steady state rather than first-touch page faults
	 * (several us per 4 KiB page here: a 64 KiB allocation, which
	 * libpmemobj flushes whole at commit, would cost 30x more the first
	 * time its pages are used).  Pools opened by the open and recovery
	 * benchmarks are not prefaulted. */
	int one = 1;
	if (pmemobj_ctl_set(nullptr, "prefault.at_create", &one) != 0)
		std::fprintf(stderr, "pmo_bench: warning: cannot set prefault.at_create: %s\n",
			     pmemobj_errormsg());
	flushcount_get = (flushcount_fn)dlsym(RTLD_DEFAULT, "pmo_flushcount_get");
	int is_pmem = probe_is_pmem(config.dir);
	const char *force = getenv("PMEM_IS_PMEM_FORCE");
	benchmark::AddCustomContext("pmo_mode", mode);
	benchmark::AddCustomContext("pmo_dir", config.dir);
	benchmark::AddCustomContext("pmo_dir_tmpfs", on_tmpfs ? "yes" : "no");
	benchmark::AddCustomContext("pmem_is_pmem_force", force ? force : "unset");
	benchmark::AddCustomContext("pmem_is_pmem", std::to_string(is_pmem));
	benchmark::AddCustomContext("pmo_stats", PMO_STATS_ENABLED ? "on" : "off");
	benchmark::AddCustomContext("pmo_flush_count", bench_flush_counting() ? "on" : "off");
	benchmark::AddCustomContext("pmo_quick", config.quick ? "yes" : "no");
	benchmark::AddCustomContext("pmo_prefault_at_create", "1");

	register_raw_benchmarks();
	register_tx_benchmarks();
	register_alloc_benchmarks();
	register_list_benchmarks();
	register_dict_benchmarks();
	register_btree_benchmarks();
	register_heap_benchmarks();
	if (config.iterations > 0)
		for (auto *b : registered)
			b->Iterations(config.iterations);
	benchmark::AddCustomContext("pmo_iterations", std::to_string(config.iterations));

	benchmark::Initialize(&nargs, args.data());
	if (benchmark::ReportUnrecognizedArguments(nargs, args.data()))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	close_all();
	return 0;
}
