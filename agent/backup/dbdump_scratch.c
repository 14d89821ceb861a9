/* dbdump_scratch.c: proving a dump file: its trailer and CREATE TABLE statements read, and
 * a load into a scratch database of its server, counted and dropped. */
#include "coffre/dbdump.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "backup/dbdump_internal.h"
#include "base/util.h"
#include "coffre/error.h"

/* The statements that make a table a load counts (pg_dump: "CREATE TABLE public.t (",
 * "CREATE UNLOGGED TABLE"; mariadb-dump: "CREATE TABLE `t` ("); a line break inside a
 * string is escaped in both dumps, so such a line is a statement. */
static const char *const creates[] = { "CREATE TABLE ", "CREATE UNLOGGED TABLE " };
#define CREATE_MAX 22

static int is_create(const char *p, size_t n)
{
	for (size_t i = 0; i < sizeof creates / sizeof *creates; i++) {
		size_t k = strlen(creates[i]);
		if (n >= k && memcmp(p, creates[i], k) == 0)
			return 1;
	}
	return 0;
}

static void tail_feed(char *tail, size_t *tn, const char *p, size_t n)
{
	if (n >= DBDUMP_TAIL) {
		memcpy(tail, p + n - DBDUMP_TAIL, DBDUMP_TAIL);
		*tn = DBDUMP_TAIL;
		return;
	}
	if (*tn + n > DBDUMP_TAIL) {
		size_t drop = *tn + n - DBDUMP_TAIL;
		memmove(tail, tail + drop, *tn - drop);
		*tn -= drop;
	}
	memcpy(tail + *tn, p, n);
	*tn += n;
}

