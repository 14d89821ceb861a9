/* test_detect_file.c: the file signals on real formats made here (CSV, ODS, PDF, SQLite,
 * JPEG through libjpeg, PNG through libpng, zstd): an edit that keeps the format gives no
 * flag; encrypting the file, its first 4 KiB only, or most of its blocks, or writing the
 * ciphertext in base64, does. Also the magic of each format, the randomness test itself, the
 * sampler's bounds, and the canaries' validity. */
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
#include <jpeglib.h>
#include <png.h>
#include <sodium.h>
#include <sqlite3.h>
#include <zstd.h>

#include "base/util.h"
#include "coffre/detect.h"
#include "fixture.h"

#define BREAK DETECT_FILE_FORMAT_BREAK
#define RANDOM DETECT_FILE_TURNED_RANDOM

static const uint8_t KEY[crypto_stream_xchacha20_KEYBYTES] = "the key of the attacker, 32 byt";
static const uint8_t NONCE[crypto_stream_xchacha20_NONCEBYTES] = "a nonce of 24 bytes....";

/* ---- helpers ---- */

__attribute__((format(printf, 2, 3)))
static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	assert_int_equal(buf_reserve(b, (size_t)n + 1), 0);
	va_start(ap, fmt);
	vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* A deterministic pseudo-random stream (xorshift), for pictures and data. */
static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 32);
}

/* The profile of ${n} bytes fed in pieces of varying sizes, checked against one piece. */
static void profile(struct detect_profile *pr, const uint8_t *p, size_t n)
{
	static const size_t sizes[] = { 1, 100, 4095, 8192, 70001, 3 };
	detect_profile_init(pr);
	for (size_t off = 0, i = 0; off < n; i++) {
		size_t k = sizes[i % 6] < n - off ? sizes[i % 6] : n - off;
		detect_profile_feed(pr, p + off, k);
		off += k;
	}
	detect_profile_end(pr);
	static struct detect_profile one;
	detect_profile_init(&one);
	detect_profile_feed(&one, p, n);
	detect_profile_end(&one);
	assert_int_equal(pr->magic, one.magic);
	assert_int_equal(pr->head_random, one.head_random);
	assert_int_equal(pr->blocks, one.blocks);
	assert_int_equal(pr->random, one.random);
	assert_int_equal(pr->size, n);
	assert_true(pr->blocks <= 64);
}

static unsigned compare(const struct buf *a, const struct buf *b)
{
	static struct detect_profile pa, pb;
	profile(&pa, a->p, a->len);
	profile(&pb, b->p, b->len);
	return detect_file_compare(&pa, &pb);
}

static void copy(struct buf *to, const struct buf *from)
{
	to->len = 0;
	assert_int_equal(buf_append(to, from->p, from->len), 0);
}

/* Encrypts the bytes [from, to) in place, as ransomware does: all, the head, or pieces. */
static void encrypt(struct buf *b, size_t from, size_t to)
{
	if (to > b->len)
		to = b->len;
	if (from < to)
		crypto_stream_xchacha20_xor(b->p + from, b->p + from, to - from, NONCE, KEY);
}

