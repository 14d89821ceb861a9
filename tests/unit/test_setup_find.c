/* test_setup_find.c: what coffre setup finds (cli/setup_find.c) and writes (cli/setup_conf.c)
 * on a machine made in a temporary folder: users' folders, Samba shares, Dolibarr's
 * documents, and hostile files (symlinked, huge, odd values) that must yield nothing wrong. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "setup.h"
#include "coffre/cfg.h"
#include "coffre/dbdump.h"
#include "coffre/error.h"

#include "fixture.h"

static char dir[256];

static void mk(const char *rel)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	char *s = p + strlen(dir) + 1;
	for (char *c = s; *c; c++) {
		if (*c == '/') {
			*c = 0;
			mkdir(p, 0755);
			*c = '/';
		}
	}
	mkdir(p, 0755);
}

/* ${rel} under the test's folder, into ${out}. */
static const char *at(char out[512], const char *rel)
{
	snprintf(out, 512, "%s/%s", dir, rel);
	return out;
}

#define put(rel, ...) fx_write(at((char[512]){ 0 }, rel), __VA_ARGS__)

/* The folders found on the machine made under ${rel}. */
static void find_all(const char *rel, const char *smb_conf, struct setup_folders *l)
{
	char root[512];
	struct setup_where w = { .root = at(root, rel), .smb_conf = smb_conf };
	assert_int_equal(setup_find_folders(&w, l), 0);
}

static int setup(void **state)
{
	(void)state;
	if (fx_mkdtemp(dir, sizeof dir, "setup"))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fx_rm_rf(dir);
	return 0;
}

/* The index of the folder ending in ${suffix}, or -1. */
static int find(const struct setup_folders *l, const char *suffix)
{
	for (size_t i = 0; i < l->n; i++) {
		size_t a = strlen(l->v[i].path), b = strlen(suffix);
		if (a >= b && strcmp(l->v[i].path + a - b, suffix) == 0)
			return (int)i;
	}
	return -1;
}

static void finds_users_shares_and_dolibarr(void **state)
{
	(void)state;
	mk("r/home/alice/Documents/devis");
	mk("r/home/bob/Bureau");
	mk("r/home/bob/Musique");
	mk("r/root/Desktop");
	mk("share");
	mk("doli");
	mk("r/etc/samba");
	mk("r/var/www/erp/htdocs/conf");
	put("r/home/alice/Documents/devis/d1.txt", "0123456789");
	put("r/home/alice/Documents/f.txt", "abc");
	put("r/etc/samba/smb.conf",
		"[global]\n   path = %s/share\n[homes]\n   path = %s/r/home\n"
		"[compta]\n   comment = x\n   path = %s/share\n[printers]\n   path = %s/doli\n"
		"[perso]\n   path = /home/%%U\n",
		dir, dir, dir, dir);
	put("r/var/www/erp/htdocs/conf/conf.php",
		"<?php\n$dolibarr_main_data_root_x='/nope';\n$dolibarr_main_data_root = \"%s/doli\";\n",
		dir);
	struct setup_folders l = { 0 };
	find_all("r", NULL, &l);
	assert_int_equal(l.n, 5);
	int a = find(&l, "/home/alice/Documents");
	assert_true(a >= 0);
	assert_int_equal(l.v[a].why, SETUP_DOCUMENTS);
	assert_string_equal(l.v[a].owner, "alice");
	assert_int_equal(l.v[a].bytes, 13);
	assert_int_equal(l.v[a].files, 2);
	assert_true(l.v[a].ticked);
	assert_true(find(&l, "/home/bob/Bureau") >= 0);
	assert_true(find(&l, "/root/Desktop") >= 0);
	assert_int_equal(find(&l, "/home/bob/Musique"), -1);
	int s = find(&l, "/share");
	assert_true(s >= 0);
	assert_int_equal(l.v[s].why, SETUP_SAMBA);
	assert_string_equal(l.v[s].owner, "compta");
	int d = find(&l, "/doli");
	assert_true(d >= 0);
	assert_int_equal(l.v[d].why, SETUP_DOLIBARR);
	setup_folders_release(&l);
}