int dbdump_file_scan(int kind, int fd, unsigned long long *ret_tables)
{
	char b[1 << 16], tail[DBDUMP_TAIL];
	size_t have = 0, tn = 0;
	unsigned long long tables = 0;
	int bol = 1;	/* the next byte starts a line */
	for (;;) {
		ssize_t r = read(fd, b + have, sizeof b - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return CF_EIO;
		tail_feed(tail, &tn, b + have, (size_t)r);
		size_t len = have + (size_t)r, p = 0, keep = len;
		int eof = r == 0;
		while (p < len) {
			if (bol) {
				/* A line's start cut by the buffer's end waits for the rest. */
				if (!eof && len - p < CREATE_MAX) {
					keep = p;
					break;
				}
				tables += (unsigned long long)is_create(b + p, len - p);
			}
			const char *nl = memchr(b + p, '\n', len - p);
			if (!nl) {
				bol = 0;
				break;
			}
			p = (size_t)(nl - b) + 1;
			bol = 1;
		}
		have = len - keep;
		memmove(b, b + keep, have);
		if (eof)
			break;
	}
	*ret_tables = tables;
	if (kind == _DBDUMP_KIND_INVALID)
		return dbdump_trailer_ok(DBDUMP_MARIADB, tail, tn) ||
		       dbdump_trailer_ok(DBDUMP_POSTGRESQL, tail, tn);
	return dbdump_trailer_ok(kind, tail, tn);
}

static int drop(struct dbdump *d, const char *db, struct cf_error *err)
{
	char *q = dbdump_quote_ident(d->src->kind, db), *sql = q ? util_path("DROP DATABASE %s", q) :
									   NULL;
	struct buf out = { 0 };
	int rc = sql ? dbdump_query(d, NULL, sql, "cannot drop the scratch database", &out, err) :
		       cf_error_set(err, CF_ENOMEM, "out of memory");
	buf_free(&out);
	free(sql);
	free(q);
	return rc;
}

/* 1 when ${db} is a scratch database named with ${prefix} ("coffre_drill_TAG_"). */
static int is_scratch(const char *db, const char *prefix)
{
	size_t k = strlen(prefix);
	if (strncmp(db, prefix, k) != 0 || strlen(db + k) != 8)
		return 0;
	return strspn(db + k, "0123456789abcdef") == 8;
}

/* Drops the scratch databases of ${prefix} a killed run left, and picks a free name. */
static int pick_name(struct dbdump *d, const char *prefix, struct dbdump_scratch *ret,
	struct cf_error *err)
{
	char **all = NULL;
	size_t n = 0;
	int rc = dbdump_list(d, 1, &all, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct cf_error e2 = { 0 };
		if (is_scratch(all[i], prefix))
			drop(d, all[i], &e2);
	}
	for (int taken = 1; taken;) {
		uint32_t r = randombytes_random();
		snprintf(ret->name, sizeof ret->name, "%s%08x", prefix, (unsigned)r);
		taken = 0;
		for (size_t i = 0; i < n; i++)
			taken |= strcmp(all[i], ret->name) == 0;
	}
	dbdump_names_free(all, n);
	return 0;
}

/* Loads ${fd} into ${db}: 0, CF_EIO (why in ${err}), CF_ECANCELED or CF_ENOMEM. */
static int load(struct dbdump *d, const char *db, int fd, const volatile int *cancel,
	struct cf_error *err)
{
	struct dbdump_args a = { 0 };
	int rc, stopped = 0;
	dbdump_args_load(d, &a, db);
	if (a.oom) {
		dbdump_args_free(&a);
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	}
	rc = dbproc_spawn(d, a.v, fd, -1, &d->run, err);
	dbdump_args_free(&a);
	if (rc)
		return rc;
	int st = dbproc_wait_cancel(&d->run, cancel, &stopped);
	if (stopped)
		rc = cf_error_set(err, CF_ECANCELED, "stopped on request");
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		rc = dbproc_failure(d, &d->run, st, "the dump does not load", err);
	dbproc_release(&d->run);
	return rc;
}

/* The tables of ${db} (views and sequences aside), into ${*ret}. */
static int count_tables(struct dbdump *d, const char *db, unsigned long long *ret,
	struct cf_error *err)
{
	struct buf out = { 0 };
	char *sql = d->src->kind == DBDUMP_MARIADB ?
		util_path("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
			  "'%s' AND table_type IN ('BASE TABLE', 'SYSTEM VERSIONED')", db) :
		strdup("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
		       "c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN "
		       "('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'");
	if (!sql)
		return cf_error_set(err, CF_ENOMEM, "out of memory");
	int rc = dbdump_query(d, db, sql, "cannot count the tables of the scratch database", &out, err);
	free(sql);
	if (rc == 0) {
		char *end = NULL;
		errno = 0;
		unsigned long long n = strtoull((const char *)out.p, &end, 10);
		if (errno || end == (const char *)out.p || (*end && *end != '\n'))
			rc = cf_error_set(err, CF_EIO, "cannot count the tables of the scratch "
				"database: the server answered '%.40s'", (const char *)out.p);
		else
			*ret = n;
	}
	buf_free(&out);
	return rc;
}

int dbdump_scratch_load(struct dbdump *d, const char *tag, int fd, const volatile int *cancel,
	struct dbdump_scratch *ret, struct cf_error *err)
{
	char prefix[48];
	memset(ret, 0, sizeof *ret);
	if (!tag || strlen(tag) > 16 || strspn(tag, "0123456789abcdefghijklmnopqrstuvwxyz") !=
						  strlen(tag))
		return cf_error_set(err, CF_EUSAGE, "not a scratch database tag");
	if (d->run.pid)
		return cf_error_set(err, CF_EUSAGE, "a client is already under way");
	snprintf(prefix, sizeof prefix, DBDUMP_SCRATCH_PREFIX "%s_", tag);
	int rc = pick_name(d, prefix, ret, err);
	if (rc == 0)
		rc = dbdump_create(d, ret->name, err);
	if (rc) {
		ret->name[0] = 0;
		return rc == CF_ENOMEM ? rc : DBDUMP_NOT_TRIED;
	}
	rc = load(d, ret->name, fd, cancel, err);
	if (rc == 0)
		rc = count_tables(d, ret->name, &ret->tables, err);
	/* Dropped whatever happened, also after a cancel. */
	struct cf_error e2 = { 0 };
	if (drop(d, ret->name, &e2)) {
		ret->drop_failed = 1;
		snprintf(ret->drop_msg, sizeof ret->drop_msg, "%.200s", e2.msg);
	}
	return rc;
}
