/* test_sheet.c: the recovery sheet's text pieces (cli/sheet_text.c): the key in lines of
 * groups, HTML escaping of names, URLs cleared of passwords and tokens, the restore command
 * with a place a shell would misread quoted. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sheet.h"
#include "base/util.h"

static const char key[] =
	"d9ec-2d63-12e5-fcc2-3cdf-bb46-9c46-f987-4574-fc2f-db96-ed26-0ccf-9271-98b1-9d42";

static void key_lines(void **state)
{
	(void)state;
	char l[SHEET_KEY_LINES][SHEET_KEY_LINE];
	assert_int_equal(sheet_key_lines(key, l), 0);
	assert_string_equal(l[0], "d9ec-2d63-12e5-fcc2");
	assert_string_equal(l[1], "3cdf-bb46-9c46-f987");
	assert_string_equal(l[2], "4574-fc2f-db96-ed26");
	assert_string_equal(l[3], "0ccf-9271-98b1-9d42");
	/* Typed by hand: upper case, blanks, no dashes. */
	assert_int_equal(sheet_key_lines("D9EC2D63 12E5FCC2\t3CDFBB469C46F987\n"
					 "4574FC2FDB96ED26 0CCF927198B19D42\n", l), 0);
	assert_string_equal(l[0], "d9ec-2d63-12e5-fcc2");
	assert_string_equal(l[3], "0ccf-9271-98b1-9d42");
}

static void key_lines_refused(void **state)
{
	(void)state;
	char l[SHEET_KEY_LINES][SHEET_KEY_LINE];
	char shorter[sizeof key], longer[sizeof key + 1];
	memcpy(shorter, key, sizeof key);
	shorter[sizeof key - 2] = 0;
	snprintf(longer, sizeof longer, "%sa", key);
	assert_int_equal(sheet_key_lines(shorter, l), -1);
	assert_int_equal(sheet_key_lines(longer, l), -1);
	assert_int_equal(sheet_key_lines("", l), -1);
	char bad[sizeof key];
	memcpy(bad, key, sizeof key);
	bad[5] = 'g';
	assert_int_equal(sheet_key_lines(bad, l), -1);
	bad[5] = '_';
	assert_int_equal(sheet_key_lines(bad, l), -1);
}

static void html_escape(void **state)
{
	(void)state;
	struct buf b = { 0 };
	assert_int_equal(sheet_html_escape(&b, "Boulangerie <Martin> & Fils \"l'an\" é"), 0);
	assert_int_equal(buf_append(&b, "", 1), 0);
	assert_string_equal((char *)b.p, "Boulangerie &lt;Martin&gt; &amp; Fils &quot;l&#39;an"
					 "&quot; é");
	buf_free(&b);
	struct buf e = { 0 };
	assert_int_equal(sheet_html_escape(&e, "<script>alert(1)</script>"), 0);
	assert_int_equal(buf_append(&e, "", 1), 0);
	assert_null(strchr((char *)e.p, '<'));
	buf_free(&e);
}

static void safe_url_case(const char *url, const char *want)
{
	char *s = sheet_safe_url(url);
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

static void safe_url(void **state)
{
	(void)state;
	safe_url_case("sftp://boutique:s3cret@nas.example.net:2222/srv/coffre",
		"sftp://boutique@nas.example.net:2222/srv/coffre");
	safe_url_case("sftp://a:b:c@h/p", "sftp://a@h/p");
	safe_url_case("s3://s3.example.net/bk/coffre?X-Amz-Signature=abc#frag",
		"s3://s3.example.net/bk/coffre");
	safe_url_case("sftp://boutique@nas/srv/coffre", "sftp://boutique@nas/srv/coffre");
	/* An '@' or ':' past the host is part of the path. */
	safe_url_case("sftp://u@nas/srv/a:b@c", "sftp://u@nas/srv/a:b@c");
	safe_url_case("/var/spool/coffre", "/var/spool/coffre");
	safe_url_case("usb:COFFRE-A", "usb:COFFRE-A");
}

static void fill(void **state)
{
	(void)state;
	char *s = sheet_fill("coffre --repo {repo} snapshots", "usb:COFFRE-A");
	assert_string_equal(s, "coffre --repo usb:COFFRE-A snapshots");
	free(s);
	s = sheet_fill("a {repo} b {repo}", "/srv/my backups");
	assert_string_equal(s, "a '/srv/my backups' b '/srv/my backups'");
	free(s);
	s = sheet_fill("{repo}", "/srv/l'atelier");
	assert_string_equal(s, "'/srv/l'\\''atelier'");
	free(s);
	s = sheet_fill("{repo}", "");
	assert_string_equal(s, "''");
	free(s);
}

static void words(void **state)
{
	(void)state;
	assert_non_null(sheet_words_for("fr"));
	assert_non_null(sheet_words_for("en"));
	assert_null(sheet_words_for("de"));
	assert_null(sheet_words_for(NULL));
	const struct sheet_words *fr = sheet_words_for("fr");
	for (int i = 0; i < 5; i++) {
		assert_non_null(fr->step[i]);
		assert_non_null(fr->step_cmd[i]);
	}
	struct sheet_place spool = { .kind = "local", .where = "/var/spool/coffre" };
	struct sheet_place usb = { .name = "cle", .kind = "usb", .where = "usb:A" };
	char l[128];
	sheet_place_label(fr, &spool, l, sizeof l);
	assert_string_equal(l, fr->spool);
	sheet_place_label(fr, &usb, l, sizeof l);
	assert_string_equal(l, "cle — disque USB");
	struct sheet_place both[2] = { spool, usb };
	struct sheet s = { .places = both, .nplaces = 2 };
	assert_string_equal(sheet_restore_place(&s), "usb:A");
	s.nplaces = 1;
	assert_string_equal(sheet_restore_place(&s), "/var/spool/coffre");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key_lines),
		cmocka_unit_test(key_lines_refused),
		cmocka_unit_test(html_escape),
		cmocka_unit_test(safe_url),
		cmocka_unit_test(fill),
		cmocka_unit_test(words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
