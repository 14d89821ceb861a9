/* restore.c: a snapshot back to disk, through libarchive's secure disk writer
 * (restore_write.c), then read back when asked (restore_verify.c). */
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
#include "restore/restore_internal.h"
#include "store/repo_internal.h"

static int is_root(void)
{
	return geteuid() == 0;
}

int restore_run(struct repo *r, const struct snap *s, const struct restore_opts *o,
	struct restore_stats *ret_stats, struct cf_error *err)
{
	struct restore_ctx *S = calloc(1, sizeof *S);
	struct blobidx *x = NULL;
	int cwd = -1, rc;
	if (!S)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	S->r = r;
	S->o = o;
	S->err = err;
	S->vfd = -1;
	S->rootfd = S->dirfd = -1;
	S->t0 = util_now_ns();
	/* A caller that holds a lock on the handle (a drill, across several restores) keeps it. */
	int own_lock = r->lock_path == NULL;
	if (own_lock && (rc = repo_lock(r, 0, err)))
		goto out;
	if ((rc = restore_open_reader(S, &x, err)))
		goto out;
	blobidx_read_begin(x);
	if (util_mkdirs(o->target, 0700) != 0) {
		rc = cf_error_sys(err, CF_EIO, "cannot create '%s'", o->target);
		goto out;
	}
	/* The secure disk writer refuses absolute paths: entries are written relative to
	 * the target, which becomes the working directory for the duration. */
	cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cwd < 0 || chdir(o->target) != 0 ||
	    (S->rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = cf_error_sys(err, CF_EIO, "cannot enter '%s'", o->target);
		goto out;
	}
	S->a = archive_write_disk_new();
	int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR |
		    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
		    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_UNLINK;
	if (is_root())
		flags |= ARCHIVE_EXTRACT_OWNER;
	if (!S->a || archive_write_disk_set_options(S->a, flags) != ARCHIVE_OK) {
		rc = cf_error_set(err, CF_ENOMEM, "cannot set up the disk writer");
		goto out;
	}
	rc = restore_write_all(S, s->tree);
	/* Closing applies the deferred directory times and modes, by their paths from the
	 * target; the verify pass reads the same paths. */
	if (restore_work_in_root(S) && rc == 0)
		rc = S->fatal;
	if (archive_write_close(S->a) != ARCHIVE_OK && rc == 0)
		rc = cf_error_set(err, CF_EIO, "cannot finish the restore: %s",
			archive_error_string(S->a));
	if (rc == 0 && o->verify) {
		rc = restore_verify(S, s->tree, err);
	}
	if (rc == 0 && (S->st.refused || S->st.damaged || S->st.verify_failed))
		rc = cf_error_set(err, CF_ECORRUPT, "%llu entries refused, %llu damaged, %llu "
			"failed verification", (unsigned long long)S->st.refused,
			(unsigned long long)S->st.damaged, (unsigned long long)S->st.verify_failed);
	if (rc == 0 && S->st.collisions)
		rc = cf_error_set(err, CF_EPARTIAL, "%llu entries not restored: their names collide on "
			"the target's file system", (unsigned long long)S->st.collisions);
out:
	if (S->dirfd >= 0)
		close(S->dirfd);
	if (S->rootfd >= 0)
		close(S->rootfd);
	free(S->dir);
	if (cwd >= 0) {
		if (fchdir(cwd) != 0 && rc == 0)
			rc = cf_error_sys(err, CF_EIO, "cannot return to the working directory");
		close(cwd);
	}
	S->st.duration = (double)(util_now_ns() - S->t0) / 1e9;
	S->st.current = NULL;
	if (ret_stats)
		*ret_stats = S->st;
	if (S->a)
		archive_write_free(S->a);
	blob_reader_free(S->br);
	blobidx_free(x);
	restore_links_free(S);
	restore_collided_free(S);
	buf_free(&S->blob);
	free(S->vbuf);
	free(S->path);
	free(S->skipdir);
	free(S);
	if (own_lock)
		repo_unlock(r);
	return rc;
}
