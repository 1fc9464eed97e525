/*
 * The floor: raw libpmemobj, no pmemobj runtime in between.
 *
 * Same calls our runtime makes (pmemobj_tx_begin / add_range_direct /
 * commit / end, pmemobj_tx_alloc / free), on a pool of its own layout, in
 * the same process and run as the rest, so the ratios against TxEmpty,
 * TxSlots/1 and AllocFree/32 are honest:
 *
 *   RawTxEmpty      begin, commit, end
 *   RawTx8          snapshot and update one 8-byte field
 *   RawTx16         snapshot and update one 16-byte slot (a PMEMoid's size)
 *   RawTxDictAdd    the ranges a new dict key logs (cell, entry, counters)
 *   RawTxAttrAdd    the ranges a new attribute logs (slot, head word)
 *   RawPublishDictAdd  the same insert through the action API: the entry
 *                   persisted, the cell's word and the counters published
 *   RawPublishAttrAdd  a new attribute's slot persisted, its shape published
 *   RawWordLogDictAdd  the same insert as the runtime's word log makes it
 *                   (src/wordlog.h), in raw calls: the entry and a record
 *                   of the four words flushed, a fence; the words stored
 *                   and flushed, a fence
 *   RawAllocFree32  a transaction allocating 32 bytes, then one freeing them
 *   RawRangeCopy1MiB     pmemobj_memcpy_persist of 1 MiB into the pool: the
 *                        floor of any durable 1 MiB write
 *   RawTxRange1MiB       a transaction that snapshots 1 MiB with
 *                        pmemobj_tx_add_range_direct and copies 1 MiB into it
 *   RawTxRange1MiBUserLog  the same with a preallocated snapshot log given
 *                        by pmemobj_tx_log_append_buffer (no log extensions
 *                        allocated and freed per transaction)
 *   RawRangeLogTx1MiB    what the runtime's range log does instead
 *                        (src/rangelog.h), in raw calls: copy the old 1 MiB
 *                        aside and persist it, persist its offset and length,
 *                        then the arming word, then a transaction
 *                        snapshotting 8 bytes and adding the range
 *                        unsnapshotted, the 1 MiB copy, commit
 *
 * These use the function API, not the TX_BEGIN macros (which add a setjmp
 * per transaction), as src/tx.c does.
 */
#include "bench_common.h"

#include <cstring>

