/* backup.c: one backup run. The run is set up (the paths, the lock, the index, the packer,
 * the parent snapshot), the folders are walked into trees (scan.c), everything stored is
 * made durable, and the snapshot is written last: it is the commit point. */
#include "coffre/backup.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "backup/backup_internal.h"
#include "coffre/blob.h"
#include "coffre/dst.h"
#include "coffre/error.h"
#include "coffre/packer.h"
#include "coffre/snap.h"
#include "store/repo_internal.h"

/* ---- the paths ---- */

/* The absolute form of ${p}, lexically cleaned up (malloc'd), or NULL. */
static char *clean_abs(const char *p)
{
	char *cwd = NULL, *joined;
	if (p[0] != '/') {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			return NULL;
		joined = util_path("%s/%s", cwd, p);
		free(cwd);
	} else {
		joined = strdup(p);
	}
	if (!joined)
		return NULL;
	/* Lexical clean-up: collapse "//", "." and "..". */
	char *out = malloc(strlen(joined) + 2);
	size_t o = 0;
	if (!out) {
		free(joined);
		return NULL;
	}
	char *save = NULL;
	for (char *t = strtok_r(joined, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (strcmp(t, ".") == 0)
			continue;
		if (strcmp(t, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, t, strlen(t));
		o += strlen(t);
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	free(joined);
	return out;
}

static int cmp_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Puts the caller's paths into ${paths} (room for all of them), absolute and cleaned up,
 * sorted, without duplicates or paths inside another given path; ${*np} counts those held
 * (to be freed) whatever the result. Returns 0, CF_EUSAGE (a path does not exist) or
 * CF_ENOMEM. */
static int run_paths(const struct backup_opts *o, char **paths, size_t *np,
	struct cf_error *err)
{
	for (size_t i = 0; i < o->npaths; i++) {
		char *p = clean_abs(o->paths[i]);
		struct stat st;
		if (!p)
			return cf_error_set(err, CF_ENOMEM, "out of memory");
		if (lstat(p, &st) != 0) {
			int rc = cf_error_sys(err, CF_EUSAGE, "cannot back up '%s'", o->paths[i]);
			free(p);
			return rc;
		}
		paths[(*np)++] = p;
	}
	qsort(paths, *np, sizeof *paths, cmp_paths);
	size_t m = 0;
	for (size_t i = 0; i < *np; i++) {
		if (m > 0 && backup_under(paths[i], paths[m - 1])) {
			free(paths[i]);
			continue;
		}
		paths[m++] = paths[i];
	}
	*np = m;
	return 0;
}

/* ---- the snapshot ---- */

/* The run's summary as the snapshot records it (malloc'd JSON), or NULL when out of memory. */
static char *summary_json(const struct backup_stats *st)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	int bad = 0;
	bad |= json_object_set_new(o, "files_new", json_integer((json_int_t)st->files_new));
	bad |= json_object_set_new(o, "files_changed", json_integer((json_int_t)st->files_changed));
	bad |= json_object_set_new(o, "files_unchanged",
		json_integer((json_int_t)st->files_unchanged));
	bad |= json_object_set_new(o, "dirs", json_integer((json_int_t)st->dirs));
	bad |= json_object_set_new(o, "bytes_read", json_integer((json_int_t)st->bytes_read));
	bad |= json_object_set_new(o, "bytes_added", json_integer((json_int_t)st->bytes_added));
	bad |= json_object_set_new(o, "bytes_stored", json_integer((json_int_t)st->bytes_stored));
	bad |= json_object_set_new(o, "warnings", json_integer((json_int_t)st->warnings));
	bad |= json_object_set_new(o, "duration", json_real(st->duration));
	char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return s;
}

/* Writes the snapshot of the tree R->st built into ${s} (its tree set), made by ${host} of
 * ${paths}, with the caller's tags. Returns 0 with ${s}->id set, or CF_E*. */
static int commit_snapshot(struct run *R, struct snap *s, char *host, char **paths, size_t np,
	const struct snap *parent, uint64_t written0)
{
	const struct backup_opts *o = R->o;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	s->time = now.tv_sec;
	s->time_ns = (uint32_t)now.tv_nsec;
	s->hostname = host;
	struct passwd *pw = getpwuid(getuid());
	s->username = pw ? pw->pw_name : (char *)"";
	s->paths = paths;
	s->npaths = np;
	/* snap_write only reads the tags: share the caller's strings. */
	char **tags = calloc(o->ntags ? o->ntags : 1, sizeof *tags);
	if (!tags)
		return cf_error_set(R->err, CF_ENOMEM, "out of memory");
	if (o->ntags)
		memcpy(tags, o->tags, o->ntags * sizeof *tags);
	s->tags = tags;
	s->ntags = o->ntags;
	if (parent) {
		s->has_parent = 1;
		memcpy(s->parent, parent->id, 32);
	}
	R->st.duration = (double)(util_now_ns() - R->t0) / 1e9;
	R->st.bytes_stored = R->r->bytes_written - written0;
	int rc;
	s->summary = summary_json(&R->st);
	if (!s->summary)
		rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
	else
		rc = snap_write(R->r, s, R->err);
	free(s->summary);
	s->summary = NULL;
	s->tags = NULL;
	free(tags);
	return rc;
}

int backup_run(struct repo *r, const struct backup_opts *o, struct backup_stats *ret_stats,
	uint8_t ret_snap[32], uint8_t ret_parent[32], int *ret_has_parent, struct cf_error *err)
{
	struct run R = { .r = r, .o = o, .err = err };
	struct snap s = { 0 };
	struct snap **list = NULL;
	size_t nlist = 0;
	char **paths = NULL;
	size_t np = 0;
	char host[256] = "";
	int rc;
	R.t0 = util_now_ns();
	uint64_t written0 = r->bytes_written;
	if (o->npaths == 0)
		return cf_error_set(err, CF_EUSAGE, "nothing to back up");
	if (!(paths = calloc(o->npaths, sizeof *paths))) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = bstore_init(&R)) || (rc = run_paths(o, paths, &np, err)))
		goto out;
	if ((rc = repo_lock(r, 0, err)))
		goto out;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if ((rc = blobidx_open(r, &R.x, err)) || (rc = blob_reader_new(r, R.x, &R.br, err)) ||
	    (rc = packer_new(r, cpus > 1 ? (int)(cpus < 4 ? cpus : 4) : 1, &R.pk, err)))
		goto out;
	packer_set_claim(R.pk, bstore_claim, R.x);
	if (o->hostname)
		snprintf(host, sizeof host, "%s", o->hostname);
	else
		gethostname(host, sizeof host - 1);
	if ((rc = snap_list(r, &list, &nlist, NULL, err)))
		goto out;
	const struct snap *parent = bparent_pick(list, nlist, host, paths, np);
	if (parent && !bparent_same_paths(parent, paths, np)) {
		R.parent_paths = parent->paths;
		R.parent_npaths = parent->npaths;
	}
	if ((rc = scan_root(&R, paths, np, parent ? parent->tree : NULL, s.tree)))
		goto out;
	/* The snapshot is the commit point: everything it names is durable by now. */
	if ((rc = bstore_finish(&R)) ||
	    (rc = commit_snapshot(&R, &s, host, paths, np, parent, written0)))
		goto out;
	R.st.bytes_stored = r->bytes_written - written0;
	R.st.duration = (double)(util_now_ns() - R.t0) / 1e9;
	memcpy(ret_snap, s.id, 32);
	*ret_has_parent = parent != NULL;
	if (parent)
		memcpy(ret_parent, parent->id, 32);
	else
		memset(ret_parent, 0, 32);
	rc = R.st.warnings ? CF_EPARTIAL : 0;
out:
	R.st.current = NULL;
	if (ret_stats)
		*ret_stats = R.st;
	bstore_release(&R);
	packer_free(R.pk);
	blob_reader_free(R.br);
	blobidx_free(R.x);
	repo_unlock(r);
	snap_list_free(list, nlist);
	for (size_t i = 0; i < np; i++)
		free(paths[i]);
	free(paths);
	return rc;
}
