/*
 * Persistent list storage in C (src/list.h), one operation per
 * transaction, as an autocommit list.append does it.
 *
 *   ListAppend      append an inline int (growth reallocations included,
 *                   amortised: the list starts empty)
 *   ListAppendStr   make an 8-character str and append it (allocation +
 *                   append, the common case for heap values)
 *   ListGet         read item i of a list of kLookupN ints (checked
 *                   accessor pmo_list_get, no transaction), from the
 *                   lookup fixture pool (bench_dict.cc)
 *
 * The appending benchmarks start a new list every kListReset appends while
 * the timer is paused, so the pool does not fill up whatever the
 * iteration count.
 */
#include "bench_common.h"

namespace {

constexpr size_t kListPoolSize = (size_t)32 << 20;
constexpr uint64_t kListReset = 16384;

pmo_pool *list_pool()
{
	return bench_family_pool("list", kListPoolSize);
}

/* Replace the root by a new list of capacity cap (the old one is freed
 * with everything it holds); returns the list or NULL. */
pmo_list *fresh_list(pmo_pool *p, size_t cap)
{
	if (pmo_tx_begin(p) != 0)
		return nullptr;
	uint64_t off = pmo_list_new(p, cap);
	if (!off || pmo_slot_store(p, &p->root->root, pmo_slot_ref(off)) != 0) {
		pmo_tx_fail(p);
		return nullptr;
	}
	if (pmo_tx_end(p) != 0)
		return nullptr;
	return pmo_list_get(p, off);
}

template <bool Str>
void BM_ListAppendT(benchmark::State &state)
{
	pmo_pool *p = list_pool();
	pmo_list *l = p ? fresh_list(p, 0) : nullptr;
	if (!l) {
		state.SkipWithError(p ? pmo_errormsg() : bench_error().c_str());
		return;
	}
	int64_t v = 0;
	RunCounters c(state, p);
	for (auto _ : state) {
		if (l->len == kListReset) {
			c.pause();
			l = fresh_list(p, 0);
			c.resume();
			if (!l) {
				bench_fail(state, "new list");
				break;
			}
		}
		if (pmo_tx_begin(p) != 0) {
			bench_fail(state, "tx begin");
			break;
		}
		pmo_slot s = pmo_slot_int(v++);
		int rc = 0;
		if (Str) {
			uint64_t off = pmo_str_new(p, "abcdefgh", 8);
			rc = off ? 0 : -1;
			s = pmo_slot_ref(off);
		}
		if (rc == 0)
			rc = pmo_list_append(p, l, s);
		if (rc != 0 ? pmo_tx_fail(p) : pmo_tx_end(p)) {
			bench_fail(state, "append");
			break;
		}
	}
	c.finish();
	state.counters["final_len"] = (double)l->len;
}

void BM_ListGet(benchmark::State &state)
{
	pmo_pool *p;
	uint64_t off, dict_off;
	if (!bench_lookup_fixture(state, &p, &off, &dict_off))
		return;
	size_t i = 0;
	int64_t sum = 0;
	RunCounters c(state, p);
	for (auto _ : state) {
		const pmo_list *lp = pmo_list_get(p, off);
		if (!lp || i >= lp->len) {
			bench_fail(state, "get");
			break;
		}
		sum += pmo_slot_as_int(pmo_list_items(p, lp)[i]);
		i = (i + 1) & (kLookupN - 1);
		benchmark::DoNotOptimize(sum);
	}
	c.finish();
}

} // namespace

void register_list_benchmarks()
{
	bench_register("ListAppend", BM_ListAppendT<false>);
	bench_register("ListAppendStr", BM_ListAppendT<true>);
	bench_register("ListGet", BM_ListGet);
}
