/* test_detect_canary.c: the canaries are valid files of their kind, the same for a seed and
 * different for another: the CSV parses (three records of three fields), the PDF's cross-
 * reference table points at each "N 0 obj" and its stream length is right, the ODS's first
 * entry is the stored mimetype and it reads back through its central directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>
#include <cmocka.h>

#include "base/util.h"
#include "coffre/detect.h"

static unsigned magic_of(const struct buf *b)
{
	return detect_magic(b->p, b->len < DETECT_BLOCK ? b->len : DETECT_BLOCK);
}

static void canary(enum detect_canary_kind k, const char *seed, struct buf *ret)
{
	uint8_t *p;
	size_t n;
	assert_int_equal(detect_canary_make(k, (const uint8_t *)seed, &p, &n), 0);
	/* Deterministic given the seed; another seed, other bytes. */
	uint8_t *q;
	size_t m;
	assert_int_equal(detect_canary_make(k, (const uint8_t *)seed, &q, &m), 0);
	assert_int_equal(n, m);
	assert_memory_equal(p, q, n);
	free(q);
	assert_int_equal(detect_canary_make(k, (const uint8_t *)"another seed....", &q, &m), 0);
	assert_true(n != m || memcmp(p, q, n) != 0);
	free(q);
	buf_free(ret);
	*ret = (struct buf){ .p = p, .len = n, .cap = n };
}

#define FR "Fichier de contrôle de coffre : ne pas modifier, déplacer ni supprimer."
#define EN "coffre control file: do not edit, move or delete."
#define SEED "\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef"
#define SEEDHEX "0123456789abcdef0123456789abcdef"

static void test_canary_csv(void **state)
{
	struct buf b = { 0 };
	assert_string_equal(detect_canary_name(DETECT_CANARY_CSV),
		"!coffre-canary-do-not-touch.csv");
	canary(DETECT_CANARY_CSV, SEED, &b);
	assert_int_equal(magic_of(&b), DETECT_MAGIC_TEXT);
	assert_int_equal(buf_put_u8(&b, 0), 0);
	const char *want = "\xef\xbb\xbflang,message,id\r\nfr,\"" FR "\"," SEEDHEX "\r\n"
		"en,\"" EN "\"," SEEDHEX "\r\n";
	assert_string_equal((const char *)b.p, want);
	/* Each record: three fields, commas only inside the quotes. */
	unsigned lines = 0;
	for (char *l = strtok((char *)b.p, "\n"); l; l = strtok(NULL, "\n"), lines++) {
		unsigned fields = 1, quoted = 0;
		for (char *c = l; *c && *c != '\r'; c++) {
			quoted ^= *c == '"';
			fields += *c == ',' && !quoted;
		}
		assert_int_equal(quoted, 0);
		assert_int_equal(fields, 3);
	}
	assert_int_equal(lines, 3);
	buf_free(&b);
}

static void test_canary_pdf(void **state)
{
	struct buf b = { 0 };
	canary(DETECT_CANARY_PDF, SEED, &b);
	assert_int_equal(magic_of(&b), DETECT_MAGIC_PDF);
	assert_memory_equal(b.p, "%PDF-1.4\n", 9);
	assert_int_equal(buf_put_u8(&b, 0), 0);
	const char *s = (const char *)b.p;
	/* startxref names the table; each entry the offset of its "N 0 obj". */
	const char *sx = strstr(s, "startxref\n");
	assert_non_null(sx);
	size_t xref = strtoul(sx + 10, NULL, 10);
	assert_memory_equal(s + xref, "xref\n0 7\n", 9);
	const char *e = s + xref + 9;
	assert_memory_equal(e, "0000000000 65535 f \n", 20);
	for (int i = 1; i <= 6; i++) {
		e += 20;
		char obj[16];
		snprintf(obj, sizeof obj, "%d 0 obj\n", i);
		assert_memory_equal(e + 10, " 00000 n \n", 10);
		size_t off = strtoul(e, NULL, 10);
		assert_memory_equal(s + off, obj, strlen(obj));
	}
	assert_memory_equal(e + 20, "trailer\n", 8);
	/* The stream's length is right; the lines are there, the French one in WinAnsi. */
	const char *len = strstr(s, "/Length ");
	size_t n = strtoul(len + 8, NULL, 10);
	const char *st = strstr(len, "stream\n") + 7;
	assert_memory_equal(st + n, "endstream", 9);
	assert_non_null(strstr(st, "(Fichier de contr\\364le de coffre : ne pas modifier, "
		"d\\351placer ni supprimer.) Tj"));
	assert_non_null(strstr(st, "(" EN ") Tj"));
	assert_non_null(strstr(s, "/ID [<" SEEDHEX ">"));
	assert_non_null(strstr(s, "%%EOF\n"));
	buf_free(&b);
}

static void test_canary_ods(void **state)
{
	struct buf b = { 0 };
	canary(DETECT_CANARY_ODS, SEED, &b);
	assert_int_equal(magic_of(&b), DETECT_MAGIC_ODF);
	/* The first local header: "mimetype", stored, its bytes right after the header. */
	static const char mime[] = "application/vnd.oasis.opendocument.spreadsheet";
	assert_memory_equal(b.p, "PK\3\4", 4);
	assert_int_equal(b.p[8] | b.p[9] << 8, 0);
	assert_int_equal(b.p[26] | b.p[27] << 8, 8);
	assert_memory_equal(b.p + 30, "mimetype", 8);
	size_t data = 38 + (size_t)(b.p[28] | b.p[29] << 8);
	assert_memory_equal(b.p + data, mime, sizeof mime - 1);
	/* Read back through the central directory: the entries, the XML and the lines. */
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	assert_int_equal(archive_read_support_format_zip_seekable(a), ARCHIVE_OK);
	assert_int_equal(archive_read_open_memory(a, b.p, b.len), ARCHIVE_OK);
	static const char *const names[] = { "mimetype", "META-INF/manifest.xml", "content.xml" };
	static char text[8192];
	for (int i = 0; i < 3; i++) {
		assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
		assert_string_equal(archive_entry_pathname(e), names[i]);
		la_ssize_t n = archive_read_data(a, text, sizeof text - 1);
		assert_true(n > 0);
		text[n] = '\0';
		if (i == 0)
			assert_string_equal(text, mime);
		if (i == 1)
			assert_non_null(strstr(text, "manifest:media-type=\"" "application/vnd.oasis."
				"opendocument.spreadsheet\""));
		if (i == 2) {
			assert_non_null(strstr(text, "<text:p>" FR "</text:p>"));
			assert_non_null(strstr(text, "<text:p>" EN "</text:p>"));
			assert_non_null(strstr(text, SEEDHEX));
		}
	}
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_EOF);
	archive_read_free(a);
	assert_string_equal(detect_canary_name(DETECT_CANARY_ODS),
		"!coffre-canary-do-not-touch.ods");
	assert_string_equal(detect_canary_name(DETECT_CANARY_PDF),
		"!coffre-canary-do-not-touch.pdf");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canary_csv),
		cmocka_unit_test(test_canary_pdf),
		cmocka_unit_test(test_canary_ods),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
