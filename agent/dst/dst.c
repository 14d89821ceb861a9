/* dst.c: the common entry points, the facade over each backend's dst_ops. The backends
 * (dst_local.c, dst_usb.c, dst_s3*.c, dst_sftp.c) are opened by URL in dst_open.c. */
#include "coffre/dst.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffre/error.h"
#include "base/util.h"
#include "dst/dst_internal.h"

struct dst_meter {
	atomic_uint_fast64_t bytes_read;
	atomic_uint_fast64_t requests, bytes_in;
	atomic_uint_fast64_t reads, read_bytes, read_ns, big_bytes, big_ns;	/* dst_read_pace */
	atomic_int refs;
};

int dst_meter_attach(struct dst *d, const struct dst *from, struct dst **ret,
	struct cf_error *err)
{
	if (from && from->meter) {
		atomic_fetch_add(&from->meter->refs, 1);
		d->meter = from->meter;
	} else {
		struct dst_meter *m = calloc(1, sizeof *m);
		if (!m) {
			dst_free(d);
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		}
		atomic_init(&m->bytes_read, 0);
		atomic_init(&m->requests, 0);
		atomic_init(&m->bytes_in, 0);
		atomic_init(&m->reads, 0);
		atomic_init(&m->read_bytes, 0);
		atomic_init(&m->read_ns, 0);
		atomic_init(&m->big_bytes, 0);
		atomic_init(&m->big_ns, 0);
		atomic_init(&m->refs, 1);
		d->meter = m;
	}
	*ret = d;
	return 0;
}

uint64_t dst_bytes_read(const struct dst *d)
{
	return d->meter ? (uint64_t)atomic_load(&d->meter->bytes_read) : 0;
}

void dst_note_read(struct dst *d, uint64_t n)
{
	if (d->meter)
		atomic_fetch_add(&d->meter->bytes_read, n);
}

void dst_note_traffic(struct dst *d, uint64_t bytes_in)
{
	if (d->meter) {
		atomic_fetch_add(&d->meter->requests, 1);
		atomic_fetch_add(&d->meter->bytes_in, bytes_in);
	}
}

void dst_traffic(const struct dst *d, uint64_t *ret_requests, uint64_t *ret_bytes_in)
{
	*ret_requests = d->meter ? (uint64_t)atomic_load(&d->meter->requests) : 0;
	*ret_bytes_in = d->meter ? (uint64_t)atomic_load(&d->meter->bytes_in) : 0;
}

/* A read of ${n} bytes that took ${t0} until now. */
static void note_pace(struct dst *d, uint64_t n, uint64_t t0)
{
	struct dst_meter *m = d->meter;
	if (!m || d->ops->local)
		return;	/* local files: their reads are the restore's own time */
	uint64_t ns = util_now_ns() - t0;
	atomic_fetch_add(&m->reads, 1);
	atomic_fetch_add(&m->read_bytes, n);
	atomic_fetch_add(&m->read_ns, ns);
	if (n >= DST_BIG_READ) {
		atomic_fetch_add(&m->big_bytes, n);
		atomic_fetch_add(&m->big_ns, ns);
	}
}

void dst_read_pace(const struct dst *d, struct dst_read_pace *ret)
{
	memset(ret, 0, sizeof *ret);
	const struct dst_meter *m = d->meter;
	if (!m)
		return;
	ret->reads = atomic_load(&m->reads);
	ret->bytes = atomic_load(&m->read_bytes);
	ret->ns = atomic_load(&m->read_ns);
	ret->big_bytes = atomic_load(&m->big_bytes);
	ret->big_ns = atomic_load(&m->big_ns);
}

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
	size_t before = ret->len;
	uint64_t t0 = util_now_ns();
	int rc = d->ops->get(d, name, max, ret, err);
	/* Backends append to ${ret} or replace it: count what it now holds of this object. */
	if (rc == 0) {
		uint64_t n = ret->len >= before ? ret->len - before : ret->len;
		dst_note_read(d, n);
		note_pace(d, n, t0);
	}
	return rc;
}

int dst_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	uint64_t t0 = util_now_ns();
	int rc = d->ops->get_range(d, name, off, len, out, err);
	if (rc == 0) {
		dst_note_read(d, len);
		note_pace(d, len, t0);
	}
	return rc;
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

struct meta_plain {
	int (*fn)(void *ctx, const struct dst_entry *e);
	void *ctx;
};

static int meta_plain_one(void *ctx, const char *name, uint64_t size)
{
	struct meta_plain *m = ctx;
	struct dst_entry e = { name, size, -1, "" };
	return m->fn(m->ctx, &e);
}

int dst_list_meta(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const struct dst_entry *e), void *ctx, struct cf_error *err)
{
	if (d->ops->list_meta)
		return d->ops->list_meta(d, prefix, fn, ctx, err);
	struct meta_plain m = { fn, ctx };
	return d->ops->list(d, prefix, meta_plain_one, &m, err);
}

int dst_delete(struct dst *d, const char *name, struct cf_error *err)
{
	if (d->read_only)
		return dst_refuse_write(d, err);
	return d->ops->del(d, name, err);
}

void dst_free(struct dst *d)
{
	if (!d)
		return;
	if (d->meter && atomic_fetch_sub(&d->meter->refs, 1) == 1)
		free(d->meter);
	d->meter = NULL;
	d->ops->free(d);
}

int dst_clone(struct dst *d, struct dst **ret, struct cf_error *err)
{
	if (!d->ops->clone)
		return cf_error_set(err, CF_EUSAGE, "'%s' cannot open a second connection", d->url);
	struct dst *c = NULL;
	int rc = d->ops->clone(d, &c, err);
	return rc ? rc : dst_meter_attach(c, d, ret, err);
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
