/* testutil.c - see testutil.h */
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
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
