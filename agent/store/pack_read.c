/* pack_read.c: reading packs: the trailer and sealed header, then frames opened,
 * decompressed and checked blob by blob. */
#include "coffre/pack.h"

#include <errno.h>
#include <pthread.h>
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

/* src_read(s, p, n, off, err): ${n} bytes at ${off} of the pack. Returns 0; CF_ECORRUPT,
 * with no message, when the pack is too short (truncated); or the error of the read, with
 * its message in ${err}. */
static int src_read(const struct pack_src *s, void *p, size_t n, uint64_t off,
	struct cf_error *err)
{
	if (s->fd >= 0) {
		uint8_t *q = p;
		while (n > 0) {
			ssize_t got = pread(s->fd, q, n, (off_t)off);
			if (got < 0) {
				if (errno == EINTR)
					continue;
				return cf_error_sys(err, CF_EIO, "cannot read pack");
			}
			if (got == 0)
				return CF_ECORRUPT;
			q += got;
			n -= (size_t)got;
			off += (uint64_t)got;
		}
		return 0;
	}
	if (s->mem) {
		if (off < s->base || off - s->base > s->size || n > s->size - (off - s->base))
			return CF_ECORRUPT;
		memcpy(p, s->mem + (off - s->base), n);
		return 0;
	}
	/* dst_get_range's CF_ECORRUPT is a range past the object's end: truncated too. */
	return dst_get_range(s->d, s->name, off, n, p, err);
}

int pack_entries_decode(struct rd *rd, uint64_t end, struct pack_entry **ret, size_t *ret_n)
{
	uint32_t nframes = rd_u32(rd);
	/* As many frames as the list can name, and as the bytes before ${end} can hold (frames
	 * follow each other, each at least SEAL_OVERHEAD bytes). */
	if (rd->bad || nframes > rd_left(rd) / (4 + PACK_ENTRY_BYTES_MIN) ||
	    nframes > end / SEAL_OVERHEAD)
		return CF_ECORRUPT;
	struct pack_entry *e = NULL;
	size_t n = 0, cap = 0;
	uint64_t off = 0;
	for (uint32_t f = 0; f < nframes; f++) {
		uint8_t type = rd_u8(rd), flags = rd_u8(rd);
		uint64_t start = off + rd_varint(rd);
		uint32_t stored = rd_varint(rd), k = rd_varint(rd);
		if (rd->bad || type >= _BLOB_TYPE_MAX || flags > (PACK_FLAG_ZSTD | PACK_FLAG_V1) ||
		    stored < SEAL_OVERHEAD || stored > PACK_FRAME_MAX + 65536 ||
		    start + stored > end || k == 0 || k > rd_left(rd) / PACK_ENTRY_BYTES_MIN ||
		    ((flags & PACK_FLAG_V1) && k != 1) || n + k > PACK_MAX_BLOBS)
			goto corrupt;
		if (n + k > cap) {
			size_t nc = cap ? cap : 64;
			while (nc < n + k)
				nc *= 2;
			void *p = realloc(e, nc * sizeof *e);
			if (!p) {
				free(e);
				return CF_ENOMEM;
			}
			e = p;
			cap = nc;
		}
		uint64_t pos = 0;
		for (uint32_t j = 0; j < k; j++) {
			struct pack_entry *x = &e[n + j];
			const uint8_t *id = rd_bytes(rd, 32);
			uint32_t raw = rd_varint(rd);
			if (rd->bad || raw > MAX_BLOB_BYTES || pos + raw > PACK_FRAME_MAX)
				goto corrupt;
			memcpy(x->id, id, 32);
			x->type = type;
			x->flags = flags;
			x->offset = (uint32_t)start;
			x->stored = stored;
			x->pos = (uint32_t)pos;
			x->raw = raw;
			pos += raw;
		}
		/* Stored as it is: the plaintext is exactly the blobs. */
		if (!(flags & PACK_FLAG_ZSTD) && pos != stored - SEAL_OVERHEAD)
			goto corrupt;
		n += k;
		off = start + stored;
	}
	if (!e && !(e = calloc(1, sizeof *e)))
		return CF_ENOMEM;
	*ret = e;
	*ret_n = n;
	return 0;
corrupt:
	free(e);
	return CF_ECORRUPT;
}

