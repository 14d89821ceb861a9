/* detect_canary.c: the canary files' names and bytes: a CSV, a one-page PDF and an ODS, each
 * valid, each asking in French and English to be left alone (see detect.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "base/util.h"
#include "coffre/detect.h"

#define LINE_FR "Fichier de contrôle de coffre : ne pas modifier, déplacer ni supprimer."
#define LINE_EN "coffre control file: do not edit, move or delete."
/* The French line in WinAnsi octal escapes for a PDF string (ô is 364, é is 351). */
#define LINE_FR_PDF "Fichier de contr\\364le de coffre : ne pas modifier, d\\351placer ni " \
	"supprimer."
/* Entries' times in the ODS (2024-01-01 00:00:00 UTC): fixed so that a seed gives the same
 * bytes. The zip format's own date is local time: the same bytes for a given time zone. */
#define ODS_MTIME 1704067200
#define ODS_MIME "application/vnd.oasis.opendocument.spreadsheet"

const char *detect_canary_name(enum detect_canary_kind kind)
{
	switch (kind) {
	case DETECT_CANARY_CSV:
		return "!coffre-canary-do-not-touch.csv";
	case DETECT_CANARY_PDF:
		return "!coffre-canary-do-not-touch.pdf";
	case DETECT_CANARY_ODS:
		return "!coffre-canary-do-not-touch.ods";
	}
	return NULL;
}

/* RFC 4180: CRLF, quoted fields; a UTF-8 byte order mark so that spreadsheets read the
 * accents right. */
static int make_csv(const char *hex, struct buf *b)
{
	return buf_appendf(b, "\xef\xbb\xbf" "lang,message,id\r\n"
		"fr,\"" LINE_FR "\",%s\r\n"
		"en,\"" LINE_EN "\",%s\r\n", hex, hex);
}

/* PDF 1.4: six objects, the page's text uncompressed, a cross-reference table whose
 * offsets are those of each "N 0 obj", the seed as the document's ID. */
