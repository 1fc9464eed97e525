/* test_hash.c - src/hash.c against hashes computed by the real CPython.
 *
 * The expected values come from tests/c/hash_vectors.txt, written by
 * tests/c/gen_hash_vectors.py running CPython with PYTHONHASHSEED=0 (see the
 * generator for the line format).  The file is found through the environment
 * variable PMO_HASH_VECTORS, else as PMO_SOURCE_DIR/tests/c/hash_vectors.txt.
 */
#include "hash.h"
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE (64 * 1024)
#define MAX_TOKENS 512

enum { K_BYTES, K_INT, K_BIGINT, K_FLOAT, K_COMPLEX, K_TUPLE, K_FROZENSET, K_COUNT };
static const char *const kind_names[K_COUNT] = {
	"bytes", "int", "bigint", "float", "complex", "tuple", "frozenset",
};
static long kind_counts[K_COUNT];

static const char *vec_path;
static long vec_line;
static int parse_errors;

static void parse_error(const char *what, const char *tok)
{
	fprintf(stderr, "%s:%ld: bad %s '%s'\n", vec_path, vec_line, what, tok ? tok : "(missing)");
	parse_errors++;
}

static int64_t parse_i64(const char *s)
{
	char *end;
	errno = 0;
	long long v = s ? strtoll(s, &end, 10) : 0;
	if (!s || errno || *end || end == s)
		parse_error("integer", s);
	return (int64_t)v;
}

static uint64_t parse_u64_hex(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = s ? strtoull(s, &end, 16) : 0;
	if (!s || errno || *end || end == s || strlen(s) != 16)
		parse_error("64-bit hex", s);
	return (uint64_t)v;
}

