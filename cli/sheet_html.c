/* sheet_html.c: the recovery sheet as one self-contained HTML page that prints on one A4
 * sheet: its style inline, the QR code as inline SVG, nothing fetched from anywhere. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sheet.h"
#include "base/util.h"

static const char style[] =
	"body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:11pt;max-width:180mm;"
	"margin:10mm auto;color:#000;background:#fff}\n"
	"h1{font-size:18pt;margin:0 0 2mm}.shop{font-size:15pt;font-weight:bold;margin:0 0 2mm}\n"
	"h2{font-size:13pt;margin:5mm 0 2mm}\n"
	".warn{border:2px solid #000;padding:2mm 3mm;font-weight:bold}\n"
	".key{display:flex;justify-content:space-between;align-items:flex-start;gap:6mm}\n"
	".key pre{font-family:'DejaVu Sans Mono','Courier New',monospace;font-size:19pt;"
	"font-weight:bold;line-height:1.45;margin:0}\n"
	".key svg{width:50mm;height:50mm;flex:none}\n"
	".note{font-size:9pt}code{font-family:'DejaVu Sans Mono',monospace;font-size:9pt;"
	"display:block;margin:1mm 0 2mm 4mm;overflow-wrap:anywhere}\n"
	"ol{padding-left:6mm}li{margin-bottom:1mm}ul{padding-left:5mm;margin:0}\n"
	"@page{size:A4;margin:12mm}\n"
	"@media print{body{margin:0;max-width:none;font-size:10pt}h2{margin-top:4mm}"
	".key svg{width:45mm;height:45mm}.key,li{break-inside:avoid}*{-webkit-print-color-adjust:exact;"
	"print-color-adjust:exact}}\n";

/* Appends text from a format (only for what needs no escaping: numbers, fixed markup). */
static int addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int addf(struct buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return -1;
	return buf_append(b, tmp, (size_t)n);
}

static int add(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* <tag>escaped text</tag> */
static int element(struct buf *b, const char *tag, const char *text)
{
	return addf(b, "<%s>", tag) || sheet_html_escape(b, text) ||
	       addf(b, "</%s>\n", tag);
}

static int qr_svg(struct buf *b, const struct sheet_qr *qr)
{
	int side = qr->width + 8;	/* the quiet zone: 4 light modules around */
	if (addf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
		    "shape-rendering=\"crispEdges\" role=\"img\"><rect width=\"%d\" height=\"%d\" "
		    "fill=\"#fff\"/><path fill=\"#000\" d=\"", side, side, side, side))
		return -1;
	for (int r = 0; r < qr->width; r++)
		for (int c = 0; c < qr->width; c++)
			if (qr->dark[r * qr->width + c] &&
			    addf(b, "M%d %dh1v1h-1z", c + 4, r + 4))
				return -1;
	return add(b, "\"/></svg>\n");
}

static int place_item(struct buf *b, const struct sheet_words *w, const struct sheet_place *pl)
{
	char label[600];
	sheet_place_label(w, pl, label, sizeof label);
	if (add(b, "<li>") || sheet_html_escape(b, label))
		return -1;
	if (sheet_html_escape(b, w->colon) || add(b, "<code style=\"display:inline;margin:0\">") ||
	    sheet_html_escape(b, pl->where) || add(b, "</code>"))
		return -1;
	const char *extra[2][2] = { { w->region, pl->region }, { w->host_key, pl->host_key } };
	for (int i = 0; i < 2; i++)
		if (extra[i][1] && (add(b, "<br><span class=\"note\">") ||
				     sheet_html_escape(b, extra[i][0]) ||
				     sheet_html_escape(b, w->colon) ||
				     sheet_html_escape(b, extra[i][1]) || add(b, "</span>")))
			return -1;
	return add(b, "</li>\n");
}

static int page(struct buf *b, const struct sheet *s, const struct sheet_words *w,
	const struct sheet_qr *qr, const char lines[SHEET_KEY_LINES][SHEET_KEY_LINE])
{
	if (addf(b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n",
		    s->language) ||
	    add(b, "<meta name=\"referrer\" content=\"no-referrer\">\n<title>") ||
	    sheet_html_escape(b, w->title) || add(b, " — ") || sheet_html_escape(b, s->shop) ||
	    add(b, "</title>\n<style>\n") || add(b, style) || add(b, "</style>\n</head>\n<body>\n"))
		return -1;
	if (element(b, "h1", w->title) || add(b, "<p class=\"shop\">") ||
	    sheet_html_escape(b, s->shop) || add(b, "</p>\n<p>") ||
	    sheet_html_escape(b, w->made_on) || add(b, " ") || sheet_html_escape(b, s->date) ||
	    add(b, "</p>\n<p class=\"warn\">") || sheet_html_escape(b, w->warning) ||
	    add(b, "</p>\n"))
		return -1;
	if (element(b, "h2", w->key_label) || add(b, "<div class=\"key\"><div><pre>"))
		return -1;
	for (int i = 0; i < SHEET_KEY_LINES; i++)
		if (add(b, lines[i]) || add(b, i + 1 < SHEET_KEY_LINES ? "\n" : ""))
			return -1;
	if (add(b, "</pre>\n<p class=\"note\">") || sheet_html_escape(b, w->key_note) ||
	    add(b, "</p></div>\n") || qr_svg(b, qr) || add(b, "</div>\n"))
		return -1;
	if (element(b, "h2", w->places_label) || add(b, "<ul>\n"))
		return -1;
	for (size_t i = 0; i < s->nplaces; i++)
		if (place_item(b, w, &s->places[i]))
			return -1;
	if (add(b, "</ul>\n") || element(b, "h2", w->steps_label) || add(b, "<ol>\n"))
		return -1;
	const char *repo = sheet_restore_place(s);
	for (int i = 0; i < 5; i++) {
		char *cmd = sheet_fill(w->step_cmd[i], repo);
		int bad = !cmd || add(b, "<li>") || sheet_html_escape(b, w->step[i]) ||
			  add(b, "<code>") || sheet_html_escape(b, cmd) || add(b, "</code></li>\n");
		free(cmd);
		if (bad)
			return -1;
	}
	return add(b, "</ol>\n<p class=\"note\">") || sheet_html_escape(b, w->footer) ||
	       add(b, "</p>\n</body>\n</html>\n");
}

int sheet_html(const struct sheet *s, const struct sheet_words *w, const struct sheet_qr *qr,
	struct buf *ret)
{
	char lines[SHEET_KEY_LINES][SHEET_KEY_LINE];
	if (sheet_key_lines(s->key, lines) != 0)
		return -1;
	int rc = page(ret, s, w, qr, lines) ? -1 : 0;
	sodium_memzero(lines, sizeof lines);
	return rc;
}
