/* dst_sftp.c: an SFTP server through libcurl's libssh2 backend. Key authentication only; the
 * server's host key is pinned by its SHA-256 fingerprint (as `ssh-keygen -lf` prints it) and a
 * mismatch refuses to connect. Uploads go to NAME.tmp, then a rename (after removing an old
 * object of that name: SFTP v3's rename does not replace).
 *
 * URL: sftp://user@host[:port]/path (an absolute path on the server; "/~/path" is relative to
 * the user's home). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre/error.h"
#include "dst/dst_curl.h"
#include "dst/dst_internal.h"
#include "base/util.h"

struct dst_sftp {
	struct dst d;	/* first: dst_sftp is a dst */
	struct dst_curl net;
	char *base;	/* "sftp://user@host:port" */
	char *root;	/* "/path" without a trailing slash ("" for "/") */
	char *host;
	char *key, *pub;
	char pin[64];	/* base64 SHA-256 without "SHA256:" and without padding */
};

struct sf_io {
	struct dst_curl_src up;
	struct buf *down;
	uint64_t max;
	int too_big;
	const struct dst_curl *net;	/* its download cap (dst_curl_pace) */
};

static size_t sf_write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
	struct sf_io *io = ud;
	size_t n = size * nmemb;
	if (io->down->len + n > io->max) {
		io->too_big = 1;
		return 0;
	}
	if (buf_append(io->down, p, n))
		return 0;
	dst_curl_pace(io->net, n);
	return n;
}

/* Percent-encodes a path for a URL ('/' kept). */
static char *sf_url(struct dst_sftp *s, const char *name)
{
	struct buf b = { 0 };
	static const char hex[] = "0123456789ABCDEF";
	const char *parts[3] = { s->root, "/", name };
	if (buf_append(&b, s->base, strlen(s->base)))
		goto fail;
	for (int i = 0; i < 3; i++) {
		for (const char *p = parts[i]; *p; p++) {
			unsigned char c = (unsigned char)*p;
			int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				(c >= '0' && c <= '9') || strchr("-_.~/", c);
			if (keep ? buf_put_u8(&b, c)
				 : buf_append(&b, (char[3]){ '%', hex[c >> 4], hex[c & 15] }, 3))
				goto fail;
		}
	}
	if (buf_put_u8(&b, 0))
		goto fail;
	return (char *)b.p;
fail:
	buf_free(&b);
	return NULL;
}

enum sf_kind { SF_GET, SF_PUT, SF_NOBODY };

/* One transfer (dst_curl_run calls back for each attempt). */
struct sf_call {
	struct dst_sftp *s;
	enum sf_kind kind;
	const char *url;
	struct sf_io *io;
	const char *range;
	struct curl_slist *quote, *postquote;
	const char *what;
};

static int sf_setup(void *ctx, CURL *c, struct cf_error *err)
{
	(void)err;
	struct sf_call *t = ctx;
	struct dst_sftp *s = t->s;
	struct sf_io *io = t->io;
	curl_easy_setopt(c, CURLOPT_URL, t->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "sftp");
	curl_easy_setopt(c, CURLOPT_SSH_AUTH_TYPES, (long)CURLSSH_AUTH_PUBLICKEY);
	curl_easy_setopt(c, CURLOPT_SSH_PRIVATE_KEYFILE, s->key);
	if (s->pub)
		curl_easy_setopt(c, CURLOPT_SSH_PUBLIC_KEYFILE, s->pub);
	curl_easy_setopt(c, CURLOPT_SSH_HOST_PUBLIC_KEY_SHA256, s->pin);
	if (t->quote)
		curl_easy_setopt(c, CURLOPT_QUOTE, t->quote);
	if (t->postquote)
		curl_easy_setopt(c, CURLOPT_POSTQUOTE, t->postquote);
	if (io) {
		io->up.off = 0;
		io->too_big = 0;
		if (io->down)
			io->down->len = 0;
	}
	if (t->kind == SF_PUT) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, dst_curl_read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, &io->up);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)io->up.n);
		curl_easy_setopt(c, CURLOPT_FTP_CREATE_MISSING_DIRS, (long)CURLFTP_CREATE_DIR_RETRY);
		curl_easy_setopt(c, CURLOPT_NEW_DIRECTORY_PERMS, 0700L);
		curl_easy_setopt(c, CURLOPT_NEW_FILE_PERMS, 0600L);
		dst_curl_rate_cap(&s->net, c);
	} else if (t->kind == SF_NOBODY) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sf_write_cb);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, io);
		io->net = &s->net;
		dst_curl_rate_cap(&s->net, c);
		if (t->range)
			curl_easy_setopt(c, CURLOPT_RANGE, t->range);
	}
	return 0;
}

