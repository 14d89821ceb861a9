/* pack_internal.h: what the pack's own files (pack_write.c, pack_read.c) share, and the
 * pieces of packing that the worker pool shares with the writer. Packs build on the
 * repository (repo_internal.h: sealing, blob ids); the repository knows nothing of packs. */
#ifndef COFFRE_PACK_INTERNAL_H
#define COFFRE_PACK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct codec_cctx;
struct cf_error;
struct pack_entry;
struct pack_frame;
struct pack_src;
struct pack_writer;
struct repo;

/* The bytes of a pack (FORMAT.md): frames, then the sealed header, then the trailer
 * (u32 header length, TRAILER_MAGIC). */
#define PACK_FRAME_MAGIC "CFB2"
#define PACK_FRAME_MAGIC_V1 "CFB1"
#define PACK_HEADER_MAGIC "CFH1"
#define PACK_TRAILER_MAGIC "CFP1"
#define PACK_HEADER_VERSION 2
#define PACK_HEADER_VERSION_V1 1
#define PACK_ENTRY_BYTES_V1 (1 + 1 + 32 + 4 + 4 + 4)
/* The smallest a blob can take in a frame list: its id and a one-byte length. */
#define PACK_ENTRY_BYTES_MIN 33
#define PACK_MAX_BLOBS (1u << 22)
/* The most a header's plaintext can take: a format-1 list of PACK_MAX_BLOBS blobs. */
#define PACK_HEADER_MAX (1 + 4 + (uint64_t)PACK_MAX_BLOBS * PACK_ENTRY_BYTES_V1)

/* pack_frame_ad(ad, type, flags, id): a frame's associated data, "CFB2" || type. A format-1
 * frame also carried its one blob's id; a format-2 frame holds several blobs, each checked
 * against its keyed id on reading. Returns the ad's length. */
size_t pack_frame_ad(uint8_t ad[4 + 1 + 32], int type, uint8_t flags, const uint8_t id[32]);

/* pack_header_parse(bytes, len, end, ret_entries, ret_n): parse the untrusted plaintext of a
 * pack header (a version byte, then the frame list of that version) whose frames must end at
 * or before ${end}. Reads no byte past ${len} (at most PACK_HEADER_MAX), caps the number of
 * frames and blobs (by what ${len} can list and what ${end} bytes of frames can hold) before
 * allocating for them, and wants every byte used. ${ret_entries} (malloc'd, the
 * caller's) and ${ret_n} are written only on success. Returns 0, CF_ECORRUPT or CF_ENOMEM. */
int pack_header_parse(const uint8_t *bytes, size_t len, uint64_t end,
	struct pack_entry **ret_entries, size_t *ret_n);

/* Compression is the workers' largest cost after hashing. On 64 KiB frames of the medium
 * bench tree, level -1 compresses about 35 % faster than level 2 (730 against 520 MB/s of
 * CPU here) for 2.5 % more output (ratio 0.662 against 0.646); level 1 is no faster than 2,
 * and levels -3 and below lose 4 % and more. The repository stays well below restic's. */
#define PACK_ZSTD_LEVEL (-1)

/* pack_zctx_new(): a compression context (codec.h) set up for packing, or NULL when out of
 * memory; one thread at a time uses it. pack_zctx_free(NULL) does nothing. */
struct codec_cctx *pack_zctx_new(void);
void pack_zctx_free(struct codec_cctx *zctx);

/* pack_append_blob_unverified(r, src, pack, e, fc, ret, err): pack_read_blob_cached, but the
 * blob goes after what ${ret} holds and is not checked against its id (the frame is still
 * authenticated): for a reader that gathers blobs and checks them later, on another thread. */
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
int pack_seal_frame(const struct repo *r, struct codec_cctx *zctx, int type, const void *data,
	size_t n, struct buf *z, struct buf *frame, uint8_t *ret_flags);

/* pack_writer_add_frame(w, type, flags, blobs, k, frame, flen, err): append a sealed frame
 * holding ${k} blobs. Returns 0, CF_EUSAGE (too many blobs, frame too large), CF_ENOMEM, or
 * CF_EIO / CF_ENOSPC from writing. */
int pack_writer_add_frame(struct pack_writer *w, int type, uint8_t flags,
	const struct pack_blobref *blobs, size_t k, const uint8_t *frame, size_t flen,
	struct cf_error *err);

#endif
