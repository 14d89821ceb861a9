/* test_watch_limit.c: directories that could not be watched (agent/daemon/watch.c) are tried again,
 * not forgotten. The test runs in its own user namespace, whose inotify watch limit
 * (/proc/sys/user/max_inotify_watches) it may lower without touching the machine's: at the
 * limit the watcher is incomplete; watches given back (folders deleted) let the waiting ones
 * in at once; watch_retry() after the limit is raised completes it, and the directories
 * that came back are dirty (their changes were not seen) while the others stay clean. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre/error.h"
#include "coffre/watch.h"

#include "fixture.h"

static char dir[256];

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void set_limit(const char *n)
{
	assert_int_equal(write_file("/proc/sys/user/max_inotify_watches", n), 0);
}

static void unwatched_is(struct watch *w, size_t n)
{
	struct watch_info wi;
	watch_info(w, &wi);
	assert_int_equal(wi.unwatched, n);
	assert_int_equal(wi.incomplete, n > 0);
}

static void test_limit_and_retry(void **state)
{
	(void)state;
	char p[300];
	/* 9 directories: the root and a1..a8; room for 5 watches. */
	for (int i = 1; i <= 8; i++) {
		snprintf(p, sizeof p, "%s/a%d", dir, i);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	set_limit("5");
	struct watch *w = NULL;
	struct cf_error err = { 0 };
	assert_int_equal(watch_new(NULL, NULL, &w, &err), 0);
	assert_int_equal(watch_add_root(w, dir, &err), 0);
	unwatched_is(w, 4);
	assert_int_equal(watch_clean(w, dir), 0);	/* incomplete: read everything */
	/* Two watched folders deleted (which ones depends on the order readdir gave): their
	 * watches come back, two waiting ones get them. */
	int gone[2], ngone = 0;
	for (int i = 1; i <= 8 && ngone < 2; i++) {
		snprintf(p, sizeof p, "%s/a%d", dir, i);
		if (watch_root_watched(w, p)) {
			assert_int_equal(rmdir(p), 0);
			gone[ngone++] = i;
		}
	}
	assert_int_equal(ngone, 2);
	assert_true(watch_process(w) > 0);
	unwatched_is(w, 2);
	/* Still at the limit: a retry changes nothing. */
	assert_int_equal(watch_retry(w), 0);
	unwatched_is(w, 2);
	/* Room again: everything is watched; a clean backup clears the earlier changes. */
	set_limit("100");
	watch_clear(w, watch_mark(w));
	assert_int_equal(watch_retry(w), 2);
	unwatched_is(w, 0);
	struct watch_info wi;
	watch_info(w, &wi);
	assert_int_equal(wi.watches, 7);
	/* The two folders watched late are dirty, the four others clean (which ones depends
	 * on the order readdir gave). */
	int clean = 0, late = 0;
	for (int i = 1; i <= 8; i++) {
		if (i == gone[0] || i == gone[1])
			continue;
		snprintf(p, sizeof p, "%s/a%d", dir, i);
		if (watch_clean(w, p))
			clean++;
		else
			late = i;
	}
	assert_int_equal(clean, 4);
	/* And changes in a late one are seen from now on. */
	watch_clear(w, watch_mark(w));
	snprintf(p, sizeof p, "%s/a%d/new", dir, late);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_true(watch_process(w) > 0);
	snprintf(p, sizeof p, "%s/a%d", dir, late);
	assert_int_equal(watch_clean(w, p), 0);
	watch_free(w);
}

/* A user namespace of our own, mapped to our ids, for its own inotify limits. */
static int own_user_namespace(void)
{
	char map[64];
	uid_t uid = getuid();
	gid_t gid = getgid();
	if (unshare(CLONE_NEWUSER) != 0)
		return -1;
	if (write_file("/proc/self/setgroups", "deny") != 0)
		return -1;
	snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) != 0)
		return -1;
	snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
	if (write_file("/proc/self/gid_map", map) != 0)
		return -1;
	return write_file("/proc/sys/user/max_inotify_watches", "100000");
}

int main(void)
{
	if (own_user_namespace() != 0) {
		printf("SKIP: test_watch_limit: cannot make a user namespace with its own inotify "
		       "limit here (unshare(CLONE_NEWUSER) refused)\n");
		return 77;
	}
	if (fx_mkdtemp(dir, sizeof dir, "watch_limit"))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_and_retry),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	fx_rm_rf(dir);
	return rc;
}