static int sf_done(void *ctx, CURL *c, CURLcode cc, struct cf_error *err)
{
	(void)c;
	struct sf_call *t = ctx;
	struct dst_sftp *s = t->s;
	switch (cc) {
	case CURLE_OK:
		return 0;
	case CURLE_PEER_FAILED_VERIFICATION:
		return cf_error_set(err, CF_EKEY,
			"host key of %s does not match the pinned fingerprint", s->host);
	case CURLE_LOGIN_DENIED:
		return cf_error_set(err, CF_EKEY, "%s: the server refused the key '%s'",
			s->d.url, s->key);
	case CURLE_REMOTE_FILE_NOT_FOUND:
		return cf_error_set(err, CF_ENOENT, "%s: '%s' not found", s->d.url, t->what);
	case CURLE_REMOTE_DISK_FULL:
		return cf_error_set(err, CF_ENOSPC, "%s: no space left on the server for '%s'",
			s->d.url, t->what);
	case CURLE_WRITE_ERROR:
		if (t->io && t->io->too_big)
			return cf_error_set(err, CF_ECORRUPT, "%s: '%s' is larger than %llu bytes",
				s->d.url, t->what, (unsigned long long)t->io->max);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	case CURLE_QUOTE_ERROR:
	case CURLE_REMOTE_ACCESS_DENIED:
	case CURLE_UPLOAD_FAILED:
	case CURLE_BAD_DOWNLOAD_RESUME:
	case CURLE_RANGE_ERROR:
		return cf_error_set(err, CF_EIO, "%s: '%s': %s", s->d.url, t->what,
			curl_easy_strerror(cc));
	default:
		return DST_CURL_RETRY;	/* connection errors and timeouts */
	}
}

static int sf_perform(struct dst_sftp *s, enum sf_kind kind, const char *url, struct sf_io *io,
	const char *range, struct curl_slist *quote, struct curl_slist *postquote, const char *what,
	struct cf_error *err)
{
	struct sf_call t = { s, kind, url, io, range, quote, postquote, what };
	struct dst_curl_call call = { sf_setup, sf_done, &t };
	return dst_curl_run(&s->net, s->d.url, &call, err);
}

static int sf_put_buf(struct dst *d, const char *name, const void *p, size_t n,
	struct cf_error *err)
{
	struct dst_sftp *s = (struct dst_sftp *)d;
	char *tmpname = util_path("%s.tmp", name);
	char *url = tmpname ? sf_url(s, tmpname) : NULL;
	char *rm = util_path("*rm \"%s/%s\"", s->root, name);
	char *mv = util_path("rename \"%s/%s.tmp\" \"%s/%s\"", s->root, name, s->root, name);
	struct curl_slist *pq = NULL;
	int rc;
	if (!url || !rm || !mv || !(pq = curl_slist_append(NULL, rm)) ||
	    !curl_slist_append(pq, mv)) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	} else if (strpbrk(name, "\"\n\\")) {
		rc = cf_error_set(err, CF_EUSAGE, "bad object name '%s'", name);
	} else {
		struct sf_io io = { .up = { p ? p : (const void *)"", n, 0 } };
		rc = sf_perform(s, SF_PUT, url, &io, NULL, NULL, pq, name, err);
	}
	curl_slist_free_all(pq);
	free(rm);
	free(mv);
	free(url);
	free(tmpname);
	return rc;
}

