/* sheet.c: the recovery sheet's files: the key's QR code (libqrencode), then the PDF and the
 * HTML made in memory and each written whole, 0600, in the folder asked for. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>
#include <sodium.h>

#include "sheet.h"
#include "base/util.h"
#include "coffre/error.h"

int sheet_qr_make(const char *text, struct sheet_qr *ret)
{
	/* 8-bit mode keeps the text exactly as printed (lower case, dashes); level M stands a
	 * smudge on paper. */
	QRcode *code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
	if (!code)
		return -1;
	size_t n = (size_t)code->width * (size_t)code->width;
	unsigned char *dark = malloc(n);
	if (!dark) {
		QRcode_free(code);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		dark[i] = code->data[i] & 1;	/* bit 0: dark module; the others say what it is */
	sodium_memzero(code->data, n);
	ret->width = code->width;
	ret->dark = dark;
	QRcode_free(code);
	return 0;
}

void sheet_qr_release(struct sheet_qr *q)
{
	if (q->dark)
		sodium_memzero(q->dark, (size_t)q->width * (size_t)q->width);
	free(q->dark);
	q->dark = NULL;
	q->width = 0;
}

/* Wipes then frees a buffer that held the key. */
static void buf_wipe(struct buf *b)
{
	if (b->p)
		sodium_memzero(b->p, b->cap);
	buf_free(b);
}

int sheet_write(const struct sheet *s, const char *dir, struct cf_error *err)
{
	const struct sheet_words *w = sheet_words_for(s->language);
	char lines[SHEET_KEY_LINES][SHEET_KEY_LINE];
	if (!w)
		return cf_error_set(err, CF_EUSAGE, "no sheet in the language '%s' (fr or en)",
			s->language ? s->language : "");
	if (sheet_key_lines(s->key, lines) != 0)
		return cf_error_set(err, CF_EUSAGE, "not a recovery key");
	sodium_memzero(lines, sizeof lines);
	struct sheet_qr qr = { 0 };
	struct buf pdf = { 0 }, html = { 0 };
	char *pdf_path = util_path("%s/%s", dir, SHEET_PDF);
	char *html_path = util_path("%s/%s", dir, SHEET_HTML);
	int rc;
	if (!pdf_path || !html_path || sheet_qr_make(s->key, &qr) != 0) {
		rc = cf_error_set(err, CF_ENOMEM, "out of memory");
		goto out;
	}
	if (sheet_pdf(s, w, &qr, &pdf) != 0 || sheet_html(s, w, &qr, &html) != 0) {
		rc = cf_error_set(err, CF_ENOMEM, "cannot lay out the recovery sheet");
		goto out;
	}
	if ((rc = util_write_atomic(pdf_path, pdf.p, pdf.len, 0, err)) != 0)
		goto out;
	rc = util_write_atomic(html_path, html.p, html.len, 0, err);
out:
	buf_wipe(&pdf);
	buf_wipe(&html);
	sheet_qr_release(&qr);
	free(pdf_path);
	free(html_path);
	return rc;
}
