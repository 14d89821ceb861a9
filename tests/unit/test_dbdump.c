/* test_dbdump.c: database dumps: the trailer that says a dump is whole (dbdump_proc.c), a
 * dump file's trailer and CREATE TABLE statements (dbdump_scratch.c), and
 * the [database NAME] sections of the configuration (cfg_db.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coffre/cfg.h"
#include "coffre/dbdump.h"
#include "coffre/error.h"

#include "fixture.h"

static int ok(int kind, const char *s)
{
	return dbdump_trailer_ok(kind, s, strlen(s));
}

static void test_trailer_mariadb(void **state)
{
	(void)state;
	assert_true(ok(DBDUMP_MARIADB, "INSERT 1;\n\n-- Dump completed on 2026-12-03  6:58:34\n"));
	assert_true(ok(DBDUMP_MARIADB, "-- Dump completed\n"));
	/* Cut before the end, in the middle of the marker line, or with more after it. */
	assert_false(ok(DBDUMP_MARIADB, "INSERT INTO `t` VALUES (1,'a'),(2,"));
	assert_false(ok(DBDUMP_MARIADB, "INSERT 1;\n-- Dump completed on 2026"));
	assert_false(ok(DBDUMP_MARIADB, "-- Dump completed on x\nINSERT 2;\n"));
	/* The marker must start a line; the other kind's does not count. */
	assert_false(ok(DBDUMP_MARIADB, "SELECT '-- Dump completed';\n"));
	assert_false(ok(DBDUMP_MARIADB, "--\n-- PostgreSQL database dump complete\n--\n\n"));
	assert_false(ok(DBDUMP_MARIADB, ""));
	assert_false(dbdump_trailer_ok(DBDUMP_MARIADB, NULL, 0));
}

static void test_trailer_postgresql(void **state)
{
	(void)state;
	assert_true(ok(DBDUMP_POSTGRESQL, "COPY ...\n\\.\n\n--\n-- PostgreSQL database dump "
					  "complete\n--\n\n"));
	/* pg_dump since 15.14 ends with \unrestrict KEY. */
	assert_true(ok(DBDUMP_POSTGRESQL, "--\n-- PostgreSQL database dump complete\n--\n\n"
					  "\\unrestrict nFGUCuCRJlSnffKAjhPxKhR7Y6ywiuXOq8gg2\n\n"));
	assert_false(ok(DBDUMP_POSTGRESQL, "COPY public.t (id) FROM stdin;\n1\n2\n"));
	assert_false(ok(DBDUMP_POSTGRESQL, "--\n-- PostgreSQL database dump complete\n--\n"
					   "CREATE TABLE x ();\n"));
	assert_false(ok(DBDUMP_POSTGRESQL, "-- Dump completed on 2026\n"));
	assert_false(ok(-1, "-- Dump completed\n"));
}