static int sf_put_file(struct dst *d, const char *name, const char *src, struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = util_read_file(src, (size_t)1 << 32, &b, err);
	if (rc == 0)
		rc = sf_put_buf(d, name, b.p, b.len, err);
	buf_free(&b);
	return rc;
}

static int sf_put_fd(struct dst *d, const char *name, int fd, struct cf_error *err)
{
	struct buf b = { 0 };
	int rc = util_read_fd(fd, name, (size_t)1 << 32, &b, err);
	if (rc == 0)
		rc = sf_put_buf(d, name, b.p, b.len, err);
	buf_free(&b);
	return rc;
}

static int sf_get(struct dst *d, const char *name, uint64_t max, struct buf *ret,
	struct cf_error *err)
{
	struct dst_sftp *s = (struct dst_sftp *)d;
	char *url = sf_url(s, name);
	if (!url)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	struct buf b = { 0 };
	struct sf_io io = { .down = &b, .max = max };
	int rc = sf_perform(s, SF_GET, url, &io, NULL, NULL, NULL, name, err);
	free(url);
	if (rc)
		buf_free(&b);
	else
		*ret = b;
	return rc;
}

static int sf_get_range(struct dst *d, const char *name, uint64_t off, size_t len, void *out,
	struct cf_error *err)
{
	struct dst_sftp *s = (struct dst_sftp *)d;
	if (len == 0)
		return 0;
	char *url = sf_url(s, name), range[64];
	if (!url)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)off,
		(unsigned long long)(off + len - 1));
	struct buf b = { 0 };
	struct sf_io io = { .down = &b, .max = len };
	int rc = sf_perform(s, SF_GET, url, &io, range, NULL, NULL, name, err);
	free(url);
	if (rc == CF_EIO && strstr(err ? err->msg : "", "range"))
		rc = cf_error_set(err, CF_ECORRUPT, "%s: '%s' is shorter than expected", s->d.url,
			name);
	else if (rc == 0 && b.len != len)
		rc = cf_error_set(err, CF_ECORRUPT, "%s: '%s' is shorter than expected", s->d.url,
			name);
	if (rc == 0)
		memcpy(out, b.p, len);
	buf_free(&b);
	return rc;
}

/* A request without a body on ${name}: its size and time are then in the handle's info. */
static int sf_head(struct dst_sftp *s, const char *name, struct cf_error *err)
{
	char *url = sf_url(s, name);
	if (!url)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = sf_perform(s, SF_NOBODY, url, NULL, NULL, NULL, NULL, name, err);
	free(url);
	return rc;
}

