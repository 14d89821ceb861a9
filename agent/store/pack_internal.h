/* pack_internal.h: the pieces of packing that the worker pool shares with the writer. */
#ifndef COFFRE_PACK_INTERNAL_H
#define COFFRE_PACK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct cf_error;
struct pack_writer;
struct repo;

/* Compression is the workers' largest cost after hashing. On 64 KiB frames of the medium
 * bench tree, level -1 compresses about 35 % faster than level 2 (730 against 520 MB/s of
 * CPU here) for 2.5 % more output (ratio 0.662 against 0.646); level 1 is no faster than 2,
 * and levels -3 and below lose 4 % and more. The repository stays well below restic's. */
#define PACK_ZSTD_LEVEL (-1)

/* A zstd compression context set up for packing (opaque here). */
void *pack_zctx_new(void);
void pack_zctx_free(void *zctx);

/* pack_decompress(dst, cap, src, n): ZSTD_decompress with the calling thread's context,
 * kept for the thread's life. */
size_t pack_decompress(void *dst, size_t cap, const void *src, size_t n);

/* pack_append_blob_unverified(r, src, pack, e, fc, ret, err): pack_read_blob_cached, but the
 * blob goes after what ${ret} holds and is not checked against its id (the frame is still
 * authenticated): for a reader that gathers blobs and checks them later, on another thread. */
struct pack_entry;
struct pack_frame;
struct pack_src;
int pack_append_blob_unverified(const struct repo *r, const struct pack_src *src,
	const uint8_t pack[32], const struct pack_entry *e, struct pack_frame *fc, struct buf *ret,
	struct cf_error *err);

/* Blobs are gathered into frames of about this many plaintext bytes: zstd sees more than
 * one 8 KiB chunk at a time, and the 40 bytes of nonce and tag are paid once per frame. */
#define PACK_FRAME_TARGET (64u << 10)
/* A frame's plaintext never exceeds this (one blob alone may reach MAX_BLOB_BYTES). */
#define PACK_FRAME_MAX (16u << 20)

/* One blob of a frame: its id and plaintext length, in frame order. */
struct pack_blobref {
	uint8_t id[32];
	uint32_t raw;
};

/* pack_seal_frame(r, zctx, type, data, n, z, frame, ret_flags): compress the frame's
 * plaintext (the blobs one after the other) when it helps (scratch ${z}) and seal it into
 * ${frame}. Thread-safe given distinct ${zctx}, ${z}, ${frame}. Returns 0, CF_ENOMEM or
 * CF_EUSAGE (too large). */
int pack_seal_frame(const struct repo *r, void *zctx, int type, const void *data, size_t n,
	struct buf *z, struct buf *frame, uint8_t *ret_flags);

/* pack_writer_add_frame(w, type, flags, blobs, k, frame, flen, err): append a sealed frame
 * holding ${k} blobs. */
int pack_writer_add_frame(struct pack_writer *w, int type, uint8_t flags,
	const struct pack_blobref *blobs, size_t k, const uint8_t *frame, size_t flen,
	struct cf_error *err);

#endif
