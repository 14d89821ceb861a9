/* sheet_text.c: the recovery sheet's text pieces that the PDF and the HTML share: the key in
 * lines of groups, HTML escaping, URLs cleared of secrets, the steps' commands filled in. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sheet.h"
#include "base/util.h"

int sheet_key_lines(const char *key, char ret[SHEET_KEY_LINES][SHEET_KEY_LINE])
{
	char digits[SHEET_KEY_DIGITS];
	size_t n = 0;
	for (const char *p = key; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (!isxdigit(c) || n == SHEET_KEY_DIGITS)
			return -1;
		digits[n++] = (char)tolower(c);
	}
	if (n != SHEET_KEY_DIGITS)
		return -1;
	char out[SHEET_KEY_LINES][SHEET_KEY_LINE];
	for (size_t line = 0; line < SHEET_KEY_LINES; line++) {
		size_t o = 0;
		for (size_t g = 0; g < SHEET_GROUPS_PER_LINE; g++) {
			if (g)
				out[line][o++] = '-';
			size_t from = (line * SHEET_GROUPS_PER_LINE + g) * SHEET_GROUP;
			memcpy(out[line] + o, digits + from, SHEET_GROUP);
			o += SHEET_GROUP;
		}
		out[line][o] = 0;
	}
	memcpy(ret, out, sizeof out);
	sodium_memzero(out, sizeof out);
	sodium_memzero(digits, sizeof digits);
	return 0;
}

int sheet_html_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		const char *ref = NULL;
		switch (*s) {
		case '&': ref = "&amp;"; break;
		case '<': ref = "&lt;"; break;
		case '>': ref = "&gt;"; break;
		case '"': ref = "&quot;"; break;
		case '\'': ref = "&#39;"; break;
		default: break;
		}
		if (ref ? buf_append(b, ref, strlen(ref)) : buf_append(b, s, 1))
			return -1;
	}
	return 0;
}

char *sheet_safe_url(const char *url)
{
	/* The fragment and the query go first: neither names a place, and either could carry a
	 * token. */
	size_t len = strcspn(url, "?#");
	char *out = strndup(url, len);
	if (!out)
		return NULL;
	char *scheme = strstr(out, "://");
	if (!scheme)
		return out;
	char *auth = scheme + 3;
	size_t authlen = strcspn(auth, "/");
	char *at = memrchr(auth, '@', authlen);
	if (!at)
		return out;
	char *colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon) {
		/* user:password@host becomes user@host */
		sodium_memzero(colon, (size_t)(at - colon));
		memmove(colon, at, strlen(at) + 1);
	}
	return out;
}

/* Appends ${s} as one word of a shell command line: as it is when it holds only characters
 * no shell reads specially, else in single quotes. */
static int append_shell_word(struct buf *b, const char *s)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789@%+=:,./_-";
	if (*s && strspn(s, plain) == strlen(s))
		return buf_append(b, s, strlen(s));
	if (buf_append(b, "'", 1))
		return -1;
	for (; *s; s++)
		if (*s == '\'' ? buf_append(b, "'\\''", 4) : buf_append(b, s, 1))
			return -1;
	return buf_append(b, "'", 1);
}

char *sheet_fill(const char *tmpl, const char *repo)
{
	static const char mark[] = "{repo}";
	struct buf b = { 0 };
	const char *p = tmpl, *q;
	while ((q = strstr(p, mark))) {
		if (buf_append(&b, p, (size_t)(q - p)) || append_shell_word(&b, repo))
			goto fail;
		p = q + sizeof mark - 1;
	}
	if (buf_append(&b, p, strlen(p) + 1))
		goto fail;
	return (char *)b.p;
fail:
	buf_free(&b);
	return NULL;
}

const char *sheet_kind_word(const struct sheet_words *w, const char *kind)
{
	if (kind && strcmp(kind, "usb") == 0)
		return w->kind_usb;
	if (kind && strcmp(kind, "s3") == 0)
		return w->kind_s3;
	if (kind && strcmp(kind, "sftp") == 0)
		return w->kind_sftp;
	return w->kind_local;
}

void sheet_place_label(const struct sheet_words *w, const struct sheet_place *pl, char *ret,
	size_t n)
{
	const char *kind = sheet_kind_word(w, pl->kind);
	if (pl->name)
		snprintf(ret, n, "%s — %s", pl->name, kind);
	else
		snprintf(ret, n, "%s", kind == w->kind_local ? w->spool : kind);
}

const char *sheet_restore_place(const struct sheet *s)
{
	for (size_t i = 0; i < s->nplaces; i++)
		if (s->places[i].name)
			return s->places[i].where;
	return s->nplaces ? s->places[0].where : "";
}
