/* The word log; see wordlog.h. */
#include "wordlog.h"

#include <string.h>
#include <libpmemobj.h>

#include "error.h"
#include "hash.h"
#include "iofail.h"
#include "planted.h"
#include "tx.h"

/* In the .c file: wordlog.h is C++'s too (bench/c, through tx.h). */
_Static_assert(sizeof(pmo_wordlog) == 192, "pmo_wordlog layout is persistent");
_Static_assert(offsetof(pmo_wordlog, n) == 8 && offsetof(pmo_wordlog, data_off) == 16 &&
		       offsetof(pmo_wordlog, data_len) == 24 &&
		       offsetof(pmo_wordlog, data_check) == 32 && offsetof(pmo_wordlog, e) == 40 &&
		       offsetof(pmo_wordlog, magic) == 136,
	       "pmo_wordlog layout is persistent");

#define LINE 64
/* The block: the log and the most that aligning it to a line can skip
 * (blocks are 16-aligned). */
#define BLOCK (sizeof(pmo_wordlog) + LINE - 16)
/* The most data a record covers: a dict's entry is 40 bytes. */
#define DATA_MAX 256

static pmo_wordlog *log_of(const pmo_pool *p)
{
	uint64_t off = p->root->word_log.off;
	return off ? (pmo_wordlog *)pmo_direct(p, (off + LINE - 1) & ~(uint64_t)(LINE - 1)) : NULL;
}

/* A mix of len bytes (len a multiple of 8, as every entry is). */
static uint64_t data_check_of(const void *data, size_t len)
{
	uint64_t h = pmo_mix64(len), w;
	for (size_t i = 0; i < len; i += sizeof w) {
		memcpy(&w, (const char *)data + i, sizeof w);
		h = pmo_mix64(h ^ w);
	}
	return h;
}

/* The record's check: never 0, which means "spent". */
static uint64_t check_of(const pmo_wordlog *wl)
{
	uint64_t h = pmo_mix64(wl->n * 0x9e3779b97f4a7c15ULL);
	h = pmo_mix64(h ^ wl->data_off);
	h = pmo_mix64(h ^ wl->data_len);
	h = pmo_mix64(h ^ wl->data_check);
	for (uint64_t i = 0; i < wl->n && i < PMO_WORDLOG_MAX; i++)
		h = pmo_mix64(h ^ pmo_mix64(wl->e[i].off ^ (wl->e[i].val * 0xc2b2ae3d27d4eb4fULL)));
	return h ? h : 1;
}

int pmo_wordlog_ready(const pmo_pool *p)
{
	return p->root->word_log.off != 0 && !pmo_pool_failed(p);
}

/* Store the words and make them durable.  From the caller's copy, not
 * the record's: a flush may have taken the record's lines out of the
 * cache, and reading them back would miss. */
static void apply(pmo_pool *p, const pmo_word *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		*w[i].word = w[i].value;
	/* Each line flushed once, after every store to it (a flush does
	 * not cover later stores): a dict's counters share one. */
	uintptr_t line = 0;
	for (unsigned i = 0; i < n; i++) {
		if ((uintptr_t)w[i].word / LINE != line) {
			line = (uintptr_t)w[i].word / LINE;
			pmemobj_flush(p->pop, w[i].word, sizeof *w[i].word);
		}
	}
	pmemobj_drain(p->pop);
}

static void spend(pmo_pool *p, pmo_wordlog *wl)
{
	wl->check = 0;
	pmemobj_persist(p->pop, &wl->check, sizeof wl->check);
	p->wordlog_live = 0;
}

void pmo_wordlog_spend_live(pmo_pool *p)
{
	/* After an I/O error the mapping may not take writes: the record
	 * stays, and the next open redoes it (its words hold its values). */
	if (!pmo_pool_failed(p))
		spend(p, log_of(p));
}

