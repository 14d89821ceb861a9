/* pack.c: writing and reading packs. */
#include "coffre/pack.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zstd.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "store/pack_internal.h"
#include "store/repo_internal.h"

#define FRAME_MAGIC "CFB2"
#define FRAME_MAGIC_V1 "CFB1"
#define HEADER_MAGIC "CFH1"
#define TRAILER_MAGIC "CFP1"
#define HEADER_VERSION 2
#define HEADER_VERSION_V1 1
#define ENTRY_BYTES_V1 (1 + 1 + 32 + 4 + 4 + 4)
/* The smallest a blob can take in a frame list: its id and a one-byte length. */
#define ENTRY_BYTES_MIN 33
#define MAX_PACK_BLOBS (1u << 22)
/* Frames are written (and their writeback started) in batches of this many bytes. */
#define WBUF (512u << 10)

struct pack_writer {
	struct repo *r;
	char *tmp;
	int fd;
	uint64_t size;
	crypto_generichash_state hs;
	struct buf wbuf;	/* pending bytes, flushed in large writes */
	struct buf frame;	/* scratch for one sealed frame */
	struct buf zbuf;	/* scratch for compression */
	void *cctx;
	struct pack_entry *e;
	size_t n, cap;
};

/* The frame's associated data: "CFB2" || type. A format-1 frame also carried its one blob's
 * id; a format-2 frame holds several blobs, each checked against its keyed id on reading.
 * Returns the ad's length. */
static size_t frame_ad(uint8_t ad[4 + 1 + 32], int type, uint8_t flags, const uint8_t id[32])
{
	memcpy(ad, (flags & PACK_FLAG_V1) ? FRAME_MAGIC_V1 : FRAME_MAGIC, 4);
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

char *pack_path(const struct repo *r, const uint8_t id[32])
{
	char hex[ID_HEX];
	util_hex(hex, id, ID_LEN);
	return util_path("%s/data/%.2s/%s", r->path, hex, hex);
}

int pack_writer_new(struct repo *r, struct pack_writer **ret, struct cf_error *err)
{
	struct pack_writer *w = calloc(1, sizeof *w);
	if (!w)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	w->r = r;
	w->fd = -1;
	uint8_t rnd[16];
	char hex[33];
	randombytes_buf(rnd, sizeof rnd);
	util_hex(hex, rnd, sizeof rnd);
	if (r->d->local_root) {
		w->tmp = util_path("%s/data/%s.tmp", r->path, hex);
	} else {
		/* A remote repository: the pack is built in the cache, then uploaded whole. */
		char *cache = repo_cache_dir(r);
		w->tmp = cache ? util_path("%s/%s.pack.tmp", cache, hex) : NULL;
		free(cache);
	}
	if (!w->tmp) {
		pack_writer_free(w);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		int rc = cf_error_sys(err, CF_EIO, "cannot create '%s'", w->tmp);
		pack_writer_free(w);
		return rc;
	}
	crypto_generichash_init(&w->hs, NULL, 0, ID_LEN);
	*ret = w;
	return 0;
}

static int flush_wbuf(struct pack_writer *w, struct cf_error *err)
{
	uint64_t start = w->size - w->wbuf.len;
	size_t off = 0;
	while (off < w->wbuf.len) {
		ssize_t n = write(w->fd, w->wbuf.p + off, w->wbuf.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cf_error_sys(err, CF_EIO, "cannot write pack '%s'", w->tmp);
		}
		off += (size_t)n;
	}
	/* Start writing back now: the fsync that closes the pack then waits only for the
	 * tail, not for 16 MiB at once. A hint; failures show up at the fsync. */
	if (w->wbuf.len)
		sync_file_range(w->fd, (off_t)start, (off_t)w->wbuf.len, SYNC_FILE_RANGE_WRITE);
	w->wbuf.len = 0;
	return 0;
}

static int emit(struct pack_writer *w, const void *p, size_t n, struct cf_error *err)
{
	crypto_generichash_update(&w->hs, p, n);
	if (buf_append(&w->wbuf, p, n))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	w->size += n;
	return w->wbuf.len >= WBUF ? flush_wbuf(w, err) : 0;
}

int pack_seal_frame(const struct repo *r, void *zctx, int type, const void *data, size_t n,
	struct buf *z, struct buf *frame, uint8_t *ret_flags)
{
	if (n > PACK_FRAME_MAX)
		return CF_EUSAGE;
	const void *payload = data;
	size_t plen = n;
	uint8_t flags = 0;
	/* Keep the compressed form only when it saves at least 1/32: incompressible frames
	 * (scans, photos) are stored as they are and cost no decompression on restore. */
	if (n >= 64) {
		size_t bound = ZSTD_compressBound(n);
		z->len = 0;
		if (buf_reserve(z, bound))
			return CF_ENOMEM;
		size_t zn = ZSTD_compress2(zctx, z->p, bound, data, n);
		if (!ZSTD_isError(zn) && zn < n - n / 32) {
			payload = z->p;
			plen = zn;
			flags = PACK_FLAG_ZSTD;
		}
	}
	uint8_t ad[37];
	size_t adlen = frame_ad(ad, type, 0, NULL);
	frame->len = 0;
	if (repo_seal(r, ad, adlen, payload, plen, frame))
		return CF_ENOMEM;
	*ret_flags = flags;
	return 0;
}

void *pack_zctx_new(void)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	if (c)
		ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, PACK_ZSTD_LEVEL);
	return c;
}

