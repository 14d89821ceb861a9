/* dump.c: one file of a snapshot to a file descriptor as it is, or a directory as a tar or
 * zip archive (restore_write.c writes the entries). */
#include "coffre/restore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>

#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/snap.h"
#include "coffre/tree.h"
#include "coffre/tree_walk.h"
#include "restore/restore_internal.h"
#include "store/repo_internal.h"

struct wctx {
	struct restore_ctx *S;
	uint64_t off;
	const char *path;
	int damaged;
};

struct find_ctx {
	const char *path;
	struct tree_entry e;
	struct buf refs;
	int found;
};

static int find_entry(void *ctx, const char *path, const struct tree_entry *e)
{
	struct find_ctx *f = ctx;
	if (strcmp(path, f->path) == 0) {
		f->e = *e;
		/* Keep what the entry borrows past the iterator. */
		if (e->type == TREE_FILE && e->content == TREE_CONTENT_INLINE) {
			buf_append(&f->refs, e->refs, (size_t)e->nrefs * TREE_REF_BYTES);
			f->e.refs = f->refs.p;
		}
		f->found = 1;
		return CF_ENOENT;	/* stop the walk */
	}
	return restore_under(f->path, path) ? 0 : 1;
}

static int write_fd_ref(void *ctx, const uint8_t id[32], uint32_t len)
{
	struct wctx *w = ctx;
	struct restore_ctx *S = w->S;
	int rc = blob_reader_get(S->br, id, &S->blob, S->err);
	if (rc)
		return rc;
	if (S->blob.len != len)
		return cf_error_set(S->err, CF_ECORRUPT, "chunk length differs from the tree");
	size_t off = 0;
	while (off < S->blob.len) {
		ssize_t n = write((int)w->off, S->blob.p + off, S->blob.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cf_error_sys(S->err, CF_EIO, "cannot write the output");
		}
		off += (size_t)n;
	}
	return 0;
}

int dump_run(struct repo *r, const struct snap *s, const char *path, int format, int fd,
	void (*prob)(void *ctx, const char *path, const char *msg), void *ctx,
	struct cf_error *err)
{
	struct restore_ctx *S = calloc(1, sizeof *S);
	struct blobidx *x = NULL;
	struct restore_opts none = { .problem = prob, .ctx = ctx };
	int rc;
	if (!S)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	S->r = r;
	S->o = &none;
	S->err = err;
	S->dump = 1;
	S->rootfd = S->dirfd = -1;
	S->prefix = path;
	if ((rc = repo_lock(r, 0, err)))
		goto out;
	if ((rc = restore_open_reader(S, &x, err)))
		goto out;
	if (strcmp(path, "/") != 0) {
		struct find_ctx f = { .path = path };
		struct tree_walk_ops fo = { .entry = find_entry, .ctx = &f };
		rc = tree_walk(blob_reader_load, S->br, s->tree, &fo, err);
		if (!f.found) {
			buf_free(&f.refs);
			rc = rc && rc != CF_ENOENT ? rc
				: cf_error_set(err, CF_ENOENT, "no '%s' in snapshot %.8s", path,
					  s->idhex);
			goto out;
		}
		if (f.e.type == TREE_FILE) {
			struct wctx w = { S, (uint64_t)fd, path, 0 };
			/* Checked: bounded by the file's size, whatever a forged list repeats. */
			rc = tree_walk_refs_checked(blob_reader_load, S->br, &f.e, r->cp.min,
				write_fd_ref, &w, err);
			if (rc == TREE_WALK_REFS_MISMATCH)
				rc = cf_error_set(err, CF_ECORRUPT,
					"'%s': its chunk list does not match its size", path);
			buf_free(&f.refs);
			goto out;
		}
		buf_free(&f.refs);
	}
	S->a = archive_write_new();
	if (!S->a) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	S->zip = format == DUMP_ZIP;
	if (S->zip)
		archive_write_set_format_zip(S->a);
	else
		archive_write_set_format_pax_restricted(S->a);
	if (archive_write_open_fd(S->a, fd) != ARCHIVE_OK) {
		rc = cf_error_set(err, CF_EIO, "cannot write the archive: %s",
			archive_error_string(S->a));
		goto out;
	}
	rc = restore_write_all(S, s->tree);
	if (archive_write_close(S->a) != ARCHIVE_OK && rc == 0)
		rc = cf_error_set(err, CF_EIO, "cannot write the archive: %s",
			archive_error_string(S->a));
	if (rc == 0 && (S->st.damaged || S->st.refused))
		rc = cf_error_set(err, CF_ECORRUPT, "%llu entries could not be exported",
			(unsigned long long)(S->st.damaged + S->st.refused));
out:
	if (S->a)
		archive_write_free(S->a);
	blob_reader_free(S->br);
	blobidx_free(x);
	restore_links_free(S);
	buf_free(&S->blob);
	free(S->path);
	free(S->skipdir);
	free(S);
	repo_unlock(r);
	return rc;
}

