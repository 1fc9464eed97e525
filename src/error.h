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
int pmo_err(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like pmo_err, but appends libpmemobj's own last message; an errnum of 0
 * or less (libpmemobj's errno is not always set) becomes EIO. */
int pmo_err_pmdk(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record damage found in the pool file at `path`: errno EIO, a message
 * naming the file and the offset, and a flag that tells the binding to
 * raise CorruptPoolError (other EIO errors are I/O failures, not damage).
 * off is the byte offset in the file where the damage was seen (0 when
 * it cannot be pinned to one).  Always returns -1. */
int pmo_err_corrupt(const char *path, unsigned long long off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Was the last error recorded by pmo_err_corrupt?  Then *off is its
 * offset and *path the file (either pointer may be NULL). */
int pmo_err_is_corrupt(unsigned long long *off, const char **path);

/* The message of the last error in this thread ("" if none). */
const char *pmo_errormsg(void);

/* Forget the last message (so a later errno-only failure is not misreported). */
void pmo_err_clear(void);

#endif
