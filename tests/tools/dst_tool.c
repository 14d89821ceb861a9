/* dst_tool: a small command line over the dst_ API, for the destination tests.
 *
 *   dst_tool URL [--keys F] [--region R] [--host-key SHA256:..] [--ssh-key F]
 *            [--limit BYTES_PER_S] [--lock-days N] [--retries N] [--as-of DATE]
 *            put NAME FILE | putbuf NAME FILE | get NAME OUT | range NAME OFF LEN OUT |
 *            stat NAME | list PREFIX | del NAME | info | lock NAME |
 *            needed SPOOL PASSWORD_FILE [NAME...]
 *
 * lock prints the retain-until date (seconds since the epoch, 0: none) and the DST_LOCK_*
 * mode of NAME; needed runs lock_extend_run with NAME... as the needed objects (the date
 * cache is SPOOL's, opened with the password in PASSWORD_FILE) and prints its counts as
 * "checked N read N extended N missing N failed N earliest T".
 *
 * Errors go to stderr as one line "dst_tool: MESSAGE"; the exit code is cf_exit_code()
 * of the result, except CF_ENOSPC (14) and CF_ENOENT (15), which exit with 14 and 15 so
 * tests can tell them apart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/lock_extend.h"
#include "coffre/repo.h"
#include "base/util.h"

static int usage(void)
{
	fprintf(stderr, "usage: dst_tool URL [--keys F] [--region R] [--host-key SHA256:..] "
			"[--ssh-key F] [--limit BYTES_PER_S] [--lock-days N] [--retries N] "
			"[--as-of DATE] "
			"put NAME FILE | putbuf NAME FILE | get NAME OUT | range NAME OFF LEN OUT | "
			"stat NAME | list PREFIX | del NAME | info | lock NAME | "
			"needed SPOOL PASSWORD_FILE [NAME...]\n");
	return 2;
}

static int print_entry(void *ctx, const char *name, uint64_t size)
{
	(void)ctx;
	printf("%s %llu\n", name, (unsigned long long)size);
	return 0;
}

static int write_out(const char *path, const void *p, size_t n, struct cf_error *err)
{
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
	if (!f)
		return cf_error_sys(err, CF_EIO, "cannot create '%s'", path);
	int bad = n && fwrite(p, 1, n, f) != n;
	if (f != stdout)
		bad |= fclose(f) != 0;
	else
		bad |= fflush(f) != 0;
	return bad ? cf_error_sys(err, CF_EIO, "cannot write '%s'", path) : 0;
}

static int finish(int rc, const struct cf_error *err)
{
	if (rc == 0)
		return 0;
	fprintf(stderr, "dst_tool: %s\n", err->msg[0] ? err->msg : "failed");
	if (rc == CF_ENOSPC)
		return 14;
	if (rc == CF_ENOENT)
		return 15;
	return cf_exit_code(rc);
}

int main(int argc, char **argv)
{
	struct dst_options opt = { 0 };
	struct cf_error err = { 0 };
	if (argc < 3)
		return usage();
	const char *url = argv[1];
	int i = 2;
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		if (strcmp(o, "--keys") == 0)
			opt.s3_keys_file = v;
		else if (strcmp(o, "--region") == 0)
			opt.s3_region = v;
		else if (strcmp(o, "--host-key") == 0)
			opt.sftp_host_sha256 = v;
		else if (strcmp(o, "--ssh-key") == 0)
			opt.sftp_key_file = v;
		else if (strcmp(o, "--limit") == 0)
			opt.upload_limit = strtoull(v, NULL, 10);
		else if (strcmp(o, "--lock-days") == 0)
			opt.s3_lock_days = atoi(v);
		else if (strcmp(o, "--retries") == 0)
			opt.retries = atoi(v);
		else if (strcmp(o, "--as-of") == 0 && util_parse_time(v, 1, &opt.as_of_ms) == 0)
			;
		else
			return usage();
	}
	if (i >= argc)
		return usage();
	const char *cmd = argv[i++];
	int n = argc - i;
	char **a = argv + i;
	struct dst *d = NULL;
	int rc = dst_open(url, &opt, &d, &err);
	if (rc)
		return finish(rc, &err);
	if (strcmp(cmd, "put") == 0 && n == 2) {
		rc = dst_put_file(d, a[0], a[1], &err);
	} else if (strcmp(cmd, "putbuf") == 0 && n == 2) {
		struct buf b = { 0 };
		rc = util_read_file(a[1], (size_t)1 << 30, &b, &err);
		if (rc == 0)
			rc = dst_put_buf(d, a[0], b.p, b.len, &err);
		buf_free(&b);
	} else if (strcmp(cmd, "get") == 0 && n == 2) {
		struct buf b = { 0 };
		rc = dst_get(d, a[0], (uint64_t)1 << 32, &b, &err);
		if (rc == 0)
			rc = write_out(a[1], b.p, b.len, &err);
		buf_free(&b);
	} else if (strcmp(cmd, "range") == 0 && n == 4) {
		uint64_t off = strtoull(a[1], NULL, 10);
		size_t len = (size_t)strtoull(a[2], NULL, 10);
		void *p = malloc(len ? len : 1);
		rc = p ? dst_get_range(d, a[0], off, len, p, &err)
		       : cf_error_set(&err, CF_ENOMEM, "out of memory");
		if (rc == 0)
			rc = write_out(a[3], p, len, &err);
		free(p);
	} else if (strcmp(cmd, "stat") == 0 && n == 1) {
		uint64_t size = 0;
		rc = dst_stat(d, a[0], &size, &err);
		if (rc == CF_ENOENT && !err.msg[0])
			cf_error_set(&err, CF_ENOENT, "'%s' not found", a[0]);
		if (rc == 0)
			printf("%llu\n", (unsigned long long)size);
	} else if (strcmp(cmd, "list") == 0 && n <= 1) {
		rc = dst_list(d, n ? a[0] : "", print_entry, NULL, &err);
	} else if (strcmp(cmd, "del") == 0 && n == 1) {
		rc = dst_delete(d, a[0], &err);
		if (rc == CF_ENOENT && !err.msg[0])
			cf_error_set(&err, CF_ENOENT, "'%s' not found", a[0]);
	} else if (strcmp(cmd, "info") == 0 && n == 0) {
		printf("url %s\nkind %s\nobject_lock %d\nlock_note %s\nread_only %d\n", dst_url(d),
			dst_kind(d), dst_object_lock(d), dst_lock_note(d) ? dst_lock_note(d) : "",
			dst_read_only(d));
	} else if (strcmp(cmd, "lock") == 0 && n == 1) {
		int64_t until = 0;
		int mode = 0;
		rc = dst_lock_get(d, a[0], &until, &mode, &err);
		if (rc == 0)
			printf("%lld %d\n", (long long)until, mode);
	} else if (strcmp(cmd, "needed") == 0 && n >= 2) {
		char *pw = NULL;
		struct repo *r = NULL;
		struct lock_extend *x = NULL;
		struct lock_extend_stats st = { 0 };
		if (!(pw = util_read_first_line(a[1])))
			rc = cf_error_sys(&err, CF_EIO, "cannot read '%s'", a[1]);
		if (rc == 0) {
			struct repo_cred cred = { .password = pw };
			rc = repo_open(a[0], &cred, &r, &err);
		}
		if (rc == 0)
			rc = lock_extend_open(r, d, &x, &err);
		if (rc == 0)
			rc = lock_extend_run(x, (const char *const *)(a + 2), (size_t)(n - 2),
				(int64_t)time(NULL), 0, &st, &err);
		printf("checked %llu read %llu extended %llu missing %llu failed %llu earliest %lld\n",
			(unsigned long long)st.checked, (unsigned long long)st.read,
			(unsigned long long)st.extended, (unsigned long long)st.missing,
			(unsigned long long)st.failed, (long long)st.earliest);
		lock_extend_free(x);
		repo_free(r);
		free(pw);
	} else {
		dst_free(d);
		return usage();
	}
	dst_free(d);
	return finish(rc, &err);
}
