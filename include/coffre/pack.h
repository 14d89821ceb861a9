/* pack.h: packs of blobs; consecutive blobs of one type share a frame (a zstd frame sealed
 * with XChaCha20-Poly1305), and the pack ends with an encrypted header that lists them.
 *
 * Results: 0 or a negative CF_E* code (error.h), with a message in ${err} when it is not
 * NULL. CF_ECORRUPT always means damaged or tampered bytes, never an I/O failure.
 * Ownership: arrays returned through ret_* are malloc'd and the caller's; ${ret} buffers are
 * the caller's (reset or appended to, as each function says); a struct pack_src borrows its
 * fd, memory or destination.
 * Threads: a pack_writer, and a struct pack_frame, are used by one thread at a time. The
 * readers (pack_read_*, pack_open_frame) only read the repository's keys and may run on many
 * threads at once on one repository, each with its own pack_frame; each thread keeps its
 * buffers and decompression context for its life. */
#ifndef COFFRE_PACK_H
#define COFFRE_PACK_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;
struct repo;
struct buf;
struct pack_writer;

enum blob_type {
	BLOB_DATA = 0,	/* a chunk of file content */
	BLOB_TREE = 1,	/* a metadata node: directory entries or a file's chunk list */
	_BLOB_TYPE_MAX
};

#define PACK_FLAG_ZSTD 1u	/* the frame holds a zstd frame */
#define PACK_FLAG_V1 2u		/* a format-1 frame: one blob, sealed with its id in the ad */

/* Where a blob lives inside its pack. Blobs of one frame share offset and stored. */
struct pack_entry {
	uint8_t id[32];
	uint8_t type;
	uint8_t flags;
	uint32_t offset;	/* of the sealed frame in the pack */
	uint32_t stored;	/* sealed frame length */
	uint32_t pos;		/* of the blob in the frame's plaintext */
	uint32_t raw;		/* the blob's plaintext length */
};

struct buf;
struct rd;
/* pack_entries_encode(b, e, n): append the frame list of pack headers and index objects
 * (FORMAT.md 6.2) to ${b}. Blobs of one frame must be consecutive in ${e}, frames in
 * increasing offset order. Returns 0, CF_ENOMEM, or CF_EUSAGE when frames overlap. */
int pack_entries_encode(struct buf *b, const struct pack_entry *e, size_t n);
/* pack_entries_decode(rd, end, ret, ret_n): parse (checked: no read past ${rd}'s end, counts
 * capped before allocating) a frame list whose frames must end at or before ${end}. ${ret}
 * (malloc'd, the caller's) and ${ret_n} are written only on success. Returns 0, CF_ECORRUPT
 * or CF_ENOMEM. */
int pack_entries_decode(struct rd *rd, uint64_t end, struct pack_entry **ret, size_t *ret_n);
/* pack_entries_decode_v1(rd, end, ret, ret_n): the same for format 1 (u32 count, then 46
 * bytes a blob, one blob a frame); the entries are marked PACK_FLAG_V1. */
int pack_entries_decode_v1(struct rd *rd, uint64_t end, struct pack_entry **ret, size_t *ret_n);

/* pack_writer_new(r, ret, err): start a pack in a temp file under data/ (a local repository)
 * or in the cache (a remote one). ${r} is borrowed and must outlive the writer. Returns 0,
 * CF_ENOMEM or CF_EIO. */
int pack_writer_new(struct repo *r, struct pack_writer **ret, struct cf_error *err);
/* pack_writer_add(w, type, id, data, n, err): compress (when it helps) and seal a blob in a
 * frame of its own. Returns 0, CF_EUSAGE (over MAX_BLOB_BYTES), CF_ENOMEM, CF_EIO or
 * CF_ENOSPC. */
int pack_writer_add(struct pack_writer *w, int type, const uint8_t id[32], const void *data,
	size_t n, struct cf_error *err);