int pack_entries_decode_v1(struct rd *rd, uint64_t end, struct pack_entry **ret, size_t *ret_n)
{
	uint32_t n = rd_u32(rd);
	/* Format 1 has a frame per blob: as many as the bytes before ${end} can hold. */
	if (rd->bad || n > rd_left(rd) / PACK_ENTRY_BYTES_V1 || n > PACK_MAX_BLOBS ||
	    n > end / SEAL_OVERHEAD)
		return CF_ECORRUPT;
	struct pack_entry *e = calloc(n ? n : 1, sizeof *e);
	if (!e)
		return CF_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		e[i].type = rd_u8(rd);
		e[i].flags = rd_u8(rd);
		/* Within bounds: n entries fit in what is left (checked above). */
		memcpy(e[i].id, rd_bytes(rd, 32), 32);
		e[i].offset = rd_u32(rd);
		e[i].stored = rd_u32(rd);
		e[i].raw = rd_u32(rd);
		if (e[i].type >= _BLOB_TYPE_MAX || e[i].flags > PACK_FLAG_ZSTD ||
		    e[i].stored < SEAL_OVERHEAD || e[i].raw > MAX_BLOB_BYTES ||
		    (uint64_t)e[i].offset + e[i].stored > end) {
			free(e);
			return CF_ECORRUPT;
		}
		e[i].flags |= PACK_FLAG_V1;
	}
	*ret = e;
	*ret_n = n;
	return 0;
}

int pack_header_parse(const uint8_t *bytes, size_t len, uint64_t end,
	struct pack_entry **ret_entries, size_t *ret_n)
{
	if (len > PACK_HEADER_MAX)
		return CF_ECORRUPT;
	struct rd rd;
	rd_init(&rd, bytes, len);
	uint8_t ver = rd_u8(&rd);
	struct pack_entry *e = NULL;
	size_t n = 0;
	int rc = CF_ECORRUPT;
	if (ver == PACK_HEADER_VERSION)
		rc = pack_entries_decode(&rd, end, &e, &n);
	else if (ver == PACK_HEADER_VERSION_V1)
		rc = pack_entries_decode_v1(&rd, end, &e, &n);
	if (rc == 0 && rd_left(&rd) != 0) {
		free(e);
		rc = CF_ECORRUPT;
	}
	if (rc)
		return rc;
	*ret_entries = e;
	*ret_n = n;
	return 0;
}

int pack_read_header(const struct repo *r, int fd, struct pack_entry **ret_entries, size_t *ret_n,
	uint64_t *ret_hdr_off, struct cf_error *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return cf_error_sys(err, CF_EIO, "cannot stat pack");
	struct pack_src s = { .fd = fd, .size = (uint64_t)st.st_size };
	return pack_read_header_src(r, &s, ret_entries, ret_n, ret_hdr_off, err);
}

/* The sealed header is read in steps, its buffer grown only by what has arrived: a trailer
 * that claims more than the pack gives (a listing or a server may say any size) costs at most
 * a step more than the bytes really there, never the length it claims. A step is 1 MiB, or an
 * eighth of what is read, so that a large header costs few copies. */
#define HEADER_STEP (1u << 20)

static int read_sealed_header(const struct pack_src *src, uint64_t hoff, uint32_t hlen,
	struct buf *ret, struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = 0;
	while (b.len < hlen) {
		size_t step = b.len / 8 > HEADER_STEP ? b.len / 8 : HEADER_STEP;
		if (step > hlen - b.len)
			step = hlen - b.len;
		uint8_t *p = realloc(b.p, b.len + step);
		if (!p) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			break;
		}
		b.p = p;
		b.cap = b.len + step;
		rc = src_read(src, b.p + b.len, step, hoff + b.len, err);
		if (rc == CF_ECORRUPT)
			rc = cf_error_set(err, CF_ECORRUPT, "pack is truncated");
		if (rc)
			break;
		b.len += step;
	}
	if (rc) {
		buf_free(&b);
		return rc;
	}
	*ret = b;
	return 0;
}

