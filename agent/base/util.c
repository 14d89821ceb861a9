/* util.c: byte buffers, bounded readers, durable writes. */
#include "base/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "coffre/error.h"

int buf_reserve(struct buf *b, size_t extra)
{
	if (b->len + extra < b->len)
		return -1;
	if (b->len + extra <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n))
		return -1;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

int buf_appendf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1))
		return -1;
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_append(b, &v, 1);
}

int buf_put_u16(struct buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	return buf_append(b, x, 2);
}

int buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t x[4];
	le32_put(x, v);
	return buf_append(b, x, 4);
}

int buf_put_u64(struct buf *b, uint64_t v)
{
	uint8_t x[8];
	for (int i = 0; i < 8; i++)
		x[i] = (uint8_t)(v >> (8 * i));
	return buf_append(b, x, 8);
}

int buf_put_varint(struct buf *b, uint32_t v)
{
	uint8_t x[5];
	size_t n = 0;
	do {
		x[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			x[n] |= 0x80;
		n++;
	} while (v);
	return buf_append(b, x, n);
}

void buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void rd_init(struct rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->bad = 0;
}

const uint8_t *rd_bytes(struct rd *r, size_t n)
{
	if (r->bad || n > r->len - r->off) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

size_t rd_left(const struct rd *r)
{
	return r->bad ? 0 : r->len - r->off;
}

uint8_t rd_u8(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 1);
	return p ? p[0] : 0;
}

uint16_t rd_u16(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 2);
	return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

uint32_t rd_u32(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 4);
	return p ? le32_get(p) : 0;
}

uint64_t rd_u64(struct rd *r)
{
	const uint8_t *p = rd_bytes(r, 8);
	if (!p)
		return 0;
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

uint32_t rd_varint(struct rd *r)
{
	uint64_t v = 0;
	for (int i = 0; i < 5; i++) {
		uint8_t b = rd_u8(r);
		if (r->bad)
			return 0;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			/* One encoding per value: no trailing zero group, nothing past 32 bits. */
			if ((i > 0 && b == 0) || v > UINT32_MAX)
				break;
			return (uint32_t)v;
		}
	}
	r->bad = 1;
	return 0;
}

void util_hex(char *out, const uint8_t *in, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

int util_unhex(uint8_t *out, size_t n, const char *hex)
{
	size_t got = 0;
	const char *end = NULL;
	if (strlen(hex) != 2 * n)
		return -1;
	if (sodium_hex2bin(out, n, hex, 2 * n, NULL, &got, &end) != 0 || got != n || *end)
		return -1;
	return 0;
}

char *util_path(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

int util_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* FUSE file systems (fusefat) may refuse fsync on a directory: not an error. */
	if (fsync(fd) != 0 && errno != EINVAL && errno != ENOSYS && errno != EBADF) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

int util_fsync_parent(const char *path)
{
	char *dir = strdup(path);
	if (!dir)
		return -1;
	char *slash = strrchr(dir, '/');
	int r;
	if (!slash)
		r = util_fsync_dir(".");
	else {
		if (slash == dir)
			slash[1] = 0;
		else
			*slash = 0;
		r = util_fsync_dir(dir);
	}
	free(dir);
	return r;
}

int util_write_atomic(const char *path, const void *data, size_t len, int flags,
	struct cf_error *err)
{
	int noreplace = flags & UTIL_NOREPLACE, sync = !(flags & UTIL_NOSYNC);
	uint8_t rnd[8];
	char hex[17];
	randombytes_buf(rnd, sizeof rnd);
	util_hex(hex, rnd, sizeof rnd);
	char *tmp = util_path("%s.%s.tmp", path, hex);
	if (!tmp)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		int r = cf_error_sys(err, CF_EIO, "cannot create '%s'", tmp);
		free(tmp);
		return r;
	}
	const uint8_t *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (sync && fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (noreplace) {
		/* link() refuses an existing name on every file system we target except FAT via
		 * FUSE, which lacks links; there, check then rename. */
		if (link(tmp, path) == 0) {
			unlink(tmp);
		} else if (errno == EEXIST) {
			unlink(tmp);
			free(tmp);
			return cf_error_set(err, CF_EIO, "'%s' already exists", path);
		} else {
			struct stat st;
			if (lstat(path, &st) == 0) {
				unlink(tmp);
				free(tmp);
				return cf_error_set(err, CF_EIO, "'%s' already exists", path);
			}
			if (rename(tmp, path) != 0)
				goto fail;
		}
	} else if (rename(tmp, path) != 0) {
		goto fail;
	}
	free(tmp);
	if (sync && util_fsync_parent(path) != 0)
		return cf_error_sys(err, CF_EIO, "cannot sync directory of '%s'", path);
	return 0;
fail:;
	int r = cf_error_sys(err, CF_EIO, "cannot write '%s'", path);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return r;
}

int util_read_file(const char *path, size_t maxlen, struct buf *ret, struct cf_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return cf_error_set(err, CF_ENOENT, "'%s' not found", path);
		return cf_error_sys(err, CF_EIO, "cannot open '%s'", path);
	}
	int rc = util_read_fd(fd, path, maxlen, ret, err);
	close(fd);
	return rc;
}

int util_read_fd(int fd, const char *path, size_t maxlen, struct buf *ret, struct cf_error *err)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return cf_error_sys(err, CF_EIO, "cannot stat '%s'", path);
	if ((uint64_t)st.st_size > maxlen)
		return cf_error_set(err, CF_ECORRUPT, "'%s' is too large (%lld bytes)", path,
			(long long)st.st_size);
	struct buf b = { 0 };
	if (buf_reserve(&b, (size_t)st.st_size + 1))
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	for (;;) {
		if (buf_reserve(&b, 65536) || b.len > maxlen) {
			buf_free(&b);
			return cf_error_set(err, CF_ECORRUPT, "'%s' is too large", path);
		}
		ssize_t n = pread(fd, b.p + b.len, b.cap - b.len, (off_t)b.len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int r = cf_error_sys(err, CF_EIO, "cannot read '%s'", path);
			buf_free(&b);
			return r;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
	}
	if (b.len > maxlen) {
		buf_free(&b);
		return cf_error_set(err, CF_ECORRUPT, "'%s' is too large", path);
	}
	*ret = b;
	return 0;
}

int util_mkdirs(const char *path, unsigned mode)
{
	char *p = strdup(path);
	if (!p)
		return -1;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) != 0 && errno != EEXIST) {
			int e = errno;
			free(p);
			errno = e;
			return -1;
		}
		*s = '/';
	}
	int r = mkdir(p, mode);
	if (r != 0 && errno == EEXIST)
		r = 0;
	free(p);
	return r;
}

