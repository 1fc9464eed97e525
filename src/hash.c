/* hash.c - stable hashes for persistent hash tables.
 *
 * A persistent dict or set stores each key's hash beside the key so a lookup
 * after reopening the pool (in another process, maybe on another day) can
 * find it without rehashing the table.  That only works if the hash of a value
 * never changes between processes, which rules out CPython's own str/bytes
 * hash: it is keyed with a per-process random secret (PYTHONHASHSEED).
 *
 *  - pmo_siphash13 / pmo_hash_bytes_keyed: str and bytes.  SipHash-1-3, the
 *    same function CPython 3.11 uses, but keyed with a key kept in the pool
 *    rather than in the process, so it is stable yet still not predictable by
 *    whoever supplies the keys (hash flooding).  With CPython's key it gives
 *    exactly CPython's hash(bytes).
 *
 *  - pmo_hash_int64 / _bigint / _double / _complex: Python's numeric hash,
 *    hash(x) = sign(x) * (|x| mod P) for the prime P = 2^61 - 1, extended to
 *    rationals (floats are m * 2^e) via the inverse of 2 mod P.  It is
 *    deterministic (no secret), and it is the hash Python itself uses, so
 *    1, 1.0, True and (1+0j) hash alike and are the same key, as in a dict.
 *
 *  - pmo_hash_tuple / _frozenset: combine item hashes exactly as CPython 3.11
 *    does, so a tuple of numbers hashes as in Python, and a tuple containing
 *    strings is stable because its item hashes are.
 *
 *  - PMO_HASH_NONE (in hash.h): None, whose CPython < 3.12 hash is its
 *    address.
 *
 * All functions are pure: no state, no allocation, safe from any thread.
 * Arithmetic that wraps is done in uint64_t (well defined in C) and only
 * converted to int64_t at the end.
 */
#include "hash.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* SipHash-1-3                                                               */
/* ------------------------------------------------------------------------ */

#define PMO_ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

/* One SipRound on the four state words. */
#define PMO_SIPROUND(v0, v1, v2, v3)     \
	do {                             \
		v0 += v1;                \
		v1 = PMO_ROTL64(v1, 13); \
		v1 ^= v0;                \
		v0 = PMO_ROTL64(v0, 32); \
		v2 += v3;                \
		v3 = PMO_ROTL64(v3, 16); \
		v3 ^= v2;                \
		v0 += v3;                \
		v3 = PMO_ROTL64(v3, 21); \
		v3 ^= v0;                \
		v2 += v1;                \
		v1 = PMO_ROTL64(v1, 17); \
		v1 ^= v2;                \
		v2 = PMO_ROTL64(v2, 32); \
	} while (0)

static inline uint64_t load_le64(const unsigned char *p)
{
	uint64_t w;
	memcpy(&w, p, sizeof w);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

uint64_t pmo_siphash13(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575); /* "somepseu" */
	uint64_t v1 = k1 ^ UINT64_C(0x646f72616e646f6d); /* "dorandom" */
	uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261); /* "lygenera" */
	uint64_t v3 = k1 ^ UINT64_C(0x7465646279746573); /* "tedbytes" */

	const unsigned char *end = p + (len & ~(size_t)7);
	for (; p != end; p += 8) {
		uint64_t m = load_le64(p);
		v3 ^= m;
		PMO_SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}

	/* Last block: the 0..7 remaining bytes, and the length in the top byte. */
	uint64_t b = (uint64_t)len << 56;
	switch (len & 7) {
	case 7:
		b |= (uint64_t)p[6] << 48; /* fall through */
	case 6:
		b |= (uint64_t)p[5] << 40; /* fall through */
	case 5:
		b |= (uint64_t)p[4] << 32; /* fall through */
	case 4:
		b |= (uint64_t)p[3] << 24; /* fall through */
	case 3:
		b |= (uint64_t)p[2] << 16; /* fall through */
	case 2:
		b |= (uint64_t)p[1] << 8; /* fall through */
	case 1:
		b |= (uint64_t)p[0]; /* fall through */
	case 0:
		break;
	}
	v3 ^= b;
	PMO_SIPROUND(v0, v1, v2, v3);
	v0 ^= b;

	v2 ^= 0xff;
	PMO_SIPROUND(v0, v1, v2, v3);
	PMO_SIPROUND(v0, v1, v2, v3);
	PMO_SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

int64_t pmo_hash_bytes_keyed(uint64_t k0, uint64_t k1, const void *data, size_t len)
{
	/* Empty data hashes to 0, as in CPython (so the pool's hash of b'' is
     * CPython's whatever its key). */
	if (len == 0)
		return 0;
	int64_t h = (int64_t)pmo_siphash13(k0, k1, data, len);
	return h == -1 ? -2 : h;
}

/* ------------------------------------------------------------------------ */
/* Numeric hashes: arithmetic modulo P = 2^61 - 1                            */
/* ------------------------------------------------------------------------ */

#define P61 ((uint64_t)PMO_HASH_MODULUS)

/* x mod P for any 64-bit x: 2^61 = 1 (mod P), so fold the top 3 bits down. */
static inline uint64_t mod_p(uint64_t x)
{
	x = (x & P61) + (x >> PMO_HASH_BITS); /* <= P + 7 */
	return x >= P61 ? x - P61 : x;
}

