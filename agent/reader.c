/* reader.c: reading blobs by id through the index, with a few pack files kept open. */
#include "coffre/blob.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "repo_internal.h"

#define OPEN_PACKS 8
#define OPEN_FRAMES 4
/* A frame this large (only a huge blob makes one) is not kept once read. */
#define KEEP_FRAME_MAX (2u << 20)

struct blob_reader {
	struct repo *r;
	struct blobidx *x;
	struct {
		uint8_t id[ID_LEN];
		int fd;
		uint64_t used;
	} open[OPEN_PACKS];
	uint64_t tick;
	/* Remote packs: how many blobs this run read from each. A pack read often is fetched
	 * whole once (a restore of many files); a pack read once or twice costs only ranged
	 * reads of its frames (one file). */
	struct hits {
		uint8_t id[ID_LEN];
		uint32_t n;
	} *hits;
	size_t nhits, caphits;
	/* Blobs read one after the other usually share a frame: it is opened once. A few
	 * frames per blob type are kept, so that the chunk-list and folder nodes read along
	 * the way, and a chunk many files share (a logo in every invoice), do not push out
	 * the frame of the file being read. */
	struct pack_frame fc[_BLOB_TYPE_MAX][OPEN_FRAMES];
	uint64_t fc_used[_BLOB_TYPE_MAX][OPEN_FRAMES];
};

#define WHOLE_PACK_AFTER 4

int blob_reader_new(struct repo *r, struct blobidx *x, struct blob_reader **ret,
	struct cf_error *err)
{
	struct blob_reader *br = calloc(1, sizeof *br);
	if (!br)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	br->r = r;
	br->x = x;
	for (int i = 0; i < OPEN_PACKS; i++)
		br->open[i].fd = -1;
	*ret = br;
	return 0;
}

void blob_reader_free(struct blob_reader *br)
{
	if (!br)
		return;
	for (int i = 0; i < OPEN_PACKS; i++)
		if (br->open[i].fd >= 0)
			close(br->open[i].fd);
	free(br->hits);
	for (int t = 0; t < _BLOB_TYPE_MAX; t++)
		for (int i = 0; i < OPEN_FRAMES; i++)
			pack_frame_release(&br->fc[t][i]);
	free(br);
}

static int pack_fd(struct blob_reader *br, const uint8_t id[ID_LEN], struct cf_error *err)
{
	int victim = 0;
	for (int i = 0; i < OPEN_PACKS; i++) {
		if (br->open[i].fd >= 0 && memcmp(br->open[i].id, id, ID_LEN) == 0) {
			br->open[i].used = ++br->tick;
			return br->open[i].fd;
		}
		if (br->open[i].used < br->open[victim].used)
			victim = i;
	}
	char *path = pack_path(br->r, id);
	if (!path)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int rc = errno == ENOENT ? cf_error_set(err, CF_ENOENT, "pack '%s' is missing", path)
					 : cf_error_sys(err, CF_EIO, "cannot open '%s'", path);
		free(path);
		return rc;
	}
	free(path);
	if (br->open[victim].fd >= 0)
		close(br->open[victim].fd);
	memcpy(br->open[victim].id, id, ID_LEN);
	br->open[victim].fd = fd;
	br->open[victim].used = ++br->tick;
	return fd;
}

/* The local copy of a remote pack once it is read often: fetched whole into an unnamed file
 * in the cache, kept among the open packs. -1 when ranged reads are the better deal. */