static void nested_folders_are_listed_once(void **state)
{
	(void)state;
	mk("n/a/b");
	char a[300], b[300];
	snprintf(a, sizeof a, "%s/n/a", dir);
	snprintf(b, sizeof b, "%s/n/a/b", dir);
	struct setup_folders l = { 0 };
	assert_int_equal(setup_folders_add(&l, b, SETUP_GIVEN, NULL), 1);
	assert_int_equal(setup_folders_add(&l, b, SETUP_GIVEN, NULL), 0);
	assert_int_equal(setup_folders_add(&l, a, SETUP_GIVEN, NULL), 1);
	assert_int_equal(l.n, 1);
	assert_int_equal(find(&l, "/n/a"), 0);
	assert_int_equal(setup_folders_add(&l, b, SETUP_GIVEN, NULL), 0);
	assert_int_equal(setup_folders_add(&l, "relative", SETUP_GIVEN, NULL), 0);
	assert_int_equal(setup_folders_add(&l, "/nonexistent-coffre", SETUP_GIVEN, NULL), 0);
	setup_folders_release(&l);
}

/* Files that are not what they should be give nothing, and no crash. */
static void hostile_files_give_nothing(void **state)
{
	(void)state;
	mk("h/etc/samba");
	mk("h/etc/dolibarr");
	mk("h/usr/share/dolibarr/htdocs/conf");
	mk("h/var/www/a/htdocs/conf");
	mk("secret");
	mk("odd;dir");
	/* A symlinked smb.conf (its last component) is not followed. */
	put("real.conf", "[s]\npath = %s/secret\n", dir);
	char from[512], to[512];
	snprintf(from, sizeof from, "%s/real.conf", dir);
	snprintf(to, sizeof to, "%s/h/etc/samba/smb.conf", dir);
	assert_int_equal(symlink(from, to), 0);
	/* conf.php: unterminated, relative, a value the configuration cannot hold, too big. */
	put("h/etc/dolibarr/conf.php", "$dolibarr_main_data_root = '%s/secret", dir);
	put("h/usr/share/dolibarr/htdocs/conf/conf.php", "$dolibarr_main_data_root='secret';\n"
		"$dolibarr_main_data_root='%s/odd;dir';\n$dolibarr_main_data_root=;\n"
		"$dolibarr_main_data_root", dir);
	char big[512];
	snprintf(big, sizeof big, "%s/h/var/www/a/htdocs/conf/conf.php", dir);
	FILE *f = fopen(big, "w");
	assert_non_null(f);
	fprintf(f, "$dolibarr_main_data_root='%s/secret';\n", dir);
	assert_int_equal(fseek(f, 2 << 20, SEEK_SET), 0);
	fputc('\n', f);
	fclose(f);
	struct setup_folders l = { 0 };
	find_all("h", NULL, &l);
	assert_int_equal(l.n, 0);
	/* An smb.conf of long lines and binary bytes: read, nothing found. */
	char *junk = malloc(70000);
	assert_non_null(junk);
	for (size_t i = 0; i < 69999; i++)
		junk[i] = (char)(i % 7 == 0 ? '\n' : i % 5 == 0 ? '[' : (int)(i * 31 % 256) | 1);
	junk[69999] = 0;
	put("junk.conf", "%s\n[x]\npath = %s/odd;dir\n", junk, dir);
	free(junk);
	char junkf[512];
	find_all("h", at(junkf, "junk.conf"), &l);
	assert_int_equal(l.n, 0);
	setup_folders_release(&l);
}

