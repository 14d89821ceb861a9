/* dst.c: the common entry points, the facade over each backend's dst_ops. The backends
 * (dst_local.c, dst_usb.c, dst_s3*.c, dst_sftp.c) are opened by URL in dst_open.c. */
#include "coffre/dst.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffre/error.h"
#include "dst/dst_internal.h"

int dst_parse_rate(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s)
		return -1;
	if (strncmp(end, "KiB", 3) == 0)
		v *= 1024, end += 3;
	else if (strncmp(end, "MiB", 3) == 0)
		v *= 1048576, end += 3;
	if (strcmp(end, "/s") == 0)
		end += 2;
	if (*end || !(v >= 1) || v > 1e12)
		return -1;
	*ret = (uint64_t)v;
	return 0;
}

int dst_refuse_write(const struct dst *d, struct cf_error *err)
{
	return cf_error_set(err, CF_EUSAGE, "read-only: --as-of (%s is opened as it was at a past "
		"date)", d->url);
}

int dst_put_file(struct dst *d, const char *name, const char *local_path, struct cf_error *err)
{
	if (d->read_only)
		return dst_refuse_write(d, err);
	return d->ops->put_file(d, name, local_path, err);
}

int dst_put_buf(struct dst *d, const char *name, const void *p, size_t n, struct cf_error *err)
{
	if (d->read_only)
		return dst_refuse_write(d, err);
	return d->ops->put_buf(d, name, p, n, err);
}

int dst_get(struct dst *d, const char *name, uint64_t max, struct buf *ret, struct cf_error *err)
{
	return d->ops->get(d, name, max, ret, err);
}

int dst_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	return d->ops->get_range(d, name, off, len, out, err);
}

int dst_stat(struct dst *d, const char *name, uint64_t *ret_size, struct cf_error *err)
{
	return d->ops->stat(d, name, ret_size, err);
}

int dst_mtime(struct dst *d, const char *name, int64_t *ret, struct cf_error *err)
{
	if (!d->ops->mtime)
		return cf_error_set(err, CF_EUSAGE, "%s keeps no times", d->url);
	return d->ops->mtime(d, name, ret, err);
}

int dst_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err)
{
	return d->ops->list(d, prefix, fn, ctx, err);
}

int dst_delete(struct dst *d, const char *name, struct cf_error *err)
{
	if (d->read_only)
		return dst_refuse_write(d, err);
	return d->ops->del(d, name, err);
}

void dst_free(struct dst *d)
{
	if (d)
		d->ops->free(d);
}

int dst_clone(struct dst *d, struct dst **ret, struct cf_error *err)
{
	if (!d->ops->clone)
		return cf_error_set(err, CF_EUSAGE, "'%s' cannot open a second connection", d->url);
	return d->ops->clone(d, ret, err);
}

const char *dst_url(const struct dst *d)
{
	return d->url;
}

const char *dst_kind(const struct dst *d)
{
	return d->ops->name;
}

int dst_object_lock(const struct dst *d)
{
	return d->object_lock;
}

const char *dst_lock_note(const struct dst *d)
{
	return d->lock_note;
}

int dst_read_only(const struct dst *d)
{
	return d->read_only;
}

int dst_is_local(const struct dst *d)
{
	return d->ops->local;
}

int dst_root_is(const struct dst *d, dev_t dev, ino_t ino)
{
	return d->ops->root_is ? d->ops->root_is(d, dev, ino) : 0;
}

int dst_lock_mode(const struct dst *d)
{
	return d->object_lock ? d->lock_mode : DST_LOCK_NONE;
}

int64_t dst_lock_period(const struct dst *d)
{
	return d->object_lock ? d->lock_period : 0;
}

int dst_lock_get(struct dst *d, const char *name, int64_t *ret_until, int *ret_mode,
	struct cf_error *err)
{
	if (!d->ops->lock_get || !d->object_lock)
		return cf_error_set(err, CF_EUSAGE, "'%s' has no verified Object Lock", d->url);
	return d->ops->lock_get(d, name, ret_until, ret_mode, err);
}

int dst_lock_extend(struct dst *d, const char *name, int64_t until, int mode_now,
	struct cf_error *err)
{
	if (!d->ops->lock_extend || !d->object_lock)
		return cf_error_set(err, CF_EUSAGE, "'%s' has no verified Object Lock", d->url);
	if (until <= (int64_t)time(NULL))
		return cf_error_set(err, CF_EUSAGE, "'%s': a retention must end in the future",
			name);
	return d->ops->lock_extend(d, name, until, mode_now, err);
}

int dst_open_read(struct dst *d, const char *name, int *ret_fd, struct cf_error *err)
{
	if (!d->ops->open_read)
		return cf_error_set(err, CF_EUSAGE, "'%s' holds no local files", d->url);
	return d->ops->open_read(d, name, ret_fd, err);
}

int dst_put_fd(struct dst *d, const char *name, int fd, struct cf_error *err)
{
	if (d->read_only)
		return dst_refuse_write(d, err);
	if (!d->ops->put_fd)
		return cf_error_set(err, CF_EUSAGE, "'%s' cannot store from a file", d->url);
	return d->ops->put_fd(d, name, fd, err);
}

int dst_prepare(struct dst *d, const char *const *dirs, size_t n, struct cf_error *err)
{
	if (d->read_only)
		return dst_refuse_write(d, err);
	return d->ops->prepare ? d->ops->prepare(d, dirs, n, err) : 0;
}

int dst_cleanup(struct dst *d, struct cf_error *err)
{
	if (d->read_only)
		return 0;
	return d->ops->cleanup ? d->ops->cleanup(d, err) : 0;
}
