/* chunk.h: content-defined chunking (FastCDC-style gear hash, normalized chunking).
 * A transparent value type: it owns no resource. */
#ifndef COFFRE_CHUNK_H
#define COFFRE_CHUNK_H

#include <stddef.h>
#include <stdint.h>

struct chunk_params {
	uint32_t min;	/* no cut before this many bytes */
	uint32_t avg;	/* target average, a power of two */
	uint32_t max;	/* forced cut at this many bytes */
};

struct chunker {
	uint64_t gear[256];	/* derived from the repository's chunker seed */
	uint64_t mask_s;	/* stricter mask before avg */
	uint64_t mask_l;	/* looser mask after avg */
	uint32_t min, avg, max;
};

/* chunk_init(c, p, seed): fill ${c} for parameters ${p} (checked: 64 <= min < avg < max,
 * avg a power of two, max <= 16 MiB) with a gear table derived from the 32-byte ${seed}.
 * Returns 0, or CF_EUSAGE if ${p} is invalid. */
int chunk_init(struct chunker *c, const struct chunk_params *p, const uint8_t seed[32]);

/* chunk_cut(c, buf, len): length of the chunk that starts at ${buf}. ${len} is the number of
 * bytes available; the caller passes at least ${c}->max bytes unless the file ends sooner.
 * Returns a value in [1, len] (len itself if no boundary is found before min(len, max)),
 * or 0 if len is 0. Stateless: the same bytes always give the same cut. */
size_t chunk_cut(const struct chunker *c, const uint8_t *buf, size_t len);

#endif