/* scan(kind, text, ret_tables): dbdump_file_scan of ${text} written to a memfd. */
static int scan(int kind, const char *text, size_t n, unsigned long long *ret_tables)
{
	int fd = memfd_create("dump", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	int rc = dbdump_file_scan(kind, fd, ret_tables);
	close(fd);
	return rc;
}

static void test_file_scan(void **state)
{
	(void)state;
	unsigned long long t = 99;
	const char *my = "CREATE TABLE `a` (\n  id int\n);\nINSERT INTO `a` VALUES (1,'CREATE "
			 "TABLE x');\n/*!50001 CREATE TABLE `v` (x int) */;\nCREATE TABLE `b` (i int);"
			 "\n-- Dump completed on 2026-12-03\n";
	assert_int_equal(scan(DBDUMP_MARIADB, my, strlen(my), &t), 1);
	assert_int_equal(t, 2);
	assert_int_equal(scan(_DBDUMP_KIND_INVALID, my, strlen(my), &t), 1);
	assert_int_equal(scan(DBDUMP_POSTGRESQL, my, strlen(my), &t), 0);
	/* Cut: no trailer. */
	assert_int_equal(scan(DBDUMP_MARIADB, my, strlen(my) - 20, &t), 0);
	assert_int_equal(scan(DBDUMP_MARIADB, "", 0, &t), 0);
	assert_int_equal(t, 0);
	/* Statements at every offset around the reads' 64 KiB boundaries are all counted. */
	size_t cap = 1u << 20, o = 0;
	char *big = malloc(cap);
	assert_non_null(big);
	unsigned long long want = 0;
	for (int i = 0; o < cap - 4096; i++) {
		int pad = i % 97;
		o += (size_t)sprintf(big + o, "COPY x;%*s\n", pad, "");
		o += (size_t)sprintf(big + o, i % 2 ? "CREATE TABLE public.t%d (\n" :
						      "CREATE UNLOGGED TABLE public.u%d (\n", i);
		want++;
	}
	o += (size_t)sprintf(big + o, "--\n-- PostgreSQL database dump complete\n--\n\n");
	assert_int_equal(scan(DBDUMP_POSTGRESQL, big, o, &t), 1);
	assert_int_equal(t, want);
	assert_int_equal(scan(_DBDUMP_KIND_INVALID, big, o, &t), 1);
	free(big);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(dbdump_name_ok(DBDUMP_MARIADB, "shop"));
	assert_true(dbdump_name_ok(DBDUMP_MARIADB, "dolibarr_2026"));
	assert_true(dbdump_name_ok(DBDUMP_MARIADB, "a=b"));
	assert_false(dbdump_name_ok(DBDUMP_POSTGRESQL, "a=b"));	/* a connection string */
	assert_false(dbdump_name_ok(DBDUMP_MARIADB, "-x"));	/* an option */
	assert_false(dbdump_name_ok(DBDUMP_MARIADB, "a/b"));
	assert_false(dbdump_name_ok(DBDUMP_MARIADB, ".."));
	assert_false(dbdump_name_ok(DBDUMP_MARIADB, "a\nb"));
	assert_false(dbdump_name_ok(DBDUMP_MARIADB, ""));
	assert_int_equal(dbdump_kind_parse("mariadb"), DBDUMP_MARIADB);
	assert_int_equal(dbdump_kind_parse("postgresql"), DBDUMP_POSTGRESQL);
	assert_int_equal(dbdump_kind_parse("oracle"), _DBDUMP_KIND_INVALID);
}

static char dir[256], pw[300], dbpw[300];

static int setup(void **state)
{
	(void)state;
	if (fx_mkdtemp(dir, sizeof dir, "dbdump"))
		return -1;
	snprintf(pw, sizeof pw, "%s/password", dir);
	snprintf(dbpw, sizeof dbpw, "%s/dbpassword", dir);
	FILE *f = fopen(pw, "w"), *g = fopen(dbpw, "w");
	if (!f || !g)
		return -1;
	fputs("secret\n", f);
	fputs("dbsecret\n", g);
	fclose(f);
	fclose(g);
	chmod(pw, 0600);
	chmod(dbpw, 0600);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_rm_rf(dir);
	return 0;
}

/* Parses [backup] plus ${sections}; returns the code, the problems in ${*problems}. */
static int parse(const char *sections, struct cfg **c, char **problems)
{
	char text[4096];
	struct cf_error err = { 0 };
	snprintf(text, sizeof text, "[backup]\npath = %s\nrepository = %s/repo\n"
		"password-file = %s\n%s", dir, dir, pw, sections);
	*c = NULL;
	*problems = NULL;
	return cfg_parse(text, strlen(text), "t.conf", c, problems, &err);
}

static void test_cfg_sections(void **state)
{
	(void)state;
	struct cfg *c;
	char *p, text[1024];
	snprintf(text, sizeof text, "[database shop]\nkind = mariadb\nsocket = /run/mysqld/s\n"
		"user = backup\npassword-file = %s\ndatabases = dolibarr  compta\n"
		"[database pg]\nkind = postgresql\nhost = db.local\nport = 5433\n"
		"client-dir = /opt/pg/bin\n", dbpw);
	assert_int_equal(parse(text, &c, &p), 0);
	assert_int_equal(c->ndbs, 2);
	const struct dbdump_source *s = &c->dbs[0];
	assert_string_equal(s->name, "shop");
	assert_int_equal(s->kind, DBDUMP_MARIADB);
	assert_string_equal(s->socket, "/run/mysqld/s");
	assert_string_equal(s->user, "backup");
	assert_string_equal(s->password_file, dbpw);
	assert_int_equal(s->ndatabases, 2);
	assert_string_equal(s->databases[0], "dolibarr");
	assert_string_equal(s->databases[1], "compta");
	assert_null(s->client_dir);
	s = &c->dbs[1];
	assert_int_equal(s->kind, DBDUMP_POSTGRESQL);
	assert_string_equal(s->host, "db.local");
	assert_int_equal(s->port, 5433);
	assert_string_equal(s->client_dir, "/opt/pg/bin");
	assert_null(s->databases);	/* all but the server's own */
	assert_null(s->password_file);	/* peer authentication */
	cfg_free(c);
}

static void test_cfg_problems(void **state)
{
	(void)state;
	struct cfg *c;
	char *p;
	const struct {
		const char *text, *said;
	} bad[] = {
		{ "[database x]\nsocket = /s\n", "has no 'kind'" },
		{ "[database x]\nkind = oracle\n", "kind must be mariadb or postgresql" },
		{ "[database x]\nkind = mariadb\nsocket = /s\nhost = h\n", "not both" },
		{ "[database x]\nkind = mariadb\nport = 99999\n", "port must be" },
		{ "[database x]\nkind = mariadb\nsocket = rel/s\n", "not an absolute path" },
		{ "[database x]\nkind = mariadb\ndatabases = ok -opt\n", "'-opt' is not" },
		{ "[database x]\nkind = mariadb\ncolour = blue\n", "unknown key 'colour'" },
		{ "[database a/b]\nkind = mariadb\n", "is not valid" },
		{ "[database ..]\nkind = mariadb\n", "is not valid" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(parse(bad[i].text, &c, &p), CF_EUSAGE);
		assert_non_null(p);
		if (!strstr(p, bad[i].said))
			fail_msg("'%s': expected '%s' in: %s", bad[i].text, bad[i].said, p);
		free(p);
	}
	/* A password file others may read is refused, as the repository's. */
	chmod(dbpw, 0644);
	char text[512];
	snprintf(text, sizeof text, "[database x]\nkind = mariadb\npassword-file = %s\n", dbpw);
	assert_int_equal(parse(text, &c, &p), CF_EUSAGE);
	assert_non_null(strstr(p, "chmod 600"));
	free(p);
	chmod(dbpw, 0600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trailer_mariadb),
		cmocka_unit_test(test_trailer_postgresql),
		cmocka_unit_test(test_file_scan),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_cfg_sections),
		cmocka_unit_test(test_cfg_problems),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
