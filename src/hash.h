/* hash.h - stable hashes for persistent hash tables.
 *
 * Everything here is pure (no global state, no allocation) and therefore
 * thread-safe.  See hash.c for why each hash exists.
 */
#ifndef PMO_HASH_H
#define PMO_HASH_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Modulus of Python's numeric hash: the Mersenne prime 2^61 - 1. */
#define PMO_HASH_BITS 61
#define PMO_HASH_MODULUS ((int64_t)(((uint64_t)1 << PMO_HASH_BITS) - 1))
/* Hashes of the non-finite floats and the multiplier of a complex's imaginary
 * part, as in Python (sys.hash_info.inf / .imag). */
#define PMO_HASH_INF ((int64_t)314159)
#define PMO_HASH_IMAG ((int64_t)1000003)
/* A stable hash for None (the constant CPython 3.12 uses; older versions hash
 * None by address, which is not stable across processes). */
#define PMO_HASH_NONE ((int64_t)0xFCA86420)

/* A 64-bit mix (splitmix64's finalizer): the checks of the pool's own
 * logs (rangelog.h, wordlog.h), where a damaged or torn record must not
 * read as a valid one. */
static inline uint64_t pmo_mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Keyed SipHash-1-3 (1 compression round, 3 finalization rounds), 64-bit
 * output; the 128-bit key is (k0, k1), each a little-endian 64-bit word,
 * exactly as CPython 3.11 keys its str/bytes hash. */
uint64_t pmo_siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len);

/* Python-compatible numeric hashes: equal to CPython 3.11's hash() of the same
 * value (64-bit Py_hash_t; -1 is never returned, it becomes -2). */
int64_t pmo_hash_int64(int64_t v);
/* A big int as sign (-1, 0, +1) and magnitude as n little-endian bytes
 * (high zero bytes are allowed; n == 0 means zero). */
int64_t pmo_hash_bigint(int sign, const uint8_t *magnitude_le, size_t n);
/* NaN hashes to 0 (CPython 3.10+ hashes NaN by identity, which is not stable). */
int64_t pmo_hash_double(double v);
int64_t pmo_hash_complex(double real, double imag);

/* Hash of a tuple from the hashes of its items (CPython 3.8+ tuplehash). */
int64_t pmo_hash_tuple(const int64_t *item_hashes, size_t n);
/* Hash of a frozenset from the hashes of its (distinct) items, independent of
 * their order (CPython frozenset_hash). */
int64_t pmo_hash_frozenset(const int64_t *item_hashes, size_t n);

/* Stable hash for bytes-like data under the pool's key: pmo_siphash13 mapped
 * so that it is never -1 (and 0 for empty data).  With the key CPython uses
 * this equals CPython's hash() of the same bytes. */
int64_t pmo_hash_bytes_keyed(uint64_t k0, uint64_t k1, const void *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* PMO_HASH_H */
