/*
 * Dict insert and lookup in C (src/dict.h), one insert per transaction, as
 * an autocommit d[k] = v does it (with the binding's single-store
 * permission, so an insert that needs no allocation is published through
 * the word log, src/wordlog.h, and the others take the transaction).
 *
 *   DictInsertInt      insert a new int key (inline) -> int (growth
 *                      rebuilds included, amortised: the dict starts empty;
 *                      the inserts between them published)
 *   DictInsertStr      make a 10-character str key and insert it -> int
 *   DictLookupInt      find an int key among the kLookupN int keys of a
 *                      dict that also holds kLookupN str keys
 *   DictLookupIntMiss  look for an int key that is not there
 *   DictLookupStr      hash a 10-character C string (keyed SipHash, as the
 *                      binding hashes a Python str) and find it
 *
 * Equality is the caller's callback (dict.h); these compare ints by value
 * and strs by bytes, which is what the binding's fast paths do.  The
 * insert benchmarks start a new dict every kDictReset inserts while the
 * timer is paused.  The lookup benchmarks read the "lookup" fixture pool,
 * built once per run (bench_build_lookup, in a child process: see
 * bench_built_pool).
 */
#include "bench_common.h"

extern "C" {
#include "dict.h"
#include "hash.h"
}

#include <cstdio>
#include <cstring>

namespace {

constexpr size_t kDictPoolSize = (size_t)32 << 20;
constexpr uint64_t kDictReset = 16384;

struct IntKey {
	int64_t v;
};

int eq_int(void *ctx, const pmo_slot *stored)
{
	return stored->tag == PMO_TAG_INT && (int64_t)stored->val == static_cast<IntKey *>(ctx)->v;
}

struct StrKey {
	const pmo_pool *p;
	const char *s;
	size_t n;
};

int eq_str(void *ctx, const pmo_slot *stored)
{
	auto *k = static_cast<StrKey *>(ctx);
	if (stored->tag != PMO_TAG_REF)
		return 0;
	pmo_var v;
	if (pmo_var_get(k->p, stored->val, PMO_T_STR, &v) != 0)
		return -1;
	return v.size == k->n && std::memcmp(v.data, k->s, k->n) == 0;
}

int key_text(char *buf, size_t cap, uint64_t i)
{
	return std::snprintf(buf, cap, "s%09llu", (unsigned long long)i);
}

pmo_pool *dict_pool()
{
	return bench_family_pool("dict", kDictPoolSize);
}

/* Replace the root by a new empty dict (the old one is freed). */
pmo_dict *fresh_dict(pmo_pool *p)
{
	if (pmo_tx_begin(p) != 0)
		return nullptr;
	uint64_t off = pmo_dict_new(p, PMO_T_DICT, 0);
	if (!off || pmo_slot_store(p, &p->root->root, pmo_slot_ref(off)) != 0) {
		pmo_tx_fail(p);
		return nullptr;
	}
	if (pmo_tx_end(p) != 0)
		return nullptr;
	return pmo_dict_get(p, off);
}

/* Insert key i (int, or the str key_text(i)) -> i; in a transaction. */
template <bool Str>
int insert_key(pmo_pool *p, pmo_dict *d, uint64_t i)
{
	if (!Str) {
		IntKey k{(int64_t)i};
		return pmo_dict_set(p, d, pmo_hash_int64(k.v), pmo_slot_int(k.v),
				    pmo_slot_int((int64_t)i), eq_int, &k);
	}
	char buf[32];
	int n = key_text(buf, sizeof buf, i);
	uint64_t off = pmo_str_new(p, buf, (size_t)n);
	if (!off)
		return -1;
	StrKey k{p, buf, (size_t)n};
	int64_t h = pmo_hash_bytes_keyed(p->hash_k0, p->hash_k1, buf, (size_t)n);
	return pmo_dict_set(p, d, h, pmo_slot_ref(off), pmo_slot_int((int64_t)i), eq_str, &k);
}

template <bool Str>
void BM_DictInsertT(benchmark::State &state)
{
	pmo_pool *p = dict_pool();
	pmo_dict *d = p ? fresh_dict(p) : nullptr;
	if (!d) {
		state.SkipWithError(p ? pmo_errormsg() : bench_error().c_str());
		return;
	}
	uint64_t i = 0;
	RunCounters c(state, p);
	for (auto _ : state) {
		if (d->used == kDictReset) {
			c.pause();
			d = fresh_dict(p);
			c.resume();
			if (!d) {
				bench_fail(state, "new dict");
				break;
			}
		}
		if (pmo_tx_begin(p) != 0) {
			bench_fail(state, "tx begin");
			break;
		}
		pmo_tx_single_store(); /* as the binding's d[k] = v */
		int rc = insert_key<Str>(p, d, i++);
		if (rc != 0 ? pmo_tx_fail(p) : pmo_tx_end(p)) {
			bench_fail(state, "insert");
			break;
		}
	}
	c.finish();
}

pmo_dict *lookup_dict(benchmark::State &state, pmo_pool **pp)
{
	uint64_t list_off, dict_off;
	if (!bench_lookup_fixture(state, pp, &list_off, &dict_off))
		return nullptr;
	return pmo_dict_get(*pp, dict_off);
}

} // namespace