static int make_pdf(const char *hex, struct buf *b)
{
	size_t off[7];
	struct buf content = { 0 };
	int r = -1;
	if (buf_appendf(&content, "BT /F1 12 Tf 56 770 Td (" LINE_FR_PDF ") Tj\n"
			"0 -20 Td (" LINE_EN ") Tj\n/F1 7 Tf 0 -20 Td (%s) Tj ET\n", hex))
		goto out;
	if (buf_appendf(b, "%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n"))
		goto out;
	off[1] = b->len;
	if (buf_appendf(b, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"))
		goto out;
	off[2] = b->len;
	if (buf_appendf(b, "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"))
		goto out;
	off[3] = b->len;
	if (buf_appendf(b, "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]\n"
			"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>\nendobj\n"))
		goto out;
	off[4] = b->len;
	if (buf_appendf(b, "4 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica\n"
			"/Encoding /WinAnsiEncoding >>\nendobj\n"))
		goto out;
	off[5] = b->len;
	if (buf_appendf(b, "5 0 obj\n<< /Length %zu >>\nstream\n", content.len) ||
		buf_append(b, content.p, content.len) ||
		buf_appendf(b, "endstream\nendobj\n"))
		goto out;
	off[6] = b->len;
	if (buf_appendf(b, "6 0 obj\n<< /Title (coffre) /Subject (" LINE_EN ") /Keywords (%s) >>\n"
			"endobj\n", hex))
		goto out;
	size_t xref = b->len;
	if (buf_appendf(b, "xref\n0 7\n0000000000 65535 f \n"))
		goto out;
	for (int i = 1; i <= 6; i++)
		if (buf_appendf(b, "%010zu 00000 n \n", off[i]))
			goto out;
	if (buf_appendf(b, "trailer\n<< /Size 7 /Root 1 0 R /Info 6 0 R /ID [<%s> <%s>] >>\n"
			"startxref\n%zu\n%%%%EOF\n", hex, hex, xref))
		goto out;
	r = 0;
out:
	buf_free(&content);
	return r;
}

static la_ssize_t ods_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	if (buf_append(ctx, p, n)) {
		archive_set_error(a, ENOMEM, "out of memory");
		return -1;
	}
	return (la_ssize_t)n;
}

static int ods_entry(struct archive *a, struct archive_entry *e, const char *name, int store,
	const char *text)
{
	size_t n = strlen(text);
	archive_entry_clear(e);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_entry_set_mtime(e, ODS_MTIME, 0);
	/* The per-entry switch: the "compression" option is taken only before the first entry. */
	if ((store ? archive_write_zip_set_compression_store(a) :
			archive_write_zip_set_compression_deflate(a)) != ARCHIVE_OK ||
		archive_write_header(a, e) != ARCHIVE_OK ||
		archive_write_data(a, text, n) != (la_ssize_t)n ||
		archive_write_finish_entry(a) != ARCHIVE_OK)
		return -1;
	return 0;
}

/* OpenDocument: the stored "mimetype" first (what readers look at), then the manifest and
 * the content, deflated. One sheet, one cell a line. libarchive's zip writer gives every
 * entry extended-time and owner extra fields and, stored ones too, a data descriptor, so
 * the media type sits at offset 62 rather than the 38 that ODF 1.2 part 3 §3.3 asks for
 * ("no extra field"): readers open it, file(1) calls it a zip. */
static int make_ods(const char *hex, struct buf *b)
{
	static const char manifest[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:"
		"manifest:1.0\" manifest:version=\"1.2\">\n"
		" <manifest:file-entry manifest:full-path=\"/\" manifest:version=\"1.2\" "
		"manifest:media-type=\"" ODS_MIME "\"/>\n"
		" <manifest:file-entry manifest:full-path=\"content.xml\" "
		"manifest:media-type=\"text/xml\"/>\n"
		"</manifest:manifest>\n";
	struct buf content = { 0 };
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	int r = -1;
	if (!a || !e)
		goto out;
	if (buf_appendf(&content, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<office:document-content "
			"xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" "
			"xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" "
			"xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" "
			"office:version=\"1.2\">\n"
			"<office:body><office:spreadsheet><table:table table:name=\"coffre\">\n"
			"<table:table-row><table:table-cell office:value-type=\"string\">"
			"<text:p>" LINE_FR "</text:p></table:table-cell></table:table-row>\n"
			"<table:table-row><table:table-cell office:value-type=\"string\">"
			"<text:p>" LINE_EN "</text:p></table:table-cell></table:table-row>\n"
			"<table:table-row><table:table-cell office:value-type=\"string\">"
			"<text:p>%s</text:p></table:table-cell></table:table-row>\n"
			"</table:table></office:spreadsheet></office:body>\n"
			"</office:document-content>\n", hex))
		goto out;
	if (buf_put_u8(&content, 0))		/* a C string for ods_entry */
		goto out;
	if (archive_write_set_format_zip(a) != ARCHIVE_OK ||
		archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
		archive_write_open2(a, b, NULL, ods_write, NULL, NULL) != ARCHIVE_OK)
		goto out;
	if (ods_entry(a, e, "mimetype", 1, ODS_MIME) ||
		ods_entry(a, e, "META-INF/manifest.xml", 0, manifest) ||
		ods_entry(a, e, "content.xml", 0, (const char *)content.p) ||
		archive_write_close(a) != ARCHIVE_OK)
		goto out;
	r = 0;
out:
	archive_entry_free(e);
	archive_write_free(a);
	buf_free(&content);
	return r;
}

int detect_canary_make(enum detect_canary_kind kind, const uint8_t seed[16], uint8_t **ret,
	size_t *ret_n)
{
	char hex[33];
	util_hex(hex, seed, 16);
	struct buf b = { 0 };
	int r = -1;
	switch (kind) {
	case DETECT_CANARY_CSV:
		r = make_csv(hex, &b);
		break;
	case DETECT_CANARY_PDF:
		r = make_pdf(hex, &b);
		break;
	case DETECT_CANARY_ODS:
		r = make_ods(hex, &b);
		break;
	}
	if (r) {
		buf_free(&b);
		return -1;
	}
	*ret = b.p;
	*ret_n = b.len;
	return 0;
}
