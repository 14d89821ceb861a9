/* codec.h: zstd compression and decompression, the engine's only user of libzstd. Results
 * are CF_E* codes; zstd's own error scheme stays inside codec.c. */
#ifndef COFFRE_CODEC_H
#define COFFRE_CODEC_H

#include <stddef.h>

struct cf_error;
struct codec_cctx;

/* codec_cctx_new(level): a compression context at zstd level ${level}, kept across calls
 * (making one per call costs a cpuid and about 100 KiB). NULL when out of memory. A context
 * is used by one thread at a time. */
struct codec_cctx *codec_cctx_new(int level);
/* codec_cctx_free(c): frees; codec_cctx_free(NULL) does nothing. */
void codec_cctx_free(struct codec_cctx *c);

/* codec_bound(n): the most bytes compressing ${n} bytes can take. */
size_t codec_bound(size_t n);

/* codec_compress(c, dst, cap, src, n, ret_len, err): compress ${n} bytes of ${src} into one
 * zstd frame (with its content size) in ${dst}, at most ${cap} bytes (codec_bound(n) always
 * suffices). Returns 0 (${ret_len} set) or CF_EIO ("compression failed: ..." in ${err},
 * which may be NULL). */
int codec_compress(struct codec_cctx *c, void *dst, size_t cap, const void *src, size_t n,
	size_t *ret_len, struct cf_error *err);
/* codec_compress_level(level, ...): the same with a context made for this call only. */
int codec_compress_level(int level, void *dst, size_t cap, const void *src, size_t n,
	size_t *ret_len, struct cf_error *err);

/* codec_content_size(src, n, ret_size): the plaintext size that the zstd frame at ${src}
 * declares. Returns 0, or CF_ECORRUPT when ${src} is no frame or declares no size. Untrusted:
 * check ${ret_size} against a bound before allocating for it. */
int codec_content_size(const void *src, size_t n, unsigned long long *ret_size);

/* codec_decompress(dst, cap, src, n, ret_len): decompress the zstd frame(s) of ${src} into
 * ${dst} (at most ${cap} bytes) with the calling thread's context, kept for the thread's
 * life (restore, check and the prefetch threads each open many frames). Any thread may call.
 * Returns 0 (${ret_len} set) or CF_ECORRUPT (damaged input, or more than ${cap} bytes). */
int codec_decompress(void *dst, size_t cap, const void *src, size_t n, size_t *ret_len);

#endif