int pack_read_header_src(const struct repo *r, const struct pack_src *src,
	struct pack_entry **ret_entries, size_t *ret_n, uint64_t *ret_hdr_off, struct cf_error *err)
{
	uint64_t size = src->size;
	uint8_t trailer[8];
	if (size < 8 + SEAL_OVERHEAD + 5)
		return cf_error_set(err, CF_ECORRUPT, "pack is truncated (%llu bytes)",
			(unsigned long long)size);
	int rc = src_read(src, trailer, 8, size - 8, err);
	if (rc == CF_ECORRUPT || (rc == 0 && memcmp(trailer + 4, PACK_TRAILER_MAGIC, 4) != 0))
		return cf_error_set(err, CF_ECORRUPT, "pack has no valid trailer");
	if (rc)
		return rc;
	uint32_t hlen = le32_get(trailer);
	if (hlen < SEAL_OVERHEAD + 5 || hlen > size - 8 || hlen > SEAL_OVERHEAD + PACK_HEADER_MAX)
		return cf_error_set(err, CF_ECORRUPT, "pack header length is invalid");
	uint64_t hoff = size - 8 - hlen;
	struct buf sealed = { 0 };
	struct pack_entry *e = NULL;
	size_t n = 0;
	rc = read_sealed_header(src, hoff, hlen, &sealed, err);
	if (rc)
		goto out;
	/* Opened in place: the plaintext takes the ciphertext's bytes, after the nonce. */
	uint8_t *plain = sealed.p + 24;
	if (repo_unseal(r, PACK_HEADER_MAGIC, 4, sealed.p, hlen, plain) != 0) {
		rc = cf_error_set(err, CF_ECORRUPT, "pack header does not authenticate");
		goto out;
	}
	rc = pack_header_parse(plain, hlen - SEAL_OVERHEAD, hoff, &e, &n);
	if (rc) {
		rc = rc == CF_ENOMEM ? cf_error_set(err, CF_ENOMEM, "out of memory")
				     : cf_error_set(err, CF_ECORRUPT, "pack header is malformed");
		goto out;
	}
	*ret_entries = e;
	*ret_n = n;
	if (ret_hdr_off)
		*ret_hdr_off = hoff;
out:
	buf_free(&sealed);
	return rc;
}

/* What each reading thread keeps from one frame to the next (restore, check, the feed and
 * prefetch threads all open frames): the buffers for the sealed frame and its decrypted
 * form, so that a frame costs no malloc and no fresh pages (the decompression context is
 * the thread's too, in codec.c). Freed when the thread exits; the main thread's lasts until
 * the process ends. */
struct frame_scratch {
	struct buf sealed, dec;
};
/* A buffer grown past this by a rare huge frame is not kept. */
#define SCRATCH_KEEP (2u << 20)

static _Thread_local struct frame_scratch *tl_scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static int scratch_key_ok;

static void scratch_free(void *p)
{
	struct frame_scratch *s = p;
	buf_free(&s->sealed);
	buf_free(&s->dec);
	free(s);
}

