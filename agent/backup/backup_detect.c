/* backup_detect.c: a ransomware's marks on what a backup reads (detect.h). A changed file's
 * new bytes are profiled as they are read (bstore_read); its previous version's from its
 * chunks in the repository: all of them up to WHOLE_MAX bytes, so that both versions are
 * sampled at the same places (a database half made of random-looking pages must not look
 * as if it turned random); beyond, the first (its magic and header) and seven more spread
 * over it, so that the cost stays bounded whatever its size. */
#include <stdlib.h>
#include <string.h>

#include "backup/backup_internal.h"
#include "coffre/blob.h"
#include "coffre/detect.h"
#include "coffre/tree_walk.h"
#include "base/util.h"

#define BEFORE_CHUNKS 8
#define WHOLE_MAX (8u << 20)
#define REFS_MAX 100000	/* a longer list is only sampled among its first refs */

struct refs {
	uint8_t (*id)[32];
	size_t n, cap;
};

static int add_ref(void *ctx, const uint8_t id[32], uint32_t len)
{
	(void)len;
	struct refs *l = ctx;
	if (l->n >= REFS_MAX)
		return 1;	/* enough to sample from */
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *p = realloc(l->id, cap * sizeof *l->id);
		if (!p)
			return CF_ENOMEM;
		l->id = p;
		l->cap = cap;
	}
	memcpy(l->id[l->n++], id, 32);
	return 0;
}

int bdetect_before(struct run *R, const struct tree_entry *pe, struct detect_profile *ret)
{
	struct refs l = { 0 };
	struct cf_error err = { 0 };
	detect_profile_init(ret);
	int rc = tree_walk_refs(blob_reader_load, R->br, pe, add_ref, &l, &err);
	if (rc < 0 || l.n == 0) {
		free(l.id);
		return -1;
	}
	size_t max = pe->size <= WHOLE_MAX ? l.n : BEFORE_CHUNKS;
	size_t step = l.n > max ? l.n / max : 1, fed = 0;
	for (size_t i = 0; i < l.n && fed < max; i += step, fed++) {
		struct buf b = { 0 };
		if (blob_reader_get(R->br, l.id[i], &b, &err) != 0) {
			buf_free(&b);
			free(l.id);
			return -1;
		}
		detect_profile_feed(ret, b.p, b.len);
		buf_free(&b);
	}
	detect_profile_end(ret);
	free(l.id);
	return 0;
}

static void note(struct run *R, const char *path)
{
	if (!R->st.suspect_path[0])
		snprintf(R->st.suspect_path, sizeof R->st.suspect_path, "%s", path);
}

void bdetect_after(struct run *R, const char *path, const struct detect_profile *before,
	struct detect_profile *after)
{
	detect_profile_end(after);
	unsigned f = detect_file_compare(before, after);
	if (f & DETECT_FILE_FORMAT_BREAK)
		R->st.suspect_format++;
	if (f & DETECT_FILE_TURNED_RANDOM)
		R->st.suspect_random++;
	if (f)
		note(R, path);
}

void bdetect_new(struct run *R, const char *path, const char *name)
{
	if (detect_note_name(name, NULL, 0)) {
		R->st.suspect_notes++;
		note(R, path);
	}
}
