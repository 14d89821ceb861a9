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

struct blob_reader {
	struct repo *r;
	struct blobidx *x;
	struct {
		uint8_t id[ID_LEN];
		int fd;
		uint64_t used;
	} open[OPEN_PACKS];
	uint64_t tick;
};

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
	if (br->r->d->local_root) {
		int fd = pack_fd(br, loc.pack, err);
		if (fd < 0)
			return fd;
		rc = pack_read_blob(br->r, fd, &loc.e, ret, err);
	} else {
		/* A remote pack: only this blob's frame travels (a ranged read). */
		char name[80];
		pack_name(name, loc.pack);
		struct pack_src src = { .fd = -1, .d = br->r->d, .name = name };
		rc = pack_read_blob_src(br->r, &src, &loc.e, ret, err);
	}
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
