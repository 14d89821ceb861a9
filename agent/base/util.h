/* util.h: byte buffers, bounded readers and durable file writes shared by the engine. */
#ifndef COFFRE_UTIL_H
#define COFFRE_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct cf_error;

/* A growable byte buffer. Zero-initialise, then append; buf_free releases it. */
struct buf {
	uint8_t *p;
	size_t len, cap;
};

int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t n);
/* buf_appendf(b, fmt, ...): formatted text appended (without its NUL). 0 or -1. */
int buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_u16(struct buf *b, uint16_t v);
int buf_put_u32(struct buf *b, uint32_t v);
int buf_put_u64(struct buf *b, uint64_t v);
/* buf_put_varint(b, v): LEB128, 7 bits a byte, low bits first; 1 to 5 bytes. */
int buf_put_varint(struct buf *b, uint32_t v);
void buf_free(struct buf *b);

/* A bounded reader over untrusted bytes: any read past the end sets ${bad} and yields zeros. */
struct rd {
	const uint8_t *p;
	size_t len, off;
	int bad;
};

void rd_init(struct rd *r, const void *p, size_t len);
uint8_t rd_u8(struct rd *r);
uint16_t rd_u16(struct rd *r);
uint32_t rd_u32(struct rd *r);
uint64_t rd_u64(struct rd *r);
/* rd_varint(r): a LEB128 value of at most 32 bits in at most 5 bytes, shortest form;
 * anything else sets ${bad}. */
uint32_t rd_varint(struct rd *r);
/* rd_bytes(r, n): pointer to the next ${n} bytes (borrowed), or NULL (and bad set). */
const uint8_t *rd_bytes(struct rd *r, size_t n);
size_t rd_left(const struct rd *r);

static inline void le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* util_hex(out, in, n): lower-case hex of ${n} bytes into ${out} (2n+1 bytes). */
void util_hex(char *out, const uint8_t *in, size_t n);
/* util_unhex(out, n, hex): exactly 2n hex digits; returns 0 or -1. */
int util_unhex(uint8_t *out, size_t n, const char *hex);

#define UTIL_NOREPLACE 1	/* refuse to replace an existing file */
#define UTIL_NOSYNC 2		/* no fsync: atomic, not durable (a status others may read) */
/* util_write_atomic(path, data, len, flags, err): temp file beside ${path}, write, fsync,
 * rename, fsync the directory. Returns 0 or CF_E*. */
int util_write_atomic(const char *path, const void *data, size_t len, int flags,
	struct cf_error *err);

/* util_read_first_line(path): the file's first line without its line end (malloc'd; "" for
 * an empty file), read unbuffered since it is usually a secret; NULL with errno set. */
char *util_read_first_line(const char *path);
/* util_read_file(path, maxlen, ret, err): whole file into ${ret} (caller frees), refusing
 * files over ${maxlen}. Returns 0, CF_ENOENT, CF_ECORRUPT (too big) or CF_EIO. */
int util_read_file(const char *path, size_t maxlen, struct buf *ret, struct cf_error *err);
/* util_read_fd(fd, path, maxlen, ret, err): the same from ${fd}, read from its start;
 * ${path} names it in messages. */
int util_read_fd(int fd, const char *path, size_t maxlen, struct buf *ret, struct cf_error *err);

/* util_mkdirs(path, mode): mkdir -p. Returns 0 or -1 with errno. */
int util_mkdirs(const char *path, unsigned mode);
/* util_fsync_dir(path): fsync a directory (ignored where unsupported, as on some FUSE). */
int util_fsync_dir(const char *path);
/* util_fsync_parent(path): fsync the directory that holds ${path}. */
int util_fsync_parent(const char *path);

/* util_path(fmt, ...): malloc'd formatted string, or NULL. */
char *util_path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* util_parse_time(s, local_ok, ret_ms): an RFC 3339 date and time, "YYYY-MM-DDTHH:MM[:SS[.f]]"
 * ('T', 't' or a space between date and time) then "Z" or "+HH:MM" / "-HH:MM", as
 * milliseconds since the epoch; the seconds may be left out. Without a zone it is local time
 * when ${local_ok}, refused otherwise. Years 1970 to 9999. Returns 0 or -1. */
int util_parse_time(const char *s, int local_ok, int64_t *ret_ms);

/* util_parse_size(s, ret): a size in bytes: "1048576", "512K", "64M", "2G", "1T" (powers of
 * 1024; "KiB", "MB"... read the same). 0 or -1. */
int util_parse_size(const char *s, uint64_t *ret);

/* util_run(argv, quiet): run ${argv} (found in PATH) and wait for it; with ${quiet} its
 * standard streams are /dev/null, else ours. Returns its exit status, or -1 when it could not
 * run or was killed. */
int util_run(char *const argv[], int quiet);

/* util_now_ns(): monotonic clock in nanoseconds. */
uint64_t util_now_ns(void);

#endif