static int remote_fd(struct blob_reader *br, const uint8_t id[ID_LEN])
{
	for (int i = 0; i < OPEN_PACKS; i++) {
		if (br->open[i].fd >= 0 && memcmp(br->open[i].id, id, ID_LEN) == 0) {
			br->open[i].used = ++br->tick;
			return br->open[i].fd;
		}
	}
	size_t h = 0;
	while (h < br->nhits && memcmp(br->hits[h].id, id, ID_LEN) != 0)
		h++;
	if (h == br->nhits) {
		if (br->nhits == br->caphits) {
			size_t cap = br->caphits ? 2 * br->caphits : 64;
			void *p = realloc(br->hits, cap * sizeof *br->hits);
			if (!p)
				return -1;
			br->hits = p;
			br->caphits = cap;
		}
		memcpy(br->hits[h].id, id, ID_LEN);
		br->hits[h].n = 0;
		br->nhits++;
	}
	if (++br->hits[h].n < WHOLE_PACK_AFTER)
		return -1;
	char name[80];
	pack_name(name, id);
	char *cache = repo_cache_dir(br->r);
	int fd = cache ? open(cache, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600) : -1;
	free(cache);
	struct buf b = { 0 };
	if (fd < 0 || dst_get(br->r->d, name, (uint64_t)br->r->pack_size * 4 + (64u << 20), &b,
			      NULL) != 0) {
		if (fd >= 0)
			close(fd);
		buf_free(&b);
		return -1;
	}
	size_t off = 0;
	while (off < b.len) {
		ssize_t n = write(fd, b.p + off, b.len - off);
		if (n <= 0) {
			close(fd);
			buf_free(&b);
			return -1;
		}
		off += (size_t)n;
	}
	buf_free(&b);
	int victim = 0;
	for (int i = 1; i < OPEN_PACKS; i++)
		if (br->open[i].used < br->open[victim].used)
			victim = i;
	if (br->open[victim].fd >= 0)
		close(br->open[victim].fd);
	memcpy(br->open[victim].id, id, ID_LEN);
	br->open[victim].fd = fd;
	br->open[victim].used = ++br->tick;
	return fd;
}

/* The slot that holds ${e}'s frame, or the least recently used one of its type. */
static struct pack_frame *frame_slot(struct blob_reader *br, int t, const uint8_t pack[ID_LEN],
	const struct pack_entry *e)
{
	int victim = 0;
	for (int i = 0; i < OPEN_FRAMES; i++) {
		struct pack_frame *f = &br->fc[t][i];
		if (f->ok && f->offset == e->offset && f->stored == e->stored &&
		    memcmp(f->pack, pack, ID_LEN) == 0) {
			victim = i;
			break;
		}
		if (br->fc_used[t][i] < br->fc_used[t][victim])
			victim = i;
	}
	br->fc_used[t][victim] = ++br->tick;
	return &br->fc[t][victim];
}

int blob_reader_get(struct blob_reader *br, const uint8_t id[32], struct buf *ret,
	struct cf_error *err)
{
	struct blob_loc loc;
	if (blobidx_get(br->x, id, &loc) != 0) {
		char hex[ID_HEX];
		util_hex(hex, id, ID_LEN);
		return cf_error_set(err, CF_ENOENT, "blob %.16s is not in the index", hex);
	}
	int rc;
	/* The cache is a local file: a type out of range only picks a slot, the frame's ad
	 * then refuses it. */
	int t = loc.e.type < _BLOB_TYPE_MAX ? loc.e.type : 0;
	struct pack_frame *fc = frame_slot(br, t, loc.pack, &loc.e);
	if (br->r->d->local_root) {
		int fd = pack_fd(br, loc.pack, err);
		if (fd < 0)
			return fd;
		struct pack_src src = { .fd = fd };
		rc = pack_read_blob_cached(br->r, &src, loc.pack, &loc.e, fc, ret, err);
	} else {
		int fd = remote_fd(br, loc.pack);
		/* Otherwise only this blob's frame travels (a ranged read). */
		char name[80];
		pack_name(name, loc.pack);
		struct pack_src src = { .fd = fd, .d = br->r->d, .name = name };
		rc = pack_read_blob_cached(br->r, &src, loc.pack, &loc.e, fc, ret, err);
	}
	if (fc->plain && fc->plain->cap > KEEP_FRAME_MAX)
		pack_frame_release(fc);
	if (rc && err) {
		char hex[ID_HEX], msg[sizeof err->msg];
		util_hex(hex, loc.pack, ID_LEN);
		int n = snprintf(msg, sizeof msg, "pack data/%.2s/%s: ", hex, hex);
		if (n > 0 && (size_t)n < sizeof msg) {
			memcpy(msg + n, err->msg, sizeof msg - (size_t)n - 1);
			msg[sizeof msg - 1] = 0;
			memcpy(err->msg, msg, sizeof msg);
		}
	}
	return rc;
}

int blob_reader_load(void *ctx, const uint8_t id[32], struct buf *ret, struct cf_error *err)
{
	return blob_reader_get(ctx, id, ret, err);
}
