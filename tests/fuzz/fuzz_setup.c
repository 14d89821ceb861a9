/* fuzz_setup.c: what coffre setup reads from other programs' files: the shares of an
 * smb.conf (through inih, after its indentation is taken away) and Dolibarr's data root in a
 * conf.php, and the database it names. Every path reported must be absolute, free of '%' and
 * of line ends, and come from the text; every database value one printable line. */
#include <limits.h>
#include <string.h>

#include "setup.h"
#include "fuzz.h"

static int share(void *ctx, const char *name, const char *path)
{
	size_t *n = ctx;
	FUZZ_CHECK(path[0] == '/');
	FUZZ_CHECK(!strchr(path, '%') && !strchr(path, '\n'));
	FUZZ_CHECK(strcmp(name, "global") && strcmp(name, "homes") && strcmp(name, "printers"));
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	FUZZ_CHECK(text);
	memcpy(text, data, size);
	text[size] = 0;
	char *root = setup_dolibarr_root(text);
	if (root) {
		FUZZ_CHECK(strlen(root) < PATH_MAX && !strchr(root, '\n'));
		FUZZ_CHECK(strstr(text, root));
		free(root);
	}
	struct setup_dolibarr db;
	if (setup_dolibarr_db(text, &db) == 0) {
		/* A database named, of a known kind; every value one line of printable bytes
		 * that fits its field. */
		FUZZ_CHECK(db.name[0]);
		FUZZ_CHECK(!strcmp(db.type, "mysqli") || !strcmp(db.type, "mysql") ||
			   !strcmp(db.type, "pgsql"));
		const char *v[] = { db.type, db.host, db.port, db.name, db.user, db.pass };
		for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
			FUZZ_CHECK(strnlen(v[i], SETUP_DB_VALUE_MAX) < SETUP_DB_VALUE_MAX);
			for (const unsigned char *c = (const unsigned char *)v[i]; *c; c++)
				FUZZ_CHECK(*c >= 0x20 && *c != 0x7f);
		}
		/* Taken from the text, as written there unless PHP's \' or \\ was decoded. */
		FUZZ_CHECK(strpbrk(db.name, "'\\") || strstr(text, db.name));
	}
	size_t n = 0;
	FUZZ_CHECK(setup_samba_paths(text, share, &n) == 0);
	free(text);
	return 0;
}
