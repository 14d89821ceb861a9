/* detect_note.c: ransom notes, by their names and by their words, and file extensions (see
 * detect.h). */
#include <fnmatch.h>
#include <stddef.h>
#include <string.h>

#include "coffre/detect.h"

/* The names ransomware families give their notes (a note per folder), as globs matched
 * without case. Generic names a shop may hold (README.txt, LISEZMOI.txt) are left out. */
static const char *const NOTE_NAMES[] = {
	"_readme.txt",			/* STOP/Djvu */
	"*how_to_decrypt*", "*how-to-decrypt*", "*how to decrypt*", "*howtodecrypt*",
	"*how_to_recover*", "*how-to-recover*", "*how_to_restore*", "*how-to-restore*",
	"*how_to_back_files*", "*how_to_unlock*",
	"*readme_for_decrypt*", "*readme-for-decrypt*", "*read_me_to_decrypt*",
	"*decrypt_instruction*", "*decrypt-instruction*", "*decryption_instruction*",
	"*decrypt_my_files*", "*decrypt-my-files*", "#decrypt my files#*", "help_decrypt*",
	"*restore-my-files*", "*restore_my_files*", "*restore_files_*", "*recover-files*",
	"*recovery_instructions*", "*your_files_are_encrypted*", "*files_encrypted*",
	"help_your_files*", "help_restore*", "!!!*read*me*!!!*", "!!!*decrypt*",
	"*readme.lockbit*", "*.lockbit.txt", "*readme.hive*", "*-readme.txt",
	"*comment_dechiffrer*", "*comment_restaurer*", "*comment-restaurer*",
};

int detect_note_name(const char *name, const char *const *extra, size_t nextra)
{
	const char *slash = strrchr(name, '/');
	if (slash)
		name = slash + 1;
	if (strlen(name) > 255)
		return 0;
	for (size_t i = 0; i < sizeof NOTE_NAMES / sizeof NOTE_NAMES[0]; i++)
		if (fnmatch(NOTE_NAMES[i], name, FNM_CASEFOLD) == 0)
			return 1;
	for (size_t i = 0; extra && i < nextra; i++)
		if (extra[i] && fnmatch(extra[i], name, FNM_CASEFOLD) == 0)
			return 1;
	return 0;
}

/* The phrases, folded as fold() folds the text: lower case, French accents dropped. No
 * phrase is part of another, so that one sentence counts once. */
static const char *const PHRASES[] = {
	"bitcoin", "monero", "files have been encrypted", "files are encrypted", "decrypt",
	"private key", "tor browser", "ransom",
	"fichiers ont ete chiffres", "fichiers ont ete cryptes", "fichiers sont chiffres",
	"fichiers sont cryptes", "dechiffr", "cle privee", "rancon", "navigateur tor",
};
#define NPHRASES (sizeof PHRASES / sizeof PHRASES[0])

#define SCAN_MAX (1u << 20)	/* a note is short: the first MiB is read */
#define CHUNK 4096
#define OVERLAP 64		/* longer than any phrase and than an onion address */

/* A byte of Latin-1 (0xC0–0xFF), upper or lower case, as the ASCII letter it carries. */
static char latin1_base(uint8_t c)
{
	static const char map[] = "aaaaaaaceeeeiiiidnooooo*ouuuuyts" "aaaaaaaceeeeiiiidnooooo/ouuuuyty";
	return c >= 0xc0 ? map[c - 0xc0] : ' ';
}

/* Folds the text into ASCII: lower case; é, É, è… as e (UTF-8 and Latin-1); NULs dropped
 * (UTF-16 notes read as ASCII); other bytes as a space. */
static size_t fold(const uint8_t *p, size_t n, size_t *used, char *out, size_t cap)
{
	size_t i = 0, o = 0;
	while (i < n && o < cap) {
		uint8_t c = p[i];
		if (c == 0) {
			i++;
			continue;
		}
		if (c < 0x80) {
			out[o++] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : (char)c;
			i++;
		} else if (c == 0xc3 && i + 1 < n && (p[i + 1] & 0xc0) == 0x80) {
			out[o++] = latin1_base((uint8_t)(p[i + 1] + 0x40));
			i += 2;
		} else if (c >= 0xc2 && c <= 0xf4 && i + 1 < n && (p[i + 1] & 0xc0) == 0x80) {
			/* another UTF-8 character: a space, its continuation bytes skipped */
			out[o++] = ' ';
			for (i++; i < n && (p[i] & 0xc0) == 0x80; i++)
				;
		} else {
			out[o++] = latin1_base(c);
			i++;
		}
	}
	*used = i;
	return o;
}

static int base32(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

/* A Tor address: 16 (v2) or 56 (v3) base32 letters before ".onion". */
static int has_onion(const char *s, size_t n)
{
	for (size_t i = 0; i + 6 <= n; i++) {
		if (memcmp(s + i, ".onion", 6) != 0)
			continue;
		size_t k = 0;
		while (k < i && base32(s[i - k - 1]))
			k++;
		if (k == 16 || k == 56)
			return 1;
	}
	return 0;
}

int detect_note_text(const uint8_t *p, size_t n)
{
	char buf[OVERLAP + CHUNK];
	size_t keep = 0;
	uint32_t seen = 0;
	if (n > SCAN_MAX)
		n = SCAN_MAX;
	while (n > 0) {
		size_t used;
		size_t got = fold(p, n, &used, buf + keep, CHUNK);
		p += used;
		n -= used;
		size_t len = keep + got;
		if (has_onion(buf, len))
			return 1;
		for (size_t i = 0; i < NPHRASES; i++)
			if (memmem(buf, len, PHRASES[i], strlen(PHRASES[i])))
				seen |= 1u << i;
		if (__builtin_popcount(seen) >= 2)
			return 1;
		keep = len < OVERLAP ? len : OVERLAP;
		memmove(buf, buf + len - keep, keep);
	}
	return 0;
}

void detect_ext(const char *name, char *buf, size_t cap)
{
	if (cap == 0)
		return;
	buf[0] = '\0';
	const char *slash = strrchr(name, '/');
	if (slash)
		name = slash + 1;
	const char *dot = strrchr(name, '.');
	if (!dot || dot == name)	/* none, or a hidden file's name (".profile") */
		return;
	size_t len = strlen(dot + 1);
	if (len == 0 || len > 16 || len > cap - 1)
		return;
	for (size_t i = 0; i < len; i++) {
		char c = dot[1 + i];
		buf[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	buf[len] = '\0';
}
