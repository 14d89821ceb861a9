/* fixture.c: temporary folders and the template repository shared by the unit tests. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fixture.h"

#include "base/util.h"
#include "coffre/error.h"
#include "coffre/repo.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpl_dir[256], tmpl_repo[300], tmpl_recovery[REPO_RECOVERY_TEXT], tmpl_idhex[65];

int fx_mkdtemp(char *buf, size_t size, const char *name)
{
	const char *t = getenv("TMPDIR");
	int n = snprintf(buf, size, "%s/cf-test-%s-XXXXXX", t && *t ? t : "/tmp", name);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return mkdtemp(buf) ? 0 : -1;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

void fx_rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(in >= 0 && out >= 0);
	char buf[8192];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

void fx_copy_tree(const char *from, const char *to)
{
	struct stat st;
	assert_int_equal(lstat(from, &st), 0);
	if (!S_ISDIR(st.st_mode)) {
		copy_file(from, to);
		return;
	}
	assert_int_equal(mkdir(to, 0700), 0);
	DIR *d = opendir(from);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *a = util_path("%s/%s", from, e->d_name), *b = util_path("%s/%s", to, e->d_name);
		assert_true(a && b);
		fx_copy_tree(a, b);
		free(a);
		free(b);
	}
	closedir(d);
}

int fx_template_init(const char *name)
{
	char tname[64];
	snprintf(tname, sizeof tname, "%s-tmpl", name);
	if (fx_mkdtemp(tmpl_dir, sizeof tmpl_dir, tname))
		return -1;
	snprintf(tmpl_repo, sizeof tmpl_repo, "%s/repo", tmpl_dir);
	struct cf_error err = { 0 };
	if (repo_init(tmpl_repo, FX_PASSWORD, NULL, tmpl_recovery, tmpl_idhex, &err)) {
		fprintf(stderr, "fx_template_init: %s\n", err.msg);
		return -1;
	}
	return 0;
}

void fx_template_free(void)
{
	if (tmpl_dir[0])
		fx_rm_rf(tmpl_dir);
	tmpl_dir[0] = 0;
}

void fx_template_copy(const char *to)
{
	assert_true(tmpl_dir[0] != 0);
	fx_copy_tree(tmpl_repo, to);
}

const char *fx_template_recovery(void)
{
	return tmpl_recovery;
}

const char *fx_template_idhex(void)
{
	return tmpl_idhex;
}

void fx_write(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	assert_int_equal(fclose(f), 0);
}
