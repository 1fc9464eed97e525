/*
 * The pool lock and the autocommit protocol.
 *
 * libpmemobj transactions are per thread, and two threads changing the
 * same pool inside their own transactions could interleave writes to the
 * same object; so a thread holds the pool lock for each operation and for
 * the whole of an open transaction.  The lock is recursive for its owner
 * (an operation inside a `with` block).
 *
 * Taking it must cost next to nothing, because every read takes it.  The
 * GIL already serialises the threads that touch owner and lock_depth, so
 * an uncontended acquire is two stores.  Only a thread that finds the
 * lock held by another waits: it releases the GIL (or the owner could
 * never finish its transaction) and sleeps on `gate`, which the owner
 * opens when it lets go with waiters present.  The wait is timed, so a
 * wake-up that goes to another waiter costs at most a millisecond, never
 * a hang.  (This relies on the GIL: a free-threaded build would need a
 * real mutex here.)
 */
#include "proxy.h"

#include <errno.h>

/* Another thread holds the lock: wait for it (pyx_lock in ext.h is the
 * uncontended case). */
void pyx_lock_wait(PoolObject *pool, unsigned long me)
{
	while (pool->lock_depth > 0) {
		pool->waiters++;
		Py_BEGIN_ALLOW_THREADS
		PyThread_acquire_lock_timed(pool->gate, 1000, 0);
		Py_END_ALLOW_THREADS
		pool->waiters--;
	}
	pool->owner = me;
	pool->lock_depth = 1;
}

void pyx_lock_wake(PoolObject *pool)
{
	PyThread_release_lock(pool->gate);
}

int pyx_op_begin(PoolObject *pool)
{
	if (pyx_check_open(pool) || pyx_check_writable(pool))
		return -1;
	pyx_lock(pool);
	/* The pool may have been closed while this thread waited. */
	if (!pool->core) {
		pyx_unlock(pool);
		pyx_closed();
		return -1;
	}
	if (pmo_tx_begin(pool->core) != 0) {
		pyx_unlock(pool);
		pyx_raise();
		return -1;
	}
	pool->epoch++;
	return 0;
}

int pyx_op_end(PoolObject *pool, int failed)
{
	if (failed) {
		if (!PyErr_Occurred())
			pyx_raise();
		pmo_tx_abort(pool->core, ECANCELED);
		pmo_tx_end(pool->core);
		pmo_err_clear();
		pyx_unlock(pool);
		return -1;
	}
	int rc = pmo_tx_end(pool->core);
	if (rc != 0)
		pyx_raise();
	else
		pyx_report_deferred_error(pool);
	pyx_unlock(pool);
	return rc;
}
