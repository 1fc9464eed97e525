/*
 * Slots: the 16-byte reference stored wherever a value is held (the root,
 * tuple items, container cells).
 *
 * A slot is a tag word and a payload word.  None, booleans, ints that fit
 * in 64 bits and floats are stored inline in the payload: they cost no
 * allocation and no reference count.  Everything else is a heap object,
 * and the payload is its offset from the start of the pool (all objects of
 * a slot live in the same pool, so the pool uuid of a PMEMoid would be
 * redundant).  A REF slot owns one reference to its object.
 *
 * A str whose UTF-8 is at most PMO_SSTR_MAX (14) bytes lives in the slot
 * itself (SSTR): the low byte of the tag word is PMO_TAG_SSTR, the next
 * byte the length, and the remaining 14 bytes of the slot (little-endian
 * layout) the UTF-8, zero-padded.  Short strs are the commonest keys and
 * values; inline they cost no allocation, no header and no reference
 * count.  Every other tag word equals its tag, so pmo_slot_tag() gives the
 * tag of any slot and pmo_slot_well_formed() says whether it is valid.
 * Pools of format version 1 hold no SSTR slots; readers accept both
 * forms of a short str (the heap form is also what the type table uses).
 * bytes of at most PMO_SSTR_MAX bytes live in their slot the same way
 * (SBYT, the same layout with tag PMO_TAG_SBYT; pool format version 7);
 * older pools hold them as heap objects (PMO_T_BYTES).
 *
 * Likewise an int beyond 64 bits whose magnitude takes at most
 * PMO_SBIG_MAX (14) bytes lives in the slot (SBIG, pool format version 5):
 * the low byte of the tag word is PMO_TAG_SBIG, the next byte the
 * magnitude's length (8 to 14) with 0x80 set for a negative int, and the
 * remaining 14 bytes the little-endian magnitude, zero-padded.  Only the
 * canonical form is well formed (no zero top byte, not an int64), so
 * equal ints have equal slots.  Older pools hold such ints as heap
 * objects (PMO_T_LONG), which readers still accept.
 *
 * A tuple of at most PMO_STUP_MAX (3) ints, each of which fits in 32
 * bits (and none a bool), lives in the slot too (STUP, pool format version
 * 7): the low byte of the tag word is PMO_TAG_STUP, the next byte the
 * number of items, the next two bytes zero, and the remaining 12 bytes
 * the items as little-endian int32s, unused ones zero.  Every such tuple
 * is stored this way (the empty tuple too), so equal tuples of this kind
 * have equal slots; older pools hold them as heap tuples (PMO_T_TUPLE),
 * which hash and compare alike.  Small tuples of small ints (coordinates,
 * composite keys) are common, and a heap tuple of three ints takes seven
 * times the bytes.
 *
 * Tag 0 is "empty", so zeroed memory is a valid array of empty slots.
 */
#ifndef PMO_SLOT_H
#define PMO_SLOT_H

#include <stdint.h>
#include <string.h>

typedef struct pmo_slot {
	uint64_t tag;
	uint64_t val;
} pmo_slot;

enum pmo_tag {
	PMO_TAG_EMPTY = 0, /* no value (unused cell) */
	PMO_TAG_NONE = 1,
	PMO_TAG_FALSE = 2,
	PMO_TAG_TRUE = 3,
	PMO_TAG_INT = 4,   /* val is an int64_t */
	PMO_TAG_FLOAT = 5, /* val is the bits of a double */
	PMO_TAG_REF = 6,   /* val is the pool offset of a heap object */
	PMO_TAG_SSTR = 7,  /* a short str in the slot itself, see above */
	PMO_TAG_SBIG = 8,  /* a short int beyond 64 bits in the slot, see above */
	PMO_TAG_STUP = 9,  /* a short tuple of small ints in the slot, see above */
	PMO_TAG_SBYT = 10, /* short bytes in the slot, laid out as SSTR */
	PMO_TAG_MAX = 10
};

