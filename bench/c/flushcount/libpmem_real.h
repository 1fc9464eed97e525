/*
 * Finding libpmem's own definitions of the functions a preloaded library
 * interposes (libpmo_flushcount.so here, libpftrace.so of the
 * power-failure simulator in tests/powerfail).
 *
 * A process may load libpmem privately (the Python extension is
 * dlopen'ed RTLD_LOCAL), where RTLD_NEXT does not see it, so libpmem is
 * asked for by name first.  REAL(ret, name, params) declares and resolves,
 * on first use, real_<name>: libpmemobj's constructor may call before the
 * preloaded library's own.
 */
#ifndef PMO_LIBPMEM_REAL_H
#define PMO_LIBPMEM_REAL_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static void *libpmem_real_sym(const char *name)
{
	static void *libpmem;
	if (!libpmem)
		libpmem = dlopen("libpmem.so.1", RTLD_NOW);
	void *f = libpmem ? dlvsym(libpmem, name, "LIBPMEM_1.0") : NULL;
	if (!f)
		f = dlsym(RTLD_NEXT, name);
	if (!f) {
		fprintf(stderr, "cannot find libpmem's %s\n", name);
		abort();
	}
	return f;
}

#define REAL(ret, name, params)                \
	typedef ret(*name##_fn) params;        \
	static name##_fn real_##name;          \
	if (__builtin_expect(!real_##name, 0)) \
	real_##name = (name##_fn)libpmem_real_sym(#name)

#endif
