/* pack_write.c: writing packs: frames compressed and sealed, then the sealed header that
 * lists their blobs, then the trailer. */
#include "coffre/pack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "base/codec.h"
#include "store/pack_internal.h"
#include "store/repo_internal.h"

/* Frames are written (and their writeback started) in batches of this many bytes. */
#define WBUF (512u << 10)

struct pack_writer {
	struct repo *r;
	struct dst_stage *st;	/* the pack being written */
	uint64_t size;
	struct buf wbuf;	/* pending bytes, flushed in large writes */
	struct buf frame;	/* scratch for one sealed frame */
	struct buf zbuf;	/* scratch for compression */
	struct codec_cctx *cctx;
	struct pack_entry *e;
	size_t n, cap;
};

size_t pack_frame_ad(uint8_t ad[4 + 1 + 32], int type, uint8_t flags, const uint8_t id[32])
{
	memcpy(ad, (flags & PACK_FLAG_V1) ? PACK_FRAME_MAGIC_V1 : PACK_FRAME_MAGIC, 4);
	ad[4] = (uint8_t)type;
	if (!(flags & PACK_FLAG_V1))
		return 5;
	memcpy(ad + 5, id, 32);
	return 37;
}

void pack_name(char out[80], const uint8_t id[32])
{
	char hex[ID_HEX];
	util_hex(hex, id, ID_LEN);
	snprintf(out, 80, "data/%.2s/%s", hex, hex);
}

int pack_writer_new(struct repo *r, struct pack_writer **ret, struct cf_error *err)
{
	struct pack_writer *w = calloc(1, sizeof *w);
	if (!w)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	w->r = r;
	/* A remote repository: the pack is built in the cache, then uploaded whole. */
	char *cache = dst_is_local(r->d) ? NULL : repo_cache_dir(r);
	int rc = !dst_is_local(r->d) && !cache ? cf_error_set(err, CF_ENOMEM, "out of memory")
					       : dst_stage_open(r->d, cache, &w->st, err);
	free(cache);
	if (rc) {
		pack_writer_free(w);
		return rc;
	}
	*ret = w;
	return 0;
}

static int flush_wbuf(struct pack_writer *w, struct cf_error *err)
{
	int rc = dst_stage_write(w->st, w->wbuf.p, w->wbuf.len, err);
	w->wbuf.len = 0;
	return rc;
}

static int emit(struct pack_writer *w, const void *p, size_t n, struct cf_error *err)
{
	if (buf_append(&w->wbuf, p, n))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	w->size += n;
	return w->wbuf.len >= WBUF ? flush_wbuf(w, err) : 0;
}

struct codec_cctx *pack_zctx_new(void)
{
	return codec_cctx_new(PACK_ZSTD_LEVEL);
}

void pack_zctx_free(struct codec_cctx *zctx)
{
	codec_cctx_free(zctx);
}

int pack_seal_frame(const struct repo *r, struct codec_cctx *zctx, int type, const void *data,
	size_t n, struct buf *z, struct buf *frame, uint8_t *ret_flags)
{
	if (n > PACK_FRAME_MAX)
		return CF_EUSAGE;
	const void *payload = data;
	size_t plen = n;
	uint8_t flags = 0;
	/* Keep the compressed form only when it saves at least 1/32: incompressible frames
	 * (scans, photos) are stored as they are and cost no decompression on restore. */
	if (n >= 64) {
		size_t bound = codec_bound(n), zn = 0;
		z->len = 0;
		if (buf_reserve(z, bound))
			return CF_ENOMEM;
		int rc = codec_compress(zctx, z->p, bound, data, n, &zn, NULL);
		if (rc == 0 && zn < n - n / 32) {
			payload = z->p;
			plen = zn;
			flags = PACK_FLAG_ZSTD;
		}
	}
	uint8_t ad[37];
	size_t adlen = pack_frame_ad(ad, type, 0, NULL);
	frame->len = 0;
	if (repo_seal(r, ad, adlen, payload, plen, frame))
		return CF_ENOMEM;
	*ret_flags = flags;
	return 0;
}

int pack_writer_add_frame(struct pack_writer *w, int type, uint8_t flags,
	const struct pack_blobref *blobs, size_t k, const uint8_t *frame, size_t flen,
	struct cf_error *err)
{
	if (k == 0 || k > PACK_MAX_BLOBS - w->n || flen > PACK_FRAME_MAX + 65536)
		return cf_error_set(err, CF_EUSAGE, "blob too large for a pack");
	if (w->n + k > w->cap) {
		size_t cap = w->cap ? w->cap : 1024;
		while (cap < w->n + k)
			cap *= 2;
		void *p = realloc(w->e, cap * sizeof *w->e);
		if (!p)
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		w->e = p;
		w->cap = cap;
	}
	uint32_t pos = 0;
	for (size_t i = 0; i < k; i++) {
		struct pack_entry *e = &w->e[w->n + i];
		memcpy(e->id, blobs[i].id, 32);
		e->type = (uint8_t)type;
		e->flags = flags;
		e->offset = (uint32_t)w->size;
		e->stored = (uint32_t)flen;
		e->pos = pos;
		e->raw = blobs[i].raw;
		pos += blobs[i].raw;
	}
	int rc = emit(w, frame, flen, err);
	if (rc == 0)
		w->n += k;
	return rc;
}