static double parse_double_bits(const char *s)
{
	uint64_t bits = parse_u64_hex(s);
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode hex ('-' = empty) into out (capacity cap); returns the length. */
static size_t parse_hex_bytes(const char *s, uint8_t *out, size_t cap)
{
	if (!s) {
		parse_error("hex data", s);
		return 0;
	}
	if (strcmp(s, "-") == 0)
		return 0;
	size_t n = strlen(s);
	if (n % 2 || n / 2 > cap) {
		parse_error("hex data", s);
		return 0;
	}
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			parse_error("hex data", s);
			return 0;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return n / 2;
}

/* An item of a tuple/frozenset vector: i:DEC, f:BITS or h:DEC. */
static int64_t item_hash(const char *s)
{
	if (s && strncmp(s, "i:", 2) == 0)
		return pmo_hash_int64(parse_i64(s + 2));
	if (s && strncmp(s, "f:", 2) == 0)
		return pmo_hash_double(parse_double_bits(s + 2));
	if (s && strncmp(s, "h:", 2) == 0)
		return parse_i64(s + 2);
	parse_error("item", s);
	return 0;
}

/* Compare, naming the vector line on a mismatch; CHECK_EQ_I64 counts it. */
#define EXPECT(got, want, what)                                                                \
	do {                                                                                   \
		int64_t got_ = (got), want_ = (want);                                          \
		if (got_ != want_)                                                             \
			fprintf(stderr, "%s:%ld: %s: got %lld, CPython says %lld\n", vec_path, \
				vec_line, (what), (long long)got_, (long long)want_);          \
		CHECK_EQ_I64(got_, want_);                                                     \
	} while (0)

static uint8_t data_buf[MAX_LINE / 2 + 16];
static uint8_t shifted_buf[MAX_LINE / 2 + 16];

static void check_vector(char **tok, int ntok)
{
	const char *kind = tok[0];
	if (strcmp(kind, "bytes") == 0) {
		if (ntok != 5) {
			parse_error("bytes line", kind);
			return;
		}
		uint64_t k0 = parse_u64_hex(tok[1]), k1 = parse_u64_hex(tok[2]);
		size_t n = parse_hex_bytes(tok[3], data_buf, sizeof data_buf - 8);
		int64_t want = parse_i64(tok[4]);
		EXPECT(pmo_hash_bytes_keyed(k0, k1, data_buf, n), want, "pmo_hash_bytes_keyed");
		/* CPython's hash(b) is the raw SipHash-1-3 except b'' -> 0, -1 -> -2. */
		if (n > 0 && want != -2)
			EXPECT((int64_t)pmo_siphash13(k0, k1, data_buf, n), want, "pmo_siphash13");
		/* Unaligned data hashes the same. */
		memcpy(shifted_buf + 3, data_buf, n);
		EXPECT(pmo_hash_bytes_keyed(k0, k1, shifted_buf + 3, n), want, "unaligned bytes");
		kind_counts[K_BYTES]++;
	} else if (strcmp(kind, "int") == 0) {
		if (ntok != 3) {
			parse_error("int line", kind);
			return;
		}
		int64_t v = parse_i64(tok[1]), want = parse_i64(tok[2]);
		EXPECT(pmo_hash_int64(v), want, "pmo_hash_int64");
		/* The same value as a big int. */
		uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
		uint8_t le[8];
		for (int i = 0; i < 8; i++)
			le[i] = (uint8_t)(mag >> (8 * i));
		EXPECT(pmo_hash_bigint(v < 0 ? -1 : v > 0, le, 8), want,
		       "pmo_hash_bigint of an int64");
		/* An int64 within 2^53 is exactly a double too. */
		if (v > -(INT64_C(1) << 53) && v < (INT64_C(1) << 53))
			EXPECT(pmo_hash_double((double)v), want,
			       "pmo_hash_double of an integral float");
		kind_counts[K_INT]++;
	} else if (strcmp(kind, "bigint") == 0) {
		if (ntok != 4) {
			parse_error("bigint line", kind);
			return;
		}
		int sign = (int)parse_i64(tok[1]);
		size_t n = parse_hex_bytes(tok[2], data_buf, sizeof data_buf);
		int64_t want = parse_i64(tok[3]);
		EXPECT(pmo_hash_bigint(sign, data_buf, n), want, "pmo_hash_bigint");
		kind_counts[K_BIGINT]++;
	} else if (strcmp(kind, "float") == 0) {
		if (ntok != 3) {
			parse_error("float line", kind);
			return;
		}
		double x = parse_double_bits(tok[1]);
		int64_t want = parse_i64(tok[2]);
		EXPECT(pmo_hash_double(x), want, "pmo_hash_double");
		/* hash(complex(x, 0)) == hash(x) in Python. */
		EXPECT(pmo_hash_complex(x, 0.0), want, "pmo_hash_complex(x, 0)");
		kind_counts[K_FLOAT]++;
	} else if (strcmp(kind, "complex") == 0) {
		if (ntok != 4) {
			parse_error("complex line", kind);
			return;
		}
		double re = parse_double_bits(tok[1]), im = parse_double_bits(tok[2]);
		EXPECT(pmo_hash_complex(re, im), parse_i64(tok[3]), "pmo_hash_complex");
		kind_counts[K_COMPLEX]++;
	} else if (strcmp(kind, "tuple") == 0 || strcmp(kind, "frozenset") == 0) {
		int is_tuple = kind[0] == 't';
		int64_t n = ntok >= 3 ? parse_i64(tok[1]) : -1;
		if (n < 0 || n != ntok - 3) {
			parse_error("item count", tok[1]);
			return;
		}
		int64_t items[MAX_TOKENS];
		for (int64_t i = 0; i < n; i++)
			items[i] = item_hash(tok[2 + i]);
		int64_t want = parse_i64(tok[ntok - 1]);
		if (is_tuple) {
			EXPECT(pmo_hash_tuple(items, (size_t)n), want, "pmo_hash_tuple");
		} else {
			EXPECT(pmo_hash_frozenset(items, (size_t)n), want, "pmo_hash_frozenset");
		}
		kind_counts[is_tuple ? K_TUPLE : K_FROZENSET]++;
	} else {
		parse_error("vector kind", kind);
	}
}

static long run_vectors(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "test_hash: cannot open vectors file %s: %s\n", path,
			strerror(errno));
		CHECK(f != NULL);
		return 0;
	}
	static char line[MAX_LINE];
	long nvec = 0;
	vec_path = path;
	vec_line = 0;
	while (fgets(line, sizeof line, f)) {
		vec_line++;
		size_t len = strlen(line);
		if (len == sizeof line - 1 && line[len - 1] != '\n') {
			parse_error("line (too long)", "");
			break;
		}
		char *tok[MAX_TOKENS];
		int ntok = 0;
		for (char *p = line;;) {
			while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
				*p++ = '\0';
			if (!*p)
				break;
			if (ntok == MAX_TOKENS) {
				parse_error("line (too many fields)", "");
				ntok = 0;
				break;
			}
			tok[ntok++] = p;
			while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
				p++;
		}
		if (ntok == 0 || tok[0][0] == '#')
			continue;
		check_vector(tok, ntok);
		nvec++;
	}
	fclose(f);
	return nvec;
}

