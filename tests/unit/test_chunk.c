/* test_chunk.c: content-defined chunking (agent/backup/chunk.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "coffre/chunk.h"
#include "coffre/error.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MiB (1u << 20)

static const struct chunk_params P8K = { 2048, 8192, 32768 };

static void seed_of(uint8_t seed[32], uint8_t v)
{
	memset(seed, v, 32);
}

/* Deterministic pseudo-random test data, so a failure can be reproduced. */
static uint8_t *random_buf(size_t len, uint8_t v)
{
	uint8_t s[randombytes_SEEDBYTES];
	uint8_t *b = malloc(len);
	assert_non_null(b);
	memset(s, v, sizeof s);
	randombytes_buf_deterministic(b, len, s);
	return b;
}

/* Cut the whole buffer; returns the number of chunks, lengths in *out (caller frees). */
static size_t cut_all(const struct chunker *c, const uint8_t *b, size_t len, size_t **out)
{
	size_t n = 0, cap = 1024;
	size_t *v = malloc(cap * sizeof *v);
	assert_non_null(v);
	for (size_t off = 0; off < len;) {
		size_t k = chunk_cut(c, b + off, len - off);
		assert_true(k >= 1 && k <= len - off);
		if (n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof *v);
			assert_non_null(v);
		}
		v[n++] = k;
		off += k;
	}
	*out = v;
	return n;
}

