/* dst_internal.h: what the destination backends share. */
#ifndef COFFRE_DST_INTERNAL_H
#define COFFRE_DST_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "coffre/dst.h"

struct buf;

struct dst_ops {
	const char *name;	/* the kind: "local", "usb", "s3", "sftp", "mem" */
	int local;		/* objects are files on this machine (see dst_is_local) */
	int (*put_file)(struct dst *d, const char *name, const char *local_path,
		struct cf_error *err);
	int (*put_fd)(struct dst *d, const char *name, int fd, struct cf_error *err);
	int (*put_buf)(struct dst *d, const char *name, const void *p, size_t n,
		struct cf_error *err);
	int (*get)(struct dst *d, const char *name, uint64_t max, struct buf *ret,
		struct cf_error *err);
	int (*get_range)(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
		struct cf_error *err);
	int (*stat)(struct dst *d, const char *name, uint64_t *ret_size, struct cf_error *err);
	/* When the destination recorded the object, by its own clock (may be NULL). */
	int (*mtime)(struct dst *d, const char *name, int64_t *ret, struct cf_error *err);
	int (*list)(struct dst *d, const char *prefix,
		int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx,
		struct cf_error *err);
	/* A listing with dates and ETags (may be NULL: dst_list_meta falls back on list). */
	int (*list_meta)(struct dst *d, const char *prefix,
		int (*fn)(void *ctx, const struct dst_entry *e), void *ctx, struct cf_error *err);
	int (*del)(struct dst *d, const char *name, struct cf_error *err);
	void (*free)(struct dst *d);
	/* A second handle on the same place, with its own connection (may be NULL). */
	int (*clone)(struct dst *d, struct dst **ret, struct cf_error *err);

	/* Local kinds only (NULL elsewhere). */
	int (*open_read)(struct dst *d, const char *name, int *ret_fd, struct cf_error *err);
	/* A new temp file inside the destination (random name ending in .tmp), for writing. */
	int (*stage_open)(struct dst *d, char **ret_tmp, int *ret_fd, struct cf_error *err);
	/* Renames the finished (fsynced) temp ${tmp} to ${name}, making its folder. */
	int (*stage_commit)(struct dst *d, const char *tmp, const char *name,
		struct cf_error *err);
	int (*prepare)(struct dst *d, const char *const *dirs, size_t n, struct cf_error *err);
	int (*cleanup)(struct dst *d, struct cf_error *err);
	int (*root_is)(const struct dst *d, dev_t dev, ino_t ino);
	/* Object Lock (NULL for kinds without one): see dst_lock_get, dst_lock_extend. */
	int (*lock_get)(struct dst *d, const char *name, int64_t *ret_until, int *ret_mode,
		struct cf_error *err);
	int (*lock_extend)(struct dst *d, const char *name, int64_t until, int mode_now,
		struct cf_error *err);
	/* Explains a failed write of an object of ${need} bytes (rc, or a clearer error). */
	int (*write_error)(struct dst *d, int rc, uint64_t need, struct cf_error *err);
};

/* Bytes read from a destination, shared by a handle and its clones (dst_bytes_read). */
struct dst_meter;

/* Every backend's state starts with this. */
struct dst {
	const struct dst_ops *ops;
	char *url;		/* for messages: never holds a secret */
	int object_lock;	/* 1 when uploads are protected by Object Lock (verified) */
	int lock_mode;		/* DST_LOCK_*: what uploads and extensions ask for */
	int64_t lock_period;	/* seconds they retain an object for */
	const char *lock_note;	/* plain words on the lock state, for status */
	int read_only;		/* a view as of a date: the facade refuses writes */
	struct dst_meter *meter;	/* set by dst_open and dst_clone; NULL for handles a
					 * backend opens inside another (counted by the outer) */
};

/* dst_meter_attach(d, from, ret, err): ${d} counts its reads with ${from}'s (a clone), or on
 * a meter of its own when ${from} is NULL or has none; then ${*ret} = ${d}. 0, or CF_ENOMEM
 * (${d} is freed). */
int dst_meter_attach(struct dst *d, const struct dst *from, struct dst **ret,
	struct cf_error *err);

/* dst_note_traffic(d, bytes_in): one request was sent, ${bytes_in} bytes came back. */
void dst_note_traffic(struct dst *d, uint64_t bytes_in);

/* dst_refuse_write(d, err): CF_EUSAGE, the words for a write to a read-only view. */
int dst_refuse_write(const struct dst *d, struct cf_error *err);

extern const struct dst_ops dst_ops_local, dst_ops_s3, dst_ops_sftp;

/* Backend constructors, called by dst_open with the URL's scheme stripped or not as each
 * documents. */
int dst_local_open(const char *root, struct dst **ret, struct cf_error *err);
int dst_s3_open(const char *url, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err);
int dst_sftp_open(const char *url, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err);
/* dst_usb_open(spec, opt, ret, err): find the drive by "LABEL" or "UUID=..." (libblkid),
 * mount it if needed, and open the coffre directory on it as a local destination. */
int dst_usb_open(const char *spec, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err);

#endif
