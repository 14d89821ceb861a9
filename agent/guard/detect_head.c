/* detect_head.c: a written file's first block against what its extension promises, for the
 * live signals of the watcher (see detect.h): an attack is told at the third file it
 * encrypts, without waiting for the backup that compares each file with its last version. */
#include <string.h>

#include "coffre/detect.h"

/* What an extension promises. Names a shop's software does not tie to one format (.db:
 * SQLite, Berkeley DB, Windows' thumbnail caches...) promise nothing. */
enum promise { P_NONE, P_TEXT, P_PDF, P_ZIP, P_SQLITE, P_JPEG, P_PNG, P_GZIP, P_ZSTD };

static const struct {
	const char *ext;
	enum promise p;
} promises[] = {
	{ "csv", P_TEXT }, { "tsv", P_TEXT }, { "txt", P_TEXT }, { "xml", P_TEXT },
	{ "html", P_TEXT }, { "htm", P_TEXT }, { "json", P_TEXT }, { "md", P_TEXT },
	{ "sql", P_TEXT }, { "rtf", P_TEXT }, { "ini", P_TEXT },
	{ "pdf", P_PDF },
	{ "zip", P_ZIP }, { "ods", P_ZIP }, { "odt", P_ZIP }, { "odp", P_ZIP }, { "odg", P_ZIP },
	{ "docx", P_ZIP }, { "xlsx", P_ZIP }, { "pptx", P_ZIP },
	{ "sqlite", P_SQLITE }, { "sqlite3", P_SQLITE },
	{ "jpg", P_JPEG }, { "jpeg", P_JPEG }, { "png", P_PNG },
	{ "gz", P_GZIP }, { "tgz", P_GZIP }, { "zst", P_ZSTD },
};

static enum promise promise_of(const char *ext)
{
	for (size_t i = 0; i < sizeof promises / sizeof *promises; i++)
		if (strcmp(ext, promises[i].ext) == 0)
			return promises[i].p;
	return P_NONE;
}

static int kept(enum promise p, enum detect_magic m)
{
	switch (p) {
	case P_TEXT:
		return m == DETECT_MAGIC_TEXT;
	case P_PDF:
		return m == DETECT_MAGIC_PDF;
	case P_ZIP:	/* one container: a save may reorder the entries */
		return m == DETECT_MAGIC_ZIP || m == DETECT_MAGIC_ODF || m == DETECT_MAGIC_OOXML;
	case P_SQLITE:
		return m == DETECT_MAGIC_SQLITE;
	case P_JPEG:
		return m == DETECT_MAGIC_JPEG;
	case P_PNG:
		return m == DETECT_MAGIC_PNG;
	case P_GZIP:
		return m == DETECT_MAGIC_GZIP;
	case P_ZSTD:
		return m == DETECT_MAGIC_ZSTD;
	default:
		return 1;
	}
}

unsigned detect_head_check(const char *ext, const uint8_t *p, size_t n)
{
	enum promise pr = promise_of(ext);
	enum detect_magic m = detect_magic(p, n);
	/* Too short to tell, or encrypted on purpose (gpg writes its own format). */
	if (pr == P_NONE || m == DETECT_MAGIC_NONE || m == DETECT_MAGIC_PGP)
		return 0;
	unsigned flags = kept(pr, m) ? 0 : DETECT_FILE_FORMAT_BREAK;
	if (n > DETECT_BLOCK)
		n = DETECT_BLOCK;
	/* A random head means nothing for formats whose own output looks random (a PDF's
	 * streams, gzip, zstd): only where the promise broke, or where text was promised. */
	if ((flags || pr == P_TEXT) && (detect_block_random(p, n) || detect_block_random_text(p, n)))
		flags |= DETECT_FILE_TURNED_RANDOM;
	return flags;
}
