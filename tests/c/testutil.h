/* testutil.h - minimal helpers for the C tests: checks that report
 * file:line, count failures and let the test carry on. */
#ifndef PMO_TESTUTIL_H
#define PMO_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

extern long test_checks;   /* checks run */
extern long test_failures; /* checks failed */

void test_fail(const char *file, int line, const char *fmt, ...);

#define CHECK(cond)                                                        \
	do {                                                               \
		test_checks++;                                             \
		if (!(cond))                                               \
			test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
	} while (0)

#define CHECK_EQ_I64(a, b)                                                                      \
	do {                                                                                    \
		int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                                   \
		test_checks++;                                                                  \
		if (a_ != b_)                                                                   \
			test_fail(__FILE__, __LINE__, "CHECK_EQ_I64(%s, %s): %lld != %lld", #a, \
				  #b, (long long)a_, (long long)b_);                            \
	} while (0)

/* A fresh pool file path in /dev/shm for this process (removed first). */
const char *test_pool_path(const char *name);

struct pmo_pool;
struct pmo_slot;

/* Create a pool of size bytes at test_pool_path(name); NULL (reported). */
struct pmo_pool *test_pool_fresh(const char *name, size_t size);

/* Close a test pool and remove its file. */
void test_pool_done(struct pmo_pool *p);

/* Store v (its reference stolen) into the root, in a transaction of its own. */
int test_set_root(struct pmo_pool *p, struct pmo_slot v);

/* Print a summary; returns the exit status for main (0 if all passed). */
int test_finish(void);

#endif /* PMO_TESTUTIL_H */
