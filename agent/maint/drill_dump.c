/* drill_dump.c: a restored database dump proven: its trailer read, then a load into a
 * scratch database of its server (dbdump_scratch_load), when there is one that answers. */
#include "maint/drill_internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "coffre/dbdump.h"
#include "coffre/error.h"

/* The [database NAME] section of the dump /databases/NAME/DB.sql, or NULL. */
static const struct dbdump_source *source_of(const struct drill_opts *o, const char *path)
{
	const char *name = path + strlen("/" DBDUMP_DIR "/"), *slash = strchr(name, '/');
	for (size_t i = 0; slash && o->dbs && i < o->ndbs; i++)
		if (strlen(o->dbs[i].name) == (size_t)(slash - name) &&
		    strncmp(o->dbs[i].name, name, (size_t)(slash - name)) == 0)
			return &o->dbs[i];
	return NULL;
}

static const char *marker(int kind)
{
	return kind == DBDUMP_MARIADB ? "-- Dump completed" :
	       kind == DBDUMP_POSTGRESQL ? "-- PostgreSQL database dump complete" :
					   "-- Dump completed' or '-- PostgreSQL database dump complete";
}

/* Loads the dump ${fd} into a scratch database of ${src}; fills ${dd}. 0 or CF_E*. */
static int try_load(struct drill_report *r, const struct drill_opts *o, const char *tag,
	const struct dbdump_source *src, int fd, struct drill_dump *dd, char *note, size_t cap)
{
	struct dbdump *d = NULL;
	struct dbdump_scratch sc;
	struct cf_error e = { 0 };
	if (dbdump_open(src, &d, &e)) {
		snprintf(note, cap, "no server to load it into: %s", e.msg);
		return e.code == CF_ENOMEM ? CF_ENOMEM : 0;
	}
	uint64_t t0 = util_now_ns();
	int rc = lseek(fd, 0, SEEK_SET) == 0 ? dbdump_scratch_load(d, tag, fd, o->cancel, &sc, &e) :
					       cf_error_sys(&e, CF_EIO, "cannot read it again");
	dd->load_seconds = (double)(util_now_ns() - t0) / 1e9;
	dbdump_free(d);
	if (rc == DBDUMP_NOT_TRIED) {
		snprintf(note, cap, "no server to load it into: %s", e.msg);
		return 0;
	}
	if (rc == CF_ENOMEM || rc == CF_ECANCELED)
		return rc;
	if (sc.drop_failed && drill_warn(r, "the scratch database '%s' of server '%s' could not "
			"be dropped (drop it by hand): %s", sc.name, src->name, sc.drop_msg))
		return CF_ENOMEM;
	if (rc) {
		dd->proof = DRILL_DUMP_FAILED;
		snprintf(note, cap, "%s", e.msg);
		return 0;
	}
	dd->tables = sc.tables;
	if (sc.tables != dd->creates) {
		dd->proof = DRILL_DUMP_FAILED;
		snprintf(note, cap, "loaded into a scratch database of server '%s', which then held "
			"%llu tables where the dump creates %llu", src->name,
			(unsigned long long)sc.tables, (unsigned long long)dd->creates);
		return 0;
	}
	dd->proof = DRILL_DUMP_LOADED;
	return 0;
}

int drill_dump_check(struct drill_report *r, const struct drill_opts *o, const char *tag,
	const char *snapshot, const char *restored, const char *path, int load, char **ret_msg)
{
	const struct dbdump_source *src = source_of(o, path);
	struct drill_dump dd = { .path = (char *)(uintptr_t)path, .proof = DRILL_DUMP_TRAILER };
	char note[600] = "";
	struct stat st = { 0 };
	unsigned long long creates = 0;
	int rc = 0, fd = open(restored, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	snprintf(dd.snapshot, sizeof dd.snapshot, "%s", snapshot);
	int t = fd < 0 || fstat(fd, &st) != 0 ? CF_EIO : dbdump_file_scan(src ? src->kind :
		_DBDUMP_KIND_INVALID, fd, &creates);
	dd.bytes = fd >= 0 ? (uint64_t)st.st_size : 0;
	dd.creates = creates;
	if (t < 0) {
		dd.proof = DRILL_DUMP_FAILED;
		snprintf(note, sizeof note, "cannot read the restored dump");
	} else if (t == 0) {
		dd.proof = DRILL_DUMP_FAILED;
		snprintf(note, sizeof note, "the dump is incomplete: it lacks the final '%s' line",
			marker(src ? src->kind : _DBDUMP_KIND_INVALID));
	} else if (!load) {
		snprintf(note, sizeof note, "an older snapshot's dump: only the latest are loaded");
	} else if (!src) {
		snprintf(note, sizeof note, "no server to load it into: the configuration has no "
			"[database] section of that name");
	} else {
		rc = try_load(r, o, tag, src, fd, &dd, note, sizeof note);
	}
	if (fd >= 0)
		close(fd);
	if (rc)
		return rc;
	dd.note = note;
	if (drill_dump_add(r, &dd))
		return CF_ENOMEM;
	if (dd.proof != DRILL_DUMP_FAILED)
		return 0;
	if (!(*ret_msg = strdup(note)))
		return CF_ENOMEM;
	return 1;
}