int bench_build_lookup(const char *path, size_t n)
{
	pmo_pool *p = pmo_pool_create(path, (size_t)32 << 20, 0600);
	if (!p) {
		std::fprintf(stderr, "pmo_bench: create %s: %s\n", path, pmo_errormsg());
		return 1;
	}
	if (pmo_tx_begin(p) != 0)
		goto fail;
	{
		uint64_t top = pmo_list_new(p, 2), ints = pmo_list_new(p, n),
			 dict = pmo_dict_new(p, PMO_T_DICT, 2 * n);
		pmo_list *lt = top ? pmo_list_get(p, top) : nullptr;
		pmo_list *li = ints ? pmo_list_get(p, ints) : nullptr;
		pmo_dict *d = dict ? pmo_dict_get(p, dict) : nullptr;
		int rc = lt && li && d ? 0 : -1;
		for (uint64_t i = 0; rc == 0 && i < n; i++) {
			rc = pmo_list_append(p, li, pmo_slot_int((int64_t)i));
			if (rc == 0)
				rc = insert_key<false>(p, d, i);
			if (rc == 0)
				rc = insert_key<true>(p, d, i);
		}
		if (rc == 0)
			rc = pmo_list_append(p, lt, pmo_slot_ref(ints));
		if (rc == 0)
			rc = pmo_list_append(p, lt, pmo_slot_ref(dict));
		if (rc == 0)
			rc = pmo_slot_store(p, &p->root->root, pmo_slot_ref(top));
		if (rc != 0) {
			pmo_tx_fail(p);
			goto fail;
		}
	}
	if (pmo_tx_end(p) != 0)
		goto fail;
	return pmo_pool_close(p) == 0 ? 0 : 1;
fail:
	std::fprintf(stderr, "pmo_bench: building %s: %s\n", path, pmo_errormsg());
	pmo_pool_close(p);
	return 1;
}

bool bench_lookup_fixture(benchmark::State &state, pmo_pool **pp, uint64_t *list_off,
			  uint64_t *dict_off)
{
	pmo_pool *p = *pp = bench_open_built("lookup", kLookupN);
	if (!p) {
		state.SkipWithError(bench_error().c_str());
		return false;
	}
	const pmo_list *top = pmo_list_get(p, p->root->root.val);
	if (!top || top->len != 2) {
		state.SkipWithError("lookup fixture is damaged");
		return false;
	}
	*list_off = pmo_list_items(p, top)[0].val;
	*dict_off = pmo_list_items(p, top)[1].val;
	return true;
}

namespace {

template <bool Miss>
void BM_DictLookupIntT(benchmark::State &state)
{
	pmo_pool *p;
	pmo_dict *d = lookup_dict(state, &p);
	if (!d)
		return;
	uint64_t i = 0;
	RunCounters c(state, p);
	for (auto _ : state) {
		IntKey k{(int64_t)(Miss ? kLookupN + i : i)};
		int64_t ix = pmo_dict_find(p, d, pmo_hash_int64(k.v), eq_int, &k);
		if (Miss ? ix != PMO_DICT_MISSING : ix < 0) {
			state.SkipWithError("lookup gave the wrong answer");
			break;
		}
		benchmark::DoNotOptimize(ix);
		i = (i + 1) & (kLookupN - 1);
	}
	c.finish();
}

void BM_DictLookupStr(benchmark::State &state)
{
	pmo_pool *p;
	pmo_dict *d = lookup_dict(state, &p);
	if (!d)
		return;
	/* The probe strings live in volatile memory, as a Python str would. */
	std::vector<std::string> keys(kLookupN);
	char buf[32];
	for (uint64_t i = 0; i < kLookupN; i++) {
		key_text(buf, sizeof buf, i);
		keys[i] = buf;
	}
	uint64_t i = 0;
	RunCounters c(state, p);
	for (auto _ : state) {
		const std::string &s = keys[i];
		StrKey k{p, s.data(), s.size()};
		int64_t h = pmo_hash_bytes_keyed(p->hash_k0, p->hash_k1, s.data(), s.size());
		int64_t ix = pmo_dict_find(p, d, h, eq_str, &k);
		if (ix < 0) {
			state.SkipWithError("lookup gave the wrong answer");
			break;
		}
		benchmark::DoNotOptimize(ix);
		i = (i + 1) & (kLookupN - 1);
	}
	c.finish();
}

} // namespace

void register_dict_benchmarks()
{
	bench_register("DictInsertInt", BM_DictInsertT<false>);
	bench_register("DictInsertStr", BM_DictInsertT<true>);
	bench_register("DictLookupInt", BM_DictLookupIntT<false>);
	bench_register("DictLookupIntMiss", BM_DictLookupIntT<true>);
	bench_register("DictLookupStr", BM_DictLookupStr);
}