void pack_zctx_free(void *zctx)
{
	ZSTD_freeCCtx(zctx);
}

int pack_writer_add_frame(struct pack_writer *w, int type, uint8_t flags,
	const struct pack_blobref *blobs, size_t k, const uint8_t *frame, size_t flen,
	struct cf_error *err)
{
	if (k == 0 || k > MAX_PACK_BLOBS - w->n || flen > PACK_FRAME_MAX + 65536)
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

int pack_writer_finish(struct pack_writer *w, uint8_t ret_id[32], struct pack_entry **ret_entries,
	size_t *ret_n, struct cf_error *err)
{
	struct buf h = { 0 }, sealed = { 0 };
	int rc = CF_ENOMEM;
	if (buf_put_u8(&h, HEADER_VERSION) || pack_entries_encode(&h, w->e, w->n))
		goto out;
	if (repo_seal(w->r, HEADER_MAGIC, 4, h.p, h.len, &sealed))
		goto out;
	uint8_t trailer[8];
	le32_put(trailer, (uint32_t)sealed.len);
	memcpy(trailer + 4, TRAILER_MAGIC, 4);
	if ((rc = emit(w, sealed.p, sealed.len, err)) || (rc = emit(w, trailer, 8, err)) ||
	    (rc = flush_wbuf(w, err)))
		goto out;
	if (fsync(w->fd) != 0 || close(w->fd) != 0) {
		w->fd = -1;
		rc = cf_error_sys(err, CF_EIO, "cannot write pack '%s'", w->tmp);
		goto out;
	}
	w->fd = -1;
	uint8_t id[ID_LEN];
	crypto_generichash_final(&w->hs, id, ID_LEN);
	if (!w->r->d->local_root) {
		char name[80];
		pack_name(name, id);
		if ((rc = dst_put_file(w->r->d, name, w->tmp, err)))
			goto out;
		unlink(w->tmp);
		free(w->tmp);
		w->tmp = NULL;
		goto stored;
	}
	char *path = pack_path(w->r, id);
	if (!path)
		goto out;
	char *dir = strdup(path);
	if (!dir) {
		free(path);
		goto out;
	}
	*strrchr(dir, '/') = 0;
	if (mkdir(dir, 0700) == 0)
		util_fsync_parent(dir);
	if (rename(w->tmp, path) != 0) {
		rc = cf_error_sys(err, CF_EIO, "cannot store pack '%s'", path);
		free(dir);
		free(path);
		goto out;
	}
	free(w->tmp);
	w->tmp = NULL;
	util_fsync_dir(dir);
	free(dir);
	free(path);
stored:
	memcpy(ret_id, id, ID_LEN);
	__atomic_fetch_add(&w->r->bytes_written, w->size, __ATOMIC_RELAXED);
	*ret_entries = w->e;
	*ret_n = w->n;
	w->e = NULL;
	w->n = w->cap = 0;
	rc = 0;
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
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp)
		unlink(w->tmp);
	free(w->tmp);
	buf_free(&w->wbuf);
	buf_free(&w->frame);
	buf_free(&w->zbuf);
	pack_zctx_free(w->cctx);
	free(w->e);
	free(w);
}

/* Reads from a pack source: 0, 1 when short (truncated), -1 on error (err set for dst). */
static int src_read(const struct pack_src *s, void *p, size_t n, uint64_t off,
	struct cf_error *err);

