/* sheet_pdf.c: the recovery sheet as a one-page A4 PDF, drawn with cairo (its toy text API;
 * the QR code's modules as filled squares). The page is laid out twice: once to measure, then
 * drawn, scaled down if many destinations would push it past one page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <sodium.h>

#include "sheet.h"
#include "base/util.h"

#define PAGE_W 595.28	/* A4 in points */
#define PAGE_H 841.89
#define MARGIN 48.0
#define TEXT_W (PAGE_W - 2 * MARGIN)
#define QR_SIZE 150.0	/* points, quiet zone included */
#define SANS "DejaVu Sans"
#define MONO "DejaVu Sans Mono"

struct pen {
	cairo_t *cr;
	int draw;	/* 0: measure only */
	double y;	/* baseline of the next line */
};

static void font(struct pen *p, const char *face, int bold, double size)
{
	cairo_select_font_face(p->cr, face, CAIRO_FONT_SLANT_NORMAL,
		bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(p->cr, size);
}

static double advance(cairo_t *cr, const char *s, size_t n)
{
	char tmp[512];
	cairo_text_extents_t e;
	if (n >= sizeof tmp)
		return 1e9;	/* longer than any line */
	memcpy(tmp, s, n);
	tmp[n] = 0;
	cairo_text_extents(cr, tmp, &e);
	return e.x_advance;
}

static void show(struct pen *p, double x, const char *s, size_t n)
{
	char tmp[512];
	if (!p->draw)
		return;
	if (n >= sizeof tmp)
		n = sizeof tmp - 1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	cairo_move_to(p->cr, x, p->y);
	cairo_show_text(p->cr, tmp);
}

/* The longest start of ${s} (at most ${n} bytes) that fits in ${width}: up to a space when
 * one fits, else as many whole UTF-8 characters as fit (a long URL), at least one. */
static size_t fit(cairo_t *cr, const char *s, size_t n, double width)
{
	if (advance(cr, s, n) <= width)
		return n;
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (s[i] == ' ' && advance(cr, s, i) <= width)
			best = i;
	if (best)
		return best;
	size_t i = 1;
	while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
		i++;
	for (size_t j = i; j < n;) {
		size_t k = j + 1;
		while (k < n && ((unsigned char)s[k] & 0xC0) == 0x80)
			k++;
		if (advance(cr, s, j) > width)
			break;
		i = j;
		j = k;
	}
	if (advance(cr, s, n) <= width)
		return n;
	return i;
}

/* ${s} from ${x}, wrapped within ${width}, one line every ${lead} points. */
static void para(struct pen *p, double x, double width, double lead, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		size_t k = fit(p->cr, s, n, width);
		show(p, x, s, k);
		p->y += lead;
		s += k;
		n -= k;
		while (n && *s == ' ') {
			s++;
			n--;
		}
	}
}

static void heading(struct pen *p, const char *s)
{
	p->y += 10;
	font(p, SANS, 1, 13);
	para(p, MARGIN, TEXT_W, 18, s);
}

static void draw_qr(struct pen *p, const struct sheet_qr *qr, double x, double y)
{
	double m = QR_SIZE / (qr->width + 8);	/* 4 light modules around: the quiet zone */
	cairo_t *cr = p->cr;
	if (!p->draw)
		return;
	cairo_set_source_rgb(cr, 1, 1, 1);
	cairo_rectangle(cr, x, y, QR_SIZE, QR_SIZE);
	cairo_fill(cr);
	cairo_set_source_rgb(cr, 0, 0, 0);
	for (int r = 0; r < qr->width; r++)
		for (int c = 0; c < qr->width; c++)
			if (qr->dark[r * qr->width + c])
				cairo_rectangle(cr, x + (c + 4) * m, y + (r + 4) * m, m, m);
	cairo_fill(cr);
}

static void place_line(struct pen *p, const struct sheet_words *w, const struct sheet_place *pl,
	char *line, size_t n)
{
	char label[600];
	sheet_place_label(w, pl, label, sizeof label);
	snprintf(line, n, "• %s%s%s", label, w->colon, pl->where);
	font(p, SANS, 0, 10.5);
	para(p, MARGIN + 6, TEXT_W - 6, 14, line);
	font(p, SANS, 0, 9);
	if (pl->region) {
		snprintf(line, n, "%s%s%s", w->region, w->colon, pl->region);
		para(p, MARGIN + 20, TEXT_W - 20, 12, line);
	}
	if (pl->host_key) {
		snprintf(line, n, "%s%s%s", w->host_key, w->colon, pl->host_key);
		para(p, MARGIN + 20, TEXT_W - 20, 12, line);
	}
}

