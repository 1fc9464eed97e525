/* testutil.c - see testutil.h */
#include "testutil.h"

#include "error.h"
#include "heap.h"
#include "pool.h"
#include "tx.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

long test_checks;
long test_failures;

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	test_failures++;
	fprintf(stderr, "%s:%d: FAILED: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int test_finish(void)
{
	printf("%ld checks, %ld failed\n", test_checks, test_failures);
	return test_failures ? 1 : 0;
}

const char *test_pool_path(const char *name)
{
	static char buf[256];
	snprintf(buf, sizeof buf, "/dev/shm/pmo-ctest-%d-%s.pool", (int)getpid(), name);
	unlink(buf);
	return buf;
}

pmo_pool *test_pool_fresh(const char *name, size_t size)
{
	pmo_pool *p = pmo_pool_create(test_pool_path(name), size, 0600);
	if (!p)
		fprintf(stderr, "create failed: %s\n", pmo_errormsg());
	return p;
}

void test_pool_done(pmo_pool *p)
{
	char path[256];
	snprintf(path, sizeof path, "%s", p->path);
	CHECK(pmo_pool_close(p) == 0);
	unlink(path);
}

int test_set_root(pmo_pool *p, pmo_slot v)
{
	if (pmo_tx_begin(p))
		return -1;
	if (pmo_slot_store(p, &p->root->root, v))
		return pmo_tx_fail(p);
	return pmo_tx_end(p);
}