int pack_writer_add(struct pack_writer *w, int type, const uint8_t id[32], const void *data,
	size_t n, struct cf_error *err)
{
	uint8_t flags = 0;
	if (n > MAX_BLOB_BYTES)
		return cf_error_set(err, CF_EUSAGE, "blob too large");
	if (!w->cctx && !(w->cctx = pack_zctx_new()))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = pack_seal_frame(w->r, w->cctx, type, data, n, &w->zbuf, &w->frame, &flags);
	if (rc)
		return cf_error_set(err, rc, rc == CF_ENOMEM ? "out of memory" : "blob too large");
	struct pack_blobref b = { .raw = (uint32_t)n };
	memcpy(b.id, id, 32);
	return pack_writer_add_frame(w, type, flags, &b, 1, w->frame.p, w->frame.len, err);
}

uint64_t pack_writer_size(const struct pack_writer *w)
{
	return w->size;
}

size_t pack_writer_count(const struct pack_writer *w)
{
	return w->n;
}

int pack_entries_encode(struct buf *b, const struct pack_entry *e, size_t n)
{
	size_t nframes = 0;
	for (size_t i = 0; i < n; i++)
		nframes += i == 0 || e[i].offset != e[i - 1].offset;
	if (buf_put_u32(b, (uint32_t)nframes))
		return CF_ENOMEM;
	uint64_t end = 0;
	for (size_t i = 0; i < n;) {
		size_t k = 1;
		while (i + k < n && e[i + k].offset == e[i].offset)
			k++;
		if (e[i].offset < end)	/* frames overlap: not a pack's list */
			return CF_EUSAGE;
		if (buf_put_u8(b, e[i].type) || buf_put_u8(b, e[i].flags) ||
		    buf_put_varint(b, (uint32_t)(e[i].offset - end)) ||
		    buf_put_varint(b, e[i].stored) || buf_put_varint(b, (uint32_t)k))
			return CF_ENOMEM;
		for (size_t j = i; j < i + k; j++)
			if (buf_append(b, e[j].id, 32) || buf_put_varint(b, e[j].raw))
				return CF_ENOMEM;
		end = (uint64_t)e[i].offset + e[i].stored;
		i += k;
	}
	return 0;
}

int pack_writer_finish(struct pack_writer *w, uint8_t ret_id[32], struct pack_entry **ret_entries,
	size_t *ret_n, struct cf_error *err)
{
	struct buf h = { 0 }, sealed = { 0 };
	int rc = CF_ENOMEM;
	if (buf_put_u8(&h, PACK_HEADER_VERSION) || (rc = pack_entries_encode(&h, w->e, w->n)) ||
	    (rc = repo_seal(w->r, PACK_HEADER_MAGIC, 4, h.p, h.len, &sealed))) {
		rc = rc == CF_EUSAGE ? cf_error_set(err, rc, "pack frames overlap")
				     : cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	uint8_t trailer[8];
	le32_put(trailer, (uint32_t)sealed.len);
	memcpy(trailer + 4, PACK_TRAILER_MAGIC, 4);
	if ((rc = emit(w, sealed.p, sealed.len, err)) || (rc = emit(w, trailer, 8, err)) ||
	    (rc = flush_wbuf(w, err)))
		goto out;
	/* The name: the hash of the sealed header (a fresh nonce, every blob's id, frame and
	 * position; under its tag) and the trailer. Hashing every byte as it was appended cost
	 * a fifth of an initial backup's CPU, on the path where threads take turns, and reads
	 * never relied on it: each frame has its tag, each blob its id (FORMAT.md §6.2). */
	uint8_t id[ID_LEN];
	char name[80];
	crypto_generichash_state hs;
	crypto_generichash_init(&hs, NULL, 0, ID_LEN);
	crypto_generichash_update(&hs, sealed.p, sealed.len);
	crypto_generichash_update(&hs, trailer, sizeof trailer);
	crypto_generichash_final(&hs, id, ID_LEN);
	pack_name(name, id);
	if ((rc = dst_stage_commit(w->st, name, err)))
		goto out;
	memcpy(ret_id, id, ID_LEN);
	__atomic_fetch_add(&w->r->bytes_written, w->size, __ATOMIC_RELAXED);
	*ret_entries = w->e;
	*ret_n = w->n;
	w->e = NULL;
	w->n = w->cap = 0;
out:
	if (rc == CF_ENOMEM && err && err->code != CF_ENOMEM)
		cf_error_set(err, CF_ENOMEM, "out of memory");
	buf_free(&h);
	buf_free(&sealed);
	return rc;
}

void pack_writer_free(struct pack_writer *w)
{
	if (!w)
		return;
	dst_stage_free(w->st);
	buf_free(&w->wbuf);
	buf_free(&w->frame);
	buf_free(&w->zbuf);
	pack_zctx_free(w->cctx);
	free(w->e);
	free(w);
}