/* Lays the whole page out from the top; returns -1 when out of memory. */
static int layout(struct pen *p, const struct sheet *s, const struct sheet_words *w,
	const struct sheet_qr *qr, const char lines[SHEET_KEY_LINES][SHEET_KEY_LINE])
{
	char line[1024];
	cairo_set_source_rgb(p->cr, 0, 0, 0);
	p->y = MARGIN + 14;
	font(p, SANS, 1, 19);
	para(p, MARGIN, TEXT_W, 24, w->title);
	font(p, SANS, 1, 15);
	para(p, MARGIN, TEXT_W, 20, s->shop);
	snprintf(line, sizeof line, "%s %s", w->made_on, s->date);
	font(p, SANS, 0, 11);
	para(p, MARGIN, TEXT_W, 16, line);

	/* The warning, framed. */
	p->y += 8;
	double top = p->y - 13;
	font(p, SANS, 1, 10.5);
	para(p, MARGIN + 10, TEXT_W - 20, 14, w->warning);
	if (p->draw) {
		cairo_set_line_width(p->cr, 2);
		cairo_rectangle(p->cr, MARGIN, top, TEXT_W, p->y - top - 4);
		cairo_stroke(p->cr);
	}

	heading(p, w->key_label);
	double key_top = p->y - 12;
	draw_qr(p, qr, MARGIN + TEXT_W - QR_SIZE, key_top);
	p->y += 12;
	font(p, MONO, 1, 19);
	for (int i = 0; i < SHEET_KEY_LINES; i++) {
		show(p, MARGIN + 6, lines[i], strlen(lines[i]));
		p->y += 28;
	}
	font(p, SANS, 0, 9);
	para(p, MARGIN + 6, TEXT_W - QR_SIZE - 16, 12, w->key_note);
	if (p->y < key_top + QR_SIZE + 8)
		p->y = key_top + QR_SIZE + 8;

	heading(p, w->places_label);
	for (size_t i = 0; i < s->nplaces; i++)
		place_line(p, w, &s->places[i], line, sizeof line);

	heading(p, w->steps_label);
	const char *repo = sheet_restore_place(s);
	for (int i = 0; i < 5; i++) {
		char *cmd = sheet_fill(w->step_cmd[i], repo);
		if (!cmd)
			return -1;
		snprintf(line, sizeof line, "%d.", i + 1);
		p->y += 3;
		font(p, SANS, 1, 10.5);
		show(p, MARGIN + 4, line, strlen(line));
		font(p, SANS, 0, 10.5);
		para(p, MARGIN + 22, TEXT_W - 22, 14, w->step[i]);
		font(p, MONO, 0, 9);
		para(p, MARGIN + 34, TEXT_W - 34, 12, cmd);
		free(cmd);
	}
	p->y += 10;
	font(p, SANS, 0, 9);
	para(p, MARGIN, TEXT_W, 12, w->footer);
	return 0;
}

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int len)
{
	return buf_append(closure, data, len) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

int sheet_pdf(const struct sheet *s, const struct sheet_words *w, const struct sheet_qr *qr,
	struct buf *ret)
{
	char lines[SHEET_KEY_LINES][SHEET_KEY_LINE];
	if (sheet_key_lines(s->key, lines) != 0)
		return -1;
	cairo_surface_t *surf = cairo_pdf_surface_create_for_stream(to_buf, ret, PAGE_W, PAGE_H);
	cairo_t *cr = cairo_create(surf);
	struct pen p = { .cr = cr };
	int rc = -1;
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_TITLE, w->title);
	cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "coffre");
	if (layout(&p, s, w, qr, lines) != 0)
		goto out;
	/* One page whatever the number of destinations: shrink what would not fit. */
	double scale = p.y + MARGIN > PAGE_H ? (PAGE_H - MARGIN) / p.y : 1.0;
	cairo_scale(cr, scale, scale);
	p.draw = 1;
	if (layout(&p, s, w, qr, lines) != 0)
		goto out;
	cairo_show_page(cr);
	rc = 0;
out:
	sodium_memzero(lines, sizeof lines);
	cairo_destroy(cr);
	cairo_surface_finish(surf);
	if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS)
		rc = -1;
	cairo_surface_destroy(surf);
	/* cairo and fontconfig keep the fonts they found in caches for the process's life; the
	 * sheet is their only use, so they go now rather than at exit (where leak checkers count
	 * them). */
	cairo_debug_reset_static_data();
	FcFini();
	return rc;
}
