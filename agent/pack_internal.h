/* pack_internal.h: the pieces of packing that the worker pool shares with the writer. */
#ifndef COFFRE_PACK_INTERNAL_H
#define COFFRE_PACK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct cf_error;
struct pack_writer;
struct repo;

#define PACK_ZSTD_LEVEL 3

/* A zstd compression context set up for packing (opaque here). */
void *pack_zctx_new(void);
void pack_zctx_free(void *zctx);

/* pack_seal_blob(r, zctx, type, id, data, n, z, frame, ret_flags): compress when it helps
 * (scratch ${z}) and seal into ${frame}. Thread-safe given distinct ${zctx}, ${z}, ${frame}.
 * Returns 0, CF_ENOMEM or CF_EUSAGE (too large). */
int pack_seal_blob(const struct repo *r, void *zctx, int type, const uint8_t id[32],
	const void *data, size_t n, struct buf *z, struct buf *frame, uint8_t *ret_flags);

/* pack_writer_add_frame(w, type, id, flags, raw, frame, flen, err): append a sealed frame. */
int pack_writer_add_frame(struct pack_writer *w, int type, const uint8_t id[32], uint8_t flags,
	uint32_t raw, const uint8_t *frame, size_t flen, struct cf_error *err);

#endif