#define PMO_SSTR_MAX 14
#define PMO_SBIG_MAX 14
#define PMO_SBIG_NEGATIVE 0x80
#define PMO_STUP_MAX 3

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the slot layout of short strs assumes a little-endian machine"
#endif
#ifdef __cplusplus
static_assert(sizeof(pmo_slot) == 16, "a slot is two 8-byte words");
#else
_Static_assert(sizeof(pmo_slot) == 16, "a slot is two 8-byte words");
#endif

/* The tag of a slot: its tag word, except for SSTR, SBYT, SBIG and STUP, whose tag
 * word also holds the length and the first bytes (a low byte above
 * PMO_TAG_MAX gives an invalid tag either way). */
static inline uint64_t pmo_slot_tag(pmo_slot s)
{
	uint64_t low = s.tag & 0xff;
	return low >= PMO_TAG_SSTR ? low : s.tag;
}

static inline size_t pmo_sstr_len(const pmo_slot *s)
{
	return (size_t)((s->tag >> 8) & 0xff);
}

static inline const char *pmo_sstr_data(const pmo_slot *s)
{
	return (const char *)s + 2;
}

static inline size_t pmo_sbig_len(const pmo_slot *s)
{
	return (size_t)((s->tag >> 8) & 0x7f);
}

static inline int pmo_sbig_negative(const pmo_slot *s)
{
	return (s->tag >> 8 & PMO_SBIG_NEGATIVE) != 0;
}

/* The little-endian magnitude of an SBIG slot. */
static inline const uint8_t *pmo_sbig_data(const pmo_slot *s)
{
	return (const uint8_t *)s + 2;
}

/* The pmo_sstr_ functions read SBYT slots too (the same layout). */

/* A short str's length fits and the bytes after it are zero (as
 * pmo_slot_sstr writes them): equal strs have equal slots, which lookups
 * compare word by word. */
static inline int pmo_sstr_well_formed(const pmo_slot *s)
{
	size_t n = pmo_sstr_len(s);
	if (n > PMO_SSTR_MAX)
		return 0;
	size_t end = 2 + n; /* the first byte of padding, 2 .. 16 */
	if (end < 8)
		return (s->tag >> (8 * end)) == 0 && s->val == 0;
	return end == 16 || (s->val >> (8 * (end - 8))) == 0;
}

/* The canonical form of an SBIG slot (see above). */
static inline int pmo_sbig_well_formed(const pmo_slot *s)
{
	size_t n = pmo_sbig_len(s);
	if (n < 8 || n > PMO_SBIG_MAX)
		return 0;
	const uint8_t *m = pmo_sbig_data(s);
	for (size_t i = n; i < PMO_SBIG_MAX; i++)
		if (m[i])
			return 0;
	if (m[n - 1] == 0)
		return 0;
	if (n > 8)
		return 1;
	/* 8 bytes: at least 2^63, and more than that if negative (-2^63 is
	 * an int64). */
	uint64_t mag;
	memcpy(&mag, m, sizeof mag);
	return mag > (pmo_sbig_negative(s) ? (uint64_t)1 << 63 : ((uint64_t)1 << 63) - 1);
}

static inline size_t pmo_stup_len(const pmo_slot *s)
{
	return (size_t)((s->tag >> 8) & 0xff);
}

/* Item i (< PMO_STUP_MAX) of an STUP slot. */
static inline int64_t pmo_stup_item(const pmo_slot *s, size_t i)
{
	int32_t v;
	memcpy(&v, (const char *)s + 4 + 4 * i, sizeof v);
	return v;
}

/* The canonical form of an STUP slot (see above): at most PMO_STUP_MAX
 * items, zero bytes where no item is. */
static inline int pmo_stup_well_formed(const pmo_slot *s)
{
	size_t n = pmo_stup_len(s);
	if (n > PMO_STUP_MAX || (s->tag >> 16 & 0xffff) != 0)
		return 0;
	if (n == 0)
		return (s->tag >> 32) == 0 && s->val == 0;
	return n == PMO_STUP_MAX || (s->val >> (32 * (n - 1))) == 0;
}