void pmo_wordlog_set(pmo_pool *p, void *data, const void *src, size_t len, const pmo_word *w,
		     unsigned n)
{
	/* The new bytes, flushed now and made durable by the record's fence;
	 * the record counts only if they reached the media. */
	memcpy(data, src, len);
	pmemobj_flush(p->pop, data, len);
	pmo_wordlog *wl = log_of(p);
	wl->n = n;
	wl->data_off = pmo_offset(p, data);
	wl->data_len = len;
	/* Of src, which holds the same bytes: data's lines were flushed. */
	wl->data_check = data_check_of(src, len);
	for (unsigned i = 0; i < n; i++) {
		wl->e[i].off = pmo_offset(p, w[i].word);
		wl->e[i].val = w[i].value;
	}
	wl->check = check_of(wl);
	pmemobj_flush(p->pop, wl, offsetof(pmo_wordlog, e) + n * sizeof wl->e[0]);
	/* The record and the data durable before any word is stored. */
	if (!pmo_planted("wordlog_unfenced"))
		pmemobj_drain(p->pop);
	apply(p, w, n);
	p->wordlog_live = 1;
}

int pmo_wordlog_recover(pmo_pool *p)
{
	p->wordlog_live = 0;
	PMEMoid oid = p->root->word_log;
	if (!oid.off)
		return 0;
	size_t usable;
	if (pmo_root_block_check(p, oid, BLOCK, "word log", &usable) != 0)
		return -1;
	pmo_wordlog *wl = log_of(p);
	if (wl->magic != PMO_WORDLOG_MAGIC)
		return pmo_err_corrupt(p->path, oid.off, "bad word log (not a word log's block)");
	if (wl->check == 0)
		return 0;
	/* A record that fails a check was written by an operation that
	 * stopped before its first fence, so none of its words was stored:
	 * nothing to redo.  It is spent, so that a later open need not
	 * decide again. */
	int counts =
		wl->n >= 1 && wl->n <= PMO_WORDLOG_MAX && wl->check == check_of(wl) &&
		wl->data_len <= DATA_MAX &&
		pmo_off_valid(p, wl->data_off & ~(uint64_t)15, wl->data_len + (wl->data_off & 15));
	if (counts && wl->data_check != data_check_of(pmo_direct(p, wl->data_off), wl->data_len))
		counts = 0;
	if (counts) {
		pmo_word w[PMO_WORDLOG_MAX];
		for (unsigned i = 0; i < wl->n; i++) {
			uint64_t off = wl->e[i].off;
			/* A word in an object's 16 bytes: never in libpmemobj's
			 * metadata, never past the heap. */
			if ((off & 7) || !pmo_off_valid(p, off & ~(uint64_t)15, 16))
				return pmo_err_corrupt(
					p->path, oid.off,
					"bad word log (word %u of its record at %llu)", i,
					(unsigned long long)off);
			w[i] = (pmo_word){pmo_direct(p, off), wl->e[i].val};
		}
		apply(p, w, (unsigned)wl->n);
	}
	spend(p, wl);
	return 0;
}

static int block_init(PMEMobjpool *pop, void *ptr, void *arg)
{
	(void)arg;
	memset(ptr, 0, BLOCK);
	pmo_wordlog *wl = (pmo_wordlog *)(((uintptr_t)ptr + LINE - 1) & ~(uintptr_t)(LINE - 1));
	wl->magic = PMO_WORDLOG_MAGIC;
	pmemobj_persist(pop, ptr, BLOCK);
	return 0;
}

void pmo_wordlog_reserve(pmo_pool *p)
{
	if (p->root->word_log.off || pmo_pool_failed(p))
		return;
	/* From the runtime's classes, as every other block (tx.h).  Made
	 * and published in one atomic allocation: a crash leaves the root's
	 * oid null or the whole block. */
	size_t size = pmo_alloc_room(p, BLOCK);
	if (pmemobj_xalloc(p->pop, &p->root->word_log, size, PMO_TYPENUM_RAW,
			   pmo_alloc_flags(p, size, PMO_TYPENUM_RAW, 0), block_init, NULL) != 0)
		return; /* no room: inserts take transactions */
	if (p->max_size)
		pmo_pool_grew(p);
}
