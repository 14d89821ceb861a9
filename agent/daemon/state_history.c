/* state_history.c: the daemon's run history, a table in SQLite: appended after each run,
 * read back for `coffre log`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "coffre/error.h"
#include "coffre/state.h"
#include "base/util.h"
#include "daemon/state_internal.h"

char *state_history_path(const char *state_dir)
{
	return util_path("%s/history.db", state_dir);
}

static const char history_schema[] = "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, "
	"start INTEGER, duration REAL, result TEXT, snapshot TEXT, files INTEGER, "
	"bytes_read INTEGER, bytes_added INTEGER, entries INTEGER, dirs_reused INTEGER, "
	"full_scan INTEGER, message TEXT)";

static int history_open(const char *path, int flags, sqlite3 **ret, struct cf_error *err)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		int rc = cf_error_set(err, db ? CF_EIO : CF_ENOMEM, "%s",
			db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, 2000);
	*ret = db;
	return 0;
}

int state_history_append(const char *path, const struct state_run *r, struct cf_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *emsg = NULL;
	int rc = history_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db, err);
	if (rc)
		return rc;
	if (sqlite3_exec(db, history_schema, NULL, NULL, &emsg) != SQLITE_OK) {
		rc = cf_error_set(err, CF_ECORRUPT, "%s", emsg ? emsg : "?");
		sqlite3_free(emsg);
		goto out;
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO runs (start, duration, result, snapshot, files, "
		"bytes_read, bytes_added, entries, dirs_reused, full_scan, message) "
		"VALUES (?,?,?,?,?,?,?,?,?,?,?)", -1, &s, NULL) != SQLITE_OK) {
		rc = cf_error_set(err, CF_ECORRUPT, "%s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_int64(s, 1, r->start);
	sqlite3_bind_double(s, 2, r->duration);
	sqlite3_bind_text(s, 3, r->result, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 4, r->snapshot, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s, 5, (sqlite3_int64)r->files);
	sqlite3_bind_int64(s, 6, (sqlite3_int64)r->bytes_read);
	sqlite3_bind_int64(s, 7, (sqlite3_int64)r->bytes_added);
	sqlite3_bind_int64(s, 8, (sqlite3_int64)r->entries);
	sqlite3_bind_int64(s, 9, (sqlite3_int64)r->dirs_reused);
	sqlite3_bind_int(s, 10, r->full_scan);
	sqlite3_bind_text(s, 11, r->error, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = cf_error_set(err, CF_ECORRUPT, "%s", sqlite3_errmsg(db));
	/* Keep the history small, even when this row could not be added. */
	sqlite3_exec(db, "DELETE FROM runs WHERE id <= (SELECT max(id) FROM runs) - 1000",
		NULL, NULL, NULL);
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

static void column_str(sqlite3_stmt *s, int i, char *out, size_t n)
{
	const char *v = (const char *)sqlite3_column_text(s, i);
	snprintf(out, n, "%s", v ? v : "");
}

int state_history_read(const char *path, size_t limit, struct state_history_row **ret_rows,
	size_t *ret_n, struct cf_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	struct state_history_row *v = NULL;
	size_t n = 0, cap = 0;
	int rc = history_open(path, SQLITE_OPEN_READONLY, &db, err);
	if (rc)
		return rc;
	if (sqlite3_prepare_v2(db, "SELECT start, duration, result, snapshot, files, bytes_read, "
		"bytes_added, entries, dirs_reused, full_scan, message FROM (SELECT * FROM runs "
		"ORDER BY id DESC LIMIT ?) ORDER BY start, id", -1, &s, NULL) != SQLITE_OK) {
		rc = cf_error_set(err, CF_ECORRUPT, "%s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_int64(s, 1, limit > INT64_MAX ? INT64_MAX : (sqlite3_int64)limit);
	/* A row that cannot be read (a lock held past the timeout) ends the list. */
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (n == cap) {
			size_t c = cap ? cap * 2 : 32;
			struct state_history_row *nv = realloc(v, c * sizeof *v);
			if (!nv) {
				rc = cf_error_set(err, CF_ENOMEM, "out of memory");
				goto out;
			}
			v = nv;
			cap = c;
		}
		struct state_history_row *r = &v[n++];
		r->start = (time_t)sqlite3_column_int64(s, 0);
		r->duration = sqlite3_column_double(s, 1);
		column_str(s, 2, r->result, sizeof r->result);
		column_str(s, 3, r->snapshot, sizeof r->snapshot);
		r->files = (uint64_t)sqlite3_column_int64(s, 4);
		r->bytes_read = (uint64_t)sqlite3_column_int64(s, 5);
		r->bytes_added = (uint64_t)sqlite3_column_int64(s, 6);
		r->entries = (uint64_t)sqlite3_column_int64(s, 7);
		r->dirs_reused = (uint64_t)sqlite3_column_int64(s, 8);
		r->full_scan = sqlite3_column_int(s, 9);
		column_str(s, 10, r->message, sizeof r->message);
	}
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	if (rc) {
		free(v);
		return rc;
	}
	*ret_rows = v;
	*ret_n = n;
	return 0;
}

int state_history_format(const struct state_history_row *rows, size_t n, char **ret_text,
	struct cf_error *err)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct state_history_row *r = &rows[i];
		json_t *o = json_object();
		json_object_set_new(o, "start", json_integer(r->start));
		json_object_set_new(o, "duration", json_real(r->duration));
		json_object_set_new(o, "result", json_string(r->result));
		json_object_set_new(o, "snapshot", state_jstr(r->snapshot));
		json_object_set_new(o, "files", state_ju64(r->files));
		json_object_set_new(o, "bytes_read", state_ju64(r->bytes_read));
		json_object_set_new(o, "bytes_added", state_ju64(r->bytes_added));
		json_object_set_new(o, "entries", state_ju64(r->entries));
		json_object_set_new(o, "dirs_reused", state_ju64(r->dirs_reused));
		json_object_set_new(o, "full_scan", json_boolean(r->full_scan));
		json_object_set_new(o, "message", state_jstr(r->message));
		json_array_append_new(arr, o);
	}
	return state_jdump(arr, JSON_INDENT(2), ret_text, err);
}
