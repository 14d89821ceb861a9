/* fuzz_setup.c: what coffre setup reads from other programs' files: the shares of an
 * smb.conf (through inih, after its indentation is taken away) and Dolibarr's data root in a
 * conf.php. Every path reported must be absolute, free of '%' and of line ends, and come
 * from the text. */
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
	size_t n = 0;
	FUZZ_CHECK(setup_samba_paths(text, share, &n) == 0);
	free(text);
	return 0;
}
