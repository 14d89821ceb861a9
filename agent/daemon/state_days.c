/* state_days.c: the history by day, a table of history.db beside the runs: a row per local
 * day, bounded to STATE_DAYS_KEPT, for the status page's chart of the last 30 days (the runs
 * table keeps a number of runs, which frequent backups would spread over a few days only). */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "coffre/error.h"
#include "coffre/state.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static const char days_schema[] = "CREATE TABLE IF NOT EXISTS days (day INTEGER PRIMARY KEY, "
	"backups INTEGER NOT NULL, failed INTEGER NOT NULL, bytes_added INTEGER NOT NULL)";

/* Local midnight of the day of ${t}. */
static time_t day_start(time_t t)
{
	struct tm tm;
	localtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

/* The day ${k} days after the one starting at ${day} (a day is not always 86400 s). */
static time_t day_add(time_t day, int k)
{
	struct tm tm;
	localtime_r(&day, &tm);
	tm.tm_mday += k;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

static int db_error(sqlite3 *db, struct cf_error *err)
{
	return cf_error_set(err, CF_ECORRUPT, "%s", db ? sqlite3_errmsg(db) : "out of memory");
}

int state_days_add(const char *path, const struct state_run *r, struct cf_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)) {
		rc = cf_error_set(err, db ? CF_EIO : CF_ENOMEM, "%s",
			db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 2000);
	int ok = r->snapshot[0] && (strcmp(r->result, "ok") == 0 ||
		strcmp(r->result, "partial") == 0);
	time_t day = day_start(r->start);
	if (sqlite3_exec(db, days_schema, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO days (day, backups, failed, bytes_added) "
		"VALUES (?1, ?2, ?3, ?4) ON CONFLICT(day) DO UPDATE SET "
		"backups = backups + ?2, failed = failed + ?3, bytes_added = bytes_added + ?4",
		-1, &s, NULL) != SQLITE_OK) {
		rc = db_error(db, err);
		goto out;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)day);
	sqlite3_bind_int(s, 2, ok);
	sqlite3_bind_int(s, 3, !ok && strcmp(r->result, "failed") == 0);
	sqlite3_bind_int64(s, 4, ok ? (sqlite3_int64)r->bytes_added : 0);
	if (sqlite3_step(s) != SQLITE_DONE)
		rc = db_error(db, err);
	/* Bounded: only the last STATE_DAYS_KEPT days stay. */
	sqlite3_exec(db, "DELETE FROM days WHERE day NOT IN (SELECT day FROM days ORDER BY "
		"day DESC LIMIT " STR(STATE_DAYS_KEPT) ")", NULL, NULL, NULL);
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

int state_days_read(const char *path, time_t now, size_t n, struct state_day *ret,
	struct cf_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int rc = 0;
	time_t last = day_start(now);
	for (size_t i = 0; i < n; i++)
		ret[i] = (struct state_day){ .day = day_add(last, (int)i - (int)(n - 1)) };
	if (n == 0)
		return 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return 0;	/* no history yet */
	}
	sqlite3_busy_timeout(db, 2000);
	if (sqlite3_prepare_v2(db, "SELECT day, backups, failed, bytes_added FROM days WHERE "
		"day >= ? AND day <= ?", -1, &s, NULL) != SQLITE_OK) {
		/* A history made before the days were kept: nothing to show yet. */
		if (!strstr(sqlite3_errmsg(db), "no such table"))
			rc = db_error(db, err);
		goto out;
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)ret[0].day);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)last);
	while (sqlite3_step(s) == SQLITE_ROW) {
		time_t day = (time_t)sqlite3_column_int64(s, 0);
		for (size_t i = 0; i < n; i++)
			if (ret[i].day == day) {
				ret[i].backups = (uint64_t)sqlite3_column_int64(s, 1);
				ret[i].failed = (uint64_t)sqlite3_column_int64(s, 2);
				ret[i].bytes_added = (uint64_t)sqlite3_column_int64(s, 3);
			}
	}
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}