/* What setup writes is a configuration coffred accepts, and its modes are kept. */
static void written_config_loads(void **state)
{
	(void)state;
	mk("c/docs");
	mk("c/etc");
	char docs[300], conf[300], pw[300], spool[300];
	snprintf(docs, sizeof docs, "%s/c/docs", dir);
	snprintf(conf, sizeof conf, "%s/c/etc/coffre.conf", dir);
	snprintf(pw, sizeof pw, "%s/c/etc/password", dir);
	snprintf(spool, sizeof spool, "%s/c/spool", dir);
	const char *paths[] = { docs };
	char dbpw[300];
	snprintf(dbpw, sizeof dbpw, "%s/c/etc/database-dolibarr.password", dir);
	struct setup_db dbs[] = { { .name = "dolibarr", .kind = DBDUMP_MARIADB,
		.socket = "/run/mysqld/mysqld.sock", .user = "doli", .database = "dolibarr",
		.from = "/etc/dolibarr/conf.php", .password_file = dbpw, .ticked = 1 },
		{ .name = "dolibarr-2", .kind = DBDUMP_POSTGRESQL, .host = "db.example", .port = 5433,
		.database = "erp", .from = "/var/www/b/htdocs/conf/conf.php", .ticked = 0 },
		{ .name = "mariadb", .kind = DBDUMP_MARIADB, .socket = "/run/mysqld/mysqld.sock",
		.list = "shop", .ticked = 1 } };
	struct setup_conf c = { .paths = paths, .npaths = 1, .spool = spool, .password_file = pw,
		.drive_url = "usb:KINGSTON", .drive_name = "KINGSTON (32 GB)", .dbs = dbs,
		.ndbs = 3 };
	char *text = setup_conf_text(&c);
	assert_non_null(text);
	char *more = setup_conf_dest(text, "drive-2", "/mnt/second/coffre", "second");
	assert_non_null(more);
	assert_int_equal(setup_write_file(pw, "pw\n", 0600, NULL), 0);
	assert_int_equal(setup_write_file(dbpw, "db pw\n", 0600, NULL), 0);
	assert_int_equal(setup_write_file(conf, more, 0640, "no-such-group-coffre"), 0);
	struct stat st;
	assert_int_equal(stat(conf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(stat(pw, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	struct cfg *cfg = NULL;
	char *problems = NULL;
	struct cf_error err = { 0 };
	int rc = cfg_load(conf, &cfg, &problems, &err);
	if (rc && problems)
		fprintf(stderr, "%s", problems);
	assert_int_equal(rc, 0);
	assert_int_equal(cfg->npaths, 1);
	assert_int_equal(cfg->ndests, 2);
	assert_string_equal(cfg->dests[0].url, "usb:KINGSTON");
	assert_string_equal(cfg->dests[1].name, "drive-2");
	assert_int_equal(cfg->ndbs, 2);	/* the unticked one is left out */
	assert_string_equal(cfg->dbs[1].name, "mariadb");
	assert_int_equal(cfg->dbs[1].ndatabases, 0);	/* every database */
	assert_null(cfg->dbs[1].user);
	assert_null(cfg->dbs[1].password_file);
	assert_string_equal(cfg->dbs[0].name, "dolibarr");
	assert_int_equal(cfg->dbs[0].kind, DBDUMP_MARIADB);
	assert_string_equal(cfg->dbs[0].socket, "/run/mysqld/mysqld.sock");
	assert_string_equal(cfg->dbs[0].user, "doli");
	assert_string_equal(cfg->dbs[0].password_file, dbpw);
	assert_int_equal(cfg->dbs[0].ndatabases, 1);
	assert_string_equal(cfg->dbs[0].databases[0], "dolibarr");
	cfg_free(cfg);
	free(problems);
	free(text);
	free(more);
	assert_false(setup_path_ok("relative"));
	assert_false(setup_path_ok("/a;b"));
	assert_false(setup_path_ok("/a\nb"));
	assert_false(setup_path_ok("/a "));
	assert_true(setup_path_ok("/srv/Données partagées"));
}

/* Dolibarr's database from conf.php: plain literals only, the last one of each key. */
static void dolibarr_db_is_read_not_run(void **state)
{
	(void)state;
	struct setup_dolibarr d;
	assert_int_equal(setup_dolibarr_db("<?php\n"
		"$dolibarr_main_db_host = 'localhost';\n"
		"\t$dolibarr_main_db_port='3306' ;  // the default\n"
		"$dolibarr_main_db_name=\"dolibarr\";\n"
		"$dolibarr_main_db_user='doli';\n"
		"$dolibarr_main_db_pass='it\\'s \"x\" \\\\ y';\n"
		"$dolibarr_main_db_type='mysqli';\n", &d), 0);
	assert_string_equal(d.host, "localhost");
	assert_string_equal(d.port, "3306");
	assert_string_equal(d.name, "dolibarr");
	assert_string_equal(d.user, "doli");
	assert_string_equal(d.pass, "it's \"x\" \\ y");
	assert_string_equal(d.type, "mysqli");
	/* The last assignment counts; lines in a block comment or commented out do not. */
	assert_int_equal(setup_dolibarr_db("$dolibarr_main_db_type='pgsql';\n"
		"$dolibarr_main_db_name='first';\n$dolibarr_main_db_name='second';\n"
		"/*\n$dolibarr_main_db_name='commented';\n*/\n"
		"/* $dolibarr_main_db_user='one line'; */\n"
		"// $dolibarr_main_db_name='slashes';\n# $dolibarr_main_db_name='hash';\n", &d), 0);
	assert_string_equal(d.name, "second");
	assert_string_equal(d.user, "");
	assert_string_equal(d.type, "pgsql");
	/* What PHP would compute, or cannot be one value, is not taken. */
	static const char *const hostile[] = {
		"$dolibarr_main_db_name=\"$other\";",
		"$dolibarr_main_db_name=\"a\\x41\";",
		"$dolibarr_main_db_name='a'.'b';",
		"$dolibarr_main_db_name=getenv('DB');",
		"$dolibarr_main_db_name=DB_NAME;",
		"$dolibarr_main_db_name='unterminated;\n';",
		"$dolibarr_main_db_name='no semicolon'",
		"$dolibarr_main_db_name='tab\there';",
		"$dolibarr_main_db_name='';",
		"$dolibarr_main_db_names='plural';",
		"$dolibarr_main_db_name_x='longer';",
		"$xdolibarr_main_db_name='prefixed';",
		"$dolibarr_main_db_name == 'compare';",
		"$dolibarr_main_db_name",
		"$dolibarr_main_db_name=",
		"$dolibarr_main_db_name='",
		"",
	};
	for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
		char text[300];
		snprintf(text, sizeof text, "$dolibarr_main_db_type='mysqli';\n%s\n", hostile[i]);
		memset(&d, 0x55, sizeof d);
		assert_int_equal(setup_dolibarr_db(text, &d), -1);
	}
	/* Another kind of database, or none named: nothing. */
	assert_int_equal(setup_dolibarr_db("$dolibarr_main_db_type='sqlite3';\n"
		"$dolibarr_main_db_name='x';\n", &d), -1);
	assert_int_equal(setup_dolibarr_db("$dolibarr_main_db_name='x';\n", &d), -1);
	/* A value as long as a field holds is refused, one byte less is taken. */
	char text[2 * SETUP_DB_VALUE_MAX];
	for (int len = SETUP_DB_VALUE_MAX - 1; len <= SETUP_DB_VALUE_MAX; len++) {
		snprintf(text, sizeof text, "$dolibarr_main_db_type='mysqli';\n"
			"$dolibarr_main_db_name='%0*d';\n", len, 7);
		assert_int_equal(setup_dolibarr_db(text, &d), len < SETUP_DB_VALUE_MAX ? 0 : -1);
	}
	assert_int_equal(strlen(d.name), SETUP_DB_VALUE_MAX - 1);
}

/* A setup's journal: undone, it removes what it lists (the repository's folder only when it
 * holds a repository or nothing), the latest first, and then itself. */
static void journal_undoes_only_its_own(void **state)
{
	(void)state;
	char j[300], conf[300], repo[300], other[300], kept[300], line[700];
	char *failed = NULL;
	mk("j/etc");
	mk("j/spool/keys");
	mk("j/spool/data/00");
	mk("j/mine");
	snprintf(j, sizeof j, "%s/j/etc/coffre.conf.unfinished", dir);
	snprintf(conf, sizeof conf, "%s/j/etc/coffre.conf", dir);
	snprintf(repo, sizeof repo, "%s/j/spool", dir);
	snprintf(other, sizeof other, "%s/j/mine", dir);
	snprintf(kept, sizeof kept, "%s/j/mine/letter.txt", dir);
	put("j/spool/config", "repository\n");
	put("j/spool/data/00/pack", "data\n");
	put("j/etc/coffre.conf", "[backup]\n");
	put("j/mine/letter.txt", "mine\n");
	assert_int_equal(setup_journal_undo(j, &failed), 0);	/* none: nothing to do */
	assert_false(setup_journal_exists(j));
	assert_int_equal(setup_journal_add(j, 'd', repo), 0);
	assert_int_equal(setup_journal_add(j, 'f', conf), 0);
	assert_int_equal(setup_journal_add(j, 'f', "/nonexistent/coffre-test"), 0);
	assert_true(setup_journal_exists(j));
	assert_int_equal(setup_journal_undo(j, &failed), 0);
	assert_null(failed);
	assert_false(setup_journal_exists(j));
	struct stat st;
	assert_int_not_equal(lstat(conf, &st), 0);
	assert_int_not_equal(lstat(repo, &st), 0);
	/* A folder that is not a repository, and lines not written by setup: left alone. */
	snprintf(line, sizeof line, "x %s\nf relative\n\nd %s\n", kept, other);
	assert_int_equal(setup_write_file(j, line, 0600, NULL), 0);
	assert_int_equal(setup_journal_undo(j, &failed), -1);
	assert_non_null(failed);
	assert_string_equal(failed, other);
	free(failed);
	assert_int_equal(lstat(kept, &st), 0);
	assert_true(setup_journal_exists(j));
	assert_int_equal(setup_journal_add(j, 'f', "/bad\nline"), -1);
	assert_int_equal(setup_journal_done(j), 0);
	assert_false(setup_journal_exists(j));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(finds_users_shares_and_dolibarr, setup, teardown),
		cmocka_unit_test_setup_teardown(nested_folders_are_listed_once, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_files_give_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(written_config_loads, setup, teardown),
		cmocka_unit_test(dolibarr_db_is_read_not_run),
		cmocka_unit_test_setup_teardown(journal_undoes_only_its_own, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
