/* chunk.c: content-defined chunking, FastCDC-style (gear hash, normalized chunking).
 *
 * The hash is h = (h << 1) + gear[b]: each byte is shifted out after 64 steps, so h depends
 * only on the last 64 bytes. Hashing can therefore start 64 bytes before min and still give
 * the value a hash from the chunk start would give: cuts depend only on the chunk's bytes. */
#include "coffre/chunk.h"
#include "coffre/error.h"

#include <sodium.h>
#include <string.h>

#define CHUNK_MAX_LIMIT (16u << 20)
#define WINDOW 64		/* bytes that influence h */
#define MASK_SPAN 48		/* mask bits are spread over bits 63..16 */

/* Domain separation: the seed is the key, this fixed nonce names the use. */
static const uint8_t gear_nonce[crypto_stream_xchacha20_NONCEBYTES] = "coffre chunk gear v1";

/* n one-bits spread evenly from bit 63 down: high bits depend on the most bytes (bit k of h
 * sees the last k + 1 bytes), and spreading them avoids correlated neighbouring bits. */
static uint64_t spread_mask(unsigned n)
{
	uint64_t m = 0;
	for (unsigned i = 0; i < n; i++)
		m |= UINT64_C(1) << (63 - i * MASK_SPAN / n);
	return m;
}

static unsigned log2_u32(uint32_t v)
{
	unsigned r = 0;
	while (v >>= 1)
		r++;
	return r;
}

int chunk_init(struct chunker *c, const struct chunk_params *p, const uint8_t seed[32])
{
	if (!c || !p || !seed)
		return CF_EUSAGE;
	if (p->min < WINDOW || p->min >= p->avg || p->avg >= p->max || p->max > CHUNK_MAX_LIMIT)
		return CF_EUSAGE;
	if (p->avg & (p->avg - 1))
		return CF_EUSAGE;

	uint8_t ks[sizeof c->gear];
	crypto_stream_xchacha20(ks, sizeof ks, gear_nonce, seed);
	/* Little-endian decode so the table is the same on every host. */
	for (size_t i = 0; i < 256; i++) {
		uint64_t v = 0;
		for (size_t j = 0; j < 8; j++)
			v |= (uint64_t)ks[i * 8 + j] << (8 * j);
		c->gear[i] = v;
	}
	sodium_memzero(ks, sizeof ks);

	/* Normalization level 2: cut probability 2^-(b+2) before avg, 2^-(b-2) after. */
	unsigned bits = log2_u32(p->avg);
	c->mask_s = spread_mask(bits + 2);
	c->mask_l = spread_mask(bits - 2);	/* avg >= 128, so bits - 2 >= 5 */
	c->min = p->min;
	c->avg = p->avg;
	c->max = p->max;
	return 0;
}

size_t chunk_cut(const struct chunker *c, const uint8_t *buf, size_t len)
{
	if (len <= c->min)
		return len;
	size_t end = len < c->max ? len : c->max;
	size_t normal = end < c->avg ? end : c->avg;
	const uint64_t *gear = c->gear;
	const uint64_t ms = c->mask_s, ml = c->mask_l;
	uint64_t h = 0;
	size_t i = c->min - WINDOW;

	/* Warm-up: fill the window; the first possible cut is at length min. */
	for (; i < c->min - 1; i++)
		h = (h << 1) + gear[buf[i]];
	/* A cut after byte i gives a chunk of length i + 1. */
	for (; i < normal - 1; i++) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & ms))
			return i + 1;
	}
	for (; i < end; i++) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & ml))
			return i + 1;
	}
	return end;
}
