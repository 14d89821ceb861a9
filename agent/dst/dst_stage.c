/* dst_stage.c: staged writes, an object written piece by piece and then named. Local kinds
 * stage in a temp file inside the destination, so that the commit is a rename; the others in
 * a temp file of the spill folder, uploaded whole by the commit. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "dst/dst_internal.h"
#include "base/util.h"

struct dst_stage {
	struct dst *d;
	char *tmp;		/* the temp file; NULL once committed */
	int fd;
	int spilled;		/* the temp file is outside the destination */
	uint64_t size;
};

/* A failed write of the object so far: the backend may know better what went wrong. */
static int stage_error(struct dst_stage *s, int rc, uint64_t need, struct cf_error *err)
{
	return s->d->ops->write_error ? s->d->ops->write_error(s->d, rc, need, err) : rc;
}

int dst_stage_open(struct dst *d, const char *spill_dir, struct dst_stage **ret,
	struct cf_error *err)
{
	if (d->read_only)
		return dst_refuse_write(d, err);
	struct dst_stage *s = calloc(1, sizeof *s);
	if (!s)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	s->d = d;
	s->fd = -1;
	int rc;
	if (d->ops->stage_open) {
		rc = d->ops->stage_open(d, &s->tmp, &s->fd, err);
	} else if (!spill_dir) {
		rc = cf_error_set(err, CF_EUSAGE, "no folder to stage uploads to '%s'", d->url);
	} else {
		uint8_t rnd[16];
		char hex[33];
		randombytes_buf(rnd, sizeof rnd);
		util_hex(hex, rnd, sizeof rnd);
		s->spilled = 1;
		s->tmp = util_path("%s/%s.tmp", spill_dir, hex);
		if (!s->tmp)
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		else if ((s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				  0600)) < 0)
			rc = cf_error_sys(err, CF_EIO, "cannot create '%s'", s->tmp);
		else
			rc = 0;
	}
	if (rc) {
		dst_stage_free(s);
		return rc;
	}
	*ret = s;
	return 0;
}

int dst_stage_write(struct dst_stage *s, const void *p, size_t n, struct cf_error *err)
{
	if (!s->tmp || s->fd < 0)
		return cf_error_set(err, CF_EUSAGE, "write to a committed stage");
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(s->fd, (const uint8_t *)p + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int rc = cf_error_sys(err, CF_EIO, "cannot write '%s'", s->tmp);
			return stage_error(s, rc, s->size + n, err);
		}
		off += (size_t)w;
	}
	/* Start writing back now: the fsync of the commit then waits only for the tail. A
	 * hint; failures show up at the fsync. */
	if (n)
		sync_file_range(s->fd, (off_t)s->size, (off_t)n, SYNC_FILE_RANGE_WRITE);
	s->size += n;
	return 0;
}

int dst_stage_commit(struct dst_stage *s, const char *name, struct cf_error *err)
{
	if (!s->tmp || s->fd < 0)
		return cf_error_set(err, CF_EUSAGE, "commit of a spent stage");
	int rc = 0;
	if (fsync(s->fd) != 0)
		rc = cf_error_sys(err, CF_EIO, "cannot write '%s'", s->tmp);
	if (close(s->fd) != 0 && rc == 0)
		rc = cf_error_sys(err, CF_EIO, "cannot write '%s'", s->tmp);
	s->fd = -1;
	if (rc == 0)
		rc = s->spilled ? dst_put_file(s->d, name, s->tmp, err)
				: s->d->ops->stage_commit(s->d, s->tmp, name, err);
	if (rc)
		return s->spilled ? rc : stage_error(s, rc, s->size, err);
	if (s->spilled)
		unlink(s->tmp);
	free(s->tmp);
	s->tmp = NULL;
	return 0;
}

void dst_stage_free(struct dst_stage *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->tmp)
		unlink(s->tmp);
	free(s->tmp);
	free(s);
}
