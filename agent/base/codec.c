/* codec.c: zstd behind codec.h. */
#include "base/codec.h"

#include <pthread.h>
#include <stdlib.h>

#include <zstd.h>

#include "coffre/error.h"

struct codec_cctx {
	ZSTD_CCtx *z;
};

struct codec_cctx *codec_cctx_new(int level)
{
	struct codec_cctx *c = malloc(sizeof *c);
	if (!c)
		return NULL;
	if (!(c->z = ZSTD_createCCtx())) {
		free(c);
		return NULL;
	}
	ZSTD_CCtx_setParameter(c->z, ZSTD_c_compressionLevel, level);
	return c;
}

void codec_cctx_free(struct codec_cctx *c)
{
	if (!c)
		return;
	ZSTD_freeCCtx(c->z);
	free(c);
}

size_t codec_bound(size_t n)
{
	return ZSTD_compressBound(n);
}

static int compressed(size_t zn, size_t *ret_len, struct cf_error *err)
{
	if (ZSTD_isError(zn))
		return cf_error_set(err, CF_EIO, "compression failed: %s", ZSTD_getErrorName(zn));
	*ret_len = zn;
	return 0;
}

int codec_compress(struct codec_cctx *c, void *dst, size_t cap, const void *src, size_t n,
	size_t *ret_len, struct cf_error *err)
{
	return compressed(ZSTD_compress2(c->z, dst, cap, src, n), ret_len, err);
}

int codec_compress_level(int level, void *dst, size_t cap, const void *src, size_t n,
	size_t *ret_len, struct cf_error *err)
{
	return compressed(ZSTD_compress(dst, cap, src, n, level), ret_len, err);
}

int codec_content_size(const void *src, size_t n, unsigned long long *ret_size)
{
	unsigned long long size = ZSTD_getFrameContentSize(src, n);
	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
		return CF_ECORRUPT;
	*ret_size = size;
	return 0;
}

/* The calling thread's decompression context: making one per frame runs cpuid (trapped by
 * some hypervisors) and allocates ~100 KiB. Freed when the thread exits; the main thread's
 * lasts until the process ends. */
static _Thread_local ZSTD_DCtx *tl_dctx;
static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;
static int dctx_key_ok;

static void dctx_free(void *p)
{
	ZSTD_freeDCtx(p);
}

static void dctx_key_init(void)
{
	dctx_key_ok = pthread_key_create(&dctx_key, dctx_free) == 0;
}

static ZSTD_DCtx *thread_dctx(void)
{
	if (tl_dctx)
		return tl_dctx;
	pthread_once(&dctx_once, dctx_key_init);
	ZSTD_DCtx *d = ZSTD_createDCtx();
	if (!d)
		return NULL;
	if (!dctx_key_ok || pthread_setspecific(dctx_key, d) != 0) {
		ZSTD_freeDCtx(d);
		return NULL;
	}
	return tl_dctx = d;
}

int codec_decompress(void *dst, size_t cap, const void *src, size_t n, size_t *ret_len)
{
	ZSTD_DCtx *d = thread_dctx();
	/* Without a context of its own (out of memory), the thread makes one for this call. */
	size_t got = d ? ZSTD_decompressDCtx(d, dst, cap, src, n)
		       : ZSTD_decompress(dst, cap, src, n);
	if (ZSTD_isError(got))
		return CF_ECORRUPT;
	*ret_len = got;
	return 0;
}
