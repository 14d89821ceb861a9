/* backup_db.c: database servers dumped into the snapshot, as the files /databases/NAME/DB.sql
 * beside the backed-up folders. Each dump streams from its client's pipe into the chunker
 * (bstore_read), never through a copy on disk; its entry is a file like any other, so
 * restore, dump, ls, check and drills treat it as one.
 *
 * A dump that is not whole (the client failed, was killed, or the text lacks its trailer)
 * is left out of the snapshot with a warning: the run is partial. The previous snapshot's
 * good dump is not carried over in its place: it would present an old state of the
 * database under this snapshot's date, and a restore "as of today" would silently lack the
 * day's invoices. The good dump stays in the snapshot that made it, where restore-db finds
 * it (it takes the latest snapshot holding the dump). Chunks already stored of a dump left
 * out stay unreferenced, as those of any file that could not be read, until prune. */
#include "backup/backup_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coffre/dbdump.h"
#include "coffre/tree.h"

/* The metadata of a folder or dump made now: owned by the process, private. */
static void virtual_entry(struct tree_entry *e, const char *name, int type)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	*e = (struct tree_entry){ .name = name, .namelen = strlen(name), .type = (uint8_t)type,
		.mode = type == TREE_DIR ? 0700 : 0600, .uid = getuid(), .gid = getgid(),
		.nlink = 1, .mtime_s = now.tv_sec, .mtime_ns = (uint32_t)now.tv_nsec,
		.ctime_s = now.tv_sec, .ctime_ns = (uint32_t)now.tv_nsec };
}

/* Dumps ${db} into ${q} as ${file} (${path} in the snapshot). Returns 0 (stored, or left
 * out with a warning) or CF_E*. */
static int dump_one(struct run *R, struct dbdump *d, struct dirq *q, const char *db,
	const char *file, const char *path)
{
	struct cf_error derr = { 0 };
	struct tree_entry e;
	char msg[900];
	int fd = -1;
	virtual_entry(&e, file, TREE_FILE);
	if (dbdump_start(d, db, &fd, &derr)) {
		snprintf(msg, sizeof msg, "database '%s' not backed up: %s", db, derr.msg);
		backup_warn(R, path, msg, 0);
		return 0;
	}
	struct pend *pf = btree_dirq_add_file(q, &e);
	if (!pf) {
		close(fd);
		dbdump_finish(d, 1, &derr);
		return cf_error_set(R->err, CF_ENOMEM, "out of memory");
	}
	uint64_t total = 0;
	R->st.current = path;
	R->tap = dbdump_feed;
	R->tap_ctx = d;
	int rc = bstore_read(R, fd, path, 0, pf, &total);
	R->tap = NULL;
	R->tap_ctx = NULL;
	R->st.current = NULL;	/* ${path} is the caller's, freed after this */
	close(fd);	/* a client still writing gets EPIPE */
	/* Whether the entry goes into the tree is settled before it is marked read: only
	 * then may a flush take it. */
	if (rc) {	/* BACKUP_SKIPPED: the pipe failed (warned); or CF_E* */
		dbdump_finish(d, 1, &derr);
		pf->skip = 1;
	} else if (dbdump_finish(d, 0, &derr)) {
		snprintf(msg, sizeof msg, "database '%s' not backed up: %s", db, derr.msg);
		backup_warn(R, path, msg, 0);
		pf->skip = 1;
	} else {
		pf->e.size = total;
		R->st.files_new++;
	}
	pf->reading = 0;
	if (rc && rc != BACKUP_SKIPPED)
		return rc;
	return btree_dirq_flush(R, q);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folder of the server ${src}, with a dump of each of its databases, into ${q}. */
static int dump_server(struct run *R, const struct dbdump_source *src, struct dirq *q)
{
	struct cf_error derr = { 0 };
	struct dbdump *d = NULL;
	char **names = NULL, **files = NULL;
	size_t n = 0;
	char msg[900];
	char *where = util_path("/" DBDUMP_DIR "/%s", src->name);
	if (!where)
		return cf_error_set(R->err, CF_ENOMEM, "out of memory");
	int rc = dbdump_open(src, &d, &derr);
	if (rc == 0)
		rc = dbdump_list(d, 0, &names, &n, &derr);
	if (rc == CF_ENOMEM) {
		rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if (rc) {
		/* Nothing to list: the server's folder is left out. */
		snprintf(msg, sizeof msg, "%s server '%s' not backed up: %s",
			dbdump_kind_name(src->kind), src->name, derr.msg);
		backup_warn(R, where, msg, 0);
		rc = 0;
		goto out;
	}
	/* The files in name order, which may differ from the databases' ("a-b" < "a" DBDUMP_SUFFIX
	 * though "a" < "a-b"). */
	if (!(files = calloc(n ? n : 1, sizeof *files))) {
		rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!(files[i] = util_path("%s" DBDUMP_SUFFIX, names[i]))) {
			rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
			goto out;
		}
	if (n > 1)
		qsort(files, n, sizeof *files, cmp_str);
	struct tree_entry e;
	struct dirq sq;
	virtual_entry(&e, src->name, TREE_DIR);
	if ((rc = btree_dirq_init(R, &sq)) == 0) {
		for (size_t i = 0; rc == 0 && i < n; i++) {
			size_t fl = strlen(files[i]);
			char *db = strndup(files[i], fl - strlen(DBDUMP_SUFFIX));
			char *path = util_path("%s/%s", where, files[i]);
			if (!db || !path)
				rc = cf_error_set(R->err, CF_ENOMEM, "out of memory");
			else if (!dbdump_name_ok(src->kind, db) || !tree_name_ok(files[i], fl))
				backup_warn(R, path, "database left out: its name cannot be a file "
						     "name", 0);
			else
				rc = dump_one(R, d, &sq, db, files[i], path);
			free(db);
			free(path);
			if (rc == 0 && backup_cancelled(R))
				rc = cf_error_set(R->err, CF_EIO, "interrupted");
		}
		if (rc == 0 && (rc = btree_dirq_finish(R, &sq, e.id)) == 0)
			rc = btree_dirq_add(R, q, &e);
	}
	btree_dirq_release(&sq);
out:
	for (size_t i = 0; files && i < n; i++)
		free(files[i]);
	free(files);
	dbdump_names_free(names, n);
	dbdump_free(d);
	free(where);
	return rc;
}

int bdb_add(struct run *R, struct dirq *q)
{
	const struct backup_opts *o = R->o;
	const struct dbdump_source **v;
	struct tree_entry e;
	struct dirq dq;
	int rc;
	R->dbs_done = 1;
	if (!o->ndbs)
		return 0;
	/* The servers' folders in name order. */
	if (!(v = calloc(o->ndbs, sizeof *v)))
		return cf_error_set(R->err, CF_ENOMEM, "out of memory");
	for (size_t i = 0; i < o->ndbs; i++) {
		size_t j = i;
		while (j > 0 && strcmp(v[j - 1]->name, o->dbs[i].name) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = &o->dbs[i];
	}
	virtual_entry(&e, DBDUMP_DIR, TREE_DIR);
	if ((rc = btree_dirq_init(R, &dq)) == 0) {
		for (size_t i = 0; rc == 0 && i < o->ndbs; i++)
			if (i == 0 || strcmp(v[i - 1]->name, v[i]->name) != 0)
				rc = dump_server(R, v[i], &dq);
		if (rc == 0 && (rc = btree_dirq_finish(R, &dq, e.id)) == 0)
			rc = btree_dirq_add(R, q, &e);
	}
	btree_dirq_release(&dq);
	free(v);
	return rc;
}