static void test_invalid_params(void **state)
{
	(void)state;
	struct chunker c;
	uint8_t seed[32];
	seed_of(seed, 1);
	static const struct chunk_params bad[] = {
		{ 32, 8192, 32768 },		/* min < 64 */
		{ 63, 128, 256 },		/* min < 64 */
		{ 8192, 8192, 32768 },		/* min == avg */
		{ 9000, 8192, 32768 },		/* min > avg */
		{ 2048, 8192, 8192 },		/* avg == max */
		{ 2048, 8192, 4096 },		/* max < avg */
		{ 2048, 6000, 32768 },		/* avg not a power of two */
		{ 2048, 8193, 32768 },		/* avg not a power of two */
		{ 2048, 8192, 16 * MiB + 1 },	/* max > 16 MiB */
		{ 0, 0, 0 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(chunk_init(&c, &bad[i], seed), CF_EUSAGE);
	assert_int_equal(chunk_init(&c, NULL, seed), CF_EUSAGE);

	static const struct chunk_params good[] = {
		{ 64, 128, 129 },
		{ 2048, 8192, 32768 },
		{ 4 * MiB, 8 * MiB, 16 * MiB },
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_int_equal(chunk_init(&c, &good[i], seed), 0);
}

static void test_bounds(void **state)
{
	(void)state;
	struct chunker c;
	uint8_t seed[32];
	seed_of(seed, 2);
	static const struct chunk_params ps[] = {
		{ 2048, 8192, 32768 },
		{ 64, 128, 256 },
		{ 4096, 8192, 9000 },	/* max close to avg: many forced cuts */
	};
	size_t len = 4 * MiB + 12345;
	uint8_t *b = random_buf(len, 3);
	for (size_t p = 0; p < sizeof ps / sizeof ps[0]; p++) {
		assert_int_equal(chunk_init(&c, &ps[p], seed), 0);
		size_t *v, n = cut_all(&c, b, len, &v);
		assert_true(n > 1);
		for (size_t i = 0; i + 1 < n; i++) {
			assert_in_range(v[i], ps[p].min, ps[p].max);
		}
		assert_in_range(v[n - 1], 1, ps[p].max);
		free(v);
	}
	assert_int_equal(chunk_cut(&c, b, 0), 0);
	assert_int_equal(chunk_cut(&c, b, 1), 1);
	assert_int_equal(chunk_cut(&c, b, 100), 100);
	free(b);
}

static void test_deterministic(void **state)
{
	(void)state;
	struct chunker c1, c2;
	uint8_t seed[32];
	seed_of(seed, 4);
	assert_int_equal(chunk_init(&c1, &P8K, seed), 0);
	assert_int_equal(chunk_init(&c2, &P8K, seed), 0);
	assert_memory_equal(c1.gear, c2.gear, sizeof c1.gear);
	size_t len = 2 * MiB;
	uint8_t *b = random_buf(len, 5);
	size_t *v1, *v2;
	size_t n1 = cut_all(&c1, b, len, &v1);
	size_t n2 = cut_all(&c2, b, len, &v2);
	assert_int_equal(n1, n2);
	assert_memory_equal(v1, v2, n1 * sizeof *v1);
	/* Stateless: a copy at another address cuts the same. */
	uint8_t *b2 = malloc(len + 1);
	assert_non_null(b2);
	memcpy(b2 + 1, b, len);
	assert_int_equal(chunk_cut(&c1, b2 + 1, len), v1[0]);
	free(b2);
	free(v1);
	free(v2);
	free(b);
}

static void test_seed_changes_cuts(void **state)
{
	(void)state;
	struct chunker c1, c2;
	uint8_t s1[32], s2[32];
	seed_of(s1, 6);
	seed_of(s2, 6);
	s2[31] ^= 1;
	assert_int_equal(chunk_init(&c1, &P8K, s1), 0);
	assert_int_equal(chunk_init(&c2, &P8K, s2), 0);
	size_t len = 4 * MiB;
	uint8_t *b = random_buf(len, 7);
	size_t *v1, *v2;
	size_t n1 = cut_all(&c1, b, len, &v1);
	size_t n2 = cut_all(&c2, b, len, &v2);
	/* Count boundary positions the two seeds share: a few by chance, not most. */
	size_t shared = 0, o1 = 0, o2 = 0, i = 0, j = 0;
	while (i < n1 && j < n2) {
		if (o1 + v1[i] == o2 + v2[j])
			shared++;
		if (o1 + v1[i] <= o2 + v2[j])
			o1 += v1[i++];
		else
			o2 += v2[j++];
	}
	print_message("seed change: %zu and %zu chunks, %zu shared boundaries\n", n1, n2, shared);
	assert_true(shared * 4 < n1);
	free(v1);
	free(v2);
	free(b);
}

static int has_boundary(const size_t *v, size_t n, size_t pos)
{
	size_t off = 0;
	for (size_t i = 0; i < n && off < pos; i++) {
		off += v[i];
		if (off == pos)
			return 1;
	}
	return 0;
}

static void test_resync(void **state)
{
	(void)state;
	struct chunker c;
	uint8_t seed[32];
	seed_of(seed, 8);
	assert_int_equal(chunk_init(&c, &P8K, seed), 0);
	size_t len = 4 * MiB, ins = 100, at = 1000;
	uint8_t *a = random_buf(len, 9);
	uint8_t *b = malloc(len + ins);
	assert_non_null(b);
	memcpy(b, a, at);
	memset(b + at, 0xA5, ins);
	memcpy(b + at + ins, a + at, len - at);
	size_t *va, *vb;
	size_t na = cut_all(&c, a, len, &va);
	size_t nb = cut_all(&c, b, len + ins, &vb);

	/* Boundaries past the edit (plus one max-size chunk to resynchronise) must reappear,
	 * shifted by the insertion. */
	size_t later = 0, kept = 0, off = 0;
	for (size_t i = 0; i < na; i++) {
		off += va[i];
		if (off < at + P8K.max)
			continue;
		later++;
		kept += has_boundary(vb, nb, off + ins);
	}
	print_message("resync: %zu of %zu later boundaries kept\n", kept, later);
	assert_true(later > 100);
	assert_true(kept * 100 >= later * 99);
	free(va);
	free(vb);
	free(a);
	free(b);
}

static void test_zero_run(void **state)
{
	(void)state;
	struct chunker c;
	uint8_t seed[32];
	seed_of(seed, 10);
	assert_int_equal(chunk_init(&c, &P8K, seed), 0);
	size_t len = MiB;
	uint8_t *b = calloc(len, 1);
	assert_non_null(b);
	size_t *v, n = cut_all(&c, b, len, &v);
	print_message("zero run: %zu chunks of %zu bytes\n", n, v[0]);
	for (size_t i = 0; i + 1 < n; i++)
		assert_true(v[i] >= P8K.min);
	assert_true(n <= len / P8K.min + 1);
	free(v);
	free(b);
}

/* What the parameters predict for random data, with cut probability 2^-(log2(avg) + 2) per
 * position below avg and 2^-(log2(avg) - 2) from avg on (normalization level 2). */
struct prediction {
	double avg;	/* mean length: the sum over L of P(length > L) */
	double below;	/* P(length < avg): set by mask_s */
	double excess;	/* mean of length - avg over lengths >= avg: set by mask_l */
};

static struct prediction predict(const struct chunk_params *p)
{
	struct prediction r = { 0, 0, 0 };
	int bits = 0;
	while ((UINT32_C(1) << bits) < p->avg)
		bits++;
	double ps = 1.0 / (double)(UINT64_C(1) << (bits + 2));
	double pl = 1.0 / (double)(UINT64_C(1) << (bits - 2));
	double surv = 1, tail = 0;
	for (uint32_t L = 0; L < p->max; L++) {
		/* Here surv = P(length > L). */
		r.avg += surv;
		if (L >= p->avg)
			tail += surv;
		if (L + 1 == p->avg)
			r.below = 1 - surv;
		if (L + 1 >= p->min)
			surv *= 1 - (L + 1 < p->avg ? ps : pl);
	}
	r.excess = tail / (1 - r.below);
	return r;
}

static void test_average(void **state)
{
	(void)state;
	struct chunker c;
	uint8_t seed[32];
	seed_of(seed, 12);
	static const struct chunk_params ps[] = {
		{ 2048, 8192, 32768 },
		{ 4096, 8192, 32768 },
		{ 16384, 65536, 262144 },
	};
	size_t len = 32 * MiB;
	uint8_t *b = random_buf(len, 13);
	for (size_t p = 0; p < sizeof ps / sizeof ps[0]; p++) {
		assert_int_equal(chunk_init(&c, &ps[p], seed), 0);
		size_t *v, n = cut_all(&c, b, len, &v), nbelow = 0, nlong = 0;
		double excess = 0;
		for (size_t i = 0; i + 1 < n; i++) {
			if (v[i] < ps[p].avg) {
				nbelow++;
			} else {
				nlong++;
				excess += (double)(v[i] - ps[p].avg);
			}
		}
		struct prediction w = predict(&ps[p]);
		double avg = (double)len / (double)n, below = (double)nbelow / (double)(n - 1);
		excess /= (double)nlong;
		print_message("min %u avg %u max %u: %zu chunks, average %.0f (predicted %.0f), "
			"%.3f below avg (%.3f), excess above avg %.0f (%.0f)\n", ps[p].min,
			ps[p].avg, ps[p].max, n, avg, w.avg, below, w.below, excess, w.excess);
		assert_true(avg > w.avg * 0.7 && avg < w.avg * 1.3);
		/* The shape, which each mask sets separately, must match as well. */
		assert_true(below > w.below * 0.75 && below < w.below * 1.25);
		assert_true(excess > w.excess * 0.75 && excess < w.excess * 1.25);
		free(v);
	}
	free(b);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid_params),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_seed_changes_cuts),
		cmocka_unit_test(test_resync),
		cmocka_unit_test(test_zero_run),
		cmocka_unit_test(test_average),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