static void base64(struct buf *b)
{
	size_t cap = sodium_base64_ENCODED_LEN(b->len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	assert_non_null(s);
	sodium_bin2base64(s, cap, b->p, b->len, sodium_base64_VARIANT_ORIGINAL);
	b->len = 0;
	assert_int_equal(buf_append(b, s, strlen(s)), 0);
	free(s);
}

static unsigned magic_of(const struct buf *b)
{
	return detect_magic(b->p, b->len < DETECT_BLOCK ? b->len : DETECT_BLOCK);
}

/* The share of random blocks in percent. */
static unsigned share(const struct buf *b)
{
	static struct detect_profile p;
	profile(&p, b->p, b->len);
	return p.blocks ? 100 * p.random / p.blocks : 0;
}

/* What every format must show: its magic; no flag for an edit that keeps the format; the
 * flags ${enc} for the whole file encrypted; a flag for its first 4 KiB encrypted, random
 * for them encrypted but the magic, and for three blocks in four or one in two encrypted
 * past the first; ${b64} among those of the ciphertext in base64. */
static void check_format(const char *what, const struct buf *orig, const struct buf *edit,
	unsigned magic, unsigned enc, unsigned b64)
{
	struct buf x = { 0 };
	print_message("%s: %zu bytes, %u%% random, edit %zu bytes\n", what, orig->len,
		share(orig), edit->len);
	assert_int_equal(magic_of(orig), magic);
	assert_int_equal(magic_of(edit), magic);
	assert_int_equal(compare(orig, orig), 0);
	assert_int_equal(compare(orig, edit), 0);
	assert_int_equal(compare(edit, orig), 0);

	copy(&x, orig);
	encrypt(&x, 0, x.len);
	assert_int_equal(compare(orig, &x), enc);

	copy(&x, orig);
	encrypt(&x, 0, 4096);
	assert_int_not_equal(compare(orig, &x), 0);

	/* The head encrypted but its first 64 bytes, the magic kept: the head turned random. */
	copy(&x, orig);
	encrypt(&x, 64, 4096);
	assert_int_equal(compare(orig, &x) & RANDOM, RANDOM);

	copy(&x, orig);
	for (size_t off = DETECT_BLOCK; off < x.len; off += DETECT_BLOCK)
		if ((off / DETECT_BLOCK) % 4 != 0)
			encrypt(&x, off, off + DETECT_BLOCK);
	if (orig->len >= 8 * DETECT_BLOCK)
		assert_int_equal(compare(orig, &x) & RANDOM, RANDOM);

	/* Every other block, the head kept (attacker --spread 50). */
	copy(&x, orig);
	for (size_t off = DETECT_BLOCK; off < x.len; off += 2 * DETECT_BLOCK)
		encrypt(&x, off, off + DETECT_BLOCK);
	if (orig->len >= 16 * DETECT_BLOCK)
		assert_int_equal(compare(orig, &x), RANDOM);

	copy(&x, orig);
	encrypt(&x, 0, x.len);
	base64(&x);
	assert_int_equal(compare(orig, &x) & b64, b64);
	buf_free(&x);
}

/* ---- formats ---- */

static void make_csv(struct buf *b, unsigned rows, unsigned variant)
{
	static const char *const names[] = { "Dupont", "Lefèvre", "Martin", "Bernard", "Petit",
		"Durand", "Leroy", "Moreau", "Girard", "Rousseau" };
	static const char *const towns[] = { "Lyon", "Besançon", "Nantes", "Orléans", "Rennes" };
	uint64_t s = 42;
	b->len = 0;
	bprintf(b, "numéro;client;ville;montant;réglée\n");
	for (unsigned i = 0; i < rows; i++) {
		uint32_t r = rnd(&s);
		bprintf(b, "FAC-%05u;%s;%s;%u,%02u;%s\n", i + 1, names[r % 10], towns[(r >> 8) % 5],
			(r >> 12) % 2000 + (i % 97 == 0 ? variant : 0), (r >> 4) % 100,
			(r >> 20) % 3 ? "oui" : "non");
	}
}

static la_ssize_t zip_write(struct archive *a, void *ctx, const void *p, size_t n)
{
	(void)a;
	return buf_append(ctx, p, n) ? -1 : (la_ssize_t)n;
}

static void zip_entry(struct archive *a, const char *name, int store, const struct buf *data)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)data->len);
	archive_entry_set_mtime(e, 1704067200, 0);
	assert_int_equal(store ? archive_write_zip_set_compression_store(a) :
		archive_write_zip_set_compression_deflate(a), ARCHIVE_OK);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data->p, data->len), (la_ssize_t)data->len);
	archive_entry_free(e);
}

