/*
 * The sorted dict's B+ tree in C (src/btree.h), beside the hash table's
 * benchmarks (bench_dict.cc) in the same run, so that a regression of the
 * tree shows up in the layer that has it.
 *
 *   BTreeInsertInt      insert a new int key -> int, one transaction each
 *                       (an autocommit d[k] = v); keys in a random order
 *   BTreeInsertIntInTx  the same, 1024 inserts per transaction, each a
 *                       nested level as the binding's operations are
 *                       (nodes are then saved once per transaction)
 *   BTreeLookupInt      find one of kTreeN int keys (random order)
 *
 * The insert benchmarks start a new tree every kTreeReset inserts while
 * the timer is paused.
 */
#include "bench_common.h"

extern "C" {
#include "btree.h"
}

#include <cstring>
#include <vector>

namespace {

constexpr size_t kTreePoolSize = (size_t)64 << 20;
constexpr uint64_t kTreeReset = 16384;
constexpr uint64_t kTreeN = 16384; /* a power of two */
constexpr uint64_t kPerTx = 1024;

pmo_key int_key(int64_t v)
{
	pmo_key k;
	std::memset(&k, 0, sizeof k);
	k.kind = PMO_K_INT;
	k.i = v;
	return k;
}

/* A fixed random permutation of [0, n): the key order of every run. */
std::vector<int64_t> shuffled(uint64_t n)
{
	std::vector<int64_t> v(n);
	uint64_t x = 88172645463325252ull;
	for (uint64_t i = 0; i < n; i++)
		v[i] = (int64_t)i;
	for (uint64_t i = n - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		std::swap(v[i], v[x % (i + 1)]);
	}
	return v;
}

/* Replace the root by a new empty tree (the old one is freed). */
pmo_btree *fresh_tree(pmo_pool *p)
{
	if (pmo_tx_begin(p) != 0)
		return nullptr;
	uint64_t off = pmo_btree_new(p);
	if (!off || pmo_slot_store(p, &p->root->root, pmo_slot_ref(off)) != 0) {
		pmo_tx_fail(p);
		return nullptr;
	}
	if (pmo_tx_end(p) != 0)
		return nullptr;
	return pmo_btree_get(p, off);
}

int insert(pmo_pool *p, pmo_btree *t, int64_t v)
{
	pmo_key k = int_key(v);
	int added;
	return pmo_btree_set(p, t, &k, pmo_slot_int(v), pmo_slot_int(v), &added);
}

template <uint64_t PerTx>
void BM_BTreeInsertT(benchmark::State &state)
{
	pmo_pool *p = bench_family_pool("btree", kTreePoolSize);
	pmo_btree *t = p ? fresh_tree(p) : nullptr;
	if (!t) {
		state.SkipWithError(p ? pmo_errormsg() : bench_error().c_str());
		return;
	}
	static const std::vector<int64_t> keys = shuffled(kTreeReset);
	uint64_t i = 0;
	bool open = false;
	RunCounters c(state, p);
	for (auto _ : state) {
		if (i == kTreeReset) {
			c.pause();
			if (open && pmo_tx_end(p) != 0)
				bench_fail(state, "tx end");
			open = false;
			t = fresh_tree(p);
			i = 0;
			c.resume();
			if (!t) {
				bench_fail(state, "new tree");
				break;
			}
		}
		if (!open && pmo_tx_begin(p) != 0) {
			bench_fail(state, "tx begin");
			break;
		}
		open = true;
		/* In a larger transaction each insert is a nested level, as the
		 * binding's operations are inside a `with` block. */
		if (PerTx > 1 && pmo_tx_begin(p) != 0) {
			bench_fail(state, "nested begin");
			break;
		}
		if (insert(p, t, keys[i++]) != 0 || (PerTx > 1 && pmo_tx_end(p) != 0)) {
			pmo_tx_fail(p);
			open = false;
			bench_fail(state, "insert");
			break;
		}
		if (i % PerTx == 0) {
			open = false;
			if (pmo_tx_end(p) != 0) {
				bench_fail(state, "tx end");
				break;
			}
		}
	}
	if (open)
		pmo_tx_end(p);
	c.finish();
}

void BM_BTreeLookupInt(benchmark::State &state)
{
	pmo_pool *p = bench_family_pool("btree", kTreePoolSize);
	pmo_btree *t = p ? fresh_tree(p) : nullptr;
	static const std::vector<int64_t> keys = shuffled(kTreeN);
	int ok = t && pmo_tx_begin(p) == 0;
	for (uint64_t i = 0; ok && i < kTreeN; i++)
		ok = insert(p, t, keys[i]) == 0;
	if (!ok || pmo_tx_end(p) != 0) {
		state.SkipWithError(p ? pmo_errormsg() : bench_error().c_str());
		return;
	}
	uint64_t i = 0;
	RunCounters c(state, p);
	for (auto _ : state) {
		pmo_key k = int_key(keys[i]);
		pmo_bt_pos pos;
		if (pmo_btree_find(p, t, &k, &pos) != 1) {
			state.SkipWithError("lookup gave the wrong answer");
			break;
		}
		benchmark::DoNotOptimize(pos);
		i = (i + 1) & (kTreeN - 1);
	}
	c.finish();
}

} // namespace

void register_btree_benchmarks()
{
	bench_register("BTreeInsertInt", BM_BTreeInsertT<1>);
	bench_register("BTreeInsertIntInTx", BM_BTreeInsertT<kPerTx>);
	bench_register("BTreeLookupInt", BM_BTreeLookupInt);
}