static int pread_all(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *q = p;
	while (n > 0) {
		ssize_t got = pread(fd, q, n, (off_t)off);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (got == 0) {
			errno = 0;
			return 1;	/* short: the pack is truncated */
		}
		q += got;
		n -= (size_t)got;
		off += (uint64_t)got;
	}
	return 0;
}

static int src_read(const struct pack_src *s, void *p, size_t n, uint64_t off,
	struct cf_error *err)
{
	if (s->fd >= 0) {
		int r = pread_all(s->fd, p, n, off);
		if (r < 0)
			cf_error_sys(err, CF_EIO, "cannot read pack");
		return r;
	}
	if (s->mem) {
		if (off < s->base || off - s->base > s->size || n > s->size - (off - s->base))
			return 1;
		memcpy(p, s->mem + (off - s->base), n);
		return 0;
	}
	int rc = dst_get_range(s->d, s->name, off, n, p, err);
	if (rc == CF_ECORRUPT)
		return 1;
	return rc ? -1 : 0;
}

int pack_entries_encode(struct buf *b, const struct pack_entry *e, size_t n)
{
	size_t nframes = 0;
	for (size_t i = 0; i < n; i++)
		nframes += i == 0 || e[i].offset != e[i - 1].offset;
	if (buf_put_u32(b, (uint32_t)nframes))
		return -1;
	uint64_t end = 0;
	for (size_t i = 0; i < n;) {
		size_t k = 1;
		while (i + k < n && e[i + k].offset == e[i].offset)
			k++;
		if (e[i].offset < end)	/* frames overlap: not a pack's list */
			return -1;
		if (buf_put_u8(b, e[i].type) || buf_put_u8(b, e[i].flags) ||
		    buf_put_varint(b, (uint32_t)(e[i].offset - end)) ||
		    buf_put_varint(b, e[i].stored) || buf_put_varint(b, (uint32_t)k))
			return -1;
		for (size_t j = i; j < i + k; j++)
			if (buf_append(b, e[j].id, 32) || buf_put_varint(b, e[j].raw))
				return -1;
		end = (uint64_t)e[i].offset + e[i].stored;
		i += k;
	}
	return 0;
}

int pack_entries_decode(struct rd *rd, uint64_t end, struct pack_entry **ret, size_t *ret_n)
{
	uint32_t nframes = rd_u32(rd);
	if (rd->bad || nframes > rd_left(rd) / (4 + ENTRY_BYTES_MIN))
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
		    start + stored > end || k == 0 || k > rd_left(rd) / ENTRY_BYTES_MIN ||
		    ((flags & PACK_FLAG_V1) && k != 1) || n + k > MAX_PACK_BLOBS)
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
	if (rd->bad || n > rd_left(rd) / ENTRY_BYTES_V1 || n > MAX_PACK_BLOBS)
		return CF_ECORRUPT;
	struct pack_entry *e = calloc(n ? n : 1, sizeof *e);
	if (!e)
		return CF_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		e[i].type = rd_u8(rd);
		e[i].flags = rd_u8(rd);
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

int pack_read_header(const struct repo *r, int fd, struct pack_entry **ret_entries, size_t *ret_n,
	uint64_t *ret_hdr_off, struct cf_error *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return cf_error_sys(err, CF_EIO, "cannot stat pack");
	struct pack_src s = { .fd = fd, .size = (uint64_t)st.st_size };
	return pack_read_header_src(r, &s, ret_entries, ret_n, ret_hdr_off, err);
}