namespace {

constexpr size_t kRawPoolSize = (size_t)16 << 20;
constexpr uint64_t kRawType = 1;
constexpr size_t kRawEntries = 4096; /* about the Python workloads' n */

struct raw_root {
	uint64_t field;
	uint64_t pad;
	uint64_t slot[2];
	/* The ranges a new key writes in a pmemobj dict (src/dict.c,
	 * pmo_dict_add): a 4-byte index cell and 3 counters, snapshotted,
	 * and a 40-byte entry past the committed ones, added unsnapshotted.
	 * As in a table filling up, each insert takes the next entry and a
	 * scattered cell, so the lines written are mostly cold. */
	alignas(64) uint64_t counters[3];
	/* A word log's record (src/wordlog.h): a check, the count, the
	 * entry's place and mix, four {offset, value} words. */
	alignas(64) uint64_t record[24];
	alignas(64) uint32_t cells[2 * kRawEntries];
	alignas(64) uint64_t entries[kRawEntries][5];
	/* A new attribute (src/object.c, pmo_object_set) on each of many
	 * shaped objects in turn: a 16-byte value slot past the shape, then
	 * the head word (type and flags) that names the new shape. */
	struct alignas(64) object {
		uint64_t refcnt;
		uint64_t head_word;
		uint64_t slot[2];
	} objects[kRawEntries];
};

PMEMobjpool *raw_pool(raw_root **root)
{
	PMEMobjpool *pop = bench_raw_pool("raw", kRawPoolSize, "pmo-bench-raw");
	if (!pop)
		return nullptr;
	PMEMoid r = pmemobj_root(pop, sizeof(raw_root));
	if (OID_IS_NULL(r))
		return nullptr;
	*root = (raw_root *)pmemobj_direct(r);
	return pop;
}

#define RAW_SETUP                                           \
	raw_root *root;                                     \
	PMEMobjpool *pop = raw_pool(&root);                 \
	if (!pop) {                                         \
		state.SkipWithError(bench_error().c_str()); \
		return;                                     \
	}                                                   \
	RunCounters c(state, nullptr)

void raw_fail(benchmark::State &state, const char *what)
{
	std::string msg = std::string(what) + ": " + pmemobj_errormsg();
	state.SkipWithError(msg.c_str());
}

/* One raw transaction around work(): begin, work, commit, end.  work
 * returns the name of what failed, or nullptr.  Inlined (a template over
 * the lambda), so the loop measures exactly these libpmemobj calls.
 * False (the run marked failed) on any error. */
template <class Work>
inline bool raw_tx(benchmark::State &state, PMEMobjpool *pop, Work work)
{
	if (pmemobj_tx_begin(pop, nullptr, TX_PARAM_NONE) != 0) {
		pmemobj_tx_end();
		raw_fail(state, "tx begin");
		return false;
	}
	if (const char *failed = work()) {
		pmemobj_tx_end();
		raw_fail(state, failed);
		return false;
	}
	pmemobj_tx_commit();
	if (pmemobj_tx_end() != 0) {
		raw_fail(state, "tx end");
		return false;
	}
	return true;
}

void BM_RawTxEmpty(benchmark::State &state)
{
	RAW_SETUP;
	for (auto _ : state)
		if (!raw_tx(state, pop, [] { return (const char *)nullptr; }))
			break;
	c.finish();
}

void BM_RawTx8(benchmark::State &state)
{
	RAW_SETUP;
	for (auto _ : state) {
		auto update = [root]() -> const char * {
			if (pmemobj_tx_add_range_direct(&root->field, sizeof root->field) != 0)
				return "add range";
			root->field++;
			return nullptr;
		};
		if (!raw_tx(state, pop, update))
			break;
	}
	c.finish();
}

void BM_RawTx16(benchmark::State &state)
{
	RAW_SETUP;
	for (auto _ : state) {
		auto update = [root]() -> const char * {
			if (pmemobj_tx_add_range_direct(root->slot, sizeof root->slot) != 0)
				return "add range";
			root->slot[0] = 4;
			root->slot[1]++;
			return nullptr;
		};
		if (!raw_tx(state, pop, update))
			break;
	}
	c.finish();
}

/* The floor of a new key: what libpmemobj alone costs for the ranges a
 * dict insert must log, written with no pmemobj code in between. */
void BM_RawTxDictAdd(benchmark::State &state)
{
	RAW_SETUP;
	for (auto _ : state) {
		auto update = [root]() -> const char * {
			uint64_t k = root->counters[0] % kRawEntries;
			uint32_t *cell = &root->cells[(k * 2654435761u) % (2 * kRawEntries)];
			uint64_t *entry = root->entries[k];
			if (pmemobj_tx_add_range_direct(cell, sizeof *cell) != 0 ||
			    pmemobj_tx_xadd_range_direct(entry, sizeof root->entries[k],
							 POBJ_XADD_NO_SNAPSHOT) != 0 ||
			    pmemobj_tx_add_range_direct(root->counters, sizeof root->counters) != 0)
				return "add range";
			entry[0] = k;
			entry[1] = 4;
			entry[2] = k;
			*cell = (uint32_t)k + 1;
			root->counters[0]++;
			root->counters[1]++;
			root->counters[2]++;
			return nullptr;
		};
		if (!raw_tx(state, pop, update))
			break;
	}
	c.finish();
}

/* The floor of a new attribute: the slot unsnapshotted, the head word
 * snapshotted. */
void BM_RawTxAttrAdd(benchmark::State &state)
{
	RAW_SETUP;
	uint64_t next = 0; /* the object to add to: in DRAM, not logged */
	for (auto _ : state) {
		auto update = [root, &next]() -> const char * {
			auto *o = &root->objects[next++ % kRawEntries];
			if (pmemobj_tx_xadd_range_direct(o->slot, sizeof o->slot,
							 POBJ_XADD_NO_SNAPSHOT) != 0 ||
			    pmemobj_tx_add_range_direct(&o->head_word, sizeof o->head_word) != 0)
				return "add range";
			o->slot[0] = 4;
			o->slot[1] = o->head_word;
			o->head_word++;
			return nullptr;
		};
		if (!raw_tx(state, pop, update))
			break;
	}
	c.finish();
}

/* The next insert of the dict floors below: key k takes entry k (cold,
 * as in a filling table) and a scattered cell, whose aligned 8-byte word
 * gets value (the cell set to k, its neighbour kept). */
struct RawInsert {
	uint64_t k;
	uint64_t *entry;
	uint64_t *word;
	uint64_t value;
};

inline RawInsert raw_next_insert(raw_root *root)
{
	uint64_t k = root->counters[0] % kRawEntries;
	uint32_t *cell = &root->cells[(k * 2654435761u) % (2 * kRawEntries)];
	uint64_t *word = (uint64_t *)((uintptr_t)cell & ~(uintptr_t)7);
	uint64_t value = *word;
	memcpy((char *)&value + ((uintptr_t)cell & 7), &k, sizeof *cell);
	return {k, root->entries[k], word, value};
}

/* The same inserts through the action API instead of a transaction: the
 * entry (or pair) is written where nothing reads it yet and persisted
 * directly, then the words that make it visible (the index cell's 8-byte
 * word, the counters; or len) are set by pmemobj_set_value actions and
 * applied failure-atomically by one pmemobj_publish (a redo log for more
 * than one word).  The floor of the runtime's publish path
 * (pmo_tx_publish, src/tx.h). */
void BM_RawPublishDictAdd(benchmark::State &state)
{
	RAW_SETUP;
	for (auto _ : state) {
		RawInsert in = raw_next_insert(root);
		in.entry[0] = in.k;
		in.entry[1] = 4;
		in.entry[2] = in.k;
		pmemobj_persist(pop, in.entry, sizeof root->entries[0]);
		pobj_action act[4];
		pmemobj_set_value(pop, &act[0], in.word, in.value);
		pmemobj_set_value(pop, &act[1], &root->counters[0], root->counters[0] + 1);
		pmemobj_set_value(pop, &act[2], &root->counters[1], root->counters[1] + 1);
		pmemobj_set_value(pop, &act[3], &root->counters[2], root->counters[2] + 1);
		if (pmemobj_publish(pop, act, 4) != 0) {
			raw_fail(state, "publish");
			break;
		}
	}
	c.finish();
}

/* The word log's floor: what src/wordlog.c does for a dict insert, with
 * no pmemobj code in between (the record's mixes are a multiply-xor per
 * word, cheaper than the runtime's). */
void BM_RawWordLogDictAdd(benchmark::State &state)
{
	RAW_SETUP;
	for (auto _ : state) {
		RawInsert in = raw_next_insert(root);
		uint64_t src[5] = {in.k, 4, in.k, 0, 0};
		memcpy(in.entry, src, sizeof src);
		pmemobj_flush(pop, in.entry, sizeof src);
		uint64_t *words[4] = {in.word, &root->counters[0], &root->counters[1],
				      &root->counters[2]};
		uint64_t vals[4] = {in.value, root->counters[0] + 1, root->counters[1] + 1,
				    root->counters[2] + 1};
		uint64_t *r = root->record, h = 4;
		r[1] = 4;
		r[2] = (uint64_t)((char *)in.entry - (char *)pop);
		r[3] = sizeof src;
		for (uint64_t x : src)
			h = (h ^ x) * 0x9e3779b97f4a7c15ULL;
		r[4] = h;
		for (int i = 0; i < 4; i++) {
			r[5 + 2 * i] = (uint64_t)((char *)words[i] - (char *)pop);
			r[6 + 2 * i] = vals[i];
			h = (h ^ r[5 + 2 * i] ^ vals[i]) * 0x9e3779b97f4a7c15ULL;
		}
		r[0] = h | 1;
		pmemobj_flush(pop, r, 13 * sizeof *r);
		pmemobj_drain(pop);
		for (int i = 0; i < 4; i++)
			*words[i] = vals[i];
		pmemobj_flush(pop, in.word, sizeof *in.word);
		pmemobj_flush(pop, root->counters, sizeof root->counters);
		pmemobj_drain(pop);
	}
	c.finish();
}

void BM_RawPublishAttrAdd(benchmark::State &state)
{
	RAW_SETUP;
	uint64_t next = 0;
	for (auto _ : state) {
		auto *o = &root->objects[next++ % kRawEntries];
		o->slot[0] = 4;
		o->slot[1] = o->head_word;
		pmemobj_persist(pop, o->slot, sizeof o->slot);
		/* One visible word: libpmemobj applies a single set directly,
		 * with no log. */
		pobj_action act;
		pmemobj_set_value(pop, &act, &o->head_word, o->head_word + 1);
		if (pmemobj_publish(pop, &act, 1) != 0) {
			raw_fail(state, "publish");
			break;
		}
	}
	c.finish();
}

void BM_RawAllocFree32(benchmark::State &state)
{
	RAW_SETUP;
	for (auto _ : state) {
		PMEMoid oid = OID_NULL;
		auto alloc = [&oid]() -> const char * {
			oid = pmemobj_tx_alloc(32, kRawType);
			return OID_IS_NULL(oid) ? "tx alloc" : nullptr;
		};
		auto release = [&oid]() -> const char * {
			return pmemobj_tx_free(oid) != 0 ? "tx free" : nullptr;
		};
		if (!raw_tx(state, pop, alloc) || !raw_tx(state, pop, release))
			break;
	}
	c.finish();
}

/* 1 MiB range writes (a PersistentArray's writable range, issue #12), on a
 * pool of their own, as experiments/arrays.py makes them: the transactions
 * take their ranges in turn from a 64 MiB block (more than the caches
 * hold, as arrays.py's 80 MB array), the floor copies into one range again
 * and again (as arrays.py's libpmem floor does into its file). */
constexpr size_t kRange = (size_t)1 << 20;
constexpr size_t kRangeBlock = 64 * kRange;

struct range_fixture {
	PMEMobjpool *pop = nullptr;
	char *block = nullptr;
	char *log = nullptr;        /* 64-aligned, 2 MiB: room for 1 MiB of snapshot entries */
	uint64_t *header = nullptr; /* the raw range log's: counter, armed, off, len */
	std::string src;
	size_t next = 0;
	char *range() { return block + (next++ % (kRangeBlock / kRange)) * kRange; }
};

bool range_setup(benchmark::State &state, range_fixture *f)
{
	f->pop = bench_raw_pool("rawrange", kRangeBlock + 4 * kRange + ((size_t)16 << 20),
				"pmo-bench-raw-range");
	if (!f->pop) {
		state.SkipWithError(bench_error().c_str());
		return false;
	}
	PMEMoid r = pmemobj_root(f->pop, 2 * sizeof(PMEMoid));
	if (OID_IS_NULL(r)) {
		raw_fail(state, "root");
		return false;
	}
	PMEMoid *oids = (PMEMoid *)pmemobj_direct(r);
	if ((OID_IS_NULL(oids[0]) && pmemobj_zalloc(f->pop, &oids[0], kRangeBlock, kRawType)) ||
	    (OID_IS_NULL(oids[1]) && pmemobj_zalloc(f->pop, &oids[1], 2 * kRange + 64, kRawType))) {
		raw_fail(state, "alloc");
		return false;
	}
	f->block = (char *)pmemobj_direct(oids[0]);
	f->log = (char *)(((uintptr_t)pmemobj_direct(oids[1]) + 63) & ~(uintptr_t)63);
	f->header = (uint64_t *)(f->log + 2 * kRange - 64);
	f->src.assign(kRange, '\x5a');
	return true;
}

void BM_RawRangeCopy1MiB(benchmark::State &state)
{
	range_fixture f;
	if (!range_setup(state, &f))
		return;
	RunCounters c(state, nullptr);
	for (auto _ : state)
		pmemobj_memcpy_persist(f.pop, f.block, f.src.data(), kRange);
	c.finish();
}

void raw_range_tx(benchmark::State &state, bool user_log)
{
	range_fixture f;
	if (!range_setup(state, &f))
		return;
	RunCounters c(state, nullptr);
	for (auto _ : state) {
		auto write = [&f, user_log]() -> const char * {
			if (user_log && pmemobj_tx_log_append_buffer(TX_LOG_TYPE_SNAPSHOT, f.log,
								     2 * kRange) != 0)
				return "log append buffer";
			char *dst = f.range();
			if (pmemobj_tx_add_range_direct(dst, kRange) != 0)
				return "add range";
			memcpy(dst, f.src.data(), kRange);
			return nullptr;
		};
		if (!raw_tx(state, f.pop, write))
			break;
	}
	c.finish();
}

void BM_RawTxRange1MiB(benchmark::State &state)
{
	raw_range_tx(state, false);
}

void BM_RawTxRange1MiBUserLog(benchmark::State &state)
{
	raw_range_tx(state, true);
}

void BM_RawRangeLogTx1MiB(benchmark::State &state)
{
	range_fixture f;
	if (!range_setup(state, &f))
		return;
	RunCounters c(state, nullptr);
	uint64_t *h = f.header;
	for (auto _ : state) {
		char *dst = f.range();
		pmemobj_memcpy_persist(f.pop, f.log, dst, kRange);
		h[2] = (uint64_t)(dst - (char *)f.pop);
		h[3] = kRange;
		pmemobj_persist(f.pop, &h[2], 2 * sizeof *h);
		h[1] = h[0] + 1;
		pmemobj_persist(f.pop, &h[1], sizeof *h);
		auto write = [&f, h, dst]() -> const char * {
			if (pmemobj_tx_add_range_direct(h, sizeof *h) != 0 ||
			    pmemobj_tx_xadd_range_direct(dst, kRange, POBJ_XADD_NO_SNAPSHOT) != 0)
				return "add range";
			h[0]++;
			memcpy(dst, f.src.data(), kRange);
			return nullptr;
		};
		if (!raw_tx(state, f.pop, write))
			break;
	}
	c.finish();
}

} // namespace

void register_raw_benchmarks()
{
	bench_register("RawTxEmpty", BM_RawTxEmpty);
	bench_register("RawTx8", BM_RawTx8);
	bench_register("RawTx16", BM_RawTx16);
	bench_register("RawTxDictAdd", BM_RawTxDictAdd);
	bench_register("RawTxAttrAdd", BM_RawTxAttrAdd);
	bench_register("RawPublishDictAdd", BM_RawPublishDictAdd);
	bench_register("RawPublishAttrAdd", BM_RawPublishAttrAdd);
	bench_register("RawWordLogDictAdd", BM_RawWordLogDictAdd);
	bench_register("RawAllocFree32", BM_RawAllocFree32);
	bench_register("RawRangeCopy1MiB", BM_RawRangeCopy1MiB);
	bench_register("RawTxRange1MiB", BM_RawTxRange1MiB);
	bench_register("RawTxRange1MiBUserLog", BM_RawTxRange1MiBUserLog);
	bench_register("RawRangeLogTx1MiB", BM_RawRangeLogTx1MiB);
}
