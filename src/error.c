/* Thread-local error messages; see error.h. */
#include "error.h"

#include <errno.h>
#include <libpmemobj.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static __thread char last_msg[512];
static __thread int last_corrupt; /* set by pmo_err_corrupt */
static __thread unsigned long long last_corrupt_off;
static __thread char last_corrupt_path[256];

static void set_msg(const char *fmt, va_list ap, const char *suffix)
{
	int n = vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	if (suffix && suffix[0] && n >= 0 && (size_t)n < sizeof(last_msg))
		snprintf(last_msg + n, sizeof(last_msg) - n, ": %s", suffix);
}

int pmo_err(int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_msg(fmt, ap, NULL);
	va_end(ap);
	last_corrupt = 0;
	errno = errnum;
	return -1;
}

int pmo_err_corrupt(const char *path, unsigned long long off, const char *fmt, ...)
{
	char what[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(last_msg, sizeof(last_msg), "corrupted pool %s: %s (at offset %llu)",
		 path ? path : "?", what, off);
	last_corrupt = 1;
	last_corrupt_off = off;
	snprintf(last_corrupt_path, sizeof(last_corrupt_path), "%s", path ? path : "");
	errno = EIO;
	return -1;
}

int pmo_err_is_corrupt(unsigned long long *off, const char **path)
{
	if (last_corrupt && off)
		*off = last_corrupt_off;
	if (last_corrupt && path)
		*path = last_corrupt_path;
	return last_corrupt;
}

int pmo_err_pmdk(int errnum, const char *fmt, ...)
{
	/* libpmemobj sometimes fails with errno 0 or -1: no errno a caller
	 * (or OSError) can act on.  Such a failure is an I/O error. */
	if (errnum <= 0)
		errnum = EIO;
	/* Copy libpmemobj's message first: it lives in its own TLS buffer. */
	char pmdk[256];
	const char *m = pmemobj_errormsg();
	snprintf(pmdk, sizeof(pmdk), "%s", m ? m : "");
	/* Its messages often end with the errno text already; keep them short. */
	size_t len = strlen(pmdk);
	while (len && (pmdk[len - 1] == '\n' || pmdk[len - 1] == ' '))
		pmdk[--len] = '\0';
	va_list ap;
	va_start(ap, fmt);
	set_msg(fmt, ap, pmdk);
	va_end(ap);
	last_corrupt = 0;
	errno = errnum;
	return -1;
}

const char *pmo_errormsg(void)
{
	return last_msg;
}

void pmo_err_clear(void)
{
	last_msg[0] = '\0';
	last_corrupt = 0;
}