static int sf_stat(struct dst *d, const char *name, uint64_t *ret_size, struct cf_error *err)
{
	struct dst_sftp *s = (struct dst_sftp *)d;
	int rc = sf_head(s, name, err);
	if (rc == 0 && ret_size) {
		curl_off_t cl = -1;
		curl_easy_getinfo(s->net.curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
		if (cl < 0)
			return cf_error_set(err, CF_EIO, "%s: no size for '%s'", s->d.url, name);
		*ret_size = (uint64_t)cl;
	}
	return rc;
}

static int sf_mtime(struct dst *d, const char *name, int64_t *ret, struct cf_error *err)
{
	struct dst_sftp *s = (struct dst_sftp *)d;
	int rc = sf_head(s, name, err);
	curl_off_t t = -1;
	if (rc == 0 && (curl_easy_getinfo(s->net.curl, CURLINFO_FILETIME_T, &t) != CURLE_OK ||
	    t < 0))
		rc = cf_error_set(err, CF_EIO, "%s: no time for '%s'", s->d.url, name);
	if (rc == 0)
		*ret = (int64_t)t;
	return rc;
}

/* Lists the directory ${rel} (relative to the root) and recurses into subdirectories whose
 * names can hold ${prefix}. Entries come as "ls -l" lines. */
static int sf_walk(struct dst_sftp *s, const char *rel, const char *prefix,
	int (*fn)(void *, const char *, uint64_t), void *ctx, int depth, struct cf_error *err)
{
	char *dirname = rel[0] ? util_path("%s/", rel) : strdup("");
	char *url = dirname ? sf_url(s, dirname) : NULL;
	free(dirname);
	if (!url)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	struct buf b = { 0 };
	struct sf_io io = { .down = &b, .max = 64u << 20 };
	struct cf_error e2 = { 0 };
	int rc = sf_perform(s, SF_GET, url, &io, NULL, NULL, NULL, rel[0] ? rel : "/", &e2);
	free(url);
	if (rc == CF_ENOENT || (rc == CF_EIO && depth > 0)) {
		buf_free(&b);
		return 0;	/* no such folder: nothing under it */
	}
	if (rc) {
		if (err)
			*err = e2;
		buf_free(&b);
		return rc;
	}
	if (buf_put_u8(&b, 0)) {
		buf_free(&b);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	char *save = NULL, *line;
	size_t pl = strlen(prefix);
	for (line = strtok_r((char *)b.p, "\r\n", &save); rc == 0 && line;
	     line = strtok_r(NULL, "\r\n", &save)) {
		/* type+perms links owner group size month day time|year name */
		char *f[9], *sp = NULL;
		int k = 0;
		char *t = strtok_r(line, " ", &sp);
		while (t && k < 8) {
			f[k++] = t;
			t = k < 8 ? strtok_r(NULL, " ", &sp) : t;
		}
		if (k < 8 || !sp)
			continue;
		char *nm = sp;
		while (*nm == ' ')
			nm++;
		if (!*nm || nm[0] == '.')
			continue;
		size_t nl = strlen(nm);
		char type = f[0][0];
		char *full = rel[0] ? util_path("%s/%s", rel, nm) : strdup(nm);
		if (!full) {
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
			break;
		}
		size_t fl = strlen(full);
		if (type == 'd' && depth < 3 && strncmp(full, prefix, fl < pl ? fl : pl) == 0)
			rc = sf_walk(s, full, prefix, fn, ctx, depth + 1, err);
		else if (type == '-' && strncmp(full, prefix, pl) == 0 &&
			 !(nl > 4 && strcmp(nm + nl - 4, ".tmp") == 0))
			rc = fn(ctx, full, strtoull(f[4], NULL, 10));
		free(full);
	}
	buf_free(&b);
	return rc;
}

static int sf_list(struct dst *d, const char *prefix,
	int (*fn)(void *ctx, const char *name, uint64_t size), void *ctx, struct cf_error *err)
{
	return sf_walk((struct dst_sftp *)d, "", prefix, fn, ctx, 0, err);
}

static int sf_del(struct dst *d, const char *name, struct cf_error *err)
{
	struct dst_sftp *s = (struct dst_sftp *)d;
	int rc = sf_stat(d, name, NULL, err);
	if (rc)
		return rc;
	if (strpbrk(name, "\"\n\\"))
		return cf_error_set(err, CF_EUSAGE, "bad object name '%s'", name);
	char *url = sf_url(s, "");
	char *rm = util_path("rm \"%s/%s\"", s->root, name);
	struct curl_slist *q = rm ? curl_slist_append(NULL, rm) : NULL;
	if (!url || !q)
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
	else
		rc = sf_perform(s, SF_NOBODY, url, NULL, NULL, q, NULL, name, err);
	curl_slist_free_all(q);
	free(rm);
	free(url);
	return rc;
}

static void sf_free(struct dst *d)
{
	struct dst_sftp *s = (struct dst_sftp *)d;
	dst_curl_release(&s->net);
	free(s->base);
	free(s->root);
	free(s->host);
	free(s->key);
	free(s->pub);
	free(s->d.url);
	free(s);
}

static int sf_clone(struct dst *d, struct dst **ret, struct cf_error *err)
{
	struct dst_sftp *s = (struct dst_sftp *)d, *c = malloc(sizeof *c);
	if (!c)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	*c = *s;
	c->base = strdup(s->base);
	c->root = strdup(s->root);
	c->host = strdup(s->host);
	c->key = strdup(s->key);
	c->pub = s->pub ? strdup(s->pub) : NULL;
	c->d.url = strdup(s->d.url);
	int nocurl = dst_curl_clone(&c->net, &s->net);
	if (!c->base || !c->root || !c->host || !c->key || (s->pub && !c->pub) || !c->d.url ||
	    nocurl) {
		sf_free(&c->d);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	*ret = &c->d;
	return 0;
}

const struct dst_ops dst_ops_sftp = {
	.name = "sftp",
	.put_file = sf_put_file,
	.put_fd = sf_put_fd,
	.put_buf = sf_put_buf,
	.get = sf_get,
	.get_range = sf_get_range,
	.stat = sf_stat,
	.mtime = sf_mtime,
	.list = sf_list,
	.del = sf_del,
	.free = sf_free,
	.clone = sf_clone,
};

int dst_sftp_open(const char *url, const struct dst_options *opt, struct dst **ret,
	struct cf_error *err)
{
	if (dst_curl_load(err))
		return CF_EIO;
	struct dst_sftp *s = calloc(1, sizeof *s);
	if (!s)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	s->d.ops = &dst_ops_sftp;
	int rc = 0;
	const char *auth = url + 7, *path = strchr(auth, '/');
	const char *at = memchr(auth, '@', path ? (size_t)(path - auth) : strlen(auth));
	if (!path || !at || at == auth) {
		rc = cf_error_set(err, CF_EUSAGE, "'%s': expected sftp://user@host[:port]/path", url);
	} else if (memchr(auth, ':', (size_t)(at - auth))) {
		rc = cf_error_set(err, CF_EUSAGE, "'%s': no password in the URL: key authentication "
			"only", url);
	} else if (!opt->sftp_key_file || !*opt->sftp_key_file) {
		rc = cf_error_set(err, CF_EKEY, "'%s': no private key file given", url);
	} else if (!opt->sftp_host_sha256 || !*opt->sftp_host_sha256) {
		rc = cf_error_set(err, CF_EKEY, "'%s': the host key must be pinned (its SHA256 "
			"fingerprint, as ssh-keygen -lf prints it)", url);
	}
	if (!rc) {
		const char *pin = opt->sftp_host_sha256;
		if (strncmp(pin, "SHA256:", 7) == 0)
			pin += 7;
		size_t pl = strlen(pin);
		while (pl && pin[pl - 1] == '=')
			pl--;
		if (pl != 43 || strspn(pin, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789+/") < pl)
			rc = cf_error_set(err, CF_EUSAGE, "bad host key fingerprint '%s' (want "
				"SHA256:<43 base64 characters>)", opt->sftp_host_sha256);
		else
			snprintf(s->pin, sizeof s->pin, "%.*s", (int)pl, pin);
	}
	if (!rc) {
		s->base = util_path("sftp://%.*s", (int)(path - auth), auth);
		s->host = util_path("%.*s", (int)(path - at - 1), at + 1);
		size_t rl = strlen(path);
		while (rl > 0 && path[rl - 1] == '/')
			rl--;
		s->root = util_path("%.*s", (int)rl, path);
		s->d.url = util_path("sftp://%.*s", (int)(path - auth + rl), auth);
		s->key = strdup(opt->sftp_key_file);
		if (s->key) {
			char *pub = util_path("%s.pub", s->key);
			if (pub && access(pub, R_OK) == 0)
				s->pub = pub;
			else
				free(pub);
		}
		if (!s->base || !s->host || !s->root || !s->d.url || !s->key)
			rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		else if (access(s->key, R_OK) != 0)
			rc = cf_error_sys(err, CF_EKEY, "cannot read the private key '%s'", s->key);
		else if (strpbrk(s->root, "\"\n\\"))
			rc = cf_error_set(err, CF_EUSAGE, "'%s': unsupported characters in the path", url);
	}
	if (!rc) {
		s->d.lock_note = "sftp: no object lock (the server's own permissions apply)";
		rc = dst_curl_open(&s->net, opt, err);
	}
	if (rc) {
		sf_free(&s->d);
		return rc;
	}
	*ret = &s->d;
	return 0;
}
