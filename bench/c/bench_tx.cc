/*
 * Transactions through src/tx.h: the empty transaction, and transactions
 * that change 1, 8, 64 or 512 slots of a list.
 *
 * TxSlots/N stores N ints with pmo_slot_store (what list[i] = v does): one
 * 16-byte snapshot per slot.  TxSlotsRange/N snapshots the N slots as one
 * range and writes them, the cheapest way to change N adjacent slots, so
 * the gap between the two is the price of a snapshot call.  Compare with
 * RawTx16 / RawTx8 (bench_raw.cc), measured in the same run.
 */
#include "bench_common.h"

namespace {

constexpr size_t kTxPoolSize = (size_t)16 << 20;
constexpr size_t kMaxSlots = 512;

/* The tx family's pool, holding a list of kMaxSlots ints under the root. */
pmo_pool *tx_pool(pmo_list **list)
{
	pmo_pool *p = bench_family_pool("tx", kTxPoolSize);
	if (!p)
		return nullptr;
	if (p->root->root.tag != PMO_TAG_REF) {
		if (pmo_tx_begin(p) != 0)
			return nullptr;
		uint64_t off = pmo_list_new(p, kMaxSlots);
		pmo_list *l = off ? pmo_list_get(p, off) : nullptr;
		for (size_t i = 0; l && i < kMaxSlots; i++)
			if (pmo_list_append(p, l, pmo_slot_int((int64_t)i)) != 0)
				l = nullptr;
		if (!l || pmo_slot_store(p, &p->root->root, pmo_slot_ref(off)) != 0) {
			pmo_tx_fail(p);
			return nullptr;
		}
		if (pmo_tx_end(p) != 0)
			return nullptr;
	}
	*list = pmo_list_get(p, p->root->root.val);
	return *list ? p : nullptr;
}

void BM_TxEmpty(benchmark::State &state)
{
	pmo_list *l;
	pmo_pool *p = tx_pool(&l);
	if (!p) {
		state.SkipWithError(bench_error().c_str());
		return;
	}
	RunCounters c(state, p);
	for (auto _ : state) {
		if (pmo_tx_begin(p) != 0 || pmo_tx_end(p) != 0) {
			bench_fail(state, "empty transaction");
			break;
		}
	}
	c.finish();
}

void BM_TxSlots(benchmark::State &state)
{
	size_t n = (size_t)state.range(0);
	pmo_list *l;
	pmo_pool *p = tx_pool(&l);
	if (!p) {
		state.SkipWithError(bench_error().c_str());
		return;
	}
	pmo_slot *items = pmo_list_items(p, l);
	int64_t v = 0;
	RunCounters c(state, p);
	for (auto _ : state) {
		if (pmo_tx_begin(p) != 0) {
			bench_fail(state, "tx begin");
			break;
		}
		int rc = 0;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = pmo_slot_store(p, &items[i], pmo_slot_int(v++));
		if (rc != 0 ? pmo_tx_fail(p) : pmo_tx_end(p)) {
			bench_fail(state, "slot store");
			break;
		}
	}
	c.finish();
	state.SetItemsProcessed((int64_t)(state.iterations() * n));
}

void BM_TxSlotsRange(benchmark::State &state)
{
	size_t n = (size_t)state.range(0);
	pmo_list *l;
	pmo_pool *p = tx_pool(&l);
	if (!p) {
		state.SkipWithError(bench_error().c_str());
		return;
	}
	pmo_slot *items = pmo_list_items(p, l);
	int64_t v = 0;
	RunCounters c(state, p);
	for (auto _ : state) {
		if (pmo_tx_begin(p) != 0) {
			bench_fail(state, "tx begin");
			break;
		}
		if (pmo_tx_snapshot(p, items, n * sizeof *items) != 0) {
			pmo_tx_fail(p);
			bench_fail(state, "snapshot");
			break;
		}
		for (size_t i = 0; i < n; i++)
			items[i] = pmo_slot_int(v++);
		if (pmo_tx_end(p) != 0) {
			bench_fail(state, "tx end");
			break;
		}
	}
	c.finish();
	state.SetItemsProcessed((int64_t)(state.iterations() * n));
}

} // namespace

void register_tx_benchmarks()
{
	std::vector<int64_t> sizes = {1, 8, 64, 512};
	bench_register("TxEmpty", BM_TxEmpty);
	auto *b = bench_register("TxSlots", BM_TxSlots);
	for (int64_t n : sizes)
		b->Arg(n);
	b = bench_register("TxSlotsRange", BM_TxSlotsRange);
	for (int64_t n : sizes)
		b->Arg(n);
}
