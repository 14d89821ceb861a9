/* restore_verify.c: reading a restored tree back and comparing it with the snapshot. */
#include "restore/restore_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre/blob.h"
#include "coffre/error.h"
#include "coffre/tree.h"
#include "coffre/tree_walk.h"
#include "store/repo_internal.h"

static int verify_ref(void *ctx, const uint8_t id[32], uint32_t len)
{
	struct restore_ctx *S = ctx;
	if (len > MAX_BLOB_BYTES)
		return 1;
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(S->vfd, S->vbuf + got, len - got, (off_t)(S->voff + got));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return 1;
		}
		got += (size_t)n;
	}
	uint8_t h[32];
	repo_blob_id(S->r, S->vbuf, len, h);
	if (memcmp(h, id, 32) != 0)
		return 1;
	S->voff += len;
	return 0;
}

static int on_verify(void *ctx, const char *path, const struct tree_entry *e)
{
	struct restore_ctx *S = ctx;
	int sel = restore_selected(S->o, path);
	/* What a name collision left out is not there to compare: another entry is. */
	if (sel < 0 || restore_collided(S, path))
		return 1;
	if (e->type != TREE_FILE || sel == 1)
		return 0;
	const char *rel = restore_rel_path(S, path);
	S->vfd = open(rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (S->vfd < 0)
		return 0;	/* refused or damaged entries were reported already */
	struct stat vst;
	if (fstat(S->vfd, &vst) != 0 || !S_ISREG(vst.st_mode)) {
		close(S->vfd);
		S->vfd = -1;
		return 0;	/* not what we restored: something else sits at that path */
	}
	S->voff = 0;
	struct cf_error e2 = { 0 };
	/* Checked: bounded by the file's size, whatever a forged list repeats. */
	int rc = tree_walk_refs_checked(blob_reader_load, S->br, e, S->r->cp.min, verify_ref, S,
		&e2);
	struct stat st;
	int bad = rc != 0 || fstat(S->vfd, &st) != 0 || (uint64_t)st.st_size != e->size;
	close(S->vfd);
	S->vfd = -1;
	if (bad) {
		S->st.verify_failed++;
		restore_problem(S, path, "verify: restored file differs from the snapshot");
	} else {
		S->st.verified++;
	}
	return 0;
}

int restore_verify(struct restore_ctx *S, const uint8_t root[32], struct cf_error *err)
{
	S->vbuf = malloc(MAX_BLOB_BYTES);
	if (!S->vbuf)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	struct tree_walk_ops v = { .entry = on_verify, .ctx = S };
	return tree_walk(blob_reader_load, S->br, root, &v, err);
}
