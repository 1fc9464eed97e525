/* Growable pools' set files and parts; see poolset.h. */
#include "poolset.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <libpmemobj.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "pmdk_layout.h"
#include "pool.h"

#define SET_SIG "PMEMPOOLSET"
#define SET_OPTION "OPTION SINGLEHDR"
#define SET_MAX_TEXT 8192
#define PART_SUFFIX ".pmem"

int pmo_is_pool_set(const char *path)
{
	char head[sizeof SET_SIG - 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* the caller reports why it cannot be read */
	int set = pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head &&
		  memcmp(head, SET_SIG, sizeof head) == 0;
	close(fd);
	return set;
}

void pmo_set_free(pmo_set *s)
{
	free(s->dir);
	free(s->part_size);
	*s = (pmo_set){0};
}

char *pmo_set_part_path(const pmo_set *s, unsigned i)
{
	size_t n = strlen(s->dir) + 32;
	char *p = malloc(n);
	if (!p) {
		pmo_err(ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(p, n, "%s%06u" PART_SUFFIX, s->dir, i);
	return p;
}

char *pmo_set_parts_dir(const char *path)
{
	char *copy = strdup(path), *d = NULL;
	char *real = NULL;
	if (copy) {
		char *dir = dirname(copy);
		real = realpath(dir, NULL);
	}
	if (real) {
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		size_t n = strlen(real) + strlen(base) + 16;
		if ((d = malloc(n)))
			snprintf(d, n, "%s/%s.parts/", strcmp(real, "/") ? real : "", base);
	}
	int e = errno;
	free(copy);
	free(real);
	if (!d)
		pmo_err(e ? e : ENOMEM, "cannot resolve the directory of %s: %s", path,
			strerror(e ? e : ENOMEM));
	return d;
}

static int shape_error(const char *path, const char *why)
{
	return pmo_err(EINVAL,
		       "%s is a libpmemobj pool set that pmemobj does not open (%s); pmemobj opens "
		       "the sets it writes itself (pmemobj.create(path)): the lines "
		       "'" SET_SIG "', '" SET_OPTION "' and '<max size in bytes> <path>.parts/'",
		       path, why);
}

/* Parse the text; s->dir and s->max_size on success. */
static int parse(const char *path, const char *text, pmo_set *s)
{
	const char *l1 = text;
	const char *l2 = strchr(l1, '\n');
	const char *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
	const char *end = l3 ? strchr(l3 + 1, '\n') : NULL;
	if (!l2 || !l3 || !end || end[1] != '\0')
		return shape_error(path, "it is not three lines");
	if ((size_t)(l2 - l1) != strlen(SET_SIG) || memcmp(l1, SET_SIG, strlen(SET_SIG)) ||
	    (size_t)(l3 - l2 - 1) != strlen(SET_OPTION) ||
	    memcmp(l2 + 1, SET_OPTION, strlen(SET_OPTION)))
		return shape_error(path, "its first lines are not " SET_SIG " and " SET_OPTION);
	const char *p = l3 + 1;
	uint64_t max = 0;
	if (*p < '1' || *p > '9')
		return shape_error(path, "its part line does not start with a size in bytes");
	for (; *p >= '0' && *p <= '9'; p++) {
		if (max > (UINT64_MAX - 9) / 10)
			return shape_error(path, "its size is too large");
		max = max * 10 + (uint64_t)(*p - '0');
	}
	if (*p != ' ' || p[1] != '/' || end[-1] != '/')
		return shape_error(path, "its part line is not '<size> <absolute directory>/'");
	size_t n = (size_t)(end - p - 1);
	if (!(s->dir = malloc(n + 1)))
		return pmo_err(ENOMEM, "out of memory");
	memcpy(s->dir, p + 1, n);
	s->dir[n] = '\0';
	if (strlen(s->dir) != n)
		return shape_error(path, "its directory holds a NUL byte");
	s->max_size = max;
	return 0;
}

/* Is name "NNNNNN.pmem"?  Its number in *i. */
static int part_number(const char *name, unsigned *i)
{
	if (strlen(name) != 6 + strlen(PART_SUFFIX) || strcmp(name + 6, PART_SUFFIX) != 0)
		return 0;
	unsigned v = 0;
	for (int k = 0; k < 6; k++) {
		if (name[k] < '0' || name[k] > '9')
			return 0;
		v = v * 10 + (unsigned)(name[k] - '0');
	}
	*i = v;
	return 1;
}

/* Does the heap end within the parts listed so far (s->total)?  Its
 * offset and size are in the first part, which is at least a minimal
 * pool. */
static int past_heap(const pmo_set *s)
{
	char *first = pmo_set_part_path(s, 0);
	int fd = first ? open(first, O_RDONLY | O_CLOEXEC) : -1;
	free(first);
	if (fd < 0)
		return 0;
	uint64_t off = 0, size = 0;
	int ok = pread(fd, &off, sizeof off, PMDK_DSC_HEAP_OFFSET) == (ssize_t)sizeof off &&
		 pread(fd, &size, sizeof size, PMDK_DSC_HEAP_SIZE) == (ssize_t)sizeof size;
	close(fd);
	return ok && size != 0 && off <= s->total && size <= s->total - off;
}

/* List and size the parts: NNNNNN.pmem from 0 without gaps, nothing else,
 * each a regular file of whole pages, the first at least a minimal pool,
 * the rest at least libpmemobj's smallest part, together within max. */
static int list_parts(const char *path, pmo_set *s)
{
	DIR *d = opendir(s->dir);
	if (!d)
		return pmo_err(errno, "cannot open pool %s: its parts directory %s: %s", path,
			       s->dir, strerror(errno));
	unsigned n = 0, top = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned i;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (!part_number(e->d_name, &i)) {
			rc = pmo_err_corrupt(path, 0,
					     "its parts directory %s holds '%s', which is "
					     "not a part (NNNNNN" PART_SUFFIX ")",
					     s->dir, e->d_name);
			break;
		}
		n++;
		if (i + 1 > top)
			top = i + 1;
	}
	closedir(d);
	if (rc)
		return rc;
	if (n == 0)
		return pmo_err_corrupt(path, 0, "its parts directory %s has no parts", s->dir);
	if (top > PMO_GROW_MAX_PARTS)
		return pmo_err_corrupt(path, 0, "its parts directory %s has more than %u parts",
				       s->dir, PMO_GROW_MAX_PARTS);
	if (n != top)
		return pmo_err_corrupt(path, 0,
				       "parts are missing from %s (%u parts, numbered up "
				       "to %06u)",
				       s->dir, n, top - 1);
	s->nparts = n;
	if (!(s->part_size = calloc(n, sizeof *s->part_size)))
		return pmo_err(ENOMEM, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		char *pp = pmo_set_part_path(s, i);
		if (!pp)
			return -1;
		struct stat st;
		int ok = lstat(pp, &st) == 0;
		uint64_t sz = ok ? (uint64_t)st.st_size : 0;
		uint64_t min = i ? PMEMOBJ_MIN_PART : PMO_MIN_POOL_SIZE;
		if (ok && S_ISREG(st.st_mode) && (sz < min || sz % 4096) && i > 0 && i == n - 1 &&
		    past_heap(s)) {
			/* libpmemobj creates a part, then sizes it: a kill in
			 * between leaves a last part of the wrong size that the
			 * heap never took, which libpmemobj would refuse. */
			s->nparts = n - 1;
			s->unfinished = 1;
			free(pp);
			break;
		}
		if (!ok || !S_ISREG(st.st_mode))
			rc = pmo_err_corrupt(path, s->total, "part %s is not a regular file", pp);
		else if (sz < min || sz % 4096)
			rc = pmo_err_corrupt(path, s->total,
					     "part %s has %llu bytes (a part has "
					     "whole pages, at least %llu): truncated or replaced",
					     pp, (unsigned long long)sz, (unsigned long long)min);
		else if (sz > s->max_size - s->total)
			rc = pmo_err_corrupt(path, s->total,
					     "the parts reach past the set's "
					     "size %llu at %s",
					     (unsigned long long)s->max_size, pp);
		free(pp);
		if (rc)
			return rc;
		s->part_size[i] = sz;
		s->total += sz;
	}
	return 0;
}

int pmo_set_read(const char *path, pmo_set *s)
{
	*s = (pmo_set){0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pmo_err(errno, "cannot open pool %s: %s", path, strerror(errno));
	char text[SET_MAX_TEXT + 1];
	ssize_t n = read(fd, text, sizeof text);
	close(fd);
	if (n < 0)
		return pmo_err(errno, "cannot read pool set %s: %s", path, strerror(errno));
	if (n > SET_MAX_TEXT)
		return shape_error(path, "it is longer than pmemobj writes");
	text[n] = '\0';
	if (strlen(text) != (size_t)n)
		return shape_error(path, "it holds a NUL byte");
	int rc = parse(path, text, s);
	if (rc == 0) {
		char *want = pmo_set_parts_dir(path);
		if (!want)
			rc = -1;
		else if (strcmp(want, s->dir) != 0)
			rc = pmo_err(EINVAL,
				     "pool set %s names the parts directory %s, but its parts "
				     "belong in %s: "
				     "the pool was moved or copied without rewriting the set's "
				     "last line "
				     "(move it back, or change that line to '%llu %s')",
				     path, s->dir, want, (unsigned long long)s->max_size, want);
		free(want);
	}
	if (rc == 0 && s->max_size < PMO_MIN_POOL_SIZE)
		rc = pmo_err_corrupt(path, 0,
				     "the set's size %llu is below the minimum pool "
				     "size %zu",
				     (unsigned long long)s->max_size, PMO_MIN_POOL_SIZE);
	if (rc == 0)
		rc = list_parts(path, s);
	if (rc) {
		int e = errno;
		pmo_set_free(s);
		errno = e;
	}
	return rc;
}

static int fsync_path(const char *p)
{
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int pmo_set_write(const char *path, const char *parts_dir, uint64_t max_size, mode_t mode)
{
	if (mkdir(parts_dir, 0777) != 0)
		return pmo_err(errno, "cannot create the parts directory %s: %s", parts_dir,
			       strerror(errno));
	char text[SET_MAX_TEXT];
	int n = snprintf(text, sizeof text, SET_SIG "\n" SET_OPTION "\n%llu %s\n",
			 (unsigned long long)max_size, parts_dir);
	if (n < 0 || n >= (int)sizeof text) {
		rmdir(parts_dir);
		return pmo_err(ENAMETOOLONG, "cannot create pool %s: its path is too long", path);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		int e = errno;
		rmdir(parts_dir);
		return pmo_err(e, "cannot create pool %s: %s", path, strerror(e));
	}
	int ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
	int e = errno;
	close(fd);
	/* The set and the parts directory are entries of path's directory;
	 * the parts will be entries of parts_dir. */
	char *copy = strdup(path);
	if (ok)
		ok = copy && fsync_path(dirname(copy)) == 0 && fsync_path(parts_dir) == 0;
	if (!ok && !e)
		e = errno ? errno : EIO;
	free(copy);
	if (!ok) {
		unlink(path);
		rmdir(parts_dir);
		return pmo_err(e, "cannot create pool %s: %s", path, strerror(e));
	}
	return 0;
}

void pmo_set_remove(const char *path)
{
	char *dir = pmo_set_parts_dir(path);
	if (dir) {
		DIR *d = opendir(dir);
		struct dirent *e;
		unsigned i;
		while (d && (e = readdir(d))) {
			if (!part_number(e->d_name, &i))
				continue;
			size_t n = strlen(dir) + strlen(e->d_name) + 1;
			char *p = malloc(n);
			if (p) {
				snprintf(p, n, "%s%s", dir, e->d_name);
				unlink(p);
			}
			free(p);
		}
		if (d)
			closedir(d);
		rmdir(dir);
	}
	free(dir);
	unlink(path);
}

int pmo_set_map(const pmo_set *s, const char *path, void **base)
{
	char *m =
		mmap(NULL, s->total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return pmo_err(errno, "cannot map pool %s: %s", path, strerror(errno));
	uint64_t at = 0;
	for (unsigned i = 0; i < s->nparts; i++) {
		char *pp = pmo_set_part_path(s, i);
		int fd = pp ? open(pp, O_RDONLY | O_CLOEXEC) : -1;
		int e = errno;
		void *r = fd >= 0 ? mmap(m + at, s->part_size[i], PROT_READ,
					 MAP_PRIVATE | MAP_FIXED, fd, 0)
				  : MAP_FAILED;
		if (r == MAP_FAILED && fd >= 0)
			e = errno;
		if (fd >= 0)
			close(fd);
		if (r == MAP_FAILED) {
			munmap(m, s->total);
			pmo_err(e, "cannot map part %s of pool %s: %s", pp ? pp : "?", path,
				strerror(e));
			free(pp);
			return -1;
		}
		free(pp);
		at += s->part_size[i];
	}
	*base = m;
	return 0;
}

unsigned pmo_set_fix_modes(const pmo_set *s, unsigned from)
{
	char *first = pmo_set_part_path(s, 0);
	struct stat st;
	int have = first && stat(first, &st) == 0;
	free(first);
	unsigned i = from;
	for (;; i++) {
		char *pp = pmo_set_part_path(s, i);
		if (!pp)
			break;
		int exists = access(pp, F_OK) == 0;
		if (exists && have && i > 0)
			chmod(pp, st.st_mode & 07777);
		free(pp);
		if (!exists)
			break;
	}
	return i;
}
