/* dst.h: destinations, the places that hold a complete copy of a repository: a local
 * directory (or a mounted USB drive or NAS), S3-compatible object storage, an SFTP server.
 * Objects are named by their path in the repository layout ("config", "keys/<hex>",
 * "data/ab/<hex>", "index/<hex>", "snapshots/<hex>", "locks/<hex>"). */
#ifndef COFFRE_DST_H
#define COFFRE_DST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;
struct cf_error;
struct dst;
struct dst_stage;

/* Settings that do not fit in the URL. Secrets are read from files, never from the URL. */
struct dst_options {
	const char *s3_keys_file;	/* "ACCESS_KEY_ID\nSECRET_ACCESS_KEY\n", mode 0600 */
	const char *s3_region;		/* default "us-east-1" */
	int s3_path_style;		/* 1: http://host/bucket/key (default for IPs) */
	int s3_lock_days;		/* > 0: Object Lock retention on every upload */
	const char *s3_lock_mode;	/* "COMPLIANCE" (default) or "GOVERNANCE" */
	const char *sftp_key_file;	/* private key for key authentication */
	const char *sftp_host_sha256;	/* pinned host key, "SHA256:base64" as ssh-keygen -l */
	uint64_t upload_limit;		/* bytes per second, 0 = unlimited */
	uint64_t download_limit;	/* likewise for what is read (S3, SFTP) */
	int retries;			/* attempts on connection errors, timeouts, 5xx (default 5) */
	/* > 0: a read-only view of the destination as it was at this time (milliseconds since
	 * the epoch): S3 only, from the versions a versioned bucket keeps. Every write and
	 * delete is refused (CF_EUSAGE). */
	int64_t as_of_ms;
};

/* Results that callers tell apart. */
#define DST_FOUND 0
/* CF_ENOENT: no such object; CF_EUNREACH: destination unreachable (retried already);
 * CF_EKEY: credentials or host key refused; CF_ENOSPC: destination full; CF_EIO: other. */

/* dst_open(url, opt, ret, err): "/path", "file:///path", "usb:LABEL", "usb:UUID=...",
 * "s3://host[:port]/bucket[/prefix]", "sftp://user@host[:port]/path". With ${opt}->as_of_ms
 * only S3 is accepted (CF_EUSAGE for other kinds). */
int dst_open(const char *url, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err);

/* dst_url_kind(url): "s3", "sftp", "usb", "local", or NULL for an unknown "x://" scheme. */
const char *dst_url_kind(const char *url);

/* dst_parse_rate(s, ret): "200KiB/s", "1MiB/s", "500000" (bytes per second). -1 if unreadable. */
int dst_parse_rate(const char *s, uint64_t *ret);

/* put_file / put_buf: the object appears whole or not at all (temp name then rename, or a
 * single PUT / completed multipart upload). An interrupted multipart upload resumes. */
int dst_put_file(struct dst *d, const char *name, const char *local_path, struct cf_error *err);
int dst_put_buf(struct dst *d, const char *name, const void *p, size_t n, struct cf_error *err);
/* dst_get(d, name, max, ret, err): whole object, refused past ${max} bytes. */
int dst_get(struct dst *d, const char *name, uint64_t max, struct buf *ret, struct cf_error *err);
/* dst_get_range(d, name, off, len, out, err): exactly ${len} bytes or CF_ECORRUPT if short. */
int dst_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err);
int dst_stat(struct dst *d, const char *name, uint64_t *ret_size, struct cf_error *err);
/* dst_mtime(d, name, ret, err): when the destination stored ${name}, by its own clock (S3
 * Last-Modified, the file's mtime), in seconds since the epoch. CF_EUSAGE for kinds that do
 * not keep one. */
int dst_mtime(struct dst *d, const char *name, int64_t *ret, struct cf_error *err);
/* dst_list(d, prefix, fn, ctx, err): every object whose name starts with ${prefix}, with
 * its size; ${fn} returning non-zero stops the listing with that value. */