/* ${n} decimal digits at ${s}, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to the given date of the proleptic Gregorian calendar (H. Hinnant's
 * days_from_civil), so that UTC needs neither timegm nor the TZ variable. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int util_parse_time(const char *s, int local_ok, int64_t *ret_ms)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (strnlen(s, 17) < 16 || s[4] != '-' || s[7] != '-' || s[13] != ':' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' '))
		return -1;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = 0, ms = 0;
	const char *p = s + 16;
	if (*p == ':') {
		if ((sec = digits(p + 1, 2)) < 0)
			return -1;
		p += 3;
		if (*p == '.') {
			int n = 0;
			for (p++; *p >= '0' && *p <= '9'; p++, n++)
				if (n < 3)
					ms = ms * 10 + (*p - '0');
			if (n == 0 || n > 9)
				return -1;
			for (; n < 3; n++)
				ms *= 10;
		}
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec > 59)
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return -1;
	int64_t t;
	if (*p == 0) {
		if (!local_ok)
			return -1;
		struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			.tm_min = mi, .tm_sec = sec, .tm_isdst = -1 };
		time_t lt = mktime(&tm);
		if (lt == (time_t)-1)
			return -1;
		t = (int64_t)lt;
	} else {
		int off = 0;
		if ((*p == 'Z' || *p == 'z') && p[1] == 0) {
			off = 0;
		} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
			int oh = digits(p + 1, 2), om = digits(p + 4, 2);
			if (oh < 0 || oh > 23 || om < 0 || om > 59)
				return -1;
			off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
		} else {
			return -1;
		}
		t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	}
	*ret_ms = t * 1000 + ms;
	return 0;
}

uint64_t util_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

char *util_read_first_line(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	setvbuf(f, NULL, _IONBF, 0);	/* no stdio buffer left holding a secret */
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	fclose(f);
	if (n < 0) {
		free(line);
		return strdup("");
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	return line;
}

int util_parse_size(const char *s, uint64_t *ret)
{
	char *end;
	errno = 0;
	if (!s || *s < '0' || *s > '9')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	int shift = 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (shift && strcmp(end, "iB") == 0)
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || v > (UINT64_MAX >> shift))
		return -1;
	*ret = (uint64_t)v << shift;
	return 0;
}

int util_run(char *const argv[], int quiet)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = quiet ? open("/dev/null", O_RDWR | O_CLOEXEC) : -1;
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
			dup2(nul, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
