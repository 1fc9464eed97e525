/* I/O errors under an open pool; see iofail.h. */
#include "iofail.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"

/* The watched mappings.  The signal handler reads them, so every field is
 * read and written atomically, and a slot is filled flag last and emptied
 * flag first. */
static struct {
	uintptr_t lo, hi;
	int *flag; /* the pool's io_failed; NULL: free slot */
} watches[PMO_IOFAIL_MAX];

static uintptr_t page_size = 4096; /* set at the first watch (sysconf) */
static struct sigaction prev_bus;  /* the SIGBUS handler before ours */
static volatile sig_atomic_t chaining;
static long msync_calls, msync_fail_at;

/* The io_failed flag of the watched pool that holds addr, or NULL. */
static int *watched(uintptr_t addr)
{
	for (int i = 0; i < PMO_IOFAIL_MAX; i++) {
		int *flag = __atomic_load_n(&watches[i].flag, __ATOMIC_ACQUIRE);
		if (flag && addr >= __atomic_load_n(&watches[i].lo, __ATOMIC_RELAXED) &&
		    addr < __atomic_load_n(&watches[i].hi, __ATOMIC_RELAXED))
			return flag;
	}
	return NULL;
}

/* Hand a SIGBUS that is not ours to whoever had it before. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	/* A previous handler that puts ours back and raises again (Python's
	 * faulthandler does) must not send us round in a loop. */
	if (!chaining) {
		chaining = 1;
		if (prev_bus.sa_flags & SA_SIGINFO) {
			prev_bus.sa_sigaction(sig, si, uc);
			chaining = 0;
			return;
		}
		if (prev_bus.sa_handler == SIG_IGN && si->si_code <= 0) {
			chaining = 0; /* a kill(2) of an ignored signal */
			return;
		}
		if (prev_bus.sa_handler != SIG_DFL && prev_bus.sa_handler != SIG_IGN) {
			prev_bus.sa_handler(sig);
			chaining = 0;
			return;
		}
	}
	/* The default action: a fault retried now ends the process as it
	 * would have without us; a sent signal is sent again, and delivered
	 * once this handler returns. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGBUS, &dfl, NULL);
	if (si->si_code <= 0)
		raise(sig);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int *flag = si->si_code > 0 ? watched((uintptr_t)si->si_addr) : NULL;
	if (flag) {
		uintptr_t page = (uintptr_t)si->si_addr & ~(page_size - 1);
		void *m = mmap((void *)page, page_size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (m != MAP_FAILED) {
			memset(m, PMO_IOFAIL_LOST_BYTE, page_size);
			__atomic_store_n(flag, EIO, __ATOMIC_RELAXED);
			return; /* the access is retried, on the new page */
		}
	}
	chain(sig, si, uc);
}

/* Put our handler in front, unless it is there already. */
static int install(void)
{
	struct sigaction cur;
	if (sigaction(SIGBUS, NULL, &cur) != 0)
		return -1;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)
		return 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, &prev_bus);
}

void pmo_iofail_watch(pmo_pool *p)
{
	long ps = sysconf(_SC_PAGESIZE);
	if (ps > 0)
		page_size = (uintptr_t)ps;
	if (install() != 0)
		return;
	for (int i = 0; i < PMO_IOFAIL_MAX; i++) {
		int *none = NULL;
		if (__atomic_load_n(&watches[i].flag, __ATOMIC_ACQUIRE))
			continue;
		__atomic_store_n(&watches[i].lo, (uintptr_t)p->base, __ATOMIC_RELAXED);
		/* A growable pool maps its new parts inside the range that
		 * libpmemobj reserved for max_size. */
		uint64_t len = p->max_size ? p->max_size : p->size;
		__atomic_store_n(&watches[i].hi, (uintptr_t)p->base + len, __ATOMIC_RELAXED);
		if (__atomic_compare_exchange_n(&watches[i].flag, &none, &p->io_failed, 0,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED))
			return;
	}
}

void pmo_iofail_unwatch(pmo_pool *p)
{
	for (int i = 0; i < PMO_IOFAIL_MAX; i++)
		if (__atomic_load_n(&watches[i].flag, __ATOMIC_ACQUIRE) == &p->io_failed)
			__atomic_store_n(&watches[i].flag, NULL, __ATOMIC_RELEASE);
}

int pmo_err_pool_failed(const pmo_pool *p)
{
	int e = pmo_pool_failed(p);
	return pmo_err(EIO,
		       "pool %s had an I/O error after it was opened (%s): it accepts no more "
		       "changes; close it, and opening it again recovers its last durable state "
		       "(pmemobj.check and pmemobj.salvage tell what is left)",
		       p->path, strerror(e));
}

long pmo_iofail_inject_msync(long n)
{
	long made = __atomic_exchange_n(&msync_calls, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&msync_fail_at, n > 0 ? n : 0, __ATOMIC_RELAXED);
	return made;
}

/* libpmemobj's msync, for pools that are not on persistent memory: what
 * libpmem's does (msync of the whole pages that hold the range), but a
 * failure on a watched pool is recorded in the pool rather than returned,
 * because libpmemobj aborts the process when this fails.  It replaces
 * libpmem's by symbol interposition, so it stays exported when the rest
 * of the runtime is hidden (CMakeLists.txt). */
__attribute__((visibility("default"))) int pmem_msync(const void *addr, size_t len)
{
	uintptr_t start = (uintptr_t)addr & ~(page_size - 1);
	int rc = msync((void *)start, len + ((uintptr_t)addr - start), MS_SYNC);
	int e = rc ? errno : 0;
	int *flag = watched(start);
	if (!flag) {
		errno = e;
		return rc;
	}
	long n = __atomic_add_fetch(&msync_calls, 1, __ATOMIC_RELAXED);
	long at = __atomic_load_n(&msync_fail_at, __ATOMIC_RELAXED);
	if (at && n == at) {
		__atomic_store_n(&msync_fail_at, 0, __ATOMIC_RELAXED);
		e = EIO;
	}
	if (e)
		__atomic_store_n(flag, e, __ATOMIC_RELAXED);
	return 0;
}