/* Is this a slot any writer could have made (EMPTY included)? */
static inline int pmo_slot_well_formed(pmo_slot s)
{
	switch (s.tag & 0xff) {
	case PMO_TAG_SSTR:
	case PMO_TAG_SBYT:
		return pmo_sstr_well_formed(&s);
	case PMO_TAG_SBIG:
		return pmo_sbig_well_formed(&s);
	case PMO_TAG_STUP:
		return pmo_stup_well_formed(&s);
	default:
		return s.tag <= PMO_TAG_REF;
	}
}

/* An SSTR or SBYT slot (tag) of n <= PMO_SSTR_MAX bytes. */
static inline pmo_slot pmo_slot_short_data(uint64_t tag, const char *data, size_t n)
{
	/* The words are assembled in registers: a memcpy into the slot on
	 * the stack and a 16-byte load of it stalled store forwarding, a
	 * tenth of a short-str dict lookup. */
	const unsigned char *b = (const unsigned char *)data;
	uint64_t lo = tag | (uint64_t)n << 8, hi = 0;
	size_t i = 0;
	for (; i < n && i < 6; i++)
		lo |= (uint64_t)b[i] << (8 * (i + 2));
	for (; i < n; i++)
		hi |= (uint64_t)b[i] << (8 * (i - 6));
	return (pmo_slot){lo, hi};
}

/* A short str slot of n <= PMO_SSTR_MAX bytes of UTF-8. */
static inline pmo_slot pmo_slot_sstr(const char *utf8, size_t n)
{
	return pmo_slot_short_data(PMO_TAG_SSTR, utf8, n);
}

/* A short bytes slot of n <= PMO_SSTR_MAX bytes. */
static inline pmo_slot pmo_slot_sbytes(const char *data, size_t n)
{
	return pmo_slot_short_data(PMO_TAG_SBYT, data, n);
}

/* An SBIG slot: the canonical magnitude (8 <= n <= PMO_SBIG_MAX bytes,
 * top byte not zero) of an int that does not fit an int64. */
static inline pmo_slot pmo_slot_sbig(int negative, const uint8_t *mag, size_t n)
{
	uint64_t sign = negative ? (uint64_t)PMO_SBIG_NEGATIVE << 8 : 0;
	return pmo_slot_short_data(PMO_TAG_SBIG | sign, (const char *)mag, n);
}

/* An STUP slot of n <= PMO_STUP_MAX items. */
static inline pmo_slot pmo_slot_stup(const int32_t *items, size_t n)
{
	pmo_slot s = {0, 0};
	s.tag = PMO_TAG_STUP | (uint64_t)n << 8;
	memcpy((char *)&s + 4, items, 4 * n);
	return s;
}

static inline pmo_slot pmo_slot_make(uint64_t tag, uint64_t val)
{
	pmo_slot s = {tag, val};
	return s;
}

static inline pmo_slot pmo_slot_none(void)
{
	return pmo_slot_make(PMO_TAG_NONE, 0);
}

static inline pmo_slot pmo_slot_bool(int b)
{
	return pmo_slot_make(b ? PMO_TAG_TRUE : PMO_TAG_FALSE, 0);
}

static inline pmo_slot pmo_slot_int(int64_t v)
{
	return pmo_slot_make(PMO_TAG_INT, (uint64_t)v);
}

static inline pmo_slot pmo_slot_float(double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof bits);
	return pmo_slot_make(PMO_TAG_FLOAT, bits);
}

static inline pmo_slot pmo_slot_ref(uint64_t off)
{
	return pmo_slot_make(PMO_TAG_REF, off);
}

static inline int64_t pmo_slot_as_int(pmo_slot s)
{
	return (int64_t)s.val;
}

static inline double pmo_slot_as_float(pmo_slot s)
{
	double d;
	memcpy(&d, &s.val, sizeof d);
	return d;
}

static inline int pmo_slot_is_ref(pmo_slot s)
{
	return s.tag == PMO_TAG_REF;
}

#endif
