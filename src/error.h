/*
 * Error reporting for the runtime core.
 *
 * Every fallible function returns -1 (or 0 / NULL where it returns an
 * offset or a pointer) with errno set, and leaves a human-readable message
 * in a thread-local buffer.  The Python binding turns errno into the
 * exception class and the message into its text, so messages are written
 * for the end user: they say what was wrong and with which value.
 */
#ifndef PMO_ERROR_H
#define PMO_ERROR_H

/* Record errnum and a printf-style message; always returns -1. */
int pmo_err(int errnum, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like pmo_err, but appends libpmemobj's own last message. */
int pmo_err_pmdk(int errnum, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The message of the last error in this thread ("" if none). */
const char *pmo_errormsg(void);

/* Forget the last message (so a later errno-only failure is not misreported). */
void pmo_err_clear(void);

#endif