int pack_read_header_src(const struct repo *r, const struct pack_src *src,
	struct pack_entry **ret_entries, size_t *ret_n, uint64_t *ret_hdr_off, struct cf_error *err)
{
	uint64_t size = src->size;
	uint8_t trailer[8];
	if (size < 8 + SEAL_OVERHEAD + 5)
		return cf_error_set(err, CF_ECORRUPT, "pack is truncated (%llu bytes)",
			(unsigned long long)size);
	int pr = src_read(src, trailer, 8, size - 8, err);
	if (pr < 0)
		return err ? err->code : CF_EIO;
	if (pr > 0 || memcmp(trailer + 4, TRAILER_MAGIC, 4) != 0)
		return cf_error_set(err, CF_ECORRUPT, "pack has no valid trailer");
	uint32_t hlen = le32_get(trailer);
	if (hlen < SEAL_OVERHEAD + 5 || hlen > size - 8 ||
	    hlen > SEAL_OVERHEAD + 5 + (uint64_t)MAX_PACK_BLOBS * ENTRY_BYTES_V1)
		return cf_error_set(err, CF_ECORRUPT, "pack header length is invalid");
	uint64_t hoff = size - 8 - hlen;
	uint8_t *sealed = malloc(hlen);
	uint8_t *plain = malloc(hlen);
	struct pack_entry *e = NULL;
	int rc = 0;
	if (!sealed || !plain) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	pr = src_read(src, sealed, hlen, hoff, err);
	if (pr != 0) {
		rc = pr < 0 ? (err ? err->code : CF_EIO) :
			      cf_error_set(err, CF_ECORRUPT, "pack is truncated");
		goto out;
	}
	if (repo_unseal(r, HEADER_MAGIC, 4, sealed, hlen, plain) != 0) {
		rc = cf_error_set(err, CF_ECORRUPT, "pack header does not authenticate");
		goto out;
	}
	struct rd rd;
	rd_init(&rd, plain, hlen - SEAL_OVERHEAD);
	uint8_t ver = rd_u8(&rd);
	size_t n = 0;
	rc = ver == HEADER_VERSION	  ? pack_entries_decode(&rd, hoff, &e, &n)
	     : ver == HEADER_VERSION_V1 ? pack_entries_decode_v1(&rd, hoff, &e, &n)
					: CF_ECORRUPT;
	if (rc == 0 && rd_left(&rd) != 0)
		rc = CF_ECORRUPT;
	if (rc) {
		rc = rc == CF_ENOMEM ? cf_error_set(err, CF_ENOMEM, "out of memory")
				     : cf_error_set(err, CF_ECORRUPT, "pack header is malformed");
		goto out;
	}
	*ret_entries = e;
	*ret_n = n;
	if (ret_hdr_off)
		*ret_hdr_off = hoff;
	e = NULL;
out:
	free(e);
	free(sealed);
	free(plain);
	return rc;
}

/* What each reading thread keeps from one frame to the next (restore, check, the feed and
 * prefetch threads all open frames): a zstd context, since making one per frame runs cpuid
 * (trapped by some hypervisors) and allocates ~100 KiB, and the buffers for the sealed frame
 * and its decrypted form, so that a frame costs no malloc and no fresh pages. Freed when the
 * thread exits; the main thread's lasts until the process ends. */
struct frame_scratch {
	ZSTD_DCtx *dctx;
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
	ZSTD_freeDCtx(s->dctx);
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
	if (!(s->dctx = ZSTD_createDCtx()) || !scratch_key_ok ||
	    pthread_setspecific(scratch_key, s) != 0) {
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

size_t pack_decompress(void *dst, size_t cap, const void *src, size_t n)
{
	struct frame_scratch *s = scratch();
	return s ? ZSTD_decompressDCtx(s->dctx, dst, cap, src, n)
		 : ZSTD_decompress(dst, cap, src, n);
}

/* Opens the frame ${e} names: its whole plaintext, decompressed, into ${plain}. */
static int open_frame(const struct repo *r, const struct pack_entry *e, const uint8_t *frame,
	struct buf *plain, struct cf_error *err)
{
	struct frame_scratch *s = scratch();
	if (!s)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	uint8_t ad[37];
	size_t adlen = frame_ad(ad, e->type, e->flags, e->id);
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
	unsigned long long want = ZSTD_getFrameContentSize(dec, plen);
	if (want == ZSTD_CONTENTSIZE_ERROR || want == ZSTD_CONTENTSIZE_UNKNOWN ||
	    want > PACK_FRAME_MAX) {
		rc = cf_error_set(err, CF_ECORRUPT, "blob does not decompress");
		goto out;
	}
	if (buf_reserve(plain, want ? (size_t)want : 1)) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	size_t got = ZSTD_decompressDCtx(s->dctx, plain->p, (size_t)want, dec, plen);
	if (ZSTD_isError(got) || got != want) {
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
	int pr = src_read(src, s->sealed.p, e->stored, e->offset, err);
	int rc;
	if (pr < 0)
		rc = err ? err->code : CF_EIO;
	else if (pr > 0)
		rc = cf_error_set(err, CF_ECORRUPT, "pack is truncated");
	else
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