/* x * 2^r mod P for x < P and 0 <= r < 61: a rotation within 61 bits.  The
 * result is < P because only the all-ones pattern (P itself) rotates to P. */
static inline uint64_t mul_pow2_p(uint64_t x, unsigned r)
{
	if (r == 0)
		return x;
	return ((x << r) & P61) | (x >> (PMO_HASH_BITS - r));
}

/* Apply the sign to a residue in [0, P) and keep -1 out of the range. */
static inline int64_t signed_result(int negative, uint64_t x)
{
	int64_t h = negative ? -(int64_t)x : (int64_t)x;
	return h == -1 ? -2 : h;
}

int64_t pmo_hash_int64(int64_t v)
{
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	return signed_result(v < 0, mod_p(mag));
}

int64_t pmo_hash_bigint(int sign, const uint8_t *magnitude_le, size_t n)
{
	if (sign == 0)
		return 0;
	/* Horner's rule over 64-bit words from the most significant end:
     * x <- x * 2^64 + w, and 2^64 = 2^3 (mod P). */
	size_t top = n & 7; /* bytes of the partial most-significant word */
	size_t off = n - top;
	uint64_t x = 0;
	for (size_t i = top; i > 0; i--)
		x = (x << 8) | magnitude_le[off + i - 1];
	x = mod_p(x);
	while (off > 0) {
		off -= 8;
		x = mul_pow2_p(x, 3) + mod_p(load_le64(magnitude_le + off));
		if (x >= P61)
			x -= P61;
	}
	return signed_result(sign < 0, x);
}

int64_t pmo_hash_double(double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	int negative = (int)(bits >> 63);
	unsigned biased = (unsigned)(bits >> 52) & 0x7ff;
	uint64_t frac = bits & ((UINT64_C(1) << 52) - 1);

	if (biased == 0x7ff) {
		if (frac != 0)
			return 0; /* NaN: a stable stand-in for CPython's identity hash */
		return negative ? -PMO_HASH_INF : PMO_HASH_INF;
	}
	/* |v| = m * 2^e with m an integer < 2^53 (so already reduced mod P). */
	uint64_t m;
	int e;
	if (biased == 0) { /* zero or subnormal */
		m = frac;
		e = -1074;
	} else {
		m = frac | (UINT64_C(1) << 52);
		e = (int)biased - 1075;
	}
	if (m == 0)
		return 0; /* 0.0 and -0.0 */
	/* 2^61 = 1 (mod P), so 2^e = 2^(e mod 61) for negative e too. */
	int r = e % PMO_HASH_BITS;
	if (r < 0)
		r += PMO_HASH_BITS;
	return signed_result(negative, mul_pow2_p(m, (unsigned)r));
}

int64_t pmo_hash_complex(double real, double imag)
{
	uint64_t h = (uint64_t)pmo_hash_double(real) +
		     (uint64_t)PMO_HASH_IMAG * (uint64_t)pmo_hash_double(imag);
	return h == UINT64_MAX ? -2 : (int64_t)h;
}

/* ------------------------------------------------------------------------ */
/* Containers                                                                */
/* ------------------------------------------------------------------------ */

/* Tuple: an xxHash64-style accumulation of the item hashes (CPython 3.8+). */
#define XXH_PRIME64_1 UINT64_C(11400714785074694791)
#define XXH_PRIME64_2 UINT64_C(14029467366897019727)
#define XXH_PRIME64_5 UINT64_C(2870177450012600261)

int64_t pmo_hash_tuple(const int64_t *item_hashes, size_t n)
{
	uint64_t acc = XXH_PRIME64_5;
	for (size_t i = 0; i < n; i++) {
		acc += (uint64_t)item_hashes[i] * XXH_PRIME64_2;
		acc = PMO_ROTL64(acc, 31);
		acc *= XXH_PRIME64_1;
	}
	acc += (uint64_t)n ^ (XXH_PRIME64_5 ^ UINT64_C(3527539));
	/* CPython maps -1 to this constant here (not to -2). */
	return acc == UINT64_MAX ? (int64_t)1546275796 : (int64_t)acc;
}

/* Frozenset: xor of a bit-spreading function of each item hash (so order
 * does not matter), then the size and a final mix (CPython frozenset_hash). */
static inline uint64_t frozenset_spread(uint64_t h)
{
	return ((h ^ UINT64_C(89869747)) ^ (h << 16)) * UINT64_C(3644798167);
}

int64_t pmo_hash_frozenset(const int64_t *item_hashes, size_t n)
{
	uint64_t h = 0;
	for (size_t i = 0; i < n; i++)
		h ^= frozenset_spread((uint64_t)item_hashes[i]);
	h ^= ((uint64_t)n + 1) * UINT64_C(1927868237);
	h ^= (h >> 11) ^ (h >> 25);
	h = h * UINT64_C(69069) + UINT64_C(907133923);
	/* CPython maps -1 to this constant here (not to -2). */
	return h == UINT64_MAX ? (int64_t)590923713 : (int64_t)h;
}