int dst_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err);
/* One object of a listing with what the destination says of it. */
struct dst_entry {
	const char *name;	/* under the listed prefix's destination root */
	uint64_t size;
	int64_t mtime;		/* when the destination stored it, by its clock (S3
				 * LastModified), seconds since the epoch; -1 when unknown */
	const char *etag;	/* S3 ETag as listed (quotes kept), "" when unknown */
};

/* dst_list_meta(d, prefix, fn, ctx, err): as dst_list, with each object's date and ETag
 * when the kind lists them (S3); other kinds give mtime -1 and etag "". */
int dst_list_meta(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const struct dst_entry *e), void *ctx, struct cf_error *err);
/* dst_delete: only prune and lock release use it. CF_ENOENT is not an error for callers. */
int dst_delete(struct dst *d, const char *name, struct cf_error *err);
void dst_free(struct dst *d);
/* dst_clone(d, ret, err): a handle on the same place with the same settings, for another
 * thread (a handle is used by one thread at a time). CF_EUSAGE when the kind has none. */
int dst_clone(struct dst *d, struct dst **ret, struct cf_error *err);

/* ---- what was read ---- */

/* dst_bytes_read(d): the bytes read from the destination through ${d} and the handles cloned
 * from it (whole objects and ranges, and what readers noted with dst_note_read), since
 * dst_open. Safe from any thread. */
uint64_t dst_bytes_read(const struct dst *d);
/* dst_traffic(d, ret_requests, ret_bytes_in): the requests sent to a network destination
 * through ${d} and its clones (each attempt counts) and the bytes received for them
 * (headers and bodies), since dst_open; 0 for kinds that are not reached over a network. */
void dst_traffic(const struct dst *d, uint64_t *ret_requests, uint64_t *ret_bytes_in);
/* How long reads waited on a network destination, through ${d} and its clones: whole
 * objects and ranges read by dst_get and dst_get_range (a drill's full-restore estimate
 * separates the network's share of its time from its own, and the pace of large reads,
 * which a full restore makes, from the latency of its many small ones). */
#define DST_BIG_READ (512u << 10)
struct dst_read_pace {
	uint64_t reads, bytes, ns;	/* every read */
	uint64_t big_bytes, big_ns;	/* reads of DST_BIG_READ bytes or more */
};
/* dst_read_pace(d, ret): the totals since dst_open; zeros for kinds read as local files. */
void dst_read_pace(const struct dst *d, struct dst_read_pace *ret);
/* dst_note_read(d, n): ${n} bytes were read from a file that dst_open_read gave (the facade
 * does not see those reads): they count in dst_bytes_read. */
void dst_note_read(struct dst *d, uint64_t n);

/* ---- what a destination is ---- */

/* dst_url(d): the destination's name for messages; never holds a secret. */
const char *dst_url(const struct dst *d);
/* dst_kind(d): "local", "usb", "s3", "sftp", "mem". */
const char *dst_kind(const struct dst *d);
/* dst_object_lock(d): 1 when uploads are protected by Object Lock (verified). */
int dst_object_lock(const struct dst *d);
/* dst_lock_note(d): plain words on the lock state, for status (may be NULL). */
const char *dst_lock_note(const struct dst *d);
/* dst_read_only(d): 1 for a view as of a date (dst_options.as_of_ms): writes are refused. */
int dst_read_only(const struct dst *d);
/* dst_is_local(d): objects are files on this machine: reads are cheap and may come from
 * several threads at once on one handle; no prefetch plan is needed. */
int dst_is_local(const struct dst *d);
/* dst_root_is(d, dev, ino): 1 when the folder ${dev}/${ino} is the local destination's root. */
int dst_root_is(const struct dst *d, dev_t dev, ino_t ino);

/* ---- Object Lock retention of single objects ---- */