/* Bytes written so far and the number of blobs. */
uint64_t pack_writer_size(const struct pack_writer *w);
size_t pack_writer_count(const struct pack_writer *w);
/* pack_writer_finish(w, ret_id, ret_entries, ret_n, err): write the header, fsync, rename
 * to data/xx/<id> (or upload it there). ${ret_entries} is malloc'd and the caller's. The
 * writer must still be freed. Returns 0, CF_ENOMEM, CF_EIO, CF_ENOSPC, or what the
 * destination returned. */
int pack_writer_finish(struct pack_writer *w, uint8_t ret_id[32], struct pack_entry **ret_entries,
	size_t *ret_n, struct cf_error *err);
/* pack_writer_free(w): frees; an unfinished pack's temp file is removed. */
void pack_writer_free(struct pack_writer *w);

/* pack_name(out, id): the pack's object name, "data/xx/<id>". */
void pack_name(char out[80], const uint8_t id[32]);

/* Where a pack is read from: an open local file (fd >= 0), bytes in memory (mem), or an
 * object on a destination (d, name). ${size} is the pack's length (not needed for fd); for
 * mem, the ${size} bytes there may be a part of the pack that starts at offset ${base}, enough
 * to read the frames inside it. */
struct dst;
struct pack_src {
	int fd;
	const uint8_t *mem;
	struct dst *d;
	const char *name;
	uint64_t size;
	uint64_t base;
};
/* pack_read_header_src / pack_read_blob_src: pack_read_header and pack_read_blob on any
 * source; reading from a destination may also return its errors (CF_EUNREACH, ...). */
int pack_read_header_src(const struct repo *r, const struct pack_src *src,
	struct pack_entry **ret_entries, size_t *ret_n, uint64_t *ret_hdr_off, struct cf_error *err);
int pack_read_blob_src(const struct repo *r, const struct pack_src *src,
	const struct pack_entry *e, struct buf *ret, struct cf_error *err);

/* pack_read_header(r, fd, ret_entries, ret_n, ret_hdr_off, err): read, authenticate and
 * parse a pack's header. ${ret_entries} (malloc'd, the caller's), ${ret_n} and ${ret_hdr_off}
 * (may be NULL: where the header starts) are written only on success. Returns 0,
 * CF_ECORRUPT, CF_ENOMEM or CF_EIO. */
int pack_read_header(const struct repo *r, int fd, struct pack_entry **ret_entries, size_t *ret_n,
	uint64_t *ret_hdr_off, struct cf_error *err);

/* pack_read_blob(r, fd, e, ret, err): read one frame with pread, open it, decompress, and
 * check the plaintext against the blob id. ${ret} is reset and filled. Returns 0,
 * CF_ECORRUPT (damage or tampering) or CF_EIO. */
int pack_read_blob(const struct repo *r, int fd, const struct pack_entry *e, struct buf *ret,
	struct cf_error *err);

/* pack_open_frame(r, e, frame, ret, err): as pack_read_blob on a frame already in memory
 * (${e}->stored bytes at ${frame}, borrowed). */
int pack_open_frame(const struct repo *r, const struct pack_entry *e, const uint8_t *frame,
	struct buf *ret, struct cf_error *err);

/* The last frame opened, so that the other blobs it holds cost no second decryption. */
struct pack_frame {
	uint8_t pack[32];
	uint32_t offset, stored;
	int ok;
	struct buf *plain;	/* malloc'd on first use */
};
/* pack_read_blob_cached(r, src, pack, e, fc, ret, err): as pack_read_blob_src, reusing the
 * frame in ${fc} when it is the one ${e} names in pack ${pack}; otherwise ${fc} takes the
 * frame read. ${fc} starts zeroed and is released by pack_frame_release. */
int pack_read_blob_cached(const struct repo *r, const struct pack_src *src, const uint8_t pack[32],
	const struct pack_entry *e, struct pack_frame *fc, struct buf *ret, struct cf_error *err);
void pack_frame_release(struct pack_frame *fc);

#endif