/* Properties that have no CPython vector (NaN is hashed by identity there). */
static void check_extras(void)
{
	CHECK_EQ_I64(PMO_HASH_MODULUS, (INT64_C(1) << 61) - 1);
	CHECK_EQ_I64(PMO_HASH_NONE, INT64_C(4238894112));

	/* Every NaN, whatever its sign and payload, hashes to 0. */
	uint64_t nans[] = {UINT64_C(0x7ff8000000000000), UINT64_C(0xfff8000000000000),
			   UINT64_C(0x7ff0000000000001), UINT64_C(0x7fffffffffffffff)};
	for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
		double x;
		memcpy(&x, &nans[i], sizeof x);
		CHECK(isnan(x));
		CHECK_EQ_I64(pmo_hash_double(x), 0);
	}
	CHECK_EQ_I64(pmo_hash_double(NAN), 0);
	CHECK_EQ_I64(pmo_hash_complex(NAN, 1.0), PMO_HASH_IMAG);
	CHECK_EQ_I64(pmo_hash_complex(2.0, NAN), pmo_hash_int64(2));

	/* 1, 1.0, True (=1) and 1+0j are one dict key; so are -1 and -1.0. */
	CHECK_EQ_I64(pmo_hash_int64(1), 1);
	CHECK_EQ_I64(pmo_hash_double(1.0), 1);
	CHECK_EQ_I64(pmo_hash_complex(1.0, 0.0), 1);
	CHECK_EQ_I64(pmo_hash_int64(-1), -2);
	CHECK_EQ_I64(pmo_hash_double(-1.0), -2);

	/* Different keys give different hashes; the key words are not symmetric. */
	static const char msg[] = "persistent";
	CHECK(pmo_siphash13(1, 2, msg, 10) != pmo_siphash13(2, 1, msg, 10));
	CHECK(pmo_siphash13(0, 0, msg, 10) != pmo_siphash13(0, 1, msg, 10));
}

int main(void)
{
	const char *path = getenv("PMO_HASH_VECTORS");
#ifdef PMO_SOURCE_DIR
	if (!path || !*path)
		path = PMO_SOURCE_DIR "/tests/c/hash_vectors.txt";
#endif
	if (!path || !*path) {
		fprintf(stderr, "test_hash: no vectors file: set PMO_HASH_VECTORS to the path of "
				"tests/c/hash_vectors.txt (or build with -DPMO_SOURCE_DIR=...)\n");
		CHECK(path != NULL && *path);
		return test_finish();
	}

	check_extras();
	long nvec = run_vectors(path);
	CHECK_EQ_I64(parse_errors, 0);
	printf("test_hash: %ld CPython vectors from %s:", nvec, path);
	for (int k = 0; k < K_COUNT; k++) {
		printf(" %s=%ld", kind_names[k], kind_counts[k]);
		/* A truncated or wrong file must not pass by checking nothing. */
		if (kind_counts[k] == 0)
			fprintf(stderr, "test_hash: no '%s' vectors in %s\n", kind_names[k], path);
		CHECK(kind_counts[k] > 0);
	}
	printf("\n");
	return test_finish();
}