/* Retention modes, weakest first. */
#define DST_LOCK_NONE 0
#define DST_LOCK_GOVERNANCE 1	/* holders of the bypass permission can delete through it */
#define DST_LOCK_COMPLIANCE 2	/* no one can, not even the bucket's owner */

/* dst_lock_mode(d): the mode uploads and extensions ask for, DST_LOCK_NONE when ${d} has no
 * verified Object Lock. */
int dst_lock_mode(const struct dst *d);
/* dst_lock_period(d): how long, in seconds, an upload or an extension retains an object
 * (the lock days; the test setting COFFRE_TEST_LOCK_SECONDS counts seconds instead); 0 when
 * ${d} has no verified Object Lock. */
int64_t dst_lock_period(const struct dst *d);
/* dst_lock_get(d, name, ret_until, ret_mode, err): the retain-until date of ${name}'s
 * current version (seconds since the epoch) and its mode; 0 and DST_LOCK_NONE when it has
 * none. One HEAD request (a GetObjectRetention more when the HEAD says nothing of a lock).
 * CF_ENOENT: no such object; CF_ECORRUPT: an unreadable date or mode; CF_EUSAGE: ${d} has
 * no verified Object Lock (the kinds without one, and S3 servers that only pretend). */
int dst_lock_get(struct dst *d, const char *name, int64_t *ret_until, int *ret_mode,
	struct cf_error *err);
/* dst_lock_extend(d, name, until, mode_now, err): retain ${name}'s current version until
 * ${until} (one PutObjectRetention), in ${d}'s mode or ${mode_now}, the object's present
 * mode, whichever is stronger. Only ever extends: the request never asks to bypass a
 * retention, so the server refuses a date before the present one. CF_EUSAGE as
 * dst_lock_get, or when ${until} is not in the future. */
int dst_lock_extend(struct dst *d, const char *name, int64_t until, int mode_now,
	struct cf_error *err);

/* ---- objects as files (local kinds) ---- */

/* dst_open_read(d, name, ret_fd, err): the object as a read-only fd (the caller closes it).
 * CF_ENOENT when missing; CF_EUSAGE for kinds whose objects are not local files. */
int dst_open_read(struct dst *d, const char *name, int *ret_fd, struct cf_error *err);
/* dst_put_fd(d, name, fd, err): as dst_put_file, from ${fd} read from its start to its end
 * (the caller keeps ${fd}). */
int dst_put_fd(struct dst *d, const char *name, int fd, struct cf_error *err);

/* dst_prepare(d, dirs, n, err): makes a local destination's root (missing or an empty
 * folder) and the folders ${dirs} in it; nothing for other kinds. */
int dst_prepare(struct dst *d, const char *const *dirs, size_t n, struct cf_error *err);
/* dst_cleanup(d, err): removes the temp files (*.tmp) that interrupted writes left in a local
 * destination's root and its folders; nothing for other kinds. Only while no one writes. */
int dst_cleanup(struct dst *d, struct cf_error *err);

/* ---- staged writes: an object written piece by piece, then named ---- */

/* dst_stage_open(d, spill_dir, ret, err): local kinds write into a temp file inside the
 * destination (the commit is a rename); others into a temp file in ${spill_dir} that the
 * commit uploads. */
int dst_stage_open(struct dst *d, const char *spill_dir, struct dst_stage **ret,
	struct cf_error *err);
/* dst_stage_write(s, p, n, err): appends, and starts writing the bytes back to the disk. */
int dst_stage_write(struct dst_stage *s, const void *p, size_t n, struct cf_error *err);
/* dst_stage_commit(s, name, err): fsyncs and stores the object as ${name}, whole or not at
 * all. The stage is then spent: only dst_stage_free remains. */
int dst_stage_commit(struct dst_stage *s, const char *name, struct cf_error *err);
/* dst_stage_free(s): discards an uncommitted stage's temp file. */
void dst_stage_free(struct dst_stage *s);

#endif
