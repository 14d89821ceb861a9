/* setup_journal.c: what a coffre setup under way has created, so that a setup that stopped
 * half-way (the first backup failed, the machine went down) can be run again: the next run
 * removes exactly these files and starts afresh, while a finished setup (no journal) is
 * never touched. The journal is a small text file beside the configuration, one "KIND PATH"
 * line per thing created, rewritten whole (temp, fsync, rename) before the thing is made. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "setup.h"
#include "base/util.h"
#include "coffre/error.h"

#define JOURNAL_MAX (64 * 1024)

char *setup_journal_path(const char *config)
{
	return util_path("%s.unfinished", config);
}

int setup_journal_exists(const char *journal)
{
	struct stat st;
	return lstat(journal, &st) == 0;
}

int setup_journal_add(const char *journal, char kind, const char *path)
{
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	int rc = util_read_file(journal, JOURNAL_MAX, &b, &err);
	if (rc && rc != CF_ENOENT) {
		buf_free(&b);
		errno = EIO;
		return -1;
	}
	if (strchr(path, '\n')) {
		buf_free(&b);
		errno = EINVAL;
		return -1;
	}
	char *line = util_path("%c %s\n", kind, path);
	int ok = line && buf_append(&b, line, strlen(line)) == 0 && buf_put_u8(&b, 0) == 0;
	free(line);
	if (!ok) {
		buf_free(&b);
		errno = ENOMEM;
		return -1;
	}
	rc = setup_write_file(journal, (const char *)b.p, 0600, NULL);
	buf_free(&b);
	return rc;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
	return rc != 0 && errno != ENOENT ? -1 : 0;
}

/* A folder setup made for the repository: empty, or a repository's layout. */
static int is_repo(const char *dir)
{
	char *cfg = util_path("%s/config", dir), *keys = util_path("%s/keys", dir);
	struct stat a, b;
	int yes = cfg && keys && lstat(cfg, &a) == 0 && S_ISREG(a.st_mode) &&
		  lstat(keys, &b) == 0 && S_ISDIR(b.st_mode);
	free(cfg);
	free(keys);
	return yes;
}

static int rm_tree(const char *dir)
{
	struct stat st;
	if (lstat(dir, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (rmdir(dir) == 0)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST)
		return -1;
	if (!is_repo(dir)) {
		errno = ENOTEMPTY;	/* something else than ours is there: left alone */
		return -1;
	}
	/* Depth first, never through a link nor onto another file system. */
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) ? -1 : 0;
}

int setup_journal_undo(const char *journal, char **ret_failed)
{
	struct buf b = { 0 };
	struct cf_error err = { 0 };
	*ret_failed = NULL;
	int rc = util_read_file(journal, JOURNAL_MAX, &b, &err);
	if (rc == CF_ENOENT)
		return 0;
	if (rc || buf_put_u8(&b, 0) != 0) {
		buf_free(&b);
		*ret_failed = strdup(journal);
		return -1;
	}
	/* The latest first: the files inside the repository's folder before the folder. */
	char *text = (char *)b.p;
	size_t n = strlen(text);
	while (n > 0) {
		if (text[n - 1] == '\n')
			text[--n] = 0;
		char *nl = memrchr(text, '\n', n);
		char *line = nl ? nl + 1 : text;
		n = (size_t)(line - text);
		if (line[0] == 0 || line[1] != ' ' || line[2] != '/')
			continue;	/* not written by us: leave it */
		const char *path = line + 2;
		int bad = line[0] == 'f' ? unlink(path) != 0 && errno != ENOENT :
			  line[0] == 'd' ? rm_tree(path) != 0 : 0;
		if (bad) {
			*ret_failed = strdup(path);
			buf_free(&b);
			return -1;
		}
	}
	buf_free(&b);
	if (unlink(journal) != 0 && errno != ENOENT) {
		*ret_failed = strdup(journal);
		return -1;
	}
	util_fsync_parent(journal);
	return 0;
}

int setup_journal_done(const char *journal)
{
	if (unlink(journal) != 0 && errno != ENOENT)
		return -1;
	util_fsync_parent(journal);
	return 0;
}
