/* sheet.h: the recovery sheet, one printed page with which a new computer gets the data back:
 * the shop's name, the date, the recovery key (grouped, and as a QR code), where the
 * repository's copies are, and the steps of a restore. Written as a PDF (cairo) and as an
 * HTML page that prints, in French or English whatever the locale.
 *
 * The sheet holds the recovery key: its files are written 0600 in the folder asked for and
 * nowhere else, and the memory that held their bytes is wiped. */
#ifndef COFFRE_CLI_SHEET_H
#define COFFRE_CLI_SHEET_H

#include <stddef.h>

struct buf;
struct cf_error;

/* One place that holds a copy of the repository. Never a secret in it: ${where} is a URL or
 * path as sheet_safe_url gives it. */
struct sheet_place {
	const char *name;	/* the [destination NAME], or NULL for the spool */
	const char *kind;	/* dst_url_kind: "local", "usb", "s3", "sftp" */
	const char *where;	/* folder, usb:LABEL, s3://host/bucket/prefix, sftp://user@host/... */
	const char *host_key;	/* SFTP: the pinned host key (SHA256:...), public; or NULL */
	const char *region;	/* S3: the region when not the default; or NULL */
};

/* What a sheet shows (a value record; every string borrowed from the caller). */
struct sheet {
	const char *language;	/* "fr" or "en" */
	const char *shop;	/* the shop's name */
	const char *date;	/* when it was made, as it is printed */
	const char *key;	/* the recovery key's text, as repo_key_recovery_rotate gives it */
	const struct sheet_place *places;	/* the spool first, then each destination */
	size_t nplaces;
};

#define SHEET_PDF "coffre-recovery-sheet.pdf"
#define SHEET_HTML "coffre-recovery-sheet.html"

/* sheet_write(s, dir, err): ${dir}/SHEET_PDF and ${dir}/SHEET_HTML, each written whole
 * (temp file, fsync, rename, fsync of ${dir}), mode 0600, replacing older ones. Returns 0,
 * CF_EUSAGE (a language other than fr and en, a key that is not one), CF_ENOMEM, or CF_EIO
 * (a file could not be written: then neither or only the PDF is there). */
int sheet_write(const struct sheet *s, const char *dir, struct cf_error *err);

/* ---- pieces shared by the PDF and the HTML writers (sheet_text.c) ---- */

/* Words of the sheet in one language (sheet_words.c). {repo} in a step's command stands
 * for the place the commands read from. */
struct sheet_words {
	const char *colon;	/* ": " or, in French, " : " */
	const char *title, *made_on, *warning, *key_label, *key_note, *places_label, *spool;
	const char *kind_local, *kind_usb, *kind_s3, *kind_sftp, *host_key, *region;
	const char *steps_label;
	const char *step[5];
	const char *const *step_cmd;	/* the five steps' commands */
	const char *footer;
};
/* sheet_words_for(language): the words in "fr" or "en"; NULL for another language. */
const struct sheet_words *sheet_words_for(const char *language);

#define SHEET_KEY_DIGITS 64
#define SHEET_GROUP 4		/* characters in a group of the printed key */
#define SHEET_GROUPS_PER_LINE 4
#define SHEET_KEY_LINES (SHEET_KEY_DIGITS / (SHEET_GROUP * SHEET_GROUPS_PER_LINE))
#define SHEET_KEY_LINE (SHEET_GROUPS_PER_LINE * (SHEET_GROUP + 1))	/* with its NUL */
/* sheet_key_lines(key, ret): the key's 64 hex digits (dashes and blanks skipped, lower
 * case), grouped by SHEET_GROUP with dashes, SHEET_GROUPS_PER_LINE groups a line. Returns
 * 0, or -1 when ${key} is not 64 hex digits with only dashes and blanks besides. */
int sheet_key_lines(const char *key, char ret[SHEET_KEY_LINES][SHEET_KEY_LINE]);

/* sheet_html_escape(b, s): ${s} appended to ${b} with & < > " ' as character references.
 * Returns 0 or -1 (out of memory). */
int sheet_html_escape(struct buf *b, const char *s);

/* sheet_safe_url(url): a copy of ${url} (malloc'd) without what a URL could carry of a
 * secret: the password of "user:password@host", the query and the fragment. NULL when out of
 * memory. */
char *sheet_safe_url(const char *url);

/* sheet_fill(tmpl, repo): ${tmpl} with each {repo} replaced by ${repo}, quoted for a shell
 * when it needs to be (malloc'd, or NULL). */
char *sheet_fill(const char *tmpl, const char *repo);

/* sheet_kind_word(w, kind): the words for a kind of place. */
const char *sheet_kind_word(const struct sheet_words *w, const char *kind);

/* sheet_place_label(w, pl, ret, n): what names a place: "NAME — KIND" for a destination, the
 * words for the shop's own repository when it is an unnamed folder, else the kind's words. */
void sheet_place_label(const struct sheet_words *w, const struct sheet_place *pl, char *ret,
	size_t n);

/* sheet_restore_place(s): the place the steps' commands read from: the first destination
 * (a copy away from the computer), else the spool. */
const char *sheet_restore_place(const struct sheet *s);

/* The QR code of the key: ${width} x ${width} modules, row by row, 1 for dark. */
struct sheet_qr {
	int width;
	unsigned char *dark;
};
/* sheet_qr_make(text, ret): encode ${text} (8-bit, error correction M). 0 or -1. */
int sheet_qr_make(const char *text, struct sheet_qr *ret);
void sheet_qr_release(struct sheet_qr *q);

/* sheet_pdf(s, w, qr, ret), sheet_html(s, w, qr, ret): the documents' bytes into ${ret}.
 * Return 0, or -1 (out of memory, or cairo failed). */
int sheet_pdf(const struct sheet *s, const struct sheet_words *w, const struct sheet_qr *qr,
	struct buf *ret);
int sheet_html(const struct sheet *s, const struct sheet_words *w, const struct sheet_qr *qr,
	struct buf *ret);

#endif
