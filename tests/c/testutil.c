/* testutil.c - see testutil.h */
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>

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