/* A spreadsheet of ${rows} invoices, as an office suite writes it. */
static void make_ods(struct buf *b, unsigned rows, unsigned variant)
{
	struct buf mime = { 0 }, xml = { 0 }, csv = { 0 };
	bprintf(&mime, "application/vnd.oasis.opendocument.spreadsheet");
	make_csv(&csv, rows, variant);
	bprintf(&xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<office:document-content "
		"xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" "
		"xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" "
		"xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\">"
		"<office:body><office:spreadsheet><table:table table:name=\"Factures\">\n");
	assert_int_equal(buf_put_u8(&csv, 0), 0);
	for (char *line = strtok((char *)csv.p, "\n"); line; line = strtok(NULL, "\n")) {
		bprintf(&xml, "<table:table-row>");
		for (char *f = line, *end; f; f = end ? end + 1 : NULL) {
			end = strchr(f, ';');
			int len = end ? (int)(end - f) : (int)strlen(f);
			bprintf(&xml, "<table:table-cell office:value-type=\"string\"><text:p>%.*s"
				"</text:p></table:table-cell>", len, f);
		}
		bprintf(&xml, "</table:table-row>\n");
	}
	bprintf(&xml, "</table:table></office:spreadsheet></office:body>"
		"</office:document-content>\n");
	struct archive *a = archive_write_new();
	b->len = 0;
	assert_int_equal(archive_write_set_format_zip(a), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
	assert_int_equal(archive_write_open2(a, b, NULL, zip_write, NULL, NULL), ARCHIVE_OK);
	zip_entry(a, "mimetype", 1, &mime);
	zip_entry(a, "content.xml", 0, &xml);
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	buf_free(&mime);
	buf_free(&xml);
	buf_free(&csv);
}

/* A PDF of ${pages} pages of invoice lines (uncompressed streams); ${update}: an incremental
 * update appended, as a viewer that fills a form or signs writes it. */
static void make_pdf(struct buf *b, unsigned pages, int update)
{
	size_t off[512];
	unsigned nobj = 3 + 2 * pages;
	assert_true(nobj < 512);
	b->len = 0;
	bprintf(b, "%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n");
	off[1] = b->len;
	bprintf(b, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	off[2] = b->len;
	bprintf(b, "2 0 obj\n<< /Type /Pages /Count %u /Kids [", pages);
	for (unsigned i = 0; i < pages; i++)
		bprintf(b, "%u 0 R ", 4 + 2 * i);
	bprintf(b, "] >>\nendobj\n");
	off[3] = b->len;
	bprintf(b, "3 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n");
	uint64_t s = 7;
	for (unsigned i = 0; i < pages; i++) {
		struct buf c = { 0 };
		bprintf(&c, "BT /F1 9 Tf 40 800 Td 11 TL\n");
		for (unsigned l = 0; l < 60; l++)
			bprintf(&c, "(FAC-%05u  article %u  quantite %u  prix %u.%02u EUR) '\n",
				i * 60 + l, rnd(&s) % 900, rnd(&s) % 12, rnd(&s) % 500, rnd(&s) % 100);
		bprintf(&c, "ET\n");
		off[4 + 2 * i] = b->len;
		bprintf(b, "%u 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
			"/Resources << /Font << /F1 3 0 R >> >> /Contents %u 0 R >>\nendobj\n",
			4 + 2 * i, 5 + 2 * i);
		off[5 + 2 * i] = b->len;
		bprintf(b, "%u 0 obj\n<< /Length %zu >>\nstream\n", 5 + 2 * i, c.len);
		assert_int_equal(buf_append(b, c.p, c.len), 0);
		bprintf(b, "endstream\nendobj\n");
		buf_free(&c);
	}
	size_t xref = b->len;
	bprintf(b, "xref\n0 %u\n0000000000 65535 f \n", nobj + 1);
	for (unsigned i = 1; i <= nobj; i++)
		bprintf(b, "%010zu 00000 n \n", off[i]);
	bprintf(b, "trailer\n<< /Size %u /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", nobj + 1,
		xref);
	if (!update)
		return;
	static const char page[] = "BT /F1 9 Tf 40 800 Td (Facture reglee) Tj ET\n";
	size_t o = b->len;
	bprintf(b, "5 0 obj\n<< /Length %zu >>\nstream\n%sendstream\nendobj\n", strlen(page),
		page);
	size_t x2 = b->len;
	bprintf(b, "xref\n5 1\n%010zu 00000 n \ntrailer\n<< /Size %u /Root 1 0 R /Prev %zu >>\n"
		"startxref\n%zu\n%%%%EOF\n", o, nobj + 1, xref, x2);
}

static void read_file(struct buf *b, const char *path)
{
	buf_free(b);
	assert_int_equal(util_read_file(path, 1 << 26, b, NULL), 0);
}

static void sql(sqlite3 *db, const char *q)
{
	char *err = NULL;
	if (sqlite3_exec(db, q, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", q, err);
}

/* An accounting database: ledger lines over many 4 KiB pages; then a day's work on it. */
static void make_sqlite(struct buf *orig, struct buf *edit)
{
	char dir[4096], path[4200];
	assert_int_equal(fx_mkdtemp(dir, sizeof dir, "detect"), 0);
	snprintf(path, sizeof path, "%s/compta.sqlite", dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sql(db, "PRAGMA page_size=4096; CREATE TABLE ecriture(id INTEGER PRIMARY KEY, "
		"jour TEXT, compte TEXT, libelle TEXT, debit REAL, credit REAL);"
		"CREATE INDEX ecriture_compte ON ecriture(compte);"
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) "
		"INSERT INTO ecriture SELECT i, date('2024-01-01', '+' || (i / 20) || ' days'), "
		"'4110' || (i % 37), 'Facture FAC-' || i || ' client ' || (i * 7919 % 1000), "
		"(i * 13 % 5000) / 100.0, 0 FROM n;");
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	read_file(orig, path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sql(db, "UPDATE ecriture SET credit = debit WHERE id % 50 = 0;"
		"INSERT INTO ecriture SELECT id + 4000, '2025-01-02', compte, libelle || ' avoir', "
		"0, debit FROM ecriture WHERE id <= 300;");
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	read_file(edit, path);
	fx_rm_rf(dir);
}

/* A picture: gradients, shapes and sensor noise; ${variant} paints a patch. */
static void pixels(uint8_t *row, unsigned w, unsigned y, unsigned variant, uint64_t *s)
{
	for (unsigned x = 0; x < w; x++) {
		unsigned n = rnd(s) % 24;
		int dx = (int)x - 200, dy = (int)y - 150;
		int inside = dx * dx + dy * dy < 90 * 90;
		int patch = variant && x > 20 && x < 120 && y > 20 && y < 90;
		row[3 * x] = (uint8_t)(patch ? 250 : (x * 255 / w + n) & 0xff);
		row[3 * x + 1] = (uint8_t)(inside ? 40 + n : (y * 255 / 480 + n) & 0xff);
		row[3 * x + 2] = (uint8_t)((x + y) / 6 + n);
	}
}

static void make_jpeg(struct buf *b, unsigned variant)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr e;
	unsigned char *out = NULL;
	unsigned long outn = 0;
	uint8_t row[640 * 3];
	uint64_t s = 99;
	c.err = jpeg_std_error(&e);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &outn);
	c.image_width = 640;
	c.image_height = 480;
	c.input_components = 3;
	c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 85, TRUE);
	jpeg_start_compress(&c, TRUE);
	for (unsigned y = 0; y < 480; y++) {
		JSAMPROW r = row;
		pixels(row, 640, y, variant, &s);
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	b->len = 0;
	assert_int_equal(buf_append(b, out, outn), 0);
	free(out);
}

/* A screenshot: flat panels, lines of "text", a noiseless gradient; ${variant} adds a
 * window. */
static void screen(uint8_t *row, unsigned w, unsigned y, unsigned variant, uint64_t *s)
{
	uint32_t line = rnd(s);
	for (unsigned x = 0; x < w; x++) {
		uint8_t *px = row + 3 * x;
		int text = y % 16 < 9 && x > 180 && x < 600 && (line >> (x / 6 % 32) & 1) &&
			(x * 7 + y * 3) % 5 < 2;
		int window = variant && x > 300 && x < 500 && y > 100 && y < 300;
		if (x < 160 && y < 120)	/* a photo in the corner */
			px[0] = (uint8_t)rnd(s), px[1] = (uint8_t)(x + y), px[2] = (uint8_t)(y * 2);
		else if (x < 160)
			px[0] = 40, px[1] = 44, px[2] = (uint8_t)(60 + y / 8);
		else if (window)
			px[0] = 230, px[1] = 230, px[2] = 200;
		else if (text)
			px[0] = 20, px[1] = 20, px[2] = 20;
		else
			px[0] = 255, px[1] = 255, px[2] = (uint8_t)(255 - x / 16);
	}
}

static void png_write(png_structp png, png_bytep p, size_t n)
{
	if (buf_append(png_get_io_ptr(png), p, n))
		png_error(png, "out of memory");
}

static void png_flush(png_structp png)
{
	(void)png;
}

static void make_png(struct buf *b, unsigned variant)
{
	static uint8_t row[640 * 3];
	static uint64_t s;
	s = 5;
	b->len = 0;
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	assert_non_null(info);
	if (setjmp(png_jmpbuf(png)))
		fail_msg("libpng failed");
	png_set_write_fn(png, b, png_write, png_flush);
	png_set_IHDR(png, info, 640, 480, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (unsigned y = 0; y < 480; y++) {
		screen(row, 640, y, variant, &s);
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
}

/* ---- tests ---- */

static void test_magic(void **state)
{
	static const struct {
		const char *bytes;
		size_t n;
		enum detect_magic m;
	} cases[] = {
		{ "", 0, DETECT_MAGIC_NONE },
		{ "%PDF-1.7\n", 9, DETECT_MAGIC_PDF },
		{ "SQLite format 3\0\x10\0", 18, DETECT_MAGIC_SQLITE },
		{ "\xff\xd8\xff\xe0\0\x10JFIF", 10, DETECT_MAGIC_JPEG },
		{ "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, DETECT_MAGIC_PNG },
		{ "\x1f\x8b\x08\0\0\0\0\0\0\x03", 10, DETECT_MAGIC_GZIP },
		{ "\x28\xb5\x2f\xfd\x04\x58", 6, DETECT_MAGIC_ZSTD },
		{ "-----BEGIN PGP MESSAGE-----\n", 28, DETECT_MAGIC_PGP },
		/* gpg --symmetric: SKESK v4, AES-256, iterated and salted S2K */
		{ "\x8c\x0d\x04\x09\x03\x02\x11\x22\x33\x44\x55\x66\x77\x88\xd2\x40", 16,
			DETECT_MAGIC_PGP },
		/* the same first byte, no plausible packet after: ciphertext */
		{ "\x8c\x0d\x07\x09\x03\x02\x11\x22\x33\x44\x55\x66\x77\x88\xd2\x40", 16,
			DETECT_MAGIC_UNKNOWN },
		{ "id;nom\n1;Lef\xe8vre\n", 17, DETECT_MAGIC_TEXT },	/* Latin-1 */
		{ "id;nom\n1;Lef\xc3\xa8vre\n", 18, DETECT_MAGIC_TEXT },
		{ "ab", 2, DETECT_MAGIC_TEXT },
		{ "\x01\x02\x00\x03", 4, DETECT_MAGIC_NONE },
		{ "\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0", 18, DETECT_MAGIC_UNKNOWN },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		enum detect_magic m = detect_magic((const uint8_t *)cases[i].bytes, cases[i].n);
		if (m != cases[i].m)
			fail_msg("case %zu: %s, not %s", i, detect_magic_name(m),
				detect_magic_name(cases[i].m));
	}
	/* Zip: plain, with a stored mimetype first (ODF), with [Content_Types].xml (OOXML)
	 * after another entry; a zip64 or damaged header stays a zip. */
	uint8_t z[256] = { 0 };
	memcpy(z, "PK\3\4\x14\0\0\0\0\0", 10);
	z[26] = 8;
	memcpy(z + 30, "mimetype", 8);
	assert_int_equal(detect_magic(z, sizeof z), DETECT_MAGIC_ODF);
	z[8] = 8;	/* deflated: not an ODF's mimetype */
	assert_int_equal(detect_magic(z, sizeof z), DETECT_MAGIC_ZIP);
	memcpy(z + 30, "_rels/.r", 8);
	z[18] = 4;	/* 4 bytes of data, then the next header */
	memcpy(z + 42, "PK\3\4", 4);
	z[42 + 26] = 19;
	memcpy(z + 42 + 30, "[Content_Types].xml", 19);
	assert_int_equal(detect_magic(z, sizeof z), DETECT_MAGIC_OOXML);
	assert_int_equal(detect_magic(z, 42 + 30 + 18), DETECT_MAGIC_ZIP);	/* cut short */
	z[18] = 0xff;	/* a size past the block */
	z[21] = 0xff;
	assert_int_equal(detect_magic(z, sizeof z), DETECT_MAGIC_ZIP);
	for (int m = 0; m <= DETECT_MAGIC_PGP; m++)
		assert_string_not_equal(detect_magic_name((enum detect_magic)m), "?");
	assert_string_equal(detect_magic_name((enum detect_magic)99), "?");
}

static void test_block_random(void **state)
{
	static uint8_t b[DETECT_BLOCK];
	unsigned hits = 0;
	for (uint64_t i = 0; i < 2000; i++) {
		uint8_t nonce[crypto_stream_xchacha20_NONCEBYTES] = { 0 };
		memcpy(nonce, &i, sizeof i);
		crypto_stream_xchacha20(b, sizeof b, nonce, KEY);
		hits += (unsigned)detect_block_random(b, sizeof b);
	}
	print_message("ciphertext blocks in the band: %u of 2000\n", hits);
	assert_true(hits >= 1996);
	assert_int_equal(detect_block_random(b, 1023), 0);
	assert_int_equal(detect_block_random(b, 1024) + detect_block_random(b + 1024, 1024) +
		detect_block_random(b + 2048, 2048), 3);
	/* Too flat for chance: every byte value 16 times. */
	for (size_t i = 0; i < sizeof b; i++)
		b[i] = (uint8_t)i;
	assert_int_equal(detect_block_random(b, sizeof b), 0);
	memset(b, 'a', sizeof b);
	assert_int_equal(detect_block_random(b, sizeof b), 0);
	/* base64 of ciphertext: random as text, not as bytes. */
	crypto_stream_xchacha20(b, 3000, NONCE, KEY);
	char s[4100];
	sodium_bin2base64(s, sizeof s, b, 3000, sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(detect_block_random((uint8_t *)s, 4000), 0);
	assert_int_equal(detect_block_random_text((uint8_t *)s, 4000), 1);
	s[100] = ' ';
	assert_int_equal(detect_block_random_text((uint8_t *)s, 4000), 0);
	struct buf csv = { 0 };
	make_csv(&csv, 100, 0);
	assert_int_equal(detect_block_random_text(csv.p, 4096), 0);
	buf_free(&csv);
}

static void test_sampler(void **state)
{
	static uint8_t zero[1 << 20];
	static struct detect_profile p;
	/* Whatever the size, 32 to 64 blocks, the first among them. */
	static const uint64_t sizes[] = { 0, 1000, 1024, 4096, 5000, 64 * 4096, 65 * 4096,
		10u << 20, UINT64_C(3) << 30 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		detect_profile_init(&p);
		zero[0] = 0x1f;
		for (uint64_t left = sizes[i]; left > 0;) {
			size_t k = left < sizeof zero ? (size_t)left : sizeof zero;
			detect_profile_feed(&p, zero, k);
			zero[0] = 0;
			left -= k;
		}
		detect_profile_end(&p);
		uint64_t whole = sizes[i] / DETECT_BLOCK + (sizes[i] % DETECT_BLOCK >= 1024);
		print_message("%llu bytes: %u blocks\n", (unsigned long long)sizes[i], p.blocks);
		assert_int_equal(p.size, sizes[i]);
		if (whole <= 64)
			assert_int_equal(p.blocks, whole);
		else
			assert_true(p.blocks >= 32 && p.blocks <= 64);
		assert_int_equal(p.random, 0);
		assert_int_equal(p.magic, sizes[i] == 0 ? DETECT_MAGIC_NONE :
			sizes[i] < 16 ? DETECT_MAGIC_NONE : DETECT_MAGIC_UNKNOWN);
	}
	/* Encrypting one block in 8 at any phase shows in the share (no aliasing with the
	 * grid): about 12 % of the samples. */
	struct buf f = { 0 };
	make_csv(&f, 60000, 0);
	for (unsigned phase = 0; phase < 8; phase++) {
		struct buf x = { 0 };
		copy(&x, &f);
		for (size_t b = phase; b * DETECT_BLOCK < x.len; b += 8)
			encrypt(&x, b * DETECT_BLOCK, (b + 1) * DETECT_BLOCK);
		unsigned s = share(&x);
		print_message("%zu bytes, 1 block in 8 at phase %u: %u%% random\n", x.len, phase, s);
		assert_true(s > 0 && s <= 30);
		buf_free(&x);
	}
	buf_free(&f);
}

static void test_csv(void **state)
{
	struct buf a = { 0 }, b = { 0 };
	make_csv(&a, 6000, 0);
	make_csv(&b, 6100, 3);
	/* Ciphertext as base64 stays text, so no format break: it reads as random text. */
	check_format("CSV", &a, &b, DETECT_MAGIC_TEXT, BREAK | RANDOM, RANDOM);
	/* The user compresses it: the format breaks, and zstd's output is as flat as
	 * ciphertext, so it turns random too. */
	struct buf z = { 0 };
	assert_int_equal(buf_reserve(&z, ZSTD_compressBound(a.len)), 0);
	z.len = ZSTD_compress(z.p, z.cap, a.p, a.len, 3);
	assert_false(ZSTD_isError(z.len));
	print_message("CSV compressed by zstd -3: %u%% random, flags %x\n", share(&z),
		compare(&a, &z));
	assert_int_equal(compare(&a, &z), BREAK | RANDOM);
	/* Encrypted on purpose with OpenPGP: not a format break, but random. */
	struct buf g = { 0 };
	assert_int_equal(buf_append(&g, "\x8c\x0d\x04\x09\x03\x02\x11\x22\x33\x44\x55\x66\x77"
		"\x88\xd2", 15), 0);
	assert_int_equal(buf_append(&g, a.p, a.len), 0);
	encrypt(&g, 15, g.len);
	assert_int_equal(compare(&a, &g), RANDOM);
	/* Emptied: a break (to none), nothing random. */
	struct buf e = { 0 };
	assert_int_equal(compare(&a, &e), BREAK);
	buf_free(&a);
	buf_free(&b);
	buf_free(&z);
	buf_free(&g);
}

static void test_ods(void **state)
{
	struct buf a = { 0 }, b = { 0 };
	make_ods(&a, 8000, 0);
	make_ods(&b, 8050, 5);
	check_format("ODS", &a, &b, DETECT_MAGIC_ODF, BREAK | RANDOM, BREAK);
	/* The canary: one partial block. */
	static const uint8_t seed[16] = "0123456789abcdef";
	uint8_t *p;
	size_t n;
	assert_int_equal(detect_canary_make(DETECT_CANARY_ODS, seed, &p, &n), 0);
	struct buf c = { .p = p, .len = n, .cap = n };
	copy(&a, &c);
	encrypt(&a, 0, a.len);
	assert_int_equal(compare(&c, &a), BREAK | RANDOM);
	buf_free(&c);
	buf_free(&a);
	buf_free(&b);
}

static void test_pdf(void **state)
{
	struct buf a = { 0 }, b = { 0 };
	make_pdf(&a, 40, 0);
	make_pdf(&b, 40, 1);
	check_format("PDF", &a, &b, DETECT_MAGIC_PDF, BREAK | RANDOM, BREAK);
	buf_free(&a);
	buf_free(&b);
}

static void test_sqlite(void **state)
{
	struct buf a = { 0 }, b = { 0 };
	make_sqlite(&a, &b);
	check_format("SQLite", &a, &b, DETECT_MAGIC_SQLITE, BREAK | RANDOM, BREAK);
	buf_free(&a);
	buf_free(&b);
}

static void test_jpeg(void **state)
{
	struct buf a = { 0 }, b = { 0 };
	make_jpeg(&a, 0);
	make_jpeg(&b, 1);
	assert_true(share(&a) < 25);
	check_format("JPEG", &a, &b, DETECT_MAGIC_JPEG, BREAK | RANDOM, BREAK);
	buf_free(&a);
	buf_free(&b);
}

static void test_png(void **state)
{
	struct buf a = { 0 }, b = { 0 };
	make_png(&a, 0);
	make_png(&b, 1);
	print_message("PNG: %zu bytes, %u%% random\n", a.len, share(&a));
	assert_true(share(&a) < 25);
	assert_true(a.len > 16 * DETECT_BLOCK);
	check_format("PNG", &a, &b, DETECT_MAGIC_PNG, BREAK | RANDOM, BREAK);
	buf_free(&a);
	buf_free(&b);
}

/* Files random-ish already: a normal edit gives no flag, encryption still breaks them. */
static void test_randomish(void **state)
{
	struct buf csv = { 0 }, a = { 0 }, b = { 0 }, x = { 0 };
	for (unsigned v = 0; v < 2; v++) {
		make_csv(&csv, 6000 + 80 * v, v);
		struct buf *z = v ? &b : &a;
		assert_int_equal(buf_reserve(z, ZSTD_compressBound(csv.len)), 0);
		z->len = ZSTD_compress(z->p, z->cap, csv.p, csv.len, 3);
		assert_false(ZSTD_isError(z->len));
	}
	print_message("zstd: %u%% random\n", share(&a));
	assert_true(share(&a) > 50);
	assert_int_equal(compare(&a, &b), 0);
	copy(&x, &a);
	encrypt(&x, 0, x.len);
	assert_int_equal(compare(&a, &x), BREAK);
	/* A JPEG whose data is as flat as ciphertext (the shop generator's photos): a new
	 * picture with the same header gives no flag. */
	make_jpeg(&csv, 0);
	for (unsigned v = 0; v < 2; v++) {
		struct buf *j = v ? &b : &a;
		size_t size = 300000 - 600 * v;
		j->len = 0;
		assert_int_equal(buf_append(j, csv.p, 600), 0);
		assert_int_equal(buf_reserve(j, size - 600), 0);
		uint8_t nonce[crypto_stream_xchacha20_NONCEBYTES] = { (uint8_t)v };
		crypto_stream_xchacha20(j->p + 600, size - 600, nonce, KEY);
		j->len = size;
	}
	assert_true(share(&a) > 90);
	assert_int_equal(compare(&a, &b), 0);
	copy(&x, &a);
	encrypt(&x, 0, 4096);
	assert_int_equal(compare(&a, &x), BREAK);
	buf_free(&csv);
	buf_free(&a);
	buf_free(&b);
	buf_free(&x);
}

/* The live check of a file just written: its head against its extension's promise. */
static unsigned head(const char *ext, const struct buf *b)
{
	return detect_head_check(ext, b->p, b->len < DETECT_BLOCK ? b->len : DETECT_BLOCK);
}

static void test_head_check(void **state)
{
	static const struct { const char *ext; unsigned b64; } f[] = {
		{ "csv", RANDOM }, { "ods", BREAK | RANDOM }, { "pdf", BREAK | RANDOM },
		{ "sqlite", BREAK | RANDOM }, { "jpg", BREAK | RANDOM }, { "png", BREAK | RANDOM },
	};
	struct buf a = { 0 }, x = { 0 };
	for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
		struct buf dummy = { 0 };
		if (i == 0)
			make_csv(&a, 6000, 0);
		else if (i == 1)
			make_ods(&a, 8000, 0);
		else if (i == 2)
			make_pdf(&a, 40, 0);
		else if (i == 3)
			make_sqlite(&a, &dummy);
		else if (i == 4)
			make_jpeg(&a, 0);
		else
			make_png(&a, 0);
		buf_free(&dummy);
		/* As written by its software: nothing; under an extension that promises
		 * nothing, nothing either, whatever becomes of it. */
		assert_int_equal(head(f[i].ext, &a), 0);
		copy(&x, &a);
		encrypt(&x, 0, x.len);
		assert_int_equal(head("dat", &x), 0);
		/* Encrypted whole, or its first 4 KiB only: both. */
		assert_int_equal(head(f[i].ext, &x), BREAK | RANDOM);
		copy(&x, &a);
		encrypt(&x, 0, DETECT_BLOCK);
		assert_int_equal(head(f[i].ext, &x), BREAK | RANDOM);
		/* The ciphertext in base64: text, evenly spread. */
		copy(&x, &a);
		encrypt(&x, 0, x.len);
		base64(&x);
		assert_int_equal(head(f[i].ext, &x), f[i].b64);
		/* Under the name of another format: a break, nothing random. */
		assert_int_equal(head(i == 2 ? "zip" : "pdf", &a), BREAK);
	}
	/* OpenPGP on purpose, empty, or a PDF whose streams look random: nothing. */
	x.len = 0;
	assert_int_equal(buf_append(&x, "\x8c\x0d\x04\x09\x03\x02", 6), 0);
	assert_int_equal(head("csv", &x), 0);
	x.len = 0;
	assert_int_equal(head("pdf", &x), 0);
	buf_free(&a);
	buf_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_magic),
		cmocka_unit_test(test_block_random),
		cmocka_unit_test(test_sampler),
		cmocka_unit_test(test_head_check),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_ods),
		cmocka_unit_test(test_pdf),
		cmocka_unit_test(test_sqlite),
		cmocka_unit_test(test_jpeg),
		cmocka_unit_test(test_png),
		cmocka_unit_test(test_randomish),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