static void scratch_key_init(void)
{
	scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

static struct frame_scratch *scratch(void)
{
	if (tl_scratch)
		return tl_scratch;
	pthread_once(&scratch_once, scratch_key_init);
	struct frame_scratch *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	if (!scratch_key_ok || pthread_setspecific(scratch_key, s) != 0) {
		scratch_free(s);
		return NULL;
	}
	return tl_scratch = s;
}

static void scratch_trim(struct buf *b)
{
	if (b->cap > SCRATCH_KEEP)
		buf_free(b);
	b->len = 0;
}

/* Opens the frame ${e} names: its whole plaintext, decompressed, into ${plain}. */
static int open_frame(const struct repo *r, const struct pack_entry *e, const uint8_t *frame,
	struct buf *plain, struct cf_error *err)
{
	struct frame_scratch *s = scratch();
	if (!s)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	uint8_t ad[37];
	size_t adlen = pack_frame_ad(ad, e->type, e->flags, e->id);
	size_t plen = e->stored - SEAL_OVERHEAD;
	int zstd = (e->flags & PACK_FLAG_ZSTD) != 0;
	/* A stored frame decrypts straight into ${plain}; a compressed one into scratch. */
	struct buf *out = zstd ? &s->dec : plain;
	out->len = plain->len = 0;
	if (buf_reserve(out, plen ? plen : 1))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = 0;
	if (repo_unseal(r, ad, adlen, frame, e->stored, out->p) != 0) {
		rc = cf_error_set(err, CF_ECORRUPT, "blob does not authenticate");
		goto out;
	}
	if (!zstd) {
		plain->len = plen;
		return 0;
	}
	const uint8_t *dec = s->dec.p;
	unsigned long long want = 0;
	size_t got = 0;
	if (codec_content_size(dec, plen, &want) != 0 || want > PACK_FRAME_MAX) {
		rc = cf_error_set(err, CF_ECORRUPT, "blob does not decompress");
		goto out;
	}
	if (buf_reserve(plain, want ? (size_t)want : 1)) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if (codec_decompress(plain->p, (size_t)want, dec, plen, &got) != 0 || got != want) {
		rc = cf_error_set(err, CF_ECORRUPT, "blob does not decompress");
		goto out;
	}
	plain->len = got;
out:
	if (zstd)
		scratch_trim(&s->dec);
	return rc;
}

/* Takes ${e}'s blob out of its frame's plaintext into ${ret}, and checks it against its id;
 * unless ${append}: then it goes after what ${ret} holds, unchecked. */
static int blob_from_frame(const struct repo *r, const struct pack_entry *e,
	const struct buf *plain, struct buf *ret, int append, struct cf_error *err)
{
	/* A format-1 frame is exactly its blob. */
	if ((uint64_t)e->pos + e->raw > plain->len ||
	    ((e->flags & PACK_FLAG_V1) && plain->len != e->raw))
		return cf_error_set(err, CF_ECORRUPT, "blob has the wrong length");
	if (!append)
		ret->len = 0;
	if (buf_reserve(ret, e->raw ? e->raw : 1))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	if (e->raw)
		memcpy(ret->p + ret->len, plain->p + e->pos, e->raw);
	ret->len += e->raw;
	if (append)
		return 0;
	uint8_t id[ID_LEN];
	repo_blob_id(r, ret->p, ret->len, id);
	if (sodium_memcmp(id, e->id, ID_LEN) != 0)
		return cf_error_set(err, CF_ECORRUPT, "blob content does not match its id");
	return 0;
}

int pack_open_frame(const struct repo *r, const struct pack_entry *e, const uint8_t *frame,
	struct buf *ret, struct cf_error *err)
{
	struct buf plain = { 0 };
	int rc = open_frame(r, e, frame, &plain, err);
	if (rc == 0)
		rc = blob_from_frame(r, e, &plain, ret, 0, err);
	buf_free(&plain);
	return rc;
}

static int read_blob_cached(const struct repo *r, const struct pack_src *src,
	const uint8_t pack[32], const struct pack_entry *e, struct pack_frame *fc, struct buf *ret,
	int append, struct cf_error *err)
{
	if (fc->ok && fc->offset == e->offset && fc->stored == e->stored &&
	    memcmp(fc->pack, pack, 32) == 0)
		return blob_from_frame(r, e, fc->plain, ret, append, err);
	fc->ok = 0;
	if (!fc->plain && !(fc->plain = calloc(1, sizeof *fc->plain)))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	if (e->stored < SEAL_OVERHEAD || e->stored > PACK_FRAME_MAX + SEAL_OVERHEAD + 65536 ||
	    e->raw > MAX_BLOB_BYTES)
		return cf_error_set(err, CF_ECORRUPT, "blob entry is invalid");
	struct frame_scratch *s = scratch();
	if (!s || buf_reserve(&s->sealed, e->stored))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = src_read(src, s->sealed.p, e->stored, e->offset, err);
	if (rc == CF_ECORRUPT)
		rc = cf_error_set(err, CF_ECORRUPT, "pack is truncated");
	else if (rc == 0)
		rc = open_frame(r, e, s->sealed.p, fc->plain, err);
	scratch_trim(&s->sealed);
	if (rc)
		return rc;
	memcpy(fc->pack, pack, 32);
	fc->offset = e->offset;
	fc->stored = e->stored;
	fc->ok = 1;
	return blob_from_frame(r, e, fc->plain, ret, append, err);
}

int pack_read_blob_cached(const struct repo *r, const struct pack_src *src, const uint8_t pack[32],
	const struct pack_entry *e, struct pack_frame *fc, struct buf *ret, struct cf_error *err)
{
	return read_blob_cached(r, src, pack, e, fc, ret, 0, err);
}

int pack_append_blob_unverified(const struct repo *r, const struct pack_src *src,
	const uint8_t pack[32], const struct pack_entry *e, struct pack_frame *fc, struct buf *ret,
	struct cf_error *err)
{
	return read_blob_cached(r, src, pack, e, fc, ret, 1, err);
}

void pack_frame_release(struct pack_frame *fc)
{
	if (fc->plain)
		buf_free(fc->plain);
	free(fc->plain);
	fc->plain = NULL;
	fc->ok = 0;
}

int pack_read_blob(const struct repo *r, int fd, const struct pack_entry *e, struct buf *ret,
	struct cf_error *err)
{
	struct pack_src s = { .fd = fd };
	return pack_read_blob_src(r, &s, e, ret, err);
}

int pack_read_blob_src(const struct repo *r, const struct pack_src *src,
	const struct pack_entry *e, struct buf *ret, struct cf_error *err)
{
	static const uint8_t none[32];
	struct pack_frame fc = { 0 };
	int rc = pack_read_blob_cached(r, src, none, e, &fc, ret, err);
	pack_frame_release(&fc);
	return rc;
}
